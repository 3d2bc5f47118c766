//! Observing deliveries through the layer: one counter per outcome (with the
//! `metrics` feature, against a debugging recorder), the delivery's span
//! around the handler's logs, label values that stay a closed set under
//! hostile input, and the recent-deliveries ring.

mod log_capture;

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use log_capture::Logs;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::MetricKind;
use tokio::sync::Notify;
use tower::{service_fn, BoxError, Service, ServiceBuilder, ServiceExt};
use tower_webhook::layer::ResponseBody;
use tower_webhook::observe::{Metrics, Outcome, RecentDeliveries};
use tower_webhook::scheme::{Slack, Spec, StandardWebhooks};
use tower_webhook::testing::{signed_request, signed_request_at};
use tower_webhook::{
    Begin, Claim, GuardError, PermanentFailure, Rejection, ReplayGuard, Secret, WebhookLayer,
};

const SECRET: &str = "observe-test-secret";
const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The instant the Standard Webhooks tests run at (unix seconds).
const T: i64 = 1_700_000_000;

fn petstore() -> Spec {
    Spec::petstore(Secret::new(SECRET).unwrap())
}

fn standard() -> StandardWebhooks {
    StandardWebhooks::new(StandardWebhooks::secret(STANDARD_SECRET).unwrap())
}

fn event(id: &str) -> String {
    format!(r#"{{"id":"{id}","type":"order.created","created":1700000000,"data":{{}}}}"#)
}

fn signed(id: &str) -> Request<Full<Bytes>> {
    signed_request(&petstore(), event(id), id)
}

fn unsigned(signature: Option<&str>, body: &str) -> Request<Full<Bytes>> {
    let mut request = Request::post("/webhooks");
    if let Some(signature) = signature {
        request = request.header("x-petstore-signature", signature);
    }
    request.body(Full::new(Bytes::from(body.to_owned()))).unwrap()
}

fn at(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
}

fn ok() -> Response<Full<Bytes>> {
    Response::new(Full::new(Bytes::from_static(b"ok")))
}

type Answer = Pin<Box<dyn Future<Output = Result<Response<Full<Bytes>>, BoxError>> + Send>>;
type Labels = Vec<(String, String)>;

type Handler = fn(Request<Full<Bytes>>) -> Answer;

fn handler(
    f: Handler,
) -> impl Service<Request<Full<Bytes>>, Response = Response<Full<Bytes>>, Error = BoxError, Future = impl Send>
       + Clone
       + Send
       + 'static {
    service_fn(f)
}

fn answers_ok(_: Request<Full<Bytes>>) -> Answer {
    Box::pin(async { Ok(ok()) })
}

/// The layer with the `Metrics` observer, in front of `inner`.
fn stack<Sch, G, S>(
    layer: WebhookLayer<Sch, G>,
    inner: S,
) -> impl Service<
    Request<Full<Bytes>>,
    Response = Response<ResponseBody<Full<Bytes>>>,
    Error = BoxError,
    Future = tower_webhook::layer::ResponseFuture<Full<Bytes>, BoxError>,
> + Clone
       + Send
       + 'static
where
    Sch: tower_webhook::Scheme,
    G: ReplayGuard,
    S: Service<Request<Full<Bytes>>, Response = Response<Full<Bytes>>, Error = BoxError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    ServiceBuilder::new()
        .layer(layer.observer(Metrics::new()))
        .service(inner)
}

/// What one test recorded: `webhook_deliveries_total` by outcome, and every
/// series by name and labels.
struct Recorded {
    deliveries: BTreeMap<String, u64>,
    series: Vec<(MetricKind, String, Labels, DebugValue)>,
}

impl Recorded {
    fn gauge(&self, name: &str) -> Option<f64> {
        self.series.iter().find_map(|(kind, n, _, value)| match value {
            DebugValue::Gauge(v) if *kind == MetricKind::Gauge && n == name => Some(v.into_inner()),
            _ => None,
        })
    }

    fn histogram_samples(&self, name: &str) -> Vec<(Vec<(String, String)>, usize)> {
        self.series
            .iter()
            .filter_map(|(_, n, labels, value)| match value {
                DebugValue::Histogram(samples) if n == name => Some((labels.clone(), samples.len())),
                _ => None,
            })
            .collect()
    }
}

