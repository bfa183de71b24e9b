//! Leader election on a `coordination.k8s.io/v1` Lease, with client-go's rules (the ones
//! kube-controller-manager runs): a candidate takes a Lease whose record has not changed for
//! a whole lease duration (measured on its own clock, so that clock skew between replicas does
//! not matter), the leader renews it every retry period, and a leader that cannot renew
//! before the renew deadline stops. Every write is conditional on the Lease's
//! `resourceVersion`, so two candidates can never both win.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::PostParams;
use tokio::time::Instant;

use crate::KubeError;

/// Where the lease is and how it is timed. The defaults are kube-controller-manager's:
/// `--leader-elect-lease-duration=15s`, `--leader-elect-renew-deadline=10s`,
/// `--leader-elect-retry-period=2s`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseConfig {
    /// The Lease's namespace (`--leader-elect-resource-namespace`).
    pub namespace: String,
    /// The Lease's name (`--leader-elect-resource-name`).
    pub name: String,
    /// This replica's identity: unique per process (host name and a random suffix).
    pub identity: String,
    /// How long a record that stopped changing keeps its holder.
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up.
    pub renew_deadline: Duration,
    /// How often candidates try and the leader renews.
    pub retry_period: Duration,
}

impl LeaseConfig {
    /// kube-controller-manager's timings for `namespace/name`, held as `identity`.
    pub fn new(namespace: &str, name: &str, identity: &str) -> Self {
        LeaseConfig {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            identity: identity.to_owned(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }

    fn describe(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// The holder and times of the Lease as last read, and when this replica saw it change.
#[derive(Debug)]
struct Observed {
    holder: String,
    renew_time: Option<Timestamp>,
    transitions: i32,
    seen_at: Instant,
}

/// One replica's view of the election.
#[derive(Debug)]
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaseConfig,
    observed: Option<Observed>,
    /// When the last successful acquire or renew was sent: the Lease's record may have
    /// changed from then on, so the other replicas' lease duration runs from no earlier.
    renewed_at: Option<Instant>,
}

fn seconds(d: Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
}

impl LeaderElector {
    /// An elector for `config` on the cluster of `client`.
    pub fn new(client: kube::Client, config: LeaseConfig) -> Self {
        LeaderElector {
            api: Api::namespaced(client, &config.namespace),
            config,
            observed: None,
            renewed_at: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LeaseConfig {
        &self.config
    }

    /// Waits until this replica holds the lease.
    ///
    /// # Errors
    /// None in practice: API errors (and calls that do not answer in time) are retried every
    /// retry period (and logged).
    pub async fn acquire(&mut self) -> Result<(), KubeError> {
        loop {
            match self.attempt(None).await {
                Ok(true) => {
                    tracing::info!(lease = %self.config.describe(), identity = %self.config.identity, "acquired the leader lease");
                    return Ok(());
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(lease = %self.config.describe(), error = %e, "leader election")
                }
            }
            tokio::time::sleep(self.config.retry_period).await;
        }
    }

    /// The renew deadline in force: the configured one, kept below the lease duration (at
    /// two thirds of it, kube-controller-manager's ratio, when it is not), since a leader
    /// that stops later than a lease duration after its last renewal may sign while another
    /// replica has already taken over.
    fn renew_deadline(&self) -> Duration {
        if self.config.renew_deadline < self.config.lease_duration {
            self.config.renew_deadline
        } else {
            self.config.lease_duration * 2 / 3
        }
    }

    /// One acquire-or-renew, bounded: it gives up at `deadline`, and after half the renew
    /// deadline in any case, so that a call that never answers leaves time for another.
    async fn attempt(&mut self, deadline: Option<Instant>) -> Result<bool, KubeError> {
        let started = Instant::now();
        let mut until = started + self.renew_deadline() / 2;
        if let Some(deadline) = deadline {
            until = until.min(deadline);
        }
        match tokio::time::timeout_at(until, self.try_acquire_or_renew()).await {
            Ok(Ok(true)) => {
                self.renewed_at = Some(started);
                Ok(true)
            }
            Ok(other) => other,
            Err(_) => Err(KubeError::Timeout {
                action: format!("acquire or renew lease {}", self.config.describe()),
                after: until.saturating_duration_since(started),
            }),
        }
    }

    /// Renews the lease every retry period while this replica holds it; returns when it is
    /// lost: another holder, or no successful renewal within the renew deadline of the last
    /// one (every call to the API server is bounded by that deadline, so a stalled one
    /// cannot keep this replica leading past it).
    pub async fn hold(&mut self) -> KubeError {
        let span = self.renew_deadline();
        let mut last = self.renewed_at.unwrap_or_else(Instant::now);
        loop {
            let deadline = last + span;
            tokio::time::sleep_until((Instant::now() + self.config.retry_period).min(deadline))
                .await;
            if Instant::now() < deadline {
                match self.attempt(Some(deadline)).await {
                    Ok(true) => {
                        last = self.renewed_at.unwrap_or(last);
                        continue;
                    }
                    Ok(false) => {
                        return KubeError::LeaseLost {
                            lease: self.config.describe(),
                            why: format!(
                                "now held by {}",
                                self.observed.as_ref().map_or("?", |o| o.holder.as_str())
                            ),
                        };
                    }
                    Err(e) => {
                        tracing::warn!(lease = %self.config.describe(), error = %e, "renewing the leader lease")
                    }
                }
            }
            if Instant::now() >= deadline {
                return KubeError::LeaseLost {
                    lease: self.config.describe(),
                    why: format!("not renewed within the {span:?} renew deadline"),
                };
            }
        }
    }

    /// Gives the lease up (on a graceful shutdown), as client-go's `ReleaseOnCancel`: the
    /// holder is cleared and the duration set to one second, so the next replica need not
    /// wait a whole lease duration.
    ///
    /// # Errors
    /// [`KubeError::Api`] when the Lease cannot be written.
    pub async fn release(&mut self) -> Result<(), KubeError> {
        let action = format!("release lease {}", self.config.describe());
        let Some(mut lease) = self
            .api
            .get_opt(&self.config.name)
            .await
            .map_err(|e| KubeError::api(action.clone(), e))?
        else {
            return Ok(());
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        self.api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
            .map_err(|e| KubeError::api(action, e))?;
        Ok(())
    }

    /// One round of client-go's `tryAcquireOrRenew`: whether this replica holds the lease
    /// after it.
    async fn try_acquire_or_renew(&mut self) -> Result<bool, KubeError> {
        let action = format!("lease {}", self.config.describe());
        let now = MicroTime(Timestamp::now());
        let me = self.config.identity.clone();
        let existing = self
            .api
            .get_opt(&self.config.name)
            .await
            .map_err(|e| KubeError::api(action.clone(), e))?;
        let Some(mut lease) = existing else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(me.clone()),
                    lease_duration_seconds: Some(seconds(self.config.lease_duration)),
                    acquire_time: Some(now.clone()),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(created) => {
                    self.observe(&created);
                    Ok(true)
                }
                // Another candidate created it first.
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
                Err(e) => Err(KubeError::api(action, e)),
            };
        };
        self.observe(&lease);
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let duration = Duration::from_secs(
            u64::try_from(spec.lease_duration_seconds.unwrap_or(0)).unwrap_or(0),
        );
        let held_by_other = !holder.is_empty() && holder != me;
        let still_valid = self
            .observed
            .as_ref()
            .is_some_and(|o| o.seen_at.elapsed() < duration);
        if held_by_other && still_valid {
            return Ok(false);
        }
        if holder != me {
            spec.acquire_time = Some(now.clone());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        spec.holder_identity = Some(me);
        spec.lease_duration_seconds = Some(seconds(self.config.lease_duration));
        spec.renew_time = Some(now);
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(stored) => {
                self.observe(&stored);
                Ok(true)
            }
            // Someone else wrote it since we read it: they renewed or won.
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(e) => Err(KubeError::api(action, e)),
        }
    }

    /// Records the Lease's record, resetting the observation time when it changed.
    fn observe(&mut self, lease: &Lease) {
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.unwrap_or_default();
        let renew_time = spec.renew_time.map(|t| t.0);
        let transitions = spec.lease_transitions.unwrap_or(0);
        let unchanged = self.observed.as_ref().is_some_and(|o| {
            o.holder == holder && o.renew_time == renew_time && o.transitions == transitions
        });
        if !unchanged {
            self.observed = Some(Observed {
                holder,
                renew_time,
                transitions,
                seen_at: Instant::now(),
            });
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::fake_api::FakeApi;
    use crate::mock_api::mock_client;

    /// Short timings: lease 3 s, renew deadline 1 s, retry 200 ms.
    pub(crate) fn short(identity: &str) -> LeaseConfig {
        LeaseConfig {
            lease_duration: Duration::from_secs(3),
            renew_deadline: Duration::from_secs(1),
            retry_period: Duration::from_millis(200),
            ..LeaseConfig::new("kube-system", "kubepki", identity)
        }
    }

    #[tokio::test]
    async fn a_stalled_renewal_loses_the_lease_within_the_renew_deadline() {
        let api = FakeApi::start().await;
        let mut elector = LeaderElector::new(api.client(), short("a"));
        tokio::time::timeout(Duration::from_secs(5), elector.acquire())
            .await
            .expect("acquired in time")
            .unwrap();
        // While the server answers, the lease is kept.
        let kept = tokio::time::timeout(Duration::from_millis(700), elector.hold()).await;
        assert!(kept.is_err(), "lost while renewals succeed: {kept:?}");
        api.stall();
        let stalled = Instant::now();
        let lost = tokio::time::timeout(Duration::from_secs(5), elector.hold())
            .await
            .expect("hold() still waiting on a call that never answers");
        let took = stalled.elapsed();
        assert!(
            matches!(lost, KubeError::LeaseLost { ref why, .. } if why.contains("renew deadline")),
            "{lost}"
        );
        // The last renewal was before the stall: the loss comes at most a renew deadline
        // after it (and so well before the 3 s lease could pass to another replica).
        assert!(took <= Duration::from_millis(1500), "lost after {took:?}");
    }

    #[tokio::test]
    async fn another_holder_ends_the_hold() {
        let api = FakeApi::start().await;
        let mut a = LeaderElector::new(api.client(), short("a"));
        a.acquire().await.unwrap();
        // b takes over (as if a's lease had run out) by writing the record itself.
        let b = LeaderElector::new(api.client(), short("b"));
        let mut lease = b.api.get(&b.config.name).await.unwrap();
        if let Some(spec) = lease.spec.as_mut() {
            spec.holder_identity = Some("b".to_owned());
        }
        b.api
            .replace(&b.config.name, &PostParams::default(), &lease)
            .await
            .unwrap();
        let lost = tokio::time::timeout(Duration::from_secs(2), a.hold())
            .await
            .unwrap();
        assert!(
            matches!(lost, KubeError::LeaseLost { ref why, .. } if why == "now held by b"),
            "{lost}"
        );
    }

    const LEASE_PATH: &str = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kubepki";

    /// The Lease as the API server would return it, held by `holder`.
    fn lease(holder: &str, renewed: &str, transitions: i32, version: &str) -> serde_json::Value {
        serde_json::json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "kubepki", "namespace": "kube-system", "resourceVersion": version},
            "spec": {
                "holderIdentity": holder, "leaseDurationSeconds": 3,
                "acquireTime": "2027-01-15T08:00:00.000000Z", "renewTime": renewed,
                "leaseTransitions": transitions,
            },
        })
    }

    #[tokio::test]
    async fn a_candidate_creates_a_missing_lease_and_leads() {
        let (client, mut api) = mock_client();
        let mut elector = LeaderElector::new(client, short("a"));
        let server = async {
            let get = api.next().await;
            assert_eq!(
                (get.method.as_str(), get.path.as_str()),
                ("GET", LEASE_PATH)
            );
            get.fail(http::StatusCode::NOT_FOUND, "NotFound");
            let create = api.next().await;
            assert_eq!(create.method, http::Method::POST);
            assert_eq!(
                create.path,
                "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"
            );
            let spec = create.body["spec"].clone();
            assert_eq!(spec["holderIdentity"], "a");
            assert_eq!(spec["leaseDurationSeconds"], 3);
            assert_eq!(spec["leaseTransitions"], 0);
            create.echo();
        };
        let (won, ()) = tokio::join!(elector.try_acquire_or_renew(), server);
        assert!(won.unwrap());
        assert_eq!(elector.observed.as_ref().unwrap().holder, "a");
    }

    #[tokio::test]
    async fn a_lease_created_first_by_another_candidate_is_not_won() {
        let (client, mut api) = mock_client();
        let mut elector = LeaderElector::new(client, short("a"));
        let server = async {
            api.next()
                .await
                .fail(http::StatusCode::NOT_FOUND, "NotFound");
            api.next()
                .await
                .fail(http::StatusCode::CONFLICT, "AlreadyExists");
        };
        let (won, ()) = tokio::join!(elector.try_acquire_or_renew(), server);
        assert!(!won.unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn a_lease_is_taken_over_only_after_its_record_stood_still_a_whole_lease_duration() {
        let (client, mut api) = mock_client();
        let mut elector = LeaderElector::new(client, short("a"));
        let held = lease("b", "2027-01-15T08:00:00.000000Z", 4, "7");
        // Held by b and just seen: not ours, and nothing is written.
        let server = async { api.next().await.answer(http::StatusCode::OK, &held) };
        let (won, ()) = tokio::join!(elector.try_acquire_or_renew(), server);
        assert!(!won.unwrap());
        // b renews (the record changes): the lease duration starts over.
        tokio::time::advance(Duration::from_secs(2)).await;
        let renewed = lease("b", "2027-01-15T08:00:02.000000Z", 4, "8");
        let server = async { api.next().await.answer(http::StatusCode::OK, &renewed) };
        let (won, ()) = tokio::join!(elector.try_acquire_or_renew(), server);
        assert!(!won.unwrap());
        // 2 s more: 4 s since the first sight, but only 2 s since the record changed.
        tokio::time::advance(Duration::from_secs(2)).await;
        let server = async { api.next().await.answer(http::StatusCode::OK, &renewed) };
        let (won, ()) = tokio::join!(elector.try_acquire_or_renew(), server);
        assert!(!won.unwrap());
        // Past the 3 s lease duration with the record unchanged: a takes over, counting a
        // transition, conditional on the version it read.
        tokio::time::advance(Duration::from_millis(1100)).await;
        let server = async {
            api.next().await.answer(http::StatusCode::OK, &renewed);
            let put = api.next().await;
            assert_eq!(
                (put.method.as_str(), put.path.as_str()),
                ("PUT", LEASE_PATH)
            );
            assert_eq!(put.body["metadata"]["resourceVersion"], "8");
            assert_eq!(put.body["spec"]["holderIdentity"], "a");
            assert_eq!(put.body["spec"]["leaseTransitions"], 5);
            put.echo();
        };
        let (won, ()) = tokio::join!(elector.try_acquire_or_renew(), server);
        assert!(won.unwrap());
    }

    #[tokio::test]
    async fn a_write_that_conflicts_means_another_replica_renewed_or_won() {
        let (client, mut api) = mock_client();
        let mut elector = LeaderElector::new(client, short("a"));
        let mine = lease("a", "2027-01-15T08:00:00.000000Z", 0, "3");
        let server = async {
            api.next().await.answer(http::StatusCode::OK, &mine);
            let put = api.next().await;
            assert_eq!(put.method, http::Method::PUT);
            put.fail(http::StatusCode::CONFLICT, "Conflict");
        };
        let (won, ()) = tokio::join!(elector.try_acquire_or_renew(), server);
        assert!(!won.unwrap());
    }

    #[tokio::test]
    async fn releasing_clears_the_holder_and_shortens_the_lease_to_a_second() {
        let (client, mut api) = mock_client();
        let mut elector = LeaderElector::new(client, short("a"));
        let mine = lease("a", "2027-01-15T08:00:00.000000Z", 0, "3");
        let server = async {
            api.next().await.answer(http::StatusCode::OK, &mine);
            let put = api.next().await;
            assert_eq!(put.method, http::Method::PUT);
            assert!(put.body["spec"]["holderIdentity"].is_null(), "{}", put.body);
            assert_eq!(put.body["spec"]["leaseDurationSeconds"], 1);
            put.echo();
        };
        let (released, ()) = tokio::join!(elector.release(), server);
        released.unwrap();
    }

    #[tokio::test]
    async fn a_renew_deadline_past_the_lease_duration_is_kept_within_it() {
        let api = FakeApi::start().await;
        let config = LeaseConfig {
            renew_deadline: Duration::from_secs(20),
            ..LeaseConfig::new("kube-system", "kubepki", "a")
        };
        let elector = LeaderElector::new(api.client(), config);
        assert_eq!(elector.renew_deadline(), Duration::from_secs(10));
        let elector = LeaderElector::new(api.client(), short("a"));
        assert_eq!(elector.renew_deadline(), Duration::from_secs(1));
    }
}
