//! The command line's grammar.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// kubepki: the PKI a Kubernetes cluster runs on, without openssl recipes.
#[derive(Debug, Parser)]
#[command(name = "kubepki", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
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
    /// Sign approved requests, auto-approve kubelet clients, clean old requests (kube-controller-manager's CSR controllers).
    Controller(crate::api::ControllerArgs),
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

#[derive(Debug, Args)]
pub(crate) struct KeyListArgs {
    /// The token, e.g. `pkcs11:token=kubepki?module-path=/usr/lib/softhsm/libsofthsm2.so`
    /// (PIN from `pin-source=file:...` or `KUBEPKI_PKCS11_PIN`).
    pub(crate) uri: String,
}

/// How a private key file is written.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum KeyFileFormat {
    /// PKCS#8 `PRIVATE KEY`.
    Pkcs8,
    /// kubeadm's: PKCS#1 `RSA PRIVATE KEY` for RSA, SEC1 `EC PRIVATE KEY` for ECDSA.
    Traditional,
    /// PKCS#1 (RSA keys only).
    Pkcs1,
    /// SEC1 (ECDSA keys only).
    Sec1,
}

#[derive(Debug, Args)]
pub(crate) struct KeyGenerateArgs {
    /// RSA-2048, RSA-3072, RSA-4096, ECDSA-P256 or ECDSA-P384.
    #[arg(long, short = 'a', default_value = "ECDSA-P256")]
    pub(crate) algorithm: String,
    /// Where to write the key; a `pkcs11:token=...;object=LABEL` URI generates it on the
    /// token instead (sensitive, never extractable).
    #[arg(long, short = 'o')]
    pub(crate) out: PathBuf,
    /// The file format.
    #[arg(long, value_enum, default_value = "pkcs8")]
    pub(crate) format: KeyFileFormat,
    /// Encrypt the key (PKCS#8 PBES2) with the passphrase in this file (first line).
    #[arg(long)]
    pub(crate) passphrase_file: Option<PathBuf>,
    /// Also write the public key here.
    #[arg(long)]
    pub(crate) public_out: Option<PathBuf>,
    /// Replace existing files (--out and --public-out).
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Args)]
pub(crate) struct KeyPublicArgs {
    /// The private key: a file, or a `pkcs11:` URI of a key on a token.
    #[arg(long, short = 'k')]
    pub(crate) key: PathBuf,
    /// Passphrase file for an encrypted key.
    #[arg(long)]
    pub(crate) passphrase_file: Option<PathBuf>,
    /// Where to write the public key (stdout when absent).
    #[arg(long, short = 'o')]
    pub(crate) out: Option<PathBuf>,
    /// Replace an existing --out file.
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CsrCommand {
    /// Create a CSR signed by a key (generating the key if asked).
    Create(CsrCreateArgs),
    /// Write a CertificateSigningRequest manifest (certificates.k8s.io/v1) for a CSR file.
    Manifest(crate::api::CsrManifestArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CsrCreateArgs {
    /// The private key that signs the request.
    #[arg(long, short = 'k')]
    pub(crate) key: PathBuf,
    /// Generate the key first with this algorithm (refuses to overwrite --key without --force).
    #[arg(long)]
    pub(crate) generate_key: Option<String>,
    /// Passphrase file for an encrypted key.
    #[arg(long)]
    pub(crate) passphrase_file: Option<PathBuf>,
    /// The subject, OpenSSL style (`/CN=jane/O=dev`) or RFC 4514 (`CN=jane,O=dev`).
    #[arg(long, short = 's')]
    pub(crate) subject: Option<String>,
    /// Common name (the Kubernetes user), instead of --subject.
    #[arg(long)]
    pub(crate) cn: Option<String>,
    /// Organization (a Kubernetes group); repeat for several.
    #[arg(long = "org", short = 'O')]
    pub(crate) orgs: Vec<String>,
    /// Subject alternative name: DNS:name, IP:addr, URI:uri, email:addr (or a bare name or
    /// address); repeat or separate with commas.
    #[arg(long = "san", value_delimiter = ',')]
    pub(crate) sans: Vec<String>,
    /// Where to write the CSR.
    #[arg(long, short = 'o')]
    pub(crate) out: PathBuf,
    /// Replace existing files: --out, and --key when generating one.
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CaCommand {
    /// Create a CA: a key and a self-signed certificate, or an intermediate signed by a parent.
    Init(CaInitArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CaInitArgs {
    /// Where to write the CA certificate.
    #[arg(long)]
    pub(crate) cert: PathBuf,
    /// Where to write the CA key (0600), or a `pkcs11:` URI: the token's private key with
    /// that label signs when there is one, else a new key is generated on the token.
    #[arg(long)]
    pub(crate) key: PathBuf,
    /// The subject.
    #[arg(long, short = 's', default_value = "/CN=kubernetes")]
    pub(crate) subject: String,
    /// The key algorithm.
    #[arg(long, short = 'a', default_value = "RSA-2048")]
    pub(crate) algorithm: String,
    /// The validity, e.g. 87600h (10 years, kubeadm's).
    #[arg(long, default_value = "87600h")]
    pub(crate) validity: String,
    /// The CA profile.
    #[arg(long, default_value = "ca")]
    pub(crate) profile: String,
    /// Path length constraint (how many CAs may follow below).
    #[arg(long)]
    pub(crate) path_len: Option<u8>,
    /// Key file format.
    #[arg(long, value_enum, default_value = "traditional")]
    pub(crate) format: KeyFileFormat,
    /// Make an intermediate signed by this parent CA certificate...
    #[arg(long, requires = "parent_key")]
    pub(crate) parent_cert: Option<PathBuf>,
    /// ...and this parent CA key (a file or a `pkcs11:` URI).
    #[arg(long, requires = "parent_cert")]
    pub(crate) parent_key: Option<PathBuf>,
    /// Replace an existing CA key and certificate.
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
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
    /// The CSR to sign.
    #[arg(long)]
    pub(crate) csr: PathBuf,
    /// The profile (see `kubepki profiles`).
    #[arg(long, short = 'p', default_value = "client")]
    pub(crate) profile: String,
    /// A YAML file of custom profiles; --profile then names one of them.
    #[arg(long)]
    pub(crate) profiles_file: Option<PathBuf>,
    /// Validity, e.g. 8760h or 10m (default: the profile's).
    #[arg(long)]
    pub(crate) validity: Option<String>,
    /// Node name, for the profiles that need one (etcd-server, kubelet-*, apiserver).
    #[arg(long)]
    pub(crate) node_name: Option<String>,
    /// Where to write the certificate.
    #[arg(long, short = 'o')]
    pub(crate) out: PathBuf,
    /// Append the CA chain (for an intermediate CA) after the certificate.
    #[arg(long)]
    pub(crate) chain: bool,
    /// Replace an existing --out file (`sign ... -o ca.crt` would otherwise replace the CA).
    #[arg(long)]
    pub(crate) force: bool,
}

/// Output formats of `inspect` and `profiles`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum OutputFormat {
    /// Human-readable text.
    Text,
    /// JSON.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The file: certificate, chain, CSR, private or public key, PEM or DER.
    pub(crate) file: PathBuf,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub(crate) output: OutputFormat,
    /// Passphrase file for an encrypted key.
    #[arg(long)]
    pub(crate) passphrase_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ProfilesArgs {
    /// Show this profile in full.
    pub(crate) name: Option<String>,
    /// A YAML file of custom profiles.
    #[arg(long)]
    pub(crate) profiles_file: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "text")]
    pub(crate) output: OutputFormat,
}
