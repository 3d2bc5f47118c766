//! Signed requests and verifying from headers, for tests of handlers.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use http::Request;

use crate::rejection::Rejection;
use crate::scheme::request::RequestParts;
use crate::scheme::sign::Sign;
use crate::scheme::verdict::{Verdict, VerifiedEvent};
use crate::scheme::verify::Scheme;

/// A `POST /webhooks` request signed by `scheme` now, with a JSON content
/// type: `body` as [`Sign::sign_body`] writes it, and the signed headers.
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
    let (body, signed) = scheme.sign_delivery(body.into(), id, timestamp);
    let mut request = Request::new(B::from(body));
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = http::Uri::from_static("/webhooks");
    let headers = request.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.extend(signed);
    request
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
