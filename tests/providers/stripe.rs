//! Stripe: `Stripe-Signature: t=..,v1=..` over `{t}.{body}`.

use super::*;

const BODY: &[u8] =
    br#"{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","data":{"object":{"id":"in_1"}},"type":"invoice.paid"}"#;

fn stripe() -> Stripe {
    Stripe::new(secret("whsec_test_secret"))
}

fn header(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    set(&mut headers, "stripe-signature", value);
    headers
}

fn v1(scheme: &Stripe, timestamp: i64, body: &[u8]) -> String {
    let signed = scheme.spec().signature_value(body, "", timestamp);
    signed.split(',').nth(1).unwrap().to_owned()
}

#[test]
fn accepts_a_signed_delivery_with_id_and_type_from_the_body() {
    let delivery = stripe()
        .verify_headers(
            &header(&stripe().spec().signature_value(BODY, "", T)),
            BODY,
            at(T),
        )
        .unwrap();
    assert_eq!(delivery.id(), "evt_1NG8Du2eZvKYlo2CUI79vXWy");
    assert_eq!(delivery.event_type(), Some("invoice.paid"));
    assert_eq!(delivery.timestamp(), Some(T));
    assert_eq!(delivery.replay_keys().count(), 1);
}

#[test]
fn keys_with_the_whole_whsec_string() {
    // The same secret read the Standard Webhooks way (base64 after
    // `whsec_`) signs differently; Stripe uses the text as written.
    let text = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let decoded = Stripe::new(StandardWebhooks::secret(text).unwrap());
    let headers = header(&decoded.spec().signature_value(BODY, "", T));
    assert_eq!(
        Stripe::new(secret(text)).verify_headers(&headers, BODY, at(T)),
        Err(Rejection::SignatureMismatch)
    );
}

#[test]
fn rejects_a_signature_by_another_secret() {
    let forger = Stripe::new(secret("whsec_other"));
    assert_eq!(
        stripe().verify_headers(&header(&forger.spec().signature_value(BODY, "", T)), BODY, at(T)),
        Err(Rejection::SignatureMismatch)
    );
}

#[test]
fn rejects_a_tampered_body_and_a_tampered_timestamp() {
    let tampered = br#"{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","data":{"object":{"id":"in_2"}},"type":"invoice.paid"}"#;
    assert_eq!(
        stripe().verify_headers(
            &header(&stripe().spec().signature_value(BODY, "", T)),
            tampered,
            at(T)
        ),
        Err(Rejection::SignatureMismatch)
    );
    let moved = format!("t={},{}", T + 1, v1(&stripe(), T, BODY));
    assert_eq!(
        stripe().verify_headers(&header(&moved), BODY, at(T)),
        Err(Rejection::SignatureMismatch)
    );
}

#[test]
fn rejects_stale_and_future_timestamps_beyond_five_minutes() {
    let headers = header(&stripe().spec().signature_value(BODY, "", T));
    assert!(stripe().verify_headers(&headers, BODY, at(T + 300)).is_ok());
    assert!(stripe().verify_headers(&headers, BODY, at(T - 300)).is_ok());
    assert_eq!(
        stripe().verify_headers(&headers, BODY, at(T + 301)),
        Err(Rejection::TimestampTooOld { age_secs: 301 })
    );
    assert_eq!(
        stripe().verify_headers(&headers, BODY, at(T - 301)),
        Err(Rejection::TimestampTooNew { ahead_secs: 301 })
    );
}

#[test]
fn tolerance_is_configurable() {
    let headers = header(&stripe().spec().signature_value(BODY, "", T));
    let lenient = stripe().tolerance(Duration::from_secs(600));
    assert!(lenient.verify_headers(&headers, BODY, at(T + 599)).is_ok());
    let strict = stripe().tolerance(Duration::from_secs(10));
    assert!(strict.verify_headers(&headers, BODY, at(T + 11)).is_err());
}

#[test]
fn rejects_malformed_headers_with_their_status() {
    let sig = v1(&stripe(), T, BODY);
    let v0 = sig.replace("v1=", "v0=");
    let cases = [
        ("no t", sig.clone(), StatusCode::BAD_REQUEST),
        ("non-numeric t", format!("t=abc,{sig}"), StatusCode::BAD_REQUEST),
        ("empty t", format!("t=,{sig}"), StatusCode::BAD_REQUEST),
        ("two t", format!("t={T},t={T},{sig}"), StatusCode::BAD_REQUEST),
        ("no v1", format!("t={T}"), StatusCode::UNAUTHORIZED),
        ("only v0", format!("t={T},{v0}"), StatusCode::UNAUTHORIZED),
        ("v1 not hex", format!("t={T},v1=xyz"), StatusCode::UNAUTHORIZED),
        ("entry without =", format!("v1,t={T}"), StatusCode::UNAUTHORIZED),
        ("good", format!("t={T},{sig}"), StatusCode::OK),
    ];
    for (what, value, expected) in cases {
        assert_eq!(
            status(stripe().verify_headers(&header(&value), BODY, at(T))),
            expected,
            "{what}"
        );
    }
    assert!(matches!(
        stripe().verify_headers(&HeaderMap::new(), BODY, at(T)),
        Err(Rejection::MissingSignature { .. })
    ));
    let mut repeated = header(&format!("t={T},{sig}"));
    repeated.append("stripe-signature", HeaderValue::from_static("t=1,v1=00"));
    assert!(matches!(
        stripe().verify_headers(&repeated, BODY, at(T)),
        Err(Rejection::InvalidHeader { .. })
    ));
}

#[test]
fn accepts_any_v1_of_several_in_one_header() {
    let old = Stripe::new(secret("whsec_rolled"));
    let value = format!("t={T},{},{}", v1(&old, T, BODY), v1(&stripe(), T, BODY));
    assert!(stripe().verify_headers(&header(&value), BODY, at(T)).is_ok());
    assert!(old.verify_headers(&header(&value), BODY, at(T)).is_ok());
    let neither = Stripe::new(secret("whsec_neither"));
    assert_eq!(
        neither.verify_headers(&header(&value), BODY, at(T)),
        Err(Rejection::SignatureMismatch)
    );
}

#[test]
fn accepts_either_secret_during_rotation() {
    let both = Stripe::new(Secrets::new(secret("whsec_old")).with(secret("whsec_new")));
    for signer in [Stripe::new(secret("whsec_old")), Stripe::new(secret("whsec_new"))] {
        assert!(both
            .verify_headers(&header(&signer.spec().signature_value(BODY, "", T)), BODY, at(T))
            .is_ok());
    }
}

#[test]
fn refuses_a_verified_body_without_id() {
    let body = br#"{"object":"event","type":"invoice.paid"}"#;
    assert_eq!(
        stripe().verify_headers(
            &header(&stripe().spec().signature_value(body, "", T)),
            body,
            at(T)
        ),
        Err(Rejection::MissingEventId)
    );
}
