//! With no `tracing` subscriber set at all, tracing hands the delivery
//! span's records to the `log` crate (its `log` feature is on through
//! axum): the layer keeps recording the steps' fields there, as it did
//! before it skipped recording into disabled spans. A test binary of its own,
//! so that no test sets a subscriber.

use std::sync::Mutex;

use axum::body::Body;
use axum::routing::post;
use axum::Router;
use http::StatusCode;
use tower::ServiceExt;
use tower_webhook::observe::{Observer, Report};
use tower_webhook::scheme::Spec;
use tower_webhook::testing::signed_request;
use tower_webhook::{Secret, WebhookLayer};

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        LINES.lock().unwrap().push(record.args().to_string());
    }

    fn flush(&self) {}
}

/// An observer, so that the layer tracks the delivery's steps.
struct Nothing;

impl Observer for Nothing {
    fn delivery(&self, _: &Report<'_>) {}
}

#[tokio::test]
async fn span_records_reach_log_without_a_subscriber() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    assert!(!tracing::dispatcher::has_been_set());

    let scheme = Spec::petstore(Secret::new("petstore secret").unwrap());
    let app = Router::new().route(
        "/webhooks",
        post(|| async { StatusCode::OK }).layer(WebhookLayer::new(scheme.clone()).observer(Nothing)),
    );
    let body = r#"{"id":"evt_log_1","type":"order.created","data":{}}"#;
    let response = app
        .oneshot(signed_request::<Body>(&scheme, body, "evt_log_1"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let lines = LINES.lock().unwrap().clone();
    let recorded = |field: &str| {
        lines
            .iter()
            .any(|line| line.starts_with("webhook;") && line.contains(field))
    };
    assert!(recorded("event_id=\"evt_log_1\""), "{lines:#?}");
    assert!(recorded("guard_us="), "{lines:#?}");
    assert!(recorded("outcome=\"processed\""), "{lines:#?}");
}
