//! Path building and RFC 5280 path validation.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use const_oid::ObjectIdentifier;
use der::DateTime;

use der::referenced::OwnedToRef;
use kubepki_keys::PublicKeyKind;

use crate::VerifyError;
use crate::cert::{Cert, oids};
use crate::error::UNKNOWN_ISSUER_RANK;
use crate::names::{self, PeerName};
use crate::webpki;

/// The extended key usage the end-entity certificate must allow.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyPurpose {
    /// TLS server authentication (`id-kp-serverAuth`).
    ServerAuth,
    /// TLS client authentication (`id-kp-clientAuth`).
    ClientAuth,
}

impl KeyPurpose {
    /// The purpose's object identifier.
    #[must_use]
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::ServerAuth => oids::SERVER_AUTH,
            Self::ClientAuth => oids::CLIENT_AUTH,
        }
    }
}

/// What a certification path must satisfy, besides chaining to a trust anchor.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// The validation time: every certificate must be valid at this instant.
    pub time: SystemTime,
    /// The name the end-entity certificate must carry, if any.
    pub name: Option<PeerName>,
    /// The extended key usage required of the end-entity certificate (and of
    /// every CA in the path that restricts its extended key usages).
    pub purpose: Option<KeyPurpose>,
    /// The most intermediates (self-issued ones not counted) a path may have.
    pub max_intermediates: Option<usize>,
    /// Require the leaf's keyUsage, if present, to allow digitalSignature.
    pub require_digital_signature: bool,
    /// Most signature checks path building may do before giving up.
    pub max_signature_checks: usize,
    /// Most candidate issuers path building may try before giving up.
    pub max_candidates: usize,
    /// Most name-against-subtree comparisons name constraints may need.
    pub max_name_checks: usize,
    /// Also apply the CA/Browser Forum Baseline Requirements for TLS server
    /// certificates: the leaf has an extendedKeyUsage (non-critical, without
    /// anyExtendedKeyUsage) and a positive serial of at most 20 octets, its
    /// common name (if any) is one of its SANs written the same way,
    /// subjectAltName is critical only when the subject is empty, root
    /// certificates carry no extendedKeyUsage, authorityKeyIdentifier holds
    /// only a keyIdentifier (equal to the subjectKeyIdentifier of a self-signed
    /// certificate), and RSA moduli are a multiple of 8 bits. Off by default:
    /// Kubernetes certificates (e.g. kubelet serving certificates whose common
    /// name is `system:node:NAME`) do not follow them.
    pub web_pki: bool,
}

impl VerifyOptions {
    /// Options that check a path at `time` for no particular name or purpose,
    /// with the default budget (100 signature checks, 20,000 candidates).
    #[must_use]
    pub fn new(time: SystemTime) -> Self {
        Self {
            time,
            name: None,
            purpose: None,
            max_intermediates: None,
            require_digital_signature: false,
            max_signature_checks: 100,
            max_candidates: 20_000,
            max_name_checks: 1 << 20,
            web_pki: false,
        }
    }

    /// Sets the name the leaf must carry.
    #[must_use]
    pub fn with_name(mut self, name: PeerName) -> Self {
        self.name = Some(name);
        self
    }

    /// Sets the extended key usage the path must allow.
    #[must_use]
    pub fn with_purpose(mut self, purpose: KeyPurpose) -> Self {
        self.purpose = Some(purpose);
        self
    }

    /// Sets the most intermediates a path may have.
    #[must_use]
    pub fn with_max_intermediates(mut self, max: usize) -> Self {
        self.max_intermediates = Some(max);
        self
    }
}

/// A validated certification path, from the end-entity certificate to the trust anchor.
#[derive(Clone, Debug)]
pub struct VerifiedPath {
    certs: Vec<Cert>,
}

impl VerifiedPath {
    /// The certificates, leaf first and trust anchor last.
    #[must_use]
    pub fn certificates(&self) -> &[Cert] {
        &self.certs
    }

    /// The end-entity certificate.
    #[must_use]
    pub fn leaf(&self) -> &Cert {
        &self.certs[0]
    }

