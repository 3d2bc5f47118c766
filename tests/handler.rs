//! The `Dispatcher` behind `WebhookLayer`, driven with `oneshot`: routing by
//! type, retryable and permanent failures, unknown types, and the rejections
//! it shares with the extractor.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::{BoxError, ServiceBuilder, ServiceExt};
use tower_webhook::handler::{Dispatcher, HandlerError};
use tower_webhook::scheme::{Spec, StandardWebhooks};
use tower_webhook::testing::{self, Sign};
use tower_webhook::{Event, LruGuard, Scheme, Secret, WebhookLayer};

mod log_capture;
use log_capture::Logs;

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Order {
    order_id: String,
    status: String,
}

/// How many times each handler ran.
#[derive(Debug, Default)]
struct Calls {
    created: AtomicUsize,
    cancelled: AtomicUsize,
}

impl Calls {
    fn created(&self) -> usize {
        self.created.load(Ordering::SeqCst)
    }
    fn cancelled(&self) -> usize {
        self.cancelled.load(Ordering::SeqCst)
    }
}

fn petstore() -> Spec {
    Spec::petstore(Secret::new("dispatcher test secret").unwrap())
}

fn standard() -> StandardWebhooks {
    StandardWebhooks::new(StandardWebhooks::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap())
}