/// Runs `test` on a runtime of its own (time paused, so timeouts pass at
/// once) with a debugging recorder installed for its thread.
fn recorded<F: Future<Output = ()>>(test: impl FnOnce() -> F) -> Recorded {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(test());
    });
    let mut deliveries = BTreeMap::new();
    let mut series = Vec::new();
    for (key, _unit, _description, value) in snapshotter.snapshot().into_vec() {
        let labels: Vec<(String, String)> = key
            .key()
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        let name = key.key().name().to_owned();
        if name == Metrics::DELIVERIES_TOTAL {
            let outcome = labels.iter().find(|(k, _)| k == "outcome").unwrap().1.clone();
            let DebugValue::Counter(count) = value else {
                panic!("{name} is not a counter")
            };
            if count > 0 {
                deliveries.insert(outcome, count);
            }
        }
        series.push((key.kind(), name, labels, value));
    }
    Recorded { deliveries, series }
}

/// Asserts that exactly these outcomes were counted, this many times each,
/// and that no handler is left counted as running.
#[track_caller]
fn assert_counted(recorded: &Recorded, expected: &[(Outcome, u64)]) {
    let expected: BTreeMap<String, u64> = expected.iter().map(|(o, n)| (o.label().to_owned(), *n)).collect();
    assert_eq!(recorded.deliveries, expected);
    if let Some(running) = recorded.gauge(Metrics::HANDLERS_RUNNING) {
        assert_eq!(running, 0.0, "handlers still counted as running");
    }
}

async fn status<S>(service: S, request: Request<Full<Bytes>>) -> StatusCode
where
    S: Service<Request<Full<Bytes>>, Response = Response<ResponseBody<Full<Bytes>>>>,
    S::Error: std::fmt::Debug,
{
    service.oneshot(request).await.expect("service error").status()
}

async fn rejected<S>(service: S, request: Request<Full<Bytes>>) -> Rejection
where
    S: Service<Request<Full<Bytes>>, Response = Response<ResponseBody<Full<Bytes>>>>,
    S::Error: std::fmt::Debug,
{
    let response = service.oneshot(request).await.expect("service error");
    response
        .extensions()
        .get::<Rejection>()
        .cloned()
        .expect("a rejection")
}

// One test per outcome.

#[test]
fn counts_a_processed_delivery_with_its_timings() {
    let recorded = recorded(|| async {
        let service = stack(
            WebhookLayer::new(petstore()).scheme_name("petstore"),
            handler(answers_ok),
        );
        assert_eq!(status(service, signed("evt_1")).await, StatusCode::OK);
    });
    assert_counted(&recorded, &[(Outcome::Processed, 1)]);
    let scheme = ("scheme".to_owned(), "petstore".to_owned());
    assert_eq!(
        recorded.histogram_samples(Metrics::VERIFY_DURATION_SECONDS),
        [(vec![scheme.clone()], 1)]
    );
    assert_eq!(
        recorded.histogram_samples(Metrics::HANDLER_DURATION_SECONDS),
        [(vec![scheme, ("outcome".to_owned(), "processed".to_owned())], 1)]
    );
    assert_eq!(recorded.gauge(Metrics::HANDLERS_RUNNING), Some(0.0));
}

#[test]
fn one_metrics_shared_by_two_layers_counts_each_under_its_own_scheme() {
    let recorded = recorded(|| async {
        let metrics = Metrics::new();
        let service = |name: &'static str| {
            ServiceBuilder::new()
                .layer(
                    WebhookLayer::new(petstore())
                        .scheme_name(name)
                        .observer(metrics.clone()),
                )
                .service(handler(answers_ok))
        };
        let (first, second) = (service("first_scheme"), service("second_scheme"));
        assert_eq!(status(first.clone(), signed("evt_1")).await, StatusCode::OK);
        assert_eq!(status(second.clone(), signed("evt_2")).await, StatusCode::OK);
        assert_eq!(status(second, signed("evt_3")).await, StatusCode::OK);
        assert_eq!(status(first, signed("evt_1")).await, StatusCode::OK);
    });
    let count = |scheme: &str, outcome: &str| {
        recorded
            .series
            .iter()
            .find_map(|(_, name, labels, value)| {
                let wanted = [("scheme", scheme), ("outcome", outcome)];
                let matches = name == Metrics::DELIVERIES_TOTAL
                    && wanted
                        .iter()
                        .all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v));
                match value {
                    DebugValue::Counter(n) if matches => Some(*n),
                    _ => None,
                }
            })
            .unwrap_or(0)
    };
    assert_eq!(count("first_scheme", "processed"), 1);
    assert_eq!(count("first_scheme", "duplicate"), 1);
    assert_eq!(count("second_scheme", "processed"), 2);
    assert_eq!(count("second_scheme", "duplicate"), 0);
    assert_eq!(recorded.gauge(Metrics::HANDLERS_RUNNING), Some(0.0));
}

