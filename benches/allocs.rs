//! Heap allocations per delivery, counted (issue 15): `cargo bench --bench allocs`.
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
//! - `unverified`, `handrolled`, `layer`: the three routes of
//!   `examples/baselines.rs` (the HTTP load test's baselines);
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

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::Router;
use bytes::Bytes;
use http::{Request, StatusCode};
use tower::ServiceExt;
use tower_webhook::scheme::Hmac;
use tower_webhook::{testing, Secret};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const SECRET: &str = "petstore bench secret";
const BODY_LEN: usize = 1024;
const WARMUP: usize = 2_000;
const DELIVERIES: usize = 10_000;

#[path = "../examples/baselines.rs"]
#[allow(dead_code)]
mod baselines;

#[path = "../examples/receiver.rs"]
#[allow(dead_code)]
mod receiver;

/// A Petstore envelope of exactly `BODY_LEN` bytes for the event `id`.
fn envelope(id: u64) -> Bytes {
    let head = format!(
        r#"{{"id":"evt_{id:012}","type":"order.created","created":1700000000,"data":{{"orderId":"{id}","status":"created","pad":""#
    );
    let tail = r#""}}"#;
    let mut body = head.into_bytes();
    body.resize(BODY_LEN - tail.len(), b'x');
    body.extend_from_slice(tail.as_bytes());
    body.into()
}

/// `count` signed deliveries to `path`, each with a fresh id.
fn deliveries(path: &str, count: usize, ids: &AtomicU64) -> Vec<Request<Body>> {
    let scheme = Hmac::petstore(Secret::new(SECRET).expect("secret"));
    (0..count)
        .map(|_| {
            let id = ids.fetch_add(1, Ordering::Relaxed);
            let mut request = testing::signed_request::<Body>(&scheme, envelope(id), "");
            *request.uri_mut() = path.parse().expect("path");
            request
        })
        .collect()
}

/// Drives `requests` through `app`; every answer must be `200`.
async fn drive(app: &Router, requests: Vec<Request<Body>>) {
    for request in requests {
        let response = app.clone().oneshot(request).await.expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
    }
}

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

    let baselines = baselines::app(SECRET).expect("baselines").with_state::<()>(());
    let vars: HashMap<&str, String> = [
        ("WEBHOOK_SECRET", SECRET.to_owned()),
        ("REPLAY_CAPACITY", "10000".to_owned()),
    ]
    .into();
    let config = receiver::Config::from_lookup(|name| Ok(vars.get(name).cloned())).expect("config");
    let receiver = runtime
        .block_on(async { receiver::receiver(&config) })
        .expect("receiver")
        .router;

    println!("{:>14} {:>12} {:>14}", "receiver", "allocations", "bytes");
    let row = |name: &str, (allocs, bytes): (f64, f64)| println!("{name:>14} {allocs:>12.1} {bytes:>14.0}");
    for route in ["unverified", "handrolled", "layer"] {
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
