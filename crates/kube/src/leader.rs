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
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LeaseConfig {
        &self.config
    }

    /// Waits until this replica holds the lease.
    ///
    /// # Errors
    /// None in practice: API errors are retried every retry period (and logged).
    pub async fn acquire(&mut self) -> Result<(), KubeError> {
        loop {
            match self.try_acquire_or_renew().await {
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

    /// Renews the lease every retry period while this replica holds it; returns when it is
    /// lost (another holder, or no successful renewal within the renew deadline).
    pub async fn hold(&mut self) -> KubeError {
        let mut last_renewal = Instant::now();
        loop {
            tokio::time::sleep(self.config.retry_period).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => last_renewal = Instant::now(),
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
            if last_renewal.elapsed() >= self.config.renew_deadline {
                return KubeError::LeaseLost {
                    lease: self.config.describe(),
                    why: format!(
                        "not renewed within the {}s renew deadline",
                        self.config.renew_deadline.as_secs()
                    ),
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
