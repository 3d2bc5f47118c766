//! Notion: `X-Notion-Signature: sha256=<hex>` over the body, keyed with the
//! subscription's verification token.

use http::StatusCode;
use tower_webhook::Rejection;

use crate::support::{fixture, sdk_cases_verify_and_fail_once_changed};

const FIXTURE: &str = include_str!("../fixtures/providers/notion.json");

#[test]
fn computed_deliveries_verify_and_fail_once_changed() {
    assert_eq!(sdk_cases_verify_and_fail_once_changed(FIXTURE), 1);
}

#[test]
fn refuses_the_unsigned_verification_request_with_401() {
    let case = &fixture(FIXTURE).cases[0];
    let body = format!(r#"{{"verification_token":"{}"}}"#, case.secret);
    let refused = case.verify(&http::HeaderMap::new(), body.as_bytes()).unwrap_err();
    assert!(
        matches!(refused, Rejection::MissingSignature { .. }),
        "{refused:?}"
    );
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn wants_the_sha256_prefix() {
    let case = &fixture(FIXTURE).cases[0];
    let mut headers = case.headers();
    let bare = case.headers["X-Notion-Signature"]
        .trim_start_matches("sha256=")
        .to_owned();
    headers.insert("x-notion-signature", bare.parse().unwrap());
    let refused = case.verify(&headers, case.body.as_bytes()).unwrap_err();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{refused:?}");
}
