//! A TCP load balancer on loopback, as the control-plane endpoint of a kubeadm HA cluster
//! (`--control-plane-endpoint`): each connection goes to the first backend, in turn, that
//! accepts it, and its bytes are copied both ways untouched (TLS passes through).

use std::io::{ErrorKind, copy};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// The balancer: stops listening when dropped.
pub(crate) struct Balancer {
    port: u16,
    stopping: Arc<AtomicBool>,
    accepting: Option<JoinHandle<()>>,
}

impl Balancer {
    /// Listens on `127.0.0.1:port` and forwards to the loopback `backends`.
    pub(crate) fn start(port: u16, backends: &[u16]) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the balancer");
        let backends: Vec<SocketAddr> = backends
            .iter()
            .map(|p| SocketAddr::from(([127, 0, 0, 1], *p)))
            .collect();
        let stopping = Arc::new(AtomicBool::new(false));
        let next = AtomicUsize::new(0);
        let stop = Arc::clone(&stopping);
        let accepting = std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let first = next.fetch_add(1, Ordering::Relaxed);
                let backends = backends.clone();
                std::thread::spawn(move || forward(client, &backends, first));
            }
        });
        Self {
            port,
            stopping,
            accepting: Some(accepting),
        }
    }
}

/// Connects `client` to the first backend from `first` on that accepts, and copies.
fn forward(client: TcpStream, backends: &[SocketAddr], first: usize) {
    let server = (0..backends.len())
        .map(|i| backends[(first + i) % backends.len()])
        .find_map(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok());
    let Some(server) = server else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let (Ok(mut client_reader), Ok(mut server_reader)) = (client.try_clone(), server.try_clone())
    else {
        return;
    };
    let (mut client_writer, mut server_writer) = (client, server);
    let upstream = std::thread::spawn(move || {
        let _ = copy(&mut client_reader, &mut server_writer);
        let _ = server_writer.shutdown(Shutdown::Write);
    });
    if let Err(e) = copy(&mut server_reader, &mut client_writer)
        && e.kind() != ErrorKind::ConnectionReset
    {
        let _ = client_writer.shutdown(Shutdown::Both);
    }
    let _ = client_writer.shutdown(Shutdown::Write);
    let _ = upstream.join();
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wakes the accepting thread, which then sees `stopping`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(accepting) = self.accepting.take() {
            let _ = accepting.join();
        }
    }
}