    /// The trust anchor the path ends at.
    #[must_use]
    pub fn anchor(&self) -> &Cert {
        &self.certs[self.certs.len() - 1]
    }
}

/// Builds and validates a path from `leaf` to one of `anchors`, through any of
/// `intermediates` (in any order; duplicates are ignored).
///
/// # Errors
/// The most specific [`VerifyError`] met: a problem with the leaf itself (time,
/// usage, name), else the best-ranked reason among the candidate paths (see
/// [`VerifyError::rank`]), or [`VerifyError::UnknownIssuer`] when nothing issued it.
pub fn verify(
    anchors: &[Cert],
    intermediates: &[Cert],
    leaf: &Cert,
    options: &VerifyOptions,
) -> Result<VerifiedPath, VerifyError> {
    if anchors.is_empty() {
        return Err(VerifyError::NoTrustAnchors);
    }
    let now = options
        .time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|_| VerifyError::BadTime)?;
    let now_dt = DateTime::from_unix_duration(now).map_err(|_| VerifyError::BadTime)?;
    if let Some(name) = &options.name {
        names::check_expected_name(name)?;
    }

    // pool: 0 = leaf, then the anchors, then the distinct intermediates
    let mut pool: Vec<&Cert> = Vec::with_capacity(1 + anchors.len() + intermediates.len());
    pool.push(leaf);
    pool.extend(anchors.iter());
    for c in intermediates {
        if !pool.iter().any(|p| p.der() == c.der()) {
            pool.push(c);
        }
    }
    let mut b = Builder {
        pool,
        anchors: anchors.len(),
        options,
        now,
        now_dt,
        signatures: 0,
        candidates: 0,
        sig_cache: HashMap::new(),
        ca_cache: HashMap::new(),
        name_checks: 0,
    };
    b.check_leaf()?;
    let mut chain = vec![0];
    b.build(&mut chain)?;
    Ok(VerifiedPath {
        certs: chain.iter().map(|&i| b.pool[i].clone()).collect(),
    })
}

struct Builder<'a> {
    pool: Vec<&'a Cert>,
    anchors: usize,
    options: &'a VerifyOptions,
    now: Duration,
    now_dt: DateTime,
    signatures: usize,
    candidates: usize,
    sig_cache: HashMap<(usize, usize), Result<(), Arc<kubepki_keys::KeyError>>>,
    ca_cache: HashMap<usize, Result<(), VerifyError>>,
    name_checks: usize,
}

