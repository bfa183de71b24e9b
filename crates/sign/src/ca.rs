//! The CA: a certificate and the key that signs with it.

use core::fmt;
use std::time::{Duration, SystemTime};

use const_oid::AssociatedOid;
use der::Encode;
use der::asn1::OctetString;
use flagset::FlagSet;
use kubepki_csr::{Csr, San, Subject};
use kubepki_keys::pem::pem_encode;
use kubepki_keys::{KeyPair, PublicKey, Signer};
use kubepki_profile::Profile;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, Extensions};
use x509_cert::name::Name;

use crate::SignError;
use crate::Timestamp;
use crate::certificate::{CertificateInfo, certificates_from_bytes, parse_certificate};
use crate::serial::random_serial;
use crate::tbs::{CertificateFields, sign_certificate};

/// A CA's certificate bundle split: its own certificate (checked to parse) and the chain
/// above it, nearest first.
fn split_bundle(bundle: &[u8]) -> Result<(Vec<u8>, Vec<Vec<u8>>), SignError> {
    let mut certificates = certificates_from_bytes(bundle)?.into_iter();
    let own = certificates
        .next()
        .ok_or_else(|| SignError::MalformedCertificate("no CERTIFICATE PEM block".to_owned()))?;
    parse_certificate(&own)?;
    Ok((own, certificates.collect()))
}

/// When and for how long to issue. The library never reads the clock: `now` is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IssueOptions {
    /// The time of issuing.
    pub now: SystemTime,
    /// The validity asked for; `None` takes the profile's default. Longer than the profile's
    /// maximum is an error; past the CA's end is clamped, with a warning.
    pub validity: Option<Duration>,
}

impl IssueOptions {
    /// Issue at `now` with the profile's default validity.
    pub fn at(now: SystemTime) -> Self {
        IssueOptions {
            now,
            validity: None,
        }
    }

    /// The same, with a validity.
    pub fn with_validity(mut self, validity: Duration) -> Self {
        self.validity = Some(validity);
        self
    }
}

/// A certificate issued by a [`Ca`].
#[derive(Clone, Debug)]
pub struct IssuedCert {
    der: Vec<u8>,
    chain: Vec<Vec<u8>>,
    not_before: SystemTime,
    not_after: SystemTime,
    warnings: Vec<String>,
}

impl IssuedCert {
    /// The certificate's DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate as PEM `CERTIFICATE`.
    pub fn pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.der)
    }

    /// The certificate followed by the issuing CA's chain up to (not including) the root, as
    /// a TLS server sends it.
    pub fn chain_pem(&self) -> String {
        let mut out = self.pem();
        for cert in &self.chain {
            out.push_str(&pem_encode("CERTIFICATE", cert));
        }
        out
    }

    /// NotBefore.
    pub fn not_before(&self) -> SystemTime {
        self.not_before
    }

    /// NotAfter.
    pub fn not_after(&self) -> SystemTime {
        self.not_after
    }

    /// Things the caller should know that did not stop issuing (e.g. validity clamped to the
    /// CA's end, a group in OU).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// What the certificate says.
    ///
    /// # Errors
    /// Never for a certificate we made; [`SignError::MalformedCertificate`] otherwise.
    pub fn info(&self) -> Result<CertificateInfo, SignError> {
        CertificateInfo::from_der(&self.der)
    }
}

/// A certificate authority: its certificate, the signer holding its key, and the chain above
/// it (empty for a root). Sharing one `Ca` across threads is safe.
pub struct Ca {
    der: Vec<u8>,
    name: Name,
    subject: Subject,
    key_id: Vec<u8>,
    not_before: SystemTime,
    not_after: SystemTime,
    path_len: Option<u8>,
    self_issued: bool,
    signer: Box<dyn Signer>,
    chain: Vec<Vec<u8>>,
    /// What a TLS peer sends after a certificate we issue: this CA and the CAs above it,
    /// roots left out. Computed once, when the CA is loaded.
    served_chain: Vec<Vec<u8>>,
}

impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ca")
            .field("subject", &self.subject.to_string())
            .field("path_len", &self.path_len)
            .finish_non_exhaustive()
    }
}

fn extension<T: Encode + AssociatedOid>(value: &T, critical: bool) -> Result<Extension, SignError> {
    let der = value
        .to_der()
        .map_err(|e| SignError::Encode(e.to_string()))?;
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(der).map_err(|e| SignError::Encode(e.to_string()))?,
    })
}

/// What a certificate will say, decided before anything is signed.
struct Plan {
    subject: Subject,
    sans: Vec<San>,
    key_usage: FlagSet<KeyUsages>,
    eku: Vec<const_oid::ObjectIdentifier>,
    ca: Option<Option<u8>>,
    not_before: SystemTime,
    not_after: SystemTime,
    warnings: Vec<String>,
}

fn extensions_for(
    plan: &Plan,
    public_key: &PublicKey,
    authority_key_id: &[u8],
) -> Result<Extensions, SignError> {
    // As Go's x509 (and so the Kubernetes signer): no KeyUsage extension when no bit is set
    // (`usages: [client auth]`); an empty one is invalid and openssl rejects the certificate.
    let mut extensions = Vec::new();
    if !plan.key_usage.is_empty() {
        extensions.push(extension(&KeyUsage(plan.key_usage), true)?);
    }
    if !plan.eku.is_empty() {
        extensions.push(extension(&ExtendedKeyUsage(plan.eku.clone()), false)?);
    }
    extensions.push(extension(
        &BasicConstraints {
            ca: plan.ca.is_some(),
            path_len_constraint: plan.ca.flatten(),
        },
        true,
    )?);
    let encode = |e: der::Error| SignError::Encode(e.to_string());
    extensions.push(extension(
        &SubjectKeyIdentifier(OctetString::new(public_key.key_id()).map_err(encode)?),
        false,
    )?);
    extensions.push(extension(
        &AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(authority_key_id).map_err(encode)?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        },
        false,
    )?);
    if !plan.sans.is_empty() {
        let names = plan
            .sans
            .iter()
            .map(San::to_general_name)
            .collect::<Result<Vec<_>, _>>()?;
        // RFC 5280 4.2.1.6: with an empty subject, the SAN extension is critical.
        extensions.push(extension(&SubjectAltName(names), plan.subject.is_empty())?);
    }
    Ok(extensions)
}

/// The subject name of every certificate kubepki writes (roots, intermediates, leaves, batch):
/// rebuilt from the checked values, one attribute per RDN in the order they were read
/// ([`Subject::canonical`]), strings as [`Subject::to_name`] types them. Never the request's
/// bytes and never a multi-valued RDN: a DER SET is re-sorted when encoded, which once turned
/// an approved `system:node:worker-1` into `system:node:worker-2` in Go's eyes (issue 20).
fn issued_name(subject: &Subject) -> Result<Name, SignError> {
    Ok(subject.canonical().to_name()?)
}

