//! Inbox mode through the layer and the worker, with `oneshot`: what the
//! sender is answered, what the worker does with each outcome of the
//! handler, drains, and the exactly-once pattern over SQLite.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::routing::post;
use axum::{Extension, Router};
use bytes::Bytes;
use http::header::RETRY_AFTER;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::{service_fn, ServiceBuilder, ServiceExt};
use tower_webhook::extract::Webhook;
use tower_webhook::handler::HandlerError;
use tower_webhook::inbox::{
    Attempt, Backoff, Counts, InboxError, InboxStore, InboxWorker, Incoming, ListQuery, MemoryInbox, Record,
    RecordId, SqliteInbox, State,
};
use tower_webhook::observe::{Observer, Outcome, Report};
use tower_webhook::scheme::{GitHub, Slack, Spec};
use tower_webhook::{testing, Event, Rejection, Secret, WebhookLayer};

/// The source article's event, verbatim, with id `id`.
fn article(id: &str) -> String {
    format!(
        r#"{{"id":"{id}","type":"order.completed","created":1710331200,"data":{{"orderId":"123","status":"completed","completedAt":"2024-01-01T12:00:00Z"}}}}"#
    )
}

fn petstore() -> Spec {
    Spec::petstore(Secret::new("petstore secret").unwrap())
}

/// Fast retries, so the tests wait little.
fn fast<B, S>(worker: InboxWorker<B, S>) -> InboxWorker<B, S> {
    worker
        .backoff(Backoff::new(Duration::from_millis(20), Duration::from_millis(50)))
        .poll_interval(Duration::from_millis(20))
}