#[test]
fn counts_a_duplicate() {
    let recorded = recorded(|| async {
        let service = stack(WebhookLayer::new(petstore()), handler(answers_ok));
        assert_eq!(status(service.clone(), signed("evt_1")).await, StatusCode::OK);
        assert_eq!(status(service, signed("evt_1")).await, StatusCode::OK);
    });
    assert_counted(&recorded, &[(Outcome::Processed, 1), (Outcome::Duplicate, 1)]);
    // The duplicate never reached the handler.
    let handler_samples: usize = recorded
        .histogram_samples(Metrics::HANDLER_DURATION_SECONDS)
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(handler_samples, 1);
}

#[test]
fn counts_an_event_in_flight() {
    let recorded = recorded(|| async {
        let started = Arc::new(Notify::new());
        let finish = Arc::new(Notify::new());
        let (s, f) = (Arc::clone(&started), Arc::clone(&finish));
        let slow = service_fn(move |_: Request<Full<Bytes>>| {
            let (s, f) = (Arc::clone(&s), Arc::clone(&f));
            async move {
                s.notify_one();
                f.notified().await;
                Ok::<_, BoxError>(ok())
            }
        });
        let service = stack(WebhookLayer::new(petstore()), slow);
        let first = tokio::spawn(status(service.clone(), signed("evt_1")));
        started.notified().await;
        assert_eq!(status(service, signed("evt_1")).await, StatusCode::CONFLICT);
        finish.notify_one();
        assert_eq!(first.await.unwrap(), StatusCode::OK);
    });
    assert_counted(&recorded, &[(Outcome::Processed, 1), (Outcome::InFlight, 1)]);
}

#[test]
fn counts_a_handshake() {
    let recorded = recorded(|| async {
        let slack = Slack::new(Secret::new("slack secret").unwrap());
        let body = r#"{"token":"t","challenge":"abc","type":"url_verification"}"#;
        let request = signed_request_at::<Full<Bytes>>(&slack, body, "unused", T);
        let service = stack(WebhookLayer::new(slack).clock(|| at(T)), handler(answers_ok));
        assert_eq!(status(service, request).await, StatusCode::OK);
    });
    assert_counted(&recorded, &[(Outcome::Handshake, 1)]);
}

#[test]
fn counts_a_handler_failure() {
    let recorded = recorded(|| async {
        let fails = handler(|_| {
            Box::pin(async {
                let mut response = ok();
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                Ok(response)
            })
        });
        let service = stack(WebhookLayer::new(petstore()), fails);
        assert_eq!(
            status(service, signed("evt_1")).await,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    });
    assert_counted(&recorded, &[(Outcome::HandlerFailed, 1)]);
}

#[test]
fn counts_an_inner_service_error_as_a_handler_failure() {
    let recorded = recorded(|| async {
        let errs = handler(|_| Box::pin(async { Err("database down".into()) }));
        let service = stack(WebhookLayer::new(petstore()), errs);
        assert!(service.oneshot(signed("evt_1")).await.is_err());
    });
    assert_counted(&recorded, &[(Outcome::HandlerFailed, 1)]);
}

#[test]
fn counts_a_permanent_failure_as_a_dead_letter() {
    let recorded = recorded(|| async {
        let permanent = handler(|_| {
            Box::pin(async {
                let mut response = ok();
                *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                response
                    .extensions_mut()
                    .insert(PermanentFailure::new("no such order"));
                Ok(response)
            })
        });
        let service = stack(WebhookLayer::new(petstore()), permanent);
        // A dead letter: stored, committed and acknowledged with the layer's
        // dead-letter status.
        assert_eq!(status(service, signed("evt_1")).await, StatusCode::OK);
    });
    assert_counted(&recorded, &[(Outcome::DeadLettered, 1)]);
}

#[test]
fn counts_a_handler_panic() {
    let recorded = recorded(|| async {
        let panics = handler(|_| Box::pin(async { panic!("handler exploded") }));
        let service = stack(WebhookLayer::new(petstore()), panics);
        assert_eq!(
            status(service, signed("evt_1")).await,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    });
    assert_counted(&recorded, &[(Outcome::HandlerPanicked, 1)]);
}

#[test]
fn counts_a_handler_past_the_deadline() {
    let recorded = recorded(|| async {
        let slow = handler(|_| {
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(ok())
            })
        });
        let service = stack(
            WebhookLayer::new(petstore()).deadline(Duration::from_secs(1)),
            slow,
        );
        assert_eq!(
            status(service, signed("evt_1")).await,
            StatusCode::SERVICE_UNAVAILABLE
        );
    });
    assert_counted(&recorded, &[(Outcome::HandlerDeadline, 1)]);
}

