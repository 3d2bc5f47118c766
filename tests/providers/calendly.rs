//! Calendly: `Calendly-Webhook-Signature: t=..,v1=..` over `{t}.{body}`.

use super::*;
use tower_webhook::scheme::Calendly;

#[test]
fn calendly_checks_its_signed_timestamp() {
    let calendly = Calendly::new(secret("calendly signing key"));
    let body = br#"{"event":"invitee.created","payload":{}}"#;
    let h = calendly.sign_headers(body, "", T);
    let first = calendly.verify_headers(&h, body, at(T + 300)).unwrap();
    assert!(first.id().starts_with("sig:"));
    assert!(matches!(
        calendly.verify_headers(&h, body, at(T + 301)),
        Err(Rejection::TimestampTooOld { .. })
    ));
    assert!(calendly
        .clone()
        .tolerance(Duration::from_secs(600))
        .verify_headers(&h, body, at(T + 301))
        .is_ok());
}