async fn body_text(response: Response<impl http_body::Body<Error = impl std::fmt::Debug>>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Waits (bounded) until `done` holds for the store's counts.
async fn until(store: &impl InboxStore, done: impl Fn(&Counts) -> bool) -> Counts {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let counts = store.counts().await.unwrap();
            if done(&counts) {
                return counts;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the inbox settled within 20 s")
}

async fn only_record(store: &impl InboxStore) -> Record {
    let page = store.list(ListQuery::newest(10)).await.unwrap();
    assert_eq!(page.entries.len(), 1);
    store.get(page.entries[0].id).await.unwrap().unwrap()
}

#[tokio::test]
async fn acknowledges_once_stored_and_the_worker_runs_the_handler() {
    let scheme = petstore();
    let store = Arc::new(MemoryInbox::new());
    let calls = Arc::new(AtomicU32::new(0));
    let handler = {
        let calls = Arc::clone(&calls);
        move |Webhook { event, .. }: Webhook<Event<serde_json::Value>>| {
            let calls = Arc::clone(&calls);
            async move {
                assert_eq!(event.data["orderId"], "123");
                calls.fetch_add(1, Ordering::SeqCst);
            }
        }
    };
    let layer = WebhookLayer::new(scheme.clone()).inbox(Arc::clone(&store));
    let app = Router::new()
        .route("/webhooks", post(handler.clone()))
        .layer(layer.clone());
    let delivery = || testing::signed_request::<Body>(&scheme, article("evt_123"), "evt_123");

    let response = app.clone().oneshot(delivery()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_text(response).await, r#"{"received":true}"#);
    // Stored, not handled: the layer never calls the inner service in inbox mode.
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(store.counts().await.unwrap().pending, 1);
    let record = only_record(&*store).await;
    assert_eq!(record.body, Bytes::from(article("evt_123")));
    assert!(record.headers.contains_key("x-petstore-signature"));
    assert_eq!(record.uri, "/webhooks");

    // The same Router (same handler) run by the worker.
    let worker =
        fast(InboxWorker::<Body, _>::new(&layer, Router::new().route("/webhooks", post(handler))).unwrap());
    let worker = worker.spawn();
    until(&*store, |counts| counts.done == 1).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // A redelivery, once done: acknowledged as a duplicate, never run again.
    let again = app.oneshot(delivery()).await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(body_text(again).await, r#"{"duplicate":true}"#);
    worker.drain(Duration::from_secs(5)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(store.counts().await.unwrap().done, 1);
}

/// A store that is down.
struct Down;

fn down<T>() -> std::future::Ready<Result<T, InboxError>> {
    std::future::ready(Err(InboxError::new("disk on fire")))
}

impl InboxStore for Down {
    fn enqueue(
        &self,
        _: Incoming,
    ) -> impl std::future::Future<Output = Result<tower_webhook::inbox::Enqueued, InboxError>> + Send {
        down()
    }
    fn lease(
        &self,
        _: &str,
        _: usize,
        _: Duration,
        _: u32,
    ) -> impl std::future::Future<Output = Result<Vec<tower_webhook::inbox::Leased>, InboxError>> + Send {
        down()
    }
    fn settle(
        &self,
        _: RecordId,
        _: tower_webhook::inbox::LeaseToken,
        _: tower_webhook::inbox::Settle,
    ) -> impl std::future::Future<Output = Result<tower_webhook::inbox::Settled, InboxError>> + Send {
        down()
    }
    fn list(
        &self,
        _: ListQuery,
    ) -> impl std::future::Future<Output = Result<tower_webhook::inbox::Page, InboxError>> + Send {
        down()
    }
    fn get(
        &self,
        _: RecordId,
    ) -> impl std::future::Future<Output = Result<Option<Record>, InboxError>> + Send {
        down()
    }
    fn requeue(
        &self,
        _: RecordId,
    ) -> impl std::future::Future<Output = Result<tower_webhook::inbox::Requeued, InboxError>> + Send {
        down()
    }
    fn purge(
        &self,
        _: tower_webhook::inbox::Retention,
    ) -> impl std::future::Future<Output = Result<tower_webhook::inbox::Purged, InboxError>> + Send {
        down()
    }
    fn counts(&self) -> impl std::future::Future<Output = Result<Counts, InboxError>> + Send {
        down()
    }
}

/// An observer's report: the outcome, the attempt, the delay until the next.
type Told = (Outcome, Option<u32>, Option<Duration>);

#[derive(Default)]
struct Seen(Mutex<Vec<Told>>);

impl Observer for Seen {
    fn delivery(&self, report: &Report<'_>) {
        self.0
            .lock()
            .unwrap()
            .push((report.outcome, report.attempt, report.retry_in));
    }
}

/// The inbox mode's status table, row by row (handler never called by the layer).
#[tokio::test]
async fn inbox_mode_answers_per_its_status_table() {
    let scheme = petstore();
    let never = service_fn(|_: Request<Full<Bytes>>| async {
        panic!("the layer called the inner service in inbox mode");
        #[allow(unreachable_code)]
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
    });
    let seen = Arc::new(Seen::default());

    // A store that fails: 503 with Retry-After, nothing acknowledged.
    let failing = ServiceBuilder::new()
        .layer(
            WebhookLayer::new(scheme.clone())
                .observer(Arc::clone(&seen))
                .inbox(Down),
        )
        .service(never);
    let request = testing::signed_request::<Full<Bytes>>(&scheme, article("evt_1"), "evt_1");
    let response = failing.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[RETRY_AFTER], "1");
    assert_eq!(
        response.extensions().get::<Rejection>(),
        Some(&Rejection::InboxUnavailable)
    );

    // A forged signature: 401 as ever, nothing stored.
    let store = Arc::new(MemoryInbox::new());
    let service = ServiceBuilder::new()
        .layer(
            WebhookLayer::new(scheme.clone())
                .observer(Arc::clone(&seen))
                .inbox(Arc::clone(&store))
                .inbox_ack_status(StatusCode::ACCEPTED),
        )
        .service(never);
    let forged = Request::post("/webhooks")
        .header("x-petstore-signature", "00".repeat(32))
        .body(Full::new(Bytes::from(article("evt_2"))))
        .unwrap();
    assert_eq!(
        service.clone().oneshot(forged).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(store.counts().await.unwrap(), Counts::default());

    // Stored: the configured 2xx; a duplicate: the same status, the marker.
    let delivery = || testing::signed_request::<Full<Bytes>>(&scheme, article("evt_3"), "evt_3");
    let stored = service.clone().oneshot(delivery()).await.unwrap();
    assert_eq!(stored.status(), StatusCode::ACCEPTED);
    assert_eq!(body_text(stored).await, r#"{"received":true}"#);
    let duplicate = service.clone().oneshot(delivery()).await.unwrap();
    assert_eq!(duplicate.status(), StatusCode::ACCEPTED);
    assert_eq!(body_text(duplicate).await, r#"{"duplicate":true}"#);

    let outcomes: Vec<_> = seen
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|(outcome, ..)| *outcome)
        .collect();
    assert_eq!(
        outcomes,
        [
            Outcome::InboxUnavailable,
            Outcome::SignatureMismatch,
            Outcome::Enqueued,
            Outcome::Duplicate
        ]
    );
}

#[tokio::test]
async fn handshakes_are_answered_by_the_layer_and_never_stored() {
    let secret = "8f742231b10e8888abcd99yyyzzz85a5";
    let scheme = Slack::new(Secret::new(secret).unwrap());
    let store = Arc::new(MemoryInbox::new());
    let app = Router::new()
        .route("/webhooks", post(|| async { "never" }))
        .layer(WebhookLayer::new(scheme.clone()).inbox(Arc::clone(&store)));
    let body = r#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let request = testing::signed_request::<Body>(&scheme, body, "");
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body_text(response)
        .await
        .contains("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"));
    assert_eq!(store.counts().await.unwrap(), Counts::default());
}

/// GitHub never redelivers by itself: a delivery whose handler fails twice
/// is processed on the worker's third attempt, sent once.
#[tokio::test]
async fn github_delivery_failing_twice_is_processed_on_the_third_attempt_without_a_redelivery() {
    let sample: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/samples/github_star_deleted.json")).unwrap();
    let body = sample["body"].as_str().unwrap().to_owned();
    let delivery_id = sample["headers"]["X-GitHub-Delivery"].as_str().unwrap();
    let scheme = GitHub::new(Secret::new("It's a Secret to Everybody").unwrap());
    let mut request = testing::signed_request::<Body>(&scheme, body.clone(), delivery_id);
    for (name, value) in sample["headers"].as_object().unwrap() {
        if name != "X-Hub-Signature-256" && name != "X-Hub-Signature" {
            request.headers_mut().insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.as_str().unwrap().parse().unwrap(),
            );
        }
    }

    let store = Arc::new(MemoryInbox::new());
    let seen = Arc::new(Seen::default());
    let layer = WebhookLayer::new(scheme)
        .observer(Arc::clone(&seen))
        .inbox(Arc::clone(&store));
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let handler = {
        let attempts = Arc::clone(&attempts);
        move |Extension(attempt): Extension<Attempt>, Webhook { event, .. }: Webhook<serde_json::Value>| {
            let attempts = Arc::clone(&attempts);
            async move {
                assert_eq!(event["action"], "deleted");
                attempts.lock().unwrap().push(attempt.number);
                if attempt.number < 3 {
                    return Err(HandlerError::retryable("downstream unavailable"));
                }
                Ok(())
            }
        }
    };
    // The worker runs the handlers, without the layer in front.
    let handlers = Router::new().route("/webhooks", post(handler));
    let app = handlers.clone().layer(layer.clone());
    let worker = fast(InboxWorker::<Body, _>::new(&layer, handlers).unwrap()).spawn();

    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    until(&*store, |counts| counts.done == 1).await;
    worker.drain(Duration::from_secs(5)).await;

    assert_eq!(*attempts.lock().unwrap(), [1, 2, 3]);
    let record = only_record(&*store).await;
    assert_eq!((record.entry.state, record.entry.attempts), (State::Done, 3));
    assert_eq!(record.entry.event_id, delivery_id);
    let reports: Vec<_> = seen.0.lock().unwrap().clone();
    assert_eq!(reports[0], (Outcome::Enqueued, None, None));
    let attempts_seen: Vec<_> = reports[1..]
        .iter()
        .map(|(outcome, attempt, retry)| (*outcome, *attempt, retry.is_some()))
        .collect();
    assert_eq!(
        attempts_seen,
        [
            (Outcome::HandlerFailed, Some(1), true),
            (Outcome::HandlerFailed, Some(2), true),
            (Outcome::Processed, Some(3), false),
        ]
    );
}

/// Permanent failures and payloads that do not fit go dead with their
/// reason at once; panics and errors are retried up to the maximum, then dead.
#[tokio::test]
async fn permanent_misfit_panic_and_exhausted_records_go_dead_with_their_reason() {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Order {
        order_id: String,
    }
    let scheme = petstore();
    let store = Arc::new(MemoryInbox::new());
    let layer = WebhookLayer::new(scheme.clone()).inbox(Arc::clone(&store));
    let handler = |Webhook { event, .. }: Webhook<Event<Order>>| async move {
        match event.id.as_str() {
            "evt_permanent" => Err::<(), _>(HandlerError::permanent("order event without an orderId")),
            "evt_panic" => panic!("handler bug"),
            _ => Err(HandlerError::retryable("downstream unavailable")),
        }
    };
    let handlers = Router::new().route("/webhooks", post(handler));
    let app = handlers.clone().layer(layer.clone());
    for (id, body) in [
        ("evt_permanent", article("evt_permanent")),
        ("evt_panic", article("evt_panic")),
        ("evt_failing", article("evt_failing")),
        // `orderId` is a number: never fits `Order`.
        (
            "evt_misfit",
            r#"{"id":"evt_misfit","type":"order.created","created":1,"data":{"orderId":7}}"#.to_owned(),
        ),
    ] {
        let response = app
            .clone()
            .oneshot(testing::signed_request::<Body>(&scheme, body, id))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{id}");
    }
    let worker = fast(InboxWorker::<Body, _>::new(&layer, handlers).unwrap())
        .max_attempts(3)
        .spawn();
    until(&*store, |counts| counts.dead == 4).await;
    worker.drain(Duration::from_secs(5)).await;

    let page = store
        .list(ListQuery::newest(10).state(State::Dead))
        .await
        .unwrap();
    let dead: std::collections::HashMap<_, _> = page
        .entries
        .iter()
        .map(|entry| {
            (
                entry.event_id.as_str(),
                (entry.attempts, entry.last_error.clone().unwrap()),
            )
        })
        .collect();
    assert_eq!(
        dead["evt_permanent"],
        (1, "order event without an orderId".to_owned())
    );
    assert_eq!(dead["evt_misfit"].0, 1);
    assert!(
        dead["evt_misfit"].1.contains("does not fit"),
        "{:?}",
        dead["evt_misfit"]
    );
    assert_eq!(
        dead["evt_panic"],
        (
            3,
            "gave up after 3 attempts: handler panicked: handler bug".to_owned()
        )
    );
    assert_eq!(
        dead["evt_failing"],
        (3, "gave up after 3 attempts: handler answered 500".to_owned())
    );
}

/// A drain stops leasing, lets a running handler finish within its bound,
/// and releases one that does not, without charging its attempt.
#[tokio::test]
async fn drain_releases_what_does_not_finish_without_charging_the_attempt() {
    let scheme = petstore();
    let store = Arc::new(MemoryInbox::new());
    let layer = WebhookLayer::new(scheme.clone()).inbox(Arc::clone(&store));
    let started = Arc::new(tokio::sync::Notify::new());
    let service = {
        let started = Arc::clone(&started);
        service_fn(move |request: Request<Full<Bytes>>| {
            let started = Arc::clone(&started);
            async move {
                let slow = request
                    .extensions()
                    .get::<tower_webhook::Verified>()
                    .unwrap()
                    .id()
                    == "evt_slow";
                started.notify_one();
                if slow {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
            }
        })
    };
    let front = ServiceBuilder::new()
        .layer(layer.clone())
        .service(service.clone());
    let request = testing::signed_request::<Full<Bytes>>(&scheme, article("evt_slow"), "evt_slow");
    assert_eq!(front.oneshot(request).await.unwrap().status(), StatusCode::OK);
    let worker = fast(InboxWorker::<Full<Bytes>, _>::new(&layer, service).unwrap()).spawn();
    tokio::time::timeout(Duration::from_secs(5), started.notified())
        .await
        .unwrap();

    let drained = worker.drain(Duration::from_millis(200)).await;
    assert_eq!((drained.completed, drained.released), (0, 1));
    let record = only_record(&*store).await;
    assert_eq!((record.entry.state, record.entry.attempts), (State::Pending, 0));
}

/// The exactly-once pattern over SQLite: the handler commits its effect
/// with the record's settle (`settle_with`). A run whose lease was taken
/// over cannot commit it, and an effect that fails settles nothing, so the
/// effect is applied exactly once though the event ran twice.
#[tokio::test]
async fn an_effect_committed_with_the_settle_is_applied_exactly_once() {
    use tower_webhook::inbox::{rusqlite, LeaseToken, Settle, Settled};

    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("inbox-exactly-once");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{:016x}.sqlite3", rand::random::<u64>()));
    let store = Arc::new(SqliteInbox::open(&path).unwrap());
    let orders = "CREATE TABLE orders (event_id TEXT PRIMARY KEY, order_id TEXT NOT NULL)";
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(orders)
        .unwrap();
    let insert = |event_id: String, order_id: String| {
        move |conn: &rusqlite::Connection| {
            conn.execute(
                "INSERT INTO orders (event_id, order_id) VALUES (?1, ?2)",
                [event_id, order_id],
            )
            .map(|_| ())
        }
    };

    let scheme = petstore();
    let layer = WebhookLayer::new(scheme.clone())
        .scheme_name("petstore")
        .inbox(Arc::clone(&store));
    let handler = {
        let store = Arc::clone(&store);
        move |Extension(attempt): Extension<Attempt>,
              Webhook { event, .. }: Webhook<Event<serde_json::Value>>| {
            let store = Arc::clone(&store);
            async move {
                let order_id = event.data["orderId"].as_str().unwrap_or_default().to_owned();
                let effect = insert(event.id.clone(), order_id);
                store
                    .settle_with(attempt.id, attempt.token, Settle::Done, effect)
                    .await
                    .map_err(HandlerError::retryable)?;
                Ok::<_, HandlerError>(())
            }
        }
    };
    let handlers = Router::new().route("/webhooks", post(handler));
    let app = handlers.clone().layer(layer.clone());
    let request = testing::signed_request::<Body>(&scheme, article("evt_123"), "evt_123");
    assert_eq!(app.oneshot(request).await.unwrap().status(), StatusCode::OK);

    // A first run that stalls: it leases the record, and its lease lapses
    // (its process hangs, or dies) before it commits.
    let stalled = store
        .lease("petstore", 1, Duration::from_millis(100), 8)
        .await
        .unwrap()
        .remove(0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The worker takes the record over and commits effect and settle at once.
    let worker = fast(InboxWorker::<Body, _>::new(&layer, handlers).unwrap()).spawn();
    until(&*store, |counts| counts.done == 1).await;
    worker.drain(Duration::from_secs(5)).await;

    // The stalled run wakes up and tries to commit: refused, its effect not run.
    let id = stalled.record.entry.id;
    let late = insert("evt_123".to_owned(), "123".to_owned());
    let answer = store
        .settle_with(id, stalled.token, Settle::Done, late)
        .await
        .unwrap();
    assert_eq!(answer, Settled::Stale);
    // An effect that fails settles nothing.
    let never_held = store
        .settle_with(id, LeaseToken::new(-1), Settle::Done, |_| {
            Err(rusqlite::Error::QueryReturnedNoRows)
        })
        .await
        .unwrap();
    assert_eq!(never_held, Settled::Stale);

    let conn = rusqlite::Connection::open(&path).unwrap();
    let rows: Vec<(String, String)> = conn
        .prepare("SELECT event_id, order_id FROM orders")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows,
        [("evt_123".to_owned(), "123".to_owned())],
        "the effect was applied exactly once"
    );
    let record = only_record(&*store).await;
    assert_eq!((record.entry.state, record.entry.attempts), (State::Done, 2));
    drop(conn);
    drop(layer);
    drop(store);
    let _ = std::fs::remove_file(&path);
}

/// An effect that fails rolls its settle back: the record is retried.
#[tokio::test]
async fn a_failing_effect_settles_nothing() {
    use tower_webhook::inbox::{rusqlite, Settle};

    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("inbox-exactly-once");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{:016x}.sqlite3", rand::random::<u64>()));
    let store = SqliteInbox::open(&path).unwrap();
    store
        .enqueue(Incoming::new("petstore", "evt_1", "{}"))
        .await
        .unwrap();
    let leased = store
        .lease("petstore", 1, Duration::from_secs(30), 8)
        .await
        .unwrap()
        .remove(0);
    let failed = store
        .settle_with(leased.record.entry.id, leased.token, Settle::Done, |conn| {
            conn.execute_batch("INSERT INTO no_such_table VALUES (1)")
        })
        .await;
    assert!(failed.is_err());
    let record = store.get(leased.record.entry.id).await.unwrap().unwrap();
    assert_eq!(
        record.entry.state,
        State::Running,
        "the settle was rolled back with the effect"
    );
    assert_eq!(
        store
            .settle(leased.record.entry.id, leased.token, Settle::Done)
            .await
            .unwrap(),
        tower_webhook::inbox::Settled::Applied
    );
    drop(store);
    let _ = rusqlite::Connection::open_in_memory();
    let _ = std::fs::remove_file(&path);
}

/// Handing the worker the service with the layer still in front would store
/// each attempt again as a duplicate, and mark events done that never ran:
/// the layer refuses such a request instead, and the records go dead with
/// the reason in the log, never done.
#[tokio::test]
async fn a_worker_given_the_layered_service_never_marks_an_event_done_unrun() {
    let scheme = petstore();
    let store = Arc::new(MemoryInbox::new());
    let layer = WebhookLayer::new(scheme.clone()).inbox(Arc::clone(&store));
    let app = Router::new()
        .route("/webhooks", post(|| async {}))
        .layer(layer.clone());
    let request = testing::signed_request::<Body>(&scheme, article("evt_1"), "evt_1");
    assert_eq!(
        app.clone().oneshot(request).await.unwrap().status(),
        StatusCode::OK
    );
    let worker = fast(InboxWorker::<Body, _>::new(&layer, app).unwrap())
        .max_attempts(2)
        .spawn();
    let counts = until(&*store, |counts| counts.dead == 1).await;
    worker.drain(Duration::from_secs(5)).await;
    assert_eq!(counts.done, 0);
    let record = only_record(&*store).await;
    assert_eq!(
        record.entry.last_error.as_deref(),
        Some("gave up after 2 attempts: handler answered 500")
    );
}
