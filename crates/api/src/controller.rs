//! What happens to an approved request: signing (kube-controller-manager's signing
//! controller) and cleaning (`csrcleaner`). Approval is in [`crate::approval`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use kubepki_sign::{Ca, IssueOptions};

use crate::ApiError;
use crate::approval::condition;
use crate::error::FieldErrorKind;
use crate::signers::Signers;
use crate::time::{format_time, parse_time};
use crate::types::{APPROVED, Base64Bytes, CertificateSigningRequest, DENIED, FAILED};
use crate::validation::{
    KUBE_APISERVER_CLIENT, KUBE_APISERVER_CLIENT_KUBELET, KUBELET_SERVING, LEGACY_UNKNOWN,
    parse_request,
};

/// The kube-controller-manager default for `--cluster-signing-duration`: 8760h.
pub const DEFAULT_SIGNING_DURATION: Duration = Duration::from_secs(8760 * 3600);
/// How far NotBefore is set before the signing time (the profiles' one definition).
pub use kubepki_profile::BACKDATE;
/// A TTL at least this long loses the backdate at its end.
pub const SHORT_TTL: Duration = Duration::from_secs(8 * 3600);
/// The shortest TTL.
pub const MIN_TTL: Duration = Duration::from_secs(600);

/// What the signing controller did with one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignOutcome {
    /// Not for us: not approved, denied, failed, issued already, or a signer we do not serve.
    Skipped,
    /// The certificate was written to `status.certificate`.
    Issued {
        /// NotBefore.
        not_before: SystemTime,
        /// NotAfter.
        not_after: SystemTime,
    },
    /// The signer refused; a `Failed` condition with reason `SignerValidationFailure` was added.
    Failed(String),
}

/// The signing controller, configured as kube-controller-manager: one CA for every built-in
/// signer (`--cluster-signing-cert-file`/`--cluster-signing-key-file`), per-signer CAs that
/// override it, and `--cluster-signing-duration`.
#[derive(Clone)]
pub struct SigningController {
    default_ca: Option<Arc<Ca>>,
    per_signer: BTreeMap<String, Arc<Ca>>,
    signers: Signers,
    duration: Duration,
}

impl std::fmt::Debug for SigningController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningController")
            .field(
                "default_ca",
                &self.default_ca.as_ref().map(|c| c.subject().to_string()),
            )
            .field("per_signer", &self.per_signer.keys().collect::<Vec<_>>())
            .field("signers", &self.signers)
            .field("duration", &self.duration)
            .finish()
    }
}

impl SigningController {
    /// A controller with the default duration (8760h) and no CA yet.
    pub fn new(signers: Signers) -> Self {
        SigningController {
            default_ca: None,
            per_signer: BTreeMap::new(),
            signers,
            duration: DEFAULT_SIGNING_DURATION,
        }
    }

    /// The CA of `--cluster-signing-cert-file`/`--cluster-signing-key-file`: it serves every
    /// built-in signer (and the custom ones) without a CA of its own.
    pub fn with_default_ca(mut self, ca: Ca) -> Self {
        self.default_ca = Some(Arc::new(ca));
        self
    }

    /// A CA for one signer, as `--cluster-signing-kubelet-serving-cert-file` and friends.
    pub fn with_signer_ca(mut self, signer_name: &str, ca: Ca) -> Self {
        self.per_signer.insert(signer_name.to_owned(), Arc::new(ca));
        self
    }

    /// `--cluster-signing-duration`.
    pub fn with_duration(mut self, duration: Duration) -> Self {
        self.duration = duration;
        self
    }

    /// The CA serving `signer_name`, if any: its own, else the default (cluster-signing) CA
    /// for a built-in signer or a custom one allowed it ([`Signers::with_cluster_ca`]).
    pub fn ca_for(&self, signer_name: &str) -> Option<&Ca> {
        if let Some(ca) = self.per_signer.get(signer_name) {
            return Some(ca);
        }
        if !self.signers.may_use_cluster_ca(signer_name) {
            return None;
        }
        self.default_ca.as_deref()
    }

    /// Checks, before serving, that no custom signer would fall back to the cluster-signing
    /// CA (the one kube-apiserver trusts for client certificates) without having been given
    /// it explicitly: a CA of its own ([`SigningController::with_signer_ca`]) or the opt-in
    /// [`Signers::with_cluster_ca`].
    ///
    /// # Errors
    /// [`ApiError::CustomSignerOnClusterCa`] naming the first such signer.
    pub fn check_custom_signers(&self) -> Result<(), ApiError> {
        if self.default_ca.is_none() {
            return Ok(());
        }
        match self.signers.custom_names().into_iter().find(|name| {
            !self.per_signer.contains_key(*name) && !self.signers.may_use_cluster_ca(name)
        }) {
            Some(name) => Err(ApiError::CustomSignerOnClusterCa {
                signer: name.to_owned(),
            }),
            None => Ok(()),
        }
    }

    /// The TTL for a request: min(expirationSeconds, duration), at least 10 minutes.
    pub fn ttl(&self, csr: &CertificateSigningRequest) -> Duration {
        let mut ttl = self.duration;
        if let Some(secs) = csr.spec.expiration_seconds {
            ttl = ttl.min(Duration::from_secs(u64::try_from(secs).unwrap_or(0)));
        }
        ttl.max(MIN_TTL)
    }

