//! `LruGuard` under concurrent requests: begin + commit from 1, 2, 8 and 64
//! tokio tasks on a multi-thread runtime with 2 workers, every id distinct.
//!
//! Run with `cargo bench --bench concurrency`.
//!
//! Each operation is what one request does to the guard: `begin` a fresh id,
//! then `commit` it, back to back (no handler in between), so the two workers
//! meet on the guard's locks as often as they can: the worst case for lock
//! contention. With one task only one worker runs; from two tasks on both do,
//! and if the guard serialized on one mutex the time per operation would not
//! drop below the one-task figure. Throughput is in operations (requests)
//! per second.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tower_webhook::{Begin, LruGuard, ReplayGuard};

/// Distinct id prefixes, one per task and sample.
static NEXT_TASK: AtomicU64 = AtomicU64::new(0);

/// Runs `ops` requests split over `tasks` tasks; returns the wall time.
async fn run(guard: Arc<LruGuard>, tasks: u64, ops: u64) -> Duration {
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let guard = Arc::clone(&guard);
            let share = ops / tasks + u64::from(t < ops % tasks);
            tokio::spawn(async move {
                let prefix = NEXT_TASK.fetch_add(1, Ordering::Relaxed);
                let mut key = String::with_capacity(32);
                for i in 0..share {
                    key.clear();
                    write!(key, "evt_{prefix}_{i}").unwrap();
                    let Ok(Begin::Fresh(claim)) = guard.begin(&key).await else {
                        panic!("a distinct id must be fresh");
                    };
                    guard.commit(&key, claim).await.unwrap();
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
    start.elapsed()
}

fn concurrency(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let guard = Arc::new(LruGuard::new(LruGuard::DEFAULT_CAPACITY));

    let mut group = c.benchmark_group("lru_guard");
    group.throughput(Throughput::Elements(1));
    for tasks in [1u64, 2, 8, 64] {
        group.bench_with_input(BenchmarkId::new("begin_commit", tasks), &tasks, |b, &tasks| {
            b.to_async(&runtime)
                .iter_custom(|ops| run(Arc::clone(&guard), tasks, ops));
        });
    }
    group.finish();
    assert_eq!(guard.in_flight_len(), 0, "every claim was committed");
}

criterion_group!(benches, concurrency);
criterion_main!(benches);
