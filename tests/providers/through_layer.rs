//! Through the layer.

use super::*;

type Seen = Arc<Mutex<Vec<Verified>>>;

/// The scheme behind a `WebhookLayer` with the clock at `T`, in front of
/// a handler that records every `Verified` it gets and answers 200.
fn stack<S: Scheme>(
    scheme: S,
    seen: Seen,
) -> impl Service<Request<Full<Bytes>>, Response = Response<ResponseBody<Full<Bytes>>>, Error = Infallible> + Clone
{
    ServiceBuilder::new()
        .layer(WebhookLayer::new(scheme).clock(|| at(T)))
        .service(service_fn(move |request: Request<Full<Bytes>>| {
            let seen = Arc::clone(&seen);
            async move {
                let verified = request.extensions().get::<Verified>().cloned().expect("Verified");
                seen.lock().unwrap().push(verified);
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"handled"))))
            }
        }))
}

async fn text(response: Response<ResponseBody<Full<Bytes>>>) -> (StatusCode, Bytes) {
    let status = response.status();
    (status, response.into_body().collect().await.unwrap().to_bytes())
}

/// Signs `body` with `scheme`'s signer, sends it twice, and checks that
/// the handler ran once with `expected_id`, then the duplicate got 200.
async fn processes_once<S: Scheme + Sign>(scheme: S, body: &'static str, id: &str, expected_id: &str) {
    let seen = Seen::default();
    let request = || testing::signed_request_at::<Full<Bytes>>(&scheme, body, id, T);
    let (first, second) = (request(), request());
    let service = stack(scheme, Arc::clone(&seen));

    let (status, body_text) = text(service.clone().oneshot(first).await.unwrap()).await;
    assert_eq!((status, &body_text[..]), (StatusCode::OK, &b"handled"[..]));
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(seen.lock().unwrap()[0].id(), expected_id);
    assert_eq!(&seen.lock().unwrap()[0].body()[..], body.as_bytes());

    let (status, body_text) = text(service.oneshot(second).await.unwrap()).await;
    assert_eq!(
        (status, &body_text[..]),
        (StatusCode::OK, &br#"{"duplicate":true}"#[..])
    );
    assert_eq!(seen.lock().unwrap().len(), 1, "the duplicate reached the handler");
}

#[tokio::test]
async fn github_delivery_is_processed_once() {
    let github = GitHub::new(secret("github secret"));
    processes_once(github, r#"{"zen":"Keep it logically awesome."}"#, "d-1", "d-1").await;
}

#[tokio::test]
async fn stripe_delivery_is_processed_once() {
    let stripe = Stripe::new(secret("whsec_test_secret"));
    let body = r#"{"id":"evt_1","object":"event","type":"invoice.paid"}"#;
    processes_once(stripe, body, "unused", "evt_1").await;
}

#[tokio::test]
async fn slack_event_is_processed_once() {
    let slack = Slack::new(secret("slack secret"));
    let body = r#"{"type":"event_callback","event":{"type":"message"},"event_id":"Ev1"}"#;
    processes_once(slack, body, "unused", "Ev1").await;
}

#[tokio::test]
async fn slack_slash_command_is_processed_once() {
    let slack = Slack::new(secret("slack secret"));
    let body = "command=%2Fdeploy&text=prod";
    let expected = format!(
        "sig:{}",
        &slack.spec().signature_value(body.as_bytes(), "", T)["v0=".len()..]
    );
    processes_once(slack, body, "unused", &expected).await;
}

#[tokio::test]
async fn shopify_delivery_is_processed_once() {
    let shopify = Shopify::new(secret("shopify secret"));
    processes_once(shopify, r#"{"id":1}"#, "w-1", "w-1").await;
}

#[tokio::test]
async fn svix_delivery_is_processed_once() {
    let svix = tower_webhook::scheme::Svix::new(secret("svix secret"));
    processes_once(svix, r#"{"type":"user.created"}"#, "msg_1", "msg_1").await;
}

#[tokio::test]
async fn resent_signature_under_a_fresh_id_is_dropped_only_with_the_opt_in() {
    // GitHub and Shopify ids are unsigned headers. By default the id alone
    // is the replay key (distinct events may share a body); with
    // `dedupe_on_signature` the signature is a second key that catches
    // a captured delivery resent under a fresh id.
    async fn check<S: Scheme + Sign>(scheme: S, id_header: &'static str, dropped: bool) {
        let seen = Seen::default();
        let body = r#"{"action":"opened"}"#;
        let first = testing::signed_request_at::<Full<Bytes>>(&scheme, body, "id-1", T);
        let mut resent = testing::signed_request_at::<Full<Bytes>>(&scheme, body, "id-1", T);
        resent
            .headers_mut()
            .insert(id_header, HeaderValue::from_static("id-2"));
        let service = stack(scheme, Arc::clone(&seen));

        assert_eq!(
            service.clone().oneshot(first).await.unwrap().status(),
            StatusCode::OK
        );
        let (status, text) = text(service.oneshot(resent).await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(text == br#"{"duplicate":true}"#[..], dropped, "{id_header}");
        assert_eq!(
            seen.lock().unwrap().len(),
            if dropped { 1 } else { 2 },
            "{id_header}"
        );
    }
    check(GitHub::new(secret("github secret")), "x-github-delivery", false).await;
    check(
        Shopify::new(secret("shopify secret")),
        "x-shopify-webhook-id",
        false,
    )
    .await;
    let opt_in = |builder: tower_webhook::scheme::SpecBuilder, text: &str| {
        builder
            .dedupe_on_signature(true)
            .keys(secret(text))
            .build()
            .unwrap()
    };
    check(
        opt_in(GitHub::builder(), "github secret"),
        "x-github-delivery",
        true,
    )
    .await;
    check(
        opt_in(Shopify::builder(), "shopify secret"),
        "x-shopify-webhook-id",
        true,
    )
    .await;
}

#[tokio::test]
async fn slack_handshake_is_answered_by_the_layer_every_time() {
    let slack = Slack::new(secret("slack secret"));
    let body = r#"{"token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let request = || testing::signed_request_at::<Full<Bytes>>(&slack, body, "unused", T);
    let (first, second) = (request(), request());
    let seen = Seen::default();
    let service = stack(slack, Arc::clone(&seen));

    for request in [first, second] {
        let response = service.clone().oneshot(request).await.unwrap();
        assert_eq!(response.headers()["content-type"], "application/json");
        let (status, text) = text(response).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            &text[..],
            br#"{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#
        );
    }
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn slack_handshake_with_a_bad_signature_is_refused() {
    let slack = Slack::new(secret("slack secret"));
    let forger = Slack::new(secret("forger"));
    let body = r#"{"challenge":"c","type":"url_verification"}"#;
    let request = testing::signed_request_at::<Full<Bytes>>(&forger, body, "unused", T);
    let seen = Seen::default();
    let response = stack(slack, Arc::clone(&seen)).oneshot(request).await.unwrap();
    let (status, text) = text(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(&text[..], Rejection::SignatureMismatch.body_text().as_bytes());
    assert!(seen.lock().unwrap().is_empty());
}
#[tokio::test]
async fn discord_ping_and_probes_are_answered_by_the_layer() {
    use tower_webhook::scheme::{Discord, DiscordEndpoint};
    use tower_webhook::testing::{Signer, SigningKey};
    let key = SigningKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[5; 32]));
    let scheme = Discord::new(key.public_key(), DiscordEndpoint::WebhookEvents).unwrap();
    let signer = Signer::new(scheme.clone(), key);
    let seen = Seen::default();
    let service = stack(scheme, Arc::clone(&seen));
    let ping = r#"{"version":1,"application_id":"1","type":0}"#;

    let response = service
        .clone()
        .oneshot(testing::signed_request_at::<Full<Bytes>>(&signer, ping, "", T))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.headers().get("content-type").is_none());
    assert!(text(response).await.1.is_empty());

    let mut probe = testing::signed_request_at::<Full<Bytes>>(&signer, ping, "", T);
    probe.headers_mut().insert(
        "x-signature-ed25519",
        HeaderValue::from_str(&"ab".repeat(64)).unwrap(),
    );
    assert_eq!(
        service.oneshot(probe).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert!(seen.lock().unwrap().is_empty());
}
