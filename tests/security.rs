//! Security regressions (issue 27): each test names the finding it guards,
//! and fails if the fix it covers is undone. Requests go through the layer
//! with an injected clock.

mod log_capture;
mod reliability_support;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue};
use http::{Request, StatusCode};
use http_body_util::Full;
use log_capture::Logs;
use reliability_support::{at, counting, layer, NOW};
use tower::ServiceExt;
use tower_webhook::dead_letter::{FileDeadLetters, MemoryDeadLetters};
use tower_webhook::inbox::{InboxStore as _, MemoryInbox, RecordId};
use tower_webhook::scheme::{
    Algorithm, ConfigError, Discord, DiscordEndpoint, Encoding, GitLab, PagerDuty, Scheme, Spec,
    TemplateError, Twilio,
};
use tower_webhook::testing::{self, IdSource, Preset, Sign as _, SignatureSource};
use tower_webhook::{LruGuard, PermanentFailure, Secret, Verified, WebhookLayer};

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

/// Row 9: PagerDuty's replay key by default is the unsigned `X-Webhook-Id`,
/// so a captured delivery resent under a fresh one is processed again; the
/// signed mode, `PagerDuty::keyed_by_event_id`, keys on the body's signed
/// `event.id`, and the resend is a duplicate.
#[tokio::test]
async fn pagerduty_signed_mode_drops_a_capture_resent_under_a_fresh_webhook_id() {
    let secret = "pagerduty-security-test-secret";
    let body = r#"{"event":{"id":"01BWDWL3NYY7LUFPZCC28QUCMK","event_type":"incident.triggered"}}"#;
    for (scheme, handled) in [
        (PagerDuty::new(Secret::new(secret).unwrap()), 3),
        (PagerDuty::keyed_by_event_id(Secret::new(secret).unwrap()), 1),
    ] {
        let signed = scheme.sign_headers(body.as_bytes(), "webhook-1", NOW);
        let guard = Arc::new(LruGuard::new(100));
        let calls = Arc::new(AtomicUsize::new(0));
        let service = counting(layer(Box::new(scheme), LIMIT, &guard), &calls);
        for webhook_id in ["webhook-1", "webhook-2", "webhook-3"] {
            let mut req = request("/webhooks", &[], body);
            *req.headers_mut() = signed.clone();
            req.headers_mut()
                .insert("x-webhook-id", HeaderValue::from_static(webhook_id));
            let status = service.clone().oneshot(req).await.unwrap().status();
            assert_eq!(status, StatusCode::OK, "{webhook_id}");
        }
        assert_eq!(calls.load(Ordering::SeqCst), handled);
    }
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

const GITLAB_TOKEN: &str = "gitlab secret token";

/// A GitLab delivery authenticated by the legacy secret token.
fn gitlab_delivery(id: &str) -> Request<Full<Bytes>> {
    request(
        "/webhooks",
        &[
            ("x-gitlab-token", GITLAB_TOKEN),
            ("x-gitlab-event", "Push Hook"),
            ("idempotency-key", id),
            ("content-type", "application/json"),
        ],
        Bytes::from_static(br#"{"object_kind":"push"}"#),
    )
}

/// An inner service that marks every delivery as never processable.
async fn permanent(_: Request<Full<Bytes>>) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let mut response = http::Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    response
        .extensions_mut()
        .insert(PermanentFailure::new("cannot process"));
    Ok(response)
}

/// Row 3: GitLab's legacy token authenticates whatever body comes with it,
/// so no dead letter (memory, file) and no request a re-run sends holds it.
#[tokio::test]
async fn gitlab_token_is_never_kept_in_a_dead_letter() {
    let memory = Arc::new(MemoryDeadLetters::default());
    let dir = std::env::temp_dir().join(format!("tw-security-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("letters.jsonl");
    let _ = std::fs::remove_file(&path);
    let file = FileDeadLetters::open(&path).unwrap();
    let scheme = || GitLab::new(Secret::new(GITLAB_TOKEN).unwrap());
    let memory_app = tower::ServiceBuilder::new()
        .layer(WebhookLayer::new(scheme()).dead_letters(Arc::clone(&memory)))
        .service(tower::service_fn(permanent));
    let file_app = tower::ServiceBuilder::new()
        .layer(WebhookLayer::new(scheme()).dead_letters(file))
        .service(tower::service_fn(permanent));
    let status = memory_app
        .oneshot(gitlab_delivery("evt-1"))
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK);
    let status = file_app.oneshot(gitlab_delivery("evt-1")).await.unwrap().status();
    assert_eq!(status, StatusCode::OK);

    let letters = memory.letters();
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert!(
        !letter.headers().contains_key("x-gitlab-token"),
        "{:?}",
        letter.headers()
    );
    assert_eq!(
        letter.headers()["x-gitlab-event"],
        "Push Hook",
        "the rest is kept"
    );
    let rerun: Request<Full<Bytes>> = letter.to_request();
    assert!(!rerun.headers().contains_key("x-gitlab-token"));
    assert!(!letter.to_json_line().contains(GITLAB_TOKEN));
    assert!(!format!("{letter:?}").contains(GITLAB_TOKEN));

    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written.lines().count(), 1);
    assert!(!written.contains(GITLAB_TOKEN), "{written}");
    assert!(!written.contains("x-gitlab-token"), "{written}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Row 10: a captured poison delivery resent under fresh unsigned ids is
/// kept as one dead letter (memory and file), not one per resend, so a flood
/// cannot push genuine letters out or fill the file.
#[tokio::test]
async fn a_capture_resent_under_fresh_ids_is_one_dead_letter() {
    let memory = Arc::new(MemoryDeadLetters::new(2));
    let dir = std::env::temp_dir().join(format!("tw-security-dedup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("letters.jsonl");
    let _ = std::fs::remove_file(&path);
    let scheme = || GitLab::new(Secret::new(GITLAB_TOKEN).unwrap());
    let memory_app = tower::ServiceBuilder::new()
        .layer(WebhookLayer::new(scheme()).dead_letters(Arc::clone(&memory)))
        .service(tower::service_fn(permanent));
    let file_app = tower::ServiceBuilder::new()
        .layer(WebhookLayer::new(scheme()).dead_letters(FileDeadLetters::open(&path).unwrap()))
        .service(tower::service_fn(permanent));
    // A genuine letter first, then one capture resent under three fresh ids.
    let genuine = || {
        request(
            "/webhooks",
            &[
                ("x-gitlab-token", GITLAB_TOKEN),
                ("idempotency-key", "evt-genuine"),
            ],
            Bytes::from_static(br#"{"object_kind":"merge_request"}"#),
        )
    };
    for app in [memory_app.clone(), file_app.clone()] {
        let status = app.oneshot(genuine()).await.unwrap().status();
        assert_eq!(status, StatusCode::OK);
    }
    for id in ["evt-1", "evt-2", "evt-3"] {
        for app in [memory_app.clone(), file_app.clone()] {
            let status = app.oneshot(gitlab_delivery(id)).await.unwrap().status();
            assert_eq!(status, StatusCode::OK, "{id}");
        }
    }
    let ids: Vec<String> = memory.letters().iter().map(|l| l.id().to_owned()).collect();
    assert_eq!(ids, ["evt-genuine", "evt-1"], "the genuine letter is still there");
    let written = FileDeadLetters::read(&path).unwrap();
    assert_eq!(written.len(), 2);
    // Reopened, the file's letters still count as kept.
    let reopened = tower::ServiceBuilder::new()
        .layer(WebhookLayer::new(scheme()).dead_letters(FileDeadLetters::open(&path).unwrap()))
        .service(tower::service_fn(permanent));
    let status = reopened.oneshot(gitlab_delivery("evt-4")).await.unwrap().status();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(FileDeadLetters::read(&path).unwrap().len(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Row 3: the same for an inbox record and the request its worker rebuilds.
#[tokio::test]
async fn gitlab_token_is_never_kept_in_an_inbox_record() {
    let inbox = Arc::new(MemoryInbox::new());
    let app = tower::ServiceBuilder::new()
        .layer(WebhookLayer::new(GitLab::new(Secret::new(GITLAB_TOKEN).unwrap())).inbox(Arc::clone(&inbox)))
        .service(tower::service_fn(permanent));
    let status = app.oneshot(gitlab_delivery("evt-2")).await.unwrap().status();
    assert_eq!(status, StatusCode::OK);
    let record = inbox.get(RecordId::new(1)).await.unwrap().expect("the record");
    assert_eq!(record.entry.event_id, "evt-2");
    assert!(
        !record.headers.contains_key("x-gitlab-token"),
        "{:?}",
        record.headers
    );
    assert_eq!(record.headers["x-gitlab-event"], "Push Hook");
    let rebuilt: Request<Full<Bytes>> = record.to_request();
    assert!(!rebuilt.headers().contains_key("x-gitlab-token"));
    assert!(!format!("{record:?}").contains(GITLAB_TOKEN));
}

/// Row 11: Lemon Squeezy's type comes from the signed body's
/// `meta.event_name`; the unsigned `X-Event-Name` cannot relabel a capture.
#[tokio::test]
async fn lemonsqueezy_type_comes_from_the_signed_body_first() {
    use tower_webhook::scheme::LemonSqueezy;
    let scheme = LemonSqueezy::new(Secret::new("lemon secret").unwrap());
    let body = Bytes::from_static(br#"{"meta":{"event_name":"order_created"},"data":{"id":"1"}}"#);
    let mut headers = scheme.sign_headers(&body, "", NOW);
    headers.insert("x-event-name", HeaderValue::from_static("subscription_cancelled"));
    let seen = Arc::new(std::sync::Mutex::new(None));
    let record = Arc::clone(&seen);
    let service = tower::ServiceBuilder::new()
        .layer(WebhookLayer::new(scheme).clock(reliability_support::now))
        .service(tower::service_fn(move |request: Request<Full<Bytes>>| {
            let verified = request.extensions().get::<Verified>().cloned();
            *record.lock().unwrap() = verified.and_then(|v| v.event_type().map(str::to_owned));
            async { Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::new()))) }
        }));
    let mut req = request("/webhooks", &[], body);
    *req.headers_mut() = headers;
    let status = service.oneshot(req).await.unwrap().status();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seen.lock().unwrap().as_deref(), Some("order_created"));
}

fn hmac256_hex(key: &str, message: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn url_spec(template: &str) -> Result<Spec, ConfigError> {
    Spec::builder("UrlSigned")
        .signature_header("x-sig")
        .version("", Algorithm::HmacSha256, Encoding::Hex)
        .signed_content(template)
        .trust_forwarded_headers(true)
        .keys(Secret::new("url spec secret").unwrap())
        .build()
}

/// Row 16: a custom template with `{url}` next to `{body}` is refused when
/// built (bytes could move from the sender's query into the body); with a
/// literal between them it builds, and the providers that define such a
/// template themselves (Square, HubSpot) still build.
#[test]
fn url_next_to_body_in_a_custom_template_is_refused() {
    for template in ["{url}{body}", "{body}{url}", "{method}{url}{body}"] {
        assert_eq!(
            url_spec(template).unwrap_err(),
            ConfigError::Template(TemplateError::Ambiguous),
            "{template}"
        );
    }
    assert!(url_spec("{url}.{body}").is_ok());
    assert!(url_spec("{method}{url}.{body}").is_ok());
    for preset in ["square", "hubspot-v3"] {
        let preset = testing::preset(preset).unwrap();
        assert!(
            (preset.scheme)(&(preset.test_keys)().0, PUBLIC_URL).is_ok(),
            "{}",
            preset.name
        );
    }
}

/// Row 17: with trusted forwarded headers, a list or repeated
/// `X-Forwarded-Host` is `400` (its leftmost value is the client's), one
/// value is the URL signed.
#[tokio::test]
async fn several_forwarded_hosts_are_refused() {
    let body = r#"{"id":"evt_fwd","type":"t"}"#;
    let signature = hmac256_hex(
        "url spec secret",
        &format!("https://proxy.example/webhooks.{body}"),
    );
    let scheme = || Box::new(url_spec("{url}.{body}").unwrap()) as Box<dyn Scheme>;
    let one = request(
        "/webhooks",
        &[("x-sig", &signature), ("x-forwarded-host", "proxy.example")],
        body,
    );
    assert_eq!(send(scheme(), one).await, (StatusCode::OK, 1));
    let listed = request(
        "/webhooks",
        &[
            ("x-sig", &signature),
            ("x-forwarded-host", "proxy.example, proxy.example"),
        ],
        body,
    );
    assert_eq!(send(scheme(), listed).await, (StatusCode::BAD_REQUEST, 0));
    let repeated = request(
        "/webhooks",
        &[
            ("x-sig", &signature),
            ("x-forwarded-host", "proxy.example"),
            ("x-forwarded-host", "evil.example"),
        ],
        body,
    );
    assert_eq!(send(scheme(), repeated).await, (StatusCode::BAD_REQUEST, 0));
    let client_first = request(
        "/webhooks",
        &[
            ("x-sig", &signature),
            ("x-forwarded-host", "proxy.example, evil.example"),
        ],
        body,
    );
    assert_eq!(send(scheme(), client_first).await, (StatusCode::BAD_REQUEST, 0));
}

fn meta_with_token() -> Box<dyn Scheme> {
    use tower_webhook::scheme::Meta;
    Box::new(
        Meta::new(Secret::new("meta app secret").unwrap()).verify_token(Secret::new("meatyhamhock").unwrap()),
    )
}

/// Row 12: Meta's verification GET needs no key, so its refusals are logged
/// within the rejection log's budget: a flood of wrong tokens writes one
/// `warn` line per interval, not one per request.
#[tokio::test]
async fn meta_get_refusals_are_rate_limited_in_the_log() {
    let logs = Logs::capture();
    let layer =
        WebhookLayer::new(meta_with_token()).rejection_log_interval(std::time::Duration::from_secs(3600));
    let service = tower::ServiceBuilder::new()
        .layer(layer)
        .service(tower::service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::new())))
        }));
    for i in 0..50 {
        let uri = format!("/webhooks?hub.mode=subscribe&hub.challenge=c{i}&hub.verify_token=wrong");
        let request = Request::get(uri).body(Full::new(Bytes::new())).unwrap();
        let status = service.clone().oneshot(request).await.unwrap().status();
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let warned = logs.lines_with(&["WARN", "handshake refused"]);
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(logs.lines_with(&["WARN", "meta verification refused"]).is_empty());
}

/// Row 13: a handshake's `text/plain` echo of the sender's text carries
/// `X-Content-Type-Options: nosniff`.
#[tokio::test]
async fn handshake_echoes_are_not_sniffed() {
    let service = tower::ServiceBuilder::new()
        .layer(WebhookLayer::new(meta_with_token()))
        .service(tower::service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::new())))
        }));
    let uri = "/webhooks?hub.mode=subscribe&hub.challenge=%3Chtml%3E&hub.verify_token=meatyhamhock";
    let request = Request::get(uri).body(Full::new(Bytes::new())).unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
}

