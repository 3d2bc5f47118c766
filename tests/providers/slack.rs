//! Slack: `X-Slack-Signature: v0=<hex>` over `v0:{timestamp}:{body}`.

use super::*;

const BODY: &[u8] = br#"{"token":"t","team_id":"T1","event":{"type":"message","text":"hi"},"type":"event_callback","event_id":"Ev1","event_time":1700000000}"#;

fn slack() -> Slack {
    Slack::new(secret("8f742231b10e8888abcd99yyyzzz85a5"))
}

#[test]
fn accepts_a_signed_event() {
    let delivery = slack()
        .verify_headers(&slack().sign_headers(BODY, "", T), BODY, at(T))
        .unwrap();
    assert_eq!(delivery.id(), "Ev1");
    assert_eq!(delivery.event_type(), Some("message"));
    assert_eq!(delivery.timestamp(), Some(T));
}

#[test]
fn rejects_a_signature_by_another_secret() {
    let forger = Slack::new(secret("8f742231b10e8888abcd99yyyzzz85a6"));
    assert_eq!(
        slack().verify_headers(&forger.sign_headers(BODY, "", T), BODY, at(T)),
        Err(Rejection::SignatureMismatch)
    );
}

#[test]
fn rejects_a_tampered_body_and_a_tampered_timestamp() {
    let headers = slack().sign_headers(BODY, "", T);
    let tampered = String::from_utf8(BODY.to_vec()).unwrap().replace("hi", "ho");
    assert_eq!(
        slack().verify_headers(&headers, tampered.as_bytes(), at(T)),
        Err(Rejection::SignatureMismatch)
    );
    let mut moved = headers.clone();
    set(&mut moved, "x-slack-request-timestamp", &(T + 1).to_string());
    assert_eq!(
        slack().verify_headers(&moved, BODY, at(T)),
        Err(Rejection::SignatureMismatch)
    );
}

#[test]
fn rejects_stale_and_future_timestamps_beyond_five_minutes() {
    let headers = slack().sign_headers(BODY, "", T);
    assert!(slack().verify_headers(&headers, BODY, at(T + 300)).is_ok());
    assert!(slack().verify_headers(&headers, BODY, at(T - 300)).is_ok());
    assert_eq!(
        slack().verify_headers(&headers, BODY, at(T + 301)),
        Err(Rejection::TimestampTooOld { age_secs: 301 })
    );
    assert_eq!(
        slack().verify_headers(&headers, BODY, at(T - 301)),
        Err(Rejection::TimestampTooNew { ahead_secs: 301 })
    );
    let lenient = slack().tolerance(Duration::from_secs(900));
    assert!(lenient.verify_headers(&headers, BODY, at(T + 899)).is_ok());
}

#[test]
fn rejects_malformed_headers_with_their_status() {
    let good = slack().spec().signature_value(BODY, "", T);
    let hex = &good["v0=".len()..];
    let now = T.to_string();
    let cases: [(&str, &str, Option<&str>, StatusCode); 6] = [
        (
            "timestamp not a number",
            "17e8",
            Some(&good),
            StatusCode::BAD_REQUEST,
        ),
        ("timestamp empty", "", Some(&good), StatusCode::BAD_REQUEST),
        ("no v0 prefix", &now, Some(hex), StatusCode::UNAUTHORIZED),
        (
            "v1 prefix",
            &now,
            Some(&format!("v1={hex}")),
            StatusCode::UNAUTHORIZED,
        ),
        ("no signature", &now, None, StatusCode::UNAUTHORIZED),
        ("good", &now, Some(&good), StatusCode::OK),
    ];
    for (what, timestamp, signature, expected) in cases {
        let mut headers = HeaderMap::new();
        set(&mut headers, "x-slack-request-timestamp", timestamp);
        if let Some(signature) = signature {
            set(&mut headers, "x-slack-signature", signature);
        }
        assert_eq!(
            status(slack().verify_headers(&headers, BODY, at(T))),
            expected,
            "{what}"
        );
    }
    let mut headers = slack().sign_headers(BODY, "", T);
    headers.remove("x-slack-request-timestamp");
    assert_eq!(
        slack().verify_headers(&headers, BODY, at(T)),
        Err(Rejection::MissingHeader {
            name: HeaderName::from_static("x-slack-request-timestamp")
        })
    );
}

#[test]
fn accepts_either_secret_during_rotation() {
    let both = Slack::new(Secrets::new(secret("old")).with(secret("new")));
    for signer in [Slack::new(secret("old")), Slack::new(secret("new"))] {
        assert!(both
            .verify_headers(&signer.sign_headers(BODY, "", T), BODY, at(T))
            .is_ok());
    }
}

#[test]
fn keys_form_encoded_requests_by_their_signature() {
    let body = b"command=%2Fdeploy&text=prod&user_id=U1";
    let first = slack()
        .verify_headers(&slack().sign_headers(body, "", T), body, at(T))
        .unwrap();
    let again = slack()
        .verify_headers(&slack().sign_headers(body, "", T), body, at(T))
        .unwrap();
    let later = slack()
        .verify_headers(&slack().sign_headers(body, "", T + 1), body, at(T))
        .unwrap();
    assert!(first.id().starts_with("sig:"), "{}", first.id());
    assert_eq!(first.id(), again.id());
    assert_ne!(first.id(), later.id());
    assert_eq!(first.event_type(), None);
}
