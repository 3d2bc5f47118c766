//! Coinbase Commerce: `X-CC-Webhook-Signature: <hex>` over the body.

use super::*;
use tower_webhook::scheme::CoinbaseCommerce;

#[test]
fn coinbase_keys_on_the_event_id_not_the_delivery_id() {
    let coinbase = CoinbaseCommerce::new(secret("coinbase registry secret"));
    let body = br#"{"id":1,"event":{"id":"evt-uuid","type":"charge:created"}}"#;
    let h = coinbase.sign_headers(body, "", T);
    let delivery = coinbase.verify_headers(&h, body, at(T)).unwrap();
    assert_eq!(delivery.id(), "evt-uuid");
    assert_eq!(delivery.event_type(), Some("charge:created"));

    // Coinbase's own delivery, verbatim (its Node SDK's test body): the
    // outer `id` 1 is the delivery, the nested `event.id` the event.
    let sample: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/samples/coinbase_charge_created.json")).unwrap();
    let body = sample["body"].as_str().unwrap().as_bytes();
    let h = coinbase.sign_headers(body, "", T);
    let delivery = coinbase.verify_headers(&h, body, at(T)).unwrap();
    assert_eq!(delivery.id(), "24934862-d980-46cb-9402-43c81b0cdba6");
    assert_eq!(delivery.event_type(), Some("charge:created"));
}
