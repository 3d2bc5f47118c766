//! Nothing lost, nothing processed twice: a retrying sender delivers 2 000
//! events over real HTTP (127.0.0.1) to an axum receiver behind
//! `WebhookLayer` + `LruGuard`, while the handler fails, panics, or applies
//! its effect and then takes longer than the sender waits on first attempts,
//! the sender duplicates and re-sends deliveries, cuts slow requests off, and
//! forged deliveries are mixed in. Every handler applies its effect *before*
//! an `.await`: the layer runs handlers to completion, so a cut-off request
//! still commits, and its retry is a duplicate.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::post;
use axum::{Extension, Router};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};
use tower_webhook::layer::Shutdown;
use tower_webhook::scheme::Spec;
use tower_webhook::testing::{self, Sign};
use tower_webhook::{LruGuard, Secret, Verified, WebhookLayer};

const EVENTS: usize = 2_000;
/// The sender's connections in flight at once.
const CONCURRENCY: usize = 32;
/// The sender gives up on a delivery after this many attempts.
const MAX_ATTEMPTS: u32 = 12;
/// The sender's per-attempt timeout: a real queue's 10 s, scaled down.
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(400);
/// Exponential backoff: 5 ms, 10 ms, 20 ms … capped at 200 ms (a real
/// queue's seconds to minutes, scaled down).
const BACKOFF_BASE: Duration = Duration::from_millis(5);
const BACKOFF_CAP: Duration = Duration::from_millis(200);
/// `Retry-After` seconds, on the same scale as the timeout (10 s → 400 ms):
/// one second is 40 ms.
const RETRY_AFTER_UNIT: Duration = Duration::from_millis(40);
const FORGED: usize = 200;
const SECRET: &str = "fault injection secret";
const INJECTED_PANIC: &str = "injected panic";
const DUPLICATE_BODY: &[u8] = br#"{"duplicate":true}"#;

/// What the handler does the first time it sees an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum First {
    Succeed,
    /// Answer 500.
    Fail,
    /// Panic (the layer answers 500).
    Panic,
    /// Apply the effect, then take longer than the sender waits: the
    /// sender's timeout cuts the request off after the effect.
    Slow,
}

/// How long a `Slow` handler takes after its effect: three attempt timeouts.
const SLOW: Duration = Duration::from_millis(1_200);

#[derive(Debug, Clone, Copy)]
struct Plan {
    first: First,
    /// Also delivered a second time, concurrently with the first.
    concurrent_duplicate: bool,
    /// Delivered once more after it was acknowledged.
    resend_after_success: bool,
}

fn plans(seed: u64) -> Vec<Plan> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..EVENTS)
        .map(|_| Plan {
            first: match rng.random_range(0..100) {
                0..20 => First::Fail,
                20..22 => First::Panic,
                22..24 => First::Slow,
                _ => First::Succeed,
            },
            concurrent_duplicate: rng.random_bool(0.2),
            resend_after_success: rng.random_bool(0.1),
        })
        .collect()
}

fn event_id(n: usize) -> String {
    format!("evt_{n:05}")
}

fn event_number(id: &str) -> Option<usize> {
    id.strip_prefix("evt_")?.parse().ok()
}

/// The receiver's side: what the handler saw and did.
#[derive(Default)]
struct Receiver {
    plans: Vec<Plan>,
    /// Handler calls per event id (every call, whatever its outcome).
    calls: Mutex<HashMap<String, u32>>,
    /// The effect: applied only on the path that answers 200, before an await.
    effects: Mutex<HashMap<String, u32>>,
    /// `Slow` handlers that started, and that ran to their end.
    slow: AtomicUsize,
    slow_finished: AtomicUsize,
}

