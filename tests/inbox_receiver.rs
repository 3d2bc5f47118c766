//! The example receiver in inbox mode, over 127.0.0.1: the crash test (the
//! receiver as a real process, `kill -9`ed twice mid-run and restarted on the
//! same SQLite file while a retrying sender keeps delivering) and the slow
//! handler (acknowledged long before the handler ends, then processed).
//!
//! The crash test runs the receiver binary that `cargo test` builds beside
//! the test binaries (`target/debug/examples/receiver`); with `cargo test
//! --test inbox_receiver` alone, build it first (`cargo build --example receiver`).

#[allow(dead_code)]
#[path = "../examples/receiver.rs"]
mod receiver;
#[allow(dead_code)]
#[path = "../examples/send.rs"]
mod send;

use std::collections::{HashMap, HashSet};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{StatusCode, Uri};

const SECRET: &str = "inbox-crash-test-secret";

/// A free port on 127.0.0.1 (bound, then let go for the receiver to take).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The example receiver's binary, built by `cargo test` beside this test's.
fn receiver_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/debug/deps/inbox_receiver-HASH → target/debug/examples/receiver
    let binary = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples")
        .join("receiver");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo test` (which builds the examples) or `cargo build --example receiver` first",
        binary.display()
    );
    binary
}

/// The source article's event with id `id`.
fn article(id: &str) -> String {
    format!(
        r#"{{"id":"{id}","type":"order.completed","created":1710331200,"data":{{"orderId":"{id}","status":"completed","completedAt":"2024-01-01T12:00:00Z"}}}}"#
    )
}

/// One run of the receiver process, its log going to a file.
struct Process {
    child: Child,
    log: PathBuf,
}

impl Process {
    fn start(dir: &Path, run: usize, port: u16, admin: u16, db: &Path) -> Self {
        let log = dir.join(format!("run{run}.log"));
        let child = Command::new(receiver_binary())
            .env_clear()
            .env("WEBHOOK_SECRET", SECRET)
            .env("PORT", port.to_string())
            .env("ADMIN_ADDR", format!("127.0.0.1:{admin}"))
            .env("INBOX_URL", format!("sqlite:{}", db.display()))
            .env("INBOX_MAX_ATTEMPTS", "30")
            .env("INBOX_LEASE_SECS", "2")
            .env("INBOX_BACKOFF_MS", "50")
            .env("HANDLER_FAIL_PERCENT", "20")
            .env("HANDLER_PANIC_PERCENT", "2")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let process = Self { child, log };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the receiver did not listen within 20 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        process
    }

    fn kill_9(mut self) -> PathBuf {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.log.clone()
    }

    /// SIGTERM, then wait for the drain (bounded).
    fn stop(mut self) -> PathBuf {
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
        self.log.clone()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // A failed assertion must not leave a receiver behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `handled` line: the event, the attempt, and the result.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Handled {
    event_id: String,
    attempt: u32,
    result: String,
}

/// A `key=value` field of a log line (quoted or not).
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!(" {key}="))? + key.len() + 2;
    let rest = &line[start..];
    match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next(),
        None => rest.split(' ').next(),
    }
}

fn handled_lines(log: &Path) -> Vec<Handled> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        // The line's own fields, after the span's.
        .filter_map(|line| line.split_once("receiver: handled").map(|(_, fields)| fields))
        .map(|line| Handled {
            event_id: field(line, "event_id").unwrap().to_owned(),
            attempt: field(line, "attempt").and_then(|n| n.parse().ok()).unwrap(),
            result: field(line, "result").unwrap().to_owned(),
        })
        .collect()
}

/// The admin page's inbox counts.
async fn counts(admin: u16) -> serde_json::Value {
    let client = send::client();
    let request = http::Request::get(format!("http://127.0.0.1:{admin}/deliveries"))
        .header("accept", "application/json")
        .body(http_body_util::Full::new(Bytes::new()))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    json["counts"].clone()
}

/// 2,000 distinct deliveries at 32 connections, 20% handler failures and 2%
/// panics, the receiver `kill -9`ed twice mid-run and restarted on the same
/// file; the sender retries whatever did not get a 2xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_test_every_acknowledged_event_is_handled_and_none_is_left_pending() {
    const EVENTS: usize = 2_000;
    const CONNECTIONS: usize = 32;
    let started = Instant::now();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("inbox-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("inbox.sqlite3");
    let (port, admin) = (free_port(), free_port());
    let url: Uri = format!("http://127.0.0.1:{port}/webhooks").parse().unwrap();

    let mut logs = Vec::new();
    let mut process = Process::start(&dir, 1, port, admin, &db);

    // The sender: 32 tasks, each delivering its share in turn, each event
    // retried every 100 ms (for up to a minute) until a 2xx.
    let acked = Arc::new(AtomicUsize::new(0));
    let answers: Arc<Mutex<HashMap<String, (StatusCode, String)>>> = Arc::default();
    let senders: Vec<_> = (0..CONNECTIONS)
        .map(|task| {
            let (url, acked, answers) = (url.clone(), Arc::clone(&acked), Arc::clone(&answers));
            tokio::spawn(async move {
                let client = send::client();
                let signer = send::signer("petstore", SECRET).unwrap();
                let schedule = send::Schedule {
                    retries: vec![Duration::from_millis(100); 600],
                    timeout: Duration::from_secs(5),
                };
                for n in (task..EVENTS).step_by(CONNECTIONS) {
                    let id = format!("evt_crash_{n:04}");
                    let body = Bytes::from(article(&id));
                    let mut last = None;
                    let delivered =
                        send::deliver(&client, &*signer, &url, &id, &body, &schedule, |attempt| {
                            if let Ok((status, body)) = &attempt.outcome {
                                last = Some((*status, String::from_utf8_lossy(body).into_owned()));
                            }
                        })
                        .await;
                    assert!(delivered.is_ok(), "{id} never acknowledged: {delivered:?}");
                    answers.lock().unwrap().insert(id, last.unwrap());
                    acked.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();

    // Two kills, mid-run, each followed by a restart on the same file.
    for (run, at) in [(2, EVENTS * 3 / 10), (3, EVENTS * 6 / 10)] {
        while acked.load(Ordering::SeqCst) < at {
            assert!(
                started.elapsed() < Duration::from_secs(50),
                "the sender stalled at {acked:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        logs.push(process.kill_9());
        process = Process::start(&dir, run, port, admin, &db);
    }
    for sender in senders {
        sender.await.unwrap();
    }
    assert_eq!(acked.load(Ordering::SeqCst), EVENTS);

    // The worker finishes what is stored (records the killed runs held come
    // back once their 2 s lease lapses).
    let counts = loop {
        let counts = counts(admin).await;
        let active = ["pending", "running", "retrying"]
            .iter()
            .map(|state| counts[state].as_u64().unwrap())
            .sum::<u64>();
        if active == 0 {
            break counts;
        }
        assert!(
            started.elapsed() < Duration::from_secs(55),
            "records still active: {counts}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // Redeliveries of done events: acknowledged, the handler not run.
    let before_redelivery = handled_lines(&process.log).len();
    let client = send::client();
    let signer = send::signer("petstore", SECRET).unwrap();
    let once = send::Schedule {
        retries: Vec::new(),
        timeout: Duration::from_secs(5),
    };
    for n in (0..EVENTS).step_by(20) {
        let id = format!("evt_crash_{n:04}");
        let mut answer = None;
        send::deliver(
            &client,
            &*signer,
            &url,
            &id,
            &Bytes::from(article(&id)),
            &once,
            |attempt| {
                answer = attempt
                    .outcome
                    .as_ref()
                    .ok()
                    .map(|(status, body)| (*status, body.clone()));
            },
        )
        .await
        .unwrap();
        let (status, body) = answer.unwrap();
        assert_eq!(
            (status, &body[..]),
            (StatusCode::OK, &br#"{"duplicate":true}"#[..]),
            "{id}"
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let redelivered = EVENTS / 20;
    logs.push(process.stop());
    let after_redelivery = handled_lines(logs.last().unwrap()).len();
    assert_eq!(
        after_redelivery, before_redelivery,
        "a redelivery of a done event ran the handler"
    );

    // Every acknowledged event was handled to success at least once.
    let runs: Vec<Vec<Handled>> = logs.iter().map(|log| handled_lines(log)).collect();
    let mut successes: HashMap<&str, Vec<usize>> = HashMap::new();
    for (run, lines) in runs.iter().enumerate() {
        for line in lines.iter().filter(|line| line.result == "processed") {
            successes.entry(&line.event_id).or_default().push(run);
        }
    }
    let answers = answers.lock().unwrap();
    let missing: Vec<_> = answers
        .keys()
        .filter(|id| !successes.contains_key(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged but never handled to success: {missing:?}"
    );
    // Handled to success twice only if the first success was in a run that
    // was killed before it could mark the event done.
    let twice: Vec<_> = successes.iter().filter(|(_, runs)| runs.len() > 1).collect();
    for (id, runs) in &twice {
        assert!(
            runs[0] < 2,
            "{id} succeeded twice, the first time in a run that was not killed: {runs:?}"
        );
    }
    assert!(
        twice.len() <= 2 * 32,
        "more events ran twice than were running at the kills: {}",
        twice.len()
    );
    let attempts: usize = runs.iter().map(Vec::len).sum();
    let failures = runs
        .iter()
        .flatten()
        .filter(|line| line.result == "retryable failure")
        .count();
    let panics = runs
        .iter()
        .flatten()
        .filter(|line| line.result == "simulated panic")
        .count();
    let acks_duplicate = answers
        .values()
        .filter(|(_, body)| body.contains("duplicate"))
        .count();
    let unique: HashSet<&str> = runs.iter().flatten().map(|line| line.event_id.as_str()).collect();
    println!(
        "crash test: {EVENTS} events acknowledged over 3 runs (2 killed with -9) in {:.1} s; \
         {attempts} handler runs ({failures} failures, {panics} panics) over {} events; \
         handled to success twice (running at a kill): {}; acknowledged as duplicates on a retry: {acks_duplicate}; \
         redeliveries of done events acknowledged without the handler: {redelivered}; final counts {counts}",
        started.elapsed().as_secs_f64(),
        unique.len(),
        twice.len(),
    );
    assert_eq!(counts["dead"], 0, "{counts}");
    assert_eq!(counts["done"].as_u64().unwrap() as usize, EVENTS, "{counts}");
    assert!(failures > 0 && panics > 0, "the faults were injected");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A handler that takes 15 s: the sender has its 2xx within its 1 s
/// patience, and the event is processed once (its lease of 3 s extended by
/// heartbeats, never taken over).
#[tokio::test]
async fn slow_handler_is_acknowledged_at_once_and_processed() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("inbox-slow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("inbox.sqlite3");
    let inbox_url = format!("sqlite:{}", db.display());
    let vars: HashMap<&str, &str> = [
        ("WEBHOOK_SECRET", SECRET),
        ("HANDLER_DELAY_MS", "15000"),
        ("INBOX_URL", inbox_url.as_str()),
        ("INBOX_LEASE_SECS", "3"),
    ]
    .into();
    let config = receiver::Config::from_lookup(|name| Ok(vars.get(name).map(|v| v.to_string()))).unwrap();
    let receiver::Receiver {
        router, stats, inbox, ..
    } = receiver::receiver(&config).unwrap();
    let inbox = inbox.unwrap();
    let store = Arc::clone(&inbox.store);
    let worker = inbox.worker.spawn();
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let url: Uri = format!("http://{}/webhooks", listener.local_addr().unwrap())
        .parse()
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(receiver::serve(listener, router, Duration::from_secs(5), async {
        let _ = stopped.await;
    }));

    // The sender gives up after 1 s and does not retry.
    let schedule = send::Schedule {
        retries: Vec::new(),
        timeout: Duration::from_secs(1),
    };
    let signer = send::signer("petstore", SECRET).unwrap();
    let mut answer = None;
    let sent = send::deliver(
        &send::client(),
        &*signer,
        &url,
        "evt_slow",
        &Bytes::from(article("evt_slow")),
        &schedule,
        |attempt| {
            answer = Some(attempt.outcome.clone());
        },
    )
    .await;
    assert_eq!(sent, Ok(StatusCode::OK), "{answer:?}");

    // Processed: the handler's work is logged at once, its answer comes 15 s later.
    let done = tokio::time::timeout(Duration::from_secs(40), async {
        loop {
            let counts = store.counts().await.unwrap();
            if counts.done == 1 {
                return counts;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the slow event was processed within 40 s");
    assert_eq!(done.running + done.pending + done.retrying + done.dead, 0);
    assert_eq!(
        stats.handled.load(Ordering::SeqCst),
        1,
        "run once: the heartbeats kept its lease"
    );
    worker.drain(Duration::from_secs(5)).await;
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    drop(store);
    drop(inbox.store);
    let _ = std::fs::remove_dir_all(&dir);
}
