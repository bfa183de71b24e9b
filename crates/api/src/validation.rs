//! Validation as the API server does it (`pkg/apis/certificates/validation`), and the
//! `CertificateSubjectRestriction` admission plugin.

use std::collections::BTreeSet;

use kubepki_csr::Csr;
use kubepki_keys::pem::pem_blocks;
use kubepki_profile::Usage;

use crate::error::{ApiError, FieldError, FieldErrorKind};
use crate::types::{APPROVED, CertificateSigningRequest, DENIED, FAILED, MAX_ANNOTATIONS_BYTES};

/// `kubernetes.io/kube-apiserver-client`.
pub const KUBE_APISERVER_CLIENT: &str = "kubernetes.io/kube-apiserver-client";
/// `kubernetes.io/kube-apiserver-client-kubelet`.
pub const KUBE_APISERVER_CLIENT_KUBELET: &str = "kubernetes.io/kube-apiserver-client-kubelet";
/// `kubernetes.io/kubelet-serving`.
pub const KUBELET_SERVING: &str = "kubernetes.io/kubelet-serving";
/// `kubernetes.io/legacy-unknown` (refused on create by v1).
pub const LEGACY_UNKNOWN: &str = "kubernetes.io/legacy-unknown";

fn err(field: &str, kind: FieldErrorKind) -> FieldError {
    FieldError {
        field: field.to_owned(),
        kind,
    }
}

fn invalid(field: &str, value: String, detail: &str) -> FieldError {
    err(
        field,
        FieldErrorKind::Invalid {
            value,
            detail: detail.to_owned(),
        },
    )
}

/// Parses `spec.request` as the API server does: the first PEM block must be labelled
/// exactly `CERTIFICATE REQUEST`, and its signature must verify.
///
/// # Errors
/// [`ApiError::Invalid`] on `spec.request` with the server's message.
pub fn parse_request(csr: &CertificateSigningRequest) -> Result<Csr, ApiError> {
    request_csr(&csr.spec.request.0).map_err(|cause| ApiError::Invalid {
        name: csr.metadata.name.clone(),
        causes: vec![cause],
    })
}

fn request_csr(bytes: &[u8]) -> Result<Csr, FieldError> {
    let value = format!("\"<{} bytes>\"", bytes.len());
    let wrong_label = || {
        invalid(
            "spec.request",
            value.clone(),
            "PEM block type must be CERTIFICATE REQUEST",
        )
    };
    let text = std::str::from_utf8(bytes).map_err(|_| wrong_label())?;
    let blocks = pem_blocks(text).map_err(|_| wrong_label())?;
    match blocks.first() {
        Some(block) if block.label == "CERTIFICATE REQUEST" => Csr::from_der(&block.der)
            .map_err(|e| invalid("spec.request", value.clone(), &e.to_string())),
        _ => Err(wrong_label()),
    }
}

/// The API server's `ValidateSignerName`.
fn validate_signer_name(name: &str, out: &mut Vec<FieldError>) {
    const FIELD: &str = "spec.signerName";
    if name.is_empty() {
        out.push(err(FIELD, FieldErrorKind::Required(String::new())));
        return;
    }
    let segments: Vec<&str> = name.split('/').collect();
    let [domain, path] = segments.as_slice() else {
        out.push(invalid(
            FIELD,
            format!("{name:?}"),
            "must be a fully qualified domain and path of the form 'example.com/signer-name'",
        ));
        return;
    };
    if domain.len() > 253 {
        out.push(err(FIELD, FieldErrorKind::TooLong(253)));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if let Some((label, msg)) = labels
        .iter()
        .find_map(|l| dns1123_label_error(l).map(|m| (l, m)))
    {
        out.push(invalid(
            FIELD,
            format!("{domain:?}"),
            &format!("validating label {label:?}: {msg}"),
        ));
    }
    if labels.len() < 2 {
        out.push(invalid(
            FIELD,
            format!("{domain:?}"),
            "should be a domain with at least two segments separated by dots",
        ));
    }
    if let Some((label, msg)) = path
        .split('.')
        .find_map(|l| dns1123_label_error(l).map(|m| (l, m)))
    {
        out.push(invalid(
            FIELD,
            format!("{path:?}"),
            &format!("validating label {label:?}: {msg}"),
        ));
    }
    if path.len() > 253 + 63 + 1 {
        out.push(err(FIELD, FieldErrorKind::TooLong(253 + 63 + 1)));
    }
}

fn dns1123_label_error(label: &str) -> Option<String> {
    if label.len() > 63 {
        return Some("must be no more than 63 characters".to_owned());
    }
    let b = label.as_bytes();
    let ok = !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-';
    (!ok).then(|| {
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')".to_owned()
    })
}

/// The API server's `NameIsDNSSubdomain`, used for CertificateSigningRequest names: at most
/// 253 characters, lowercase RFC 1123 labels separated by dots.
fn validate_name(name: &str, out: &mut Vec<FieldError>) {
    const FIELD: &str = "metadata.name";
    if name.is_empty() {
        return;
    }
    let value = format!("{name:?}");
    if name.len() > 253 {
        out.push(invalid(
            FIELD,
            value.clone(),
            "must be no more than 253 characters",
        ));
    }
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    };
    if !name.split('.').all(label_ok) {
        out.push(invalid(
            FIELD,
            value,
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        ));
    }
}

