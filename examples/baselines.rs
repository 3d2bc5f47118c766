//! Baselines for the HTTP load test: the same Petstore delivery received
//! four ways on one server, so `loadgen` can compare them side by side.
//!
//! Run with `WEBHOOK_SECRET=... cargo run --release --example baselines`
//! (listens on 127.0.0.1, port `PORT`, default 3001), then point
//! `cargo run --release --example loadgen` at one route after the other.
//!
//! - `POST /unverified`: reads the body and answers `200`. Nothing is checked;
//!   this is the ceiling for the HTTP stack itself.
//! - `POST /handrolled`: what a careful receiver written by hand does: the hex
//!   `X-Petstore-Signature` decoded and compared in constant time (`subtle`)
//!   with the HMAC-SHA256 of the body (keyed per request, as hand-written
//!   receivers usually do), the body parsed into a small struct for its `id`,
//!   and a `Mutex<LruCache>` of seen ids (a duplicate is answered `200`).
//! - `POST /handrolled-typed`: the same, but the body is parsed into the
//!   whole event, typed (`id`, `type`, `created` and the order under `data`,
//!   with serde's derive), as a hand-written receiver that hands its handler
//!   a typed event does. The example receiver's `Webhook<PetstoreEvent>`
//!   decodes the same fields, so this is the like-for-like baseline for it;
//!   `/handrolled` is the cheaper one the performance goal names.
//! - `POST /layer`: `WebhookLayer::new(Spec::petstore(..))` in front of a
//!   trivial handler that reads the `Verified` extension: the hot path of
//!   `examples/receiver.rs`.
//!
//! The server is served exactly as `examples/receiver.rs` is: the same
//! multi-threaded tokio runtime (`TOKIO_WORKER_THREADS` sets its worker
//! count) and the same HTTP/1.1 loop, with its header-read timeout
//! (`examples/support/serve.rs`), so that the load test's receivers differ
//! only in how they handle a delivery. No tracing subscriber is installed:
//! none of the four logs on success, and a rejection's log line would only
//! cost the layer (the hand-rolled route logs nothing).

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Extension, Router};
use bytes::Bytes;
use hmac::{Hmac as HmacImpl, Mac};
use lru::LruCache;
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tower_webhook::scheme::Spec;
use tower_webhook::{LruGuard, Secret, SecretError, Verified, WebhookLayer};

/// Ids remembered by the hand-rolled route: the same as the layer's default guard.
const SEEN_CAPACITY: usize = LruGuard::DEFAULT_CAPACITY;

struct HandRolled {
    secret: Vec<u8>,
    seen: Mutex<LruCache<String, ()>>,
}

/// The part of the envelope the hand-rolled route needs.
#[derive(Deserialize)]
struct Envelope {
    id: String,
}

/// The whole event, as the typed hand-rolled route reads it: what the
/// example receiver's `PetstoreEvent` holds, plus the id it dedupes on.
#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    data: Order,
}

/// The order under `data` (`completedAt` only on `order.completed`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Order {
    order_id: String,
    status: String,
    #[serde(default)]
    completed_at: Option<String>,
}

#[path = "support/serve.rs"]
mod serve;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("WEBHOOK_SECRET").map_err(|_| "set WEBHOOK_SECRET to the senders' secret")?;
    let port: u16 = std::env::var("PORT").map_or(Ok(3001), |p| p.parse())?;

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("baselines listening on http://{}", listener.local_addr()?);
    serve::serve(
        listener,
        app(&secret)?,
        serve::HEADER_READ_TIMEOUT,
        std::future::pending(),
    )
    .await?;
    Ok(())
}

/// The four routes (`benches/layer.rs` drives the same router in process).
pub fn app(secret: &str) -> Result<Router, SecretError> {
    let hand_rolled = Arc::new(HandRolled {
        secret: secret.as_bytes().to_vec(),
        seen: Mutex::new(LruCache::new(NonZeroUsize::new(SEEN_CAPACITY).expect("non-zero"))),
    });
    Ok(Router::new()
        .route("/unverified", post(unverified))
        .route(
            "/handrolled",
            post(handrolled).with_state(Arc::clone(&hand_rolled)),
        )
        .route(
            "/handrolled-typed",
            post(handrolled_typed).with_state(hand_rolled),
        )
        .route(
            "/layer",
            post(layer).layer(WebhookLayer::new(Spec::petstore(Secret::new(secret)?))),
        ))
}

async fn unverified(_body: Bytes) -> StatusCode {
    StatusCode::OK
}

async fn handrolled(State(state): State<Arc<HandRolled>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if let Err(status) = verify(&state, &headers, &body) {
        return status;
    }
    let Ok(envelope) = serde_json::from_slice::<Envelope>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    once(&state, envelope.id, || ())
}

async fn handrolled_typed(
    State(state): State<Arc<HandRolled>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if let Err(status) = verify(&state, &headers, &body) {
        return status;
    }
    let Ok(event) = serde_json::from_slice::<Event>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let Event {
        id,
        kind,
        created,
        data,
    } = event;
    // The handler's use of the event: kept from the optimiser.
    once(&state, id, || {
        std::hint::black_box((kind, created, data.order_id, data.status, data.completed_at));
    })
}

/// The hex `X-Petstore-Signature`, checked in constant time against the
/// HMAC-SHA256 of the body, keyed per request.
fn verify(state: &HandRolled, headers: &HeaderMap, body: &[u8]) -> Result<(), StatusCode> {
    let signature = headers
        .get("x-petstore-signature")
        .ok_or(StatusCode::UNAUTHORIZED)?;
    let mut claimed = [0u8; 32];
    hex::decode_to_slice(signature.as_bytes(), &mut claimed).map_err(|_| StatusCode::UNAUTHORIZED)?;
    let mut mac = HmacImpl::<Sha256>::new_from_slice(&state.secret).expect("any key length");
    mac.update(body);
    let computed = mac.finalize().into_bytes();
    if bool::from(computed.as_slice().ct_eq(&claimed)) {
        Ok(())
    } else {
        Err(StatusCode::UNAUTHORIZED)
    }
}

/// Runs `handle` unless `id` was seen, then remembers `id`.
fn once(state: &HandRolled, id: String, handle: impl FnOnce()) -> StatusCode {
    let mut seen = state.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if seen.get(&id).is_none() {
        // A real handler would process the event here, before remembering it.
        handle();
        seen.put(id, ());
    }
    StatusCode::OK
}

async fn layer(Extension(verified): Extension<Verified>) -> StatusCode {
    std::hint::black_box(verified.id());
    StatusCode::OK
}
