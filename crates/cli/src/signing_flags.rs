//! The signing flags both controller modes take (kube-controller-manager's
//! `--cluster-signing-*`, and custom signers from a profile file), and the
//! [`SigningController`] they make.

use std::path::{Path, PathBuf};

use clap::Args;
use kubepki::Ca;
use kubepki::api::{self, ApiError, Signers, SigningController};
use kubepki::profile::{ProfileSet, SignerCa, parse_duration};

use crate::error::{CliError, CliResult};
use crate::files::read_file;

/// The CAs, the signers and the longest validity: the same in both modes.
#[derive(Debug, Args)]
pub(crate) struct SigningArgs {
    /// The CA certificate for every signer without its own (PEM).
    #[arg(long, value_name = "FILE")]
    pub(crate) cluster_signing_cert_file: Option<PathBuf>,
    /// The CA key for every signer without its own (PEM).
    #[arg(long, value_name = "FILE")]
    pub(crate) cluster_signing_key_file: Option<PathBuf>,
    /// The longest validity issued.
    #[arg(long, value_name = "DURATION", default_value = "8760h")]
    pub(crate) cluster_signing_duration: String,
    /// CA certificate for kubernetes.io/kube-apiserver-client.
    #[arg(long, value_name = "FILE")]
    pub(crate) cluster_signing_kube_apiserver_client_cert_file: Option<PathBuf>,
    /// CA key for kubernetes.io/kube-apiserver-client.
    #[arg(long, value_name = "FILE")]
    pub(crate) cluster_signing_kube_apiserver_client_key_file: Option<PathBuf>,
    /// CA certificate for kubernetes.io/kube-apiserver-client-kubelet.
    #[arg(long, value_name = "FILE")]
    pub(crate) cluster_signing_kubelet_client_cert_file: Option<PathBuf>,
    /// CA key for kubernetes.io/kube-apiserver-client-kubelet.
    #[arg(long, value_name = "FILE")]
    pub(crate) cluster_signing_kubelet_client_key_file: Option<PathBuf>,
    /// CA certificate for kubernetes.io/kubelet-serving.
    #[arg(long, value_name = "FILE")]
    pub(crate) cluster_signing_kubelet_serving_cert_file: Option<PathBuf>,
    /// CA key for kubernetes.io/kubelet-serving.
    #[arg(long, value_name = "FILE")]
    pub(crate) cluster_signing_kubelet_serving_key_file: Option<PathBuf>,
    /// A profile file whose profiles serve custom signers `<--signer-domain>/<profile>`; its
    /// `signers:` section may name a CA per profile (`NAME: {cert_file, key_file}`, paths
    /// relative to the file, the key possibly a `pkcs11:` URI), else the default CA signs.
    #[arg(long, visible_alias = "profiles-file", value_name = "FILE")]
    pub(crate) profiles: Option<PathBuf>,
    /// The domain of the custom signers made from --profiles.
    #[arg(long, value_name = "DOMAIN", default_value = "kubepki.io")]
    pub(crate) signer_domain: String,
}

fn load_ca(cert: &Option<PathBuf>, key: &Option<PathBuf>, what: &str) -> CliResult<Option<Ca>> {
    match (cert, key) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => Ok(Some(crate::hsm::load_ca(cert, key, None)?)),
        _ => Err(CliError(format!(
            "{what}: give both the cert file and the key file"
        ))),
    }
}

/// Where one custom signer's CA comes from, loaded.
enum SignerCaLoaded {
    /// Its own CA.
    Own(Ca),
    /// The cluster-signing CA, by explicit opt-in.
    Cluster,
}