#[test]
fn counts_a_dropped_response_future_as_cancelled_with_cancel_on_disconnect() {
    let recorded = recorded(|| async {
        let slow = handler(|_| {
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                Ok(ok())
            })
        });
        let service = stack(WebhookLayer::new(petstore()).cancel_on_disconnect(true), slow);
        let cut = tokio::time::timeout(Duration::from_secs(1), service.oneshot(signed("evt_1"))).await;
        assert!(cut.is_err(), "the handler should still be running");
    });
    assert_counted(&recorded, &[(Outcome::Cancelled, 1)]);
    assert_eq!(recorded.gauge(Metrics::HANDLERS_RUNNING), Some(0.0));
}

#[test]
fn counts_a_detached_handler_by_its_outcome_after_the_client_went_away() {
    let recorded = recorded(|| async {
        let slow = handler(|_| {
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                Ok(ok())
            })
        });
        let service = stack(WebhookLayer::new(petstore()), slow);
        let cut = tokio::time::timeout(Duration::from_secs(1), service.oneshot(signed("evt_1"))).await;
        assert!(cut.is_err(), "the sender gave up waiting");
        // The handler runs on, detached, and its outcome is what is counted.
        tokio::time::sleep(Duration::from_secs(20)).await;
    });
    assert_counted(&recorded, &[(Outcome::Processed, 1)]);
}

#[test]
fn counts_a_shed_delivery_and_one_refused_at_shutdown() {
    let recorded = recorded(|| async {
        let slow = handler(|_| {
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(ok())
            })
        });
        let layer = WebhookLayer::new(petstore()).concurrency_limit(1);
        let shutdown = layer.shutdown_handle();
        let service = stack(layer, slow);
        let first = tokio::spawn(service.clone().oneshot(signed("evt_1")));
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(
            rejected(service.clone(), signed("evt_2")).await,
            Rejection::Overloaded { limit: 1 }
        );
        let drained = shutdown.drain(Duration::from_secs(30)).await;
        assert_eq!(drained.completed, 1);
        assert_eq!(first.await.unwrap().unwrap().status(), StatusCode::OK);
        assert_eq!(rejected(service, signed("evt_3")).await, Rejection::ShuttingDown);
    });
    assert_counted(
        &recorded,
        &[
            (Outcome::Processed, 1),
            (Outcome::Shed, 1),
            (Outcome::ShuttingDown, 1),
        ],
    );
}

/// A dead-letter sink that cannot store anything.
struct BrokenSink;

impl tower_webhook::dead_letter::DeadLetterSink for BrokenSink {
    async fn store(
        &self,
        _: tower_webhook::dead_letter::DeadLetter,
    ) -> Result<(), tower_webhook::dead_letter::DeadLetterError> {
        Err(tower_webhook::dead_letter::DeadLetterError::new("disk full"))
    }
}

#[test]
fn counts_a_dead_letter_the_sink_could_not_store() {
    let recorded = recorded(|| async {
        let permanent = handler(|_| {
            Box::pin(async {
                let mut response = ok();
                response
                    .extensions_mut()
                    .insert(PermanentFailure::new("no such order"));
                Ok(response)
            })
        });
        let service = stack(WebhookLayer::new(petstore()).dead_letters(BrokenSink), permanent);
        assert_eq!(
            rejected(service, signed("evt_1")).await,
            Rejection::DeadLetterUnavailable
        );
    });
    assert_counted(&recorded, &[(Outcome::DeadLetterUnavailable, 1)]);
}

#[test]
fn counts_a_duplicate_json_key() {
    let recorded = recorded(|| async {
        let service = stack(WebhookLayer::new(petstore()), handler(answers_ok));
        let body = r#"{"id":"evt_a","id":"evt_b","type":"order.created","data":{}}"#;
        let request = signed_request(&petstore(), body, "evt_a");
        assert!(matches!(
            rejected(service, request).await,
            Rejection::DuplicateJsonKey { .. }
        ));
    });
    assert_counted(&recorded, &[(Outcome::DuplicateJsonKey, 1)]);
}

/// A guard whose store is down.
struct Unavailable;

impl ReplayGuard for Unavailable {
    async fn begin(&self, _: &str) -> Result<Begin, GuardError> {
        Err(GuardError::new("connection refused"))
    }
    async fn commit(&self, _: &str, _: Claim) -> Result<(), GuardError> {
        Err(GuardError::new("connection refused"))
    }
    async fn release(&self, _: &str, _: Claim) -> Result<(), GuardError> {
        Err(GuardError::new("connection refused"))
    }
}

