//! After `certs recover`: does each kubeconfig's identity work against its API server? A real
//! TLS handshake (rustls, the cluster CA from the kubeconfig as the only root, its client
//! certificate) and one request, a SelfSubjectReview, that says who the server sees. A
//! refused connection means that server is not running.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kubepki::cluster::{Kubeconfig, decode_data};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde::Serialize;

/// The kubeconfig files checked, in this order.
const CHECKED: &[&str] = &[
    "admin.conf",
    "super-admin.conf",
    "controller-manager.conf",
    "scheduler.conf",
    "kubelet.conf",
];

/// How long a connection, the handshake and the answer may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// What the API server said to one kubeconfig's identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub(crate) enum Outcome {
    /// The handshake and the request went through: the server sees this user.
    Accepted {
        /// The user name the server reports.
        user: String,
    },
    /// Nothing listens there: the server is not running.
    NotRunning,
    /// The server refused the certificate or the identity.
    Rejected {
        /// The TLS or HTTP error.
        reason: String,
    },
    /// The check could not be made (the file does not read, the server is unreachable).
    Unchecked {
        /// Why.
        reason: String,
    },
}

/// One kubeconfig's check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct CheckResult {
    /// The kubeconfig file's name.
    pub(crate) kubeconfig: String,
    /// Its server URL.
    pub(crate) server: String,
    /// What happened.
    #[serde(flatten)]
    pub(crate) outcome: Outcome,
}

impl CheckResult {
    /// Whether a running server refused this identity.
    pub(crate) fn rejected(&self) -> bool {
        matches!(self.outcome, Outcome::Rejected { .. })
    }
}

impl std::fmt::Display for CheckResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let said = match &self.outcome {
            Outcome::Accepted { user } => format!("accepted as {user}"),
            Outcome::NotRunning => "not running (connection refused)".to_owned(),
            Outcome::Rejected { reason } => format!("REJECTED: {reason}"),
            Outcome::Unchecked { reason } => format!("not checked: {reason}"),
        };
        write!(f, "check   {:<26} {}: {said}", self.kubeconfig, self.server)
    }
}

/// Checks every kubeconfig of [`CHECKED`] present in `dir`. A client certificate file is read
/// from `kubelet_dir` (by its file name) when given.
pub(crate) fn check_kubeconfigs(dir: &Path, kubelet_dir: Option<&Path>) -> Vec<CheckResult> {
    CHECKED
        .iter()
        .map(|name| dir.join(name))
        .filter(|path| path.exists())
        .map(|path| check_one(&path, kubelet_dir))
        .collect()
}

fn check_one(path: &Path, kubelet_dir: Option<&Path>) -> CheckResult {
    let kubeconfig = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (server, outcome) = match Identity::read(path, kubelet_dir) {
        Ok(identity) => {
            let outcome = identity.check();
            (identity.server, outcome)
        }
        Err(reason) => (String::new(), Outcome::Unchecked { reason }),
    };
    CheckResult {
        kubeconfig,
        server,
        outcome,
    }
}

/// What a kubeconfig says: the server, the CA, the client pair.
struct Identity {
    server: String,
    ca: Vec<u8>,
    cert: Vec<u8>,
    key: zeroize::Zeroizing<Vec<u8>>,
}