/// Decides subject, SANs, usages and validity under `profile`, within `window` (the issuer's
/// validity, `None` for a self-signed root).
fn plan(
    profile: &Profile,
    subject: &Subject,
    requested_sans: &[San],
    options: &IssueOptions,
    window: Option<(SystemTime, SystemTime)>,
) -> Result<Plan, SignError> {
    let approved = profile.check_request(subject, requested_sans)?;
    let validity = profile.validity(options.validity)?;
    let now = options.now;
    let mut warnings = approved.warnings;
    let not_before = now.checked_sub(profile.backdate).unwrap_or(now);
    let mut not_after = now
        .checked_add(validity)
        .ok_or(SignError::TimeOutOfRange(now))?;
    if let Some((ca_not_before, ca_not_after)) = window {
        if now > ca_not_after {
            return Err(SignError::CaExpired {
                not_after: Timestamp(ca_not_after),
                now: Timestamp(now),
            });
        }
        if now < ca_not_before {
            return Err(SignError::CaNotYetValid {
                not_before: Timestamp(ca_not_before),
                now: Timestamp(now),
            });
        }
        // NotBefore stays backdated even before the CA's own NotBefore, as
        // kube-controller-manager's signer does (authority/policies.go): the backdate is
        // there for nodes whose clocks are behind, and RFC 5280 does not nest validity.
        if not_after > ca_not_after {
            warnings.push(format!(
                "validity clamped to the CA's NotAfter {}: the certificate ends then, not at {}",
                Timestamp(ca_not_after),
                Timestamp(not_after)
            ));
            not_after = ca_not_after;
        }
    }
    if not_after <= not_before {
        return Err(SignError::EmptyValidity {
            not_before: Timestamp(not_before),
            not_after: Timestamp(not_after),
        });
    }
    Ok(Plan {
        subject: approved.subject,
        sans: approved.sans,
        key_usage: profile.key_usage(),
        eku: profile.extended_key_usage(),
        ca: profile.ca.as_ref().map(|c| c.path_len),
        not_before,
        not_after,
        warnings,
    })
}

impl Ca {
    /// Creates a self-signed root CA for `subject` under a CA `profile` (e.g. the built-in
    /// `ca`: CN `kubernetes` as kubeadm, or the tutorials' `KUBERNETES-CA`).
    ///
    /// # Errors
    /// [`SignError::WrongProfileKind`] for a leaf profile, [`SignError::Profile`] when the
    /// profile refuses the subject or validity, [`SignError::Key`] when signing fails.
    pub fn self_signed(
        signer: Box<dyn Signer>,
        subject: &Subject,
        profile: &Profile,
        options: &IssueOptions,
    ) -> Result<Ca, SignError> {
        require_ca_profile(profile)?;
        let plan = plan(profile, subject, &[], options, None)?;
        let public_key = signer.public_key().clone();
        let key_id = public_key.key_id();
        let name = issued_name(&plan.subject)?;
        let der = sign_certificate(
            CertificateFields {
                serial: random_serial()?,
                issuer: name.clone(),
                subject: name,
                not_before: plan.not_before,
                not_after: plan.not_after,
                public_key: public_key.spki(),
                extensions: extensions_for(&plan, &public_key, &key_id)?,
            },
            signer.as_ref(),
        )?;
        Ca::from_der(&der, signer, Vec::new())
    }

    /// Creates an intermediate CA signed by this CA: a new CA for `subject` whose key is
    /// `signer`, under a CA `profile`.
    ///
    /// # Errors
    /// As [`Ca::self_signed`], and [`SignError::PathLenExceeded`] when this CA's path length
    /// forbids another CA below it, [`SignError::CaExpired`] / [`SignError::CaNotYetValid`].
    pub fn issue_intermediate(
        &self,
        signer: Box<dyn Signer>,
        subject: &Subject,
        profile: &Profile,
        options: &IssueOptions,
    ) -> Result<Ca, SignError> {
        self.issue_intermediate_with_warnings(signer, subject, profile, options)
            .map(|(ca, _)| ca)
    }

    /// As [`Ca::issue_intermediate`], with the things the caller should tell the user, as
    /// [`IssuedCert::warnings`] says them for a leaf: an intermediate whose validity would
    /// outlive this CA is clamped to this CA's NotAfter, with a warning.
    ///
    /// # Errors
    /// As [`Ca::issue_intermediate`].
    pub fn issue_intermediate_with_warnings(
        &self,
        signer: Box<dyn Signer>,
        subject: &Subject,
        profile: &Profile,
        options: &IssueOptions,
    ) -> Result<(Ca, Vec<String>), SignError> {
        require_ca_profile(profile)?;
        let issued = self.issue_for_key(signer.public_key(), subject, &[], profile, options)?;
        let mut chain = vec![self.der.clone()];
        chain.extend(self.chain.iter().cloned());
        let ca = Ca::from_der(issued.der(), signer, chain)?;
        Ok((ca, issued.warnings().to_vec()))
    }