/// The custom signers' CAs that the profile file at `path` names in its `signers:` section
/// (read by kubepki-profile), loaded: key paths relative to the file, or `pkcs11:` URIs.
fn signer_cas(path: &Path, set: &ProfileSet) -> CliResult<Vec<(String, SignerCaLoaded)>> {
    let base = path.parent().unwrap_or(Path::new("."));
    let mut cas = Vec::new();
    for (name, ca) in set.signers() {
        let ca = match ca.relative_to(base) {
            SignerCa::Own {
                cert_file,
                key_file,
            } => SignerCaLoaded::Own(crate::hsm::load_ca_from(
                &cert_file,
                &key_file,
                None,
                kubepki::pkcs11::UriOrigin::File,
            )?),
            SignerCa::ClusterCa => SignerCaLoaded::Cluster,
        };
        cas.push((name.to_owned(), ca));
    }
    Ok(cas)
}

/// The signing controller of the flags, shared by the embedded and the cluster controller.
/// It refuses to start when a custom signer would sign with the cluster-signing CA without
/// the profile file's `signers:` section naming that signer.
pub(crate) fn build_controller(args: &SigningArgs) -> CliResult<SigningController> {
    let mut signers = Signers::new();
    let mut custom_cas = Vec::new();
    if let Some(path) = &args.profiles {
        let text = String::from_utf8(read_file(path)?)
            .map_err(|_| CliError(format!("{}: not UTF-8 text", path.display())))?;
        let set = ProfileSet::from_yaml(&text)
            .map_err(|e| CliError(format!("{}: {e}", path.display())))?;
        signers = signers.with_profile_set(&args.signer_domain, &set);
        custom_cas = signer_cas(path, &set)?;
    }
    let cluster_ca = load_ca(
        &args.cluster_signing_cert_file,
        &args.cluster_signing_key_file,
        "--cluster-signing",
    )?;
    let mut own_cas = Vec::new();
    for (name, ca) in custom_cas {
        let signer = format!("{}/{name}", args.signer_domain);
        match ca {
            SignerCaLoaded::Own(ca) => own_cas.push((signer, ca)),
            SignerCaLoaded::Cluster if cluster_ca.is_none() => {
                return Err(CliError(format!(
                    "signers: {name}: cluster_ca: true, but no --cluster-signing-cert-file and --cluster-signing-key-file"
                )));
            }
            SignerCaLoaded::Cluster => signers = signers.with_cluster_ca(&signer),
        }
    }
    let duration = parse_duration(&args.cluster_signing_duration)?;
    let mut controller = SigningController::new(signers).with_duration(duration);
    let mut any = false;
    for (signer, ca) in own_cas {
        controller = controller.with_signer_ca(&signer, ca);
        any = true;
    }
    if let Some(ca) = cluster_ca {
        controller = controller.with_default_ca(ca);
        any = true;
    }
    for (signer, cert, key) in [
        (
            api::KUBE_APISERVER_CLIENT,
            &args.cluster_signing_kube_apiserver_client_cert_file,
            &args.cluster_signing_kube_apiserver_client_key_file,
        ),
        (
            api::KUBE_APISERVER_CLIENT_KUBELET,
            &args.cluster_signing_kubelet_client_cert_file,
            &args.cluster_signing_kubelet_client_key_file,
        ),
        (
            api::KUBELET_SERVING,
            &args.cluster_signing_kubelet_serving_cert_file,
            &args.cluster_signing_kubelet_serving_key_file,
        ),
    ] {
        if let Some(ca) = load_ca(cert, key, signer)? {
            controller = controller.with_signer_ca(signer, ca);
            any = true;
        }
    }
    if !any {
        return Err(CliError(
            "no CA: give --cluster-signing-cert-file and --cluster-signing-key-file (or a per-signer pair, or signers: in the profile file)"
                .to_owned(),
        ));
    }
    if let Err(e) = controller.check_custom_signers() {
        let ApiError::CustomSignerOnClusterCa { signer } = &e else {
            return Err(e.into());
        };
        let name = signer
            .strip_prefix(&format!("{}/", args.signer_domain))
            .unwrap_or(signer);
        return Err(CliError(format!(
            "{e}: name its CA in the profile file's signers: section ({name}: {{cert_file: FILE, key_file: FILE}}), or opt in with {name}: {{cluster_ca: true}}"
        )));
    }
    Ok(controller)
}
