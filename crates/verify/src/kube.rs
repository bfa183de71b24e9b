//! The calls behind `kubepki verify` and the Kubernetes client-certificate identity.

use std::time::SystemTime;

use x509_cert::ext::pkix::name::DirectoryString;

use crate::cert::{Cert, oids};
use crate::{KeyPurpose, VerifiedPath, VerifyError, VerifyOptions, verify};

/// Verifies PEM input the way `kubepki verify` takes it.
///
/// `ca_pem` holds the trust anchors (every block must be a certificate),
/// `untrusted_pem` optional intermediates (blocks that do not parse are
/// skipped, as junk in a bundle), and `cert_pem` the end-entity certificate
/// first, possibly followed by its chain (treated as more intermediates).
///
/// # Errors
/// A parse error for a trust anchor or the leaf, [`VerifyError::NoTrustAnchors`]
/// when `ca_pem` holds no certificate, [`VerifyError::Pem`] when `cert_pem` holds
/// none, else whatever [`verify`] reports.
pub fn verify_pem(
    ca_pem: &[u8],
    untrusted_pem: Option<&[u8]>,
    cert_pem: &[u8],
    options: &VerifyOptions,
) -> Result<VerifiedPath, VerifyError> {
    let input = PemInput::parse(ca_pem, untrusted_pem, cert_pem)?;
    verify(&input.anchors, &input.intermediates, &input.leaf, options)
}

/// [`kubernetes_identity`] from PEM input taken as [`verify_pem`] takes it: the client CA
/// bundle, optional intermediates, and the client certificate (possibly followed by its
/// chain).
///
/// # Errors
/// As [`verify_pem`] for the input, then as [`kubernetes_identity`].
pub fn kubernetes_identity_pem(
    client_ca_pem: &[u8],
    untrusted_pem: Option<&[u8]>,
    cert_pem: &[u8],
    now: SystemTime,
) -> Result<KubernetesIdentity, VerifyError> {
    let input = PemInput::parse(client_ca_pem, untrusted_pem, cert_pem)?;
    kubernetes_identity(&input.leaf, &input.anchors, &input.intermediates, now)
}

/// Trust anchors, intermediates and the leaf, parsed from the three PEM inputs.
struct PemInput {
    anchors: Vec<Cert>,
    intermediates: Vec<Cert>,
    leaf: Cert,
}

impl PemInput {
    fn parse(
        ca_pem: &[u8],
        untrusted_pem: Option<&[u8]>,
        cert_pem: &[u8],
    ) -> Result<Self, VerifyError> {
        let anchors = Cert::from_pem_bundle(ca_pem)
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        let mut certs = Cert::from_pem_bundle(cert_pem).into_iter();
        let leaf = match certs.next() {
            Some(leaf) => leaf?,
            None => Cert::from_pem(cert_pem)?,
        };
        let mut intermediates: Vec<Cert> = certs.filter_map(Result::ok).collect();
        if let Some(pem) = untrusted_pem {
            intermediates.extend(
                Cert::from_pem_bundle(pem)
                    .into_iter()
                    .filter_map(Result::ok),
            );
        }
        Ok(PemInput {
            anchors,
            intermediates,
            leaf,
        })
    }
}

/// The user the Kubernetes API server sees for a client certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubernetesIdentity {
    /// The user name: the subject's common name.
    pub user: String,
    /// The groups: the subject's organization values, in order. The API server
    /// also adds `system:authenticated` to every authenticated user; it is not
    /// listed here.
    pub groups: Vec<String>,
}

fn directory_string(value: &der::Any) -> Option<String> {
    value
        .decode_as::<DirectoryString>()
        .ok()
        .map(|s| s.value().into_owned())
}

/// Says which user and groups the Kubernetes API server would take a client
/// certificate for, after checking it as the API server's x509 authenticator
/// does: a path to one of `client_ca` valid at `now`, allowing client
/// authentication, with the user taken from the common name and the groups
/// from the organization values.
///
/// # Errors
/// Whatever [`verify`] reports for the path, or [`VerifyError::NoKubernetesUser`]
/// when the certificate has no (or an empty) common name, which the API server
/// refuses.
pub fn kubernetes_identity(
    client: &Cert,
    client_ca: &[Cert],
    intermediates: &[Cert],
    now: SystemTime,
) -> Result<KubernetesIdentity, VerifyError> {
    let options = VerifyOptions::new(now).with_purpose(KeyPurpose::ClientAuth);
    verify(client_ca, intermediates, client, &options)?;
    let subject = client.cert.tbs_certificate().subject();
    let user = subject
        .iter()
        .filter(|atv| atv.oid == oids::COMMON_NAME)
        .filter_map(|atv| directory_string(&atv.value))
        // Go's pkix.Name keeps the last common name, so the API server does too
        .last()
        .filter(|cn| !cn.is_empty())
        .ok_or_else(|| VerifyError::NoKubernetesUser {
            subject: client.subject().to_owned(),
        })?;
    let groups = subject
        .iter()
        .filter(|atv| atv.oid == oids::ORGANIZATION)
        .filter_map(|atv| directory_string(&atv.value))
        .collect();
    Ok(KubernetesIdentity { user, groups })
}
