#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `job` on every item on up to `threads` threads (at least one, at most one per item)
/// and returns the results in the order of `items`. Workers take the next item from a shared
/// index, so a slow item does not hold the others back.
///
/// A job that panics makes this call panic with it, as a sequential loop would.
pub fn parallel_map<T, R, F>(items: &[T], threads: usize, job: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.iter().map(job).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(index) else {
                            break;
                        };
                        mine.push((index, job(item)));
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| match worker.join() {
                Ok(mine) => mine,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    // Every index below items.len() was taken by exactly one worker.
    done.sort_unstable_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, result)| result).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_order_on_any_number_of_threads() {
        let items: Vec<u64> = (0..100).collect();
        for threads in [0, 1, 3, 8, 500] {
            let squares = parallel_map(&items, threads, |n| n * n);
            assert_eq!(squares, items.iter().map(|n| n * n).collect::<Vec<_>>());
        }
        assert!(parallel_map(&[] as &[u8], 4, |b| *b).is_empty());
    }

    #[test]
    #[should_panic(expected = "job 7")]
    fn a_panicking_job_panics_the_call() {
        let items: Vec<u32> = (0..16).collect();
        parallel_map(&items, 4, |n| {
            assert_ne!(*n, 7, "job 7");
            *n
        });
    }
}
