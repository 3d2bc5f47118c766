//! Delivery guarantees through the layer: handlers run to completion when the
//! client goes away, a burst is shed with `503` instead of piling up, a
//! poison delivery becomes a dead letter that can be re-run, and shutdown
//! drains what is in progress.

mod log_capture;
use log_capture::Logs;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use http::header::RETRY_AFTER;
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use tokio::sync::{Notify, Semaphore};
use tower::{service_fn, Service, ServiceBuilder, ServiceExt};
use tower_webhook::dead_letter::{
    self, DeadLetter, DeadLetterError, DeadLetterSink, FileDeadLetters, MemoryDeadLetters,
};
use tower_webhook::extract::Webhook;
use tower_webhook::handler::HandlerError;
use tower_webhook::scheme::Spec;
use tower_webhook::testing::{self, Sign};
use tower_webhook::{Event, LruGuard, PermanentFailure, Rejection, Secret, Verified, WebhookLayer};

const SECRET: &str = "delivery test secret";

fn petstore() -> Spec {
    Spec::petstore(Secret::new(SECRET).unwrap())
}

/// `POST /webhooks` behind `layer`, with a handler that decodes an
/// `Event<Order>` and does nothing else: a body whose `data` is not an
/// `Order` is a poison event, which the layer dead-letters.
fn orders<G: tower_webhook::ReplayGuard>(layer: WebhookLayer<Spec, G>) -> Router {
    Router::new()
        .route("/webhooks", post(|_: Webhook<Event<Order>>| async {}))
        .layer(layer)
}

fn envelope(id: &str, data: &str) -> String {
    format!(r#"{{"id":"{id}","type":"order.created","created":1700000000,"data":{data}}}"#)
}

fn order(id: &str) -> String {
    envelope(id, r#"{"orderId":"ord_1"}"#)
}

/// How many of something exist now, and the most there ever were.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl Gauge {
    fn up(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
    }

    fn down(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A request body that counts itself in `gauge` from its first poll until it
/// is dropped (bodies being read), and in `polled` once it was polled at all.
/// It arrives in two polls, as a body from the network does.
struct Counted {
    bytes: Option<Bytes>,
    started: bool,
    yielded: bool,
    gauge: Arc<Gauge>,
    polled: Arc<AtomicUsize>,
}

impl Counted {
    fn new(bytes: impl Into<Bytes>, gauge: &Arc<Gauge>, polled: &Arc<AtomicUsize>) -> Self {
        Self {
            bytes: Some(bytes.into()),
            started: false,
            yielded: false,
            gauge: Arc::clone(gauge),
            polled: Arc::clone(polled),
        }
    }
}

impl Body for Counted {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if !self.started {
            self.started = true;
            self.gauge.up();
            self.polled.fetch_add(1, Ordering::SeqCst);
        }
        if !self.yielded {
            self.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(self.bytes.take().map(|bytes| Ok(Frame::data(bytes))))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        if self.started {
            self.gauge.down();
        }
    }
}

/// A signed request for event `id` with body `body`.
fn signed<B>(id: &str, body: String, make: impl FnOnce(Bytes) -> B) -> Request<B> {
    let body = Bytes::from(body);
    let headers = petstore().sign_headers(&body, id, testing::now());
    let mut request = Request::post("/webhooks").body(make(body)).unwrap();
    *request.headers_mut() = headers;
    request
}

/// The status, the body, and the rejection if the layer answered itself.
async fn answer<B>(response: Response<B>) -> (StatusCode, Bytes, Option<Rejection>, bool)
where
    B: Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let (parts, body) = response.into_parts();
    let rejection = parts.extensions.get::<Rejection>().cloned();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        bytes,
        rejection,
        parts.headers.contains_key(RETRY_AFTER),
    )
}

/// What the handlers did, per event id.
#[derive(Default)]
struct Effects {
    calls: Mutex<HashMap<String, u32>>,
    effects: Mutex<HashMap<String, u32>>,
    running: Gauge,
}

impl Effects {
    fn call(&self, id: &str) -> u32 {
        let mut calls = self.calls.lock().unwrap();
        let call = calls.entry(id.to_owned()).or_default();
        *call += 1;
        *call
    }

    fn apply(&self, id: &str) {
        *self.effects.lock().unwrap().entry(id.to_owned()).or_default() += 1;
    }

    fn calls(&self) -> u32 {
        self.calls.lock().unwrap().values().sum()
    }

    fn effects_of(&self, id: &str) -> u32 {
        self.effects.lock().unwrap().get(id).copied().unwrap_or(0)
    }
}

/// Counts a running handler in its gauge until dropped (finished or cancelled).
struct Running(Arc<Effects>);

impl Running {
    fn start(effects: &Arc<Effects>) -> Self {
        effects.running.up();
        Self(Arc::clone(effects))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.down();
    }
}

type Handler = Arc<
    dyn Fn(Arc<Effects>, Verified, u32) -> Pin<Box<dyn Future<Output = StatusCode> + Send>> + Send + Sync,
>;

/// An inner service that counts calls and runs `handler` (effects, call number).
fn inner(
    effects: &Arc<Effects>,
    handler: Handler,
) -> impl Service<Request<Full<Bytes>>, Response = Response<Full<Bytes>>, Error = Infallible, Future = impl Send>
       + Clone
       + Send
       + 'static {
    let effects = Arc::clone(effects);
    service_fn(move |request: Request<Full<Bytes>>| {
        let (effects, handler) = (Arc::clone(&effects), Arc::clone(&handler));
        async move {
            let verified = request.extensions().get::<Verified>().cloned().unwrap();
            let call = effects.call(verified.id());
            let _running = Running::start(&effects);
            let status = handler(Arc::clone(&effects), verified, call).await;
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = status;
            Ok::<_, Infallible>(response)
        }
    })
}

fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Arc<Effects>, Verified, u32) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = StatusCode> + Send + 'static,
{
    Arc::new(move |effects, verified, call| Box::pin(f(effects, verified, call)))
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what} did not happen within 10 s"));
}

// ---------------------------------------------------------------------------
// Run to completion

#[tokio::test]
async fn handler_runs_to_completion_when_the_response_future_is_dropped() {
    let effects = Arc::new(Effects::default());
    let finish = Arc::new(Notify::new());
    let guard = Arc::new(LruGuard::default());
    let wait = Arc::clone(&finish);
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()).guard(Arc::clone(&guard)))
        .service(inner(
            &effects,
            handler(move |effects, verified, _| {
                let wait = Arc::clone(&wait);
                async move {
                    effects.apply(verified.id());
                    // An await after the effect: the client leaves meanwhile.
                    wait.notified().await;
                    StatusCode::OK
                }
            }),
        ));
    let request = || signed("evt_1", order("evt_1"), Full::new);

    // The client gives up: the response future is dropped mid-handler.
    let first = tokio::time::timeout(Duration::from_millis(50), svc.clone().oneshot(request())).await;
    assert!(first.is_err(), "the handler waits, so the request cannot finish");
    assert_eq!(effects.effects_of("evt_1"), 1);

    // Its retry finds the event still in flight.
    let (status, _, rejection, retry_after) = answer(svc.clone().oneshot(request()).await.unwrap()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        matches!(rejection, Some(Rejection::InFlight { .. })),
        "{rejection:?}"
    );
    assert!(retry_after);

    // The detached handler finishes and commits; the next retry is a duplicate.
    finish.notify_one();
    wait_until("the commit", || guard.is_done("evt_1")).await;
    let (status, body, _, _) = answer(svc.oneshot(request()).await.unwrap()).await;
    assert_eq!(
        (status, &body[..]),
        (StatusCode::OK, &br#"{"duplicate":true}"#[..])
    );
    assert_eq!((effects.calls(), effects.effects_of("evt_1")), (1, 1));
    assert_eq!(guard.in_flight_len(), 0);
}

