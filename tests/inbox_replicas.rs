//! The example receiver with its inbox in PostgreSQL, as real processes over
//! 127.0.0.1: three replicas on one database with one `kill -9`ed mid-run
//! (the `orders` table, written in the settle's transaction, holds exactly
//! one row per acknowledged event), and a database restarted mid-run (no
//! acknowledged delivery lost; `503` with `Retry-After` meanwhile).
//!
//! Needs the `postgres` feature, and the example receiver built with it
//! beside the test binaries: `cargo test --features postgres` builds it; with
//! `--test inbox_replicas` alone, run `cargo build --example receiver
//! --features postgres` first. The replicas test needs a server at
//! `POSTGRES_TEST_URL` (skipped with a note when unset) and creates a
//! database of its own there, dropped at the end; the restart test runs a
//! PostgreSQL cluster of its own (`initdb`, `pg_ctl`).

mod postgres_support;
#[allow(dead_code)]
#[path = "../examples/send.rs"]
mod send;

use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{StatusCode, Uri};
use tower_webhook::inbox::tokio_postgres::Client;

use postgres_support::cluster::Cluster;

const SECRET: &str = "inbox-replicas-test-secret";

/// The tests run one at a time: each loads both cores with receivers.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A free port on 127.0.0.1 (bound, then let go for the receiver to take).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The example receiver's binary, built by `cargo test` beside this test's
/// (or `RECEIVER_BINARY`, when set).
fn receiver_binary() -> PathBuf {
    if let Some(binary) = std::env::var_os("RECEIVER_BINARY") {
        return binary.into();
    }
    let exe = std::env::current_exe().unwrap();
    // target/debug/deps/inbox_replicas-HASH → target/debug/examples/receiver
    let binary = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples")
        .join("receiver");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo test --features postgres` (which builds the examples) \
         or `cargo build --example receiver --features postgres` first",
        binary.display()
    );
    binary
}

/// The source article's event with id `id`.
fn article(id: &str) -> String {
    format!(
        r#"{{"id":"{id}","type":"order.completed","created":1710331200,"data":{{"orderId":"order_{id}","status":"completed","completedAt":"2024-01-01T12:00:00Z"}}}}"#
    )
}

/// `url` with its database replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let (server, _) = base
        .rsplit_once('/')
        .filter(|(server, _)| server.contains("://") && !server.ends_with('/'))
        .unwrap_or((base, ""));
    match query {
        Some(query) => format!("{server}/{db}?{query}"),
        None => format!("{server}/{db}"),
    }
}

/// One receiver process, its log going to a file.
struct Receiver {
    child: Child,
    port: u16,
}

impl Receiver {
    fn start(log: PathBuf, port: u16, inbox_url: &str, fail_percent: u8, delay_ms: u32) -> Self {
        let child = Command::new(receiver_binary())
            .env_clear()
            .env("WEBHOOK_SECRET", SECRET)
            .env("PORT", port.to_string())
            .env("ADMIN_ADDR", "127.0.0.1:0")
            .env("INBOX_URL", inbox_url)
            .env("INBOX_MAX_ATTEMPTS", "50")
            .env("INBOX_LEASE_SECS", "2")
            .env("INBOX_BACKOFF_MS", "50")
            .env("HANDLER_FAIL_PERCENT", fail_percent.to_string())
            // Between the order's insert and the commit: a kill finds
            // transactions open.
            .env("HANDLER_DELAY_MS", delay_ms.to_string())
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut receiver = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = receiver.child.try_wait().unwrap() {
                let mut stderr = String::new();
                let _ = std::io::Read::read_to_string(receiver.child.stderr.as_mut().unwrap(), &mut stderr);
                panic!(
                    "the receiver exited ({status}) before listening: {stderr}\
                     (was it built with `--features postgres`?)"
                );
            }
            assert!(
                Instant::now() < deadline,
                "the receiver did not listen within 20 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        receiver
    }

    fn url(&self) -> Uri {
        format!("http://127.0.0.1:{}/webhooks", self.port)
            .parse()
            .unwrap()
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn kill_9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then wait for the drain (bounded).
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.wait();
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // A failed assertion must not leave a receiver behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the senders saw.
#[derive(Default)]
struct Sent {
    acked: AtomicUsize,
    /// Answers that were not 2xx, by status; `None`: no answer (refused, reset).
    failures: Mutex<HashMap<Option<u16>, usize>>,
    /// The acknowledged events.
    acked_ids: Mutex<HashSet<String>>,
}

/// Sends events `ids` from `connections` tasks, attempt `k` of event `n`
/// going to receiver `(n + k) % urls.len()` (a round-robin balancer that
/// sends a retry elsewhere), each retried every 50 ms until a 2xx, for up
/// to `patience`.
fn spawn_senders(
    urls: Arc<Vec<Uri>>,
    ids: Arc<Vec<String>>,
    connections: usize,
    patience: Duration,
    sent: Arc<Sent>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..connections)
        .map(|task| {
            let (urls, ids, sent) = (Arc::clone(&urls), Arc::clone(&ids), Arc::clone(&sent));
            tokio::spawn(async move {
                let client = send::client();
                let signer = send::signer("petstore", SECRET).unwrap();
                let once = send::Schedule {
                    retries: Vec::new(),
                    timeout: Duration::from_secs(5),
                };
                for n in (task..ids.len()).step_by(connections) {
                    let id = &ids[n];
                    let body = Bytes::from(article(id));
                    let started = Instant::now();
                    for k in 0.. {
                        let url = &urls[(n + k) % urls.len()];
                        let mut status = None;
                        let delivered = send::deliver(&client, &*signer, url, id, &body, &once, |attempt| {
                            status = attempt.outcome.as_ref().ok().map(|(status, _)| *status);
                        })
                        .await;
                        if delivered.is_ok() {
                            break;
                        }
                        *sent
                            .failures
                            .lock()
                            .unwrap()
                            .entry(status.map(|s| s.as_u16()))
                            .or_default() += 1;
                        assert!(
                            started.elapsed() < patience,
                            "{id} not acknowledged within {patience:?}: {delivered:?}"
                        );
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    sent.acked_ids.lock().unwrap().insert(id.clone());
                    sent.acked.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect()
}

/// The inbox's records per state.
async fn states(client: &Client) -> HashMap<String, i64> {
    client
        .query("SELECT state, count(*) FROM inbox_records GROUP BY state", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get::<_, String>(0), row.get::<_, i64>(1)))
        .collect()
}

fn active(states: &HashMap<String, i64>) -> i64 {
    ["pending", "running", "retrying"]
        .iter()
        .map(|state| states.get(*state).copied().unwrap_or(0))
        .sum()
}

/// The running records and their lease tokens.
async fn running(client: &Client) -> HashMap<i64, i64> {
    client
        .query(
            "SELECT id, lease_token FROM inbox_records WHERE state = 'running'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

/// Three receivers on one database, 3,000 distinct events sent round-robin
/// at 32 connections with 20% handler failures, one receiver `kill -9`ed
/// mid-run and restarted: `orders` holds exactly one row per acknowledged
/// event, nothing is left active, and the records the killed process held
/// were finished by the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_one_killed_record_each_acknowledged_event_exactly_once() {
    const EVENTS: usize = 3_000;
    const CONNECTIONS: usize = 32;
    let Some(server) = postgres_support::url() else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let started = Instant::now();
    let admin = postgres_support::raw_client(&server).await;
    let db = format!("tower_webhook_replicas_{:016x}", rand::random::<u64>());
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .unwrap();
    let inbox_url = with_database(&server, &db);
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("inbox-replicas-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let mut receivers: Vec<Receiver> = (0..3)
        .map(|n| Receiver::start(dir.join(format!("r{n}.log")), free_port(), &inbox_url, 20, 10))
        .collect();
    let client = postgres_support::raw_client(&inbox_url).await;
    let urls = Arc::new(receivers.iter().map(Receiver::url).collect::<Vec<_>>());
    let ids: Arc<Vec<String>> = Arc::new((0..EVENTS).map(|n| format!("evt_rep_{n:04}")).collect());
    let sent = Arc::new(Sent::default());
    let senders = spawn_senders(urls, ids, CONNECTIONS, Duration::from_secs(40), Arc::clone(&sent));

    // Mid-run: receiver 1 is killed; what it held stays `running` under
    // its token until the lease (2 s) lapses, while the live receivers'
    // handlers (10 ms) come and go.
    while sent.acked.load(Ordering::SeqCst) < EVENTS / 3 {
        assert!(started.elapsed() < Duration::from_secs(40), "the senders stalled");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let killed_pid = receivers[1].pid();
    receivers[1].kill_9();
    let at_kill = running(&client).await;
    // A live receiver's record leaves `running` (or changes token) as soon
    // as its 10 ms handler ends; the killed one's stays until the 2 s lease
    // lapses. 1.2 s tells them apart on a loaded host too, where 300 ms once
    // took a live receiver's slow record for the killed one's.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let still = running(&client).await;
    let held: HashMap<i64, i64> = at_kill
        .into_iter()
        .filter(|(id, token)| still.get(id) == Some(token))
        .collect();
    let port = receivers[1].port;
    let log = dir.join("r1-restarted.log");
    receivers[1] = Receiver::start(log, port, &inbox_url, 20, 10);

    for sender in senders {
        sender.await.unwrap();
    }
    let acknowledged = started.elapsed();
    assert_eq!(sent.acked.load(Ordering::SeqCst), EVENTS);

    // The workers finish what is stored.
    let final_states = loop {
        let states = states(&client).await;
        if active(&states) == 0 {
            break states;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "records still active: {states:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for receiver in &mut receivers {
        receiver.stop();
    }

    // Exactly one row per acknowledged event, and nothing else.
    let rows = client
        .query("SELECT event_id, record_id, attempt, handled_by FROM orders", &[])
        .await
        .unwrap();
    let orders: HashMap<String, (i64, i32, String)> = rows
        .iter()
        .map(|row| (row.get(0), (row.get(1), row.get(2), row.get(3))))
        .collect();
    assert_eq!(orders.len(), rows.len(), "an event has two rows");
    let acked_ids = sent.acked_ids.lock().unwrap().clone();
    let order_ids: HashSet<String> = orders.keys().cloned().collect();
    assert_eq!(
        order_ids.len(),
        acked_ids.len(),
        "orders rows against acknowledged events"
    );
    assert!(
        order_ids == acked_ids,
        "the orders rows are not the acknowledged events"
    );
    assert_eq!(
        final_states.get("done").copied(),
        Some(EVENTS as i64),
        "{final_states:?}"
    );
    assert_eq!(final_states.get("dead"), None, "{final_states:?}");

    // What was still held under its kill-time token 300 ms after the kill:
    // the killed process's leases, and a live handler's slow one now and
    // then. A lease is replaced only once it lapsed, and a live worker's
    // heartbeats keep its own: a record finished under a new token was the
    // killed process's, taken over. None of them is recorded by the killed
    // process.
    let killed = format!(" pid {killed_pid}");
    let mut taken_over = 0;
    for (&id, &token) in &held {
        let row = client
            .query_one(
                "SELECT r.state, r.lease_token, o.handled_by FROM inbox_records r \
                 JOIN orders o ON o.record_id = r.id WHERE r.id = $1",
                &[&id],
            )
            .await
            .unwrap();
        let (state, final_token, by): (String, i64, String) = (row.get(0), row.get(1), row.get(2));
        assert_eq!(state, "done", "record {id}");
        assert!(
            !by.ends_with(&killed),
            "record {id} recorded by the killed process"
        );
        taken_over += usize::from(final_token != token);
    }
    assert!(
        taken_over > 0,
        "no lease of the killed receiver was taken over ({} records held at the kill)",
        held.len()
    );

    let mut by_receiver: HashMap<&str, usize> = HashMap::new();
    for (_, _, by) in orders.values() {
        *by_receiver.entry(by.as_str()).or_default() += 1;
    }
    let retried = orders.values().filter(|(_, attempt, _)| *attempt > 1).count();
    let failures = sent.failures.lock().unwrap().clone();
    println!(
        "replicas: {EVENTS} events acknowledged by 3 receivers (one kill -9ed at {} and restarted) in {:.1} s, \
         all processed in {:.1} s; orders rows {} (one per acknowledged event), {retried} of them on a retry \
         (20% handler failures); rows per process {by_receiver:?}; records running under their kill-time token \
         300 ms after the kill: {}, of which the killed process's, taken over and finished by another process \
         under a new lease: {taken_over}; sender failures by status (None: no answer) {failures:?}; final states {final_states:?}",
        EVENTS / 3,
        acknowledged.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        orders.len(),
        held.len(),
    );
    drop(client);
    let _ = admin
        .batch_execute(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// One signed attempt of event `id` at `url`: the status and whether a
/// `Retry-After` came with it, or `None` without an answer.
async fn post(
    client: &hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        http_body_util::Full<Bytes>,
    >,
    signer: &(dyn tower_webhook::testing::Sign + Sync),
    url: &Uri,
    id: &str,
) -> Option<(StatusCode, bool)> {
    let (body, signed) = signer.sign_delivery(Bytes::from(article(id)), id, tower_webhook::testing::now());
    let mut request = http::Request::post(url.clone())
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(body))
        .unwrap();
    request.headers_mut().extend(signed);
    let response = tokio::time::timeout(Duration::from_secs(10), client.request(request))
        .await
        .ok()?
        .ok()?;
    Some((response.status(), response.headers().contains_key("retry-after")))
}

/// The database of one receiver stopped mid-run (`pg_ctl stop -m fast`) for
/// two seconds, then started again, on a cluster of the test's own:
/// deliveries during the outage are answered `503` with `Retry-After` and
/// nothing is acknowledged that is not stored; every acknowledged event,
/// those retried after a `503` included, ends with its one `orders` row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_restart_mid_run_loses_no_acknowledged_delivery() {
    const EVENTS: usize = 1_500;
    const CONNECTIONS: usize = 16;
    let _serial = SERIAL.lock().await;
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let cluster = Arc::new(cluster);
    let started = Instant::now();
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("inbox-pg-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut receiver = Receiver::start(dir.join("r.log"), free_port(), &cluster.url(), 0, 10);
    let url = receiver.url();

    /// What one event's attempts met.
    #[derive(Default)]
    struct Seen {
        acked: HashSet<String>,
        /// Events answered `503` (before their 2xx).
        refused: HashSet<String>,
        unavailable: usize,
        unavailable_with_retry_after: usize,
        /// Other non-2xx answers and attempts without one.
        other: HashMap<Option<u16>, usize>,
    }
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let acked = Arc::new(AtomicUsize::new(0));
    let senders: Vec<_> = (0..CONNECTIONS)
        .map(|task| {
            let (url, seen, acked) = (url.clone(), Arc::clone(&seen), Arc::clone(&acked));
            tokio::spawn(async move {
                let client = send::client();
                let signer = send::signer("petstore", SECRET).unwrap();
                for n in (task..EVENTS).step_by(CONNECTIONS) {
                    let id = format!("evt_restart_{n:04}");
                    let first = Instant::now();
                    loop {
                        let answer = post(&client, &*signer, &url, &id).await;
                        let done = {
                            let mut seen = seen.lock().unwrap();
                            match answer {
                                Some((status, _)) if status.is_success() => {
                                    seen.acked.insert(id.clone());
                                    true
                                }
                                Some((StatusCode::SERVICE_UNAVAILABLE, retry_after)) => {
                                    seen.refused.insert(id.clone());
                                    seen.unavailable += 1;
                                    seen.unavailable_with_retry_after += usize::from(retry_after);
                                    false
                                }
                                other => {
                                    *seen.other.entry(other.map(|(s, _)| s.as_u16())).or_default() += 1;
                                    false
                                }
                            }
                        };
                        if done {
                            break;
                        }
                        assert!(
                            first.elapsed() < Duration::from_secs(60),
                            "{id} not acknowledged within 60 s"
                        );
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    acked.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();

    // A third of the way: the server stops for two seconds.
    while acked.load(Ordering::SeqCst) < EVENTS / 3 {
        assert!(started.elapsed() < Duration::from_secs(60), "the senders stalled");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stopping = Arc::clone(&cluster);
    tokio::task::spawn_blocking(move || stopping.stop())
        .await
        .unwrap();
    let acked_at_stop = acked.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let acked_in_outage = acked.load(Ordering::SeqCst) - acked_at_stop;
    let starting = Arc::clone(&cluster);
    tokio::task::spawn_blocking(move || starting.restart())
        .await
        .unwrap();

    for sender in senders {
        sender.await.unwrap();
    }
    let client = postgres_support::raw_client(&cluster.url()).await;
    let final_states = loop {
        let states = states(&client).await;
        if active(&states) == 0 {
            break states;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "records still active: {states:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    receiver.stop();

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let orders: HashSet<String> = client
        .query("SELECT event_id FROM orders", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    println!(
        "database restart: {EVENTS} events acknowledged in {:.1} s, the server stopped for 2 s at {acked_at_stop}; \
         acknowledged during the outage: {acked_in_outage}; 503s {} ({} with Retry-After) over {} events, \
         all of them acknowledged on a retry and recorded; other failed attempts {:?}; orders rows {}; final states {final_states:?}",
        started.elapsed().as_secs_f64(),
        seen.unavailable,
        seen.unavailable_with_retry_after,
        seen.refused.len(),
        seen.other,
        orders.len(),
    );
    assert_eq!(seen.acked.len(), EVENTS);
    assert!(seen.unavailable > 0, "no delivery met the outage");
    assert_eq!(
        seen.unavailable_with_retry_after, seen.unavailable,
        "a 503 without Retry-After"
    );
    assert!(
        seen.refused.is_subset(&orders),
        "an event refused during the outage was not processed after its retry"
    );
    assert!(
        orders == seen.acked,
        "the orders rows are not the acknowledged events"
    );
    assert_eq!(
        final_states.get("done").copied(),
        Some(EVENTS as i64),
        "{final_states:?}"
    );
    assert_eq!(final_states.get("dead"), None, "{final_states:?}");
    drop(client);
    let _ = std::fs::remove_dir_all(&dir);
}