/// A body that sends a first chunk, then nothing, for ever.
struct Stall(Option<Bytes>);

impl http_body::Body for Stall {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        match self.0.take() {
            Some(chunk) => std::task::Poll::Ready(Some(Ok(http_body::Frame::data(chunk)))),
            None => std::task::Poll::Pending,
        }
    }
}

type Boxed = http_body_util::combinators::BoxBody<Bytes, Infallible>;

fn petstore() -> Spec {
    Spec::petstore(Secret::new("petstore secret").unwrap())
}

/// A request carrying petstore's signature header, whose body stalls.
fn stalled(n: usize) -> Request<Boxed> {
    use http_body_util::BodyExt as _;
    let (parts, _) =
        testing::signed_request::<Full<Bytes>>(&petstore(), "{}", &format!("evt_stall_{n}")).into_parts();
    Request::from_parts(parts, Stall(Some(Bytes::from_static(b"{\"id\":"))).boxed())
}

fn genuine_petstore(id: &str) -> Request<Boxed> {
    use http_body_util::BodyExt as _;
    let body = format!(r#"{{"id":"{id}","type":"order.created","created":1700000000,"data":{{}}}}"#);
    testing::signed_request::<Full<Bytes>>(&petstore(), body, id)
        .map(|b| b.map_err(|never| match never {}).boxed())
}

/// Row 4: bodies that stall after the signature header's name take no
/// handler's slot, so with every handler's slot's worth of them pending a
/// genuine delivery is still handled; past the read limit, a stalled body
/// is refused `503` at once, and each stalled one ends within the idle
/// timeout.
#[tokio::test(start_paused = true)]
async fn a_genuine_delivery_gets_through_while_stalled_bodies_fill_the_reads() {
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async move {
            let guard = Arc::new(LruGuard::new(100));
            let calls = Arc::new(AtomicUsize::new(0));
            let layer = WebhookLayer::new(Box::new(petstore()) as Box<dyn Scheme>)
                .guard(Arc::clone(&guard))
                .concurrency_limit(2)
                .concurrent_reads(2);
            let service = counting(layer, &calls);
            let mut pending = Vec::new();
            for n in 0..2 {
                let service = service.clone();
                pending.push(tokio::task::spawn_local(async move {
                    service.oneshot(stalled(n)).await.unwrap()
                }));
            }
            // Let both reach their stalled read.
            for _ in 0..10 {
                tokio::task::yield_now().await;
            }
            let refused = service.clone().oneshot(stalled(9)).await.unwrap();
            assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(
                refused.extensions().get::<tower_webhook::Rejection>(),
                Some(&tower_webhook::Rejection::Overloaded { limit: 2 })
            );
            for id in ["evt_genuine_1", "evt_genuine_2", "evt_genuine_3"] {
                let status = service
                    .clone()
                    .oneshot(genuine_petstore(id))
                    .await
                    .unwrap()
                    .status();
                assert_eq!(status, StatusCode::OK, "{id}");
            }
            assert_eq!(calls.load(Ordering::SeqCst), 3);
            for stalled in pending {
                let response = stalled.await.unwrap();
                assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
            }
        })
        .await;
}

