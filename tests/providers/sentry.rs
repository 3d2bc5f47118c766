//! Sentry: `Sentry-Hook-Signature`, the hex HMAC-SHA256 of the body; the id
//! and the resource ride in unsigned headers.

use tower_webhook::Rejection;

use crate::support::{fixture, sdk_cases_verify_and_fail_once_changed};

const FIXTURE: &str = include_str!("../fixtures/providers/sentry.json");

#[test]
fn computed_deliveries_verify_and_fail_once_changed() {
    assert_eq!(sdk_cases_verify_and_fail_once_changed(FIXTURE), 1);
}

#[test]
fn needs_the_request_id_and_ignores_the_unsigned_timestamp() {
    let case = &fixture(FIXTURE).cases[0];
    let mut headers = case.headers();
    headers.insert("sentry-hook-timestamp", "1".parse().unwrap());
    assert!(case.verify(&headers, case.body.as_bytes()).is_ok());
    headers.remove("request-id");
    assert!(matches!(
        case.verify(&headers, case.body.as_bytes()),
        Err(Rejection::MissingHeader { .. })
    ));
}
