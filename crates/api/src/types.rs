//! certificates.k8s.io/v1 objects as serde types, reading and writing Kubernetes' YAML and
//! JSON. Fields kubepki does not know are kept in `unknown` maps and written back.

use std::collections::BTreeMap;

use base64ct::{Base64, Encoding};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_saphyr::ExternalMessageSource;
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::granit_parser::ErrorKind as ScanErrorKind;

use crate::ApiError;

/// `certificates.k8s.io/v1`.
pub const API_VERSION: &str = "certificates.k8s.io/v1";
/// `CertificateSigningRequest`.
pub const KIND: &str = "CertificateSigningRequest";

/// The largest manifest or stored object read, in bytes: the API server's request limit
/// (3 MiB). Larger text is refused before it is parsed.
pub const MAX_OBJECT_BYTES: usize = 3 * 1024 * 1024;

/// The deepest nesting of collections read, checked by the parser as it reads (serde-saphyr's
/// own default bound, which keeps the recursive reader well within a thread's stack). A
/// CertificateSigningRequest is about five levels deep.
pub const MAX_DEPTH: usize = 64;

/// The API server's limit on the total size of an object's annotations (256 KiB).
pub const MAX_ANNOTATIONS_BYTES: usize = 256 * 1024;

/// Condition type `Approved`.
pub const APPROVED: &str = "Approved";
/// Condition type `Denied`.
pub const DENIED: &str = "Denied";
/// Condition type `Failed`.
pub const FAILED: &str = "Failed";

/// Bytes written as base64 in JSON and YAML, as Go's `[]byte`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Base64Bytes(pub Vec<u8>);

impl Serialize for Base64Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&Base64::encode_string(&self.0))
    }
}

impl<'de> Deserialize<'de> for Base64Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let clean: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        Base64::decode_vec(&clean)
            .map(Base64Bytes)
            .map_err(|e| serde::de::Error::custom(format!("illegal base64 data: {e}")))
    }
}

fn is_empty_map<K, V>(m: &BTreeMap<K, V>) -> bool {
    m.is_empty()
}

/// `metadata`: the fields kubepki uses, the rest kept.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// The name (cluster-scoped, unique).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// A prefix from which the server makes a name when `name` is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_name: Option<String>,
    /// The server-assigned UID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The version for optimistic concurrency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// When the object was created, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub annotations: BTreeMap<String, String>,
    /// Every other field, kept as read.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// `spec` of a CertificateSigningRequest.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSigningRequestSpec {
    /// The PEM `CERTIFICATE REQUEST` (base64 in JSON and YAML).
    #[serde(default)]
    pub request: Base64Bytes,
    /// The signer, e.g. `kubernetes.io/kube-apiserver-client`.
    #[serde(default)]
    pub signer_name: String,
    /// The requested validity in seconds (at least 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_seconds: Option<i32>,
    /// The usage words, e.g. `client auth`. Kept as strings so that an unknown word can be
    /// reported as the API server does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usages: Vec<String>,
    /// The requester's user name (set by the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The requester's UID (set by the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The requester's groups (set by the server).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// The requester's extra attributes (set by the server).
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub extra: BTreeMap<String, Vec<String>>,
    /// Every other field, kept as read.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// One entry of `status.conditions`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSigningRequestCondition {
    /// `Approved`, `Denied`, `Failed` or another.
    #[serde(rename = "type", default)]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: String,
    /// A CamelCase reason, e.g. `KubectlApprove`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A human message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the condition was last updated, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<String>,
    /// When the status last changed, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// Every other field, kept as read.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// `status` of a CertificateSigningRequest.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSigningRequestStatus {
    /// The conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<CertificateSigningRequestCondition>,
    /// The issued certificate, PEM (base64 in JSON and YAML).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<Base64Bytes>,
    /// Every other field, kept as read.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

impl CertificateSigningRequestStatus {
    /// No condition, no certificate, nothing else.
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty() && self.certificate.is_none() && self.unknown.is_empty()
    }
}

fn default_api_version() -> String {
    API_VERSION.to_owned()
}

fn default_kind() -> String {
    KIND.to_owned()
}

/// A `CertificateSigningRequest` of `certificates.k8s.io/v1`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSigningRequest {
    /// `certificates.k8s.io/v1`.
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// `CertificateSigningRequest`.
    #[serde(default = "default_kind")]
    pub kind: String,
    /// Name, version, timestamps.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// What is requested.
    #[serde(default)]
    pub spec: CertificateSigningRequestSpec,
    /// Conditions and the certificate (left out when empty, as in a manifest).
    #[serde(
        default,
        skip_serializing_if = "CertificateSigningRequestStatus::is_empty"
    )]
    pub status: CertificateSigningRequestStatus,
    /// Every other field, kept as read.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

