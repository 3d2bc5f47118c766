//! Per-request cost of the replay guard: `begin` then `commit` of a new event
//! id, for `LruGuard` and, with the `redis` feature and `REDIS_URL` set, for
//! `RedisGuard` on that server, side by side in one group.
//!
//! Run with `cargo bench --features redis --bench guard` (and `REDIS_URL`).

use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{criterion_group, criterion_main, Criterion};
use tokio::runtime::Runtime;
use tower_webhook::{Begin, LruGuard, ReplayGuard};

/// Begins and commits a new id, as one successful delivery does.
async fn begin_commit(guard: &impl ReplayGuard, ids: &AtomicU64) {
    let key = format!("evt_{}", ids.fetch_add(1, Ordering::Relaxed));
    match guard.begin(&key).await.expect("begin") {
        Begin::Fresh(claim) => guard.commit(&key, claim).await.expect("commit"),
        other => panic!("a new id must be fresh, got {other:?}"),
    }
}

fn guards(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("guard_begin_commit");
    let ids = AtomicU64::new(0);

    let lru = LruGuard::default();
    group.bench_function("lru", |b| {
        b.to_async(&runtime).iter(|| begin_commit(&lru, &ids));
    });

    redis(&mut group, &runtime, &ids);
    group.finish();
}

#[cfg(feature = "redis")]
fn redis(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runtime: &Runtime,
    ids: &AtomicU64,
) {
    use std::time::Duration;
    use tower_webhook::replay::RedisGuard;

    let Ok(url) = std::env::var("REDIS_URL") else {
        println!("note: REDIS_URL is not set; skipping the RedisGuard half");
        return;
    };
    let guard = runtime
        .block_on(RedisGuard::open(&url))
        .expect("connecting to REDIS_URL")
        // Keys of their own, gone a minute after the run.
        .key_prefix(format!("tower-webhook-bench:{:016x}:", rand::random::<u64>()))
        .retention(Duration::from_secs(60));
    group.bench_function("redis", |b| {
        b.to_async(runtime).iter(|| begin_commit(&guard, ids));
    });
}

#[cfg(not(feature = "redis"))]
fn redis(
    _group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    _runtime: &Runtime,
    _ids: &AtomicU64,
) {
    println!("note: built without the `redis` feature; skipping the RedisGuard half");
}

criterion_group!(benches, guards);
criterion_main!(benches);
