//! The load test's baselines (`examples/baselines.rs`) answer as their docs
//! say, so that what the benchmarks compare is what they claim to: each
//! verifying route refuses a wrong signature, and the typed hand-rolled
//! route parses the whole event where the plain one reads only its `id`.

#[allow(dead_code)]
#[path = "../examples/baselines.rs"]
mod baselines;

use axum::body::Body;
use axum::Router;
use http::StatusCode;
use tower::ServiceExt;
use tower_webhook::scheme::Spec;
use tower_webhook::{testing, Secret};

const SECRET: &str = "baselines-test-secret";

/// The source article's event, verbatim.
const ARTICLE_EVENT: &str = r#"{"id":"evt_123","type":"order.completed","created":1710331200,"data":{"orderId":"123","status":"completed","completedAt":"2024-01-01T12:00:00Z"}}"#;

fn app() -> Router {
    baselines::app(SECRET).unwrap().with_state::<()>(())
}

async fn post(app: &Router, route: &str, body: &str, secret: &str) -> StatusCode {
    let scheme = Spec::petstore(Secret::new(secret).unwrap());
    let mut request = testing::signed_request::<Body>(&scheme, body.to_owned(), "");
    *request.uri_mut() = route.parse().unwrap();
    app.clone().oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn every_route_takes_the_article_event_and_its_redelivery() {
    let app = app();
    for route in ["/unverified", "/handrolled", "/handrolled-typed", "/layer"] {
        assert_eq!(
            post(&app, route, ARTICLE_EVENT, SECRET).await,
            StatusCode::OK,
            "{route}"
        );
        assert_eq!(
            post(&app, route, ARTICLE_EVENT, SECRET).await,
            StatusCode::OK,
            "{route} again"
        );
    }
}

#[tokio::test]
async fn the_verifying_routes_refuse_another_secret() {
    let app = app();
    let wrong = "not-the-baselines-secret";
    for route in ["/handrolled", "/handrolled-typed", "/layer"] {
        assert_eq!(
            post(&app, route, ARTICLE_EVENT, wrong).await,
            StatusCode::UNAUTHORIZED,
            "{route}"
        );
    }
    // The control checks nothing.
    assert_eq!(
        post(&app, "/unverified", ARTICLE_EVENT, wrong).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn only_the_typed_route_needs_the_whole_event() {
    let app = app();
    // An id and nothing else: enough for a route that reads only the id.
    let id_only = r#"{"id":"evt_only_an_id"}"#;
    assert_eq!(post(&app, "/handrolled", id_only, SECRET).await, StatusCode::OK);
    assert_eq!(
        post(&app, "/handrolled-typed", id_only, SECRET).await,
        StatusCode::BAD_REQUEST
    );
    // An order without its `status`: the typed route parses `data` too.
    let no_status = r#"{"id":"evt_no_status","type":"order.created","created":1,"data":{"orderId":"1"}}"#;
    assert_eq!(
        post(&app, "/handrolled-typed", no_status, SECRET).await,
        StatusCode::BAD_REQUEST
    );
    // `completedAt` is only on `order.completed`.
    let created = r#"{"id":"evt_created","type":"order.created","created":1,"data":{"orderId":"1","status":"created"}}"#;
    assert_eq!(
        post(&app, "/handrolled-typed", created, SECRET).await,
        StatusCode::OK
    );
}
