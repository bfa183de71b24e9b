//! Generating many keys at once, in parallel.

use kubepki_keys::{KeyAlgorithm, KeyPair};
use kubepki_parallel::parallel_map;

use crate::ClusterError;

/// Generates keys on `threads` threads (0: one per core), in the order of `algorithms`.
///
/// # Errors
/// [`ClusterError::KeyGeneration`] when one fails.
pub fn generate_keys(
    algorithms: &[KeyAlgorithm],
    threads: usize,
) -> Result<Vec<KeyPair>, ClusterError> {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        threads
    };
    parallel_map(algorithms, threads, |algorithm| {
        KeyPair::generate(*algorithm)
    })
    .into_iter()
    .map(|key| key.map_err(ClusterError::KeyGeneration))
    .collect()
}