    /// Signs one request if it is approved, not failed, not issued and for a signer we serve:
    /// NotBefore = now - 5 min; NotAfter = now + TTL - 5 min when TTL >= 8h, else now + TTL;
    /// never past the CA; CA:FALSE; serial random. A signer's refusal, and a request that
    /// can never be signed (unreadable, or its public key refused, e.g. Ed25519 or P-521),
    /// add a terminal `Failed` condition, reason `SignerValidationFailure`, naming why.
    ///
    /// # Errors
    /// [`ApiError::SignerExpired`] for an expired CA (the request is left as it was);
    /// [`ApiError::Sign`] when signing fails. Both may pass: the caller retries.
    pub fn sign(
        &self,
        csr: &mut CertificateSigningRequest,
        now: SystemTime,
    ) -> Result<SignOutcome, ApiError> {
        if !csr.is_approved() || csr.is_failed() || csr.is_issued() {
            return Ok(SignOutcome::Skipped);
        }
        let signer_name = csr.spec.signer_name.clone();
        if signer_name == LEGACY_UNKNOWN {
            return Ok(SignOutcome::Skipped);
        }
        let Some(ca) = self.ca_for(&signer_name) else {
            return Ok(SignOutcome::Skipped);
        };
        if now >= ca.not_after() {
            return Err(ApiError::SignerExpired {
                not_after: format_time(ca.not_after()),
            });
        }
        // The request never changes: one that cannot be read, or whose key is refused, can
        // never be signed, so it fails for good instead of being retried.
        let request = match parse_request(csr) {
            Ok(request) => request,
            Err(unreadable) => {
                let message = unreadable_message(&unreadable);
                return Ok(fail(csr, message, now));
            }
        };
        let ttl = self.ttl(csr);
        let validity = if ttl >= SHORT_TTL {
            ttl - BACKDATE
        } else {
            ttl
        };
        let profile = match self
            .signers
            .check(&signer_name, &request, &csr.spec.usages, validity)
        {
            Ok(p) => p,
            Err(refusal) => return Ok(fail(csr, refusal.to_string(), now)),
        };
        let issued = ca.issue(
            &request,
            &profile,
            &IssueOptions::at(now).with_validity(profile.default_validity),
        )?;
        csr.status.certificate = Some(Base64Bytes(issued.pem().into_bytes()));
        Ok(SignOutcome::Issued {
            not_before: issued.not_before(),
            not_after: issued.not_after(),
        })
    }
}

/// Adds the terminal `Failed` condition, reason `SignerValidationFailure`.
fn fail(csr: &mut CertificateSigningRequest, message: String, now: SystemTime) -> SignOutcome {
    csr.status
        .conditions
        .push(condition(FAILED, "SignerValidationFailure", &message, now));
    SignOutcome::Failed(message)
}

/// What is wrong with an unreadable `spec.request`, e.g. `request public key refused:
/// unsupported public key algorithm Ed25519 (1.3.101.112)`.
fn unreadable_message(error: &ApiError) -> String {
    match error {
        ApiError::Invalid { causes, .. } => causes
            .iter()
            .map(|cause| match &cause.kind {
                FieldErrorKind::Invalid { detail, .. } => detail.clone(),
                _ => cause.to_string(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// Signers whose requests the built-in rules govern.
pub const BUILTIN_SIGNERS: [&str; 3] = [
    KUBE_APISERVER_CLIENT,
    KUBE_APISERVER_CLIENT_KUBELET,
    KUBELET_SERVING,
];

/// Approved-and-issued, denied and failed requests are removed this long after their condition.
pub const DECIDED_TTL: Duration = Duration::from_secs(3600);
/// Pending requests are removed this long after creation.
pub const PENDING_TTL: Duration = Duration::from_secs(24 * 3600);

/// The cleaner (`csrcleaner`): why `csr` should be deleted at `now`, if it should.
pub fn cleanup_reason(csr: &CertificateSigningRequest, now: SystemTime) -> Option<&'static str> {
    let older = |t: Option<&String>, ttl: Duration| {
        t.and_then(|t| parse_time(t).ok())
            .is_some_and(|t| now.duration_since(t).is_ok_and(|age| age > ttl))
    };
    let cond_time = |type_: &str| {
        csr.condition(type_)
            .and_then(|c| c.last_update_time.as_ref())
    };
    if csr.is_issued() {
        if issued_not_after(csr).is_some_and(|not_after| not_after <= now) {
            return Some("issued certificate has expired");
        }
        if older(cond_time(APPROVED), DECIDED_TTL) {
            return Some("approved and issued more than 1h ago");
        }
        return None;
    }
    if csr.is_denied() && older(cond_time(DENIED), DECIDED_TTL) {
        return Some("denied more than 1h ago");
    }
    if csr.is_failed() && older(cond_time(FAILED), DECIDED_TTL) {
        return Some("failed more than 1h ago");
    }
    if !csr.is_denied()
        && !csr.is_failed()
        && csr.condition(APPROVED).is_none()
        && older(csr.metadata.creation_timestamp.as_ref(), PENDING_TTL)
    {
        return Some("pending for more than 24h");
    }
    None
}

fn issued_not_after(csr: &CertificateSigningRequest) -> Option<SystemTime> {
    let pem = csr.status.certificate.as_ref()?;
    let ders = kubepki_sign::certificates_from_bytes(&pem.0).ok()?;
    let info = kubepki_sign::CertificateInfo::from_der(ders.first()?).ok()?;
    Some(info.not_after)
}
