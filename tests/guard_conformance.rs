//! One conformance suite for every `ReplayGuard`: the in-memory `LruGuard`
//! always, and `RedisGuard` with the `redis` feature (which then needs a
//! server at `REDIS_URL`; `.ci/run` starts one). The cases live in
//! `tower_webhook::testing::replay_guard`, for users' own guards too.

#[cfg(feature = "redis")]
use std::time::Duration;

use tower_webhook::testing::replay_guard::IN_FLIGHT;
use tower_webhook::LruGuard;

async fn lru_guard() -> LruGuard {
    LruGuard::new(100).in_flight_timeout(IN_FLIGHT)
}

tower_webhook::replay_guard_conformance!(lru, lru_guard);

#[cfg(feature = "redis")]
async fn redis_guard() -> tower_webhook::replay::RedisGuard {
    let url = std::env::var("REDIS_URL").expect(
        "REDIS_URL is not set: with the `redis` feature these tests need a Redis server, \
         e.g. REDIS_URL=redis://127.0.0.1:6379/ (.ci/run starts one)",
    );
    let guard = tokio::time::timeout(
        Duration::from_secs(10),
        tower_webhook::replay::RedisGuard::open(&url),
    )
    .await
    .expect("the guard answered within 10 s")
    .unwrap_or_else(|error| panic!("connecting to REDIS_URL failed: {error:?}"));
    // A prefix of its own per test, so tests sharing the server never meet.
    guard
        .key_prefix(format!("tower-webhook-test:{:016x}:", rand::random::<u64>()))
        .in_flight_timeout(IN_FLIGHT)
        .retention(Duration::from_secs(60))
}

#[cfg(feature = "redis")]
tower_webhook::replay_guard_conformance!(redis, redis_guard);
