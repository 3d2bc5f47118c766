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
use tower_webhook::scheme::{Discord, DiscordEndpoint, Scheme, Twilio};
use tower_webhook::testing::{self, IdSource, Preset, Sign as _, SignatureSource};
use tower_webhook::{LruGuard, Secret, WebhookLayer};

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

/// Twilio's signature of `signed` (the URL, then the sorted parameters) under `token`.
fn twilio_signature(token: &str, signed: &str) -> String {
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(signed.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

const TWILIO_URL: &str = "https://hooks.example.com/webhooks?account=main";

fn twilio() -> Box<dyn Scheme> {
    Box::new(Twilio::new(Secret::new("12345").unwrap(), TWILIO_URL).unwrap())
}

/// A request to `uri` with these headers and body.
fn request(uri: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Request<Full<Bytes>> {
    let mut builder = Request::post(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Full::new(body.into())).unwrap()
}

/// Row 1: an SMS whose text smuggles `&bodySHA256=<hash of evil>&` into a
/// signed parameter, captured, must not carry an arbitrary JSON body by
/// moving its parameters into the query: the query is pinned to the
/// configured one.
#[tokio::test]
async fn twilio_captured_form_signature_cannot_carry_a_json_body() {
    let evil = br#"{"MessageStatus":"delivered","To":"attacker"}"#;
    let hash = sha256_hex(evil);
    // What Twilio signed: the URL, then `Body‖hi&bodySHA256=<h>&`, `From‖+15551234567`.
    let form = format!("Body=hi%26bodySHA256%3D{hash}%26&From=%2B15551234567");
    let signed = format!("{TWILIO_URL}Bodyhi&bodySHA256={hash}&From+15551234567");
    let signature = twilio_signature("12345", &signed);
    // The capture itself verifies (the control).
    let genuine = request(
        "/webhooks?account=main",
        &[
            ("x-twilio-signature", &signature),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        form,
    );
    assert_eq!(send(twilio(), genuine).await, (StatusCode::OK, 1));
    // The forgery: the parameters moved into the query, the body replaced.
    let forged_uri = format!("/webhooks?account=mainBodyhi&bodySHA256={hash}&From+15551234567");
    for content_type in ["application/json", "application/x-www-form-urlencoded"] {
        let forged = request(
            &forged_uri,
            &[("x-twilio-signature", &signature), ("content-type", content_type)],
            Bytes::from_static(evil),
        );
        assert_eq!(
            send(twilio(), forged).await,
            (StatusCode::UNAUTHORIZED, 0),
            "{content_type}"
        );
    }
}

/// Row 1: JSON mode needs both the `bodySHA256` Twilio appends after the
/// configured query and `Content-Type: application/json`.
#[tokio::test]
async fn twilio_json_mode_needs_the_pinned_hash_and_a_json_content_type() {
    let body = br#"{"MessageStatus":"delivered"}"#;
    let url = format!("{TWILIO_URL}&bodySHA256={}", sha256_hex(body));
    let signature = twilio_signature("12345", &url);
    let uri = url.trim_start_matches("https://hooks.example.com");
    let json = [
        ("x-twilio-signature", signature.as_str()),
        ("content-type", "application/json"),
    ];
    assert_eq!(
        send(twilio(), request(uri, &json, &body[..])).await,
        (StatusCode::OK, 1)
    );
    let form = [
        ("x-twilio-signature", signature.as_str()),
        ("content-type", "text/plain"),
    ];
    assert_eq!(
        send(twilio(), request(uri, &form, &body[..])).await,
        (StatusCode::UNAUTHORIZED, 0)
    );
    // The hash where Twilio never puts it: before the configured query's end.
    let url = format!(
        "https://hooks.example.com/webhooks?bodySHA256={}&account=main",
        sha256_hex(body)
    );
    let signature = twilio_signature("12345", &url);
    let uri = url.trim_start_matches("https://hooks.example.com");
    let json = [
        ("x-twilio-signature", signature.as_str()),
        ("content-type", "application/json"),
    ];
    assert_eq!(
        send(twilio(), request(uri, &json, &body[..])).await,
        (StatusCode::UNAUTHORIZED, 0)
    );
}

/// Row 2: the idempotency token is unsigned, so a captured delivery resent
/// under a fresh token is dropped on its signature, the second replay key.
#[tokio::test]
async fn twilio_captured_delivery_under_a_fresh_token_is_dropped() {
    let twilio = Twilio::new(Secret::new("12345").unwrap(), TWILIO_URL).unwrap();
    let body = "MessageSid=SM1&MessageStatus=delivered";
    let headers = twilio.sign_headers(body.as_bytes(), "token-1", NOW);
    let guard = Arc::new(LruGuard::new(100));
    let calls = Arc::new(AtomicUsize::new(0));
    let service = counting(layer(Box::new(twilio), LIMIT, &guard), &calls);
    for token in ["token-1", "token-2", "token-3"] {
        let mut req = request("/webhooks?account=main", &[], body);
        *req.headers_mut() = headers.clone();
        req.headers_mut()
            .insert("i-twilio-idempotency-token", HeaderValue::from_static(token));
        let status = service.clone().oneshot(req).await.unwrap().status();
        assert_eq!(status, StatusCode::OK, "{token}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the handler ran once");
}

/// Rows 14–15: more form parameters than `Twilio::MAX_PARAMS` is `400`,
/// before sorting; as many is verified as usual.
#[tokio::test]
async fn twilio_refuses_more_form_parameters_than_the_cap() {
    let twilio = Twilio::new(Secret::new("12345").unwrap(), TWILIO_URL).unwrap();
    for (count, expected) in [
        (Twilio::MAX_PARAMS, (StatusCode::OK, 1)),
        (Twilio::MAX_PARAMS + 1, (StatusCode::BAD_REQUEST, 0)),
    ] {
        let body: Vec<String> = (0..count).map(|i| format!("p{i}=v")).collect();
        let body = body.join("&");
        let headers = twilio.sign_headers(body.as_bytes(), "token", NOW);
        let mut req = request("/webhooks?account=main", &[], body);
        *req.headers_mut() = headers;
        assert_eq!(
            send(Box::new(twilio.clone()), req).await,
            expected,
            "{count} parameters"
        );
    }
}