#[test]
fn counts_an_unavailable_guard() {
    let recorded = recorded(|| async {
        let service = stack(
            WebhookLayer::new(petstore()).guard(Unavailable),
            handler(answers_ok),
        );
        assert_eq!(
            rejected(service, signed("evt_1")).await,
            Rejection::GuardUnavailable
        );
    });
    assert_counted(&recorded, &[(Outcome::GuardUnavailable, 1)]);
}

#[test]
fn counts_a_body_too_large() {
    let recorded = recorded(|| async {
        let service = stack(WebhookLayer::new(petstore()).body_limit(16), handler(answers_ok));
        assert_eq!(
            rejected(service, signed("evt_1")).await,
            Rejection::BodyTooLarge { limit: 16 }
        );
    });
    assert_counted(&recorded, &[(Outcome::BodyTooLarge, 1)]);
}

/// A body that fails to read, or never arrives.
enum Broken {
    Fails,
    Stalls,
}

impl Body for Broken {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match *self {
            Broken::Fails => Poll::Ready(Some(Err(std::io::Error::other("connection reset")))),
            Broken::Stalls => Poll::Pending,
        }
    }
}

fn broken_stack(
    layer: WebhookLayer<Spec>,
) -> impl Service<
    Request<http_body_util::combinators::UnsyncBoxBody<Bytes, std::io::Error>>,
    Response = Response<ResponseBody<Full<Bytes>>>,
    Error = BoxError,
> {
    ServiceBuilder::new()
        .layer(layer.observer(Metrics::new()))
        .service(handler(answers_ok))
}

async fn broken_rejection(layer: WebhookLayer<Spec>, body: Broken) -> Rejection {
    // Signed as far as `precheck` looks: the body is what breaks.
    let request = Request::post("/webhooks")
        .header("x-petstore-signature", "0".repeat(64))
        .body(body.boxed_unsync())
        .unwrap();
    let response = broken_stack(layer).oneshot(request).await.unwrap();
    response.extensions().get::<Rejection>().cloned().unwrap()
}

#[test]
fn counts_an_unreadable_body() {
    let recorded = recorded(|| async {
        let rejection = broken_rejection(WebhookLayer::new(petstore()), Broken::Fails).await;
        assert_eq!(rejection, Rejection::BodyUnreadable);
    });
    assert_counted(&recorded, &[(Outcome::BodyUnreadable, 1)]);
}

#[test]
fn counts_a_body_timeout() {
    let recorded = recorded(|| async {
        let layer = WebhookLayer::new(petstore()).body_timeout(Duration::from_secs(1));
        let rejection = broken_rejection(layer, Broken::Stalls).await;
        assert!(
            matches!(rejection, Rejection::BodyTimeout { .. }),
            "{rejection:?}"
        );
    });
    assert_counted(&recorded, &[(Outcome::BodyTimeout, 1)]);
}

#[test]
fn counts_a_missing_header() {
    let recorded = recorded(|| async {
        let mut request = signed_request_at::<Full<Bytes>>(&standard(), "{}", "msg_1", T);
        request.headers_mut().remove("webhook-id");
        let service = stack(WebhookLayer::new(standard()).clock(|| at(T)), handler(answers_ok));
        let rejection = rejected(service, request).await;
        assert!(
            matches!(rejection, Rejection::MissingHeader { .. }),
            "{rejection:?}"
        );
    });
    assert_counted(&recorded, &[(Outcome::MissingHeader, 1)]);
}

#[test]
fn counts_an_invalid_header() {
    let recorded = recorded(|| async {
        let mut request = signed_request_at::<Full<Bytes>>(&standard(), "{}", "msg_1", T);
        request
            .headers_mut()
            .insert("webhook-timestamp", "soon".parse().unwrap());
        let service = stack(WebhookLayer::new(standard()).clock(|| at(T)), handler(answers_ok));
        let rejection = rejected(service, request).await;
        assert!(
            matches!(rejection, Rejection::InvalidHeader { .. }),
            "{rejection:?}"
        );
    });
    assert_counted(&recorded, &[(Outcome::InvalidHeader, 1)]);
}

