//! Security regressions of issue 27 that concern the example receiver: its
//! Standard Webhooks key parsing and `STANDARD_POLICY` (row 8), driven with
//! `oneshot` through the receiver's own webhook router.

#[allow(dead_code)]
#[path = "../examples/receiver.rs"]
mod receiver;

use axum::body::Body;
use axum::Router;
use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode};
use tower::ServiceExt;
use tower_webhook::scheme::StandardWebhooks;
use tower_webhook::testing::{self, Sign as _};

const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The v1a test pair of the registry: (`whpk_...`, `whsk_...`).
fn ed25519_pair() -> (String, String) {
    (testing::preset("standard-webhooks-v1a").unwrap().test_keys)()
}

fn router(vars: &[(&str, &str)]) -> Result<Router, String> {
    let config = receiver::Config::from_lookup(|name| {
        Ok(vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    })?;
    Ok(receiver::receiver(&config)?.router)
}

/// A delivery signed now with `v1` (HMAC), `v1a` (Ed25519) or both.
fn delivery(id: &str, v1: bool, v1a: bool) -> Request<Body> {
    let body = Bytes::from(format!(r#"{{"type":"invoice.paid","id":"{id}"}}"#));
    let now = testing::now();
    let hmac = StandardWebhooks::new(StandardWebhooks::secret(WHSEC).unwrap());
    let ed = (testing::preset("standard-webhooks-v1a").unwrap().signer)(&ed25519_pair().1, "").unwrap();
    let mut signatures = Vec::new();
    let mut headers = hmac.sign_headers(&body, id, now);
    if v1 {
        signatures.push(headers["webhook-signature"].to_str().unwrap().to_owned());
    }
    if v1a {
        let signed = ed.sign_headers(&body, id, now);
        signatures.push(signed["webhook-signature"].to_str().unwrap().to_owned());
    }
    headers.insert(
        "webhook-signature",
        HeaderValue::try_from(signatures.join(" ")).unwrap(),
    );
    let mut request = Request::post("/webhooks").body(Body::from(body)).unwrap();
    *request.headers_mut() = headers;
    request
}

/// Row 8: with `STANDARD_POLICY=require-v1a`, whoever holds the HMAC secret
/// cannot sign alone; with the default (`any`) the same delivery passes.
#[tokio::test]
async fn standard_policy_require_v1a_refuses_an_hmac_only_delivery() {
    let (whpk, _) = ed25519_pair();
    let base = [
        ("WEBHOOK_SCHEME", "standard"),
        ("WEBHOOK_SECRET", WHSEC),
        ("WEBHOOK_SECRET_2", &whpk),
    ];
    let any = router(&base).unwrap();
    let status = any
        .oneshot(delivery("msg_any", true, false))
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK, "the default accepts v1 alone");

    let mut strict = base.to_vec();
    strict.push(("STANDARD_POLICY", "require-v1a"));
    let strict = router(&strict).unwrap();
    for (id, v1, v1a, expected) in [
        ("msg_v1", true, false, StatusCode::UNAUTHORIZED),
        ("msg_v1a", false, true, StatusCode::OK),
        ("msg_both", true, true, StatusCode::OK),
    ] {
        let status = strict
            .clone()
            .oneshot(delivery(id, v1, v1a))
            .await
            .unwrap()
            .status();
        assert_eq!(status, expected, "{id}");
    }

    let mut both = base.to_vec();
    both.push(("STANDARD_POLICY", "require-both"));
    let both = router(&both).unwrap();
    let status = both
        .clone()
        .oneshot(delivery("msg_b1", false, true))
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let status = both
        .oneshot(delivery("msg_b2", true, true))
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK);
}

/// Row 8: a policy nothing can satisfy, or an unknown one, stops the start.
#[test]
fn standard_policy_is_checked_at_start() {
    let error = router(&[
        ("WEBHOOK_SCHEME", "standard"),
        ("WEBHOOK_SECRET", WHSEC),
        ("STANDARD_POLICY", "require-v1a"),
    ])
    .unwrap_err();
    assert!(error.contains("STANDARD_POLICY"), "{error}");
    let error = router(&[
        ("WEBHOOK_SCHEME", "standard"),
        ("WEBHOOK_SECRET", WHSEC),
        ("STANDARD_POLICY", "v1a"),
    ])
    .unwrap_err();
    assert!(error.contains("STANDARD_POLICY"), "{error}");
}

/// Row 8: a `whpk_` public key that lost its prefix is refused, by the
/// library and so by the receiver, instead of becoming an HMAC secret that
/// anyone can sign `v1` with.
#[test]
fn a_public_key_without_its_prefix_is_not_a_secret() {
    let (whpk, _) = ed25519_pair();
    let bare = whpk.strip_prefix("whpk_").unwrap();
    assert!(StandardWebhooks::secret(bare).is_err());
    assert!(StandardWebhooks::key(bare).is_err());
    // The 44-byte SubjectPublicKeyInfo form of the same key.
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD.decode(bare).unwrap();
    let mut spki = hex::decode("302a300506032b6570032100").unwrap();
    spki.extend_from_slice(&raw);
    let spki = base64::engine::general_purpose::STANDARD.encode(&spki);
    assert!(StandardWebhooks::secret(&spki).is_err());
    // Prefixed, each is what its prefix says.
    assert!(StandardWebhooks::key(&whpk).is_ok());
    assert!(StandardWebhooks::secret(&format!("whsec_{bare}")).is_ok());
    // A prefix-less secret that is no public key is still read.
    assert!(StandardWebhooks::secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());

    let error = router(&[("WEBHOOK_SCHEME", "standard"), ("WEBHOOK_SECRET", bare)]).unwrap_err();
    assert!(error.contains("whpk_"), "{error}");
}
