//! The dispatcher: each subcommand to the module that runs it. It imports the commands;
//! no command imports it.

use std::process::ExitCode;
use std::time::SystemTime;

use clap::CommandFactory;

use crate::args::{CaCommand, Cli, Command, CsrCommand, KeyCommand};
use crate::error::CliResult;

pub(crate) fn run(cli: Cli) -> CliResult<ExitCode> {
    crate::hsm::set_module_args(cli.pkcs11);
    match cli.command {
        Command::Key(KeyCommand::Generate(args)) => crate::key::key_generate(&args),
        Command::Key(KeyCommand::Public(args)) => crate::key::key_public(&args),
        Command::Key(KeyCommand::List(args)) => crate::hsm::key_list(&args),
        Command::Csr(CsrCommand::Create(args)) => crate::csr::csr_create(&args),
        Command::Ca(CaCommand::Init(args)) => crate::ca::ca_init(&args),
        Command::Ca(CaCommand::Rotate(command)) => return crate::rotate::run_rotate(&command),
        Command::Sign(args) => crate::sign::sign(&args),
        Command::Csr(CsrCommand::Manifest(args)) => crate::api::csr_manifest(&args),
        Command::Create(args) => crate::api::create(&args, SystemTime::now()),
        Command::Get(args) => crate::api::get(&args, SystemTime::now()),
        Command::Certificate(command) => crate::api::certificate(&command, SystemTime::now()),
        Command::Delete(args) => crate::api::delete(&args),
        Command::Controller(command) => crate::controller::run(&command),
        Command::SignBatch(args) => crate::batch::sign_batch(&args, SystemTime::now()),
        Command::Inspect(args) => crate::inspect::inspect(&args, SystemTime::now()),
        Command::Profiles(args) => crate::inspect::profiles(&args),
        Command::Verify(args) => crate::verify::verify(&args),
        Command::Init(args) => return crate::cluster::run_init(&args),
        Command::Certs(command) => return crate::cluster::run_certs(&command),
        Command::Kubeconfig(command) => return crate::cluster::run_kubeconfig(&command),
        Command::Completion(args) => crate::completion::completion(&args, Cli::command()),
        Command::Man(args) => crate::man::man(&args, Cli::command()),
        Command::Version(args) => crate::version::version(&args),
    }?;
    Ok(ExitCode::SUCCESS)
}