impl Default for CertificateSigningRequest {
    fn default() -> Self {
        CertificateSigningRequest {
            api_version: default_api_version(),
            kind: default_kind(),
            metadata: ObjectMeta::default(),
            spec: CertificateSigningRequestSpec::default(),
            status: CertificateSigningRequestStatus::default(),
            unknown: BTreeMap::new(),
        }
    }
}

impl CertificateSigningRequest {
    /// A request named `name` for `request_pem` to `signer_name` with `usages`.
    pub fn new(name: &str, request_pem: &[u8], signer_name: &str, usages: &[&str]) -> Self {
        let mut csr = CertificateSigningRequest::default();
        csr.metadata.name = name.to_owned();
        csr.spec.request = Base64Bytes(request_pem.to_vec());
        csr.spec.signer_name = signer_name.to_owned();
        csr.spec.usages = usages.iter().map(|u| (*u).to_owned()).collect();
        csr
    }

    /// Reads one object from YAML or JSON (JSON is YAML). Text longer than
    /// [`MAX_OBJECT_BYTES`] is refused before parsing; text nested deeper than [`MAX_DEPTH`]
    /// is refused by the parser when it reaches that depth, in time linear in its length.
    ///
    /// # Errors
    /// [`ApiError::TooLarge`], [`ApiError::TooDeep`]; [`ApiError::Decode`] for text that is not
    /// a CertificateSigningRequest.
    pub fn from_yaml(text: &str) -> Result<Self, ApiError> {
        if text.len() > MAX_OBJECT_BYTES {
            return Err(ApiError::TooLarge {
                size: text.len(),
                max: MAX_OBJECT_BYTES,
            });
        }
        let csr: CertificateSigningRequest =
            serde_saphyr::from_str_with_options(text, read_options()).map_err(
                |e| match too_deep(&e) {
                    Some(depth) => ApiError::TooDeep {
                        depth,
                        max: MAX_DEPTH,
                    },
                    None => ApiError::Decode {
                        what: "CertificateSigningRequest".to_owned(),
                        reason: e.without_snippet().to_string(),
                    },
                },
            )?;
        if csr.kind != KIND || csr.api_version != API_VERSION {
            return Err(ApiError::Decode {
                what: "CertificateSigningRequest".to_owned(),
                reason: format!(
                    "expected apiVersion {API_VERSION} kind {KIND}, found apiVersion {} kind {}",
                    csr.api_version, csr.kind
                ),
            });
        }
        Ok(csr)
    }

    /// The object as YAML.
    pub fn to_yaml(&self) -> String {
        serde_saphyr::to_string_with_options(self, write_options()).unwrap_or_default()
    }

    /// The object as indented JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The condition of this type with status `True`, if any.
    pub fn condition(&self, type_: &str) -> Option<&CertificateSigningRequestCondition> {
        self.status
            .conditions
            .iter()
            .find(|c| c.type_ == type_ && c.status == "True")
    }

    /// Approved (and not denied).
    pub fn is_approved(&self) -> bool {
        self.condition(APPROVED).is_some() && self.condition(DENIED).is_none()
    }

    /// Denied.
    pub fn is_denied(&self) -> bool {
        self.condition(DENIED).is_some()
    }

    /// Failed.
    pub fn is_failed(&self) -> bool {
        self.condition(FAILED).is_some()
    }

    /// A certificate has been issued.
    pub fn is_issued(&self) -> bool {
        self.status
            .certificate
            .as_ref()
            .is_some_and(|c| !c.0.is_empty())
    }

    /// kubectl's CONDITION column: `Pending`, `Approved`, `Denied`, then `,Failed` and
    /// `,Issued`.
    pub fn condition_string(&self) -> String {
        let has = |t: &str| self.status.conditions.iter().any(|c| c.type_ == t);
        let mut s = if has(DENIED) {
            "Denied".to_owned()
        } else if has(APPROVED) {
            "Approved".to_owned()
        } else {
            "Pending".to_owned()
        };
        if has(FAILED) {
            s.push_str(",Failed");
        }
        if self.is_issued() {
            s.push_str(",Issued");
        }
        s
    }
}

/// How manifests and stored objects are read: nested at most [`MAX_DEPTH`] levels, checked by
/// the parser as it reads (so brackets inside quoted strings do not count), a repeated key
/// refused, an empty value read as an empty string (`signerName:` is then "Required", as
/// kube-apiserver says), and one-line messages without a snippet of the input.
fn read_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        null_as_string: true,
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            flow_nesting_limit: MAX_DEPTH,
        },
        with_snippet: false,
    }
}

