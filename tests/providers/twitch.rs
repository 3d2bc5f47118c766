//! Twitch EventSub: HMAC-SHA256 over `{id}{timestamp}{body}`; the challenge answered by the layer.

use super::*;
use tower_webhook::scheme::{RequestParts, Twitch};

#[test]
fn twitch_answers_the_challenge_as_text_and_acknowledges_revocation() {
    let twitch = Twitch::new(secret("thisIsATwitchEventSubSecret123"));
    let body =
        br#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"type":"channel.follow"}}"#;
    let mut headers = twitch.sign_headers(body, "e76c6bd4-55c9-4987-8304-da1588d8988b", T);
    assert!(headers["twitch-eventsub-message-timestamp"]
        .to_str()
        .unwrap()
        .ends_with(".000000000Z"));
    set(
        &mut headers,
        "twitch-eventsub-message-type",
        "webhook_callback_verification",
    );
    let reply = twitch.verify(RequestParts::post(&headers), body, at(T)).unwrap();
    let reply = reply.reply().unwrap();
    assert_eq!(reply.content_type(), Some("text/plain"));
    assert_eq!(&reply.body()[..], b"pogchamp-kappa-360noscope-vohiyo");

    set(&mut headers, "twitch-eventsub-message-type", "revocation");
    let reply = twitch.verify(RequestParts::post(&headers), body, at(T)).unwrap();
    assert_eq!(reply.reply().unwrap().status(), StatusCode::NO_CONTENT);

    set(&mut headers, "twitch-eventsub-message-type", "notification");
    let delivery = twitch.verify_headers(&headers, body, at(T)).unwrap();
    assert_eq!(delivery.event_type(), Some("channel.follow"));
    assert_eq!(
        status(twitch.verify_headers(&headers, body, at(T + 601))),
        StatusCode::UNAUTHORIZED
    );
}
