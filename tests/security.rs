//! Security regressions (issue 27): each test names the finding it guards,
//! and fails if the fix it covers is undone. Requests go through the layer
//! with an injected clock.

mod reliability_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue};
use http::{Request, StatusCode};
use http_body_util::Full;
use reliability_support::{at, counting, layer, NOW};
use tower::ServiceExt;
use tower_webhook::scheme::{Discord, DiscordEndpoint, Scheme};
use tower_webhook::testing::{self, IdSource, Preset, SignatureSource};
use tower_webhook::{LruGuard, WebhookLayer};

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

/// The public URL URL-signed presets are configured with.
const PUBLIC_URL: &str = "https://hooks.example.com/webhooks";

/// A body `preset` can take event `id` from.
fn preset_body(preset: &Preset, id: &str) -> Vec<u8> {
    let mut body = serde_json::json!({"type": "order.created", "event": "e", "data": "x"});
    match preset.id {
        _ if matches!(preset.signature, SignatureSource::Body(_)) => {
            body = serde_json::json!({"event-data": {"event": "e", "data": "x"}});
        }
        IdSource::Body(path) => {
            // A dotted path (`event.id`) is nested objects under its first key.
            let mut keys: Vec<&str> = path.split('.').collect();
            let first = keys.remove(0);
            let mut value = serde_json::json!(id);
            for key in keys.into_iter().rev() {
                value = serde_json::json!({ key: value });
            }
            body[first] = value;
        }
        _ => {}
    }
    if preset.name == "linear" {
        body["webhookTimestamp"] = serde_json::json!(NOW * 1000);
    }
    serde_json::to_vec(&body).unwrap()
}

/// `preset`'s genuine delivery of `id` signed at `NOW`.
fn genuine(preset: &Preset, id: &str) -> (Bytes, HeaderMap) {
    let signer = (preset.signer)(&(preset.test_keys)().1, PUBLIC_URL).unwrap();
    signer.sign_delivery(Bytes::from(preset_body(preset, id)), id, NOW)
}

/// The status of `preset`'s layer, its clock at `now`, for this request.
async fn status_at(preset: &Preset, now: i64, body: &Bytes, headers: &HeaderMap) -> StatusCode {
    let scheme = (preset.scheme)(&(preset.test_keys)().0, PUBLIC_URL).unwrap();
    let guard = Arc::new(LruGuard::new(16));
    let calls = Arc::new(AtomicUsize::new(0));
    let layer = WebhookLayer::new(scheme)
        .body_limit(LIMIT)
        .clock(move || at(now))
        .guard(Arc::clone(&guard));
    let service = reliability_support::counting(layer, &calls);
    let mut request = Request::post("/webhooks").body(Full::new(body.clone())).unwrap();
    *request.headers_mut() = headers.clone();
    service.oneshot(request).await.unwrap().status()
}

/// Row 7: for every preset, nothing checked before the signature reads the
/// clock. A request that fails verification (forged, or missing any one
/// header, or with a garbled signature) gets the same status whether the
/// server's clock agrees with its timestamp or is far from it, so no status
/// tells an unkeyed prober where the clock is; a genuine delivery whose
/// timestamp is outside the tolerance is `401`, as a bad signature.
#[tokio::test]
async fn no_status_before_the_signature_depends_on_the_clock() {
    // Further from `NOW` than any preset's tolerance, either way.
    const FAR: i64 = 10_000_000;
    let mut timestamped = 0;
    for preset in testing::presets() {
        let (body, headers) = genuine(preset, "evt_clock");
        let mut variants: Vec<(String, Bytes, HeaderMap)> = Vec::new();
        let forger = (preset.signer)(preset.forger_key, PUBLIC_URL).unwrap();
        let (forged_body, forged) =
            forger.sign_delivery(Bytes::from(preset_body(preset, "evt_clock")), "evt_clock", NOW);
        variants.push(("forged".into(), forged_body, forged));
        for name in headers.keys() {
            let mut without = headers.clone();
            without.remove(name);
            variants.push((format!("without {name}"), body.clone(), without));
        }
        if let SignatureSource::Header(name) = preset.signature {
            let mut garbled = headers.clone();
            garbled.insert(name, HeaderValue::from_static("v1=AAAA,t=1"));
            variants.push(("garbled signature".into(), body.clone(), garbled));
        }
        for (what, body, headers) in &variants {
            let near = status_at(preset, NOW, body, headers).await;
            if near.is_success() {
                continue; // still genuine: that header is not needed
            }
            for far in [NOW - FAR, NOW + FAR] {
                assert_eq!(
                    status_at(preset, far, body, headers).await,
                    near,
                    "{}: {what}: the status depends on the clock",
                    preset.name
                );
            }
        }
        assert!(
            status_at(preset, NOW, &body, &headers).await.is_success(),
            "{}",
            preset.name
        );
        if preset.timestamp_header.is_some() {
            timestamped += 1;
            for far in [NOW - FAR, NOW + FAR] {
                assert_eq!(
                    status_at(preset, far, &body, &headers).await,
                    StatusCode::UNAUTHORIZED,
                    "{}: a stale genuine delivery",
                    preset.name
                );
            }
        }
    }
    assert!(timestamped >= 5, "only {timestamped} timestamped presets");
}