/// The depth at which the parser stopped, when it stopped for depth: the budget's check on
/// every collection, or the scanner's on `[`/`{`, which it reads ahead of the budget while
/// looking for a key.
fn too_deep(error: &serde_saphyr::Error) -> Option<usize> {
    match error.without_snippet() {
        serde_saphyr::Error::Budget {
            breach: BudgetBreach::Depth { depth },
            ..
        } => Some(*depth),
        serde_saphyr::Error::ExternalMessage { source, .. } => match source.as_ref() {
            ExternalMessageSource::Parser(scan)
                if matches!(scan.kind(), ScanErrorKind::RecursionLimitExceeded) =>
            {
                Some(MAX_DEPTH + 1)
            }
            _ => None,
        },
        _ => None,
    }
}

/// How objects are written: plain or quoted scalars, never folded block scalars, as kubectl
/// writes them.
fn write_options() -> serde_saphyr::SerializerOptions {
    serde_saphyr::ser_options! { prefer_block_scalars: false }
}

/// A list of requests as `kubectl get -o yaml|json` prints it (`kind: List`). The fields are
/// in kubectl's (alphabetical) order, which serialization keeps.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSigningRequestList {
    /// `v1`.
    pub api_version: String,
    /// The items.
    pub items: Vec<CertificateSigningRequest>,
    /// `List`.
    pub kind: String,
    /// `resourceVersion: ""`.
    pub metadata: BTreeMap<String, Value>,
}

impl CertificateSigningRequestList {
    /// The list of `items`.
    pub fn new(items: Vec<CertificateSigningRequest>) -> Self {
        let mut metadata = BTreeMap::new();
        metadata.insert("resourceVersion".to_owned(), Value::String(String::new()));
        CertificateSigningRequestList {
            api_version: "v1".to_owned(),
            items,
            kind: "List".to_owned(),
            metadata,
        }
    }