/// Row 5: asymmetric candidates are capped at the number of keys + 1, so a
/// request cannot ask for 16 curve verifications; a rotation's two
/// signatures (one stale) still verify.
#[tokio::test]
async fn asymmetric_candidates_are_capped_at_keys_plus_one() {
    let preset = testing::preset("discord-ed25519").unwrap();
    let (body, headers) = genuine(preset, "1234");
    let genuine_sig = headers["x-signature-ed25519"].clone();
    let with = |forged: u8| {
        let mut h = headers.clone();
        h.remove("x-signature-ed25519");
        for i in 0..forged {
            h.append(
                "x-signature-ed25519",
                HeaderValue::try_from(hex::encode([i + 1; 64])).unwrap(),
            );
        }
        h.append("x-signature-ed25519", genuine_sig.clone());
        h
    };
    let scheme = || (preset.scheme)(&(preset.test_keys)().0, PUBLIC_URL).unwrap();
    let run = |headers: HeaderMap| {
        let mut req = request("/webhooks", &[], body.clone());
        *req.headers_mut() = headers;
        send(scheme(), req)
    };
    assert_eq!(
        run(with(1)).await,
        (StatusCode::OK, 1),
        "one stale and the genuine: a rotation"
    );
    assert_eq!(
        run(with(2)).await,
        (StatusCode::UNAUTHORIZED, 0),
        "three for one key"
    );
    assert_eq!(run(with(15)).await, (StatusCode::UNAUTHORIZED, 0));
}

