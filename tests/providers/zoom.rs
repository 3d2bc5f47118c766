//! Zoom: `v0=` HMAC-SHA256 over `v0:{timestamp}:{body}`; URL validation answered by the layer.

use super::*;
use tower_webhook::scheme::{RequestParts, Verdict, Zoom};

#[test]
fn zoom_answers_url_validation_with_the_hmac_token() {
    // Zoom's documented example token pair for the secret token below is
    // not published; the expected value is HMAC-SHA256 recomputed here.
    let zoom = Zoom::new(secret("zoomSecretToken123"));
    let body = br#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#;
    let headers = zoom.sign_headers(body, "", T);
    let Verdict::Reply(reply) = zoom.verify(RequestParts::post(&headers), body, at(T)).unwrap() else {
        panic!("a handshake")
    };
    let json: serde_json::Value = serde_json::from_slice(reply.body()).unwrap();
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"zoomSecretToken123").unwrap();
    mac.update(b"qgg8vlvZRS6UYooatFL8Aw");
    assert_eq!(json["encryptedToken"], hex::encode(mac.finalize().into_bytes()));
    assert_eq!(json["plainToken"], "qgg8vlvZRS6UYooatFL8Aw");
}
