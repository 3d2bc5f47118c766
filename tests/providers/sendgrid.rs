//! SendGrid: ECDSA P-256 over `{timestamp}{body}`.

use super::*;
use tower_webhook::scheme::SendGrid;
use tower_webhook::testing::{Signer, SigningKey};

#[test]
fn sendgrid_keys_a_batch_on_the_low_s_form_of_its_signature() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let signing = p256::ecdsa::SigningKey::from_slice(&[9; 32]).unwrap();
    let key = SigningKey::P256(signing);
    let scheme = SendGrid::new(key.public_key()).unwrap();
    let signer = Signer::new(scheme.clone(), key);
    let body = b"[{\"email\":\"a@example.com\",\"event\":\"delivered\",\"sg_event_id\":\"e1\"}]\r\n";
    let mut headers = signer.sign_headers(body, "", T);
    let first = scheme.verify_headers(&headers, body, at(T)).unwrap();

    // (r, n - s) verifies too; it must name the same delivery.
    let der = b64
        .decode(headers["x-twilio-email-event-webhook-signature"].as_bytes())
        .unwrap();
    let signature = p256::ecdsa::Signature::from_der(&der).unwrap();
    let (r, s) = signature.split_scalars();
    let flipped = p256::ecdsa::Signature::from_scalars(r, -*s).unwrap();
    assert_ne!(flipped, signature);
    set(
        &mut headers,
        "x-twilio-email-event-webhook-signature",
        &b64.encode(flipped.to_der().as_bytes()),
    );
    let second = scheme.verify_headers(&headers, body, at(T)).unwrap();
    assert_eq!(first.id(), second.id());
}
