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
mod csr;
mod daemon;
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
mod tables;
mod tls_check;
mod verify;
mod version;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
