//! The approval write: decide, write the `Approved` condition conditional on the
//! `resourceVersion` decided on, and on a conflict read the request again and decide again
//! on the fresh object (the whole verdict, not just the condition), stopping if the name now
//! holds another object.

use std::future::Future;
use std::time::SystemTime;

use kubepki_api::{CertificateSigningRequest, Decision, approve_automatically};

use crate::KubeError;
use crate::csrs::same_object;
use crate::verdict::{Policy, Refusal, Verdict};

/// How many decisions an approval gets before a conflict is reported.
pub(crate) const APPROVAL_ATTEMPTS: u32 = 5;

/// What the approval step needs from the cluster: a verdict, a fresh read and one write.
pub(crate) trait Approvals {
    /// The verdict on `csr`, as it is.
    fn verdict(
        &self,
        csr: &CertificateSigningRequest,
    ) -> impl Future<Output = Result<Verdict, KubeError>> + Send;
    /// The request named `name`, as stored now.
    fn read(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<CertificateSigningRequest, KubeError>> + Send;
    /// Writes `csr` through `/approval`, once, conditional on its `resourceVersion`.
    fn write(
        &self,
        csr: &CertificateSigningRequest,
    ) -> impl Future<Output = Result<CertificateSigningRequest, KubeError>> + Send;
}

/// What became of one request's approval; each carries the request as last known, for the
/// signing step.
#[derive(Debug)]
pub(crate) enum Approval {
    /// No enabled policy governs it, or it is decided already.
    NotOurs(CertificateSigningRequest),
    /// Approved, and written.
    Approved {
        stored: CertificateSigningRequest,
        policy: Policy,
        message: String,
    },
    /// Would have been approved (`--approve-dry-run`): nothing was written.
    WouldApprove {
        csr: CertificateSigningRequest,
        policy: Policy,
        message: String,
    },
    /// Left Pending.
    Left {
        csr: CertificateSigningRequest,
        policy: Policy,
        reason: Refusal,
        message: String,
    },
}

/// Decides on `csr` and, unless `dry_run`, writes the approval. A conflict re-reads the
/// request and decides again on the fresh object.
///
/// # Errors
/// [`KubeError::Replaced`] when the name now holds another object (it is reconciled on its
/// own); [`KubeError::Conflict`] after repeated conflicts; whatever the cluster says.
pub(crate) async fn approve(
    cluster: &impl Approvals,
    csr: CertificateSigningRequest,
    now: SystemTime,
    dry_run: bool,
) -> Result<Approval, KubeError> {
    let name = csr.metadata.name.clone();
    let evaluated = csr.clone();
    let mut current = csr;
    for _ in 0..APPROVAL_ATTEMPTS {
        let (policy, message) = match cluster.verdict(&current).await? {
            Verdict::NotOurs => return Ok(Approval::NotOurs(current)),
            Verdict::Leave {
                policy,
                reason,
                message,
            } => {
                return Ok(Approval::Left {
                    csr: current,
                    policy,
                    reason,
                    message,
                });
            }
            Verdict::Approve { policy, message } => (policy, message),
        };
        if dry_run {
            return Ok(Approval::WouldApprove {
                csr: current,
                policy,
                message,
            });
        }
        let mut edited = current.clone();
        if approve_automatically(&mut edited, &message, now) == Decision::Unchanged {
            return Ok(Approval::NotOurs(current));
        }
        match cluster.write(&edited).await {
            Ok(stored) => {
                return Ok(Approval::Approved {
                    stored,
                    policy,
                    message,
                });
            }
            Err(e) if e.is_conflict() => {
                let fresh = cluster.read(&name).await?;
                same_object(&evaluated, &fresh)?;
                current = fresh;
            }
            Err(e) => return Err(e),
        }
    }
    Err(KubeError::Conflict {
        action: format!("update approval of csr/{name}"),
        attempts: APPROVAL_ATTEMPTS,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// A cluster whose writes conflict `conflicts` times; each read returns the next of
    /// `fresh`; the verdict approves a request unless it is labelled `leave`.
    struct Fake {
        conflicts: Mutex<u32>,
        fresh: Mutex<Vec<CertificateSigningRequest>>,
        judged: Mutex<Vec<(String, Option<String>)>>,
        written: Mutex<Vec<CertificateSigningRequest>>,
    }

    impl Fake {
        fn new(conflicts: u32, fresh: Vec<CertificateSigningRequest>) -> Self {
            Fake {
                conflicts: Mutex::new(conflicts),
                fresh: Mutex::new(fresh),
                judged: Mutex::new(Vec::new()),
                written: Mutex::new(Vec::new()),
            }
        }
    }

    fn conflict() -> KubeError {
        KubeError::api(
            "update approval of csr/n1-serving",
            kube::Error::Api(
                kube::core::Status::failure("the object has been modified", "Conflict")
                    .with_code(409)
                    .boxed(),
            ),
        )
    }

    impl Approvals for Fake {
        async fn verdict(&self, csr: &CertificateSigningRequest) -> Result<Verdict, KubeError> {
            self.judged.lock().unwrap().push((
                csr.metadata.resource_version.clone().unwrap_or_default(),
                csr.metadata.labels.get("leave").cloned(),
            ));
            Ok(if csr.metadata.labels.contains_key("leave") {
                Verdict::Leave {
                    policy: Policy::KubeletServing,
                    reason: Refusal::NotNodeAddress,
                    message: "IP:10.96.0.1 is not an address of node n1".into(),
                }
            } else {
                Verdict::Approve {
                    policy: Policy::KubeletServing,
                    message: "ok".into(),
                }
            })
        }

        async fn read(&self, _: &str) -> Result<CertificateSigningRequest, KubeError> {
            Ok(self.fresh.lock().unwrap().remove(0))
        }

        async fn write(
            &self,
            csr: &CertificateSigningRequest,
        ) -> Result<CertificateSigningRequest, KubeError> {
            let mut left = self.conflicts.lock().unwrap();
            if *left > 0 {
                *left -= 1;
                return Err(conflict());
            }
            self.written.lock().unwrap().push(csr.clone());
            Ok(csr.clone())
        }
    }

    fn csr(uid: &str, version: &str) -> CertificateSigningRequest {
        let mut csr = CertificateSigningRequest::new(
            "n1-serving",
            b"-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n",
            kubepki_api::KUBELET_SERVING,
            &["digital signature", "server auth"],
        );
        csr.metadata.uid = Some(uid.to_owned());
        csr.metadata.resource_version = Some(version.to_owned());
        csr
    }

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000)
    }

    #[tokio::test]
    async fn a_conflict_decides_again_on_the_fresh_object() {
        // The node changed what it asks for between the read and the write: the fresh
        // object is judged again, and left Pending.
        let mut changed = csr("uid-a", "2");
        changed.metadata.labels.insert("leave".into(), "yes".into());
        let fake = Fake::new(1, vec![changed]);
        match approve(&fake, csr("uid-a", "1"), now(), false)
            .await
            .unwrap()
        {
            Approval::Left {
                reason, message, ..
            } => {
                assert_eq!(reason, Refusal::NotNodeAddress);
                assert_eq!(message, "IP:10.96.0.1 is not an address of node n1");
            }
            other => panic!("expected Left, got {other:?}"),
        }
        let judged = fake.judged.lock().unwrap().clone();
        assert_eq!(
            judged,
            [
                ("1".to_owned(), None),
                ("2".to_owned(), Some("yes".to_owned()))
            ]
        );
        assert!(fake.written.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_conflict_then_a_fresh_approval_is_written_on_the_fresh_object() {
        let fake = Fake::new(1, vec![csr("uid-a", "2")]);
        match approve(&fake, csr("uid-a", "1"), now(), false)
            .await
            .unwrap()
        {
            Approval::Approved { stored, policy, .. } => {
                assert_eq!(policy, Policy::KubeletServing);
                assert_eq!(stored.metadata.resource_version.as_deref(), Some("2"));
                assert!(stored.is_approved());
            }
            other => panic!("expected Approved, got {other:?}"),
        }
        assert_eq!(fake.judged.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_replaced_object_is_never_written() {
        // Deleted and created again under the same name between the read and the write.
        let fake = Fake::new(1, vec![csr("uid-b", "7")]);
        match approve(&fake, csr("uid-a", "1"), now(), false).await {
            Err(KubeError::Replaced {
                evaluated, found, ..
            }) => assert_eq!((evaluated.as_str(), found.as_str()), ("uid-a", "uid-b")),
            other => panic!("expected Replaced, got {other:?}"),
        }
        assert_eq!(fake.judged.lock().unwrap().len(), 1);
        assert!(fake.written.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn endless_conflicts_end_in_a_conflict_error() {
        let fresh = (0..APPROVAL_ATTEMPTS).map(|_| csr("uid-a", "2")).collect();
        let fake = Fake::new(u32::MAX, fresh);
        match approve(&fake, csr("uid-a", "1"), now(), false).await {
            Err(e @ KubeError::Conflict { .. }) => assert_eq!(
                e.to_string(),
                "update approval of csr/n1-serving: still conflicting after 5 fresh reads"
            ),
            other => panic!("expected Conflict, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_dry_run_decides_but_never_writes() {
        let fake = Fake::new(0, Vec::new());
        match approve(&fake, csr("uid-a", "1"), now(), true)
            .await
            .unwrap()
        {
            Approval::WouldApprove { csr, policy, .. } => {
                assert_eq!(policy, Policy::KubeletServing);
                assert!(!csr.is_approved());
            }
            other => panic!("expected WouldApprove, got {other:?}"),
        }
        assert!(fake.written.lock().unwrap().is_empty());
    }
}
