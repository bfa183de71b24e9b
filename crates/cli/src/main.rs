//! `kubepki`: the command line. Argument parsing and printing only; the work is in the crates.

mod api;
mod args;
mod batch;
mod build_info;
mod ca;
mod clock;
mod cluster;
mod cluster_controller;
mod commands;
mod completion;
mod controller;
mod controller_mode;
mod csr;
mod csr_store;
mod daemon;
mod embedded_controller;
mod error;
mod exporter;
mod files;
mod host;
mod hsm;
mod inspect;
mod issuer;
mod jsonpath;
mod key;
mod man;
mod output;
mod renewal;
mod rotate;
mod sign;
mod signing_flags;
mod tables;
mod tls_check;
mod tree_dirs;
mod verify;
mod version;

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = controller_mode::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
