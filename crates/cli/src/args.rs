//! The command line's grammar.

use clap::{Parser, Subcommand};

use crate::ca::CaInitArgs;
use crate::csr::CsrCreateArgs;
use crate::hsm::KeyListArgs;
use crate::inspect::{InspectArgs, ProfilesArgs};
use crate::key::{KeyGenerateArgs, KeyPublicArgs};
use crate::sign::SignArgs;

/// kubepki: the PKI a Kubernetes cluster runs on, without openssl recipes.
#[derive(Debug, Parser)]
#[command(name = "kubepki", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
    #[command(flatten)]
    pub(crate) pkcs11: crate::hsm::ModuleArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Private keys: generate one, or print the public half.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Certificate signing requests.
    #[command(subcommand)]
    Csr(CsrCommand),
    /// Certificate authorities.
    #[command(subcommand)]
    Ca(CaCommand),
    /// Sign a CSR with a CA under a profile.
    Sign(SignArgs),
    /// Sign many CSRs (a folder or a PEM stream) on all cores.
    SignBatch(crate::batch::SignBatchArgs),
    /// Create CertificateSigningRequests from a manifest, as `kubectl create -f`.
    #[command(alias = "apply")]
    Create(crate::api::CreateArgs),
    /// List or show CertificateSigningRequests, as `kubectl get csr`.
    Get(crate::api::GetArgs),
    /// Approve or deny CertificateSigningRequests, as `kubectl certificate`.
    #[command(subcommand)]
    Certificate(crate::api::CertificateCommand),
    /// Delete CertificateSigningRequests, as `kubectl delete csr`.
    Delete(crate::api::DeleteArgs),
    /// kube-controller-manager's CSR controllers: `embedded` over the embedded store, `cluster` on a real cluster.
    #[command(subcommand)]
    Controller(crate::controller::ControllerCommand),
    /// Show what a certificate, chain, CSR or key says (detected from the file).
    Inspect(InspectArgs),
    /// List the signing profiles, or show one.
    Profiles(ProfilesArgs),
    /// Verify a certificate chain to a CA (and, for client certificates, the Kubernetes user).
    Verify(crate::verify::VerifyArgs),
    /// Lay out a control plane's PKI as kubeadm does: CAs, certificates, keys, kubeconfig files.
    Init(crate::cluster::InitArgs),
    /// The tree's certificates: check expiration, renew, issue component certificates, CSRs.
    #[command(subcommand)]
    Certs(crate::cluster::CertsCommand),
    /// kubeconfig files for new users.
    #[command(subcommand)]
    Kubeconfig(crate::cluster::KubeconfigCommand),
    /// Print the shell completion script for bash, zsh or fish.
    Completion(crate::completion::CompletionArgs),
    /// Write the man pages: one per command and subcommand.
    Man(crate::man::ManArgs),
    /// Print the version, git revision, build date, compiler, features and target.
    Version(crate::version::VersionArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Generate a private key (written 0600, never over an existing file without --force).
    Generate(KeyGenerateArgs),
    /// Write the public key of a private key as PEM `PUBLIC KEY` (like kubeadm's sa.pub).
    Public(KeyPublicArgs),
    /// List the private keys on a PKCS#11 token: label, id, algorithm, extractable or not.
    List(KeyListArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum CsrCommand {
    /// Create a CSR signed by a key (generating the key if asked).
    Create(CsrCreateArgs),
    /// Write a CertificateSigningRequest manifest (certificates.k8s.io/v1) for a CSR file.
    Manifest(crate::api::CsrManifestArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum CaCommand {
    /// Create a CA: a key and a self-signed certificate, or an intermediate signed by a parent.
    Init(CaInitArgs),
    /// Rotate the CAs of a kubeadm tree (cluster, front-proxy, etcd, service-account key) in
    /// phases: start, promote, finish; status at any time.
    #[command(subcommand)]
    Rotate(crate::rotate::RotateCommand),
}
