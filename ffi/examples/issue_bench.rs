//! The Rust side of the issue-cost comparison: the same calls as `examples/c/workflow.c`'s
//! timed loop (ECDSA P-256 CA, the `admin` profile, a parsed CSR), timed directly in Rust.
//!
//! usage: cargo run -p kubepki-ffi --release --example issue_bench -- ITERATIONS

use std::time::{Duration, Instant, UNIX_EPOCH};

use kubepki::{Ca, ClusterParams, Csr, CsrBuilder, IssueOptions, KeyAlgorithm, KeyPair, Subject};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let iterations: u32 = std::env::args().nth(1).map_or(Ok(200), |a| a.parse())?;
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let params = ClusterParams::default();
    let ca_profile = kubepki::profile::builtin("ca", &params)?;
    let admin = kubepki::profile::builtin("admin", &params)?;
    let ca_subject = ca_profile
        .fixed_subject()
        .ok_or("ca profile has no subject")?;
    let ca = Ca::self_signed(
        Box::new(KeyPair::generate(KeyAlgorithm::EcdsaP256)?),
        &ca_subject,
        &ca_profile,
        &IssueOptions::at(now),
    )?;
    let key = KeyPair::generate(KeyAlgorithm::EcdsaP256)?;
    let subject = Subject::parse("/O=kubeadm:cluster-admins/CN=kubernetes-admin")?;
    let pem = CsrBuilder::new(subject).build(&key)?.to_pem();
    let csr = Csr::from_pem(&pem)?;
    let options = IssueOptions::at(now);
    let mut runs = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..iterations {
            let issued = ca.issue(&csr, &admin, &options)?;
            // What kubepki_ca_issue also does: keep the PEM and the parsed info.
            std::hint::black_box((issued.pem(), issued.chain_pem(), issued.info()?));
        }
        runs.push(start.elapsed().as_secs_f64() / f64::from(iterations) * 1e6);
    }
    runs.sort_by(f64::total_cmp);
    println!("issue_us_per_call={:.1}", runs[2]);
    Ok(())
}
