//! Two replicas of one receiver, each its own `WebhookLayer` with its own
//! `RedisGuard`, sharing one Redis: the dedupe holds across them, a failure on
//! one is retried on the other, and a Redis outage answers 503 until Redis is
//! back.
//!
//! Needs the `redis` feature and a server at `REDIS_URL` (`.ci/run` starts
//! one); the outage tests start their own `redis-server` on a free port of
//! 127.0.0.1, so the shared one is never stopped.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::util::BoxCloneService;
use tower::{service_fn, ServiceBuilder, ServiceExt};
use tower_webhook::layer::ResponseBody;
use tower_webhook::replay::RedisGuard;
use tower_webhook::scheme::Spec;
use tower_webhook::{testing, Secret, Verified, WebhookLayer};

type Replica = BoxCloneService<Request<Full<Bytes>>, Response<ResponseBody<Full<Bytes>>>, Infallible>;

const PROCESSED: &str = "processed";
const DUPLICATE: &str = r#"{"duplicate":true}"#;

fn scheme() -> Spec {
    Spec::petstore(Secret::new("replica test secret").expect("secret"))
}

/// A fresh event id, so runs against a shared server never meet.
fn event_id() -> String {
    format!("evt_{:016x}", rand::random::<u64>())
}

fn key_prefix() -> String {
    format!("tower-webhook-test:{:016x}:", rand::random::<u64>())
}

fn delivery(id: &str) -> Request<Full<Bytes>> {
    let body = format!(r#"{{"id":"{id}","type":"order.created","created":0,"data":{{}}}}"#);
    testing::signed_request(&scheme(), body, id)
}

/// Bounds a test step, so that a bug hangs nothing.
async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .expect("the step finished within 20 s")
}

/// How often the handlers ran, per event id, over all replicas.
#[derive(Clone, Default)]
struct Calls(Arc<Mutex<HashMap<String, usize>>>);

impl Calls {
    fn of(&self, id: &str) -> usize {
        self.0.lock().unwrap().get(id).copied().unwrap_or(0)
    }

    fn record(&self, id: &str) {
        *self.0.lock().unwrap().entry(id.to_owned()).or_default() += 1;
    }
}

/// A replica: the layer with `guard` around a handler that records its call,
/// takes a little while (so concurrent deliveries overlap), and answers 200,
/// or 500 when `fails`.
fn replica(guard: RedisGuard, calls: &Calls, fails: bool) -> Replica {
    let calls = calls.clone();
    let handler = service_fn(move |request: Request<Full<Bytes>>| {
        let calls = calls.clone();
        async move {
            let id = request
                .extensions()
                .get::<Verified>()
                .expect("the layer adds Verified")
                .id()
                .to_owned();
            calls.record(&id);
            tokio::time::sleep(Duration::from_millis(50)).await;
            let (status, body) = if fails {
                (StatusCode::INTERNAL_SERVER_ERROR, "failed")
            } else {
                (StatusCode::OK, PROCESSED)
            };
            let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
            *response.status_mut() = status;
            Ok::<_, Infallible>(response)
        }
    });
    BoxCloneService::new(
        ServiceBuilder::new()
            .layer(WebhookLayer::new(scheme()).guard(guard))
            .service(handler),
    )
}

/// Sends `request` to `replica`; the status, `Retry-After` and body.
fn send(
    replica: &Replica,
    request: Request<Full<Bytes>>,
) -> impl Future<Output = (StatusCode, Option<String>, String)> + Send + 'static {
    let replica = replica.clone();
    within(async move {
        let response = replica.oneshot(request).await.expect("infallible");
        let status = response.status();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .map(|v| v.to_str().expect("ASCII").to_owned());
        let body = response.into_body().collect().await.expect("body").to_bytes();
        (status, retry_after, String::from_utf8_lossy(&body).into_owned())
    })
}

async fn shared_guard() -> RedisGuard {
    let url = std::env::var("REDIS_URL").expect(
        "REDIS_URL is not set: with the `redis` feature these tests need a Redis server, \
         e.g. REDIS_URL=redis://127.0.0.1:6379/ (.ci/run starts one)",
    );
    within(RedisGuard::open(&url))
        .await
        .unwrap_or_else(|error| panic!("connecting to REDIS_URL failed: {error:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_deliveries_over_two_replicas_run_the_handler_once() {
    let prefix = key_prefix();
    let calls = Calls::default();
    // Each replica connects on its own, as separate processes would.
    let replicas = [
        replica(shared_guard().await.key_prefix(&prefix), &calls, false),
        replica(shared_guard().await.key_prefix(&prefix), &calls, false),
    ];
    let id = event_id();

    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let replica = replicas[i % 2].clone();
            let request = delivery(&id);
            tokio::spawn(async move { send(&replica, request).await })
        })
        .collect();
    let mut processed = 0;
    for task in tasks {
        match task.await.expect("task") {
            (StatusCode::OK, _, body) if body == PROCESSED => processed += 1,
            (StatusCode::OK, _, body) => assert_eq!(body, DUPLICATE),
            (StatusCode::CONFLICT, retry_after, _) => assert!(retry_after.is_some()),
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!(processed, 1);
    assert_eq!(calls.of(&id), 1);

    // Later redeliveries to either replica are duplicates.
    for replica in &replicas {
        let (status, _, body) = send(replica, delivery(&id)).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, DUPLICATE));
    }
    assert_eq!(calls.of(&id), 1);
}