    /// Issues a certificate for a request under `profile`. Proof of possession was checked
    /// when the [`Csr`] was parsed; from the request only the subject, the SANs (as the
    /// profile allows) and the public key are taken: a request for CA status or for its own
    /// usages gets what the profile says.
    ///
    /// # Errors
    /// [`SignError::Profile`] when the profile refuses the subject, SANs or validity;
    /// [`SignError::CaExpired`], [`SignError::CaNotYetValid`]; [`SignError::PathLenExceeded`]
    /// for a CA profile below a CA with path length 0; [`SignError::Key`] when signing fails.
    pub fn issue(
        &self,
        csr: &Csr,
        profile: &Profile,
        options: &IssueOptions,
    ) -> Result<IssuedCert, SignError> {
        self.issue_for_key(
            csr.public_key(),
            csr.subject(),
            csr.sans(),
            profile,
            options,
        )
    }

    /// Issues a certificate for a public key generated in-process (no request, so no proof of
    /// possession to check), e.g. by `kubepki init`.
    ///
    /// # Errors
    /// As [`Ca::issue`].
    pub fn issue_for_key(
        &self,
        public_key: &PublicKey,
        subject: &Subject,
        sans: &[San],
        profile: &Profile,
        options: &IssueOptions,
    ) -> Result<IssuedCert, SignError> {
        let mut plan = plan(
            profile,
            subject,
            sans,
            options,
            Some((self.not_before, self.not_after)),
        )?;
        if let Some(child_path_len) = plan.ca {
            plan.ca = Some(self.child_path_len(child_path_len)?);
        }
        let der = sign_certificate(
            CertificateFields {
                serial: random_serial()?,
                issuer: self.name.clone(),
                subject: issued_name(&plan.subject)?,
                not_before: plan.not_before,
                not_after: plan.not_after,
                public_key: public_key.spki(),
                extensions: extensions_for(&plan, public_key, &self.key_id)?,
            },
            self.signer.as_ref(),
        )?;
        Ok(IssuedCert {
            der,
            chain: self.served_chain.clone(),
            not_before: plan.not_before,
            not_after: plan.not_after,
            warnings: plan.warnings,
        })
    }

    /// The path length a CA below this one gets: the profile's, capped one below ours.
    fn child_path_len(&self, requested: Option<u8>) -> Result<Option<u8>, SignError> {
        match self.path_len {
            None => Ok(requested),
            Some(0) => Err(SignError::PathLenExceeded {
                parent: self.subject.to_string(),
                path_len: 0,
                requested: requested.unwrap_or(u8::MAX),
            }),
            Some(ours) => match requested {
                None => Ok(Some(ours - 1)),
                Some(r) if r < ours => Ok(Some(r)),
                Some(r) => Err(SignError::PathLenExceeded {
                    parent: self.subject.to_string(),
                    path_len: ours,
                    requested: r,
                }),
            },
        }
    }

    /// Loads a CA from a certificate bundle (PEM, or one DER certificate) and its signer: the
    /// bundle's first certificate is the CA's, the others are the chain above it, nearest
    /// first. Checked as [`Ca::from_der`] checks.
    ///
    /// # Errors
    /// [`SignError::MalformedCertificate`] when the bundle does not read or holds no
    /// certificate; as [`Ca::from_der`].
    pub fn from_bundle(bundle: &[u8], signer: Box<dyn Signer>) -> Result<Ca, SignError> {
        let (own, chain) = split_bundle(bundle)?;
        Ca::from_der(&own, signer, chain)
    }