async fn handler(
    State(receiver): State<Arc<Receiver>>,
    Extension(verified): Extension<Verified>,
) -> StatusCode {
    let id = verified.id().to_owned();
    let call = {
        let mut calls = receiver.calls.lock().unwrap();
        let call = calls.entry(id.clone()).or_default();
        *call += 1;
        *call
    };
    let plan = event_number(&id).and_then(|n| receiver.plans.get(n).copied());
    let first = plan.map_or(First::Succeed, |p| p.first);
    if call == 1 {
        match first {
            First::Succeed | First::Slow => {}
            First::Fail => return StatusCode::INTERNAL_SERVER_ERROR,
            First::Panic => panic!("{INJECTED_PANIC} for {id}"),
        }
    }
    // Some work before the effect, so that concurrent copies overlap.
    tokio::time::sleep(Duration::from_millis(2)).await;
    // The effect, then an await before the 200: a handler dropped here would
    // be released and run again on the retry; run to completion, it commits.
    *receiver.effects.lock().unwrap().entry(id.clone()).or_default() += 1;
    if call == 1 && first == First::Slow {
        receiver.slow.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(SLOW).await;
        receiver.slow_finished.fetch_add(1, Ordering::SeqCst);
    } else {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    StatusCode::OK
}

async fn serve(receiver: Arc<Receiver>, guard: &Arc<LruGuard>) -> (SocketAddr, Shutdown) {
    let layer = WebhookLayer::new(Spec::petstore(Secret::new(SECRET).unwrap())).guard(Arc::clone(guard));
    let shutdown = layer.shutdown_handle();
    let app = Router::new()
        .route("/webhooks", post(handler))
        .with_state(receiver)
        .layer(layer);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, shutdown)
}

/// The sender's view.
#[derive(Default, Debug)]
struct Stats {
    requests: AtomicUsize,
    retries: AtomicUsize,
    acknowledged: AtomicUsize,
    duplicates_dropped: AtomicUsize,
    conflicts: AtomicUsize,
    server_errors: AtomicUsize,
    timeouts: AtomicUsize,
    unauthorized: AtomicUsize,
    gave_up: AtomicUsize,
}

impl Stats {
    fn bump(counter: &AtomicUsize) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// How a delivery ended, as the sender sees it.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// 2xx; `duplicate` when the body said the event was processed already.
    Acknowledged {
        duplicate: bool,
    },
    /// A 4xx other than 409: the sender stops.
    Refused(StatusCode),
    GaveUp,
}

struct Sender {
    client: Client<HttpConnector, Full<Bytes>>,
    uri: String,
    permits: Semaphore,
    stats: Stats,
    /// Attempts cut off by the timeout (or a connection error), per event id.
    cut_off: Mutex<HashMap<String, u32>>,
}

impl Sender {
    /// Delivers one signed body, as a webhook queue does: retry on 5xx, 409
    /// and timeouts with exponential backoff (or `Retry-After`), stop on other
    /// 4xx, give up after `MAX_ATTEMPTS`.
    async fn deliver(&self, id: &str, body: &Bytes, headers: &http::HeaderMap) -> Outcome {
        let mut backoff = BACKOFF_BASE;
        for attempt in 1..=MAX_ATTEMPTS {
            if attempt > 1 {
                Stats::bump(&self.stats.retries);
            }
            let mut request = Request::post(&self.uri).body(Full::new(body.clone())).unwrap();
            *request.headers_mut() = headers.clone();
            let permit = self.permits.acquire().await.unwrap();
            Stats::bump(&self.stats.requests);
            let exchange = async {
                let response = self.client.request(request).await?;
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok()?.parse::<u32>().ok());
                let body = response.into_body().collect().await?.to_bytes();
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>((status, retry_after, body))
            };
            let result = tokio::time::timeout(ATTEMPT_TIMEOUT, exchange).await;
            drop(permit);
            let mut wait = backoff;
            match result {
                Ok(Ok((status, _, body))) if status.is_success() => {
                    Stats::bump(&self.stats.acknowledged);
                    let duplicate = body == DUPLICATE_BODY;
                    if duplicate {
                        Stats::bump(&self.stats.duplicates_dropped);
                    }
                    return Outcome::Acknowledged { duplicate };
                }
                Ok(Ok((StatusCode::CONFLICT, retry_after, _))) => {
                    Stats::bump(&self.stats.conflicts);
                    if let Some(secs) = retry_after {
                        wait = RETRY_AFTER_UNIT * secs;
                    }
                }
                Ok(Ok((status, _, _))) if status.is_server_error() => Stats::bump(&self.stats.server_errors),
                Ok(Ok((status, _, _))) => {
                    if status == StatusCode::UNAUTHORIZED {
                        Stats::bump(&self.stats.unauthorized);
                    }
                    return Outcome::Refused(status);
                }
                // A connection error counts as a timeout would: retry.
                Ok(Err(_)) | Err(_) => {
                    Stats::bump(&self.stats.timeouts);
                    *self.cut_off.lock().unwrap().entry(id.to_owned()).or_default() += 1;
                }
            }
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(BACKOFF_CAP);
        }
        Stats::bump(&self.stats.gave_up);
        Outcome::GaveUp
    }
}

