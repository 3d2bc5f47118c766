//! `WebhookLayer::decode_as`: the layer parses the payload once, for the
//! `Webhook<T>` extractor, and answers every delivery as it does without it.
//!
//! Deliveries are signed here as the source article's Node code signs them
//! (`X-Petstore-Signature`: the hex HMAC-SHA256 of the raw body), so the
//! bytes are exactly the ones written in each test.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use hmac::{Hmac as HmacImpl, Mac};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use proptest::prelude::*;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use tower::ServiceExt;
use tower_webhook::extract::Webhook;
use tower_webhook::scheme::Spec;
use tower_webhook::{Event, Secret, Verified, WebhookLayer};

const ARTICLE_EVENT: &str = r#"{"id":"evt_123","type":"order.completed","created":1710331200,"data":{"orderId":"123","status":"completed","completedAt":"2024-01-01T12:00:00Z"}}"#;
const SECRET: &str = "petstore-article-secret-0123456789";
/// The article's Node code on `ARTICLE_EVENT` with `SECRET`:
/// `crypto.createHmac('sha256', secret).update(body).digest('hex')`
/// (recorded with Node 20; `tests/real_senders.rs` holds the same).
const ARTICLE_SIGNATURE: &str = "3abf637cc2c282b240f26624efa0069f54baeb5efed3553e3c606fcb32c69d56";