    /// Loads a CA from its DER certificate and its signer, checking that the certificate is
    /// a CA (basicConstraints cA, keyCertSign if KeyUsage is present; a version 1 self-signed
    /// certificate, as old `openssl x509 -req -signkey` made, is accepted as a root) and that
    /// the key is its key. `chain` holds the certificates above it, nearest first.
    ///
    /// # Errors
    /// [`SignError::MalformedCertificate`], [`SignError::NotACa`], [`SignError::KeyMismatch`].
    pub fn from_der(
        der: &[u8],
        signer: Box<dyn Signer>,
        chain: Vec<Vec<u8>>,
    ) -> Result<Ca, SignError> {
        let cert = parse_certificate(der)?;
        let info = CertificateInfo::from_certificate(&cert)?;
        let subject_text = info.subject.to_string();
        let not_a_ca = |reason| SignError::NotACa {
            subject: subject_text.clone(),
            reason,
        };
        let has_extensions = cert.tbs_certificate().extensions().is_some();
        if has_extensions && !info.is_ca {
            return Err(not_a_ca("basicConstraints does not say cA:TRUE"));
        }
        if !has_extensions && !info.self_issued {
            return Err(not_a_ca("it has no extensions and is not self-signed"));
        }
        if info.has_key_usage && !info.key_usage.contains(KeyUsages::KeyCertSign) {
            return Err(not_a_ca("keyUsage lacks keyCertSign"));
        }
        let spki_der = cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| SignError::MalformedCertificate(e.to_string()))?;
        if spki_der != signer.public_key().to_der() {
            return Err(SignError::KeyMismatch {
                subject: subject_text,
            });
        }
        let mut served_chain = Vec::new();
        if !info.self_issued {
            served_chain.push(der.to_vec());
        }
        for above in &chain {
            if !CertificateInfo::from_der(above)?.self_issued {
                served_chain.push(above.clone());
            }
        }
        Ok(Ca {
            served_chain,
            der: der.to_vec(),
            name: cert.tbs_certificate().subject().clone(),
            key_id: info
                .subject_key_id
                .clone()
                .unwrap_or_else(|| signer.public_key().key_id()),
            subject: info.subject,
            not_before: info.not_before,
            not_after: info.not_after,
            path_len: info.path_len,
            self_issued: info.self_issued,
            signer,
            chain,
        })
    }

    /// Loads a CA from PEM files' contents as openssl or kubeadm write them: the certificate
    /// (further `CERTIFICATE` blocks are its chain) and the key (any format
    /// [`KeyPair::from_bytes`] reads; `passphrase` for an encrypted one).
    ///
    /// # Errors
    /// As [`Ca::from_der`] and [`KeyPair::from_bytes`].
    pub fn from_pem(
        cert_pem: &[u8],
        key_pem: &[u8],
        passphrase: Option<&[u8]>,
    ) -> Result<Ca, SignError> {
        let (own, chain) = split_bundle(cert_pem)?;
        let key = KeyPair::from_bytes(key_pem, passphrase)?;
        Ca::from_der(&own, Box::new(key), chain)
    }

    /// The CA certificate's DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.der
    }

    /// The CA certificate as PEM.
    pub fn certificate_pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.der)
    }

    /// The CA's subject.
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// The CA's NotBefore.
    pub fn not_before(&self) -> SystemTime {
        self.not_before
    }

    /// The CA's NotAfter.
    pub fn not_after(&self) -> SystemTime {
        self.not_after
    }

    /// The CA's pathLenConstraint.
    pub fn path_len(&self) -> Option<u8> {
        self.path_len
    }

    /// The CA's signer.
    pub fn signer(&self) -> &dyn Signer {
        self.signer.as_ref()
    }

    /// The certificates above this CA, nearest first (empty for a root).
    pub fn chain_der(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// Whether the CA certificate is self-issued (subject equals issuer): a root.
    pub fn is_self_signed(&self) -> bool {
        self.self_issued
    }

    /// The parsed CA certificate.
    ///
    /// # Errors
    /// Never for a loaded CA; the certificate was parsed when it was loaded.
    pub fn certificate(&self) -> Result<Certificate, SignError> {
        parse_certificate(&self.der)
    }
}

fn require_ca_profile(profile: &Profile) -> Result<(), SignError> {
    if profile.ca.is_none() {
        return Err(SignError::WrongProfileKind {
            profile: profile.name.clone(),
            reason: "is not a CA profile",
        });
    }
    Ok(())
}
