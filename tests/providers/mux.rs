//! Mux: `Mux-Signature: t=..,v1=..` over `{t}.{body}`.

use super::*;
use crate::support::sdk_cases_verify_and_fail_once_changed;
use tower_webhook::scheme::Mux;

#[test]
fn mux_checks_its_signed_timestamp() {
    let mux = Mux::new(secret("SuperSecret123"));
    let h = headers(&[(
        "mux-signature",
        "t=1565125718,v1=854ece4c22acef7c66b57d4e504153bc512595e8e9c772ece2a68150548c19a7",
    )]);
    // mux-elixir's own test: refused at real time.
    assert!(matches!(
        mux.verify_headers(&h, br#"{"test":"body"}"#, SystemTime::now()),
        Err(Rejection::TimestampTooOld { .. })
    ));
}

/// Signed by @mux/mux-node's own `computeSignature` (the fixture's `how`).
#[test]
fn sdk_signed_deliveries_verify_and_fail_once_changed() {
    assert_eq!(
        sdk_cases_verify_and_fail_once_changed(include_str!("../fixtures/providers/mux.json")),
        1
    );
}
