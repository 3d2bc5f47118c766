//! The `Webhook<T>` extractor on an axum route behind `WebhookLayer`, driven
//! with `oneshot`: each rejection, retryable and permanent failures, unknown
//! types, and the verified metadata.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_webhook::extract::Webhook;
use tower_webhook::handler::HandlerError;
use tower_webhook::scheme::{Spec, StandardWebhooks};
use tower_webhook::testing::{self, Sign};
use tower_webhook::{LruGuard, Scheme, Secret, Verified, WebhookLayer};

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Order {
    order_id: String,
    status: String,
    /// What the test handler should do with this order.
    #[serde(default)]
    outcome: Outcome,
}

#[derive(Debug, Default, Clone, Copy, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    #[default]
    Ok,
    /// Fails retryably the first time this handler runs, then succeeds.
    FailOnce,
    Permanent,
    Permanent422,
}

#[derive(Debug, serde::Deserialize)]
#[serde(tag = "type")]
enum PetstoreEvent {
    #[serde(rename = "order.created")]
    OrderCreated { data: Order },
    #[serde(other)]
    Unknown,
}

/// The id, type and timestamp of an event, as the extractor gave them.
type Metadata = (String, Option<String>, Option<i64>);

/// What the handler saw.
#[derive(Debug, Default)]
struct Seen {
    orders: AtomicUsize,
    unknown: AtomicUsize,
    /// id, type and timestamp of the last event.
    last: Mutex<Option<Metadata>>,
}

impl Seen {
    fn orders(&self) -> usize {
        self.orders.load(Ordering::SeqCst)
    }
}

