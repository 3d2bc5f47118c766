//! Deliveries exactly as the real senders build them, through the example
//! receiver's router: the source article's event verbatim, signed as the
//! article's Node code signs it, and each preset's provider with a payload
//! shaped as that provider documents it (`tests/fixtures/samples/`).

#[allow(dead_code)]
#[path = "../examples/receiver.rs"]
mod receiver;
#[allow(dead_code)]
#[path = "../examples/send.rs"]
mod send;

mod log_capture;

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use axum::body::Body;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use log_capture::Logs;
use tower::ServiceExt;

use receiver::{Config, Receiver};

/// The source article's event, byte for byte.
const ARTICLE_EVENT: &str = r#"{"id":"evt_123","type":"order.completed","created":1710331200,"data":{"orderId":"123","status":"completed","completedAt":"2024-01-01T12:00:00Z"}}"#;

/// The article's signing, run with Node 20 on this body and this secret:
/// `crypto.createHmac('sha256', secret).update(body).digest('hex')`.
const ARTICLE_SECRET: &str = "petstore-article-secret-0123456789";
const ARTICLE_SIGNATURE: &str = "3abf637cc2c282b240f26624efa0069f54baeb5efed3553e3c606fcb32c69d56";

fn receiver(vars: &[(&str, &str)]) -> Receiver {
    let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let config = Config::from_lookup(|name| Ok(vars.get(name).cloned())).unwrap();
    receiver::receiver(&config).unwrap()
}

async fn send(receiver: &Receiver, request: Request<Body>) -> (StatusCode, Bytes) {
    let response = receiver.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    (status, response.into_body().collect().await.unwrap().to_bytes())
}

/// The article's request: `X-Petstore-Signature` over the raw body, and the
/// unsigned `X-Petstore-Event` hint.
fn article_request(signature: &str) -> Request<Body> {
    Request::post("/webhooks")
        .header("content-type", "application/json")
        .header("x-petstore-event", "order.completed")
        .header("x-petstore-signature", signature)
        .body(Body::from(ARTICLE_EVENT))
        .unwrap()
}

#[test]
fn the_node_signature_is_the_hmac_sha256_of_the_raw_body() {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(ARTICLE_SECRET.as_bytes()).unwrap();
    mac.update(ARTICLE_EVENT.as_bytes());
    assert_eq!(hex::encode(mac.finalize().into_bytes()), ARTICLE_SIGNATURE);
}

#[tokio::test]
async fn the_articles_event_is_handled_once_and_its_redelivery_acknowledged() {
    let logs = Logs::capture();
    let receiver = receiver(&[("WEBHOOK_SECRET", ARTICLE_SECRET)]);

    let (status, _) = send(&receiver, article_request(ARTICLE_SIGNATURE)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(receiver.stats.processed.load(Ordering::SeqCst), 1);
    let handled = logs.lines_with(&["handled", "evt_123"]);
    assert_eq!(handled.len(), 1, "{handled:?}");
    for field in [
        "event_type=\"order.completed\"",
        "order_id=\"123\"",
        "order_status=\"completed\"",
        "completed_at=\"2024-01-01T12:00:00Z\"",
        "result=\"processed\"",
    ] {
        assert!(handled[0].contains(field), "{field} missing in {}", handled[0]);
    }

    // The sender did not hear the 200 and redelivers: acknowledged, not handled.
    let (status, body) = send(&receiver, article_request(ARTICLE_SIGNATURE)).await;
    assert_eq!(
        (status, &body[..]),
        (StatusCode::OK, &br#"{"duplicate":true}"#[..])
    );
    assert_eq!(receiver.stats.handled.load(Ordering::SeqCst), 1);
    assert_eq!(logs.lines_with(&["handled", "evt_123"]).len(), 1);
    assert!(receiver.guard.is_done("evt_123"));
}

#[tokio::test]
async fn the_articles_event_with_a_wrong_signature_is_refused() {
    let receiver = receiver(&[("WEBHOOK_SECRET", ARTICLE_SECRET)]);
    let mut forged = ARTICLE_SIGNATURE.to_owned();
    forged.replace_range(..1, "0");
    let (status, _) = send(&receiver, article_request(&forged)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(receiver.stats.handled.load(Ordering::SeqCst), 0);
}

#[test]
fn the_senders_default_event_is_the_articles_shape() {
    let args = [
        "--secret",
        ARTICLE_SECRET,
        "--id",
        "evt_123",
        "--created",
        "1710331200",
    ];
    let options = send::Options::parse(args.iter().map(|s| s.to_string()), None).unwrap();
    assert_eq!(&options.body()[..], ARTICLE_EVENT.as_bytes());
    let signer = send::signer(&options.scheme, &options.secret).unwrap();
    let headers = signer.sign_headers(&options.body(), &options.id, 0);
    assert_eq!(headers["x-petstore-signature"], ARTICLE_SIGNATURE);
}