fn envelope(id: &str, event_type: &str, data: &str) -> String {
    format!(r#"{{"id":"{id}","type":"{event_type}","created":1700000000,"data":{data}}}"#)
}

/// `POST`s `body` signed by `scheme` through the layer to `dispatcher`, with
/// `guard` as the replay guard; returns the status and body.
async fn deliver<Sch, E>(
    scheme: &Sch,
    guard: &Arc<LruGuard>,
    dispatcher: &Dispatcher<E>,
    id: &str,
    body: String,
) -> (StatusCode, Bytes)
where
    Sch: Scheme + Sign + Clone,
    E: Into<HandlerError> + Send + 'static,
{
    let service = ServiceBuilder::new()
        .layer(WebhookLayer::new(scheme.clone()).guard(Arc::clone(guard)))
        .service(dispatcher.clone());
    let request = testing::signed_request::<Full<Bytes>>(scheme, body, id);
    let response = service.oneshot(request).await.unwrap();
    let status = response.status();
    (status, response.into_body().collect().await.unwrap().to_bytes())
}

/// A dispatcher with `order.created` counting into `calls` and answering
/// with `outcome`, and `order.cancelled` counting and succeeding.
fn dispatcher<E>(
    calls: &Arc<Calls>,
    outcome: impl Fn(usize) -> Result<(), E> + Send + Sync + 'static,
) -> Dispatcher<E>
where
    E: Send + 'static,
{
    let outcome = Arc::new(outcome);
    let (created, cancelled) = (Arc::clone(calls), Arc::clone(calls));
    Dispatcher::new()
        .on("order.created", move |event: Event<Order>| {
            let (calls, outcome) = (Arc::clone(&created), Arc::clone(&outcome));
            async move {
                assert!(!event.data.order_id.is_empty());
                assert!(!event.data.status.is_empty());
                let n = calls.created.fetch_add(1, Ordering::SeqCst) + 1;
                outcome(n)
            }
        })
        .on("order.cancelled", move |_event: Event<Order>| {
            let calls = Arc::clone(&cancelled);
            async move {
                calls.cancelled.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
}

fn ok(_: usize) -> Result<(), HandlerError> {
    Ok(())
}

#[tokio::test]
async fn routes_each_event_type_to_its_own_handler() {
    let (scheme, guard, calls) = (petstore(), Arc::default(), Arc::default());
    let dispatcher = dispatcher(&calls, ok);

    let body = envelope(
        "evt_1",
        "order.created",
        r#"{"orderId":"ord_1","status":"created"}"#,
    );
    assert_eq!(
        deliver(&scheme, &guard, &dispatcher, "evt_1", body).await.0,
        StatusCode::OK
    );
    assert_eq!((calls.created(), calls.cancelled()), (1, 0));

    let body = envelope(
        "evt_2",
        "order.cancelled",
        r#"{"orderId":"ord_1","status":"created"}"#,
    );
    assert_eq!(
        deliver(&scheme, &guard, &dispatcher, "evt_2", body).await.0,
        StatusCode::OK
    );
    assert_eq!((calls.created(), calls.cancelled()), (1, 1));
    assert!(guard.is_done("evt_1") && guard.is_done("evt_2"));
}

#[tokio::test]
async fn acknowledges_and_logs_an_unknown_type_without_calling_any_handler() {
    let logs = Logs::capture();
    let (scheme, guard, calls) = (petstore(), Arc::default(), Arc::<Calls>::default());
    let dispatcher = dispatcher(&calls, ok);

    // Its data has another shape: the type is looked up before data is read.
    let body = envelope("evt_unknown_type", "pet.adopted", r#"["not","an","order"]"#);
    let (status, _) = deliver(&scheme, &guard, &dispatcher, "evt_unknown_type", body).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!((calls.created(), calls.cancelled()), (0, 0));
    assert!(
        guard.is_done("evt_unknown_type"),
        "acknowledged, so a redelivery is a duplicate"
    );
    let text = logs.text();
    let line = text
        .lines()
        .find(|l| l.contains("no handler for this event type") && l.contains("evt_unknown_type"))
        .unwrap_or_else(|| panic!("no log line for the unknown type in:\n{text}"));
    assert!(line.contains("pet.adopted"), "{line}");
}

#[tokio::test]
async fn answers_unknown_types_with_the_configured_status() {
    let (scheme, guard, calls) = (petstore(), Arc::default(), Arc::<Calls>::default());
    let dispatcher = dispatcher(&calls, ok).unknown_status(StatusCode::ACCEPTED);

    let body = envelope("evt_new", "pet.adopted", "{}");
    let (status, _) = deliver(&scheme, &guard, &dispatcher, "evt_new", body).await;

    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(calls.created(), 0);
}

#[tokio::test]
async fn retryable_failure_answers_500_releases_the_event_and_the_retry_is_processed() {
    let (scheme, guard, calls) = (petstore(), Arc::default(), Arc::<Calls>::default());
    // The first call meets an outage; later ones succeed.
    let dispatcher = dispatcher(&calls, |n| match n {
        1 => Err(HandlerError::retryable("database unreachable")),
        _ => Ok(()),
    });
    let body = envelope(
        "evt_1",
        "order.created",
        r#"{"orderId":"ord_1","status":"created"}"#,
    );

    let (status, text) = deliver(&scheme, &guard, &dispatcher, "evt_1", body.clone()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        !String::from_utf8_lossy(&text).contains("database"),
        "the error stays in the log"
    );
    assert!(!guard.is_done("evt_1"));

    let (status, _) = deliver(&scheme, &guard, &dispatcher, "evt_1", body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(calls.created(), 2, "the retry reached the handler");
    assert!(guard.is_done("evt_1"));
}

#[tokio::test]
async fn permanent_failure_answers_200_and_a_redelivery_is_a_duplicate() {
    let (scheme, guard, calls) = (petstore(), Arc::default(), Arc::<Calls>::default());
    let dispatcher = dispatcher(&calls, |_| {
        Err(HandlerError::permanent("order ord_1 was deleted"))
    });
    let body = envelope(
        "evt_1",
        "order.created",
        r#"{"orderId":"ord_1","status":"created"}"#,
    );

    let (status, text) = deliver(&scheme, &guard, &dispatcher, "evt_1", body.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!String::from_utf8_lossy(&text).contains("deleted"));

    let (status, text) = deliver(&scheme, &guard, &dispatcher, "evt_1", body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&text[..], br#"{"duplicate":true}"#);
    assert_eq!(calls.created(), 1, "the redelivery did not reach the handler");
}

#[tokio::test]
async fn permanent_failure_with_its_own_status_still_commits_the_event() {
    let (scheme, guard, calls) = (petstore(), Arc::default(), Arc::<Calls>::default());
    let dispatcher = dispatcher(&calls, |_| {
        Err(HandlerError::permanent("bad order").with_status(StatusCode::UNPROCESSABLE_ENTITY))
    });
    let body = envelope(
        "evt_1",
        "order.created",
        r#"{"orderId":"ord_1","status":"created"}"#,
    );

    // The layer acknowledges the dead letter with its own status (200 by
    // default, see `WebhookLayer::dead_letter_status`).
    let (status, _) = deliver(&scheme, &guard, &dispatcher, "evt_1", body.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, text) = deliver(&scheme, &guard, &dispatcher, "evt_1", body).await;
    assert_eq!(
        (status, &text[..]),
        (StatusCode::OK, &br#"{"duplicate":true}"#[..])
    );
    assert_eq!(calls.created(), 1);
}

/// A handler's own error type, converted by its `From` impl.
#[derive(Debug)]
enum ShopError {
    Deleted,
    Busy,
}

impl fmt::Display for ShopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Deleted => "order deleted",
            Self::Busy => "shop busy",
        })
    }
}

impl std::error::Error for ShopError {}

impl From<ShopError> for HandlerError {
    fn from(error: ShopError) -> Self {
        match error {
            ShopError::Deleted => HandlerError::permanent(error),
            ShopError::Busy => HandlerError::retryable(error),
        }
    }
}

#[tokio::test]
async fn handler_error_types_say_retryable_or_permanent_through_from() {
    let (scheme, guard, calls) = (petstore(), Arc::default(), Arc::<Calls>::default());
    let dispatcher = dispatcher(&calls, |n| match n {
        1 => Err(ShopError::Busy),
        _ => Err(ShopError::Deleted),
    });
    let body = envelope(
        "evt_1",
        "order.created",
        r#"{"orderId":"ord_1","status":"created"}"#,
    );

    let statuses = [
        deliver(&scheme, &guard, &dispatcher, "evt_1", body.clone())
            .await
            .0,
        deliver(&scheme, &guard, &dispatcher, "evt_1", body.clone())
            .await
            .0,
        deliver(&scheme, &guard, &dispatcher, "evt_1", body).await.0,
    ];
    assert_eq!(
        statuses,
        [StatusCode::INTERNAL_SERVER_ERROR, StatusCode::OK, StatusCode::OK]
    );
    assert_eq!(calls.created(), 2, "busy was retried; deleted was final");
}

#[tokio::test]
async fn boxed_errors_are_retryable() {
    let (scheme, guard, calls) = (petstore(), Arc::default(), Arc::<Calls>::default());
    let dispatcher = dispatcher(&calls, |_| Err::<(), BoxError>("io error".into()));
    let body = envelope(
        "evt_1",
        "order.created",
        r#"{"orderId":"ord_1","status":"created"}"#,
    );

    let (status, _) = deliver(&scheme, &guard, &dispatcher, "evt_1", body).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!guard.is_done("evt_1"));
}

#[tokio::test]
async fn payload_that_is_not_json_becomes_a_dead_letter_without_calling_a_handler() {
    // Standard Webhooks takes the id from a header, so the layer lets a
    // verified non-JSON payload through and the dispatcher must refuse it.
    let logs = Logs::capture();
    let (scheme, guard, calls) = (standard(), Arc::default(), Arc::<Calls>::default());
    let dispatcher = dispatcher(&calls, ok);

    let (status, text) = deliver(
        &scheme,
        &guard,
        &dispatcher,
        "msg_not_json",
        "not json".to_owned(),
    )
    .await;

    // The dispatcher answers 400; the layer keeps it as a dead letter.
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&text[..], b"event cannot be processed; kept as a dead letter");
    assert_eq!(calls.created(), 0);
    assert!(guard.is_done("msg_not_json"));
    let text = logs.text();
    assert!(
        text.lines().any(|l| l.contains("WARN")
            && l.contains("webhook event rejected")
            && l.contains("status=400")
            && l.contains("msg_not_json")),
        "{text}"
    );
}

#[tokio::test]
async fn payload_of_the_wrong_shape_becomes_a_dead_letter_without_calling_a_handler() {
    let logs = Logs::capture();
    let (scheme, guard, calls) = (petstore(), Arc::default(), Arc::<Calls>::default());
    let dispatcher = dispatcher(&calls, ok);

    let body = envelope(
        "evt_wrong_shape",
        "order.created",
        r#"{"orderId":7,"status":"created"}"#,
    );
    let (status, _) = deliver(&scheme, &guard, &dispatcher, "evt_wrong_shape", body).await;

    // The dispatcher answers 422 (logged below); the layer keeps it as a dead letter.
    assert_eq!(status, StatusCode::OK);
    assert_eq!(calls.created(), 0);
    assert!(guard.is_done("evt_wrong_shape"));
    let text = logs.text();
    assert!(
        text.lines()
            .any(|l| l.contains("WARN") && l.contains("status=422") && l.contains("evt_wrong_shape")),
        "{text}"
    );
    assert!(!text.contains("dispatcher test secret"), "a secret was logged");
}

#[tokio::test]
async fn routes_by_the_envelope_type_when_the_scheme_reads_none() {
    let (scheme, guard, calls) = (standard(), Arc::default(), Arc::<Calls>::default());
    let dispatcher = dispatcher(&calls, ok);

    let body = envelope(
        "msg_1",
        "order.cancelled",
        r#"{"orderId":"ord_1","status":"created"}"#,
    );
    assert_eq!(
        deliver(&scheme, &guard, &dispatcher, "msg_1", body).await.0,
        StatusCode::OK
    );
    assert_eq!((calls.created(), calls.cancelled()), (0, 1));

    // JSON without a type at all does not fit the envelope.
    let (status, _) = deliver(
        &scheme,
        &guard,
        &dispatcher,
        "msg_2",
        r#"{"id":"msg_2"}"#.to_owned(),
    )
    .await;
    // A 422 from the dispatcher, kept by the layer as a dead letter.
    assert_eq!(status, StatusCode::OK);
    assert!(guard.is_done("msg_2"));
}

#[tokio::test]
async fn without_the_layer_answers_500_naming_it_and_never_calls_a_handler() {
    let calls = Arc::<Calls>::default();
    let dispatcher = dispatcher(&calls, ok);
    let body = envelope(
        "evt_1",
        "order.created",
        r#"{"orderId":"ord_1","status":"created"}"#,
    );
    let request = Request::post("/webhooks")
        .body(Full::new(Bytes::from(body)))
        .unwrap();

    let response = dispatcher.oneshot(request).await.unwrap();

    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = response.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&text).contains("WebhookLayer"));
    assert_eq!(calls.created(), 0);
}