#[tokio::test]
async fn failure_on_one_replica_is_released_and_the_retry_on_the_other_processes_it() {
    let prefix = key_prefix();
    let calls = Calls::default();
    let failing = replica(shared_guard().await.key_prefix(&prefix), &calls, true);
    let healthy = replica(shared_guard().await.key_prefix(&prefix), &calls, false);
    let id = event_id();

    let (status, _, _) = send(&failing, delivery(&id)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(calls.of(&id), 1);

    let (status, _, body) = send(&healthy, delivery(&id)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, PROCESSED));
    assert_eq!(calls.of(&id), 2);

    // Processed once successfully: the failing replica now only acknowledges.
    let (status, _, body) = send(&failing, delivery(&id)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, DUPLICATE));
    assert_eq!(calls.of(&id), 2);
}

/// A `redis-server` child of this test, on its own port of 127.0.0.1.
struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    async fn start_on(port: u16) -> Self {
        let program = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let child = Command::new(&program)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("could not start `{program}` ({error}); install redis-server or set REDIS_SERVER")
            });
        let server = Self {
            port,
            child: Some(child),
        };
        server.wait_for_pong().await;
        server
    }

    async fn start() -> Self {
        // Free a moment ago; the server binds it right away.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        Self::start_on(port).await
    }

    async fn wait_for_pong(&self) {
        for _ in 0..100 {
            if let Ok(Ok(true)) = tokio::time::timeout(Duration::from_millis(500), self.ping()).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server on port {} did not answer PING", self.port);
    }

    async fn ping(&self) -> std::io::Result<bool> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).await?;
        stream.write_all(b"PING\r\n").await?;
        let mut answer = [0; 7];
        stream.read_exact(&mut answer).await?;
        Ok(&answer == b"+PONG\r\n")
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test]
async fn redis_outage_answers_503_without_calling_the_handler_and_the_retry_succeeds_once_back() {
    let mut server = RedisServer::start().await;
    let calls = Calls::default();
    let guard = within(RedisGuard::open(&server.url()))
        .await
        .expect("connect")
        .call_timeout(Duration::from_millis(500));
    let replica = replica(guard, &calls, false);

    let before = event_id();
    let (status, _, body) = send(&replica, delivery(&before)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, PROCESSED));

    server.stop();
    let id = event_id();
    for _ in 0..3 {
        let (status, retry_after, _) = send(&replica, delivery(&id)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(retry_after.is_some(), "503 without Retry-After");
    }
    assert_eq!(calls.of(&id), 0);

    let _server = RedisServer::start_on(server.port).await;
    // The sender retries; the connection manager reconnects in the
    // background, and until then the answer stays 503.
    let mut answer = send(&replica, delivery(&id)).await;
    for _ in 0..40 {
        if answer.0 != StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        answer = send(&replica, delivery(&id)).await;
    }
    assert_eq!((answer.0, answer.2.as_str()), (StatusCode::OK, PROCESSED));
    assert_eq!(calls.of(&id), 1);

    let (status, _, body) = send(&replica, delivery(&id)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, DUPLICATE));
    assert_eq!(calls.of(&id), 1);
}

#[tokio::test]
async fn fail_open_replica_processes_every_delivery_while_redis_is_down() {
    let mut server = RedisServer::start().await;
    let calls = Calls::default();
    let guard = within(RedisGuard::open(&server.url()))
        .await
        .expect("connect")
        .call_timeout(Duration::from_millis(500))
        .fail_open(true);
    let replica = replica(guard, &calls, false);

    server.stop();
    let id = event_id();
    for _ in 0..2 {
        let (status, _, body) = send(&replica, delivery(&id)).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, PROCESSED));
    }
    // The trade-off fail-open makes: no replay protection while Redis is down.
    assert_eq!(calls.of(&id), 2);
}

/// A second connection to the shared server, for what the guard does not do.
async fn admin() -> redis::aio::MultiplexedConnection {
    let url = std::env::var("REDIS_URL").expect("REDIS_URL is set");
    let client = redis::Client::open(url).expect("REDIS_URL parses");
    // No response timeout: a write waits out a `CLIENT PAUSE`.
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    within(client.get_multiplexed_async_connection_with_config(&config))
        .await
        .expect("connects")
}

