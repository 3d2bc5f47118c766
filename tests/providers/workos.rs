//! WorkOS: `WorkOS-Signature: t=<ms>, v1=<hex>` over `{t}.{body}`.

use http::HeaderMap;
use tower_webhook::scheme::WorkOS;
use tower_webhook::testing::{Sign, VerifyHeaders as _};
use tower_webhook::{Rejection, Secret};

use crate::at;
use crate::support::{fixture, sdk_cases_verify_and_fail_once_changed};

const FIXTURE: &str = include_str!("../fixtures/providers/workos.json");

#[test]
fn sdk_signed_deliveries_verify_and_fail_once_changed() {
    assert_eq!(sdk_cases_verify_and_fail_once_changed(FIXTURE), 1);
}

#[test]
fn reads_the_header_with_or_without_the_space_after_the_comma() {
    let case = &fixture(FIXTURE).cases[0];
    let mut headers = case.headers();
    let spaced = headers["workos-signature"].to_str().unwrap().to_owned();
    assert!(spaced.contains(", v1="), "the SDK writes `, v1=`");
    headers.insert("workos-signature", spaced.replace(", ", ",").parse().unwrap());
    assert!(case.verify(&headers, case.body.as_bytes()).is_ok());
    headers.insert("workos-signature", spaced.replace(", ", " ,\t ").parse().unwrap());
    assert!(case.verify(&headers, case.body.as_bytes()).is_ok());
}

#[test]
fn refuses_a_timestamp_beyond_three_minutes_either_way() {
    let case = &fixture(FIXTURE).cases[0];
    let scheme = case.scheme();
    let headers = case.headers();
    // Signed at 1_700_000_000.123 s.
    let verify = |secs| scheme.verify_headers(&headers, case.body.as_bytes(), at(secs));
    assert!(verify(1_700_000_000 + 180).is_ok());
    assert_eq!(
        verify(1_700_000_000 + 181),
        Err(Rejection::TimestampTooOld { age_secs: 181 })
    );
    assert!(verify(1_700_000_000 - 180).is_ok());
    assert_eq!(
        verify(1_700_000_000 - 181),
        Err(Rejection::TimestampTooNew { ahead_secs: 181 })
    );
}

#[test]
fn its_signer_writes_what_it_verifies() {
    let workos = WorkOS::new(Secret::new("workos secret").unwrap());
    let body = br#"{"id":"event_01","event":"dsync.user.created","data":{}}"#;
    let headers: HeaderMap = workos.sign_headers(body, "event_01", 1_700_000_000);
    let delivery = workos.verify_headers(&headers, body, at(1_700_000_000)).unwrap();
    assert_eq!(delivery.id(), "event_01");
    assert_eq!(delivery.event_type(), Some("dsync.user.created"));
    let other = WorkOS::new(Secret::new("another secret").unwrap());
    assert_eq!(
        other.verify_headers(&headers, body, at(1_700_000_000)),
        Err(Rejection::SignatureMismatch)
    );
}