impl Builder<'_> {
    fn is_anchor(&self, i: usize) -> bool {
        (1..=self.anchors).contains(&i)
    }

    fn check_time(&self, cert: &Cert) -> Result<(), VerifyError> {
        let validity = cert.cert.tbs_certificate().validity();
        if self.now < cert.not_before {
            return Err(VerifyError::NotYetValid {
                subject: cert.subject().to_owned(),
                not_before: validity.not_before.to_date_time(),
                now: self.now_dt,
            });
        }
        if self.now > cert.not_after {
            return Err(VerifyError::Expired {
                subject: cert.subject().to_owned(),
                not_after: validity.not_after.to_date_time(),
                now: self.now_dt,
            });
        }
        Ok(())
    }

    fn check_eku(&self, cert: &Cert) -> Result<(), VerifyError> {
        let (Some(purpose), Some(eku)) = (self.options.purpose, &cert.eku) else {
            return Ok(());
        };
        let want = purpose.oid();
        if eku.iter().any(|o| *o == want || *o == oids::ANY_EKU) {
            Ok(())
        } else {
            Err(VerifyError::ExtendedKeyUsageNotAllowed {
                subject: cert.subject().to_owned(),
                required: want,
            })
        }
    }

    /// Checks every certificate of a path gets, whatever its place.
    fn check_any(&self, cert: &Cert, anchor: bool) -> Result<(), VerifyError> {
        let spki = cert
            .cert
            .tbs_certificate()
            .subject_public_key_info()
            .owned_to_ref();
        let bad_key = |e| VerifyError::BadPublicKey {
            subject: cert.subject().to_owned(),
            source: Arc::new(e),
        };
        let kind = PublicKeyKind::of(&spki).map_err(bad_key)?;
        kind.check_strength().map_err(bad_key)?;
        // a trust anchor is trusted as given: it may be a cross-signed root
        if !anchor && !cert.is_self_issued() && cert.aki.is_none() {
            return Err(VerifyError::MissingAuthorityKeyId {
                subject: cert.subject().to_owned(),
            });
        }
        if self.options.web_pki {
            webpki::check_any(cert, kind)?;
        }
        Ok(())
    }

    fn check_leaf(&self) -> Result<(), VerifyError> {
        let leaf = self.pool[0];
        self.check_time(leaf)?;
        self.check_any(leaf, false)?;
        if leaf.name_constraints.is_some() && !leaf.is_ca() {
            return Err(VerifyError::InvalidExtension {
                subject: leaf.subject().to_owned(),
                oid: oids::NAME_CONSTRAINTS,
                reason: "nameConstraints in a certificate that is not a CA",
            });
        }
        self.check_eku(leaf)?;
        if self.options.web_pki {
            webpki::check_leaf(leaf)?;
        }
        if self.options.require_digital_signature
            && let Some(ku) = &leaf.key_usage
            && !ku.digital_signature()
        {
            return Err(VerifyError::MissingKeyUsage {
                subject: leaf.subject().to_owned(),
                usage: "digitalSignature",
            });
        }
        if let Some(name) = &self.options.name {
            names::check_peer_name(leaf, name)?;
        }
        Ok(())
    }

    /// Checks that do not depend on the path: is `cert` usable as a CA at all.
    fn check_ca(&mut self, i: usize) -> Result<(), VerifyError> {
        if let Some(r) = self.ca_cache.get(&i) {
            return r.clone();
        }
        let r = self.check_ca_uncached(i);
        self.ca_cache.insert(i, r.clone());
        r
    }

    fn check_ca_uncached(&self, i: usize) -> Result<(), VerifyError> {
        let cert = self.pool[i];
        if !cert.is_ca() {
            return Err(VerifyError::NotCa {
                subject: cert.subject().to_owned(),
            });
        }
        let invalid = |reason| VerifyError::InvalidCa {
            subject: cert.subject().to_owned(),
            reason,
        };
        if !cert.basic_critical {
            return Err(invalid("basicConstraints is not critical"));
        }
        if cert.cert.tbs_certificate().subject().is_empty() {
            return Err(invalid("the subject is empty"));
        }
        if cert.ski.is_none() {
            return Err(invalid("there is no subjectKeyIdentifier"));
        }
        self.check_any(cert, self.is_anchor(i))?;
        if self.options.web_pki && self.is_anchor(i) && cert.eku.is_some() {
            return Err(VerifyError::WebPkiViolation {
                subject: cert.subject().to_owned(),
                reason: "a root certificate must not have extendedKeyUsage",
            });
        }
        if let Some(ku) = &cert.key_usage
            && !ku.key_cert_sign()
        {
            return Err(VerifyError::MissingKeyCertSign {
                subject: cert.subject().to_owned(),
            });
        }
        self.check_time(cert)?;
        self.check_eku(cert)?;
        Ok(())
    }

    fn check_signature(&mut self, child: usize, issuer: usize) -> Result<(), VerifyError> {
        let key = (child, issuer);
        if !self.sig_cache.contains_key(&key) {
            if self.signatures >= self.options.max_signature_checks {
                return Err(self.budget());
            }
            self.signatures += 1;
            let r = self.pool[issuer]
                .verify_signature_of(self.pool[child])
                .map_err(Arc::new);
            self.sig_cache.insert(key, r);
        }
        match self.sig_cache.get(&key) {
            Some(Err(e)) => Err(VerifyError::BadSignature {
                subject: self.pool[child].subject().to_owned(),
                issuer: self.pool[issuer].subject().to_owned(),
                source: Arc::clone(e),
            }),
            _ => Ok(()),
        }
    }

    fn budget(&self) -> VerifyError {
        VerifyError::BudgetExhausted {
            signatures: self.signatures,
            paths: self.candidates,
        }
    }

    /// Intermediates in `chain` below a new issuer, self-issued ones not counted.
    fn intermediates_below(&self, chain: &[usize]) -> usize {
        chain[1..]
            .iter()
            .filter(|&&i| !self.pool[i].is_self_issued())
            .count()
    }

    fn try_issuer(&mut self, chain: &[usize], cand: usize) -> Result<(), VerifyError> {
        self.check_ca(cand)?;
        let issuer = self.pool[cand];
        let below = self.intermediates_below(chain);
        if let Some(n) = issuer.basic.as_ref().and_then(|b| b.path_len_constraint)
            && below > usize::from(n)
        {
            return Err(VerifyError::PathLenExceeded {
                subject: issuer.subject().to_owned(),
                path_len: n,
                found: below,
            });
        }
        if let Some(max) = self.options.max_intermediates {
            let with_cand = below + usize::from(!self.is_anchor(cand) && !issuer.is_self_issued());
            if with_cand > max {
                return Err(VerifyError::MaxDepthExceeded { max });
            }
        }
        let child = chain[chain.len() - 1];
        self.check_signature(child, cand)?;
        if let Some(nc) = &issuer.name_constraints {
            let subtrees = nc.permitted_subtrees.as_ref().map_or(0, Vec::len)
                + nc.excluded_subtrees.as_ref().map_or(0, Vec::len);
            for (pos, &i) in chain.iter().enumerate() {
                let cert = self.pool[i];
                if pos > 0 && cert.is_self_issued() {
                    continue;
                }
                let names = 1
                    + cert.san.as_ref().map_or(0, Vec::len)
                    + cert.cert.tbs_certificate().subject().len();
                self.name_checks = self
                    .name_checks
                    .saturating_add(names.saturating_mul(subtrees));
                if self.name_checks > self.options.max_name_checks {
                    return Err(VerifyError::TooManyNameConstraintChecks {
                        max: self.options.max_name_checks,
                    });
                }
                names::check_name_constraints(issuer, cert)?;
            }
        }
        Ok(())
    }

    fn build(&mut self, chain: &mut Vec<usize>) -> Result<(), VerifyError> {
        let current = self.pool[chain[chain.len() - 1]];
        // The best reason so far; none means "nothing issued it", made only if returned.
        let mut best: Option<VerifyError> = None;
        let candidates: Vec<usize> = (1..self.pool.len())
            .filter(|&i| self.pool[i].subject_der() == current.issuer_der())
            .collect();
        for cand in candidates {
            self.candidates += 1;
            if self.candidates > self.options.max_candidates {
                return Err(self.budget());
            }
            let c = self.pool[cand];
            // a path never holds the same certificate, nor the same name and key, twice
            if chain.iter().any(|&i| {
                i == cand
                    || (self.pool[i].subject_der() == c.subject_der()
                        && self.pool[i].spki_der() == c.spki_der())
            }) {
                continue;
            }
            if let (Some(aki), Some(ski)) = (&current.aki, &c.ski)
                && aki != ski
            {
                continue;
            }
            let result = match self.try_issuer(chain, cand) {
                Ok(()) => {
                    chain.push(cand);
                    if self.is_anchor(cand) {
                        return Ok(());
                    }
                    let r = self.build(chain);
                    if r.is_ok() {
                        return r;
                    }
                    chain.pop();
                    r
                }
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                if matches!(e, VerifyError::BudgetExhausted { .. }) {
                    return Err(e);
                }
                if e.rank() > best.as_ref().map_or(UNKNOWN_ISSUER_RANK, VerifyError::rank) {
                    best = Some(e);
                }
            }
        }
        Err(best.unwrap_or_else(|| VerifyError::UnknownIssuer {
            subject: current.subject().to_owned(),
            issuer: current.cert.tbs_certificate().issuer().to_string(),
        }))
    }
}
