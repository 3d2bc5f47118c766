//! Log lines that matter for safety: a flood of forged requests must not
//! write a `warn` line each, and a guessable secret must. Each test installs
//! its own capturing subscriber for its thread only.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tower::{service_fn, ServiceBuilder, ServiceExt};
use tower_webhook::scheme::Spec;
use tower_webhook::{Secret, WebhookLayer};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// Counts the layer's "webhook rejected" lines per level, and keeps the
/// `held_back` counts the `warn` lines carry.
#[derive(Clone, Default)]
struct Counter {
    warn: Arc<AtomicUsize>,
    debug: Arc<AtomicUsize>,
    held_back: Arc<Mutex<Vec<u64>>>,
}

#[derive(Default)]
struct Fields {
    rejected: bool,
    held_back: Option<u64>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" && format!("{value:?}").starts_with("webhook rejected") {
            self.rejected = true;
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "held_back" {
            self.held_back = Some(value);
        }
    }
}

impl<S: Subscriber> Layer<S> for Counter {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        if !fields.rejected {
            return;
        }
        match *event.metadata().level() {
            Level::WARN => {
                self.warn.fetch_add(1, Ordering::SeqCst);
                self.held_back.lock().unwrap().push(fields.held_back.unwrap_or(0));
            }
            Level::DEBUG => {
                self.debug.fetch_add(1, Ordering::SeqCst);
            }
            _ => {}
        }
    }
}

fn petstore() -> Spec {
    Spec::petstore(Secret::new("petstore secret for the log test").unwrap())
}

fn forged(n: usize) -> Request<Full<Bytes>> {
    let body = format!(r#"{{"id":"evt_{n}","type":"order.created","data":{{}}}}"#);
    Request::post("/webhooks")
        .header("x-petstore-signature", "00".repeat(32))
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

fn unsigned(n: usize) -> Request<Full<Bytes>> {
    let body = format!(r#"{{"id":"evt_{n}","type":"order.created","data":{{}}}}"#);
    Request::post("/webhooks")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn a_thousand_forged_requests_write_one_warn_line_per_kind() {
    let counter = Counter::default();
    let subscriber = tracing_subscriber::registry().with(counter.clone());
    let _default = tracing::subscriber::set_default(subscriber);

    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let service = ServiceBuilder::new()
        // An interval longer than the test can take: the count does not
        // depend on how fast the requests go.
        .layer(WebhookLayer::new(petstore()).rejection_log_interval(Duration::from_secs(3600)))
        .service(service_fn(move |_: Request<Full<Bytes>>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::new()))) }
        }));

    for n in 0..1000 {
        let response = service.clone().oneshot(forged(n)).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    for n in 0..1000 {
        let response = service.clone().oneshot(unsigned(n)).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // One warn line per kind (signature mismatch, signature missing); every
    // other rejection is still logged, at debug.
    assert_eq!(counter.warn.load(Ordering::SeqCst), 2);
    assert_eq!(counter.debug.load(Ordering::SeqCst), 1998);

    // With a zero interval every rejection warns, as before.
    let every = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()).rejection_log_interval(Duration::ZERO))
        .service(service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::new())))
        }));
    for n in 0..10 {
        every.clone().oneshot(forged(n)).await.unwrap();
    }
    assert_eq!(counter.warn.load(Ordering::SeqCst), 12);
    assert!(counter.held_back.lock().unwrap().iter().all(|&n| n == 0));
}

/// Counts `warn` lines whose message starts with `prefix`.
#[derive(Clone)]
struct Warnings {
    prefix: &'static str,
    count: Arc<AtomicUsize>,
    leaked: Arc<AtomicUsize>,
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, _: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{value:?} "));
    }
}

impl<S: Subscriber> Layer<S> for Warnings {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut message = Message(String::new());
        event.record(&mut message);
        if *event.metadata().level() == Level::WARN && message.0.contains(self.prefix) {
            self.count.fetch_add(1, Ordering::SeqCst);
        }
        if message.0.contains("shortkey") {
            self.leaked.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[test]
fn a_secret_under_16_bytes_is_warned_about_without_showing_it() {
    let warnings = Warnings {
        prefix: "webhook secret shorter than the minimum",
        count: Arc::default(),
        leaked: Arc::default(),
    };
    let _default = tracing::subscriber::set_default(tracing_subscriber::registry().with(warnings.clone()));

    assert_eq!(Secret::MIN_LEN, 16);
    let short = Secret::new("shortkey").unwrap();
    assert_eq!(short.len(), 8);
    assert_eq!(warnings.count.load(Ordering::SeqCst), 1);
    let _ = Secret::new("x").unwrap();
    let _ = Secret::from_base64("c2hvcnQ=").unwrap();
    assert_eq!(warnings.count.load(Ordering::SeqCst), 3);
    // 16 bytes and more: no warning.
    let _ = Secret::new("sixteen bytes ok").unwrap();
    let _ = Secret::new("correct horse battery staple").unwrap();
    assert_eq!(warnings.count.load(Ordering::SeqCst), 3);
    assert_eq!(
        warnings.leaked.load(Ordering::SeqCst),
        0,
        "a log line showed the secret"
    );
}
