//! Issuing many certificates at once, on all the cores the caller allows.

use std::num::NonZeroUsize;

use kubepki_csr::Csr;
use kubepki_parallel::parallel_map;
use kubepki_profile::Profile;

use crate::{Ca, IssueOptions, IssuedCert, SignError};

/// Issues a certificate for each request in `requests` (PEM or DER CSRs, as
/// [`Csr::from_bytes`] reads them) under `profile`, on up to `threads` threads.
///
/// Each request is parsed (its proof of possession checked) and issued on its own: a bad
/// request fails alone. Workers take the next request from a shared atomic index, so a slow
/// request (an RSA one among ECDSA ones) does not hold the others back. The results come
/// back in the order of `requests`, one per request.
///
/// # Errors
/// Each element is its own result: [`SignError::Csr`] for a request that does not parse or
/// whose signature does not verify, else as [`Ca::issue`].
pub fn issue_batch<B>(
    ca: &Ca,
    requests: &[B],
    profile: &Profile,
    options: &IssueOptions,
    threads: NonZeroUsize,
) -> Vec<Result<IssuedCert, SignError>>
where
    B: AsRef<[u8]> + Sync,
{
    let issue_one = |bytes: &[u8]| -> Result<IssuedCert, SignError> {
        let csr = Csr::from_bytes(bytes)?;
        ca.issue(&csr, profile, options)
    };
    parallel_map(requests, threads.get(), |request| {
        issue_one(request.as_ref())
    })
}

#[cfg(test)]
mod tests {
    use kubepki_csr::{CsrBuilder, CsrError, San, Subject};
    use kubepki_keys::{KeyAlgorithm, KeyPair};
    use kubepki_profile::{ClusterParams, builtin, ca_profile};

    use super::*;

    use kubepki_test_support::pinned as now;

    fn ca() -> Ca {
        let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let profile = ca_profile("ca", "kubernetes");
        Ca::self_signed(
            Box::new(key),
            &Subject::from_parts::<&str>("kubernetes", &[]),
            &profile,
            &IssueOptions::at(now()),
        )
        .unwrap()
    }

    fn request(cn: &str) -> Vec<u8> {
        let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
        CsrBuilder::new(Subject::from_parts::<&str>(cn, &[]))
            .san(San::dns(cn).unwrap())
            .build(&key)
            .unwrap()
            .to_pem()
            .into_bytes()
    }

    #[test]
    fn results_are_in_input_order_and_failures_stay_alone() {
        let ca = ca();
        let profile = builtin("server", &ClusterParams::default()).unwrap();
        let mut requests: Vec<Vec<u8>> =
            (0..9).map(|i| request(&format!("n{i}.example"))).collect();
        requests[4] = b"not a request".to_vec();
        for threads in [1, 2, 3, 16] {
            let results = issue_batch(
                &ca,
                &requests,
                &profile,
                &IssueOptions::at(now()),
                NonZeroUsize::new(threads).unwrap(),
            );
            assert_eq!(results.len(), requests.len());
            for (i, result) in results.iter().enumerate() {
                if i == 4 {
                    assert!(
                        matches!(result, Err(SignError::Csr(CsrError::Malformed(_)))),
                        "{result:?}"
                    );
                    continue;
                }
                let info = result.as_ref().unwrap().info().unwrap();
                assert_eq!(
                    info.subject.common_name(),
                    Some(format!("n{i}.example").as_str())
                );
            }
        }
    }

    #[test]
    fn an_empty_batch_is_empty() {
        let ca = ca();
        let profile = builtin("server", &ClusterParams::default()).unwrap();
        let none: [&[u8]; 0] = [];
        let results = issue_batch(
            &ca,
            &none,
            &profile,
            &IssueOptions::at(now()),
            NonZeroUsize::MIN,
        );
        assert!(results.is_empty());
    }
}