impl Identity {
    fn read(path: &Path, kubelet_dir: Option<&Path>) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        let config = Kubeconfig::from_yaml(&text)?;
        let (cluster, user) = config.current().ok_or("no current context")?;
        let data = |field: &str, value: &str| {
            decode_data(value).ok_or_else(|| format!("{field} is not base64"))
        };
        let file = |named: &str| -> Result<Vec<u8>, String> {
            let named = path.parent().unwrap_or(Path::new(".")).join(named);
            let file = match (kubelet_dir, named.file_name()) {
                (Some(dir), Some(name)) => dir.join(name),
                _ => PathBuf::from(&named),
            };
            std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))
        };
        let cert = if user.client_certificate_data.is_empty() {
            file(&user.client_certificate)?
        } else {
            data("client-certificate-data", &user.client_certificate_data)?
        };
        let key = if user.client_key_data.is_empty() {
            file(&user.client_key)?
        } else {
            data("client-key-data", &user.client_key_data)?
        };
        Ok(Self {
            server: cluster.server.clone(),
            ca: data(
                "certificate-authority-data",
                &cluster.certificate_authority_data,
            )?,
            cert,
            key: zeroize::Zeroizing::new(key),
        })
    }

    fn check(&self) -> Outcome {
        let unchecked = |reason: String| Outcome::Unchecked { reason };
        let (host, port) = match host_port(&self.server) {
            Some(hp) => hp,
            None => {
                return unchecked(format!(
                    "server {:?} is not https://HOST[:PORT]",
                    self.server
                ));
            }
        };
        let config = match self.tls_config() {
            Ok(config) => config,
            Err(reason) => return unchecked(reason),
        };
        let Ok(name) = ServerName::try_from(host.clone()) else {
            return unchecked(format!("{host:?} is not a server name"));
        };
        let Some(addr) = (host.as_str(), port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
        else {
            return unchecked(format!("{host} does not resolve"));
        };
        let tcp = match TcpStream::connect_timeout(&addr, TIMEOUT) {
            Ok(tcp) => tcp,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                return Outcome::NotRunning;
            }
            Err(e) => return unchecked(format!("cannot connect to {addr}: {e}")),
        };
        let _ = tcp.set_read_timeout(Some(TIMEOUT));
        let _ = tcp.set_write_timeout(Some(TIMEOUT));
        let connection = match rustls::ClientConnection::new(Arc::new(config), name) {
            Ok(c) => c,
            Err(e) => return unchecked(e.to_string()),
        };
        let mut tls = rustls::StreamOwned::new(connection, tcp);
        // Who does the server see? The one request every authenticated user may make.
        let body = r#"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#;
        let request = format!(
            "POST /apis/authentication.k8s.io/v1/selfsubjectreviews HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut answer = Vec::new();
        let sent = tls
            .write_all(request.as_bytes())
            .and_then(|()| tls.read_to_end(&mut answer));
        // A server that closes without close_notify after a whole answer is still an answer.
        if let Err(e) = sent
            && answer.is_empty()
        {
            return Outcome::Rejected {
                reason: format!("TLS: {e}"),
            };
        }
        judge(&String::from_utf8_lossy(&answer))
    }

    fn tls_config(&self) -> Result<rustls::ClientConfig, String> {
        let mut roots = rustls::RootCertStore::empty();
        for ca in CertificateDer::pem_slice_iter(&self.ca) {
            roots
                .add(ca.map_err(|e| format!("certificate-authority-data: {e}"))?)
                .map_err(|e| format!("certificate-authority-data: {e}"))?;
        }
        let chain = CertificateDer::pem_slice_iter(&self.cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("client certificate: {e}"))?;
        let key =
            PrivateKeyDer::from_pem_slice(&self.key).map_err(|e| format!("client key: {e}"))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(|e| format!("client certificate and key: {e}"))
    }
}

/// `https://host[:port][/...]`: the host (brackets of an IPv6 address removed) and port.
fn host_port(server: &str) -> Option<(String, u16)> {
    let rest = server.strip_prefix("https://")?;
    let authority = rest.split('/').next()?;
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None => 443,
        };
        return Some((host.to_owned(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host.to_owned(), port.parse().ok()?)),
        None => Some((authority.to_owned(), 443)),
    }
}

/// The HTTP answer to the SelfSubjectReview: accepted with the user it names, or rejected.
fn judge(answer: &str) -> Outcome {
    let status = answer
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("none");
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let json = match (body.find('{'), body.rfind('}')) {
        (Some(a), Some(b)) if a < b => &body[a..=b],
        _ => "",
    };
    let user = serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| {
            v["status"]["userInfo"]["username"]
                .as_str()
                .map(str::to_owned)
        });
    match (status, user) {
        ("201" | "200", Some(user)) if user != "system:anonymous" => Outcome::Accepted { user },
        (status, _) => Outcome::Rejected {
            reason: format!("HTTP status {status} to a SelfSubjectReview"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_split_into_host_and_port() {
        assert_eq!(
            host_port("https://127.0.0.1:6443"),
            Some(("127.0.0.1".to_owned(), 6443))
        );
        assert_eq!(
            host_port("https://[::1]:6443/"),
            Some(("::1".to_owned(), 6443))
        );
        assert_eq!(
            host_port("https://api.example"),
            Some(("api.example".to_owned(), 443))
        );
        assert_eq!(host_port("http://api.example"), None);
        assert_eq!(host_port("https://api.example:x"), None);
    }

    #[test]
    fn the_answer_names_the_user_or_a_rejection() {
        let ok = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n\r\n{\"status\":{\"userInfo\":{\"username\":\"kubernetes-admin\"}}}";
        assert_eq!(
            judge(ok),
            Outcome::Accepted {
                user: "kubernetes-admin".to_owned()
            }
        );
        let anonymous = ok.replace("kubernetes-admin", "system:anonymous");
        assert!(matches!(judge(&anonymous), Outcome::Rejected { .. }));
        let denied = "HTTP/1.1 401 Unauthorized\r\n\r\n{}";
        assert_eq!(
            judge(denied),
            Outcome::Rejected {
                reason: "HTTP status 401 to a SelfSubjectReview".to_owned()
            }
        );
    }
}