#[test]
fn counts_a_missing_event_id() {
    let recorded = recorded(|| async {
        let request = signed_request::<Full<Bytes>>(&petstore(), r#"{"type":"order.created"}"#, "");
        let service = stack(WebhookLayer::new(petstore()), handler(answers_ok));
        assert_eq!(rejected(service, request).await, Rejection::MissingEventId);
    });
    assert_counted(&recorded, &[(Outcome::MissingEventId, 1)]);
}

#[test]
fn counts_an_invalid_event_id() {
    let recorded = recorded(|| async {
        let long = "x".repeat(tower_webhook::MAX_ID_LEN + 1);
        let request = signed_request_at::<Full<Bytes>>(&standard(), "{}", &long, T);
        let service = stack(WebhookLayer::new(standard()).clock(|| at(T)), handler(answers_ok));
        let rejection = rejected(service, request).await;
        assert!(
            matches!(rejection, Rejection::InvalidEventId { .. }),
            "{rejection:?}"
        );
    });
    assert_counted(&recorded, &[(Outcome::InvalidEventId, 1)]);
}

#[test]
fn counts_a_missing_signature() {
    let recorded = recorded(|| async {
        let service = stack(WebhookLayer::new(petstore()), handler(answers_ok));
        let rejection = rejected(service, unsigned(None, &event("evt_1"))).await;
        assert!(
            matches!(rejection, Rejection::MissingSignature { .. }),
            "{rejection:?}"
        );
    });
    assert_counted(&recorded, &[(Outcome::MissingSignature, 1)]);
}

#[test]
fn counts_a_malformed_signature() {
    let recorded = recorded(|| async {
        let service = stack(WebhookLayer::new(petstore()), handler(answers_ok));
        let rejection = rejected(service, unsigned(Some("not hex"), &event("evt_1"))).await;
        assert!(
            matches!(rejection, Rejection::MalformedSignature { .. }),
            "{rejection:?}"
        );
    });
    assert_counted(&recorded, &[(Outcome::MalformedSignature, 1)]);
}

#[test]
fn counts_a_signature_mismatch_with_its_verify_time() {
    let recorded = recorded(|| async {
        let service = stack(WebhookLayer::new(petstore()), handler(answers_ok));
        let forged = "00".repeat(32);
        let rejection = rejected(service, unsigned(Some(&forged), &event("evt_1"))).await;
        assert_eq!(rejection, Rejection::SignatureMismatch);
    });
    assert_counted(&recorded, &[(Outcome::SignatureMismatch, 1)]);
    assert_eq!(
        recorded.histogram_samples(Metrics::VERIFY_DURATION_SECONDS).len(),
        1
    );
    assert!(recorded
        .histogram_samples(Metrics::HANDLER_DURATION_SECONDS)
        .is_empty());
}

#[test]
fn counts_a_timestamp_too_old() {
    let recorded = recorded(|| async {
        let request = signed_request_at::<Full<Bytes>>(&standard(), "{}", "msg_1", T - 3600);
        let service = stack(WebhookLayer::new(standard()).clock(|| at(T)), handler(answers_ok));
        let rejection = rejected(service, request).await;
        assert!(
            matches!(rejection, Rejection::TimestampTooOld { .. }),
            "{rejection:?}"
        );
    });
    assert_counted(&recorded, &[(Outcome::TimestampTooOld, 1)]);
}

#[test]
fn counts_a_timestamp_too_new() {
    let recorded = recorded(|| async {
        let request = signed_request_at::<Full<Bytes>>(&standard(), "{}", "msg_1", T + 3600);
        let service = stack(WebhookLayer::new(standard()).clock(|| at(T)), handler(answers_ok));
        let rejection = rejected(service, request).await;
        assert!(
            matches!(rejection, Rejection::TimestampTooNew { .. }),
            "{rejection:?}"
        );
    });
    assert_counted(&recorded, &[(Outcome::TimestampTooNew, 1)]);
}

// Label values under hostile input.

/// A tiny deterministic generator, so a failure reproduces.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 16
    }

    fn token(&mut self) -> String {
        let len = 1 + self.next() % 40;
        (0..len)
            .map(|_| {
                const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-_.:/{}\"'=";
                char::from(ALPHABET[(self.next() % ALPHABET.len() as u64) as usize])
            })
            .collect()
    }
}