/// Before the bound, a handler slower than the guard's in-flight timeout
/// lost its claim while still running, and a retry ran the event a second
/// time alongside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_is_bounded_below_the_guards_claim_so_an_event_never_runs_twice_at_once() {
    const IN_FLIGHT: Duration = Duration::from_millis(300);
    let effects = Arc::new(Effects::default());
    let guard = Arc::new(LruGuard::new(100).in_flight_timeout(IN_FLIGHT));
    // No deadline: the guard's claim alone bounds the handler.
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()).guard(Arc::clone(&guard)))
        .service(inner(
            &effects,
            handler(|effects, verified, call| async move {
                if call == 1 {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                effects.apply(verified.id());
                StatusCode::OK
            }),
        ));
    let request = || signed("evt_slow", order("evt_slow"), Full::new);

    let first = tokio::spawn(svc.clone().oneshot(request()));
    wait_until("the first call", || effects.calls() == 1).await;
    // A sender retrying all along, as one does after a timeout.
    let mut statuses = Vec::new();
    loop {
        let (status, body, _, _) = answer(svc.clone().oneshot(request()).await.unwrap()).await;
        statuses.push(status);
        if status == StatusCode::OK {
            assert_ne!(&body[..], br#"{"duplicate":true}"#);
            break;
        }
        assert_eq!(status, StatusCode::CONFLICT, "{statuses:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    assert_eq!(effects.running.max.load(Ordering::SeqCst), 1, "two runs at once");
    let first = tokio::time::timeout(Duration::from_secs(10), first)
        .await
        .expect("the first handler was not bounded")
        .unwrap()
        .unwrap();
    let (status, _, rejection, retry_after) = answer(first).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(retry_after);
    match rejection {
        Some(Rejection::DeadlineExceeded { deadline }) => assert!(deadline < IN_FLIGHT, "{deadline:?}"),
        other => panic!("expected DeadlineExceeded, got {other:?}"),
    }
    assert_eq!(effects.running.max.load(Ordering::SeqCst), 1, "two runs at once");
    assert_eq!((effects.calls(), effects.effects_of("evt_slow")), (2, 1));
    assert_eq!((guard.done_len(), guard.in_flight_len()), (1, 0));
}

// ---------------------------------------------------------------------------
// Load shedding

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_twenty_times_the_limit_sheds_the_excess_and_every_event_is_processed_once() {
    const LIMIT: usize = 8;
    const EVENTS: usize = 20 * LIMIT;
    let effects = Arc::new(Effects::default());
    let guard = Arc::new(LruGuard::default());
    let (held, polled) = (Arc::new(Gauge::default()), Arc::new(AtomicUsize::new(0)));
    // Closed until the whole first wave has been answered: the handlers that
    // got in stay slow for as long as the test needs.
    let gate = Arc::new(Semaphore::new(0));
    let layer = WebhookLayer::new(petstore())
        .guard(Arc::clone(&guard))
        .concurrency_limit(LIMIT)
        .concurrent_reads(LIMIT);
    let shutdown = layer.shutdown_handle();
    let gate_in = Arc::clone(&gate);
    let held_in = Arc::clone(&held);
    let svc = ServiceBuilder::new().layer(layer).service(inner(
        &effects,
        handler(move |effects, verified, _| {
            let (gate, held) = (Arc::clone(&gate_in), Arc::clone(&held_in));
            async move {
                // A running handler holds its request's body.
                held.up();
                drop(gate.acquire().await.unwrap());
                tokio::time::sleep(Duration::from_millis(2)).await;
                effects.apply(verified.id());
                held.down();
                StatusCode::OK
            }
        }),
    ));
    let request = |n: usize| {
        let id = format!("evt_{n:03}");
        signed(&id, order(&id), |bytes| Counted::new(bytes, &held, &polled))
    };

    // The first wave: every delivery at once.
    let (results, mut answers) = tokio::sync::mpsc::unbounded_channel();
    for n in 0..EVENTS {
        let (svc, results, request) = (svc.clone(), results.clone(), request(n));
        tokio::spawn(async move {
            let answer = answer(svc.oneshot(request).await.unwrap()).await;
            results.send((n, answer)).unwrap();
        });
    }
    let mut shed = Vec::new();
    while shed.len() < EVENTS - LIMIT {
        let (n, (status, _, rejection, retry_after)) = answers.recv().await.unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "evt_{n:03}");
        assert_eq!(rejection, Some(Rejection::Overloaded { limit: LIMIT }));
        assert!(retry_after, "evt_{n:03}: no Retry-After");
        shed.push(n);
    }
    // The shed deliveries were answered without reading their bodies,
    // without asking the guard, without calling the handler.
    assert_eq!(polled.load(Ordering::SeqCst), LIMIT);
    assert_eq!(effects.calls(), LIMIT as u32);
    assert_eq!((guard.in_flight_len(), guard.done_len()), (LIMIT, 0));
    assert_eq!(shutdown.in_progress(), LIMIT);

    // The sender retries the shed ones (Retry-After scaled down) while the
    // first ones finish.
    gate.add_permits(Semaphore::MAX_PERMITS / 2);
    let retried_503s = Arc::new(AtomicUsize::new(0));
    let mut retries = tokio::task::JoinSet::new();
    for n in shed {
        let (svc, request, retried_503s) = (svc.clone(), request, Arc::clone(&retried_503s));
        let request = request(n);
        let (parts, _) = request.into_parts();
        let body = order(&format!("evt_{n:03}"));
        let (held, polled) = (Arc::clone(&held), Arc::clone(&polled));
        retries.spawn(async move {
            for _ in 0..1000 {
                let mut again =
                    Request::from_parts(parts.clone(), Counted::new(body.clone(), &held, &polled));
                *again.headers_mut() = parts.headers.clone();
                let (status, body, _, _) = answer(svc.clone().oneshot(again).await.unwrap()).await;
                match status {
                    StatusCode::OK => return body,
                    StatusCode::SERVICE_UNAVAILABLE => retried_503s.fetch_add(1, Ordering::SeqCst),
                    other => panic!("evt_{n:03}: {other}"),
                };
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
            panic!("evt_{n:03} was never accepted");
        });
    }
    while let Some(body) = retries.join_next().await {
        assert_ne!(&body.unwrap()[..], br#"{"duplicate":true}"#);
    }
    for _ in 0..LIMIT {
        let (n, (status, ..)) = answers.recv().await.unwrap();
        assert_eq!(status, StatusCode::OK, "evt_{n:03}");
    }

    println!(
        "burst of {EVENTS} at a limit of {LIMIT}: {} shed at once, {} more 503s on retry; \
         at most {} bodies read or held at once; {} handler calls",
        EVENTS - LIMIT,
        retried_503s.load(Ordering::SeqCst),
        held.max.load(Ordering::SeqCst),
        effects.calls(),
    );
    // Bodies in memory: the handlers' slots, plus the read budget for bodies
    // still arriving (a body not complete on its first poll reads in a read
    // slot, not a handler's), as `concurrent_reads` documents.
    assert!(held.max.load(Ordering::SeqCst) <= 2 * LIMIT);
    assert_eq!(held.now.load(Ordering::SeqCst), 0);
    for n in 0..EVENTS {
        assert_eq!(effects.effects_of(&format!("evt_{n:03}")), 1, "evt_{n:03}");
    }
    assert_eq!(effects.calls(), EVENTS as u32);
    assert_eq!((guard.done_len(), guard.in_flight_len()), (EVENTS, 0));
    assert_eq!(shutdown.in_progress(), 0);
}

// ---------------------------------------------------------------------------
// Dead letters

/// The article's order data, `{"orderId": "123", ...}`.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Order {
    #[allow(dead_code)]
    order_id: String,
}

/// The "fixed" type: takes the order id the sender really sends.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct FixedOrder {
    order_id: serde_json::Value,
}

#[tokio::test]
async fn poison_delivery_lands_in_the_sink_with_its_bytes_is_acknowledged_once_and_reruns_after_the_fix() {
    let letters = Arc::new(MemoryDeadLetters::new(10));
    let guard = Arc::new(LruGuard::default());
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let app = Router::new()
        .route(
            "/webhooks",
            post(move |_: Webhook<Event<Order>>| {
                counted.fetch_add(1, Ordering::SeqCst);
                async {}
            }),
        )
        .layer(
            WebhookLayer::new(petstore())
                .guard(Arc::clone(&guard))
                .dead_letters(Arc::clone(&letters)),
        );
    // `orderId` is a number: no retry can make it fit `Order`.
    let body = envelope("evt_poison", r#"{"orderId":7}"#);
    let request = || signed("evt_poison", body.clone(), axum::body::Body::from);

    let (status, text, _, _) = answer(app.clone().oneshot(request()).await.unwrap()).await;
    assert_eq!(
        (status, &text[..]),
        (
            StatusCode::OK,
            &b"event cannot be processed; kept as a dead letter"[..]
        )
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the handler never saw it");
    assert!(guard.is_done("evt_poison"));

    let letter = letters.letters().pop().expect("a dead letter");
    assert_eq!(letters.len(), 1);
    assert_eq!(letter.id(), "evt_poison");
    assert_eq!(letter.event_type(), Some("order.created"));
    assert_eq!(letter.body(), body.as_bytes());
    let sent = request();
    assert_eq!(
        letter.headers()["x-petstore-signature"],
        sent.headers()["x-petstore-signature"]
    );
    assert!(letter.reason().contains("does not fit"), "{}", letter.reason());
    assert!(!letter.to_json_line().contains(SECRET));
    assert!(!format!("{letter:?}").contains(SECRET));

    // The sender's redelivery is a duplicate, and no second letter.
    let (status, text, _, _) = answer(app.oneshot(request()).await.unwrap()).await;
    assert_eq!(
        (status, &text[..]),
        (StatusCode::OK, &br#"{"duplicate":true}"#[..])
    );
    assert_eq!(letters.len(), 1);

    // The code is fixed: the stored letter is processed.
    let processed = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&processed);
    let fixed = Router::new().route(
        "/webhooks",
        post(move |Webhook { event, verified }: Webhook<Event<FixedOrder>>| {
            seen.lock()
                .unwrap()
                .push((verified.id().to_owned(), event.data.order_id));
            async {}
        }),
    );
    let response = dead_letter::rerun::<_, axum::body::Body>(&letter, fixed)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        *processed.lock().unwrap(),
        vec![("evt_poison".to_owned(), serde_json::json!(7))]
    );
}

#[tokio::test]
async fn permanent_handler_error_and_a_marker_set_by_hand_become_dead_letters() {
    let letters = Arc::new(MemoryDeadLetters::default());
    let guard = Arc::new(LruGuard::default());
    let app = Router::new()
        .route(
            "/webhooks",
            post(
                |Webhook { verified, .. }: Webhook<serde_json::Value>| async move {
                    if verified.id() == "evt_permanent" {
                        return Err(HandlerError::permanent("order ord_1 was deleted"));
                    }
                    let mut response =
                        axum::response::IntoResponse::into_response(StatusCode::INTERNAL_SERVER_ERROR);
                    response
                        .extensions_mut()
                        .insert(PermanentFailure::new("custom marker"));
                    Ok(response)
                },
            ),
        )
        .layer(
            WebhookLayer::new(petstore())
                .guard(Arc::clone(&guard))
                .dead_letters(Arc::clone(&letters)),
        );
    for id in ["evt_permanent", "evt_marked"] {
        let request = signed(id, order(id), axum::body::Body::from);
        let (status, ..) = answer(app.clone().oneshot(request).await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{id}");
        assert!(guard.is_done(id), "{id}");
    }
    let reasons: Vec<_> = letters
        .letters()
        .iter()
        .map(|letter| (letter.id().to_owned(), letter.reason().to_owned()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("evt_permanent".to_owned(), "order ord_1 was deleted".to_owned()),
            ("evt_marked".to_owned(), "custom marker".to_owned())
        ]
    );
}

/// A sink that fails its first `failures` stores.
struct Flaky {
    failures: AtomicUsize,
    kept: MemoryDeadLetters,
}

impl DeadLetterSink for Flaky {
    async fn store(&self, letter: DeadLetter) -> Result<(), DeadLetterError> {
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(DeadLetterError::new("disk full"));
        }
        self.kept.store(letter).await
    }
}

#[tokio::test]
async fn a_sink_that_fails_releases_the_event_with_503_and_the_retry_keeps_it() {
    let sink = Arc::new(Flaky {
        failures: AtomicUsize::new(1),
        kept: MemoryDeadLetters::default(),
    });
    let guard = Arc::new(LruGuard::default());
    let app = orders(
        WebhookLayer::new(petstore())
            .guard(Arc::clone(&guard))
            .dead_letters(Arc::clone(&sink)),
    );
    let body = envelope("evt_poison", r#"{"orderId":7}"#);
    let request = || signed("evt_poison", body.clone(), axum::body::Body::from);

    let (status, _, rejection, retry_after) = answer(app.clone().oneshot(request()).await.unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(rejection, Some(Rejection::DeadLetterUnavailable));
    assert!(retry_after);
    assert!(!guard.is_done("evt_poison"));
    assert_eq!((guard.in_flight_len(), sink.kept.len()), (0, 0));

    let (status, ..) = answer(app.oneshot(request()).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(guard.is_done("evt_poison"));
    assert_eq!(sink.kept.letters()[0].body(), body.as_bytes());
}

/// A sink that never answers.
struct Hangs;

impl DeadLetterSink for Hangs {
    async fn store(&self, _letter: DeadLetter) -> Result<(), DeadLetterError> {
        std::future::pending().await
    }
}

#[tokio::test(start_paused = true)]
async fn a_sink_that_hangs_is_given_up_within_the_handlers_bound_and_the_event_released() {
    let guard = Arc::new(LruGuard::default());
    let app = orders(
        WebhookLayer::new(petstore())
            .guard(Arc::clone(&guard))
            .deadline(Duration::from_secs(5))
            .dead_letters(Hangs),
    );
    let body = envelope("evt_stuck", r#"{"orderId":7}"#);
    let request = signed("evt_stuck", body, axum::body::Body::from);
    // (Paused time: a minute passes at once when nothing else can run.)
    let response = tokio::time::timeout(Duration::from_secs(60), app.oneshot(request))
        .await
        .expect("the layer answers instead of waiting on the sink")
        .unwrap();
    let (status, _, rejection, _) = answer(response).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(rejection, Some(Rejection::DeadLetterUnavailable));
    assert!(!guard.is_done("evt_stuck"));
    assert_eq!(guard.in_flight_len(), 0);
}

#[tokio::test]
async fn file_sink_appends_json_lines_that_read_back_and_rerun() {
    let path = std::env::temp_dir().join(format!(
        "tower-webhook-dead-letters-{}-{:016x}.jsonl",
        std::process::id(),
        rand::random::<u64>()
    ));
    let sink = FileDeadLetters::open(&path).unwrap();
    let app = orders(WebhookLayer::new(petstore()).dead_letters(sink));
    let bodies: Vec<_> = (0..2)
        .map(|n| envelope(&format!("evt_{n}"), r#"{"orderId":["not","a","string"]}"#))
        .collect();
    for (n, body) in bodies.iter().enumerate() {
        let request = signed(&format!("evt_{n}"), body.clone(), axum::body::Body::from);
        assert_eq!(
            app.clone().oneshot(request).await.unwrap().status(),
            StatusCode::OK
        );
    }

    let letters = FileDeadLetters::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(letters.len(), 2);
    for (letter, body) in letters.iter().zip(&bodies) {
        assert_eq!(letter.body(), body.as_bytes());
        assert!(letter.headers().contains_key("x-petstore-signature"));
    }
    let fixed = Router::new().route("/webhooks", post(|_: Webhook<Event<FixedOrder>>| async {}));
    for letter in &letters {
        let response = dead_letter::rerun::<_, axum::body::Body>(letter, fixed.clone())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{}", letter.id());
    }
}

// ---------------------------------------------------------------------------
// Graceful shutdown

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_lets_deliveries_in_progress_finish_and_commit_and_refuses_new_ones_untouched() {
    let effects = Arc::new(Effects::default());
    let guard = Arc::new(LruGuard::default());
    let gate = Arc::new(Semaphore::new(0));
    let (held, polled) = (Arc::new(Gauge::default()), Arc::new(AtomicUsize::new(0)));
    let layer = WebhookLayer::new(petstore()).guard(Arc::clone(&guard));
    let shutdown = layer.shutdown_handle();
    let gate_in = Arc::clone(&gate);
    let svc = ServiceBuilder::new().layer(layer).service(inner(
        &effects,
        handler(move |effects, verified, _| {
            let gate = Arc::clone(&gate_in);
            async move {
                drop(gate.acquire().await.unwrap());
                effects.apply(verified.id());
                StatusCode::OK
            }
        }),
    ));
    let request = |id: &str| signed(id, order(id), |bytes| Counted::new(bytes, &held, &polled));

    let running: Vec<_> = (0..3)
        .map(|n| tokio::spawn(svc.clone().oneshot(request(&format!("evt_{n}")))))
        .collect();
    wait_until("three handlers running", || effects.calls() == 3).await;

    let drain = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { shutdown.drain(Duration::from_secs(10)).await })
    };
    wait_until("the drain to begin", || shutdown.is_closed()).await;

    // A delivery after shutdown began: refused before anything happens.
    let (status, _, rejection, retry_after) =
        answer(svc.clone().oneshot(request("evt_late")).await.unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(rejection, Some(Rejection::ShuttingDown));
    assert!(retry_after);
    assert_eq!(polled.load(Ordering::SeqCst), 3, "the late body was read");
    assert_eq!(effects.calls(), 3);
    assert!(!guard.is_done("evt_late"));
    assert_eq!(guard.in_flight_len(), 3);

    gate.add_permits(3);
    let drained = drain.await.unwrap();
    assert_eq!((drained.completed, drained.cancelled), (3, 0));
    for task in running {
        let (status, ..) = answer(task.await.unwrap().unwrap()).await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!((guard.done_len(), guard.in_flight_len()), (3, 0));
    assert!((0..3).all(|n| effects.effects_of(&format!("evt_{n}")) == 1));
}

#[tokio::test]
async fn drain_that_times_out_cancels_the_handlers_and_releases_their_events() {
    let effects = Arc::new(Effects::default());
    let guard = Arc::new(LruGuard::default());
    let layer = WebhookLayer::new(petstore()).guard(Arc::clone(&guard));
    let shutdown = layer.shutdown_handle();
    let svc = ServiceBuilder::new().layer(layer).service(inner(
        &effects,
        handler(|_, _, _| std::future::pending::<StatusCode>()),
    ));
    let stuck = tokio::spawn(svc.oneshot(signed("evt_stuck", order("evt_stuck"), Full::new)));
    wait_until("the handler running", || effects.calls() == 1).await;

    let drained = shutdown.drain(Duration::from_millis(50)).await;
    assert_eq!((drained.completed, drained.cancelled), (0, 1));
    assert_eq!((guard.done_len(), guard.in_flight_len()), (0, 0));
    assert_eq!(
        effects.running.now.load(Ordering::SeqCst),
        0,
        "the handler still runs"
    );
    let (status, _, rejection, _) = answer(stuck.await.unwrap().unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(rejection, Some(Rejection::ShuttingDown));
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_sink_keeps_the_newest_letters_for_every_replica() {
    use tower_webhook::dead_letter::RedisDeadLetters;

    let url = std::env::var("REDIS_URL").expect(
        "REDIS_URL is not set: with the `redis` feature these tests need a Redis server \
         (.ci/run starts one)",
    );
    let key = format!("tower-webhook-test:dead-letters:{:016x}", rand::random::<u64>());
    let open = || async {
        tokio::time::timeout(Duration::from_secs(10), RedisDeadLetters::open(&url, key.clone()))
            .await
            .expect("connected within 10 s")
            .expect("connected")
            .max_len(2)
    };
    // Two replicas, one list.
    let replicas = [open().await, open().await];
    for (n, sink) in [0, 1, 0].into_iter().map(|r| &replicas[r]).enumerate() {
        let app = orders(WebhookLayer::new(petstore()).dead_letters(sink.clone()));
        let id = format!("evt_{n}");
        let request = signed(&id, envelope(&id, r#"{"orderId":false}"#), axum::body::Body::from);
        assert_eq!(
            app.oneshot(request).await.unwrap().status(),
            StatusCode::OK,
            "{id}"
        );
    }

    // A replica that never saw evt_2 (a guard of its own) gets the same
    // delivery again: its body is kept already, and nothing is pushed out.
    let app = orders(WebhookLayer::new(petstore()).dead_letters(replicas[1].clone()));
    let request = signed(
        "evt_2",
        envelope("evt_2", r#"{"orderId":false}"#),
        axum::body::Body::from,
    );
    assert_eq!(app.oneshot(request).await.unwrap().status(), StatusCode::OK);

    let letters = replicas[1].letters().await.unwrap();
    let ids: Vec<_> = letters.iter().map(DeadLetter::id).collect();
    assert_eq!(ids, ["evt_1", "evt_2"], "the oldest is trimmed");
    assert_eq!(
        letters[1].body(),
        envelope("evt_2", r#"{"orderId":false}"#).as_bytes()
    );
    assert!(letters[1].headers().contains_key("x-petstore-signature"));
}

#[tokio::test]
async fn a_detached_handler_logs_in_the_requests_span_and_a_dead_letter_is_logged_with_its_reason() {
    use tracing::Instrument;

    let logs = Logs::capture();
    let effects = Arc::new(Effects::default());
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()))
        .service(inner(
            &effects,
            handler(|_, verified, _| async move {
                tracing::info!(event_id = verified.id(), "inside the handler");
                StatusCode::OK
            }),
        ));
    let request = signed("evt_span", order("evt_span"), Full::new);
    let span = tracing::info_span!("request", trace_id = "t-4242");
    let (status, ..) = answer(svc.oneshot(request).instrument(span).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let lines = logs.lines_with(&["inside the handler"]);
    assert!(
        lines
            .iter()
            .any(|line| line.contains("evt_span") && line.contains("t-4242")),
        "{lines:?}"
    );

    let app = orders(WebhookLayer::new(petstore()));
    let request = signed(
        "evt_logged",
        envelope("evt_logged", r#"{"orderId":7}"#),
        axum::body::Body::from,
    );
    assert_eq!(app.oneshot(request).await.unwrap().status(), StatusCode::OK);
    let lines = logs.lines_with(&["evt_logged"]);
    assert!(
        lines.iter().any(|line| line.contains("ERROR")
            && line.contains("dead letter")
            && line.contains("invalid type")),
        "{lines:?}"
    );
    assert!(lines.iter().all(|line| !line.contains(SECRET)), "{lines:?}");
}