/// Row 6: what `RecentDeliveries` (the example's `/deliveries`) keeps shows
/// a signature id as a short hash, and a `401` as its kind, no clock value.
#[tokio::test]
async fn recent_deliveries_hide_signature_ids_and_the_clock() {
    use tower_webhook::observe::RecentDeliveries;
    let recent = RecentDeliveries::new(10);
    let preset = testing::preset("discord-ed25519").unwrap();
    let scheme = || (preset.scheme)(&(preset.test_keys)().0, PUBLIC_URL).unwrap();
    let layer = |scheme| {
        WebhookLayer::new(scheme)
            .clock(reliability_support::now)
            .observer(recent.clone())
    };
    let service = |scheme| {
        tower::ServiceBuilder::new()
            .layer(layer(scheme))
            .service(tower::service_fn(|_: Request<Full<Bytes>>| async {
                Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::new())))
            }))
    };
    // Keyed on its signature: SendGrid.
    let sendgrid = testing::preset("sendgrid-ecdsa").unwrap();
    let (body, headers) = genuine(sendgrid, "x");
    let mut req = request("/webhooks", &[], body);
    *req.headers_mut() = headers;
    let sg = (sendgrid.scheme)(&(sendgrid.test_keys)().0, PUBLIC_URL).unwrap();
    assert_eq!(service(sg).oneshot(req).await.unwrap().status(), StatusCode::OK);
    // A stale delivery: 401.
    let signer = (preset.signer)(&(preset.test_keys)().1, PUBLIC_URL).unwrap();
    let (body, headers) = signer.sign_delivery(Bytes::from(preset_body(preset, "1234")), "1234", NOW - 3600);
    let mut req = request("/webhooks", &[], body);
    *req.headers_mut() = headers;
    assert_eq!(
        service(scheme()).oneshot(req).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    let records = recent.snapshot();
    let shown = serde_json::to_string(&records).unwrap();
    // Newest first: the 401, then SendGrid's delivery.
    let id = records[1].event_id.as_deref().unwrap();
    assert!(id.starts_with("sig#") && id.len() == 4 + 16, "{id}");
    assert!(!shown.contains("sig:"), "{shown}");
    assert_eq!(records[0].reason.as_deref(), Some("timestamp_too_old"));
    assert!(!shown.contains("3600"), "{shown}");
}

