//! The CA-and-profile argument group that `sign` and `sign-batch` share, and what it loads.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use kubepki::profile::parse_duration;
use kubepki::{Ca, ClusterParams, Profile};

use crate::error::{CliError, CliResult};
use crate::files::read_file;

/// Which CA signs, and how the profile is found and filled in.
#[derive(Debug, Args)]
pub(crate) struct IssuerArgs {
    /// The CA certificate.
    #[arg(long)]
    pub(crate) ca_cert: PathBuf,
    /// The CA key: a file, or a `pkcs11:` URI of a key on a token (PIN from `pin-source`
    /// or `KUBEPKI_PKCS11_PIN`, module from `module-path` or `KUBEPKI_PKCS11_MODULE`).
    #[arg(long)]
    pub(crate) ca_key: PathBuf,
    /// Passphrase file for an encrypted CA key.
    #[arg(long)]
    pub(crate) ca_passphrase_file: Option<PathBuf>,
    /// A YAML file of custom profiles; --profile then names one of them.
    #[arg(long)]
    pub(crate) profiles_file: Option<PathBuf>,
    /// Validity, e.g. 8760h or 10m (default: the profile's).
    #[arg(long)]
    pub(crate) validity: Option<String>,
    /// Node name, for the profiles that need one (etcd-server, kubelet-*, apiserver).
    #[arg(long)]
    pub(crate) node_name: Option<String>,
}

impl IssuerArgs {
    /// The CA (its key in a file or on a token), the profile `name` (from --profiles-file,
    /// else built in, filled in with --node-name) and the validity asked for.
    pub(crate) fn load(&self, name: &str) -> CliResult<(Ca, Profile, Option<Duration>)> {
        let ca = crate::hsm::load_ca(
            &self.ca_cert,
            &self.ca_key,
            self.ca_passphrase_file.as_ref(),
        )?;
        let profiles_yaml = match &self.profiles_file {
            Some(path) => Some(
                String::from_utf8(read_file(path)?)
                    .map_err(|_| CliError(format!("{}: not UTF-8 text", path.display())))?,
            ),
            None => None,
        };
        let params = ClusterParams {
            node_name: self.node_name.clone(),
            ..ClusterParams::default()
        };
        let profile = kubepki::find_profile(name, profiles_yaml.as_deref(), &params)?;
        let validity = self.validity.as_deref().map(parse_duration).transpose()?;
        Ok((ca, profile, validity))
    }
}
