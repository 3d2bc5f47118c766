//! Standard Webhooks: `v1` (HMAC) and `v1a` (Ed25519) side by side.

use super::*;
use tower_webhook::scheme::{SignaturePolicy, StandardWebhooks};
use tower_webhook::testing::{Signer, SigningKey};
use tower_webhook::Keys;

const BODY: &[u8] = br#"{"type":"user.created"}"#;

fn ed25519() -> SigningKey {
    SigningKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[3; 32]))
}

fn whpk(key: &SigningKey) -> String {
    let tower_webhook::testing::SigningKey::Ed25519(k) = key else {
        unreachable!()
    };
    format!("whpk_{}", base64_std(k.verifying_key().as_bytes()))
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `webhook-signature` with a `v1` entry (secret), a `v1a` entry (key), or both.
fn signed(v1: bool, v1a: bool) -> HeaderMap {
    let hmac = StandardWebhooks::new(secret("v1 secret"));
    let asym = Signer::new(
        StandardWebhooks::builder()
            .keys(ed25519().public_key())
            .build()
            .unwrap(),
        ed25519(),
    );
    let mut headers = hmac.sign_headers(BODY, "msg_1", T);
    let a = headers["webhook-signature"].to_str().unwrap().to_owned();
    let b = asym.sign_headers(BODY, "msg_1", T)["webhook-signature"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(a.starts_with("v1,") && b.starts_with("v1a,"));
    let value = match (v1, v1a) {
        (true, true) => format!("{a} {b}"),
        (true, false) => a,
        (false, true) => b,
        (false, false) => unreachable!(),
    };
    set(&mut headers, "webhook-signature", &value);
    headers
}

fn mixed_keys() -> Keys {
    [
        StandardWebhooks::key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
        StandardWebhooks::key(&format!("whsec_{}", base64_std(b"v1 secret"))).unwrap(),
        StandardWebhooks::key(&whpk(&ed25519())).unwrap(),
    ]
    .into_iter()
    .collect()
}

#[test]
fn verifies_v1_and_v1a_side_by_side_with_mixed_keys() {
    let scheme = StandardWebhooks::with_keys(mixed_keys(), SignaturePolicy::Any).unwrap();
    for (v1, v1a) in [(true, false), (false, true), (true, true)] {
        let delivery = scheme.verify_headers(&signed(v1, v1a), BODY, at(T)).unwrap();
        assert_eq!(delivery.id(), "msg_1", "{v1} {v1a}");
    }
    let mut tampered = BODY.to_vec();
    tampered.push(b' ');
    assert_eq!(
        scheme.verify_headers(&signed(false, true), &tampered, at(T)),
        Err(Rejection::SignatureMismatch)
    );
}

#[test]
fn policies_require_v1a_or_both() {
    let require_v1a =
        StandardWebhooks::with_keys(mixed_keys(), SignaturePolicy::Require("v1a".into())).unwrap();
    let both = StandardWebhooks::with_keys(mixed_keys(), SignaturePolicy::All).unwrap();
    for (v1, v1a, want_v1a, want_both) in [
        (true, false, false, false),
        (false, true, true, false),
        (true, true, true, true),
    ] {
        let headers = signed(v1, v1a);
        assert_eq!(
            require_v1a.verify_headers(&headers, BODY, at(T)).is_ok(),
            want_v1a,
            "{v1} {v1a}"
        );
        assert_eq!(
            both.verify_headers(&headers, BODY, at(T)).is_ok(),
            want_both,
            "{v1} {v1a}"
        );
    }
}

#[test]
fn a_key_from_the_request_is_never_trusted() {
    // Only configured keys verify: a delivery signed by another key pair
    // is refused, whatever else it carries.
    let scheme = StandardWebhooks::with_keys(mixed_keys(), SignaturePolicy::Any).unwrap();
    let other = SigningKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[4; 32]));
    let forger = Signer::new(
        StandardWebhooks::builder()
            .keys(other.public_key())
            .build()
            .unwrap(),
        other,
    );
    let mut headers = forger.sign_headers(BODY, "msg_1", T);
    set(&mut headers, "webhook-public-key", &whpk(&ed25519()));
    assert_eq!(
        scheme.verify_headers(&headers, BODY, at(T)),
        Err(Rejection::SignatureMismatch)
    );
}

#[test]
fn accepts_the_44_byte_spki_form_and_refuses_other_keys() {
    let tower_webhook::testing::SigningKey::Ed25519(k) = ed25519() else {
        unreachable!()
    };
    let mut spki = hex_bytes("302a300506032b6570032100");
    spki.extend_from_slice(k.verifying_key().as_bytes());
    let key = StandardWebhooks::public_key(&format!("whpk_{}", base64_std(&spki))).unwrap();
    assert_eq!(key, ed25519().public_key());
    for bad in [vec![0u8; 31], vec![0u8; 64], {
        let mut s = spki.clone();
        s[5] ^= 1;
        s
    }] {
        assert!(StandardWebhooks::public_key(&format!("whpk_{}", base64_std(&bad))).is_err());
    }
}

fn hex_bytes(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}
