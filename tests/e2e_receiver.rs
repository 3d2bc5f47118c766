//! End to end over 127.0.0.1: the example receiver's router on an ephemeral
//! port, driven by the example sender's retrying delivery. Every request has
//! a timeout, every test a bound, and the server is shut down at the end.

#[allow(dead_code)]
#[path = "../examples/receiver.rs"]
mod receiver;
#[allow(dead_code)]
#[path = "../examples/send.rs"]
mod send;

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
        let receiver::Receiver { router, guard, stats } = receiver::receiver(&config).unwrap();
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let url = format!("http://{}/webhooks", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
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

const SECRET: &str = "e2e secret";
const OK: StatusCode = StatusCode::OK;

#[tokio::test]
async fn receiver_handles_once_acknowledges_duplicates_and_survives_an_outage() {
    tokio::time::timeout(BOUND, async {
        let server = Running::start(&[("WEBHOOK_SECRET", SECRET)]).await;
        let sender = Sender::new("petstore", SECRET, 3);
        let url = &server.url;

        // A valid event is handled once.
        let created = event("evt_1", "order.created", r#"{"order_id":"ord_1"}"#);
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
        let completed = event("evt_2", "order.completed", r#"{"order_id":"ord_1"}"#);
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
        let broken = event("evt_4", "order.cancelled", r#"{"order_id":""}"#);
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

        let body = event("evt_1", "order.created", r#"{"order_id":"ord_1"}"#);
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
        let server = Running::start(&[("WEBHOOK_SECRET", "old secret, new secret")]).await;
        let body = |id: &str| event(id, "order.created", r#"{"order_id":"ord_1"}"#);

        for (n, secret) in ["old secret", "new secret"].into_iter().enumerate() {
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
        (&[("BIND", "localhost")][..], "BIND"),
        (&[("WEBHOOK_SCHEME", "smoke-signals")][..], "WEBHOOK_SCHEME"),
        (&[("WEBHOOK_SECRET", "")][..], "WEBHOOK_SECRET"),
        (&[("WEBHOOK_SECRET", "a,,b")][..], "WEBHOOK_SECRET"),
        (
            &[("WEBHOOK_SCHEME", "standard"), ("WEBHOOK_SECRET", "whsec_!!")][..],
            "WEBHOOK_SECRET",
        ),
    ] {
        let error = lookup(vars).unwrap_err();
        assert!(error.contains(mentions), "{vars:?}: {error}");
        assert!(!error.contains('\n'), "{error}");
    }
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
    assert_eq!(config.tolerance, Duration::from_secs(300));
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
            r#"{"order_id":"o9"}"#,
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
    assert_eq!(body["data"]["order_id"], "o9");

    // The secret falls back to the first of $WEBHOOK_SECRET.
    let options = send::Options::parse(args(&[]), Some("first, second".to_owned())).unwrap();
    assert_eq!(options.secret, "first");

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
            &[("WEBHOOK_SCHEME", "twilio"), ("WEBHOOK_SECRET", "token")][..],
            "PUBLIC_URL",
        ),
        (
            &[
                ("WEBHOOK_SCHEME", "twilio"),
                ("WEBHOOK_SECRET", "token"),
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
        ("WEBHOOK_SECRET", "token"),
        ("PUBLIC_URL", "https://hooks.example.com/twilio"),
    ]);
    assert!(twilio.is_ok());
}
