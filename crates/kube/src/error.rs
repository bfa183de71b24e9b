//! The crate's one error type.

/// What went wrong talking to the cluster or acting on a request.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// No kubeconfig could be read or inferred.
    #[error("kubeconfig {path}: {source}")]
    Kubeconfig {
        /// The file, or `$KUBECONFIG / ~/.kube/config / in-cluster` when inferred.
        path: String,
        /// Why it could not be used.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The API server answered with an error (or could not be reached).
    #[error("{action}: {source}")]
    Api {
        /// What we were doing, e.g. `update status of csr/node-csr-1`.
        action: String,
        /// The client's error.
        source: kube::Error,
    },
    /// The `kube-public/cluster-info` ConfigMap's kubeconfig does not read.
    #[error("configmap kube-public/cluster-info: {reason}")]
    ClusterInfo {
        /// What is wrong with it.
        reason: String,
    },
    /// An object could not be converted between the API's JSON and kubepki's types.
    #[error("{what}: {source}")]
    Convert {
        /// The object.
        what: String,
        /// The decoding error.
        source: serde_json::Error,
    },
    /// The request itself (signing, validation) failed.
    #[error(transparent)]
    Request(#[from] kubepki_api::ApiError),
    /// A write kept meeting a newer resourceVersion.
    #[error("{action}: still conflicting after {attempts} fresh reads")]
    Conflict {
        /// What we were doing.
        action: String,
        /// How many times it was tried.
        attempts: u32,
    },
    /// The object was deleted and created again under the same name between the read that
    /// was decided on and the write: the write is not made (the new object is reconciled on
    /// its own).
    #[error("csr/{name} was replaced: decided on uid {evaluated}, found uid {found}")]
    Replaced {
        /// The request's name.
        name: String,
        /// The UID of the object that was decided on (`<none>` when it had none).
        evaluated: String,
        /// The UID of the object found now (`<none>` when it has none).
        found: String,
    },
    /// A CIDR prefix flag that does not parse.
    #[error("{flag} {value:?}: {source}")]
    Prefix {
        /// The flag, e.g. `--serving-ip-prefixes`.
        flag: &'static str,
        /// The prefix at fault.
        value: String,
        /// The parser's error.
        source: ipnet::AddrParseError,
    },
    /// A DNS name flag that is not a DNS name.
    #[error("{flag} {value:?}: not a DNS name (letters, digits, '-' and '.')")]
    DnsName {
        /// The flag, e.g. `--serving-dns-suffix`.
        flag: &'static str,
        /// The value at fault.
        value: String,
    },
    /// `--serving-dns-regex` that does not compile.
    #[error("--serving-dns-regex {value:?}: {}", one_line(source))]
    Regex {
        /// The pattern at fault.
        value: String,
        /// The compiler's error.
        source: Box<regex::Error>,
    },
    /// This replica held the leader lease and could not renew it in time: it stops at once,
    /// as kube-controller-manager does, so that two replicas never sign at the same time.
    #[error("leader lease {lease} lost: {why}")]
    LeaseLost {
        /// `namespace/name` of the Lease.
        lease: String,
        /// Why it was lost.
        why: String,
    },
    /// A call to the API server did not answer in time (renewing the leader lease).
    #[error("{action}: no answer within {after:?}")]
    Timeout {
        /// What we were doing.
        action: String,
        /// How long we waited.
        after: std::time::Duration,
    },
    /// Signing a request panicked, or its task on the blocking pool was cancelled.
    #[error("signing csr/{name} stopped: {reason}")]
    SigningAborted {
        /// The request's name.
        name: String,
        /// How it stopped: the panic's message, or the task's end.
        reason: String,
    },
    /// Handling a request panicked outside signing (which is
    /// [`KubeError::SigningAborted`]); the handler goes on with the next request.
    #[error("handling csr/{name} stopped: {reason}")]
    HandlerPanicked {
        /// The request's name.
        name: String,
        /// The panic's message.
        reason: String,
    },
    /// The metrics and health endpoint could not listen.
    #[error("metrics address {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// The socket error.
        source: std::io::Error,
    },
}

/// The regex compiler's message without its multi-line diagram: its last line.
fn one_line(error: &regex::Error) -> String {
    let text = error.to_string();
    let last = text.lines().last().unwrap_or_default().trim();
    last.strip_prefix("error: ").unwrap_or(last).to_owned()
}

impl KubeError {
    pub(crate) fn api(action: impl Into<String>, source: kube::Error) -> Self {
        KubeError::Api {
            action: action.into(),
            source,
        }
    }

    /// Whether the API server refused the write because the object changed (HTTP 409).
    pub fn is_conflict(&self) -> bool {
        matches!(self, KubeError::Api { source: kube::Error::Api(status), .. } if status.code == 409)
    }

    /// Whether retrying soon cannot help: the same request meets the same error until an
    /// operator acts (an expired CA, a key that will not sign, a request the API server
    /// rejects or a permission it lacks, an object that does not decode). Such errors back
    /// off longer and are reported as errors; the others (the API server away, a timeout, a
    /// conflict storm) are retried sooner.
    pub fn is_permanent(&self) -> bool {
        match self {
            KubeError::Api {
                source: kube::Error::Api(status),
                ..
            } => matches!(status.code, 400 | 403 | 422),
            KubeError::Request(_)
            | KubeError::Convert { .. }
            | KubeError::SigningAborted { .. }
            | KubeError::HandlerPanicked { .. } => true,
            _ => false,
        }
    }

    /// Why a request's handling failed, as a metric label: a small fixed set of words, never
    /// request data.
    pub fn reason(&self) -> &'static str {
        match self {
            KubeError::Request(kubepki_api::ApiError::SignerExpired { .. }) => "signer_expired",
            KubeError::Request(kubepki_api::ApiError::Sign(_)) => "signing_failed",
            KubeError::Request(_) => "invalid_request",
            KubeError::SigningAborted { .. } => "signing_aborted",
            KubeError::HandlerPanicked { .. } => "handler_panicked",
            KubeError::Convert { .. } => "undecodable_object",
            KubeError::Api {
                source: kube::Error::Api(status),
                ..
            } => match status.code {
                403 => "forbidden",
                400 | 422 => "rejected",
                409 => "conflict",
                _ => "api_error",
            },
            KubeError::Api { .. } => "api_unreachable",
            KubeError::Conflict { .. } => "conflict",
            KubeError::Replaced { .. } => "replaced",
            KubeError::Timeout { .. } => "timeout",
            _ => "other",
        }
    }

    /// Whether the object does not exist (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, KubeError::Api { source: kube::Error::Api(status), .. } if status.code == 404)
    }
}
