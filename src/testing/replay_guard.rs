//! The replay-guard conformance suite: the cases `LruGuard` and `RedisGuard`
//! pass, for your own [`ReplayGuard`] (over Postgres, DynamoDB, ...) to run.
//!
//! Build your guard with an in-flight timeout of [`IN_FLIGHT`],
//! then either call the [`cases`] one by one, or
//! generate one test per case with [`replay_guard_conformance!`](crate::replay_guard_conformance)
//! (which needs `tokio` with the `macros` and `rt-multi-thread` features in
//! your dev-dependencies):
//!
//! ```
//! use tower_webhook::testing::replay_guard::IN_FLIGHT;
//! use tower_webhook::LruGuard;
//!
//! async fn my_guard() -> LruGuard {
//!     LruGuard::new(100).in_flight_timeout(IN_FLIGHT)
//! }
//!
//! tower_webhook::replay_guard_conformance!(lru, my_guard);
//! # fn main() {}
//! ```

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::replay::{Begin, Claim, ReplayGuard};

/// The in-flight timeout to build the guard under test with: short, so the
/// expiry cases wait little.
pub const IN_FLIGHT: Duration = Duration::from_millis(200);

/// Longer than [`IN_FLIGHT`], to be sure an entry has expired.
const PAST_IN_FLIGHT: Duration = Duration::from_millis(400);

/// Bounds every guard call, so that a broken guard fails the test instead of
/// hanging it.
async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("the guard answered within 10 s")
}

async fn begin(guard: &impl ReplayGuard, key: &str) -> Begin {
    within(guard.begin(key)).await.expect("begin")
}

async fn fresh(guard: &impl ReplayGuard, key: &str) -> Claim {
    match begin(guard, key).await {
        Begin::Fresh(claim) => claim,
        other => panic!("expected {key} to be fresh, got {other:?}"),
    }
}

async fn commit(guard: &impl ReplayGuard, key: &str, claim: Claim) {
    within(guard.commit(key, claim)).await.expect("commit");
}

async fn release(guard: &impl ReplayGuard, key: &str, claim: Claim) {
    within(guard.release(key, claim)).await.expect("release");
}

fn assert_in_flight(answer: Begin) {
    match answer {
        Begin::InFlight { retry_after } => assert!(
            retry_after <= IN_FLIGHT,
            "retry_after {retry_after:?} is longer than the in-flight timeout"
        ),
        other => panic!("expected InFlight, got {other:?}"),
    }
}

/// The cases, each generic over the guard; each panics when the guard breaks
/// the [`ReplayGuard`] contract.
pub mod cases {
    use super::*;

    /// A first `begin` is fresh, a second in flight, and after `commit` every `begin` is done.
    pub async fn fresh_then_in_flight_then_done_after_commit(guard: impl ReplayGuard) {
        let claim = fresh(&guard, "evt_1").await;
        assert_in_flight(begin(&guard, "evt_1").await);
        commit(&guard, "evt_1", claim).await;
        assert_eq!(begin(&guard, "evt_1").await, Begin::Done);
        assert_eq!(begin(&guard, "evt_1").await, Begin::Done);
    }

    /// After `release`, the event is fresh again, under a new claim.
    pub async fn release_makes_the_event_fresh_again_under_a_new_claim(guard: impl ReplayGuard) {
        let first = fresh(&guard, "evt_1").await;
        release(&guard, "evt_1", first).await;
        let second = fresh(&guard, "evt_1").await;
        assert_ne!(first, second);
        assert_in_flight(begin(&guard, "evt_1").await);
    }

    /// A claim that outlived the in-flight timeout cannot release the claim that took over.
    pub async fn stale_claim_cannot_release_the_claim_that_took_over(guard: impl ReplayGuard) {
        let stale = fresh(&guard, "evt_1").await;
        tokio::time::sleep(PAST_IN_FLIGHT).await;
        let current = fresh(&guard, "evt_1").await;
        assert_ne!(stale, current);

        // The first request finally fails; the second still holds the event.
        release(&guard, "evt_1", stale).await;
        assert_in_flight(begin(&guard, "evt_1").await);

        commit(&guard, "evt_1", current).await;
        assert_eq!(begin(&guard, "evt_1").await, Begin::Done);
    }