/// Row 10: `FileDeadLetters` is capped: past its size a letter is refused,
/// so the delivery is `503` and released (nothing lost, disk not filled).
#[tokio::test]
async fn file_dead_letters_refuse_letters_past_their_cap() {
    let dir = std::env::temp_dir().join(format!("tw-security-cap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("letters.jsonl");
    let _ = std::fs::remove_file(&path);
    let file = FileDeadLetters::open(&path).unwrap().max_bytes(1500);
    let guard = Arc::new(LruGuard::new(100));
    let app = tower::ServiceBuilder::new()
        .layer(
            WebhookLayer::new(GitLab::new(Secret::new(GITLAB_TOKEN).unwrap()))
                .guard(Arc::clone(&guard))
                .dead_letters(file),
        )
        .service(tower::service_fn(permanent));
    let mut statuses = Vec::new();
    for n in 0..6 {
        // Distinct bodies: a letter with a body kept already is not written again.
        let delivery = request(
            "/webhooks",
            &[
                ("x-gitlab-token", GITLAB_TOKEN),
                ("idempotency-key", &format!("evt-cap-{n}")),
            ],
            format!(r#"{{"object_kind":"push","n":{n}}}"#),
        );
        let status = app.clone().oneshot(delivery).await.unwrap().status();
        statuses.push(status.as_u16());
    }
    let written = std::fs::metadata(&path).unwrap().len();
    assert!(written <= 1500, "{written}");
    assert!(statuses.contains(&200) && statuses.contains(&503), "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        FileDeadLetters::read(&path).unwrap().len()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
