//! Linear: `Linear-Signature: <hex>` over the body, the timestamp in the body.

use super::*;
use tower_webhook::scheme::Linear;

fn linear_body(timestamp_ms: &str) -> Vec<u8> {
    format!(r#"{{"action":"create","type":"Issue","webhookTimestamp":{timestamp_ms}}}"#).into_bytes()
}

#[test]
fn linear_checks_the_body_timestamp_sixty_seconds_either_way() {
    let linear = Linear::new(secret("lin_wh_registry"));
    let check = |ms: String, now: i64| {
        let body = linear_body(&ms);
        let mut h = linear.sign_headers(&body, "delivery-1", T);
        set(&mut h, "linear-delivery", "delivery-1");
        linear.verify_headers(&h, &body, at(now))
    };
    let ms = (T * 1000 + 999).to_string();
    assert_eq!(check(ms.clone(), T + 60).unwrap().timestamp(), Some(T));
    assert_eq!(
        check(ms.clone(), T + 61),
        Err(Rejection::TimestampTooOld { age_secs: 61 })
    );
    assert_eq!(
        check(ms, T - 61),
        Err(Rejection::TimestampTooNew { ahead_secs: 61 })
    );
    // A string is read as well as a number.
    assert!(check(format!("\"{}\"", T * 1000), T).is_ok());
}

#[test]
fn linear_signer_writes_the_time_it_signs_at_into_the_body() {
    let linear = Linear::new(secret("lin_wh_registry"));
    // A stale timestamp (a documented sample's) is replaced, the rest kept.
    let stale = linear_body("1676056940508");
    let (body, h) = linear.sign_delivery(stale.into(), "delivery-1", T);
    let expected = format!(
        r#"{{"action":"create","type":"Issue","webhookTimestamp":{}}}"#,
        T * 1000
    );
    assert_eq!(std::str::from_utf8(&body).unwrap(), expected);
    assert_eq!(h["linear-delivery"], "delivery-1");
    let delivery = linear.verify_headers(&h, &body, at(T + 30)).unwrap();
    assert_eq!((delivery.id(), delivery.timestamp()), ("delivery-1", Some(T)));
    // Signed again a minute later, the body carries the new time.
    let (later, h) = linear.sign_delivery(body, "delivery-1", T + 60);
    assert!(linear.verify_headers(&h, &later, at(T + 90)).is_ok());
    // A body without the field gets it, first; one that is not a JSON
    // object is left as it is (and refused).
    let (body, _) = linear.sign_delivery(br#"{"type":"Issue"}"#[..].into(), "d", T);
    assert_eq!(
        std::str::from_utf8(&body).unwrap(),
        format!(r#"{{"webhookTimestamp":{},"type":"Issue"}}"#, T * 1000)
    );
    let (body, _) = linear.sign_delivery(b"[]"[..].into(), "d", T);
    assert_eq!(&body[..], b"[]");

    // Linear's documented `Comment` delivery, pretty-printed as Linear
    // shows it: only the timestamp's digits change, every other byte stays.
    let sample: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/samples/linear_comment_create.json")).unwrap();
    let documented = sample["body"].as_str().unwrap();
    let documented_ts =
        serde_json::from_str::<serde_json::Value>(documented).unwrap()["webhookTimestamp"].to_string();
    let (body, h) = linear.sign_delivery(documented.to_owned().into(), "234d1a4e", T);
    assert_eq!(
        std::str::from_utf8(&body).unwrap(),
        documented.replacen(&documented_ts, &(T * 1000).to_string(), 1)
    );
    let delivery = linear.verify_headers(&h, &body, at(T + 30)).unwrap();
    assert_eq!(
        (delivery.id(), delivery.event_type()),
        ("234d1a4e", Some("Comment"))
    );
}

#[test]
fn linear_refuses_a_verified_body_without_a_readable_timestamp() {
    let linear = Linear::new(secret("lin_wh_registry"));
    for body in [
        &br#"{"type":"Issue"}"#[..],
        br#"{"type":"Issue","webhookTimestamp":"soon"}"#,
        br#"{"type":"Issue","webhookTimestamp":1.5}"#,
        b"not json",
    ] {
        let mut h = linear.sign_headers(body, "d", T);
        set(&mut h, "linear-delivery", "d");
        let result = linear.verify_headers(&h, body, at(T));
        assert!(
            matches!(&result, Err(Rejection::InvalidBodyField { path, .. }) if &**path == "webhookTimestamp"),
            "{result:?}"
        );
        assert_eq!(result.unwrap_err().status(), StatusCode::BAD_REQUEST);
        // A forged body is refused for its signature first: the body is
        // not read before it verifies.
        set(&mut h, "linear-signature", &"00".repeat(32));
        assert_eq!(
            linear.verify_headers(&h, body, at(T)),
            Err(Rejection::SignatureMismatch)
        );
    }
}