    /// A commit after the in-flight timeout still records the event as done.
    pub async fn commit_after_the_in_flight_timeout_still_records_the_event(guard: impl ReplayGuard) {
        let claim = fresh(&guard, "evt_1").await;
        tokio::time::sleep(PAST_IN_FLIGHT).await;
        commit(&guard, "evt_1", claim).await;
        assert_eq!(begin(&guard, "evt_1").await, Begin::Done);
    }

    /// A stale claim's commit marks the event done; a newer claim's release does not undo it.
    pub async fn stale_commit_wins_over_a_newer_claim_that_then_fails(guard: impl ReplayGuard) {
        let stale = fresh(&guard, "evt_1").await;
        tokio::time::sleep(PAST_IN_FLIGHT).await;
        let current = fresh(&guard, "evt_1").await;

        // The first request succeeded after all: the event was processed.
        commit(&guard, "evt_1", stale).await;
        assert_eq!(begin(&guard, "evt_1").await, Begin::Done);
        // The second run fails; its release must not undo the processed mark.
        release(&guard, "evt_1", current).await;
        assert_eq!(begin(&guard, "evt_1").await, Begin::Done);
    }

    /// 32 concurrent `begin`s of one event: exactly one is fresh, the others in flight.
    pub async fn concurrent_begins_of_one_event_yield_exactly_one_fresh(guard: impl ReplayGuard) {
        let guard = Arc::new(guard);
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let guard = Arc::clone(&guard);
                tokio::spawn(async move { begin(&guard, "evt_1").await })
            })
            .collect();
        let mut fresh = 0;
        for task in tasks {
            match task.await.expect("task") {
                Begin::Fresh(_) => fresh += 1,
                other => assert_in_flight(other),
            }
        }
        assert_eq!(fresh, 1);
    }

    /// The guard reports the in-flight timeout it was built with as its
    /// [claim lifetime](crate::ReplayGuard::claim_lifetime): the layer
    /// bounds every handler below it, so a guard whose claims expire and
    /// that reports none (or a longer one) lets a slow handler's event
    /// run twice at once.
    pub async fn reports_its_in_flight_timeout_as_the_claim_lifetime(guard: impl ReplayGuard) {
        assert_eq!(guard.claim_lifetime(), Some(IN_FLIGHT));
    }

    /// Distinct events do not affect one another.
    pub async fn distinct_events_are_independent(guard: impl ReplayGuard) {
        let a = fresh(&guard, "evt_a").await;
        let b = fresh(&guard, "evt_b").await;
        commit(&guard, "evt_a", a).await;
        assert_eq!(begin(&guard, "evt_a").await, Begin::Done);
        assert_in_flight(begin(&guard, "evt_b").await);

        release(&guard, "evt_b", b).await;
        fresh(&guard, "evt_b").await;
        assert_eq!(begin(&guard, "evt_a").await, Begin::Done);
        fresh(&guard, "evt_c").await;
    }
}

/// One `#[tokio::test]` per case of [`testing::replay_guard`](crate::testing::replay_guard)
/// for the guard `$make().await` builds, in a module named `$name`.
#[macro_export]
macro_rules! replay_guard_conformance {
    ($name:ident, $make:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $crate::replay_guard_conformance!(@cases $make;
                fresh_then_in_flight_then_done_after_commit,
                release_makes_the_event_fresh_again_under_a_new_claim,
                stale_claim_cannot_release_the_claim_that_took_over,
                commit_after_the_in_flight_timeout_still_records_the_event,
                stale_commit_wins_over_a_newer_claim_that_then_fails,
                concurrent_begins_of_one_event_yield_exactly_one_fresh,
                distinct_events_are_independent,
                reports_its_in_flight_timeout_as_the_claim_lifetime,
            );
        }
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::testing::replay_guard::cases::$case($make().await).await;
            }
        )*
    };
}
