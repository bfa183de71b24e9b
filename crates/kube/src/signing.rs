//! Signing a request off the async workers, timed.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use kubepki_api::{SignOutcome, SigningController};
use tokio::runtime::{Handle, RuntimeFlavor};

use crate::KubeError;

/// How long one request's signing took: the checks and the signature, and in all (the hand-off
/// of the worker's other tasks included).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SignTimes {
    /// The checks and the signature.
    pub(crate) signing: Duration,
    /// From the call to its end.
    pub(crate) total: Duration,
}

/// Signs `csr` at `now` off the async workers: an RSA-4096 signature or an HSM round trip
/// would otherwise hold up every other request, the watch and the lease's renewals on that
/// worker. On a multi-threaded runtime (the controller's) the worker hands its other tasks to
/// another worker and signs in place (`block_in_place`), which saves the trip to tokio's
/// blocking pool and back; on a current-thread runtime (some tests) it signs on the blocking
/// pool. Returns the signed (or failed) request with the outcome and how long checking and
/// signing took ([`SignTimes`]); `None` when there was nothing to do.
///
/// # Errors
/// [`KubeError::Request`] when signing fails; [`KubeError::SigningAborted`] when signing
/// panicked.
pub(crate) async fn sign_blocking(
    signing: Arc<SigningController>,
    mut csr: kubepki_api::CertificateSigningRequest,
    now: SystemTime,
) -> Result<
    Option<(
        kubepki_api::CertificateSigningRequest,
        (SignOutcome, SignTimes),
    )>,
    KubeError,
> {
    let name = csr.metadata.name.clone();
    let asked = Instant::now();
    let sign = move || {
        let started = Instant::now();
        match signing.sign(&mut csr, now)? {
            SignOutcome::Skipped => Ok::<_, KubeError>(None),
            outcome => Ok(Some((csr, (outcome, started.elapsed())))),
        }
    };
    let aborted = |reason: String| KubeError::SigningAborted {
        name: name.clone(),
        reason,
    };
    let signed = match Handle::current().runtime_flavor() {
        RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| catch_unwind(AssertUnwindSafe(sign)))
                .map_err(|panic| aborted(panic_reason(panic.as_ref())))?
        }
        _ => tokio::task::spawn_blocking(sign)
            .await
            .map_err(|end| aborted(end.to_string()))?,
    }?;
    Ok(signed.map(|(csr, (outcome, signing))| {
        let total = asked.elapsed();
        (csr, (outcome, SignTimes { signing, total }))
    }))
}

/// The message a panic carried, when it was a string.
pub(crate) fn panic_reason(panic: &(dyn Any + Send)) -> String {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message");
    format!("panicked: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csrs::from_kube;
    use crate::fixtures::{ca_for, pinned, request};
    use kubepki_api::Signers;
    use kubepki_keys::{KeyAlgorithm, KeyError, KeyPair, PublicKey, Signer};
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A key that takes `delay` to sign, as a slow HSM or an RSA-4096 key does, and panics
    /// once `broken` is set.
    struct SlowKey {
        key: KeyPair,
        delay: Duration,
        broken: Arc<AtomicBool>,
    }

    impl Signer for SlowKey {
        fn public_key(&self) -> &PublicKey {
            self.key.public_key()
        }
        fn signature_algorithm(&self) -> spki::AlgorithmIdentifierOwned {
            Signer::signature_algorithm(&self.key)
        }
        fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
            std::thread::sleep(self.delay);
            assert!(!self.broken.load(Ordering::Relaxed), "the token went away");
            Signer::sign(&self.key, message)
        }
    }

    /// A controller whose CA key takes `delay` to sign, and the switch that breaks it.
    fn slow_signing(delay: Duration) -> (Arc<SigningController>, Arc<AtomicBool>) {
        let broken = Arc::new(AtomicBool::new(false));
        let slow = SlowKey {
            key: KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap(),
            delay,
            broken: Arc::clone(&broken),
        };
        let ca = ca_for(Box::new(slow), Duration::from_secs(86_400));
        let signing = SigningController::new(Signers::new()).with_default_ca(ca);
        (Arc::new(signing), broken)
    }

    /// Signs an approved request with a key that takes 400 ms, while another task ticks every
    /// 10 ms; asserts that the ticks went on.
    async fn sign_while_another_task_ticks() {
        let (signing, _) = slow_signing(Duration::from_millis(400));
        let approved = from_kube(&request(&["Approved"])).unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let ticker = tokio::spawn({
            let done = Arc::clone(&done);
            async move {
                let mut ticks = 0u32;
                while !done.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    ticks += 1;
                }
                ticks
            }
        });
        let signed = sign_blocking(signing, approved, pinned()).await;
        done.store(true, Ordering::Relaxed);
        let ticks = ticker.await.unwrap();
        let (csr, (outcome, took)) = signed.unwrap().expect("signed");
        assert!(matches!(outcome, SignOutcome::Issued { .. }), "{outcome:?}");
        assert!(csr.is_issued());
        assert!(took.signing >= Duration::from_millis(400), "{took:?}");
        assert!(took.total >= took.signing, "{took:?}");
        assert!(
            ticks >= 10,
            "the other task ran {ticks} times while signing"
        );
    }

    #[tokio::test]
    async fn signing_on_a_current_thread_runtime_leaves_its_one_worker_free() {
        // Had the signature run on the one worker thread, nothing else could run for 400 ms.
        sign_while_another_task_ticks().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn signing_on_a_multi_thread_runtime_hands_the_workers_other_tasks_off() {
        // One worker, on which both tasks run (the test's own body runs on another thread):
        // the ticker runs only if the signing worker hands it off.
        tokio::spawn(sign_while_another_task_ticks()).await.unwrap();
    }

    #[test]
    fn a_panic_while_signing_is_an_error_naming_the_request_on_either_runtime() {
        let runtimes = [
            tokio::runtime::Builder::new_current_thread().build(),
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .build(),
        ];
        for runtime in runtimes {
            let runtime = runtime.unwrap();
            let flavor = runtime.handle().runtime_flavor();
            let (signing, broken) = slow_signing(Duration::ZERO);
            broken.store(true, Ordering::Relaxed);
            let approved = from_kube(&request(&["Approved"])).unwrap();
            let signed = runtime.block_on(sign_blocking(signing, approved, pinned()));
            let error = signed.expect_err("an error");
            assert!(
                matches!(&error, KubeError::SigningAborted { name, .. } if name == "jane"),
                "{flavor:?}: {error:?}"
            );
            assert!(
                error.to_string().contains("the token went away"),
                "{flavor:?}: {error}"
            );
        }
    }
}
