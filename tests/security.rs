//! Security regressions (issue 27): each test names the finding it guards,
//! and fails if the fix it covers is undone. Requests go through the layer
//! with an injected clock.

mod reliability_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use reliability_support::{counting, layer, NOW};
use tower::ServiceExt;
use tower_webhook::scheme::{Discord, DiscordEndpoint, Scheme};
use tower_webhook::LruGuard;

const LIMIT: usize = 64 * 1024;

/// Sends `request` through a layer over `scheme`; the status and whether the
/// inner service ran.
async fn send(scheme: Box<dyn Scheme>, request: Request<Full<Bytes>>) -> (StatusCode, usize) {
    let guard = Arc::new(LruGuard::new(100));
    let calls = Arc::new(AtomicUsize::new(0));
    let service = counting(layer(scheme, LIMIT, &guard), &calls);
    let status = service.oneshot(request).await.unwrap().status();
    (status, calls.load(Ordering::SeqCst))
}

/// The identity point as the public key, R = identity and s = 0 as the
/// signature: `[s]B = R + [k]A` holds for every message, so plain
/// `ed25519_dalek::VerifyingKey::verify` accepts it; `verify_strict` refuses
/// small-order keys and R. This fails if strict verification is dropped.
#[tokio::test]
async fn refuses_small_order_ed25519_key_and_signature() {
    let identity = format!("01{}", "00".repeat(31));
    let key = Discord::public_key(&identity).expect("the identity is a point on the curve");
    let discord = Discord::new(key, DiscordEndpoint::Interactions).unwrap();
    let signature = format!("01{}", "00".repeat(63));
    let request = Request::post("/webhooks")
        .header("x-signature-ed25519", signature)
        .header("x-signature-timestamp", NOW.to_string())
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(br#"{"type":2,"id":"1234"}"#)))
        .unwrap();
    let (status, calls) = send(Box::new(discord), request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls, 0);
}
