//! Build correctly signed requests for every scheme, to test your own handlers.
//!
//! Enabled by the `test-util` feature.
//!
//! ```
//! use http::StatusCode;
//! use http_body_util::Full;
//! use bytes::Bytes;
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_webhook::{scheme::Hmac, testing, Secret, WebhookLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let scheme = Hmac::petstore(Secret::new("test secret")?);
//! let request = testing::signed_request::<Full<Bytes>>(
//!     &scheme,
//!     r#"{"id":"evt_1","type":"order.created","created":0,"data":{}}"#,
//!     "evt_1",
//! );
//! let service = ServiceBuilder::new()
//!     .layer(WebhookLayer::new(scheme))
//!     .service(service_fn(|_req: http::Request<Full<Bytes>>| async {
//!         Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::new())))
//!     }));
//! assert_eq!(service.oneshot(request).await?.status(), StatusCode::OK);
//! # Ok(())
//! # }
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use http::Request;

use crate::scheme::{GitHub, Hmac, Shopify, Slack, StandardWebhooks, Stripe};

/// A scheme that can sign deliveries as its sender does, with its first secret.
pub trait Sign {
    /// The headers a sender would send with `body`, for the event `id` (used
    /// where the scheme carries the id in a header) at unix time `timestamp`
    /// (used where the scheme has one).
    fn sign_headers(&self, body: &[u8], id: &str, timestamp: i64) -> HeaderMap;
}

/// A `POST /webhooks` request signed by `scheme` now, with a JSON content type.
pub fn signed_request<B: From<Bytes>>(scheme: &impl Sign, body: impl Into<Bytes>, id: &str) -> Request<B> {
    signed_request_at(scheme, body, id, now())
}

/// Like [`signed_request`], signed at unix time `timestamp`.
pub fn signed_request_at<B: From<Bytes>>(
    scheme: &impl Sign,
    body: impl Into<Bytes>,
    id: &str,
    timestamp: i64,
) -> Request<B> {
    let body = body.into();
    let mut request = Request::new(B::from(body.clone()));
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = http::Uri::from_static("/webhooks");
    let headers = request.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.extend(scheme.sign_headers(&body, id, timestamp));
    request
}

/// The current unix time in seconds.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

pub(crate) fn header(headers: &mut HeaderMap, name: &HeaderName, value: &str) {
    headers.insert(
        name.clone(),
        HeaderValue::try_from(value).expect("signed header values are ASCII"),
    );
}

impl Sign for Hmac {
    fn sign_headers(&self, body: &[u8], id: &str, timestamp: i64) -> HeaderMap {
        let timestamp = timestamp.to_string();
        let mut headers = HeaderMap::new();
        header(
            &mut headers,
            self.signature_header(),
            &self.sign(body, id, &timestamp),
        );
        if let Some(name) = self.timestamp_header_name() {
            header(&mut headers, name, &timestamp);
        }
        if let Some(name) = self.id_header_name() {
            header(&mut headers, name, id);
        }
        headers
    }
}

impl Sign for StandardWebhooks {
    fn sign_headers(&self, body: &[u8], id: &str, timestamp: i64) -> HeaderMap {
        let mut headers = HeaderMap::new();
        header(&mut headers, &HeaderName::from_static("webhook-id"), id);
        header(
            &mut headers,
            &HeaderName::from_static("webhook-timestamp"),
            &timestamp.to_string(),
        );
        header(
            &mut headers,
            &HeaderName::from_static("webhook-signature"),
            &self.sign(id, timestamp, body),
        );
        headers
    }
}

/// `X-Hub-Signature-256` and `X-GitHub-Delivery: id`. `X-GitHub-Event` is
/// not signed; add it yourself where the handler reads it.
impl Sign for GitHub {
    fn sign_headers(&self, body: &[u8], id: &str, timestamp: i64) -> HeaderMap {
        self.hmac().sign_headers(body, id, timestamp)
    }
}

/// `X-Shopify-Hmac-Sha256` and `X-Shopify-Webhook-Id: id`. `X-Shopify-Topic`
/// is not signed; add it yourself where the handler reads it.
impl Sign for Shopify {
    fn sign_headers(&self, body: &[u8], id: &str, timestamp: i64) -> HeaderMap {
        self.hmac().sign_headers(body, id, timestamp)
    }
}

/// `Stripe-Signature: t=timestamp,v1=...`. The id is the body's `id`, so
/// `id` is not used.
impl Sign for Stripe {
    fn sign_headers(&self, body: &[u8], _id: &str, timestamp: i64) -> HeaderMap {
        let mut headers = HeaderMap::new();
        header(
            &mut headers,
            &HeaderName::from_static("stripe-signature"),
            &self.sign(timestamp, body),
        );
        headers
    }
}

/// `X-Slack-Request-Timestamp` and `X-Slack-Signature`. The id is the
/// body's `event_id` (or the signature), so `id` is not used.
impl Sign for Slack {
    fn sign_headers(&self, body: &[u8], _id: &str, timestamp: i64) -> HeaderMap {
        let mut headers = HeaderMap::new();
        header(
            &mut headers,
            &HeaderName::from_static("x-slack-request-timestamp"),
            &timestamp.to_string(),
        );
        header(
            &mut headers,
            &HeaderName::from_static("x-slack-signature"),
            &self.sign(timestamp, body),
        );
        headers
    }
}