fn envelope(id: &str, n: usize) -> Bytes {
    Bytes::from(format!(
        r#"{{"id":"{id}","type":"order.created","created":{},"data":{{"orderId":"ord_{n}","status":"created"}}}}"#,
        testing::now()
    ))
}

/// Silences the injected panics; any other panic is reported as usual.
fn quiet_injected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| info.payload().downcast_ref::<&str>().copied())
                .unwrap_or("");
            if !message.starts_with(INJECTED_PANIC) {
                default(info);
            }
        }));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_is_applied_exactly_once_despite_failures_duplicates_and_cut_offs() {
    quiet_injected_panics();
    let started = Instant::now();
    let plans = plans(0x5eed);
    let receiver = Arc::new(Receiver {
        plans: plans.clone(),
        ..Receiver::default()
    });
    let guard = Arc::new(LruGuard::new(LruGuard::DEFAULT_CAPACITY));
    let (addr, shutdown) = serve(Arc::clone(&receiver), &guard).await;
    let sender = Arc::new(Sender {
        client: Client::builder(TokioExecutor::new()).build_http(),
        uri: format!("http://{addr}/webhooks"),
        permits: Semaphore::new(CONCURRENCY),
        stats: Stats::default(),
        cut_off: Mutex::default(),
    });
    let signer = Spec::petstore(Secret::new(SECRET).unwrap());
    let forger = Spec::petstore(Secret::new("not the secret").unwrap());

    let run = async {
        let mut tasks = tokio::task::JoinSet::new();
        for (n, plan) in plans.iter().copied().enumerate() {
            let id = event_id(n);
            let body = envelope(&id, n);
            let headers = signer.sign_headers(&body, &id, 0);
            let copies = if plan.concurrent_duplicate { 2 } else { 1 };
            for copy in 0..copies {
                let (sender, receiver, body, headers) = (
                    Arc::clone(&sender),
                    Arc::clone(&receiver),
                    body.clone(),
                    headers.clone(),
                );
                let id = id.clone();
                tasks.spawn(async move {
                    let outcome = sender.deliver(&id, &body, &headers).await;
                    assert!(
                        matches!(outcome, Outcome::Acknowledged { .. }),
                        "{id}: {outcome:?}"
                    );
                    if plan.resend_after_success && copy == 0 {
                        // Acknowledged means committed: no handler call for
                        // this id can start any more.
                        let calls_before = receiver.calls.lock().unwrap()[&id];
                        let again = sender.deliver(&id, &body, &headers).await;
                        assert_eq!(again, Outcome::Acknowledged { duplicate: true }, "{id}");
                        assert_eq!(receiver.calls.lock().unwrap()[&id], calls_before, "{id}");
                    }
                });
            }
        }
        for n in 0..FORGED {
            // Half reuse real event ids, half are new; all carry a marker
            // in the body and a signature made with the wrong secret.
            let id = if n % 2 == 0 {
                event_id(n)
            } else {
                format!("forged_{n}")
            };
            let body = Bytes::from(format!(r#"{{"id":"{id}","type":"forged","data":{{}}}}"#));
            let headers = forger.sign_headers(&body, &id, 0);
            let sender = Arc::clone(&sender);
            tasks.spawn(async move {
                let outcome = sender.deliver(&id, &body, &headers).await;
                assert_eq!(outcome, Outcome::Refused(StatusCode::UNAUTHORIZED), "{id}");
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the deliveries did not finish in time");

    // Every delivery was acknowledged, so every handler has finished; give
    // the last settles a short, bounded moment.
    let settle = Instant::now();
    while (guard.in_flight_len() > 0 || shutdown.in_progress() > 0)
        && settle.elapsed() < Duration::from_secs(5)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let stats = &sender.stats;
    let count = |first: First| plans.iter().filter(|p| p.first == first).count();
    let calls = receiver.calls.lock().unwrap().clone();
    let effects = receiver.effects.lock().unwrap().clone();
    println!(
        "{EVENTS} events ({} fail first, {} panic first, {} outlast the sender's timeout after their effect; \
         {} sent twice concurrently, {} re-sent after success) + {FORGED} forged, in {:.1?}",
        count(First::Fail),
        count(First::Panic),
        count(First::Slow),
        plans.iter().filter(|p| p.concurrent_duplicate).count(),
        plans.iter().filter(|p| p.resend_after_success).count(),
        started.elapsed(),
    );
    println!(
        "sender: {} requests, {} retries, {} acknowledged, {} duplicates dropped (200 {{\"duplicate\":true}}), \
         {} 409s, {} 5xx, {} client timeouts or connection errors, {} 401s, {} gave up",
        stats.requests.load(Ordering::Relaxed),
        stats.retries.load(Ordering::Relaxed),
        stats.acknowledged.load(Ordering::Relaxed),
        stats.duplicates_dropped.load(Ordering::Relaxed),
        stats.conflicts.load(Ordering::Relaxed),
        stats.server_errors.load(Ordering::Relaxed),
        stats.timeouts.load(Ordering::Relaxed),
        stats.unauthorized.load(Ordering::Relaxed),
        stats.gave_up.load(Ordering::Relaxed),
    );
    println!(
        "receiver: {} handler calls, {} slow of which {} ran to their end, {} effects; \
         guard: {} done, {} in flight; layer: {} deliveries in progress",
        calls.values().sum::<u32>(),
        receiver.slow.load(Ordering::SeqCst),
        receiver.slow_finished.load(Ordering::SeqCst),
        effects.values().sum::<u32>(),
        guard.done_len(),
        guard.in_flight_len(),
        shutdown.in_progress(),
    );

    // Nothing lost: every delivery was acknowledged (the tasks asserted it).
    assert_eq!(stats.gave_up.load(Ordering::Relaxed), 0);
    // Nothing processed twice, nothing missing.
    let twice: Vec<_> = effects.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "effects applied more than once: {twice:?}");
    assert_eq!(effects.len(), EVENTS);
    assert!((0..EVENTS).all(|n| effects.contains_key(&event_id(n))));
    // Forged deliveries never reached the handler.
    assert_eq!(stats.unauthorized.load(Ordering::Relaxed), FORGED);
    assert!(
        calls.keys().all(|id| event_number(id).is_some()),
        "a forged id reached the handler"
    );
    // Every injected failure happened once and was retried: one handler
    // call per event, and one more for an injected failure or panic. A
    // cut-off request costs no extra call: its handler ran on and committed.
    let cut_off = sender.cut_off.lock().unwrap().clone();
    for (n, plan) in plans.iter().enumerate() {
        let id = event_id(n);
        let injected = u32::from(matches!(plan.first, First::Fail | First::Panic));
        assert_eq!(calls[&id], 1 + injected, "{id}: {plan:?}");
        if plan.first == First::Slow {
            assert!(
                cut_off.contains_key(&id),
                "{id}: the slow first attempt was not cut off"
            );
        }
    }
    assert_eq!(receiver.slow.load(Ordering::SeqCst), count(First::Slow));
    // Every slow handler ran to its end although its client had gone.
    assert_eq!(receiver.slow_finished.load(Ordering::SeqCst), count(First::Slow));
    assert_eq!(guard.in_flight_len(), 0);
    assert_eq!(shutdown.in_progress(), 0);
    assert_eq!(guard.done_len(), EVENTS);
}

/// A request written by hand, so that the test decides when the connection closes.
fn raw_request(headers: &http::HeaderMap, body: &[u8], close: bool) -> Vec<u8> {
    let mut out = format!(
        "POST /webhooks HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    if close {
        out.push_str("connection: close\r\n");
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// A handler that applies its effect and *then* awaits something (a second
/// write, a notification), whose client disconnects in between: one
/// delivery over a raw socket that the test closes mid-handler, then the
/// sender's retry. Returns the handler calls and effects, and the retry's
/// status line.
async fn effect_then_disconnect(cancel_on_disconnect: bool) -> (usize, usize, String, Arc<LruGuard>) {
    #[derive(Default)]
    struct Gap {
        calls: AtomicUsize,
        effects: AtomicUsize,
        applied: Notify,
        finish: Notify,
    }
    async fn gap_handler(State(gap): State<Arc<Gap>>) -> StatusCode {
        let call = gap.calls.fetch_add(1, Ordering::SeqCst) + 1;
        gap.effects.fetch_add(1, Ordering::SeqCst);
        if call == 1 {
            gap.applied.notify_one();
            // An await after the effect, long enough for the client to leave.
            gap.finish.notified().await;
        }
        StatusCode::OK
    }

    let gap = Arc::new(Gap::default());
    let guard = Arc::new(LruGuard::default());
    let app = Router::new()
        .route("/webhooks", post(gap_handler))
        .with_state(Arc::clone(&gap))
        .layer(
            WebhookLayer::new(Spec::petstore(Secret::new(SECRET).unwrap()))
                .guard(Arc::clone(&guard))
                .cancel_on_disconnect(cancel_on_disconnect),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let signer = Spec::petstore(Secret::new(SECRET).unwrap());
    let body = envelope("evt_gap", 0);
    let headers = signer.sign_headers(&body, "evt_gap", 0);

    // First delivery: the effect is applied, then the client disconnects.
    let mut first = TcpStream::connect(addr).await.unwrap();
    first
        .write_all(&raw_request(&headers, &body, false))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), gap.applied.notified())
        .await
        .expect("the first call did not happen in time");
    drop(first);
    if cancel_on_disconnect {
        // hyper notices the closed connection and drops the handler.
        tokio::time::timeout(Duration::from_secs(10), async {
            while guard.in_flight_len() > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the release of the dropped request did not happen in time");
        assert_eq!(guard.done_len(), 0, "the dropped request must not commit");
    } else {
        // The handler runs on; let it finish its await.
        gap.finish.notify_one();
        tokio::time::timeout(Duration::from_secs(10), async {
            while !guard.is_done("evt_gap") {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the detached handler did not commit in time");
    }

    // The sender's retry.
    let mut retry = TcpStream::connect(addr).await.unwrap();
    retry
        .write_all(&raw_request(&headers, &body, true))
        .await
        .unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), retry.read_to_end(&mut response))
        .await
        .expect("the retry's response did not happen in time")
        .unwrap();
    server.abort();
    (
        gap.calls.load(Ordering::SeqCst),
        gap.effects.load(Ordering::SeqCst),
        String::from_utf8_lossy(&response).into_owned(),
        guard,
    )
}

/// The case that double-processed before handlers ran to completion: the
/// client leaves after the effect and before the answer. The handler runs
/// on and commits, so the sender's retry is a duplicate.
#[tokio::test]
async fn effect_applied_before_an_await_is_applied_once_when_the_client_disconnects_mid_handler() {
    let (calls, effects, response, guard) = effect_then_disconnect(false).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("duplicate"), "{response}");
    assert_eq!((calls, effects), (1, 1));
    assert_eq!((guard.done_len(), guard.in_flight_len()), (1, 0));
}

/// With `cancel_on_disconnect(true)` the layer cannot make a handler's side
/// effect atomic with its answer: the dropped handler's event is released,
/// as it must be, and the retry applies the effect again. Such handlers need
/// their own idempotency (e.g. the effect keyed by event id).
#[tokio::test]
async fn under_cancel_on_disconnect_an_effect_before_an_await_is_applied_again() {
    let (calls, effects, response, guard) = effect_then_disconnect(true).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(!response.contains("duplicate"), "{response}");
    assert_eq!((calls, effects), (2, 2));
    assert_eq!((guard.done_len(), guard.in_flight_len()), (1, 0));
}