/// The API server's limit on the total size of annotations (keys and values).
fn validate_annotations(csr: &CertificateSigningRequest, out: &mut Vec<FieldError>) {
    let total: usize = csr
        .metadata
        .annotations
        .iter()
        .map(|(k, v)| k.len() + v.len())
        .sum();
    if total > MAX_ANNOTATIONS_BYTES {
        out.push(err(
            "metadata.annotations",
            FieldErrorKind::TooLong(MAX_ANNOTATIONS_BYTES),
        ));
    }
}

fn validate_conditions(csr: &CertificateSigningRequest, out: &mut Vec<FieldError>) {
    let mut seen = BTreeSet::new();
    for (i, c) in csr.status.conditions.iter().enumerate() {
        let path = format!("status.conditions[{i}]");
        if c.type_.is_empty() {
            out.push(err(
                &format!("{path}.type"),
                FieldErrorKind::Required(String::new()),
            ));
        }
        if [APPROVED, DENIED, FAILED].contains(&c.type_.as_str()) {
            if c.status != "True" {
                out.push(err(
                    &format!("{path}.status"),
                    FieldErrorKind::NotSupported {
                        value: c.status.clone(),
                        supported: vec!["True".to_owned()],
                    },
                ));
            }
            if !seen.insert(c.type_.clone()) {
                out.push(err(
                    &format!("{path}.type"),
                    FieldErrorKind::Duplicate(c.type_.clone()),
                ));
            }
        } else if !["True", "False", "Unknown"].contains(&c.status.as_str()) {
            out.push(err(
                &format!("{path}.status"),
                FieldErrorKind::NotSupported {
                    value: c.status.clone(),
                    supported: vec!["False".to_owned(), "True".to_owned(), "Unknown".to_owned()],
                },
            ));
        }
    }
    if seen.contains(APPROVED) && seen.contains(DENIED) {
        out.push(invalid(
            "status.conditions",
            "Approved, Denied".to_owned(),
            "Approved and Denied conditions are mutually exclusive",
        ));
    }
}

fn validate_certificate(csr: &CertificateSigningRequest, out: &mut Vec<FieldError>) {
    let Some(cert) = &csr.status.certificate else {
        return;
    };
    const FIELD: &str = "status.certificate";
    let value = format!("\"<{} bytes>\"", cert.0.len());
    let blocks = std::str::from_utf8(&cert.0)
        .ok()
        .and_then(|t| pem_blocks(t).ok());
    match blocks {
        None => out.push(invalid(
            FIELD,
            value,
            "must contain at least one CERTIFICATE PEM block",
        )),
        Some(blocks) => {
            if let Some(b) = blocks.iter().find(|b| b.label != "CERTIFICATE") {
                out.push(invalid(
                    FIELD,
                    value,
                    &format!(
                        "only CERTIFICATE PEM blocks are allowed, found {:?}",
                        b.label
                    ),
                ));
            } else if let Some(e) = blocks
                .iter()
                .find_map(|b| kubepki_sign::parse_certificate(&b.der).err())
            {
                out.push(invalid(FIELD, value, &e.to_string()));
            }
        }
    }
}