#[tokio::test]
async fn a_begin_that_timed_out_but_ran_on_the_server_leaves_no_orphan_claim() {
    let prefix = key_prefix();
    let guard = shared_guard()
        .await
        .key_prefix(&prefix)
        .call_timeout(Duration::from_millis(200));
    // Load both scripts on the server first: a paused EVALSHA of an unknown
    // script would fail instead of running late.
    let warm = event_id();
    match within(tower_webhook::ReplayGuard::begin(&guard, &warm)).await {
        Ok(tower_webhook::Begin::Fresh(claim)) => {
            within(tower_webhook::ReplayGuard::release(&guard, &warm, claim))
                .await
                .unwrap();
        }
        other => panic!("warm-up begin: {other:?}"),
    }

    // Hold every write for a second: the guard's begin reaches the server,
    // waits there past its call timeout, and runs when the pause ends.
    let mut admin = admin().await;
    within(
        redis::cmd("CLIENT")
            .arg("PAUSE")
            .arg(1000)
            .arg("WRITE")
            .query_async::<()>(&mut admin),
    )
    .await
    .unwrap();
    let id = event_id();
    let answer = within(tower_webhook::ReplayGuard::begin(&guard, &id)).await;
    assert!(answer.is_err(), "{answer:?}");
    // A write of our own waits for the pause to end, behind the guard's.
    within(
        redis::cmd("SET")
            .arg(format!("{prefix}probe"))
            .arg(1)
            .arg("PX")
            .arg(10_000)
            .query_async::<()>(&mut admin),
    )
    .await
    .unwrap();

    // The late begin set an in-flight key; the guard's undo removed it, so
    // the sender's retry is processed now instead of answered 409 for the
    // whole in-flight timeout.
    let retry = within(tower_webhook::ReplayGuard::begin(
        &shared_guard().await.key_prefix(&prefix),
        &id,
    ))
    .await
    .unwrap();
    assert!(matches!(retry, tower_webhook::Begin::Fresh(_)), "{retry:?}");
}

#[tokio::test]
async fn overlapping_key_prefixes_never_share_a_key() {
    let base = key_prefix();
    let short = shared_guard().await.key_prefix(&base);
    let long = shared_guard().await.key_prefix(format!("{base}stripe:"));
    let id = event_id();
    // Under the short prefix, an id that spells the long prefix's rest.
    let spelled = format!("stripe:{id}");
    match within(tower_webhook::ReplayGuard::begin(&short, &spelled))
        .await
        .unwrap()
    {
        tower_webhook::Begin::Fresh(claim) => {
            within(tower_webhook::ReplayGuard::commit(&short, &spelled, claim))
                .await
                .unwrap()
        }
        other => panic!("{other:?}"),
    }
    let other = within(tower_webhook::ReplayGuard::begin(&long, &id))
        .await
        .unwrap();
    assert!(
        matches!(other, tower_webhook::Begin::Fresh(_)),
        "another receiver's event was taken for this one: {other:?}"
    );
}

/// Both Redis stores keep their own call timeout (2 s by default) even when
/// the server is slower than the connection manager's own default response
/// timeout of 500 ms. On a server of this test's own, `CLIENT PAUSE` holds
/// every command for 800 ms before the delivery (the guard's claim waits) and
/// writes for 800 ms again from inside the handler (the sink's write of the
/// dead letter waits): neither fails.
#[tokio::test]
async fn redis_stores_wait_out_a_server_slower_than_half_a_second_within_their_call_timeout() {
    use tower_webhook::dead_letter::RedisDeadLetters;
    use tower_webhook::PermanentFailure;

    async fn pause(admin: &mut redis::aio::MultiplexedConnection, mode: &str) {
        let () = redis::cmd("CLIENT")
            .arg("PAUSE")
            .arg(800)
            .arg(mode)
            .query_async(admin)
            .await
            .expect("CLIENT PAUSE");
    }

    let server = RedisServer::start().await;
    let guard = within(RedisGuard::open(&server.url())).await.expect("connect");
    let sink = within(RedisDeadLetters::open(
        &server.url(),
        "tower-webhook-test:slow-letters",
    ))
    .await
    .expect("connect");
    let client = redis::Client::open(server.url()).expect("url");
    let mut admin = within(client.get_multiplexed_async_connection())
        .await
        .expect("admin");
    let in_handler = admin.clone();
    let marks = service_fn(move |_request: Request<Full<Bytes>>| {
        let mut admin = in_handler.clone();
        async move {
            pause(&mut admin, "WRITE").await;
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            response
                .extensions_mut()
                .insert(PermanentFailure::new("never processable"));
            Ok::<_, Infallible>(response)
        }
    });
    let service = ServiceBuilder::new()
        .layer(
            WebhookLayer::new(scheme())
                .guard(guard)
                .dead_letters(sink.clone()),
        )
        .service(marks);

    pause(&mut admin, "ALL").await;
    let id = event_id();
    let response = within(service.oneshot(delivery(&id))).await.expect("infallible");
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "dead-lettered and acknowledged"
    );
    let letters = within(sink.letters()).await.expect("letters");
    assert_eq!(letters.iter().map(|l| l.id()).collect::<Vec<_>>(), [id.as_str()]);
}
