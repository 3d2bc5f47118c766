//! Heap allocations per delivery, counted: `cargo bench --bench allocs`.
//!
//! A counting global allocator (`dhat`, in its testing mode: counts only, no
//! file written) wraps the system allocator, and each receiver gets the same
//! deliveries in process, without sockets: a 1 KiB Petstore envelope with a
//! distinct event id each, built and signed before counting starts, driven
//! through `oneshot` on a current-thread runtime. What is counted is
//! everything between the request and the dropped response: routing, the
//! layer, the replay guard, the handler, the observers, and the response.
//! Hyper's and the kernel's share of a real request is not here; it is the
//! same for every receiver.
//!
//! The receivers:
//!
//! - `unverified`, `handrolled`, `handrolled-typed`, `layer`: the four routes
//!   of `examples/baselines.rs` (the HTTP load test's baselines);
//! - `receiver`: the router of `examples/receiver.rs`, as `cargo run
//!   --example receiver` builds it (Petstore scheme, metrics and
//!   recent-deliveries observers, dead letters, the typed `Webhook<T>`
//!   handler), with no `tracing` subscriber (as at `RUST_LOG=warn`);
//! - `receiver+fmt`: the same with a `tracing_subscriber::fmt` subscriber at
//!   `info`, writing to a sink, as the example logs by default.
//!
//! Each receiver is warmed up first (so one-time registrations and the
//! guard's first allocations are not counted), then takes `DELIVERIES`
//! deliveries; the figures are per delivery: allocations, and bytes
//! allocated.

// Both examples include `examples/support/serve.rs`, their shared server loop.
#![allow(clippy::duplicate_mod)]

use std::sync::atomic::AtomicU64;

use axum::Router;
use in_process::{deliveries, drive};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const WARMUP: usize = 2_000;
const DELIVERIES: usize = 10_000;

#[path = "support/in_process.rs"]
mod in_process;

/// Allocations and bytes per delivery of `path` on `app`.
fn count(runtime: &tokio::runtime::Runtime, app: &Router, path: &str, ids: &AtomicU64) -> (f64, f64) {
    runtime.block_on(drive(app, deliveries(path, WARMUP, ids)));
    let requests = deliveries(path, DELIVERIES, ids);
    let before = dhat::HeapStats::get();
    runtime.block_on(drive(app, requests));
    let after = dhat::HeapStats::get();
    let per = |n: u64| n as f64 / DELIVERIES as f64;
    (
        per(after.total_blocks - before.total_blocks),
        per(after.total_bytes - before.total_bytes),
    )
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ids = AtomicU64::new(1);
    let baselines = in_process::baselines();
    let receiver = in_process::receiver(&runtime);

    println!("{:>16} {:>12} {:>14}", "receiver", "allocations", "bytes");
    let row = |name: &str, (allocs, bytes): (f64, f64)| println!("{name:>16} {allocs:>12.1} {bytes:>14.0}");
    for route in ["unverified", "handrolled", "handrolled-typed", "layer"] {
        row(route, count(&runtime, &baselines, &format!("/{route}"), &ids));
    }
    row("receiver", count(&runtime, &receiver, "/webhooks", &ids));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_ansi(false)
        .with_writer(std::io::sink)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        row("receiver+fmt", count(&runtime, &receiver, "/webhooks", &ids));
    });
}
