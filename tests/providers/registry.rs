//! Presets taken from the registry as a group: each one's signer against its
//! scheme, and the example receiver's name for it.

use super::*;

/// Presets without a timestamp whose registry signer and receiver name are
/// checked here (the timestamped ones are covered by their own modules).
const GROUP: [&str; 7] = [
    "intercom",
    "bitbucket",
    "typeform",
    "vercel",
    "lemonsqueezy",
    "meta",
    "gitlab",
];

#[tokio::test]
async fn registry_signers_of_presets_without_a_timestamp_are_accepted_and_forgers_refused() {
    for name in GROUP {
        let preset = testing::preset(name).unwrap_or_else(|| panic!("{name} is in the registry"));
        let (verify_key, sign_key) = (preset.test_keys)();
        let scheme = (preset.scheme)(&verify_key, "").unwrap();
        let signer = (preset.signer)(&sign_key, "").unwrap();
        let body = br#"{"id":"evt_1","event_id":"evt_1","topic":"t","type":"t","object":"page"}"#;
        let headers = signer.sign_headers(body, "evt_1", 1_700_000_000);
        let verdict = scheme.verify(
            tower_webhook::scheme::RequestParts::post(&headers),
            body,
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
        );
        assert!(verdict.is_ok(), "{name}: {verdict:?}");
        let forger = (preset.signer)(preset.forger_key, "").unwrap();
        let forged = forger.sign_headers(body, "evt_1", 1_700_000_000);
        assert!(
            scheme
                .verify(
                    tower_webhook::scheme::RequestParts::post(&forged),
                    body,
                    std::time::SystemTime::now()
                )
                .is_err(),
            "{name}: a forger's delivery verified"
        );
    }
}

#[test]
fn the_example_receiver_knows_every_name_of_presets_without_a_timestamp() {
    let secret = ("WEBHOOK_SECRET", "a secret of sixteen bytes or more");
    for name in GROUP {
        let config = config(&[("WEBHOOK_SCHEME", name), secret]);
        assert!(config.is_ok(), "{name}: {config:?}");
        assert_eq!(receiver::scheme_label(name), name);
    }
    let signing = config(&[
        ("WEBHOOK_SCHEME", "gitlab"),
        ("WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    ]);
    assert!(signing.is_ok(), "{signing:?}");
    let mixed = config(&[
        ("WEBHOOK_SCHEME", "gitlab"),
        ("WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        ("WEBHOOK_SECRET_2", "a legacy token of sixteen bytes"),
    ]);
    assert!(mixed.is_err());
}
