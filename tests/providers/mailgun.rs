//! Mailgun through the layer: the signed token is the replay key, so a
//! captured signature carries one delivery, whatever event data rides with it.

use super::*;
use tower_webhook::scheme::Mailgun;

const TOKEN: &str = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0";
/// HMAC-SHA256("mailgun signing key", "1700000000" + TOKEN), by Python's `hmac`.
const SIG: &str = "e21b5f179752ffbed57af5f6b295f7f2f76999421e0595aaa012e26f7488a057";

fn body(event: &str, id: &str) -> String {
    format!(
        r#"{{"signature":{{"timestamp":"{T}","token":"{TOKEN}","signature":"{SIG}"}},"event-data":{{"event":"{event}","id":"{id}"}}}}"#
    )
}

#[tokio::test]
async fn a_signature_serves_one_delivery_even_with_other_event_data() {
    let calls = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = Arc::clone(&calls);
    let service = ServiceBuilder::new()
        .layer(WebhookLayer::new(Mailgun::new(secret("mailgun signing key"))).clock(|| at(T + 10)))
        .service(service_fn(move |request: Request<Full<Bytes>>| {
            let seen = Arc::clone(&seen);
            async move {
                let verified = request.extensions().get::<Verified>().cloned().expect("Verified");
                seen.lock().unwrap().push(verified.id().to_owned());
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"handled"))))
            }
        }));
    let post = |body: String| {
        Request::post("/webhooks")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };
    let first = service
        .clone()
        .oneshot(post(body("delivered", "ev-1")))
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    // The same token under forged event data: a duplicate, never handled.
    let forged = service
        .clone()
        .oneshot(post(body("failed", "ev-2")))
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::OK);
    let text = forged.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&text[..], br#"{"duplicate":true}"#);
    assert_eq!(*calls.lock().unwrap(), vec![TOKEN.to_owned()]);
    // No signature in the body: 401, before any handler.
    let unsigned = service
        .oneshot(post(r#"{"event-data":{"event":"delivered"}}"#.to_owned()))
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(calls.lock().unwrap().len(), 1);
}
