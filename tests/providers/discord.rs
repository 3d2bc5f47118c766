//! Discord: Ed25519 over `{timestamp}{body}`; PING answered by the layer.

use super::*;
use tower_webhook::scheme::{Discord, DiscordEndpoint, RequestParts};
use tower_webhook::testing::{Signer, SigningKey};

fn discord_key() -> SigningKey {
    SigningKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[5; 32]))
}

fn discord(endpoint: DiscordEndpoint) -> (Discord, Signer) {
    let scheme = Discord::new(discord_key().public_key(), endpoint).unwrap();
    (scheme.clone(), Signer::new(scheme, discord_key()))
}

#[test]
fn discord_interactions_answer_ping_and_refuse_bad_signatures_with_401() {
    let (scheme, signer) = discord(DiscordEndpoint::Interactions);
    let ping = br#"{"type":1,"id":"i-1"}"#;
    let headers = signer.sign_headers(ping, "", T);
    let verdict = scheme.verify(RequestParts::post(&headers), ping, at(T)).unwrap();
    let reply = verdict.reply().unwrap();
    assert_eq!(
        (reply.status(), reply.content_type()),
        (StatusCode::OK, Some("application/json"))
    );
    assert_eq!(&reply.body()[..], br#"{"type":1}"#);

    let command = br#"{"type":2,"id":"i-2"}"#;
    let headers = signer.sign_headers(command, "", T);
    let delivery = scheme.verify_headers(&headers, command, at(T)).unwrap();
    assert_eq!((delivery.id(), delivery.event_type()), ("i-2", Some("2")));

    // Discord's probes: a wrong signature, a malformed one, none at all.
    let mut probe = signer.sign_headers(ping, "", T);
    for value in [&"00".repeat(64)[..], "zz", ""] {
        set(&mut probe, "x-signature-ed25519", value);
        assert_eq!(
            status(scheme.verify_headers(&probe, ping, at(T))),
            StatusCode::UNAUTHORIZED,
            "{value:?}"
        );
    }
    probe.remove("x-signature-ed25519");
    assert_eq!(
        status(scheme.verify_headers(&probe, ping, at(T))),
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn discord_webhook_events_answer_ping_with_204() {
    let (scheme, signer) = discord(DiscordEndpoint::WebhookEvents);
    let ping = br#"{"version":1,"application_id":"1","type":0}"#;
    let headers = signer.sign_headers(ping, "", T);
    let verdict = scheme.verify(RequestParts::post(&headers), ping, at(T)).unwrap();
    assert_eq!(verdict.reply().unwrap().status(), StatusCode::NO_CONTENT);
    assert!(verdict.reply().unwrap().body().is_empty());

    let event = br#"{"version":1,"type":1,"event":{"type":"APPLICATION_AUTHORIZED"}}"#;
    let headers = signer.sign_headers(event, "", T);
    let delivery = scheme.verify_headers(&headers, event, at(T)).unwrap();
    assert!(delivery.id().starts_with("sig:"));
    assert_eq!(delivery.event_type(), Some("APPLICATION_AUTHORIZED"));
}
