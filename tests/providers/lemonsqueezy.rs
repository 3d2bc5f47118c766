//! Lemon Squeezy: `X-Signature: <hex>` over the body.

use super::*;

#[test]
fn lemonsqueezy_keys_on_the_signature_never_the_webhook_id() {
    let lemon = LemonSqueezy::new(Secret::new("lemon squeezy secret").unwrap());
    let body = br#"{"meta":{"event_name":"order_created","webhook_id":"w-1"},"data":{}}"#;
    let headers = lemon.sign_headers(body, "unused", 0);
    let verdict = lemon
        .verify(
            tower_webhook::scheme::RequestParts::post(&headers),
            body,
            std::time::SystemTime::now(),
        )
        .unwrap();
    let delivery = verdict.event().unwrap();
    assert!(
        delivery.id().starts_with("sig:"),
        "never meta.webhook_id: {}",
        delivery.id()
    );
    assert_eq!(
        delivery.event_type(),
        Some("order_created"),
        "from the body without X-Event-Name"
    );
}