/// The article's request for `body`, signed over its raw bytes as its Node
/// code signs them (the article's own event gets the signature Node made).
fn request(body: &str) -> Request<Body> {
    let signature = if body == ARTICLE_EVENT {
        ARTICLE_SIGNATURE.to_owned()
    } else {
        let mut mac = HmacImpl::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(body.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    };
    Request::post("/webhooks")
        .header("content-type", "application/json")
        .header("x-petstore-event", "order.completed")
        .header("x-petstore-signature", signature)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn layer() -> WebhookLayer<Spec> {
    WebhookLayer::new(Spec::petstore(Secret::new(SECRET).unwrap()))
}

async fn send(app: &Router, body: &str) -> (StatusCode, Bytes) {
    let response = app.clone().oneshot(request(body)).await.unwrap();
    let status = response.status();
    (status, response.into_body().collect().await.unwrap().to_bytes())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Order {
    order_id: String,
    status: String,
    completed_at: Option<String>,
}

thread_local! {
    /// `Counted` payloads parsed so far on this thread (each test runs on a
    /// current-thread runtime of its own thread).
    static PARSED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn parsed() -> usize {
    PARSED.with(std::cell::Cell::get)
}

/// A payload that counts every parse.
#[derive(Debug)]
struct Counted<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Counted<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        PARSED.with(|n| n.set(n.get() + 1));
        T::deserialize(deserializer).map(Counted)
    }
}

/// For each delivery a handler got: the parses counted when its route was
/// called, the parses counted when it had its event, and the event id.
type Seen = Arc<Mutex<Vec<(usize, usize, String)>>>;

/// A route whose handler takes a `Webhook<Counted<T>>` behind `layer`, and
/// what it saw.
fn counting<T>(layer: WebhookLayer<impl tower_webhook::Scheme>) -> (Router, Seen)
where
    T: serde::de::DeserializeOwned + Send + 'static,
{
    let seen = Arc::new(Mutex::new(Vec::new()));
    let handler = {
        let seen = Arc::clone(&seen);
        move |Webhook { verified, .. }: Webhook<Counted<T>>,
              axum::Extension(Before(before)): axum::Extension<Before>| async move {
            seen.lock()
                .unwrap()
                .push((before, parsed(), verified.id().to_owned()));
            StatusCode::OK
        }
    };
    let note = |mut request: Request<Body>, next: axum::middleware::Next| {
        request.extensions_mut().insert(Before(parsed()));
        next.run(request)
    };
    let app = Router::new().route(
        "/webhooks",
        // `note` runs inside the layer: axum's middleware take axum's `Body`,
        // which the route gives them from the layer's `Full<Bytes>`.
        post(handler)
            .route_layer(axum::middleware::from_fn(note))
            .route_layer(layer.decode_as::<Counted<T>>()),
    );
    (app, seen)
}

/// The parses counted when the request reached the handler's route.
#[derive(Clone, Copy)]
struct Before(usize);

#[tokio::test]
async fn the_articles_event_is_parsed_once_in_the_layer_and_handed_to_the_extractor() {
    let (app, seen) = counting::<Event<Order>>(layer());
    let start = parsed();
    let (status, _) = send(&app, ARTICLE_EVENT).await;
    assert_eq!(status, StatusCode::OK);
    // Parsed by the layer before the handler's route was called, and not
    // again by the extractor.
    assert_eq!(
        *seen.lock().unwrap(),
        [(start + 1, start + 1, "evt_123".to_owned())]
    );

    // The redelivery is acknowledged by the guard: the layer parses it (it
    // reads the id while parsing), and no handler runs.
    let (status, body) = send(&app, ARTICLE_EVENT).await;
    assert_eq!(
        (status, &body[..]),
        (StatusCode::OK, &br#"{"duplicate":true}"#[..])
    );
    assert_eq!(parsed(), start + 2);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn the_handler_gets_the_articles_event_as_sent() {
    let app = Router::new().route(
        "/webhooks",
        post(|Webhook { event, verified }: Webhook<Event<Order>>| async move {
            format!(
                "{} {:?} {} {} {} {:?}",
                verified.id(),
                verified.event_type(),
                event.created,
                event.data.order_id,
                event.data.status,
                event.data.completed_at
            )
        })
        .layer(layer().decode_as::<Event<Order>>()),
    );
    let (status, body) = send(&app, ARTICLE_EVENT).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        r#"evt_123 Some("order.completed") 1710331200 123 completed Some("2024-01-01T12:00:00Z")"#
    );
}

/// A delivery signed by `scheme` (with `id`, where the scheme sends one)
/// through a `counting` route behind it: the layer parses it once, before
/// the route is called, and the extractor takes that parse. The event id
/// the handler saw is returned.
async fn parses_once_behind<S>(scheme: S, body: &str, id: &str) -> String
where
    S: tower_webhook::Scheme + tower_webhook::testing::Sign + Clone,
{
    let name = std::any::type_name::<S>();
    let (app, seen) = counting::<serde_json::Value>(WebhookLayer::new(scheme.clone()));
    let start = parsed();
    let request = tower_webhook::testing::signed_request::<Body>(&scheme, body.to_owned(), id);
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{name}");
    let seen = seen.lock().unwrap().clone();
    let [(before, after, id)] = &seen[..] else {
        panic!("{name}: one delivery handled, got {seen:?}");
    };
    assert_eq!((*before, *after), (start + 1, start + 1), "{name}");
    id.clone()
}

/// A documented sample delivery from `tests/fixtures/samples/`: its raw
/// body, and the value of its header `id_header`.
fn sample(json: &str, id_header: &str) -> (String, String) {
    let file: serde_json::Value = serde_json::from_str(json).unwrap();
    let id = file["headers"][id_header].as_str().unwrap_or_default().to_owned();
    (file["body"].as_str().unwrap().to_owned(), id)
}

/// The presets decode in the layer too: GitHub and Standard Webhooks read
/// the id from a header, Stripe from the body (their documented sample
/// payloads); Polar from a header and Meta's notifications from the
/// signature (no sample of theirs is kept, so small bodies of their shape).
/// Each scheme that wraps a `Spec` passes the decoding on.
#[tokio::test]
async fn presets_parse_once_in_the_layer() {
    use tower_webhook::scheme::{GitHub, Meta, Polar, StandardWebhooks, Stripe};

    let (body, id) = sample(
        include_str!("fixtures/samples/github_star_deleted.json"),
        "X-GitHub-Delivery",
    );
    let github = GitHub::new(Secret::new("github secret").unwrap());
    assert_eq!(parses_once_behind(github, &body, &id).await, id);

    let (body, _) = sample(
        include_str!("fixtures/samples/stripe_setup_intent_created.json"),
        "",
    );
    let stripe = Stripe::new(Secret::new("whsec_stripe secret").unwrap());
    assert_eq!(
        parses_once_behind(stripe, &body, "evt_1NG8Du2eZvKYlo2CUI79vXWy").await,
        "evt_1NG8Du2eZvKYlo2CUI79vXWy"
    );

    let (body, id) = sample(
        include_str!("fixtures/samples/standard_webhooks.json"),
        "webhook-id",
    );
    let standard =
        StandardWebhooks::new(StandardWebhooks::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap());
    assert_eq!(parses_once_behind(standard, &body, &id).await, id);

    let polar = Polar::new(Polar::secret("polar_whs_test secret").unwrap());
    let body = r#"{"type":"order.created","data":{"id":"o_1"}}"#;
    assert_eq!(
        parses_once_behind(polar, body, "msg_polar_1").await,
        "msg_polar_1"
    );

    let meta = Meta::new(Secret::new("meta app secret").unwrap());
    let body = r#"{"object":"page","entry":[{"id":"1","time":1700000000,"changes":[]}]}"#;
    let id = parses_once_behind(meta, body, "meta_1").await;
    assert!(id.starts_with("sig:"), "{id}");
}

/// A payload type whose `Deserialize` panics.
#[derive(Debug)]
struct Panics;

impl<'de> Deserialize<'de> for Panics {
    fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        panic!("a Deserialize that panics")
    }
}

/// The outcome of every delivery, as an observer hears it.
#[derive(Clone, Default)]
struct Outcomes(Arc<Mutex<Vec<&'static str>>>);

impl tower_webhook::observe::Observer for Outcomes {
    fn delivery(&self, report: &tower_webhook::observe::Report<'_>) {
        self.0.lock().unwrap().push(report.outcome.label());
    }
}

#[tokio::test]
async fn a_deserialize_that_panics_is_a_handler_panic_as_without_it() {
    for decode in [false, true] {
        let outcomes = Outcomes::default();
        let layer = layer().observer(outcomes.clone());
        let layer = if decode {
            layer.decode_as::<Panics>()
        } else {
            layer
        };
        let app = Router::new().route(
            "/webhooks",
            post(|_: Webhook<Panics>| async { StatusCode::OK }).layer(layer),
        );
        // Released for the retry, which is tried again (and panics again).
        for _ in 0..2 {
            let (status, _) = send(&app, ARTICLE_EVENT).await;
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "decode_as: {decode}");
        }
        assert_eq!(
            *outcomes.0.lock().unwrap(),
            ["handler_panicked", "handler_panicked"],
            "decode_as: {decode}"
        );
    }
}

#[tokio::test]
async fn a_handler_of_another_type_gets_it_parsed_from_the_bytes() {
    let app = Router::new().route(
        "/webhooks",
        post(
            |Webhook { event, .. }: Webhook<Event<serde_json::Value>>| async move {
                event.data["orderId"].as_str().unwrap_or_default().to_owned()
            },
        )
        .layer(layer().decode_as::<Event<Order>>()),
    );
    let (status, body) = send(&app, ARTICLE_EVENT).await;
    assert_eq!((status, &body[..]), (StatusCode::OK, &b"123"[..]));
}

#[tokio::test]
async fn a_repeated_id_is_refused_as_without_it() {
    for decode in [false, true] {
        let layer = if decode {
            layer().decode_as::<serde_json::Value>()
        } else {
            layer()
        };
        let app = Router::new().route(
            "/webhooks",
            post(|_: Webhook<serde_json::Value>| async { StatusCode::OK }).layer(layer),
        );
        // `serde_json::Value` keeps the last `id`; the walk refuses the repeat.
        let (status, body) = send(
            &app,
            r#"{"id":"evt_1","type":"order.completed","id":"evt_2","data":{}}"#,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "decode_as: {decode}");
        assert_eq!(body, "duplicate key in body", "decode_as: {decode}");
    }
}

/// What a route answered, and what its handler was given.
#[derive(Debug, Clone, PartialEq)]
struct Answer {
    status: StatusCode,
    body: Bytes,
    handled: Vec<String>,
}

/// A route that records what its `Webhook<T>` handler was given.
fn recording<T>(decode: bool) -> (Router, Arc<Mutex<Vec<String>>>)
where
    T: serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let handled = Arc::new(Mutex::new(Vec::new()));
    let record = {
        let handled = Arc::clone(&handled);
        move |Webhook { event, verified }: Webhook<T>| async move {
            let seen = format!("{:?} {:?} {event:?}", verified.id(), verified.event_type());
            handled.lock().unwrap().push(seen);
            StatusCode::OK
        }
    };
    let layer = if decode { layer().decode_as::<T>() } else { layer() };
    (
        Router::new().route("/webhooks", post(record).layer(layer)),
        handled,
    )
}

async fn answers<T>(decode: bool, bodies: &[String]) -> Vec<Answer>
where
    T: serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let (app, handled) = recording::<T>(decode);
    let mut answers = Vec::new();
    for body in bodies {
        let (status, response) = send(&app, body).await;
        let handled = std::mem::take(&mut *handled.lock().unwrap());
        answers.push(Answer {
            status,
            body: response,
            handled,
        });
    }
    answers
}

/// Envelope-like bodies: keys from a small set (so that `id` and `type`
/// repeat, go missing, or are spelt with escapes), values that are mostly
/// strings and integers, sometimes objects or other JSON, and now and then
/// a body that is cut short or has text after it.
fn body() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("id"),
        Just("type"),
        Just("data"),
        Just("created"),
        Just("other")
    ];
    let value = prop_oneof![
        3 => "[a-z_0-9]{1,6}".prop_map(|s| format!("\"{s}\"")),
        1 => Just(r#""e\u0031""#.to_owned()),
        1 => any::<u32>().prop_map(|n| n.to_string()),
        1 => Just(r#"{"orderId":"1","status":"created"}"#.to_owned()),
        1 => Just(r#"{"orderId":7}"#.to_owned()),
        1 => Just("null".to_owned()),
        1 => Just("[1,2]".to_owned()),
    ];
    let entry = (key, any::<bool>(), value);
    let ending = prop_oneof![8 => Just(""), 1 => Just(" x"), 1 => Just("cut")];
    (prop::collection::vec(entry, 0..6), ending).prop_map(|(entries, ending)| {
        let members: Vec<String> = entries
            .into_iter()
            .map(|(key, escaped, value)| {
                let key = if escaped {
                    key.chars().map(|c| format!("\\u{:04x}", c as u32)).collect()
                } else {
                    key.to_owned()
                };
                format!("\"{key}\":{value}")
            })
            .collect();
        let body = format!("{{{}}}", members.join(","));
        match ending {
            "cut" => body[..body.len() - 1].to_owned(),
            ending => body + ending,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Every body gets the same answer, and its handler the same id, type
    /// and event, with `decode_as` as without it: for a type that reads the
    /// id and type, one that skips them, `serde_json::Value`, and a
    /// `RawValue` (for which `serde_json` shows a made-up map, not the body's).
    #[test]
    fn every_delivery_is_answered_as_without_decode_as(bodies in prop::collection::vec(body(), 1..6)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            prop_assert_eq!(answers::<Event<serde_json::Value>>(true, &bodies).await, answers::<Event<serde_json::Value>>(false, &bodies).await);
            prop_assert_eq!(answers::<DataOnly>(true, &bodies).await, answers::<DataOnly>(false, &bodies).await);
            prop_assert_eq!(answers::<serde_json::Value>(true, &bodies).await, answers::<serde_json::Value>(false, &bodies).await);
            prop_assert_eq!(answers::<Box<RawValue>>(true, &bodies).await, answers::<Box<RawValue>>(false, &bodies).await);
            Ok(())
        })?;
    }
}

/// Reads `data` only: `id` and `type` are skipped as unknown fields.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct DataOnly {
    data: serde_json::Value,
}

#[tokio::test]
async fn the_verified_extension_is_unchanged() {
    let app = Router::new().route(
        "/webhooks",
        post(|axum::Extension(verified): axum::Extension<Verified>| async move { format!("{:?}", verified) })
            .layer(layer().decode_as::<serde_json::Value>()),
    );
    let plain = Router::new().route(
        "/webhooks",
        post(|axum::Extension(verified): axum::Extension<Verified>| async move { format!("{:?}", verified) })
            .layer(layer()),
    );
    assert_eq!(send(&app, ARTICLE_EVENT).await, send(&plain, ARTICLE_EVENT).await);
}