async fn handler(State(seen): State<Arc<Seen>>, webhook: Webhook<PetstoreEvent>) -> Result<(), HandlerError> {
    *seen.last.lock().unwrap() = Some((
        webhook.id().to_owned(),
        webhook.event_type().map(str::to_owned),
        webhook.timestamp(),
    ));
    match webhook.into_inner() {
        PetstoreEvent::OrderCreated { data } => {
            let n = seen.orders.fetch_add(1, Ordering::SeqCst) + 1;
            assert!(!data.order_id.is_empty());
            assert!(!data.status.is_empty());
            match data.outcome {
                Outcome::Ok => Ok(()),
                Outcome::FailOnce if n == 1 => Err(HandlerError::retryable("database unreachable")),
                Outcome::FailOnce => Ok(()),
                Outcome::Permanent => Err(HandlerError::permanent("order was deleted")),
                Outcome::Permanent422 => Err(HandlerError::permanent("order was deleted")
                    .with_status(StatusCode::UNPROCESSABLE_ENTITY)),
            }
        }
        PetstoreEvent::Unknown => {
            seen.unknown.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }
}

/// The route without the layer.
fn bare_app(seen: &Arc<Seen>) -> Router {
    Router::new()
        .route("/webhooks", post(handler))
        .with_state(Arc::clone(seen))
}

/// The route behind the layer, with `guard` as its replay guard.
fn app<Sch: Scheme>(scheme: Sch, guard: &Arc<LruGuard>, seen: &Arc<Seen>) -> Router {
    bare_app(seen).layer(WebhookLayer::new(scheme).guard(Arc::clone(guard)))
}

fn petstore() -> Spec {
    Spec::petstore(Secret::new("extractor test secret").unwrap())
}

fn standard() -> StandardWebhooks {
    StandardWebhooks::new(StandardWebhooks::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap())
}

fn order(id: &str, data: &str) -> String {
    format!(r#"{{"id":"{id}","type":"order.created","created":1700000000,"data":{data}}}"#)
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

async fn signed(app: &Router, scheme: &impl Sign, id: &str, body: String) -> (StatusCode, String) {
    send(app, testing::signed_request(scheme, body, id)).await
}

#[tokio::test]
async fn payload_that_is_not_json_becomes_a_dead_letter_without_calling_the_handler() {
    // Standard Webhooks takes the id from a header, so the layer lets a
    // verified non-JSON payload through to the extractor.
    let (guard, seen) = (Arc::default(), Arc::<Seen>::default());
    let app = app(standard(), &guard, &seen);

    let (status, body) = signed(&app, &standard(), "msg_1", "{\"type\": oops".to_owned()).await;

    // The extractor answers 400; the layer keeps the delivery as a dead
    // letter and acknowledges it.
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "event cannot be processed; kept as a dead letter");
    assert!(seen.last.lock().unwrap().is_none(), "handler ran");
    assert!(guard.is_done("msg_1"));
}

#[tokio::test]
async fn json_that_does_not_fit_the_type_becomes_a_dead_letter_without_calling_the_handler() {
    let (scheme, guard, seen) = (petstore(), Arc::default(), Arc::<Seen>::default());
    let app = app(scheme.clone(), &guard, &seen);

    let (status, body) = signed(
        &app,
        &scheme,
        "evt_1",
        order("evt_1", r#"{"orderId":7,"status":"created"}"#),
    )
    .await;

    // The extractor answers 422; the layer keeps the delivery as a dead
    // letter and acknowledges it.
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "event cannot be processed; kept as a dead letter");
    assert!(seen.last.lock().unwrap().is_none(), "handler ran");
    assert!(guard.is_done("evt_1"));
}

#[tokio::test]
async fn route_without_the_layer_is_500_naming_it_and_never_runs_the_handler() {
    let seen = Arc::<Seen>::default();
    let app = bare_app(&seen);
    // Even a correctly signed delivery: nothing verified it here.
    let request = testing::signed_request(
        &petstore(),
        order("evt_1", r#"{"orderId":"o1","status":"created"}"#),
        "evt_1",
    );

    let (status, body) = send(&app, request).await;

    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("WebhookLayer"), "{body}");
    assert!(seen.last.lock().unwrap().is_none(), "handler ran unverified");
}

#[tokio::test]
async fn verified_extractor_without_the_layer_is_500_too() {
    let app = Router::new().route(
        "/webhooks",
        post(|verified: Verified| async move { verified.id().to_owned() }),
    );
    let request = Request::post("/webhooks").body(Body::from("{}")).unwrap();

    let (status, body) = send(&app, request).await;

    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("WebhookLayer"), "{body}");
}

#[tokio::test]
async fn extractor_gives_the_schemes_id_type_and_timestamp() {
    let (guard, seen) = (Arc::default(), Arc::<Seen>::default());
    let app = app(standard(), &guard, &seen);
    let request = testing::signed_request_at(
        &standard(),
        order("body_id", r#"{"orderId":"o1","status":"created"}"#),
        "msg_header_id",
        testing::now() - 5,
    );
    let timestamp = request.headers()["webhook-timestamp"]
        .to_str()
        .unwrap()
        .parse::<i64>()
        .unwrap();

    let (status, _) = send(&app, request).await;

    assert_eq!(status, StatusCode::OK);
    let last = seen.last.lock().unwrap().clone();
    // The id is the scheme's (signed header), not the body's; Standard
    // Webhooks reads no type.
    assert_eq!(last, Some(("msg_header_id".to_owned(), None, Some(timestamp))));
}

#[tokio::test]
async fn permanent_failure_answers_200_and_a_redelivery_is_a_duplicate() {
    let (scheme, guard, seen) = (petstore(), Arc::default(), Arc::<Seen>::default());
    let app = app(scheme.clone(), &guard, &seen);
    let body = order(
        "evt_1",
        r#"{"orderId":"o1","status":"created","outcome":"permanent"}"#,
    );

    let (status, text) = signed(&app, &scheme, "evt_1", body.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!text.contains("deleted"), "the error stays in the log: {text}");

    let (status, text) = signed(&app, &scheme, "evt_1", body).await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, r#"{"duplicate":true}"#));
    assert_eq!(seen.orders(), 1, "the redelivery reached the handler");
}

#[tokio::test]
async fn permanent_failure_with_422_still_stops_the_retries() {
    let (scheme, guard, seen) = (petstore(), Arc::<LruGuard>::default(), Arc::<Seen>::default());
    // The layer answers dead letters with its own status; here the 422.
    let app = bare_app(&seen).layer(
        WebhookLayer::new(scheme.clone())
            .guard(Arc::clone(&guard))
            .dead_letter_status(StatusCode::UNPROCESSABLE_ENTITY),
    );
    let body = order(
        "evt_1",
        r#"{"orderId":"o1","status":"created","outcome":"permanent422"}"#,
    );

    assert_eq!(
        signed(&app, &scheme, "evt_1", body.clone()).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(signed(&app, &scheme, "evt_1", body).await.0, StatusCode::OK);
    assert_eq!(seen.orders(), 1);
}

#[tokio::test]
async fn retryable_failure_answers_500_and_the_retry_is_processed() {
    let (scheme, guard, seen) = (petstore(), Arc::default(), Arc::<Seen>::default());
    let app = app(scheme.clone(), &guard, &seen);
    let body = order(
        "evt_1",
        r#"{"orderId":"o1","status":"created","outcome":"fail_once"}"#,
    );

    let (status, text) = signed(&app, &scheme, "evt_1", body.clone()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!text.contains("database"), "the error stays in the log: {text}");
    assert!(!guard.is_done("evt_1"));

    let (status, text) = signed(&app, &scheme, "evt_1", body).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(text, r#"{"duplicate":true}"#);
    assert_eq!(seen.orders(), 2, "the retry reached the handler");
    assert!(guard.is_done("evt_1"));
}

#[tokio::test]
async fn unknown_type_reaches_the_catch_all_and_is_acknowledged() {
    let (scheme, guard, seen) = (petstore(), Arc::default(), Arc::<Seen>::default());
    let app = app(scheme.clone(), &guard, &seen);
    let body = r#"{"id":"evt_9","type":"pet.adopted","created":1,"data":{"pet":"Rex","legs":4}}"#;

    let (status, _) = signed(&app, &scheme, "evt_9", body.to_owned()).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(seen.unknown.load(Ordering::SeqCst), 1);
    assert_eq!(seen.orders(), 0);
    assert!(
        guard.is_done("evt_9"),
        "acknowledged, so a redelivery is a duplicate"
    );
    let last = seen.last.lock().unwrap().clone();
    assert_eq!(last.and_then(|l| l.1).as_deref(), Some("pet.adopted"));
}

#[tokio::test]
async fn raw_json_value_takes_any_verified_json() {
    let guard = Arc::<LruGuard>::default();
    let scheme = petstore();
    let app = Router::new()
        .route(
            "/webhooks",
            post(|Webhook { event, .. }: Webhook<serde_json::Value>| async move {
                event["data"]["anything"].to_string()
            }),
        )
        .layer(WebhookLayer::new(scheme.clone()).guard(Arc::clone(&guard)));
    let body = r#"{"id":"evt_1","type":"whatever","data":{"anything":[1,2]}}"#;

    let (status, text) = signed(&app, &scheme, "evt_1", body.to_owned()).await;

    assert_eq!((status, text.as_str()), (StatusCode::OK, "[1,2]"));
}

#[test]
fn rejection_statuses_follow_the_documented_table() {
    use tower_webhook::EventRejection;
    let syntax = serde_json::from_slice::<serde_json::Value>(b"{").unwrap_err();
    let data = serde_json::from_slice::<u8>(b"\"x\"").unwrap_err();
    let cases = [
        (EventRejection::MissingLayer, StatusCode::INTERNAL_SERVER_ERROR),
        (EventRejection::NotJson(syntax), StatusCode::BAD_REQUEST),
        (
            EventRejection::InvalidData(data),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (rejection, status) in cases {
        assert_eq!(rejection.status(), status, "{rejection}");
        let response = axum::response::IntoResponse::into_response(rejection);
        assert_eq!(response.status(), status);
    }
    assert!(EventRejection::MissingLayer.to_string().contains("WebhookLayer"));
}
