//! Every provider preset by subject, in one test binary: a module per
//! provider with its vectors (official, SDK-made, computed: the files of
//! `tests/fixtures/providers/`), its behaviour verified with an injected
//! clock and, where it has one, its path through the layer; `registry` and
//! `through_layer` drive several presets at once through the registry and the
//! layer. A new provider is one module here and one fixture file.

#[allow(dead_code)]
#[path = "../../examples/receiver.rs"]
mod receiver;

mod bitbucket;
mod calendly;
mod clerk;
mod coinbase;
mod discord;
mod github;
mod gitlab;
mod hubspot;
mod lemonsqueezy;
mod linear;
mod mailgun;
mod meta;
mod mux;
mod notion;
mod paddle;
mod pagerduty;
mod paystack;
mod polar;
mod razorpay;
mod registry;
mod replicate;
mod resend;
mod sendgrid;
mod sentry;
mod shopify;
mod slack;
mod square;
mod standard_webhooks;
mod stripe;
mod support;
mod through_layer;
mod twitch;
mod webflow;
mod workos;
mod zoom;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::{service_fn, Service, ServiceBuilder, ServiceExt};
use tower_webhook::layer::ResponseBody;
use tower_webhook::scheme::{Bitbucket, GitLab, LemonSqueezy, Meta};
use tower_webhook::scheme::{GitHub, Scheme, Shopify, Slack, StandardWebhooks, Stripe};
use tower_webhook::testing::VerifyHeaders as _;
use tower_webhook::testing::{self, Sign};
use tower_webhook::{Rejection, Secret, Secrets, Verified, WebhookLayer};

/// The instant every test signs and verifies at.
const T: i64 = 1_700_000_000;

fn at(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs.try_into().unwrap())
}

fn secret(text: &str) -> Secret {
    Secret::new(text).unwrap()
}

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    headers.insert(
        HeaderName::from_static(name),
        HeaderValue::from_str(value).unwrap(),
    );
}

fn status(result: Result<tower_webhook::VerifiedEvent, Rejection>) -> StatusCode {
    result.map_or_else(|r| r.status(), |_| StatusCode::OK)
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in pairs {
        set(&mut h, name, value);
    }
    h
}

const VERIFY: &str = "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock";

/// One request through `scheme` behind the layer: the status, the body, the
/// content type and how many times the inner service ran so far.
async fn send<S: Scheme + Clone>(
    scheme: &S,
    calls: &Arc<AtomicUsize>,
    guard: &Arc<tower_webhook::LruGuard>,
    request: Request<Full<Bytes>>,
) -> (StatusCode, Bytes, Option<String>) {
    let calls = Arc::clone(calls);
    let inner = service_fn(move |_request: Request<_>| {
        calls.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"handled")))) }
    });
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(scheme.clone()).guard(Arc::clone(guard)))
        .service(inner);
    let response = svc.oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, body, content_type)
}

fn get(query: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(Method::GET)
        .uri(format!("/webhooks?{query}"))
        .body(Full::new(Bytes::new()))
        .unwrap()
}

fn post(headers: HeaderMap, body: &'static [u8]) -> Request<Full<Bytes>> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/webhooks")
        .body(Full::new(Bytes::from_static(body)))
        .unwrap();
    *request.headers_mut() = headers;
    request
}

fn config(vars: &[(&str, &str)]) -> Result<receiver::Config, String> {
    let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    receiver::Config::from_lookup(|name| Ok(vars.get(name).cloned()))
}
