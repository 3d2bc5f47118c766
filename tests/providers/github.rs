//! GitHub: `X-Hub-Signature-256: sha256=<hex>` over the body.

use super::*;

const BODY: &[u8] = r#"{"action":"opened","issue":{"title":"über 🚀 bug"}}"#.as_bytes();

fn github() -> GitHub {
    GitHub::new(secret("github secret"))
}

fn signed(scheme: &GitHub, body: &[u8]) -> HeaderMap {
    let mut headers = scheme.sign_headers(body, "0b989ba4-242f-11e5-81e1-c7b6966d2516", T);
    set(&mut headers, "x-github-event", "issues");
    headers
}

#[test]
fn accepts_a_signed_delivery_with_id_and_type_from_headers() {
    let delivery = github()
        .verify_headers(&signed(&github(), BODY), BODY, at(T))
        .unwrap();
    assert_eq!(delivery.id(), "0b989ba4-242f-11e5-81e1-c7b6966d2516");
    assert_eq!(delivery.event_type(), Some("issues"));
    assert_eq!(delivery.timestamp(), None);
}

#[test]
fn rejects_a_signature_by_another_secret() {
    let forger = GitHub::new(secret("not the secret"));
    assert_eq!(
        github().verify_headers(&signed(&forger, BODY), BODY, at(T)),
        Err(Rejection::SignatureMismatch)
    );
}

#[test]
fn rejects_a_tampered_body() {
    let headers = signed(&github(), BODY);
    let tampered = r#"{"action":"closed","issue":{"title":"über 🚀 bug"}}"#.as_bytes();
    assert_eq!(
        github().verify_headers(&headers, tampered, at(T)),
        Err(Rejection::SignatureMismatch)
    );
}

#[test]
fn has_no_timestamp_so_the_clock_does_not_matter() {
    let headers = signed(&github(), BODY);
    for now in [UNIX_EPOCH, at(T - 86_400 * 365), at(T + 86_400 * 365)] {
        assert!(github().verify_headers(&headers, BODY, now).is_ok());
    }
}

#[test]
fn rejects_malformed_and_missing_headers_with_their_status() {
    let good = github().spec().signature_value(BODY, "", 0);
    let hex = &good["sha256=".len()..];
    let cases: [(&str, Option<&str>, StatusCode); 6] = [
        ("no prefix", Some(hex), StatusCode::UNAUTHORIZED),
        (
            "sha1 prefix",
            Some(&format!("sha1={hex}")),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "not hex",
            Some(&format!("sha256=zz{}", &hex[2..])),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "truncated",
            Some(&good[..good.len() - 2]),
            StatusCode::UNAUTHORIZED,
        ),
        ("absent", None, StatusCode::UNAUTHORIZED),
        ("good", Some(&good), StatusCode::OK),
    ];
    for (what, value, expected) in cases {
        let mut headers = signed(&github(), BODY);
        headers.remove("x-hub-signature-256");
        if let Some(value) = value {
            set(&mut headers, "x-hub-signature-256", value);
        }
        assert_eq!(
            status(github().verify_headers(&headers, BODY, at(T))),
            expected,
            "{what}"
        );
    }
}

#[test]
fn requires_a_single_delivery_id() {
    let mut headers = signed(&github(), BODY);
    headers.remove("x-github-delivery");
    assert_eq!(
        github().verify_headers(&headers, BODY, at(T)),
        Err(Rejection::MissingHeader {
            name: HeaderName::from_static("x-github-delivery")
        })
    );
    headers.append("x-github-delivery", HeaderValue::from_static("a"));
    headers.append("x-github-delivery", HeaderValue::from_static("b"));
    assert!(matches!(
        github().verify_headers(&headers, BODY, at(T)),
        Err(Rejection::InvalidHeader { .. })
    ));
}

#[test]
fn accepts_either_secret_during_rotation() {
    let (old, new) = (GitHub::new(secret("old")), GitHub::new(secret("new")));
    let both = GitHub::new(Secrets::new(secret("old")).with(secret("new")));
    for signer in [&old, &new] {
        assert!(both.verify_headers(&signed(signer, BODY), BODY, at(T)).is_ok());
    }
    assert!(old.verify_headers(&signed(&new, BODY), BODY, at(T)).is_err());
}
