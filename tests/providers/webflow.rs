//! Webflow: `x-webflow-signature` over `{x-webflow-timestamp}:{body}`.

use tower_webhook::testing::VerifyHeaders as _;
use tower_webhook::Rejection;

use crate::at;
use crate::support::{fixture, sdk_cases_verify_and_fail_once_changed};

const FIXTURE: &str = include_str!("../fixtures/providers/webflow.json");

#[test]
fn sdk_accepted_deliveries_verify_and_fail_once_changed() {
    assert_eq!(sdk_cases_verify_and_fail_once_changed(FIXTURE), 1);
}

#[test]
fn the_timestamp_is_signed_and_checked_for_five_minutes() {
    let case = &fixture(FIXTURE).cases[0];
    let scheme = case.scheme();
    let mut headers = case.headers();
    let verify = |headers: &_, secs| scheme.verify_headers(headers, case.body.as_bytes(), at(secs));
    assert!(verify(&headers, 1_700_000_300).is_ok());
    assert_eq!(
        verify(&headers, 1_700_000_301),
        Err(Rejection::TimestampTooOld { age_secs: 301 })
    );
    headers.insert("x-webflow-timestamp", "1700000000457".parse().unwrap());
    assert_eq!(verify(&headers, 1_700_000_000), Err(Rejection::SignatureMismatch));
    headers.remove("x-webflow-timestamp");
    assert!(matches!(
        verify(&headers, 1_700_000_000),
        Err(Rejection::MissingHeader { .. })
    ));
}
