//! What an approval policy concludes about a request: approve, or leave it Pending with a
//! reason from a small fixed set (the metrics' labels).

/// One approval policy, as the metrics name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Policy {
    /// `--approve kubelet-client`.
    KubeletClient,
    /// `--approve kubelet-serving`.
    KubeletServing,
}

impl Policy {
    /// The policy's word: `kubelet-client`, `kubelet-serving` (the `policy` label).
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::KubeletClient => "kubelet-client",
            Policy::KubeletServing => "kubelet-serving",
        }
    }
}

/// Why a policy left a request Pending: a small fixed set, the `reason` label of
/// `kubepki_approval_refusals_total` (never request data).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Refusal {
    /// Unreadable, or not a valid request for the policy's signer.
    InvalidRequest,
    /// The requester is not `system:node:<n>` in `system:nodes`.
    RequesterNotNode,
    /// The CN is not the requester.
    CommonNameMismatch,
    /// A DNS name that is never approved (the API server's or a Service's, `localhost`, a
    /// wildcard).
    ForbiddenDnsName,
    /// An IP address that is never approved (a service address, loopback, link-local,
    /// unspecified, multicast, broadcast), named or resolved to.
    ForbiddenIp,
    /// The Node does not exist.
    NodeNotFound,
    /// A name that is not an address of the Node.
    NotNodeAddress,
    /// An IP name while `--serving-ip-prefixes` is not set.
    IpPrefixesUnset,
    /// An IP name outside `--serving-ip-prefixes`.
    IpOutsidePrefixes,
    /// A DNS name that is not the node name, under a suffix, or a regex match.
    DnsNotAllowed,
    /// A DNS name that does not resolve (`--serving-resolve-dns`).
    DnsUnresolved,
    /// A DNS name that resolves outside `--serving-ip-prefixes`.
    DnsResolvesOutsidePrefixes,
    /// The SubjectAccessReview said no (kubelet-client).
    NotAuthorized,
}

impl Refusal {
    /// The `reason` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::InvalidRequest => "invalid_request",
            Refusal::RequesterNotNode => "requester_not_node",
            Refusal::CommonNameMismatch => "cn_mismatch",
            Refusal::ForbiddenDnsName => "forbidden_dns_name",
            Refusal::ForbiddenIp => "forbidden_ip",
            Refusal::NodeNotFound => "node_not_found",
            Refusal::NotNodeAddress => "not_node_address",
            Refusal::IpPrefixesUnset => "ip_prefixes_unset",
            Refusal::IpOutsidePrefixes => "ip_outside_prefixes",
            Refusal::DnsNotAllowed => "dns_not_allowed",
            Refusal::DnsUnresolved => "dns_unresolved",
            Refusal::DnsResolvesOutsidePrefixes => "dns_resolves_outside_prefixes",
            Refusal::NotAuthorized => "not_authorized",
        }
    }
}

/// What the approver concluded about one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not a request any enabled policy governs, or decided already: nothing to say.
    NotOurs,
    /// Approve, with this message on the `Approved` condition.
    Approve {
        /// The policy that approves.
        policy: Policy,
        /// The `Approved` condition's message.
        message: String,
    },
    /// Leave it Pending; the message goes to the log, the reason to the metrics.
    Leave {
        /// The policy that declined.
        policy: Policy,
        /// Why, as a metric label.
        reason: Refusal,
        /// Why, in a sentence.
        message: String,
    },
}
