//! Paddle Billing: `Paddle-Signature: ts=..;h1=..` over `{ts}:{body}`.

use super::*;
use crate::support::sdk_cases_verify_and_fail_once_changed;
use tower_webhook::scheme::Paddle;

/// paddle-node-sdk's test: valid at its clock, and through +5 s only.
#[test]
fn paddle_refuses_six_seconds_by_default_and_the_tolerance_is_configurable() {
    let sig = "ts=1698796800;h1=a300428748dce5c70e4da19bffd60769591ea969c99dea3105d0ec9612cf43f9";
    let h = headers(&[("paddle-signature", sig)]);
    let body = br#"{"data": ["1", "2"]}"#;
    let paddle = Paddle::new(secret("VALID_SECRET"));
    // Verified; the SDK's body has no `event_id`.
    assert_eq!(
        paddle.verify_headers(&h, body, at(1698796805)),
        Err(Rejection::MissingEventId)
    );
    assert_eq!(
        paddle.verify_headers(&h, body, at(1698796806)),
        Err(Rejection::TimestampTooOld { age_secs: 6 })
    );
    let lenient = Paddle::new(secret("VALID_SECRET")).tolerance(Duration::from_secs(60));
    assert_eq!(
        lenient.verify_headers(&h, body, at(1698796806)),
        Err(Rejection::MissingEventId)
    );
    // Past only, as Paddle's SDK: a timestamp ahead of the clock passes.
    assert_eq!(
        paddle.verify_headers(&h, body, at(1698796000)),
        Err(Rejection::MissingEventId)
    );
}

#[test]
fn paddle_accepts_any_h1_and_ignores_h2() {
    let paddle = Paddle::new(secret("pdl_ntfset_registry"));
    let body = br#"{"event_id":"evt_1","event_type":"transaction.paid"}"#;
    let good = paddle.spec().signature_value(body, "", T);
    let h1 = good.split(';').nth(1).unwrap();
    let value = format!("ts={T};h2={};h1={};{h1}", "ab".repeat(32), "00".repeat(32));
    let delivery = paddle
        .verify_headers(&headers(&[("paddle-signature", &value)]), body, at(T))
        .unwrap();
    assert_eq!(delivery.id(), "evt_1");
    assert_eq!(delivery.event_type(), Some("transaction.paid"));
}

/// Accepted by the provider's npm SDK (the fixture's `how`).
#[test]
fn sdk_accepted_deliveries_verify_and_fail_once_changed() {
    assert_eq!(
        sdk_cases_verify_and_fail_once_changed(include_str!("../fixtures/providers/paddle-billing.json")),
        1
    );
}