/// One round of hostile deliveries, `n` of each kind: signed events under
/// random ids and types, random signatures, random signature-shaped hex, and
/// random event-id and event-type headers on a forged request.
async fn hostile_round<S>(service: &S, rng: &mut Lcg, n: usize, seen: &mut BTreeSet<String>)
where
    S: Service<Request<Full<Bytes>>, Response = Response<ResponseBody<Full<Bytes>>>, Error = BoxError>
        + Clone,
{
    for _ in 0..n {
        let (id, kind) = (rng.token(), rng.token());
        let body = format!(
            r#"{{"id":{},"type":{},"data":{{}}}}"#,
            serde_json::json!(id),
            serde_json::json!(kind)
        );
        seen.extend([id.clone(), kind.clone()]);
        let mut request = signed_request::<Full<Bytes>>(&petstore(), body, "");
        request
            .headers_mut()
            .insert("x-petstore-event", http::HeaderValue::from_str(&kind).unwrap());
        service.clone().oneshot(request).await.unwrap();

        let garbage = rng.token();
        seen.insert(garbage.clone());
        service
            .clone()
            .oneshot(unsigned(Some(&garbage), &event(&id)))
            .await
            .unwrap();

        let hex: String = (0..64)
            .map(|_| char::from(b"0123456789abcdef"[(rng.next() % 16) as usize]))
            .collect();
        seen.insert(hex.clone());
        service
            .clone()
            .oneshot(unsigned(Some(&hex), &event(&id)))
            .await
            .unwrap();

        let mut forged = unsigned(Some(&hex), &event(&id));
        let header = rng.token();
        seen.insert(header.clone());
        let value = http::HeaderValue::from_str(&header).unwrap();
        forged.headers_mut().insert("x-petstore-event", value.clone());
        forged.headers_mut().insert("webhook-id", value);
        service.clone().oneshot(forged).await.unwrap();
    }
}

#[test]
fn hostile_ids_and_headers_do_not_grow_the_label_series() {
    let mut rng = Lcg(0x5eed);
    // Every random value sent; none may become a label (checked above by
    // allowing only the closed sets).
    let mut seen = BTreeSet::new();
    let mut series_after_first_round = 0;
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let count_series = || {
        snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, ..)| key)
            .collect::<Vec<_>>()
    };
    metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let service = stack(
                    WebhookLayer::new(petstore()).scheme_name("petstore"),
                    handler(answers_ok),
                );
                hostile_round(&service, &mut rng, 5, &mut seen).await;
                series_after_first_round = count_series().len();
                hostile_round(&service, &mut rng, 200, &mut seen).await;
            });
    });
    let keys = count_series();
    assert_eq!(keys.len(), series_after_first_round, "the number of series grew");
    let outcomes: BTreeSet<&str> = Outcome::ALL.iter().map(|o| o.label()).collect();
    for key in &keys {
        for label in key.key().labels() {
            match label.key() {
                "scheme" => assert_eq!(label.value(), "petstore"),
                "outcome" => assert!(outcomes.contains(label.value()), "{label:?}"),
                other => panic!("unexpected label {other}"),
            }
        }
    }
}

// The delivery's span.

#[tokio::test]
async fn handler_logs_inside_the_delivery_span_with_its_id_and_type() {
    let logs = Logs::capture();
    let logging = service_fn(|_: Request<Full<Bytes>>| async {
        tracing::info!("handler ran for span test");
        Ok::<_, Infallible>(ok())
    });
    let service = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()).scheme_name("span_test_scheme"))
        .service(logging);
    assert_eq!(
        service.oneshot(signed("evt_span_1")).await.unwrap().status(),
        StatusCode::OK
    );

    let lines = logs.lines_with(&["handler ran for span test"]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert!(
        line.contains("webhook{"),
        "not inside the delivery's span: {line}"
    );
    assert!(line.contains("span_test_scheme"), "{line}");
    assert!(
        line.contains("event_id=\"evt_span_1\"") || line.contains("event_id=evt_span_1"),
        "{line}"
    );
    assert!(line.contains("order.created"), "{line}");
    assert!(
        line.contains("body_read_us=") && line.contains("verify_us=") && line.contains("guard_us="),
        "{line}"
    );
}

#[tokio::test]
async fn rejection_is_an_event_in_the_span_with_its_reason() {
    let logs = Logs::capture();
    let service = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()).scheme_name("span_reject_scheme"))
        .service(service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(ok())
        }));
    let mut forged = unsigned(Some(&"00".repeat(32)), &event("evt_forged_span"));
    forged
        .headers_mut()
        .insert("x-petstore-event", "forged.type".parse().unwrap());
    let response = service.oneshot(forged).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let lines = logs.lines_with(&["webhook rejected", "span_reject_scheme"]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert!(line.contains("webhook{"), "{line}");
    assert!(
        line.contains("reason=no signature matches any configured secret"),
        "{line}"
    );
    // Nothing from an unverified request is put in the span.
    assert!(
        !line.contains("evt_forged_span") && !line.contains("forged.type"),
        "{line}"
    );
}

// Recent deliveries.