#[test]
fn a_retryable_error_never_answers_2xx() {
    let error = HandlerError::retryable("outage").with_status(StatusCode::OK);
    assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let error = HandlerError::retryable("outage").with_status(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
    let response = HandlerError::retryable("outage").to_response();
    assert!(response
        .extensions()
        .get::<tower_webhook::PermanentFailure>()
        .is_none());
}

#[test]
fn a_permanent_error_carries_the_extension_that_makes_the_layer_commit() {
    let response = HandlerError::permanent("deleted").to_response();
    assert_eq!(response.status(), StatusCode::OK);
    let failure = response.extensions().get::<tower_webhook::PermanentFailure>();
    assert_eq!(failure.map(|f| f.reason()), Some("deleted"));
}

#[test]
fn dispatcher_lists_its_types_in_debug_output() {
    let dispatcher = dispatcher(&Arc::default(), ok);
    let mut types: Vec<_> = dispatcher.event_types().collect();
    types.sort_unstable();
    assert_eq!(types, ["order.cancelled", "order.created"]);
    assert!(format!("{dispatcher:?}").contains("order.created"));
}

/// GitHub's `push` payload, as far as this handler needs it.
#[derive(Debug, serde::Deserialize)]
struct Push {
    #[serde(rename = "ref")]
    git_ref: String,
}

/// Stripe's event shape: `{"id", "object": "event", "type", "data": {"object"}}`.
#[derive(Debug, serde::Deserialize)]
struct StripeEvent {
    id: String,
    data: StripeData,
}

#[derive(Debug, serde::Deserialize)]
struct StripeData {
    object: serde_json::Value,
}

#[tokio::test]
async fn handlers_take_any_payload_type_and_the_verified_delivery() {
    use tower_webhook::scheme::{GitHub, Stripe};
    use tower_webhook::Verified;

    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let (pushes, payments) = (Arc::clone(&seen), Arc::clone(&seen));
    let dispatcher = Dispatcher::new()
        .on("push", move |push: Push, verified: Verified| {
            let seen = Arc::clone(&pushes);
            async move {
                seen.lock()
                    .unwrap()
                    .push(format!("{} {}", verified.id(), push.git_ref));
                Ok::<_, HandlerError>(())
            }
        })
        .on("payment_intent.succeeded", move |event: StripeEvent| {
            let seen = Arc::clone(&payments);
            async move {
                seen.lock()
                    .unwrap()
                    .push(format!("{} {}", event.id, event.data.object["amount"]));
                Ok::<_, HandlerError>(())
            }
        });

    // GitHub: no envelope; the id and type travel in headers.
    let github = GitHub::new(Secret::new("github dispatcher secret").unwrap());
    let mut push = testing::signed_request::<Full<Bytes>>(
        &github,
        r#"{"ref":"refs/heads/main","before":"0000000000000000000000000000000000000000","after":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","commits":[]}"#,
        "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    );
    push.headers_mut()
        .insert("x-github-event", "push".parse().unwrap());
    let service = ServiceBuilder::new()
        .layer(WebhookLayer::new(github))
        .service(dispatcher.clone());
    assert_eq!(service.oneshot(push).await.unwrap().status(), StatusCode::OK);

    // Stripe: the id and type are the event object's own.
    let stripe = Stripe::new(Secret::new("whsec_dispatcher_secret").unwrap());
    let paid = testing::signed_request::<Full<Bytes>>(
        &stripe,
        r#"{"id":"evt_3MtwBwLkdIwHu7ix28a3tqPa","object":"event","api_version":"2022-11-15","created":1680064028,"data":{"object":{"id":"pi_1","object":"payment_intent","amount":2000,"currency":"usd"}},"livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"type":"payment_intent.succeeded"}"#,
        "unused",
    );
    let service = ServiceBuilder::new()
        .layer(WebhookLayer::new(stripe))
        .service(dispatcher);
    assert_eq!(service.oneshot(paid).await.unwrap().status(), StatusCode::OK);

    assert_eq!(
        *seen.lock().unwrap(),
        [
            "72d3162e-cc78-11e3-81ab-4c9367dc0958 refs/heads/main",
            "evt_3MtwBwLkdIwHu7ix28a3tqPa 2000"
        ]
    );
}

#[tokio::test]
async fn each_event_type_decodes_its_own_payload_type() {
    // `push` wants a `Push`; a `ping` payload (no `ref`) goes to its own
    // handler and is never decoded as a `Push`.
    use tower_webhook::scheme::GitHub;

    let github = GitHub::new(Secret::new("github dispatcher secret").unwrap());
    let pings = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pings);
    let dispatcher = Dispatcher::new()
        .on("push", |_push: Push| async { Ok::<_, HandlerError>(()) })
        .on("ping", move |ping: serde_json::Value| {
            let counter = Arc::clone(&counter);
            async move {
                assert!(ping.get("zen").is_some());
                counter.fetch_add(1, Ordering::SeqCst);
                Ok::<_, HandlerError>(())
            }
        });
    let letters = Arc::new(tower_webhook::dead_letter::MemoryDeadLetters::default());
    let service = ServiceBuilder::new()
        .layer(WebhookLayer::new(github.clone()).dead_letters(Arc::clone(&letters)))
        .service(dispatcher);
    let request = |event: &'static str, id: &str| {
        let mut request = testing::signed_request::<Full<Bytes>>(
            &github,
            r#"{"zen":"Design for failure.","hook_id":12345678}"#,
            id,
        );
        request
            .headers_mut()
            .insert("x-github-event", event.parse().unwrap());
        request
    };
    let ping = service.clone().oneshot(request("ping", "d-ping")).await.unwrap();
    assert_eq!(ping.status(), StatusCode::OK);
    assert_eq!(pings.load(Ordering::SeqCst), 1);
    assert!(letters.letters().is_empty());
    // The same body announced as a `push` does not fit `Push`: the
    // Dispatcher's 422 makes it a dead letter, acknowledged by the layer.
    let push = service.oneshot(request("push", "d-push")).await.unwrap();
    assert_eq!(push.status(), StatusCode::OK);
    let letters = letters.letters();
    assert_eq!(letters.len(), 1);
    assert_eq!(
        (letters[0].id(), letters[0].event_type()),
        ("d-push", Some("push"))
    );
}