fn validate_object(csr: &CertificateSigningRequest, create: bool) -> Vec<FieldError> {
    let mut out = Vec::new();
    if csr.metadata.name.is_empty() {
        out.push(err(
            "metadata.name",
            FieldErrorKind::Required("name or generateName is required".to_owned()),
        ));
    }
    if create {
        validate_name(&csr.metadata.name, &mut out);
    }
    validate_annotations(csr, &mut out);
    if let Err(e) = request_csr(&csr.spec.request.0) {
        out.push(e);
    }
    if csr.spec.usages.is_empty() {
        out.push(err("spec.usages", FieldErrorKind::Required(String::new())));
    }
    let supported: Vec<String> = {
        let mut v: Vec<String> = Usage::ALL.iter().map(|u| u.as_str().to_owned()).collect();
        v.sort();
        v
    };
    for (i, usage) in csr.spec.usages.iter().enumerate() {
        if !supported.contains(usage) {
            out.push(err(
                &format!("spec.usages[{i}]"),
                FieldErrorKind::NotSupported {
                    value: usage.clone(),
                    supported: supported.clone(),
                },
            ));
        }
    }
    let mut seen = BTreeSet::new();
    for (i, usage) in csr.spec.usages.iter().enumerate() {
        if !seen.insert(usage) {
            out.push(err(
                &format!("spec.usages[{i}]"),
                FieldErrorKind::Duplicate(usage.clone()),
            ));
        }
    }
    validate_signer_name(&csr.spec.signer_name, &mut out);
    if create && csr.spec.signer_name == LEGACY_UNKNOWN {
        out.push(invalid(
            "spec.signerName",
            format!("{LEGACY_UNKNOWN:?}"),
            "the legacy signerName is not allowed via this API version",
        ));
    }
    if let Some(seconds) = csr.spec.expiration_seconds
        && seconds < 600
    {
        {
            out.push(invalid(
                "spec.expirationSeconds",
                seconds.to_string(),
                "may not specify a duration less than 600 seconds (10 minutes)",
            ));
        }
    }
    validate_conditions(csr, &mut out);
    validate_certificate(csr, &mut out);
    out
}

fn result(csr: &CertificateSigningRequest, causes: Vec<FieldError>) -> Result<(), ApiError> {
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid {
            name: csr.metadata.name.clone(),
            causes,
        })
    }
}

/// Validates a new object as the API server's create does.
///
/// # Errors
/// [`ApiError::Invalid`] listing every field at fault.
pub fn validate_create(csr: &CertificateSigningRequest) -> Result<(), ApiError> {
    result(csr, validate_object(csr, true))
}

/// Validates an update of `old` to `new` (status and approval updates): the spec is
/// immutable, conditions Approved/Denied/Failed are never removed, the certificate is set once.
///
/// # Errors
/// [`ApiError::Invalid`] listing every field at fault.
pub fn validate_update(
    old: &CertificateSigningRequest,
    new: &CertificateSigningRequest,
) -> Result<(), ApiError> {
    let mut causes = validate_object(new, false);
    if old.spec == new.spec {
        // The request was checked when it was created and cannot change since. Checking it
        // again would keep the signer from writing `Failed` on a request it can never sign
        // (a key kubepki refuses but Go's parser, and so kube-apiserver, accepts).
        causes.retain(|cause| cause.field != "spec.request");
    } else {
        causes.push(err(
            "spec",
            FieldErrorKind::Forbidden("field is immutable".to_owned()),
        ));
    }
    for t in [APPROVED, DENIED, FAILED] {
        if old.condition(t).is_some() && new.condition(t).is_none() {
            causes.push(err(
                "status.conditions",
                FieldErrorKind::Forbidden(format!(
                    "updates may not remove a condition of type {t:?}"
                )),
            ));
        }
    }
    if old.is_issued() && old.status.certificate != new.status.certificate {
        causes.push(err(
            "status.certificate",
            FieldErrorKind::Forbidden(
                "updates may not modify existing certificate content".to_owned(),
            ),
        ));
    }
    if !old.is_issued() && new.is_issued() && !new.is_approved() {
        causes.push(err(
            "status.certificate",
            FieldErrorKind::Forbidden(
                "updates may not set certificate content unless the Approved condition is present"
                    .to_owned(),
            ),
        ));
    }
    result(new, causes)
}

/// The `CertificateSubjectRestriction` admission plugin: a `kube-apiserver-client` request
/// whose subject has `O=system:masters` is refused.
///
/// # Errors
/// [`ApiError::Forbidden`] with Kubernetes' message.
pub fn admit_subject_restriction(csr: &CertificateSigningRequest) -> Result<(), ApiError> {
    if csr.spec.signer_name != KUBE_APISERVER_CLIENT {
        return Ok(());
    }
    let request = parse_request(csr)?;
    if request
        .subject()
        .organizations()
        .contains(&"system:masters")
    {
        return Err(ApiError::Forbidden {
            name: csr.metadata.name.clone(),
            reason: format!(
                "use of {} signer with system:masters group is not allowed",
                csr.spec.signer_name
            ),
        });
    }
    Ok(())
}