#[tokio::test]
async fn recent_deliveries_keep_the_last_n_in_order_without_bodies_or_secrets() {
    let recent = RecentDeliveries::new(3);
    let service = ServiceBuilder::new()
        .layer(
            WebhookLayer::new(petstore())
                .scheme_name("petstore")
                .observer(recent.clone()),
        )
        .service(service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(ok())
        }));
    let forged = "00".repeat(32);
    for id in ["evt_1", "evt_2", "evt_3"] {
        service.clone().oneshot(signed(id)).await.unwrap();
    }
    service.clone().oneshot(signed("evt_3")).await.unwrap();
    service
        .clone()
        .oneshot(unsigned(Some(&forged), &event("evt_forged")))
        .await
        .unwrap();

    let records = recent.snapshot();
    let summary: Vec<_> = records
        .iter()
        .map(|r| (r.event_id.as_deref(), r.outcome))
        .collect();
    assert_eq!(
        summary,
        [
            (None, Outcome::SignatureMismatch),
            (Some("evt_3"), Outcome::Duplicate),
            (Some("evt_3"), Outcome::Processed),
        ]
    );
    assert_eq!(records[0].status, Some(401));
    // A `401` is kept as its kind only (issue 27: no timestamp age).
    assert_eq!(records[0].reason.as_deref(), Some("signature_mismatch"));
    assert!(records[2].timings.handler.is_some());
    assert!(records[0].received_at >= records[2].received_at);

    let json = serde_json::to_string(&records).unwrap();
    let signature = signed("evt_3").headers()["x-petstore-signature"]
        .to_str()
        .unwrap()
        .to_owned();
    for secret_or_body in [SECRET, signature.as_str(), forged.as_str(), "\"data\""] {
        assert!(!json.contains(secret_or_body), "{secret_or_body} in {json}");
    }
}

#[tokio::test]
async fn recent_deliveries_keep_bodies_only_when_asked() {
    let recent = RecentDeliveries::new(2).keep_bodies(1024);
    let service = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()).observer(recent.clone()))
        .service(service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(ok())
        }));
    service.oneshot(signed("evt_body")).await.unwrap();
    let record = &recent.snapshot()[0];
    assert_eq!(record.body.as_deref(), Some(event("evt_body").as_str()));
    assert!(!serde_json::to_string(record).unwrap().contains(SECRET));
}

#[tokio::test]
async fn several_observers_are_a_tuple() {
    let (a, b) = (RecentDeliveries::new(1), RecentDeliveries::new(1));
    let service = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()).observer((a.clone(), b.clone())))
        .service(service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(ok())
        }));
    service.oneshot(signed("evt_1")).await.unwrap();
    assert_eq!(a.snapshot()[0].outcome, Outcome::Processed);
    assert_eq!(b.snapshot()[0].outcome, Outcome::Processed);
    assert_eq!(a.snapshot()[0].scheme, "Petstore");
}

#[test]
fn scheme_names_are_the_specs_or_the_presets_and_see_through_boxes() {
    use tower_webhook::scheme::{Algorithm, ConfigError, Encoding, GitHub};
    use tower_webhook::Scheme;
    let boxed: Box<dyn Scheme> = Box::new(petstore());
    assert_eq!(boxed.name(), "Petstore");
    assert_eq!(Arc::new(standard()).name(), "StandardWebhooks");
    // A preset's spec keeps the preset's name; a changed declaration may rename it.
    let github = GitHub::new(Secret::new("a github secret for names").unwrap());
    assert_eq!(github.spec().name(), "GitHub");
    let key = || Secret::new("a github secret for names").unwrap();
    let renamed = GitHub::builder().name("github-app").keys(key()).build().unwrap();
    assert_eq!(renamed.name(), "github-app");
    // A spec of one's own is named when its builder is made, and never "".
    let acme = || Spec::builder("acme").signature_header("x-acme-signature");
    let acme = |name| {
        acme()
            .name(name)
            .version("", Algorithm::HmacSha256, Encoding::Hex)
            .keys(key())
            .build()
    };
    assert_eq!(acme("acme").unwrap().name(), "acme");
    assert_eq!(acme("").unwrap_err(), ConfigError::EmptyName);
}

#[tokio::test]
async fn a_specs_name_labels_its_deliveries() {
    use tower_webhook::scheme::{Algorithm, Encoding};
    let acme = Spec::builder("acme")
        .signature_header("x-acme-signature")
        .version("", Algorithm::HmacSha256, Encoding::Hex)
        .keys(Secret::new(SECRET).unwrap())
        .build()
        .unwrap();
    let recent = RecentDeliveries::new(1);
    let service = ServiceBuilder::new()
        .layer(WebhookLayer::new(acme.clone()).observer(recent.clone()))
        .service(service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(ok())
        }));
    let request = signed_request::<Full<Bytes>>(&acme, event("evt_acme"), "evt_acme");
    assert_eq!(service.oneshot(request).await.unwrap().status(), StatusCode::OK);
    assert_eq!(recent.snapshot()[0].scheme, "acme");
}
