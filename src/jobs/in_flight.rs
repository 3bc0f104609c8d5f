//! Which runs of a kind are under way on this instance, so a read can wait for those
//! that began before it (they may be writing what the reader's own requests caused)
//! without stopping anyone: readers never exclude each other or the workers, and a
//! worker never waits for a reader. Each run holds a `Ticket`, numbered in the order
//! runs began; `wait_past(n)` returns once no run numbered `n` or lower is left.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

#[derive(Default)]
struct State {
    issued: u64,
    active: BTreeSet<u64>,
}

/// The runs of one kind under way here.
#[derive(Default, Clone)]
pub struct InFlight {
    state: Arc<Mutex<State>>,
    ended: Arc<Notify>,
}

/// One run under way; it ends when dropped.
pub struct Ticket {
    number: u64,
    of: InFlight,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Ok(mut state) = self.of.state.lock() {
            state.active.remove(&self.number);
        }
        self.of.ended.notify_waiters();
    }
}

impl InFlight {
    /// A run begins (before it claims anything).
    pub fn begin(&self) -> Ticket {
        let number = match self.state.lock() {
            Ok(mut state) => {
                state.issued += 1;
                let number = state.issued;
                state.active.insert(number);
                number
            }
            Err(_) => 0,
        };
        Ticket {
            number,
            of: self.clone(),
        }
    }

    /// The number of the latest run begun so far.
    pub fn latest(&self) -> u64 {
        self.state.lock().map_or(0, |state| state.issued)
    }

    fn done_up_to(&self, number: u64) -> bool {
        self.state.lock().map_or(true, |state| {
            state.active.first().is_none_or(|first| *first > number)
        })
    }

    /// Waits (at most `limit`) until a run begun after run `number` has ended, and every
    /// run before it: a run that looked for work after the caller's moment has done what
    /// it found. Whether it did.
    pub async fn wait_for_next(&self, number: u64, limit: Duration) -> bool {
        let next = number.saturating_add(1);
        self.wait_until(limit, || {
            self.state.lock().map_or(true, |state| {
                state.issued >= next && state.active.first().is_none_or(|first| *first > next)
            })
        })
        .await
    }

    /// Waits (at most `limit`) until every run numbered up to `number` has ended; whether
    /// they all did.
    pub async fn wait_past(&self, number: u64, limit: Duration) -> bool {
        self.wait_until(limit, || self.done_up_to(number)).await
    }

    /// Waits (at most `limit`) until `done`, checked whenever a run ends; whether it came.
    async fn wait_until(&self, limit: Duration, done: impl Fn() -> bool) -> bool {
        tokio::time::timeout(limit, async {
            loop {
                let ended = self.ended.notified();
                tokio::pin!(ended);
                // Registered before the check, so an end between the two is not missed.
                ended.as_mut().enable();
                if done() {
                    return;
                }
                ended.await;
            }
        })
        .await
        .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wait_ends_with_the_runs_begun_before_it_and_not_later_ones() {
        let runs = InFlight::default();
        let first = runs.begin();
        let seen = runs.latest();
        let later = runs.begin();
        assert!(!runs.wait_past(seen, Duration::from_millis(20)).await);
        let waiter = {
            let runs = runs.clone();
            tokio::spawn(async move { runs.wait_past(seen, Duration::from_secs(5)).await })
        };
        drop(first);
        assert!(waiter.await.expect("joined"), "ended with the earlier run");
        assert!(
            !runs
                .wait_past(runs.latest(), Duration::from_millis(20))
                .await
        );
        drop(later);
        assert!(
            runs.wait_past(runs.latest(), Duration::from_millis(20))
                .await
        );
    }

    #[tokio::test]
    async fn a_wait_for_the_next_run_needs_one_begun_after_it_and_ended() {
        let runs = InFlight::default();
        let under_way = runs.begin();
        let asked = runs.latest();
        drop(under_way);
        assert!(
            !runs.wait_for_next(asked, Duration::from_millis(20)).await,
            "the run under way when it asked does not do"
        );
        let next = runs.begin();
        let waiter = {
            let runs = runs.clone();
            tokio::spawn(async move { runs.wait_for_next(asked, Duration::from_secs(5)).await })
        };
        let after = runs.begin();
        drop(next);
        assert!(waiter.await.expect("joined"), "ended with the next run");
        drop(after);
    }
}
