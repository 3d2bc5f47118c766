//! Shopify: `X-Shopify-Hmac-Sha256: <base64>` over the body.

use super::*;

const BODY: &[u8] = br#"{"id":820982911946154508,"email":"jon@example.com","total_price":"403.00"}"#;

fn shopify() -> Shopify {
    Shopify::new(secret("shpss_0123456789abcdef0123456789abcdef"))
}

fn signed(scheme: &Shopify, body: &[u8]) -> HeaderMap {
    let mut headers = scheme.sign_headers(body, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", T);
    set(&mut headers, "x-shopify-topic", "orders/create");
    headers
}

#[test]
fn accepts_a_signed_delivery_with_id_and_topic_from_headers() {
    let delivery = shopify()
        .verify_headers(&signed(&shopify(), BODY), BODY, at(T))
        .unwrap();
    assert_eq!(delivery.id(), "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
    assert_eq!(delivery.event_type(), Some("orders/create"));
    // The id alone keys the replay guard: two events with the same body are two events.
    assert_eq!(delivery.replay_keys().count(), 1);
}

#[test]
fn reads_header_names_in_any_case() {
    let mut headers = HeaderMap::new();
    for (name, value) in &signed(&shopify(), BODY) {
        let shouted = HeaderName::from_bytes(name.as_str().to_uppercase().as_bytes()).unwrap();
        headers.insert(shouted, value.clone());
    }
    assert!(shopify().verify_headers(&headers, BODY, at(T)).is_ok());
}

#[test]
fn rejects_a_signature_by_another_secret() {
    let forger = Shopify::new(secret("shpss_other"));
    assert_eq!(
        shopify().verify_headers(&signed(&forger, BODY), BODY, at(T)),
        Err(Rejection::SignatureMismatch)
    );
}

#[test]
fn rejects_a_tampered_body() {
    let tampered = br#"{"id":820982911946154508,"email":"jon@example.com","total_price":"0.00"}"#;
    assert_eq!(
        shopify().verify_headers(&signed(&shopify(), BODY), tampered, at(T)),
        Err(Rejection::SignatureMismatch)
    );
}

#[test]
fn has_no_timestamp_so_the_clock_does_not_matter() {
    let headers = signed(&shopify(), BODY);
    for now in [UNIX_EPOCH, at(T + 86_400 * 365)] {
        assert!(shopify().verify_headers(&headers, BODY, now).is_ok());
    }
}

#[test]
fn rejects_malformed_and_missing_headers_with_their_status() {
    let good = shopify().spec().signature_value(BODY, "", 0);
    let hex = "ab".repeat(32);
    let cases: [(&str, Option<&str>, StatusCode); 6] = [
        ("not base64", Some("!!!!"), StatusCode::UNAUTHORIZED),
        ("hex instead of base64", Some(&hex), StatusCode::UNAUTHORIZED),
        ("truncated", Some(&good[..20]), StatusCode::UNAUTHORIZED),
        ("unpadded", Some(good.trim_end_matches('=')), StatusCode::OK),
        ("absent", None, StatusCode::UNAUTHORIZED),
        ("good", Some(&good), StatusCode::OK),
    ];
    for (what, value, expected) in cases {
        let mut headers = signed(&shopify(), BODY);
        headers.remove("x-shopify-hmac-sha256");
        if let Some(value) = value {
            set(&mut headers, "x-shopify-hmac-sha256", value);
        }
        assert_eq!(
            status(shopify().verify_headers(&headers, BODY, at(T))),
            expected,
            "{what}"
        );
    }
    let mut headers = signed(&shopify(), BODY);
    headers.remove("x-shopify-webhook-id");
    set(&mut headers, "x-shopify-event-id", "e-7");
    // The event id alone is not the default key: `X-Shopify-Webhook-Id` is.
    assert_eq!(
        shopify().verify_headers(&headers, BODY, at(T)),
        Err(Rejection::MissingHeader {
            name: HeaderName::from_static("x-shopify-webhook-id")
        })
    );
    set(&mut headers, "x-shopify-webhook-id", "w-7");
    assert_eq!(
        shopify().verify_headers(&headers, BODY, at(T)).unwrap().id(),
        "w-7"
    );
}

#[test]
fn accepts_either_secret_during_rotation() {
    let both = Shopify::new(Secrets::new(secret("old")).with(secret("new")));
    for signer in [Shopify::new(secret("old")), Shopify::new(secret("new"))] {
        assert!(both.verify_headers(&signed(&signer, BODY), BODY, at(T)).is_ok());
    }
}
