//! The embedded store's controllers, one request at a time, as kube-controller-manager runs
//! them: the kubelet client auto-approver (`csrapproving`), the signing controller
//! (`csrsigning`) and the cleaner (`csrcleaner`). Each step writes through the store's
//! conditional update, so a request changed in between is decided again on what is stored.

use std::time::SystemTime;

use crate::ApiError;
use crate::approval::{Decision, auto_approve};
use crate::controller::{SignOutcome, SigningController, cleanup_reason};
use crate::server::update_request;
use crate::store::CsrStore;

/// The store's controllers and which of them run.
#[derive(Clone, Debug)]
pub struct StoreController {
    signing: SigningController,
    auto_approve: bool,
    clean: bool,
}

/// What [`StoreController::reconcile`] did to one request, step by step. A step that fails
/// does not stop the next ones (one object's trouble must not stall its signing or cleaning);
/// a request found gone ends the reconcile, with nothing done.
#[derive(Debug)]
pub struct Reconciliation {
    /// The auto-approver's decision ([`Decision::Unchanged`] when it is off).
    pub approval: Result<Decision, ApiError>,
    /// The signing controller's outcome.
    pub signing: Result<SignOutcome, ApiError>,
    /// Why the cleaner removed the request, if it did (`None` when it is off).
    pub removal: Result<Option<&'static str>, ApiError>,
}

impl Reconciliation {
    fn gone() -> Self {
        Reconciliation {
            approval: Ok(Decision::Unchanged),
            signing: Ok(SignOutcome::Skipped),
            removal: Ok(None),
        }
    }
}

/// A store step's result with "the request is gone" told apart: `None` then.
fn unless_gone<T>(result: Result<T, ApiError>) -> Option<Result<T, ApiError>> {
    match result {
        Err(ApiError::NotFound { .. }) => None,
        other => Some(other),
    }
}

impl StoreController {
    /// kube-controller-manager's defaults: the signing controller `signing`, the kubelet
    /// client auto-approver and the cleaner.
    pub fn new(signing: SigningController) -> Self {
        StoreController {
            signing,
            auto_approve: true,
            clean: true,
        }
    }

    /// Without the auto-approver: every request waits for `kubectl certificate approve`.
    pub fn without_auto_approval(mut self) -> Self {
        self.auto_approve = false;
        self
    }

    /// Without the cleaner: decided and old pending requests stay in the store.
    pub fn without_cleaner(mut self) -> Self {
        self.clean = false;
        self
    }

    /// Auto-approves, signs and cleans the request `name` of `store` at `now`.
    pub fn reconcile(&self, store: &dyn CsrStore, name: &str, now: SystemTime) -> Reconciliation {
        let approval = if self.auto_approve {
            let approved = update_request(store, name, |csr| {
                let decision = auto_approve(csr, now)?;
                Ok((decision == Decision::Changed, decision))
            });
            match unless_gone(approved) {
                Some(approved) => approved.map(|(_, decision)| decision),
                None => return Reconciliation::gone(),
            }
        } else {
            Ok(Decision::Unchanged)
        };
        let signed = update_request(store, name, |csr| {
            let outcome = self.signing.sign(csr, now)?;
            Ok((outcome != SignOutcome::Skipped, outcome))
        });
        let Some(signed) = unless_gone(signed) else {
            return Reconciliation {
                approval,
                ..Reconciliation::gone()
            };
        };
        let removal = if self.clean {
            self.clean(store, name, now)
        } else {
            Ok(None)
        };
        Reconciliation {
            approval,
            signing: signed.map(|(_, outcome)| outcome),
            removal,
        }
    }

    /// The cleaner's step: removes `name` when [`cleanup_reason`] gives a reason.
    fn clean(
        &self,
        store: &dyn CsrStore,
        name: &str,
        now: SystemTime,
    ) -> Result<Option<&'static str>, ApiError> {
        let current = match store.get(name) {
            Ok(csr) => csr,
            Err(ApiError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(why) = cleanup_reason(&current, now) else {
            return Ok(None);
        };
        match store.delete(name) {
            Ok(()) | Err(ApiError::NotFound { .. }) => Ok(Some(why)),
            Err(e) => Err(e),
        }
    }
}
