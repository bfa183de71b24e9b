//! Runs one operation in a loop, for counting instructions under callgrind, where a busy
//! shared machine cannot disturb the figure:
//!
//! ```sh
//! cargo build --release -p kubepki-benches --example instructions
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*' \
//!     target/release/examples/instructions issue P-256 kubepki 50
//! ```
//!
//! Arguments: `issue|parse|verify`, `P-256|P-384|RSA-2048`, `kubepki|primitives`, iterations.

use std::error::Error;
use std::hint::black_box;

use kubepki_benches::{Algorithm, Chain, Fixture, bench_now};
use kubepki_verify::{Cert, VerifyOptions, verify};

#[inline(never)]
fn measured(
    fixture: &Fixture,
    chain: Option<&Chain>,
    anchors: &[Cert],
    op: &str,
    ours: bool,
    iterations: usize,
) -> Result<(), Box<dyn Error>> {
    for _ in 0..iterations {
        match (op, ours) {
            ("issue", true) => {
                black_box(fixture.issue_from_pem()?);
            }
            ("issue", false) => {
                black_box(fixture.primitives()?);
            }
            ("parse", true) => {
                black_box(fixture.parse_request()?);
            }
            ("parse", false) => fixture.verify_request()?,
            ("verify", true) => {
                let chain = chain.ok_or("no chain")?;
                let leaf = Cert::from_der(&chain.leaf)?;
                let intermediates = [Cert::from_der(&chain.intermediate)?];
                let options = VerifyOptions::new(bench_now());
                black_box(verify(anchors, &intermediates, &leaf, &options)?);
            }
            ("verify", false) => chain.ok_or("no chain")?.primitives()?,
            _ => return Err(format!("unknown operation {op}").into()),
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [op, alg, who, iterations] = args.as_slice() else {
        return Err(
            "usage: instructions issue|parse P-256|P-384|RSA-2048 kubepki|primitives N".into(),
        );
    };
    let algorithm = Algorithm::ALL
        .into_iter()
        .find(|a| a.name() == alg)
        .ok_or_else(|| format!("unknown algorithm {alg}"))?;
    let fixture = Fixture::new(algorithm)?;
    let chain = if op == "verify" {
        Some(Chain::new(algorithm)?)
    } else {
        None
    };
    // The trust store is loaded once, as in the criterion bench; the presented chain is
    // parsed per verification.
    let anchors = match &chain {
        Some(chain) => vec![Cert::from_der(&chain.root)?],
        None => Vec::new(),
    };
    measured(
        &fixture,
        chain.as_ref(),
        &anchors,
        op,
        who == "kubepki",
        iterations.parse()?,
    )
}
