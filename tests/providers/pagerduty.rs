//! PagerDuty v3: `X-PagerDuty-Signature: v1=<hex>` over the body.

use super::*;
use tower_webhook::scheme::PagerDuty;

/// go-pagerduty's official negative, and its secret used as ASCII (decoding
/// it as base64 would give another key).
#[test]
fn pagerduty_refuses_the_official_negative_and_a_decoded_secret() {
    let body = br#"{"event":{"id":"01BWDWL3NYY7LUFPZCC28QUCMK","event_type":"incident.priority_updated"}}"#;
    let secret_text = "lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK";
    let ours = "v1=2d04311cd37ab8f30b1cea722e0d54d07addb0f55a3f810afaff5f2f62f75e1a";
    let negative = "v1=7020c8a7ec668a9b7012bc3dd82e483394b038f4230acc6785efbf2a7d8bcaf5";
    let pagerduty = PagerDuty::new(secret(secret_text));
    let delivery = pagerduty
        .verify_headers(&headers(&[("x-pagerduty-signature", ours)]), body, at(T))
        .unwrap();
    assert_eq!(delivery.id(), "01BWDWL3NYY7LUFPZCC28QUCMK");
    assert_eq!(
        pagerduty.verify_headers(&headers(&[("x-pagerduty-signature", negative)]), body, at(T)),
        Err(Rejection::SignatureMismatch)
    );
    // Entries of another version are ignored, as go-pagerduty does.
    let v2_only = format!("v2={}", &ours[3..]);
    assert!(matches!(
        pagerduty.verify_headers(&headers(&[("x-pagerduty-signature", &v2_only)]), body, at(T)),
        Err(Rejection::MalformedSignature { .. })
    ));
}
