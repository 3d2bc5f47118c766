//! What `benches/allocs.rs` and `benches/profile.rs` share: the routers of
//! the examples, driven in process, and the deliveries they are given.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::Router;
use bytes::Bytes;
use http::{Request, StatusCode};
use tower::ServiceExt;
use tower_webhook::scheme::Spec;
use tower_webhook::{testing, Secret};

pub const SECRET: &str = "petstore bench secret";
pub const BODY_LEN: usize = 1024;

#[path = "../../examples/baselines.rs"]
#[allow(dead_code)]
mod baselines;

#[path = "../../examples/receiver.rs"]
#[allow(dead_code)]
mod receiver;

/// The routes of `examples/baselines.rs`: `/unverified`, `/handrolled`,
/// `/handrolled-typed`, `/layer`.
pub fn baselines() -> Router {
    baselines::app(SECRET).expect("baselines").with_state::<()>(())
}

/// The router of `examples/receiver.rs` (`POST /webhooks`), as `cargo run
/// --example receiver` builds it, remembering 10,000 ids.
pub fn receiver(runtime: &tokio::runtime::Runtime) -> Router {
    let vars: HashMap<&str, String> = [
        ("WEBHOOK_SECRET", SECRET.to_owned()),
        ("REPLAY_CAPACITY", "10000".to_owned()),
    ]
    .into();
    let config = receiver::Config::from_lookup(|name| Ok(vars.get(name).cloned())).expect("config");
    runtime
        .block_on(async { receiver::receiver(&config) })
        .expect("receiver")
        .router
}

/// A Petstore envelope of exactly `BODY_LEN` bytes for the event `id`.
pub fn envelope(id: u64) -> Bytes {
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
pub fn deliveries(path: &str, count: usize, ids: &AtomicU64) -> Vec<Request<Body>> {
    let scheme = Spec::petstore(Secret::new(SECRET).expect("secret"));
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
pub async fn drive(app: &Router, requests: Vec<Request<Body>>) {
    for request in requests {
        let response = app.clone().oneshot(request).await.expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
    }
}