    /// The list as YAML, each item as [`CertificateSigningRequest::to_yaml`] writes it.
    pub fn to_yaml(&self) -> String {
        serde_saphyr::to_string_with_options(self, write_options()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const YAML: &str = r#"apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata:
  name: myuser
  managedFields: [{manager: kubectl}]
spec:
  request: LS0tLS1CRUdJTg==
  signerName: kubernetes.io/kube-apiserver-client
  expirationSeconds: 86400  # one day
  usages:
  - client auth
  futureField: 1
status:
  conditions:
  - type: Approved
    status: "True"
    reason: KubectlApprove
    message: This CSR was approved by kubectl certificate approve.
    lastUpdateTime: "2026-11-24T00:00:00Z"
    lastTransitionTime: "2026-11-24T00:00:00Z"
"#;

    #[test]
    fn reads_and_keeps_unknown_fields() {
        let csr = CertificateSigningRequest::from_yaml(YAML).unwrap();
        assert_eq!(csr.spec.request.0, b"-----BEGIN");
        assert_eq!(csr.spec.expiration_seconds, Some(86_400));
        assert!(csr.metadata.unknown.contains_key("managedFields"));
        assert!(csr.spec.unknown.contains_key("futureField"));
        assert_eq!(csr.condition_string(), "Approved");
        let again = CertificateSigningRequest::from_yaml(&csr.to_yaml()).unwrap();
        assert_eq!(again, csr);
        let json: Value = serde_json::from_str(&csr.to_json()).unwrap();
        assert_eq!(json["spec"]["request"], "LS0tLS1CRUdJTg==");
        assert_eq!(json["spec"]["futureField"], 1);
        assert_eq!(json["status"]["conditions"][0]["type"], "Approved");
    }

    #[test]
    fn refuses_other_kinds_and_bad_base64() {
        let err = CertificateSigningRequest::from_yaml("apiVersion: v1\nkind: Pod\n").unwrap_err();
        assert!(matches!(err, ApiError::Decode { .. }), "{err}");
        let err = CertificateSigningRequest::from_yaml(
            "apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nspec: {request: '!!'}\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("illegal base64"), "{err}");
    }

    #[test]
    fn refuses_deep_nesting_before_parsing_in_bounded_time() {
        let start = std::time::Instant::now();
        // Flow style, as the issue's `a: [[[[...]]]]`, 1,000,000 levels (under 3 MiB).
        let deep = format!("a: {}{}\n", "[".repeat(1_000_000), "]".repeat(1_000_000));
        let err = CertificateSigningRequest::from_yaml(&deep).unwrap_err();
        assert!(
            matches!(err, ApiError::TooDeep { max: MAX_DEPTH, .. }),
            "{err}"
        );
        // JSON objects, and compact block sequences `- - - x`.
        let json = format!("{}{}", "{\"a\":".repeat(200_000), "}".repeat(200_000));
        assert!(matches!(
            CertificateSigningRequest::from_yaml(&json),
            Err(ApiError::TooDeep { .. })
        ));
        let block = format!("a:\n{}x\n", "- ".repeat(500_000));
        assert!(matches!(
            CertificateSigningRequest::from_yaml(&block),
            Err(ApiError::TooDeep { .. })
        ));
        // Indented block mappings.
        let indented: String = (0..200)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        assert!(matches!(
            CertificateSigningRequest::from_yaml(&indented),
            Err(ApiError::TooDeep { .. })
        ));
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        CertificateSigningRequest::from_yaml(YAML).unwrap();
    }

    /// Issue 24: brackets inside a quoted string are text, not nesting. Before, a pre-parse
    /// scan counted them and refused valid manifests, and refused the YAML kubepki wrote.
    #[test]
    fn brackets_in_quoted_strings_do_not_count_as_depth() {
        let braces = "{".repeat(150);
        let yaml = YAML.replace(
            "  name: myuser\n",
            &format!("  name: myuser\n  annotations:\n    note: \"{braces}\"\n"),
        );
        let csr = CertificateSigningRequest::from_yaml(&yaml).unwrap();
        assert_eq!(csr.metadata.annotations["note"], braces);
        let json = CertificateSigningRequest::from_yaml(&csr.to_json()).unwrap();
        assert_eq!(json, csr);
        let again = CertificateSigningRequest::from_yaml(&csr.to_yaml()).unwrap();
        assert_eq!(again, csr);
    }

    /// The `api_csr_object` fuzz crash: a JSON key of 130 `{`, read by serde_json as the
    /// store does, written as YAML, must read back.
    #[test]
    fn the_fuzzed_key_of_braces_writes_yaml_that_reads_back() {
        let text = include_str!("../../../fuzz/seeds/api_csr_object/key-of-130-braces.json");
        let csr: CertificateSigningRequest = serde_json::from_str(text).unwrap();
        let again = CertificateSigningRequest::from_yaml(&csr.to_yaml()).unwrap();
        assert_eq!(again, csr);
    }

    /// An object nested [`MAX_DEPTH`] levels deep is read, and the YAML written for it reads
    /// back; one level more is refused with the depth and the limit.
    #[test]
    fn every_depth_read_round_trips_through_yaml() {
        // The object itself is one level; its unknown field holds the rest.
        let levels = MAX_DEPTH - 1;
        let deep = format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
        let text =
            format!("{{\"apiVersion\":\"{API_VERSION}\",\"kind\":\"{KIND}\",\"deep\":{deep}}}");
        let csr = CertificateSigningRequest::from_yaml(&text).unwrap();
        let again = CertificateSigningRequest::from_yaml(&csr.to_yaml()).unwrap();
        assert_eq!(again, csr);
        let past = format!("a: {}1{}\n", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        let err = CertificateSigningRequest::from_yaml(&past).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "object nests {} levels deep, more than the limit of {MAX_DEPTH}",
                MAX_DEPTH + 1
            )
        );
    }

    #[test]
    fn refuses_oversized_text_before_parsing() {
        let big = format!(
            "apiVersion: certificates.k8s.io/v1\n#{}\n",
            "x".repeat(MAX_OBJECT_BYTES)
        );
        let err = CertificateSigningRequest::from_yaml(&big).unwrap_err();
        assert!(
            matches!(
                err,
                ApiError::TooLarge {
                    max: MAX_OBJECT_BYTES,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("3145728"), "{err}");
    }
}

#[cfg(test)]
mod list_yaml_tests {
    use super::*;

    /// What the CLI wrote by hand before: each item's own YAML as a sequence entry.
    fn by_hand(list: &CertificateSigningRequestList) -> String {
        let mut out = String::from("apiVersion: v1\nitems:\n");
        for item in &list.items {
            for (i, line) in item.to_yaml().lines().enumerate() {
                out.push_str(if i == 0 { "- " } else { "  " });
                out.push_str(line);
                out.push('\n');
            }
        }
        if list.items.is_empty() {
            out = String::from("apiVersion: v1\nitems: []\n");
        }
        out.push_str("kind: List\nmetadata:\n  resourceVersion: \"\"\n");
        out
    }

    #[test]
    fn the_list_is_the_items_yaml_in_a_list() {
        let csr = CertificateSigningRequest::from_yaml(tests::YAML).unwrap();
        for items in [vec![], vec![csr.clone()], vec![csr.clone(), csr]] {
            let list = CertificateSigningRequestList::new(items);
            assert_eq!(list.to_yaml(), by_hand(&list));
        }
    }
}
