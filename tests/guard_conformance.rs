//! One conformance suite for every `ReplayGuard`: the in-memory `LruGuard`
//! always, and `RedisGuard` with the `redis` feature (which then needs a
//! server at `REDIS_URL`; `.ci/run` starts one).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tower_webhook::{Begin, Claim, LruGuard, ReplayGuard};

/// The in-flight timeout of every guard under test: short, so the expiry
/// cases wait little.
const IN_FLIGHT: Duration = Duration::from_millis(200);

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

/// The cases, each generic over the guard.
mod cases {
    use super::*;

    pub async fn fresh_then_in_flight_then_done_after_commit(guard: impl ReplayGuard) {
        let claim = fresh(&guard, "evt_1").await;
        assert_in_flight(begin(&guard, "evt_1").await);
        commit(&guard, "evt_1", claim).await;
        assert_eq!(begin(&guard, "evt_1").await, Begin::Done);
        assert_eq!(begin(&guard, "evt_1").await, Begin::Done);
    }

    pub async fn release_makes_the_event_fresh_again_under_a_new_claim(guard: impl ReplayGuard) {
        let first = fresh(&guard, "evt_1").await;
        release(&guard, "evt_1", first).await;
        let second = fresh(&guard, "evt_1").await;
        assert_ne!(first, second);
        assert_in_flight(begin(&guard, "evt_1").await);
    }

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

    pub async fn commit_after_the_in_flight_timeout_still_records_the_event(guard: impl ReplayGuard) {
        let claim = fresh(&guard, "evt_1").await;
        tokio::time::sleep(PAST_IN_FLIGHT).await;
        commit(&guard, "evt_1", claim).await;
        assert_eq!(begin(&guard, "evt_1").await, Begin::Done);
    }

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

    /// The layer bounds handlers below this, so it must be the real timeout.
    pub async fn reports_its_in_flight_timeout_as_the_claim_lifetime(guard: impl ReplayGuard) {
        assert_eq!(guard.claim_lifetime(), Some(IN_FLIGHT));
    }

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

/// One test per case for the guard `$make().await` builds.
macro_rules! conformance {
    ($guard:ident, $make:expr) => {
        mod $guard {
            use super::*;

            conformance!(@cases $make;
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
                cases::$case($make().await).await;
            }
        )*
    };
}

async fn lru_guard() -> LruGuard {
    LruGuard::new(100).in_flight_timeout(IN_FLIGHT)
}

conformance!(lru, lru_guard);

#[cfg(feature = "redis")]
async fn redis_guard() -> tower_webhook::replay::RedisGuard {
    let url = std::env::var("REDIS_URL").expect(
        "REDIS_URL is not set: with the `redis` feature these tests need a Redis server, \
         e.g. REDIS_URL=redis://127.0.0.1:6379/ (.ci/run starts one)",
    );
    let guard = within(tower_webhook::replay::RedisGuard::open(&url))
        .await
        .unwrap_or_else(|error| panic!("connecting to REDIS_URL failed: {error:?}"));
    // A prefix of its own per test, so tests sharing the server never meet.
    guard
        .key_prefix(format!("tower-webhook-test:{:016x}:", rand::random::<u64>()))
        .in_flight_timeout(IN_FLIGHT)
        .retention(Duration::from_secs(60))
}

#[cfg(feature = "redis")]
conformance!(redis, redis_guard);
