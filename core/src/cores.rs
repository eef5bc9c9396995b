//! The machine's two cores, shared out: two jobs at once (`side_by_side`), a list's two halves
//! at once (`in_halves`), and the one way a worker's result comes back (`joined`): a worker that
//! panicked carries its panic on to the thread that waits for it, so a bug in a worker fails the
//! command as it would have on one thread, never with half a result.

use std::thread::ScopedJoinHandle;

/// A worker's result; a worker that panicked carries its panic on to this thread.
pub fn joined<T>(handle: ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// `there` on a thread of its own while `here` runs on this one; both results.
pub fn side_by_side<A: Send, B>(
    there: impl FnOnce() -> A + Send,
    here: impl FnOnce() -> B,
) -> (A, B) {
    std::thread::scope(|s| {
        let there = s.spawn(there);
        let here = here();
        (joined(there), here)
    })
}

/// Lists shorter than this are done on one core: a thread costs more than it saves.
const HALVES_FROM: usize = 10_000;

/// `f` of each item (with its index), in order. For work per item that only reads (looking rows
/// up, deciding claims), a large list's two halves are done at once, one per core.
pub fn in_halves<T: Sync, R: Send>(items: &[T], f: impl Fn(usize, &T) -> R + Sync) -> Vec<R> {
    if items.len() < HALVES_FROM {
        return items.iter().enumerate().map(|(i, t)| f(i, t)).collect();
    }
    let half = items.len() / 2;
    let (first, second) = items.split_at(half);
    let f = &f;
    let (tail, mut all) = side_by_side(
        || {
            second
                .iter()
                .enumerate()
                .map(|(i, t)| f(half + i, t))
                .collect::<Vec<_>>()
        },
        || {
            let mut all: Vec<R> = Vec::with_capacity(items.len());
            all.extend(first.iter().enumerate().map(|(i, t)| f(i, t)));
            all
        },
    );
    all.extend(tail);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_list_s_halves_give_the_order_and_indices_of_one_pass() {
        let items: Vec<u32> = (0..25_001).collect();
        let doubled = in_halves(&items, |i, &t| (i, t * 2));
        let one_pass: Vec<(usize, u32)> =
            items.iter().enumerate().map(|(i, &t)| (i, t * 2)).collect();
        assert_eq!(doubled, one_pass);
    }

    #[test]
    fn both_jobs_give_their_results() {
        let (a, b) = side_by_side(|| 2 + 2, || "here");
        assert_eq!((a, b), (4, "here"));
    }

    #[test]
    fn a_worker_s_panic_comes_back_to_the_thread_that_waits() {
        let caught = std::panic::catch_unwind(|| side_by_side(|| panic!("worker broke"), || 1));
        let panic = caught.expect_err("the worker's panic is carried on");
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"worker broke"));
    }
}
