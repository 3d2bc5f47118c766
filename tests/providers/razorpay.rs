//! Razorpay: `X-Razorpay-Signature: <hex>` over the body.

use super::*;
use crate::support::sdk_cases_verify_and_fail_once_changed;
use tower_webhook::scheme::Razorpay;

/// razorpay-node's official negative signature `sdfafds`, and the
/// unsigned id header it requires.
#[test]
fn razorpay_refuses_the_official_negative_and_wants_its_event_id() {
    let razorpay = Razorpay::new(secret("123456"));
    let body = br#"{"a":1,"b":2,"c":{"d":3}}"#;
    let sig = "2fe04e22977002e6c7cb553adab8b460cb9e2a4970d5953cb27a8472752e3bbc";
    let without_id = razorpay.verify_headers(&headers(&[("x-razorpay-signature", sig)]), body, at(T));
    assert_eq!(
        without_id,
        Err(Rejection::MissingHeader {
            name: HeaderName::from_static("x-razorpay-event-id")
        })
    );
    let bad = headers(&[
        ("x-razorpay-signature", "sdfafds"),
        ("x-razorpay-event-id", "evt_1"),
    ]);
    assert!(razorpay.verify_headers(&bad, body, at(T)).is_err());
    // Rotation: the old secret still verifies retries of older events.
    let both = Razorpay::new(Secrets::new(secret("new secret")).with(secret("123456")));
    let ok = headers(&[("x-razorpay-signature", sig), ("x-razorpay-event-id", "evt_1")]);
    assert_eq!(both.verify_headers(&ok, body, at(T)).unwrap().id(), "evt_1");
}

/// Accepted by the provider's npm SDK (the fixture's `how`).
#[test]
fn sdk_accepted_deliveries_verify_and_fail_once_changed() {
    assert_eq!(
        sdk_cases_verify_and_fail_once_changed(include_str!("../fixtures/providers/razorpay.json")),
        1
    );
}
