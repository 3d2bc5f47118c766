//! Per-request cost of the replay guard: `begin` then `commit` of a new event
//! id, for `LruGuard` and, with the `redis` feature and `REDIS_URL` set, for
//! `RedisGuard` on that server, side by side in one group.
//!
//! Run with `cargo bench --features redis --bench guard` (and `REDIS_URL`).
//!
//! The `guard_full` group measures the same begin + commit on `LruGuard`s
//! already full (10 k, 100 k and 1 M remembered ids, so every commit evicts
//! the oldest), to show the cost stays flat as the guard grows; before it,
//! the bench prints the resident memory the full 1 M guard took (from
//! `/proc/self/statm`, Linux only), ids of 20 bytes (`evt_` and 16 digits).

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

    let mut group = c.benchmark_group("guard_full");
    // The largest first, so that its resident memory is not made of pages a
    // smaller guard freed.
    for capacity in [1_000_000, 100_000, 10_000] {
        let rss_before = resident_bytes();
        let guard = LruGuard::new(capacity);
        let ids = AtomicU64::new(1_000_000_000_000_000);
        for _ in 0..capacity {
            runtime.block_on(begin_commit(&guard, &ids));
        }
        // Only the first guard's figure means anything: the later ones
        // reuse the pages the allocator kept from the one before.
        if let (Some(before), Some(after), 1_000_000) = (rss_before, resident_bytes(), capacity) {
            println!(
                "note: LruGuard::new({capacity}) full ({} ids): {:.1} MB resident",
                guard.done_len(),
                after.saturating_sub(before) as f64 / 1e6
            );
        }
        group.bench_function(format!("lru_{capacity}"), |b| {
            b.to_async(&runtime).iter(|| begin_commit(&guard, &ids));
        });
    }
    group.finish();
}

/// This process's resident memory, in bytes (Linux).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
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
