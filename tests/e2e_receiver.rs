//! End to end over 127.0.0.1: the example receiver's router on an ephemeral
//! port, driven by the example sender's retrying delivery. Every request has
//! a timeout, every test a bound, and the server is shut down at the end.

#[allow(dead_code)]
#[path = "../examples/receiver.rs"]
mod receiver;
#[allow(dead_code)]
#[path = "../examples/send.rs"]
mod send;
#[allow(dead_code)]
#[path = "../examples/tower_service.rs"]
mod tower_service;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{StatusCode, Uri};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower_webhook::LruGuard;

use receiver::{Config, Stats};

/// The longest any one test may run.
const BOUND: Duration = Duration::from_secs(30);

/// The receiver, serving on 127.0.0.1 until `stop`.
struct Running {
    url: Uri,
    guard: Arc<LruGuard>,
    stats: Arc<Stats>,
    shutdown: oneshot::Sender<()>,
    server: JoinHandle<()>,
}

impl Running {
    async fn start(vars: &[(&str, &str)]) -> Self {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let config = Config::from_lookup(|name| Ok(vars.get(name).cloned())).unwrap();
        let receiver::Receiver {
            router, guard, stats, ..
        } = receiver::receiver(&config).unwrap();
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let url = format!("http://{}/webhooks", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        let (shutdown, stopped) = oneshot::channel::<()>();
        // Served as the example serves, with a short header timeout.
        let server = tokio::spawn(async move {
            receiver::serve(listener, router, HEADER_TIMEOUT, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Self {
            url,
            guard,
            stats,
            shutdown,
            server,
        }
    }

    async fn stop(self) {
        self.shutdown.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.server)
            .await
            .expect("server shut down in time")
            .unwrap();
    }

    fn processed(&self) -> u64 {
        self.stats.processed.load(Ordering::SeqCst)
    }

    fn handled(&self) -> u64 {
        self.stats.handled.load(Ordering::SeqCst)
    }
}

/// A sender for the receiver's secret.
struct Sender {
    signer: Box<dyn tower_webhook::testing::Sign + Send + Sync>,
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        http_body_util::Full<Bytes>,
    >,
    schedule: send::Schedule,
}

impl Sender {
    fn new(scheme: &str, secret: &str, retries: usize) -> Self {
        Self {
            signer: send::signer(scheme, secret).unwrap(),
            client: send::client(),
            schedule: send::Schedule {
                retries: vec![Duration::from_millis(20); retries],
                timeout: Duration::from_secs(5),
            },
        }
    }

    /// Delivers one event with retries; the status of every attempt, and the
    /// last answer's body.
    async fn deliver(&self, url: &Uri, id: &str, body: &str) -> (Vec<StatusCode>, String) {
        let mut statuses = Vec::new();
        let mut last = String::new();
        let result = send::deliver(
            &self.client,
            &*self.signer,
            url,
            id,
            &Bytes::from(body.to_owned()),
            &self.schedule,
            |attempt| match &attempt.outcome {
                Ok((status, body)) => {
                    statuses.push(*status);
                    last = String::from_utf8_lossy(body).into_owned();
                }
                Err(error) => panic!("attempt {} failed: {error}", attempt.number),
            },
        )
        .await;
        assert_eq!(result.is_ok(), statuses.last().is_some_and(|s| s.is_success()));
        (statuses, last)
    }
}

fn event(id: &str, event_type: &str, data: &str) -> String {
    format!(r#"{{"id":"{id}","type":"{event_type}","created":1700000000,"data":{data}}}"#)
}

const SECRET: &str = "e2e secret, sixteen bytes or more";

/// The header timeout of the receivers here (the example's is 10 s).
const HEADER_TIMEOUT: Duration = Duration::from_millis(300);
const OK: StatusCode = StatusCode::OK;

#[tokio::test]
async fn receiver_handles_once_acknowledges_duplicates_and_survives_an_outage() {
    tokio::time::timeout(BOUND, async {
        let server = Running::start(&[("WEBHOOK_SECRET", SECRET)]).await;
        let sender = Sender::new("petstore", SECRET, 3);
        let url = &server.url;

        // A valid event is handled once.
        let created = event(
            "evt_1",
            "order.created",
            r#"{"orderId":"ord_1","status":"created"}"#,
        );
        let (statuses, _) = sender.deliver(url, "evt_1", &created).await;
        assert_eq!(statuses, [OK]);
        assert_eq!((server.handled(), server.processed()), (1, 1));

        // Its redelivery is acknowledged and not handled again.
        let (statuses, body) = sender.deliver(url, "evt_1", &created).await;
        assert_eq!(statuses, [OK]);
        assert_eq!(body, r#"{"duplicate":true}"#);
        assert_eq!((server.handled(), server.processed()), (1, 1));

        // An outage: the handler fails, the sender retries, the retry is handled once.
        server.stats.fail_next.store(1, Ordering::SeqCst);
        let completed = event(
            "evt_2",
            "order.completed",
            // The article's `order.completed` data, verbatim.
            r#"{"orderId":"123","status":"completed","completedAt":"2024-01-01T12:00:00Z"}"#,
        );
        let (statuses, _) = sender.deliver(url, "evt_2", &completed).await;
        assert_eq!(statuses, [StatusCode::INTERNAL_SERVER_ERROR, OK]);
        assert_eq!((server.handled(), server.processed()), (3, 2));
        assert!(server.guard.is_done("evt_2"));

        // A type the receiver does not know is acknowledged, not processed.
        let adopted = event("evt_3", "pet.adopted", r#"{"pet":"Rex"}"#);
        let (statuses, _) = sender.deliver(url, "evt_3", &adopted).await;
        assert_eq!(statuses, [OK]);
        assert_eq!(server.processed(), 2);
        assert!(server.guard.is_done("evt_3"));

        // Data that can never be processed: acknowledged once, then a duplicate.
        let broken = event("evt_4", "order.cancelled", r#"{"orderId":"","status":"created"}"#);
        let (statuses, _) = sender.deliver(url, "evt_4", &broken).await;
        assert_eq!(statuses, [OK]);
        let (_, body) = sender.deliver(url, "evt_4", &broken).await;
        assert_eq!(body, r#"{"duplicate":true}"#);
        assert_eq!(server.processed(), 2);

        server.stop().await;
    })
    .await
    .expect("test finished within its bound");
}

#[tokio::test]
async fn receiver_refuses_a_wrong_secret_and_the_sender_gives_up() {
    tokio::time::timeout(BOUND, async {
        let server = Running::start(&[("WEBHOOK_SECRET", SECRET)]).await;
        let sender = Sender::new("petstore", "not the secret", 1);

        let body = event(
            "evt_1",
            "order.created",
            r#"{"orderId":"ord_1","status":"created"}"#,
        );
        let (statuses, _) = sender.deliver(&server.url, "evt_1", &body).await;

        assert_eq!(
            statuses,
            [StatusCode::UNAUTHORIZED; 2],
            "tried, then retried once"
        );
        assert_eq!(server.handled(), 0);
        server.stop().await;
    })
    .await
    .expect("test finished within its bound");
}

#[tokio::test]
async fn receiver_accepts_every_rotated_secret() {
    tokio::time::timeout(BOUND, async {
        let (old, new) = ("the old secret of this test", "the new secret of this test");
        let server = Running::start(&[("WEBHOOK_SECRET", old), ("WEBHOOK_SECRET_2", new)]).await;
        let body = |id: &str| event(id, "order.created", r#"{"orderId":"ord_1","status":"created"}"#);

        for (n, secret) in [old, new].into_iter().enumerate() {
            let id = format!("evt_{n}");
            let (statuses, _) = Sender::new("petstore", secret, 0)
                .deliver(&server.url, &id, &body(&id))
                .await;
            assert_eq!(statuses, [OK], "{secret}");
        }
        assert_eq!(server.processed(), 2);
        server.stop().await;
    })
    .await
    .expect("test finished within its bound");
}

/// What a `tracing` subscriber writes, for reading the log back.
#[derive(Clone, Default)]
struct Log(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    /// Runs `f` with this log as the thread's subscriber.
    fn capture<T>(&self, f: impl FnOnce() -> T) -> T {
        let log = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || log.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, f)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn allow_short_secret_starts_the_receiver_with_a_warning_and_the_default_refuses() {
    // Twilio's documented test token, `12345`: 5 bytes.
    let lookup = |vars: &[(&str, &str)]| {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(move |name| Ok(vars.get(name).cloned()))
    };
    let refused = lookup(&[("WEBHOOK_SECRET", "12345")]).unwrap_err();
    assert!(refused.contains("WEBHOOK_SECRET holds 5 bytes"), "{refused}");
    assert!(refused.contains("ALLOW_SHORT_SECRET=1"), "{refused}");
    let refused = lookup(&[("WEBHOOK_SECRET", "12345"), ("ALLOW_SHORT_SECRET", "0")]).unwrap_err();
    assert!(refused.contains("5 bytes"), "{refused}");
    let invalid = lookup(&[("WEBHOOK_SECRET", LONG), ("ALLOW_SHORT_SECRET", "yes")]).unwrap_err();
    assert!(invalid.contains("ALLOW_SHORT_SECRET"), "{invalid}");

    let vars = [("WEBHOOK_SECRET", "12345"), ("ALLOW_SHORT_SECRET", "1")];
    let log = Log::default();
    let config = log.capture(|| lookup(&vars)).unwrap();
    assert!(config.allow_short_secret);
    let text = log.text();
    assert!(text.contains("WARN"), "{text}");
    assert!(text.contains("ALLOW_SHORT_SECRET=1"), "{text}");
    assert!(text.contains("WEBHOOK_SECRET"), "{text}");
    assert!(!text.contains("12345"), "the secret is never logged: {text}");

    tokio::time::timeout(BOUND, async {
        let server = Running::start(&vars).await;
        let body = event(
            "evt_short",
            "order.created",
            r#"{"orderId":"ord_1","status":"created"}"#,
        );
        let (statuses, _) = Sender::new("petstore", "12345", 0)
            .deliver(&server.url, "evt_short", &body)
            .await;
        assert_eq!(statuses, [OK]);
        let (statuses, _) = Sender::new("petstore", "12346", 0)
            .deliver(&server.url, "evt_other", &body)
            .await;
        assert_eq!(statuses, [StatusCode::UNAUTHORIZED]);
        assert_eq!(server.processed(), 1);
        server.stop().await;
    })
    .await
    .expect("test finished within its bound");
}

#[tokio::test]
async fn receiver_with_the_standard_scheme_hands_on_raw_json() {
    tokio::time::timeout(BOUND, async {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let server = Running::start(&[("WEBHOOK_SCHEME", "standard"), ("WEBHOOK_SECRET", secret)]).await;
        let sender = Sender::new("standard", secret, 0);

        // Any JSON, not just the Petstore's orders.
        let body = r#"{"type":"invoice.paid","timestamp":"2026-01-01T00:00:00Z","data":{"total":3}}"#;
        let (statuses, _) = sender.deliver(&server.url, "msg_1", body).await;
        assert_eq!(statuses, [OK]);
        let (_, again) = sender.deliver(&server.url, "msg_1", body).await;
        assert_eq!(again, r#"{"duplicate":true}"#);
        assert_eq!((server.handled(), server.processed()), (1, 1));
        assert!(server.guard.is_done("msg_1"));
        server.stop().await;
    })
    .await
    .expect("test finished within its bound");
}

#[tokio::test]
async fn sender_gives_up_on_a_closed_port_after_its_retries() {
    tokio::time::timeout(BOUND, async {
        // A port that was just free: nothing listens there.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url: Uri = format!("http://{}/webhooks", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        drop(listener);
        let sender = Sender::new("petstore", SECRET, 2);
        let mut attempts = 0;

        let result = send::deliver(
            &sender.client,
            &*sender.signer,
            &url,
            "evt_1",
            &Bytes::from_static(b"{}"),
            &sender.schedule,
            |attempt| {
                attempts += 1;
                assert!(attempt.outcome.is_err());
            },
        )
        .await;

        assert_eq!(attempts, 3);
        assert!(result.unwrap_err().contains("gave up after 3 attempts"));
    })
    .await
    .expect("test finished within its bound");
}

#[test]
fn bad_receiver_configuration_is_a_one_line_error() {
    let lookup = |vars: &'static [(&'static str, &'static str)]| {
        Config::from_lookup(move |name| Ok(vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())))
    };
    for (vars, mentions) in [
        (&[("PORT", "http")][..], "PORT"),
        (&[("PORT", "70000")][..], "PORT"),
        (&[("MAX_BODY_BYTES", "1MB")][..], "MAX_BODY_BYTES"),
        (&[("MAX_CONCURRENT_HANDLERS", "0")][..], "MAX_CONCURRENT_HANDLERS"),
        (&[("HANDLER_DELAY_MS", "soon")][..], "HANDLER_DELAY_MS"),
        (&[("BIND", "localhost")][..], "BIND"),
        (&[("WEBHOOK_SCHEME", "smoke-signals")][..], "WEBHOOK_SCHEME"),
        (&[("WEBHOOK_SECRET", "")][..], "WEBHOOK_SECRET"),
        (&[("WEBHOOK_SECRET", "a,,b")][..], "WEBHOOK_SECRET"),
        (
            &[("WEBHOOK_SCHEME", "standard"), ("WEBHOOK_SECRET", "whsec_!!")][..],
            "WEBHOOK_SECRET",
        ),
        // Under 16 bytes of key material, as written or once decoded.
        (&[("WEBHOOK_SECRET", "fifteen bytes!!")][..], "WEBHOOK_SECRET"),
        (
            &[("WEBHOOK_SECRET", LONG), ("WEBHOOK_SECRET_2", "short")][..],
            "WEBHOOK_SECRET_2",
        ),
        (
            // Long enough as text; 15 bytes once decoded.
            &[
                ("WEBHOOK_SCHEME", "svix"),
                ("WEBHOOK_SECRET", "whsec_ZmlmdGVlbiBieXRlcyEh"),
            ][..],
            "WEBHOOK_SECRET",
        ),
        (&[("WEBHOOK_SECRET_2", LONG)][..], "WEBHOOK_SECRET"),
        (
            &[("WEBHOOK_SECRET", LONG), ("WEBHOOK_SECRET_2", "")][..],
            "WEBHOOK_SECRET_2",
        ),
        // Settings that would switch protection off.
        (&[("REPLAY_CAPACITY", "0")][..], "REPLAY_CAPACITY"),
        (&[("MAX_BODY_BYTES", "0")][..], "MAX_BODY_BYTES"),
        (&[("TOLERANCE_SECS", "0")][..], "TOLERANCE_SECS"),
        (&[("TOLERANCE_SECS", "3601")][..], "TOLERANCE_SECS"),
        (&[("TOLERANCE_SECS", "1800000000")][..], "TOLERANCE_SECS"),
    ] {
        let error = lookup(vars).unwrap_err();
        assert!(error.contains(mentions), "{vars:?}: {error}");
        assert!(!error.contains('\n'), "{error}");
    }
}

const LONG: &str = "a secret of more than sixteen bytes";

#[test]
fn receiver_takes_each_secret_whole_and_rotation_keys_by_number() {
    let lookup = |vars: &'static [(&'static str, &'static str)]| {
        Config::from_lookup(move |name| Ok(vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())))
    };
    // Commas and spaces are part of the secret: nothing splits it into a
    // one-byte secret.
    let config = lookup(&[("WEBHOOK_SECRET", " x, correct horse battery staple ")]).unwrap();
    assert_eq!(config.secrets, [" x, correct horse battery staple "]);
    // Numbered from 2, read up to the first missing one.
    let config = lookup(&[
        ("WEBHOOK_SECRET", "first secret, sixteen+"),
        ("WEBHOOK_SECRET_2", "second secret, sixteen+"),
        ("WEBHOOK_SECRET_3", "third secret, sixteen+"),
        ("WEBHOOK_SECRET_5", "skipped: no WEBHOOK_SECRET_4"),
    ])
    .unwrap();
    assert_eq!(
        config.secrets,
        [
            "first secret, sixteen+",
            "second secret, sixteen+",
            "third secret, sixteen+"
        ]
    );
    assert!(!config.generated_secret);
    assert_eq!(receiver::secret_var(1), "WEBHOOK_SECRET");
    assert_eq!(receiver::secret_var(7), "WEBHOOK_SECRET_7");
    // Bounds are inclusive.
    let config = lookup(&[
        ("TOLERANCE_SECS", "3600"),
        ("REPLAY_CAPACITY", "1"),
        ("MAX_BODY_BYTES", "1"),
    ])
    .unwrap();
    assert_eq!(config.tolerance, Some(Duration::from_secs(3600)));
}

#[test]
fn generated_secrets_are_in_each_schemes_own_form() {
    for (scheme, prefix) in [
        ("standard", "whsec_"),
        ("svix", "whsec_"),
        ("stripe", "whsec_"),
        ("petstore", ""),
        ("slack", ""),
    ] {
        let config =
            Config::from_lookup(|name| Ok((name == "WEBHOOK_SCHEME").then(|| scheme.to_owned()))).unwrap();
        assert!(config.generated_secret, "{scheme}");
        let secret = &config.secrets[0];
        assert!(secret.starts_with(prefix), "{scheme}: {secret}");
        // It parses as the scheme's secret, with at least 16 bytes of key.
        assert!(
            receiver::scheme(scheme, &config.secrets, config.tolerance).is_ok(),
            "{scheme}"
        );
    }
    let slack =
        Config::from_lookup(|name| Ok((name == "WEBHOOK_SCHEME").then(|| "slack".to_owned()))).unwrap();
    assert_eq!(
        slack.secrets[0].len(),
        32,
        "Slack signing secrets are 32 hex digits"
    );
    // A Standard Webhooks secret decodes to its bytes: the sender can use it as printed.
    let standard =
        Config::from_lookup(|name| Ok((name == "WEBHOOK_SCHEME").then(|| "standard".to_owned()))).unwrap();
    let key = tower_webhook::scheme::StandardWebhooks::secret(&standard.secrets[0]).unwrap();
    assert_eq!(key.len(), 24);
}

#[tokio::test]
async fn receiver_refuses_a_delivery_signed_with_a_fragment_of_its_secret() {
    tokio::time::timeout(BOUND, async {
        let whole = "x, correct horse battery staple";
        let server = Running::start(&[("WEBHOOK_SECRET", whole)]).await;
        let body = event(
            "evt_1",
            "order.created",
            r#"{"orderId":"ord_1","status":"created"}"#,
        );
        for fragment in [
            "x",
            "correct horse battery staple",
            " correct horse battery staple",
        ] {
            let (statuses, _) = Sender::new("petstore", fragment, 0)
                .deliver(&server.url, "evt_1", &body)
                .await;
            assert_eq!(statuses, [StatusCode::UNAUTHORIZED], "{fragment:?}");
        }
        let (statuses, _) = Sender::new("petstore", whole, 0)
            .deliver(&server.url, "evt_1", &body)
            .await;
        assert_eq!(statuses, [OK]);
        server.stop().await;
    })
    .await
    .expect("test finished within its bound");
}

#[tokio::test]
async fn receiver_closes_a_connection_whose_headers_never_finish() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tokio::time::timeout(BOUND, async {
        let server = Running::start(&[("WEBHOOK_SECRET", SECRET)]).await;
        let addr = server.url.authority().unwrap().as_str().to_owned();
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        // Half a request head, and then nothing: no blank line, ever.
        stream
            .write_all(b"POST /webhooks HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        // The server closes the connection (hyper may first answer 408);
        // without a header timeout this read would wait until the bound.
        let closed = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
        assert!(closed.is_ok(), "the half-sent request was still held after 10 s");
        let text = String::from_utf8_lossy(&answer);
        assert!(answer.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
        assert_eq!(server.handled(), 0);

        // The receiver still serves everyone else.
        let body = event(
            "evt_after",
            "order.created",
            r#"{"orderId":"ord_1","status":"created"}"#,
        );
        let (statuses, _) = Sender::new("petstore", SECRET, 0)
            .deliver(&server.url, "evt_after", &body)
            .await;
        assert_eq!(statuses, [OK]);
        server.stop().await;
    })
    .await
    .expect("test finished within its bound");
}

#[test]
fn receiver_configuration_defaults_and_generated_secret() {
    let config = Config::from_lookup(|_| Ok(None)).unwrap();
    assert_eq!(
        (config.bind.to_string(), config.port),
        ("127.0.0.1".to_owned(), 3000)
    );
    assert_eq!(config.scheme, "petstore");
    assert_eq!(
        (config.max_body_bytes, config.replay_capacity),
        (1_048_576, 10_000)
    );
    assert_eq!(config.tolerance, None, "each preset keeps its own default");
    assert_eq!(
        (config.max_concurrent_handlers, config.handler_delay),
        (1024, Duration::ZERO)
    );
    assert!(config.generated_secret);
    assert_eq!(config.secrets.len(), 1);
    assert!(
        !format!("{config:?}").contains(&config.secrets[0]),
        "Debug shows the secret"
    );

    let other = Config::from_lookup(|_| Ok(None)).unwrap();
    assert_ne!(config.secrets, other.secrets, "each run generates its own secret");
}

#[test]
fn sender_flags_are_parsed_and_checked() {
    let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let options = send::Options::parse(
        args(&[
            "--url=http://127.0.0.1:9/hooks",
            "--secret",
            "s",
            "--type",
            "order.cancelled",
            "--data",
            r#"{"orderId":"o9","status":"created"}"#,
            "--id",
            "evt_7",
            "--repeat",
            "3",
            "--scale",
            "0.001",
        ]),
        None,
    )
    .unwrap();
    assert_eq!(options.url, "http://127.0.0.1:9/hooks");
    assert_eq!(
        (options.event_type.as_str(), options.id.as_str()),
        ("order.cancelled", "evt_7")
    );
    assert_eq!((options.repeat, options.scale), (3, 0.001));
    let body: serde_json::Value = serde_json::from_slice(&options.body()).unwrap();
    assert_eq!(body["id"], "evt_7");
    assert_eq!(body["data"]["orderId"], "o9");

    // The secret falls back to $WEBHOOK_SECRET, whole, as the receiver reads it.
    let options = send::Options::parse(args(&[]), Some("first, second".to_owned())).unwrap();
    assert_eq!(options.secret, "first, second");

    for bad in [
        &["--secret"][..],
        &["--secret", "s", "--data", "{not json"],
        &["--secret", "s", "--scale", "0"],
        &["--secret", "s", "--repeat", "-1"],
        &["--secret", "s", "--scheme", "carrier-pigeon"],
        &["--secret", "s", "--url", "https://example.com/"],
        &["--secret", "s", "--verbose"],
        &[],
    ] {
        assert!(send::Options::parse(args(bad), None).is_err(), "{bad:?}");
    }
}

#[test]
fn sender_schedule_is_the_articles_scaled() {
    let schedule = send::Schedule::article(1.0);
    let minutes: Vec<u64> = schedule.retries.iter().map(|d| d.as_secs() / 60).collect();
    assert_eq!(minutes, [1, 5, 15, 60, 240]);
    assert_eq!(schedule.timeout, Duration::from_secs(10));

    let fast = send::Schedule::article(0.001);
    assert_eq!(fast.retries[0], Duration::from_millis(60));
    assert_eq!(fast.retries[4], Duration::from_millis(14_400));
    assert_eq!(
        fast.timeout,
        Duration::from_millis(250),
        "floored so requests can finish"
    );
}

#[tokio::test]
async fn tower_service_example_closes_a_connection_whose_headers_never_finish() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tower::ServiceBuilder;
    tokio::time::timeout(BOUND, async {
        let service = ServiceBuilder::new()
            .layer(tower_webhook::WebhookLayer::new(
                tower_webhook::scheme::Spec::petstore(tower_webhook::Secret::new(SECRET).unwrap()),
            ))
            .service(tower_webhook::Dispatcher::<tower_webhook::HandlerError>::new());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(tower_service::serve(listener, service, HEADER_TIMEOUT, async {
            let _ = stopped.await;
        }));

        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"POST / HTTP/1.1\r\nhost: 127.0.0.1\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
        assert!(closed.is_ok(), "the half-sent request was still held after 10 s");

        shutdown.send(()).unwrap();
        server.await.unwrap().unwrap();
    })
    .await
    .expect("test finished within its bound");
}

/// `HANDLER_DELAY_MS` longer than the sender waits: the handler finishes its
/// work anyway and the sender's retry is a duplicate; a poison delivery is
/// kept as a dead letter; shutdown drains what is in progress.
#[tokio::test]
async fn receiver_finishes_a_handler_the_sender_gave_up_on_keeps_dead_letters_and_drains() {
    tokio::time::timeout(BOUND, async {
        let vars: HashMap<&str, &str> = [
            ("WEBHOOK_SECRET", SECRET),
            ("HANDLER_DELAY_MS", "1000"),
            ("MAX_CONCURRENT_HANDLERS", "4"),
        ]
        .into();
        let config = Config::from_lookup(|name| Ok(vars.get(name).map(|v| v.to_string()))).unwrap();
        assert_eq!(
            (config.max_concurrent_handlers, config.handler_delay),
            (4, Duration::from_millis(1000))
        );
        let receiver::Receiver {
            router,
            guard,
            stats,
            dead_letters,
            shutdown,
            ..
        } = receiver::receiver(&config).unwrap();
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let url: Uri = format!("http://{}/webhooks", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        let signer = send::signer("petstore", SECRET).unwrap();
        let client = send::client();
        let post = |id: &str, body: String| {
            let body = Bytes::from(body);
            let mut request = http::Request::post(url.clone())
                .body(http_body_util::Full::new(body.clone()))
                .unwrap();
            *request.headers_mut() = signer.sign_headers(&body, id, tower_webhook::testing::now());
            client.request(request)
        };

        // The sender gives up once the handler has done its work, before
        // the delay has passed and it answers.
        let created = event(
            "evt_slow",
            "order.created",
            r#"{"orderId":"ord_1","status":"created"}"#,
        );
        let first = tokio::spawn(post("evt_slow", created.clone()));
        tokio::time::timeout(Duration::from_secs(10), async {
            while stats.handled.load(Ordering::SeqCst) == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the handler did its work");
        assert!(!first.is_finished(), "the answer came before the delay");
        first.abort();
        assert!(
            !guard.is_done("evt_slow"),
            "committed before the handler answered"
        );
        tokio::time::timeout(Duration::from_secs(10), async {
            while !guard.is_done("evt_slow") {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the handler the sender gave up on finished");
        let retry = post("evt_slow", created).await.unwrap();
        assert_eq!(retry.status(), OK);
        let body = http_body_util::BodyExt::collect(retry.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(&body[..], br#"{"duplicate":true}"#);
        assert_eq!(stats.processed.load(Ordering::SeqCst), 1);

        // JSON that does not fit the Petstore's orders: a dead letter.
        let poison = event(
            "evt_poison",
            "order.created",
            r#"{"orderId":7,"status":"created"}"#,
        );
        assert_eq!(post("evt_poison", poison.clone()).await.unwrap().status(), OK);
        let letters = dead_letters.letters();
        assert_eq!(letters.len(), 1);
        assert_eq!(
            (letters[0].id(), letters[0].body()),
            ("evt_poison", &Bytes::from(poison))
        );

        // One more in progress at shutdown: drained, committed.
        let late = event(
            "evt_drained",
            "order.completed",
            // The article's `order.completed` data, verbatim.
            r#"{"orderId":"123","status":"completed","completedAt":"2024-01-01T12:00:00Z"}"#,
        );
        let in_progress = tokio::spawn(post("evt_drained", late));
        tokio::time::timeout(Duration::from_secs(10), async {
            while shutdown.in_progress() == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the delivery started");
        let drained = shutdown.drain(Duration::from_secs(10)).await;
        assert_eq!((drained.completed, drained.cancelled), (1, 0));
        assert!(guard.is_done("evt_drained"));
        assert_eq!(in_progress.await.unwrap().unwrap().status(), OK);
        server.abort();
    })
    .await
    .expect("test finished within its bound");
}

#[tokio::test]
async fn asymmetric_and_new_schemes_receive_what_the_example_sender_signs() {
    use tower_webhook::testing::preset;
    let keys = |name: &str| (preset(name).unwrap().test_keys)();
    let (whpk, whsk) = keys("standard-webhooks-v1a");
    let (discord_public, discord_private) = keys("discord-ed25519");
    let (sendgrid_public, sendgrid_private) = keys("sendgrid-ecdsa");
    let whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned();
    let cases = [
        (
            "standard",
            whpk.clone(),
            whsk.clone(),
            event("evt_v1a", "user.created", "{}"),
        ),
        (
            "standard",
            whsec.clone(),
            whsec.clone(),
            event("evt_v1", "user.created", "{}"),
        ),
        (
            "discord",
            discord_public,
            discord_private,
            r#"{"id":"i-1","type":2}"#.to_owned(),
        ),
        (
            "sendgrid",
            sendgrid_public,
            sendgrid_private,
            r#"[{"event":"delivered"}]"#.to_owned(),
        ),
        (
            "zoom",
            SECRET.to_owned(),
            SECRET.to_owned(),
            r#"{"event":"meeting.started"}"#.to_owned(),
        ),
        (
            "twitch",
            SECRET.to_owned(),
            SECRET.to_owned(),
            r#"{"subscription":{"type":"x"}}"#.to_owned(),
        ),
    ];
    tokio::time::timeout(BOUND, async {
        for (scheme, receiver_key, sender_key, body) in cases {
            let running =
                Running::start(&[("WEBHOOK_SCHEME", scheme), ("WEBHOOK_SECRET", &receiver_key)]).await;
            let sender = Sender::new(scheme, &sender_key, 0);
            let (statuses, _) = sender.deliver(&running.url, "evt-e2e", &body).await;
            assert_eq!(statuses, [OK], "{scheme}");
            assert_eq!(running.processed(), 1, "{scheme}");
            // A forger's key is refused.
            let forger_key = preset(match scheme {
                "standard" if sender_key.starts_with("whsk_") => "standard-webhooks-v1a",
                "standard" => "standard-webhooks",
                "discord" => "discord-ed25519",
                "sendgrid" => "sendgrid-ecdsa",
                "twitch" => "twitch-eventsub",
                other => other,
            })
            .unwrap()
            .forger_key;
            let forger = Sender::new(scheme, forger_key, 0);
            let (statuses, _) = forger.deliver(&running.url, "evt-e2e-2", &body).await;
            assert_eq!(statuses, [StatusCode::UNAUTHORIZED], "{scheme}");
            running.stop().await;
        }
    })
    .await
    .expect("within the bound");

    // `standard` takes whsec_ secrets and whpk_ keys mixed, side by side.
    let mixed = receiver::scheme_at("standard", &[whsec, whpk], Duration::from_secs(300), None);
    assert!(mixed.is_ok());
}

#[test]
fn url_signed_schemes_need_a_public_url_and_asymmetric_ones_a_key() {
    let lookup = |vars: &'static [(&'static str, &'static str)]| {
        Config::from_lookup(move |name| Ok(vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())))
    };
    for (vars, mentions) in [
        (
            &[
                ("WEBHOOK_SCHEME", "twilio"),
                ("WEBHOOK_SECRET", "0123456789abcdef0123456789abcdef"),
            ][..],
            "PUBLIC_URL",
        ),
        (
            &[
                ("WEBHOOK_SCHEME", "twilio"),
                ("WEBHOOK_SECRET", "0123456789abcdef0123456789abcdef"),
                ("PUBLIC_URL", "hooks.example.com"),
            ][..],
            "PUBLIC_URL",
        ),
        (&[("WEBHOOK_SCHEME", "discord")][..], "WEBHOOK_SECRET"),
        (
            &[("WEBHOOK_SCHEME", "discord"), ("WEBHOOK_SECRET", "abcd")][..],
            "WEBHOOK_SECRET",
        ),
        (
            &[("WEBHOOK_SCHEME", "sendgrid"), ("WEBHOOK_SECRET", "whpk_x")][..],
            "WEBHOOK_SECRET",
        ),
        (
            &[("WEBHOOK_SCHEME", "standard"), ("WEBHOOK_SECRET", "whpk_AAAA")][..],
            "WEBHOOK_SECRET",
        ),
    ] {
        let error = lookup(vars).unwrap_err();
        assert!(error.contains(mentions), "{vars:?}: {error}");
        assert!(!error.contains('\n'), "{error}");
    }
    let twilio = lookup(&[
        ("WEBHOOK_SCHEME", "twilio"),
        ("WEBHOOK_SECRET", "0123456789abcdef0123456789abcdef"),
        ("PUBLIC_URL", "https://hooks.example.com/twilio"),
    ]);
    assert!(twilio.is_ok());
}

#[tokio::test]
async fn svix_senders_polar_and_url_signed_schemes_receive_what_the_example_sender_signs() {
    use tower_webhook::testing::preset;
    // What `send::signer` signs for URL-signed schemes.
    const SIGNED_URL: &str = "http://127.0.0.1:3000/webhooks";
    let whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let polar = "polar_whs_e2eSecret0123456789abcdef";
    let cases: [(&str, &str, &str, &str); 6] = [
        ("clerk", "clerk", whsec, r#"{"type":"user.created","data":{}}"#),
        ("resend", "resend", whsec, r#"{"type":"email.sent","data":{}}"#),
        (
            "replicate",
            "replicate",
            whsec,
            r#"{"id":"p1","status":"succeeded"}"#,
        ),
        ("polar", "polar", polar, r#"{"type":"order.paid","data":{}}"#),
        (
            "square",
            "square",
            SECRET,
            r#"{"event_id":"sq-1","type":"payment.updated"}"#,
        ),
        (
            "hubspot",
            "hubspot-v3",
            SECRET,
            r#"[{"eventId":1,"subscriptionType":"contact.creation"}]"#,
        ),
    ];
    tokio::time::timeout(BOUND, async {
        for (scheme, registry, key, body) in cases {
            let running = Running::start(&[
                ("WEBHOOK_SCHEME", scheme),
                ("WEBHOOK_SECRET", key),
                ("PUBLIC_URL", SIGNED_URL),
            ])
            .await;
            let sender = Sender::new(scheme, key, 0);
            let (statuses, _) = sender.deliver(&running.url, "evt-e2e-c", body).await;
            assert_eq!(statuses, [StatusCode::OK], "{scheme}");
            assert_eq!(running.processed(), 1, "{scheme}");
            let forger = Sender::new(scheme, preset(registry).unwrap().forger_key, 0);
            let (statuses, _) = forger.deliver(&running.url, "evt-e2e-c-2", body).await;
            assert_eq!(statuses, [StatusCode::UNAUTHORIZED], "{scheme}");
            assert_eq!(running.processed(), 1, "{scheme}");
            running.stop().await;
        }
    })
    .await
    .expect("within the bound");

    // Without PUBLIC_URL the URL-signed ones refuse to start, in one line.
    for scheme in ["square", "hubspot"] {
        let vars = [("WEBHOOK_SCHEME", scheme), ("WEBHOOK_SECRET", SECRET)];
        let error =
            Config::from_lookup(|name| Ok(vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())))
                .unwrap_err();
        assert!(
            error.contains("PUBLIC_URL") && !error.contains('\n'),
            "{scheme}: {error}"
        );
    }
}

#[test]
fn tolerance_secs_reaches_the_tight_and_the_body_timestamped_presets() {
    use tower_webhook::testing::{Sign as _, VerifyHeaders as _};
    let secret = "paddle receiver secret 0123456789".to_owned();
    let at = |secs: i64| std::time::UNIX_EPOCH + Duration::from_secs(secs as u64);
    let body = br#"{"event_id":"evt_1","event_type":"transaction.paid"}"#;
    let headers = tower_webhook::scheme::Paddle::new(tower_webhook::Secret::new(&secret).unwrap())
        .sign_headers(body, "", 1_700_000_000);
    for (tolerance, accepted) in [(5, false), (60, true)] {
        let scheme = receiver::scheme(
            "paddle",
            std::slice::from_ref(&secret),
            Duration::from_secs(tolerance),
        )
        .unwrap();
        let ten_seconds_late = scheme.verify_headers(&headers, body, at(1_700_000_010));
        assert_eq!(
            ten_seconds_late.is_ok(),
            accepted,
            "paddle with {tolerance} s: {ten_seconds_late:?}"
        );
    }
    let linear = receiver::scheme("linear", std::slice::from_ref(&secret), Duration::from_secs(120)).unwrap();
    let body = br#"{"type":"Issue","webhookTimestamp":1700000000000}"#;
    let mut headers = tower_webhook::scheme::Linear::new(tower_webhook::Secret::new(&secret).unwrap())
        .sign_headers(body, "d1", 0);
    headers.insert("linear-delivery", "d1".parse().unwrap());
    assert!(linear.verify_headers(&headers, body, at(1_700_000_090)).is_ok());
    for name in ["calendly", "mux", "pagerduty", "razorpay", "coinbase", "mailgun"] {
        assert!(
            receiver::scheme(name, std::slice::from_ref(&secret), Duration::from_secs(300)).is_ok(),
            "{name}"
        );
        assert_eq!(receiver::scheme_label(name), name);
    }
}

#[test]
fn without_tolerance_secs_each_preset_keeps_its_own_default() {
    use tower_webhook::testing::{Sign as _, VerifyHeaders as _};
    let secret = "paddle receiver secret 0123456789".to_owned();
    let at = |secs: i64| std::time::UNIX_EPOCH + Duration::from_secs(secs as u64);
    // Paddle's own 5 s, past only: 4 s late passes, 10 s late does not.
    let body = br#"{"event_id":"evt_1","event_type":"transaction.paid"}"#;
    let headers = tower_webhook::scheme::Paddle::new(tower_webhook::Secret::new(&secret).unwrap())
        .sign_headers(body, "", 1_700_000_000);
    let paddle = receiver::scheme("paddle", std::slice::from_ref(&secret), None).unwrap();
    assert!(paddle.verify_headers(&headers, body, at(1_700_000_004)).is_ok());
    assert!(paddle.verify_headers(&headers, body, at(1_700_000_010)).is_err());
    // Linear's own 60 s: 90 s late is refused.
    let body = br#"{"type":"Issue","webhookTimestamp":1700000000000}"#;
    let mut headers = tower_webhook::scheme::Linear::new(tower_webhook::Secret::new(&secret).unwrap())
        .sign_headers(body, "d1", 0);
    headers.insert("linear-delivery", "d1".parse().unwrap());
    let linear = receiver::scheme("linear", std::slice::from_ref(&secret), None).unwrap();
    assert!(linear.verify_headers(&headers, body, at(1_700_000_030)).is_ok());
    assert!(linear.verify_headers(&headers, body, at(1_700_000_090)).is_err());
}

/// What the example sender sends by default for each scheme: the public URL
/// URL-signed schemes sign (the receiver's `PUBLIC_URL`, the sender's
/// `--public-url`), as behind a tunnel.
const PUBLIC_URL: &str = "https://hooks.example.com/webhooks";

/// Schemes that key the replay guard on the verified signature over a
/// timestamp the sender sets at each attempt: a redelivery signed a second
/// later is a new request, not a duplicate (within the same second it is).
const KEYED_ON_A_FRESHLY_SIGNED_MAC: &[&str] = &["zoom", "calendly", "hubspot", "sendgrid"];

/// Every scheme the example receiver takes, sent what `cargo run --example
/// send -- --scheme NAME --secret KEY` sends by default (the provider's
/// documented sample where `Sample::for_scheme` has one, else the article's
/// event), over 127.0.0.1: accepted with a 2xx and handled once; the same
/// delivery sent again is acknowledged as a duplicate and not handled again,
/// except for schemes keyed on a MAC over the attempt's own timestamp, where
/// it is one or the other consistently.
#[tokio::test]
async fn send_default_delivery_for_every_receiver_scheme_is_handled_once_and_its_redelivery_acknowledged() {
    use tower_webhook::testing::preset;
    let keys = |registry: &str| (preset(registry).unwrap().test_keys)();
    let whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned();
    let schemes: Vec<&str> = receiver::SCHEMES.split(", ").collect();
    assert!(schemes.len() >= 33, "{schemes:?}");
    assert_eq!(
        send::SCHEMES,
        receiver::SCHEMES,
        "send takes every scheme the receiver does"
    );
    let mut failures = Vec::new();
    tokio::time::timeout(Duration::from_secs(120), async {
        for scheme in schemes {
            // The receiver's key, and what `send` is given: the same secret,
            // or for asymmetric schemes the matching private key.
            let (receiver_key, sender_key) = match scheme {
                "standard" | "svix" | "clerk" | "resend" | "replicate" => (whsec.clone(), whsec.clone()),
                "polar" => keys("polar"),
                "discord" => keys("discord-ed25519"),
                "sendgrid" => keys("sendgrid-ecdsa"),
                _ => (SECRET.to_owned(), SECRET.to_owned()),
            };
            let running = Running::start(&[
                ("WEBHOOK_SCHEME", scheme),
                ("WEBHOOK_SECRET", &receiver_key),
                ("PUBLIC_URL", PUBLIC_URL),
            ])
            .await;
            let args = [
                "--url",
                &running.url.to_string(),
                "--scheme",
                scheme,
                "--secret",
                &sender_key,
                "--public-url",
                PUBLIC_URL,
            ];
            let options = send::Options::parse(args.iter().map(|a| a.to_string()), None).unwrap();
            let signer = options.signer().unwrap();
            let body = options.body();
            let schedule = send::Schedule {
                retries: Vec::new(),
                timeout: Duration::from_secs(5),
            };
            let client = send::client();
            let mut answers = Vec::new();
            for _ in 0..2 {
                let mut answer = None;
                let _ = send::deliver(
                    &client,
                    &*signer,
                    &options.url,
                    &options.id,
                    &body,
                    &schedule,
                    |attempt| answer = Some(attempt.outcome.clone()),
                )
                .await;
                answers.push((answer.expect("one attempt"), running.handled()));
            }
            running.stop().await;

            let what = match &options.sample {
                Some(_) => "its documented sample",
                None => "the article's event",
            };
            let duplicate = &br#"{"duplicate":true}"#[..];
            let [(first, handled_first), (second, handled_second)] = &answers[..] else {
                unreachable!("two deliveries")
            };
            let ok = match (first, second) {
                (Ok((s1, _)), Ok((s2, b2))) if s1.is_success() && s2.is_success() && *handled_first == 1 => {
                    if KEYED_ON_A_FRESHLY_SIGNED_MAC.contains(&scheme) {
                        (&b2[..] == duplicate) == (*handled_second == 1)
                    } else {
                        &b2[..] == duplicate && *handled_second == 1
                    }
                }
                _ => false,
            };
            if !ok {
                failures.push(format!(
                    "{scheme} ({what}): first {first:?}, handled {handled_first}; redelivery {second:?}, handled {handled_second}"
                ));
            }
        }
    })
    .await
    .expect("within the bound");
    assert!(
        failures.is_empty(),
        "send's default delivery is not handled once by the receiver:\n{}",
        failures.join("\n")
    );
}
