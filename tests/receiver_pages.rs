//! The example receiver's `GET /deliveries` and `GET /metrics`, driven with
//! `oneshot` through its admin router: both outside the webhook layer and
//! off the webhook port, the deliveries the last N in order and never a
//! secret or a body; the admin listener's `Host` check; the inbox page and
//! its requeue, which only the page's own origin may ask for.

#[allow(dead_code)]
#[path = "../examples/receiver.rs"]
mod receiver;

use axum::body::Body;
use axum::Router;
use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_webhook::scheme::Spec;
use tower_webhook::{testing, Secret};

const SECRET: &str = "receiver-pages-secret";

/// The webhook port's router and the admin listener's.
fn routers(recent: &str) -> (Router, Router) {
    let vars = [("WEBHOOK_SECRET", SECRET), ("RECENT_DELIVERIES", recent)];
    let config = receiver::Config::from_lookup(|name| {
        Ok(vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    })
    .unwrap();
    let receiver = receiver::receiver(&config).unwrap();
    (receiver.router, receiver.admin)
}

/// The `Host` a browser on the admin page sends.
const ADMIN_HOST: &str = "127.0.0.1:3001";

fn event(id: &str) -> String {
    format!(
        r#"{{"id":"{id}","type":"order.created","created":1700000000,"data":{{"orderId":"ord_body_marker","status":"created"}}}}"#
    )
}

async fn deliver(router: &Router, id: &str) -> (StatusCode, String) {
    let scheme = Spec::petstore(Secret::new(SECRET).unwrap());
    let request = testing::signed_request::<Body>(&scheme, event(id), id);
    let signature = request.headers()["x-petstore-signature"]
        .to_str()
        .unwrap()
        .to_owned();
    let status = router.clone().oneshot(request).await.unwrap().status();
    (status, signature)
}

async fn get(router: &Router, path: &str, accept: Option<&str>) -> (StatusCode, HeaderMap, Bytes) {
    let mut request = Request::get(path).header(HOST, ADMIN_HOST);
    if let Some(accept) = accept {
        request = request.header(ACCEPT, accept);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes(),
    )
}

#[tokio::test]
async fn deliveries_json_is_the_last_n_newest_first_without_secrets_or_bodies() {
    let (router, admin) = routers("3");
    let mut signatures = Vec::new();
    for id in ["evt_p1", "evt_p2", "evt_p3", "evt_p4", "evt_p5"] {
        let (status, signature) = deliver(&router, id).await;
        assert_eq!(status, StatusCode::OK);
        signatures.push(signature);
    }
    let forged = Request::post("/webhooks")
        .header("x-petstore-signature", "00".repeat(32))
        .body(Body::from(event("evt_forged")))
        .unwrap();
    assert_eq!(
        router.clone().oneshot(forged).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    let (status, headers, body) = get(&admin, "/deliveries", Some("application/json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[CONTENT_TYPE], "application/json");
    let deliveries: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
    let seen: Vec<(&str, &str)> = deliveries
        .iter()
        .map(|d| {
            (
                d["event_id"].as_str().unwrap_or("-"),
                d["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("-", "signature_mismatch"),
            ("evt_p5", "processed"),
            ("evt_p4", "processed")
        ]
    );
    assert_eq!(deliveries[1]["scheme"], "petstore");
    assert_eq!(deliveries[1]["event_type"], "order.created");
    assert_eq!(deliveries[1]["status"], 200);
    assert!(deliveries[1]["verify_us"].is_u64());
    let text = String::from_utf8(body.to_vec()).unwrap();
    for secret in std::iter::once(SECRET).chain(signatures.iter().map(String::as_str)) {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(
        !text.contains("ord_body_marker") && !text.contains("body\""),
        "{text}"
    );
}

#[tokio::test]
async fn deliveries_without_an_accept_header_are_json() {
    let (_, admin) = routers("10");
    let (status, headers, body) = get(&admin, "/deliveries", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[CONTENT_TYPE], "application/json");
    assert_eq!(&body[..], b"[]");
}

#[tokio::test]
async fn deliveries_page_is_html_for_a_browser() {
    let (_, admin) = routers("10");
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let (status, headers, body) = get(&admin, "/deliveries", Some(browser)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(headers["vary"], "accept");
    let page = String::from_utf8(body.to_vec()).unwrap();
    assert!(
        page.starts_with("<!doctype html>") && page.contains("<table"),
        "{page}"
    );
    // Self-contained: nothing loaded from elsewhere.
    assert!(!page.contains("src=") && !page.contains("href="), "{page}");
}

#[test]
fn accept_header_ranking() {
    let prefers = |accept: &str| {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_str(accept).unwrap());
        receiver::prefers_html(&headers)
    };
    assert!(prefers("text/html"));
    assert!(prefers("text/html,*/*;q=0.8"));
    assert!(!prefers("application/json"));
    assert!(!prefers("*/*"));
    assert!(!prefers("application/json, text/html;q=0.5"));
    assert!(!prefers("text/html;q=0"));
}

#[tokio::test]
async fn metrics_are_prometheus_text_outside_the_layer() {
    let (router, admin) = routers("10");
    assert_eq!(deliver(&router, "evt_metrics_1").await.0, StatusCode::OK);
    // No signature, and still answered: the endpoint is not behind the layer.
    let (status, _, body) = get(&admin, "/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(body.to_vec()).unwrap();
    let processed = text
        .lines()
        .find(|l| l.starts_with("webhook_deliveries_total{") && l.contains(r#"outcome="processed""#))
        .unwrap_or_else(|| panic!("no processed counter in {text}"));
    assert!(processed.contains(r#"scheme="petstore""#), "{processed}");
    assert!(
        text.contains("# TYPE webhook_verify_duration_seconds histogram"),
        "{text}"
    );
    assert!(
        text.contains("webhook_handler_duration_seconds_bucket{"),
        "{text}"
    );
    assert!(text.contains("webhook_handlers_running{"), "{text}");
    // Reading the pages is not a delivery.
    let (_, _, deliveries) = get(&admin, "/deliveries", Some("application/json")).await;
    let deliveries: Vec<serde_json::Value> = serde_json::from_slice(&deliveries).unwrap();
    assert_eq!(deliveries.len(), 1);
}

#[tokio::test]
async fn the_webhook_port_serves_only_webhooks() {
    let (router, _) = routers("10");
    for path in ["/metrics", "/deliveries"] {
        let request = Request::get(path)
            .header(HOST, ADMIN_HOST)
            .body(Body::empty())
            .unwrap();
        let status = router.clone().oneshot(request).await.unwrap().status();
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn the_admin_listener_refuses_a_host_that_is_not_its_own() {
    let (_, admin) = routers("10");
    for host in [
        "127.0.0.1:3001",
        "localhost:3001",
        "LOCALHOST",
        "[::1]:3001",
        "127.0.0.2",
    ] {
        let request = Request::get("/metrics")
            .header(HOST, host)
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            admin.clone().oneshot(request).await.unwrap().status(),
            StatusCode::OK,
            "{host}"
        );
    }
    // A rebound DNS name, a public name, a private address, no Host at all.
    for host in [
        Some("attacker.example:3001"),
        Some("localhost.attacker.example"),
        Some("10.0.0.5:3001"),
        None,
    ] {
        let mut request = Request::get("/deliveries");
        if let Some(host) = host {
            request = request.header(HOST, host);
        }
        let response = admin
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::MISDIRECTED_REQUEST, "{host:?}");
    }
}

#[test]
fn requeue_is_only_for_the_pages_own_origin() {
    let headers = |pairs: &[(&str, &str)]| {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    };
    assert!(receiver::same_origin(&headers(&[
        ("host", ADMIN_HOST),
        ("origin", "http://127.0.0.1:3001")
    ])));
    assert!(receiver::same_origin(&headers(&[(
        "sec-fetch-site",
        "same-origin"
    )])));
    assert!(!receiver::same_origin(&headers(&[
        ("host", ADMIN_HOST),
        ("origin", "http://attacker.example")
    ])));
    assert!(!receiver::same_origin(&headers(&[
        ("host", ADMIN_HOST),
        ("origin", "null")
    ])));
    assert!(!receiver::same_origin(&headers(&[("host", ADMIN_HOST)])));
    assert!(!receiver::same_origin(&headers(&[
        ("sec-fetch-site", "cross-site"),
        ("origin", "http://127.0.0.1:3001"),
        ("host", ADMIN_HOST)
    ])));
}

#[tokio::test]
async fn a_webhook_route_answers_another_method_405_without_the_layer() {
    let (router, admin) = routers("10");
    for method in ["GET", "PUT", "DELETE"] {
        let request = Request::builder()
            .method(method)
            .uri("/webhooks")
            .body(Body::empty())
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert!(response.headers()["allow"].to_str().unwrap().contains("POST"));
    }
    // Not deliveries: the layer never saw them.
    let (_, _, body) = get(&admin, "/deliveries", Some("application/json")).await;
    assert_eq!(body.as_ref(), b"[]");
}

/// Delivers `body` as the Petstore signs it, with `X-Petstore-Event` when given.
async fn deliver_body(router: &Router, id: &str, body: &str, header_type: Option<&str>) -> StatusCode {
    let scheme = Spec::petstore(Secret::new(SECRET).unwrap());
    let mut request = testing::SignedRequest::new(&scheme, body.to_owned(), id);
    if let Some(event_type) = header_type {
        request = request.event_type(event_type);
    }
    let request: Request<Body> = request.build();
    assert_eq!(
        request.headers().get("x-petstore-event").is_some(),
        header_type.is_some()
    );
    router.clone().oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn deliveries_show_the_header_type_a_dead_letters_reason_and_ignored_types() {
    let (router, admin) = routers("10");
    let order = r#"{"orderId":"ord_1","status":"created"}"#;
    let untyped = |id: &str| format!(r#"{{"id":"{id}","created":1700000000,"data":{order}}}"#);
    // No `type` in the body: `X-Petstore-Event` is the type.
    let fallback = untyped("evt_header_type");
    assert_eq!(
        deliver_body(&router, "evt_header_type", &fallback, Some("order.created")).await,
        StatusCode::OK
    );
    // No type anywhere: acknowledged as a dead letter, with its reason on the page.
    let nowhere = untyped("evt_no_type");
    assert_eq!(
        deliver_body(&router, "evt_no_type", &nowhere, None).await,
        StatusCode::OK
    );
    // A type the example does not handle: acknowledged, shown as ignored.
    let adopted = r#"{"id":"evt_adopted","type":"pet.adopted","data":{"pet":"Rex"}}"#;
    assert_eq!(
        deliver_body(&router, "evt_adopted", adopted, None).await,
        StatusCode::OK
    );

    let (_, _, body) = get(&admin, "/deliveries", Some("application/json")).await;
    let deliveries: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
    let row = |id: &str| {
        deliveries
            .iter()
            .find(|d| d["event_id"] == id)
            .unwrap_or_else(|| panic!("{id} not in {deliveries:?}"))
    };
    let typed = row("evt_header_type");
    assert_eq!(
        (&typed["outcome"], &typed["event_type"]),
        (&"processed".into(), &"order.created".into())
    );
    let dead = row("evt_no_type");
    assert_eq!(dead["outcome"], "dead_lettered");
    assert!(
        dead["reason"].as_str().unwrap().contains("no event type"),
        "{dead}"
    );
    let ignored = row("evt_adopted");
    assert_eq!(ignored["outcome"], "ignored");
    assert_eq!(ignored["event_type"], "pet.adopted");
}

#[tokio::test]
async fn the_deliveries_page_colours_ignored_rows_apart_and_wraps_to_the_window() {
    let (_, admin) = routers("10");
    let (_, _, body) = get(&admin, "/deliveries", Some("text/html")).await;
    let page = String::from_utf8(body.to_vec()).unwrap();
    // `ignored` has a row class of its own, not the green of `processed`.
    assert!(page.contains(r#"ignored: "ignored""#), "{page}");
    assert!(page.contains("tr.ignored {"), "{page}");
    // A fixed layout at the window's width, and cells that wrap anywhere:
    // no id, type or reason can push the last column out of a 1500 px window.
    assert!(page.contains("width: 100%; table-layout: fixed;"), "{page}");
    assert!(page.contains("overflow-wrap: anywhere;"), "{page}");
    assert!(!page.contains("th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #d0d7de; white-space: nowrap;"));
    let columns = page.matches("<th>").count();
    let widths = page[page.find("<colgroup>").unwrap()..page.find("</colgroup>").unwrap()]
        .matches("<col")
        .count()
        - 1;
    assert_eq!(columns, widths, "one <col> per column");
}
