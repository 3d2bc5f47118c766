//! Signed requests and verifying from headers, for tests of handlers.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use http::{Request, Uri};

use crate::rejection::Rejection;
use crate::scheme::request::RequestParts;
use crate::scheme::sign::Sign;
use crate::scheme::verdict::{Verdict, VerifiedEvent};
use crate::scheme::verify::Scheme;

/// A `POST /webhooks` request signed by `scheme` now, with a JSON content
/// type: `body` as [`Sign::sign_body`] writes it, and the signed headers.
/// Shorthand for [`SignedRequest::new(scheme, body, id).build()`](SignedRequest);
/// for another path or the event type header, use [`SignedRequest`].
pub fn signed_request<B: From<Bytes>>(scheme: &impl Sign, body: impl Into<Bytes>, id: &str) -> Request<B> {
    SignedRequest::new(scheme, body, id).build()
}

/// Like [`signed_request`], signed at unix time `timestamp`.
pub fn signed_request_at<B: From<Bytes>>(
    scheme: &impl Sign,
    body: impl Into<Bytes>,
    id: &str,
    timestamp: i64,
) -> Request<B> {
    SignedRequest::new(scheme, body, id).at(timestamp).build()
}

/// A signed `POST` built as the scheme's sender builds it: the path it is
/// sent to, the signed headers, and the event type header the sender writes
/// (GitHub's `X-GitHub-Event`, Shopify's `X-Shopify-Topic`, ...), so that
/// [`VerifiedEvent::event_type`] answers in a test as it does in production.
///
/// ```
/// use axum::body::Body;
/// use http::{Request, Uri};
/// use tower_webhook::scheme::GitHub;
/// use tower_webhook::testing::SignedRequest;
/// use tower_webhook::Secret;
///
/// let github = GitHub::new(Secret::new("a webhook secret of 16 bytes or more")?);
/// let request: Request<Body> = SignedRequest::new(&github, r#"{"zen":"Keep it simple."}"#, "delivery-1")
///     .uri("/github")
///     .event_type("ping")
///     .build();
/// assert_eq!(request.uri(), "/github");
/// assert_eq!(request.headers()["x-github-event"], "ping");
/// assert_eq!(request.headers()["x-github-delivery"], "delivery-1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[must_use = "a SignedRequest does nothing until `build` is called"]
pub struct SignedRequest<'a, S: ?Sized> {
    scheme: &'a S,
    body: Bytes,
    id: &'a str,
    uri: Uri,
    event_type: Option<&'a str>,
    timestamp: Option<i64>,
}

impl<'a, S: Sign + ?Sized> SignedRequest<'a, S> {
    /// A `POST /webhooks` of `body` for the event `id`, to be signed by
    /// `scheme` at the current time.
    pub fn new(scheme: &'a S, body: impl Into<Bytes>, id: &'a str) -> Self {
        Self {
            scheme,
            body: body.into(),
            id,
            uri: Uri::from_static("/webhooks"),
            event_type: None,
            timestamp: None,
        }
    }

    /// The request's URI (path and query, or an absolute URI), for a
    /// service that routes by path (`/github`, `/stripe`).
    ///
    /// # Panics
    ///
    /// When `uri` is not a valid URI: a test's mistake, reported at once.
    pub fn uri(mut self, uri: &str) -> Self {
        self.uri = uri
            .parse()
            .unwrap_or_else(|error| panic!("SignedRequest::uri({uri:?}): {error}"));
        self
    }

    /// The event type, written to the header the sender names it in
    /// ([`Sign::event_type_header`]); for a scheme that reads the type from
    /// the body, put it in the body instead (this then does nothing).
    pub fn event_type(mut self, event_type: &'a str) -> Self {
        self.event_type = Some(event_type);
        self
    }

    /// Signs at unix time `timestamp` rather than now.
    pub fn at(mut self, timestamp: i64) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// The request, with a JSON content type and every header the sender sends.
    ///
    /// # Panics
    ///
    /// When the event type is not a valid header value (a test's mistake).
    pub fn build<B: From<Bytes>>(self) -> Request<B> {
        let timestamp = self.timestamp.unwrap_or_else(now);
        let (body, signed) = self.scheme.sign_delivery(self.body, self.id, timestamp);
        let mut request = Request::new(B::from(body));
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = self.uri;
        let headers = request.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.extend(signed);
        if let (Some(name), Some(event_type)) = (self.scheme.event_type_header(), self.event_type) {
            let value = HeaderValue::try_from(event_type)
                .unwrap_or_else(|error| panic!("SignedRequest::event_type({event_type:?}): {error}"));
            headers.insert(name, value);
        }
        request
    }
}

/// The current unix time in seconds.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Verifying from headers alone, for tests.
pub trait VerifyHeaders: Scheme {
    /// Verifies a `POST /` with these headers as of `now`, expecting an event.
    ///
    /// # Errors
    ///
    /// The scheme's [`Rejection`].
    ///
    /// # Panics
    ///
    /// When the scheme answers a handshake instead: a test that expects one
    /// calls [`Scheme::verify`](Scheme::verify) itself.
    fn verify_headers(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<VerifiedEvent, Rejection> {
        match self.verify(RequestParts::post(headers), body, now)? {
            Verdict::Event(delivery) => Ok(delivery),
            other => panic!("expected an event, got {other:?}"),
        }
    }
}

impl<S: Scheme + ?Sized> VerifyHeaders for S {}
