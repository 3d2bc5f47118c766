//! `testing::SignedRequest`: a user's test reaches the route it names, and
//! the event type answers as it does with the real sender's headers.

use axum::body::Body;
use axum::routing::post;
use axum::{Extension, Router};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_webhook::scheme::{GitHub, Scheme, Shopify, Stripe};
use tower_webhook::testing::{self, SignedRequest, VerifyHeaders as _};
use tower_webhook::{Secret, Verified, WebhookLayer};

fn secret(text: &str) -> Secret {
    Secret::new(text).unwrap()
}

/// A handler that answers with the event type it was handed.
async fn event_type(Extension(verified): Extension<Verified>) -> String {
    verified.event_type().unwrap_or("<none>").to_owned()
}

fn route(scheme: impl Scheme) -> axum::routing::MethodRouter {
    post(event_type).layer(WebhookLayer::new(scheme))
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn signed_requests_reach_the_route_they_name_with_the_senders_type_header() {
    let (github, shopify, stripe) = (
        GitHub::new(secret("the github secret of this test")),
        Shopify::new(secret("the shopify secret of this test")),
        Stripe::new(secret("whsec_the stripe secret of this test")),
    );
    let app = Router::new()
        .route("/github", route(github.clone()))
        .route("/shopify", route(shopify.clone()))
        .route("/stripe", route(stripe.clone()));

    let push = SignedRequest::new(&github, r#"{"ref":"refs/heads/main"}"#, "delivery-1")
        .uri("/github")
        .event_type("push")
        .build();
    assert_eq!(send(&app, push).await, (StatusCode::OK, "push".to_owned()));

    let order = SignedRequest::new(&shopify, r#"{"id":820982911946154508}"#, "webhook-1")
        .uri("/shopify?shop=example")
        .event_type("orders/create")
        .build();
    assert_eq!(
        send(&app, order).await,
        (StatusCode::OK, "orders/create".to_owned())
    );

    // Stripe names the type in the body: the body is what carries it.
    let paid = SignedRequest::new(&stripe, r#"{"id":"evt_1","type":"invoice.paid"}"#, "evt_1")
        .uri("/stripe")
        .event_type("ignored: Stripe has no type header")
        .build();
    assert_eq!(
        send(&app, paid).await,
        (StatusCode::OK, "invoice.paid".to_owned())
    );

    // Signed for one route, sent to another: that route's secret refuses it.
    let misrouted = SignedRequest::new(&github, "{}", "delivery-2")
        .uri("/shopify")
        .build();
    assert_eq!(send(&app, misrouted).await.0, StatusCode::UNAUTHORIZED);
}

#[test]
fn every_preset_that_reads_its_type_from_a_header_gets_it_from_its_signer() {
    let mut with_header = Vec::new();
    for preset in testing::presets() {
        let (verify_key, sign_key) = (preset.test_keys)();
        let public_url = "https://example.com/webhooks";
        let scheme = (preset.scheme)(&verify_key, public_url).unwrap();
        let signer = (preset.signer)(&sign_key, public_url).unwrap();
        let Some(name) = signer.event_type_header() else {
            continue;
        };
        let now = testing::now();
        let request: Request<Body> = SignedRequest::new(&*signer, r#"{"id":"evt_type"}"#, "evt_type")
            .event_type("some.event")
            .at(now)
            .build();
        assert_eq!(request.headers()[&name], "some.event", "{}", preset.name);
        let (parts, body) = request.into_parts();
        let body = futures_body(body);
        let event = scheme
            .verify_headers(&parts.headers, &body, std::time::SystemTime::now())
            .unwrap_or_else(|error| panic!("{}: {error}", preset.name));
        assert_eq!(event.event_type(), Some("some.event"), "{}", preset.name);
        with_header.push(preset.name);
    }
    for name in ["github", "shopify", "bitbucket", "gitlab", "lemonsqueezy"] {
        assert!(with_header.contains(&name), "{name} not in {with_header:?}");
    }
}

fn futures_body(body: Body) -> bytes::Bytes {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(body.collect())
        .unwrap()
        .to_bytes()
}
