//! Dead letters: verified deliveries that can never be processed, kept
//! instead of refused.
//!
//! A sender retries whatever it is not acknowledged with `2xx`: a payload
//! that no retry can fix (JSON that does not fit the type, a field a newer
//! API version changed) would be retried for days, then perhaps get the
//! endpoint disabled, and meanwhile be in nobody's hands. So when the inner
//! service marks a verified delivery as never processable, the layer:
//!
//! 1. stores it in a [`DeadLetterSink`] as a [`DeadLetter`]: the raw bytes,
//!    the request line and headers it was verified with, the event id, type
//!    and timestamp, and the reason;
//! 2. then commits the event and answers with the [dead-letter
//!    status](crate::WebhookLayer::dead_letter_status) (default `200`), so
//!    the sender stops and a redelivery is a duplicate.
//!
//! If the sink fails, the event is released instead and answered `503`
//! ([`Rejection::DeadLetterUnavailable`](crate::Rejection::DeadLetterUnavailable)),
//! so the sender retries and nothing is lost.
//!
//! What marks a delivery: a response carrying the [`PermanentFailure`]
//! extension. [`HandlerError::permanent`](crate::HandlerError::permanent)
//! sets it, so do the [`Webhook`](crate::extract::Webhook) extractor's and
//! the [`Dispatcher`](crate::Dispatcher)'s answers to a payload that is not
//! JSON (`400`) or does not fit the type (`422`); any service may set it
//! itself.
//!
//! The layer logs every dead letter at `error` with its id, type and reason.
//! Sinks: [`MemoryDeadLetters`] (the default, bounded), [`FileDeadLetters`]
//! (JSON lines, synced to disk), and `RedisDeadLetters` (feature `redis`: a
//! Redis list shared by every replica). Once the code is fixed, [`rerun`] hands a stored letter to the
//! handler again.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use axum::{routing::post, Router};
//! use http::StatusCode;
//! use tower::ServiceExt;
//! use tower_webhook::dead_letter::{self, MemoryDeadLetters};
//! use tower_webhook::{extract::Webhook, scheme::Spec, testing, Event, Secret, WebhookLayer};
//!
//! #[derive(serde::Deserialize)]
//! #[serde(rename_all = "camelCase")]
//! struct Order { order_id: String }
//!
//! async fn orders(_: Webhook<Event<Order>>) {}
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let scheme = Spec::petstore(Secret::new("petstore secret")?);
//! let letters = Arc::new(MemoryDeadLetters::new(100));
//! let app = Router::new()
//!     .route("/webhooks", post(orders))
//!     .layer(WebhookLayer::new(scheme.clone()).dead_letters(Arc::clone(&letters)));
//!
//! // `orderId` is a number: this payload never fits `Order`.
//! let body = r#"{"id":"evt_1","type":"order.created","created":1700000000,"data":{"orderId":7}}"#;
//! let response = app.oneshot(testing::signed_request::<axum::body::Body>(&scheme, body, "evt_1")).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! let letter = &letters.letters()[0];
//! assert_eq!(letter.id(), "evt_1");
//! assert_eq!(letter.body(), body.as_bytes());
//!
//! // Fixed: the handler now takes any JSON.
//! let fixed = Router::new().route("/webhooks", post(|_: Webhook<serde_json::Value>| async {}));
//! let again = dead_letter::rerun::<_, axum::body::Body>(letter, fixed).await?;
//! assert_eq!(again.status(), StatusCode::OK);
//! # Ok(())
//! # }
//! ```

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Uri};
use serde::{Deserialize, Serialize};
use tower_service::Service;

use crate::{PermanentFailure, Verified};

mod file;
mod memory;
#[cfg(feature = "redis")]
mod redis;

pub use self::file::FileDeadLetters;
pub use self::memory::MemoryDeadLetters;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::RedisDeadLetters;

/// A verified delivery that could not be processed, as it arrived.
///
/// Its headers are the ones the delivery was verified with (signature
/// headers included: they are not secret), except the request's own
/// credentials (`Authorization`, `Proxy-Authorization`, `Cookie`), which are
/// never stored. The secret is never part of a delivery.
#[derive(Clone, PartialEq, Eq)]
pub struct DeadLetter {
    id: String,
    event_type: Option<String>,
    timestamp: Option<i64>,
    reason: String,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    received_at: SystemTime,
}

impl DeadLetter {
    /// A dead letter for the delivery `verified`, received as `method`,
    /// `uri`, `headers`, and kept for `reason`. Credential headers are dropped.
    pub fn new(
        verified: &Verified,
        method: Method,
        uri: Uri,
        mut headers: HeaderMap,
        reason: impl Into<String>,
    ) -> Self {
        crate::event::strip_credentials(&mut headers);
        Self {
            id: verified.id().to_owned(),
            event_type: verified.event_type().map(str::to_owned),
            timestamp: verified.timestamp(),
            reason: reason.into(),
            method,
            uri,
            headers,
            body: verified.body().clone(),
            received_at: SystemTime::now(),
        }
    }

    /// What the sinks deduplicate letters by: the SHA-256 of the verified
    /// body. A captured delivery resent under fresh unsigned ids (the
    /// presets whose signature covers the body alone, with no signed
    /// timestamp: GitHub, Shopify, Bitbucket, PagerDuty, Razorpay) carries
    /// the same body and so the same signature, and is kept once instead of
    /// pushing genuine letters out. Two distinct events with byte-identical
    /// bodies are kept once too: the letter holds everything of the second.
    pub fn fingerprint(&self) -> [u8; 32] {
        use sha2::Digest as _;
        sha2::Sha256::digest(&self.body).into()
    }

    /// The event id as the scheme read it (the replay key).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The event type, when the scheme reads one.
    pub fn event_type(&self) -> Option<&str> {
        self.event_type.as_deref()
    }

    /// The signed timestamp in unix seconds, when the scheme has one.
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// Why the delivery could not be processed.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The request method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request URI, as the server saw it.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The headers the delivery was verified with (credentials removed).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The exact bytes the sender signed.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// When the layer stored it.
    pub fn received_at(&self) -> SystemTime {
        self.received_at
    }

    /// The delivery as a request for the inner service, as the layer would
    /// forward it: the same method, URI, headers and bytes, and the
    /// [`Verified`] extension. See [`rerun`].
    pub fn to_request<B: From<Bytes>>(&self) -> Request<B> {
        let mut request = Request::new(B::from(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request.extensions_mut().insert(Verified::new(
            &self.id,
            self.event_type.as_deref(),
            self.timestamp,
            self.body.clone(),
        ));
        request
    }

    /// One line of JSON, as [`FileDeadLetters`] stores it (no newline). The
    /// body and any header value that is not visible ASCII are base64.
    pub fn to_json_line(&self) -> String {
        let headers = self
            .headers
            .iter()
            .map(|(name, value)| match value.to_str() {
                Ok(text) => StoredHeader {
                    name: name.as_str().to_owned(),
                    value: Some(text.to_owned()),
                    value_base64: None,
                },
                Err(_) => StoredHeader {
                    name: name.as_str().to_owned(),
                    value: None,
                    value_base64: Some(BASE64.encode(value.as_bytes())),
                },
            })
            .collect();
        let stored = Stored {
            id: self.id.clone(),
            event_type: self.event_type.clone(),
            timestamp: self.timestamp,
            reason: self.reason.clone(),
            method: self.method.as_str().to_owned(),
            uri: self.uri.to_string(),
            headers,
            body_base64: BASE64.encode(&self.body),
            received_at_ms: self
                .received_at
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX)),
        };
        // Serializing plain strings and numbers cannot fail.
        serde_json::to_string(&stored).unwrap_or_default()
    }

    /// Reads a line written by [`to_json_line`](Self::to_json_line).
    ///
    /// # Errors
    ///
    /// When the line is not such a dead letter.
    pub fn from_json_line(line: &str) -> Result<Self, DeadLetterError> {
        let stored: Stored = serde_json::from_str(line).map_err(DeadLetterError::new)?;
        let mut headers = HeaderMap::with_capacity(stored.headers.len());
        for header in stored.headers {
            let name = HeaderName::from_bytes(header.name.as_bytes()).map_err(DeadLetterError::new)?;
            let value = match (header.value, header.value_base64) {
                (Some(text), _) => HeaderValue::from_str(&text).map_err(DeadLetterError::new)?,
                (None, Some(encoded)) => {
                    let bytes = BASE64.decode(encoded).map_err(DeadLetterError::new)?;
                    HeaderValue::from_bytes(&bytes).map_err(DeadLetterError::new)?
                }
                (None, None) => return Err(DeadLetterError::new("header without a value")),
            };
            headers.append(name, value);
        }
        Ok(Self {
            id: stored.id,
            event_type: stored.event_type,
            timestamp: stored.timestamp,
            reason: stored.reason,
            method: Method::from_bytes(stored.method.as_bytes()).map_err(DeadLetterError::new)?,
            uri: stored.uri.parse().map_err(DeadLetterError::new)?,
            headers,
            body: Bytes::from(BASE64.decode(stored.body_base64).map_err(DeadLetterError::new)?),
            received_at: UNIX_EPOCH + Duration::from_millis(stored.received_at_ms),
        })
    }
}

/// The header names and the body's length, not their contents.
impl fmt::Debug for DeadLetter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadLetter")
            .field("id", &self.id)
            .field("event_type", &self.event_type)
            .field("timestamp", &self.timestamp)
            .field("reason", &self.reason)
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .finish()
    }
}

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

#[derive(Serialize, Deserialize)]
struct Stored {
    id: String,
    event_type: Option<String>,
    timestamp: Option<i64>,
    reason: String,
    method: String,
    uri: String,
    headers: Vec<StoredHeader>,
    body_base64: String,
    received_at_ms: u64,
}

#[derive(Serialize, Deserialize)]
struct StoredHeader {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value_base64: Option<String>,
}

/// Where the layer keeps [`DeadLetter`]s.
///
/// Like [`ReplayGuard`](crate::ReplayGuard), async so that a sink can be a
/// file, a queue or a database; the future is `Send`, and must not hold a
/// lock across an `.await`. A sink that returns an error makes the layer
/// release the event and answer `503`, so the sender retries: return `Ok`
/// only once the letter is safe.
pub trait DeadLetterSink: Send + Sync + 'static {
    /// Keeps `letter`.
    fn store(&self, letter: DeadLetter) -> impl Future<Output = Result<(), DeadLetterError>> + Send;
}

impl<T: DeadLetterSink + ?Sized> DeadLetterSink for Arc<T> {
    fn store(&self, letter: DeadLetter) -> impl Future<Output = Result<(), DeadLetterError>> + Send {
        (**self).store(letter)
    }
}

/// A [`DeadLetterSink`] could not keep a letter, or a stored letter could
/// not be read back.
#[derive(Debug)]
pub struct DeadLetterError {
    source: Box<dyn StdError + Send + Sync>,
}

impl DeadLetterError {
    /// Wraps the store's error.
    pub fn new(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            source: source.into(),
        }
    }
}

impl fmt::Display for DeadLetterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dead letter could not be stored or read")
    }
}

impl StdError for DeadLetterError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A [`DeadLetterSink`] behind a pointer, so the layer's type does not name it.
pub(crate) trait ErasedSink: Send + Sync + 'static {
    fn store_boxed(&self, letter: DeadLetter) -> BoxFuture<'_, Result<(), DeadLetterError>>;
}

impl<T: DeadLetterSink> ErasedSink for T {
    fn store_boxed(&self, letter: DeadLetter) -> BoxFuture<'_, Result<(), DeadLetterError>> {
        Box::pin(self.store(letter))
    }
}

/// Hands a stored dead letter to `service` again, once the code is fixed:
/// the same request the layer forwarded ([`DeadLetter::to_request`]), with
/// its [`Verified`] extension, and the service's answer.
///
/// It bypasses the layer, on purpose: the letter was verified when it
/// arrived (its timestamp is stale by now), and its event is committed in
/// the replay guard. Check the answer yourself: a `2xx` without a
/// [`PermanentFailure`] extension means the event was processed, anything
/// else means it still cannot be, and the letter should be kept.
///
/// # Errors
///
/// The service's own error.
pub async fn rerun<S, B>(letter: &DeadLetter, mut service: S) -> Result<S::Response, S::Error>
where
    S: Service<Request<B>>,
    B: From<Bytes>,
{
    std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
    service.call(letter.to_request()).await
}

/// Whether a response of the inner service marks its delivery as a dead
/// letter, and why.
pub(crate) fn marked<B>(response: &http::Response<B>) -> Option<&str> {
    response
        .extensions()
        .get::<PermanentFailure>()
        .map(PermanentFailure::reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::AUTHORIZATION;

    /// A letter with a credential, a signature and a non-UTF-8 header and body.
    pub(super) fn letter() -> DeadLetter {
        let mut headers = HeaderMap::new();
        headers.insert("x-signature", HeaderValue::from_static("sha256=abc"));
        headers.insert("x-odd", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer token"));
        let verified = Verified::new(
            "evt_1",
            Some("order.created"),
            Some(1_700_000_000),
            Bytes::from_static(b"{\"a\":\xff}"),
        );
        DeadLetter::new(
            &verified,
            Method::POST,
            Uri::from_static("/webhooks?x=1"),
            headers,
            "bad data",
        )
    }

    #[test]
    fn json_line_round_trips_bytes_and_headers_but_drops_credentials() {
        let letter = letter();
        assert!(letter.headers().get(AUTHORIZATION).is_none());
        let line = letter.to_json_line();
        assert!(!line.contains('\n'));
        let back = DeadLetter::from_json_line(&line).unwrap();
        assert_eq!(back.body(), &b"{\"a\":\xff}"[..]);
        assert_eq!(back.headers()["x-odd"].as_bytes(), b"caf\xe9");
        assert_eq!(back.headers()["x-signature"], "sha256=abc");
        assert_eq!(
            (back.id(), back.event_type(), back.timestamp(), back.reason()),
            ("evt_1", Some("order.created"), Some(1_700_000_000), "bad data")
        );
        assert_eq!(back.uri(), "/webhooks?x=1");
        assert_eq!(back.method(), Method::POST);
    }

    #[test]
    fn debug_shows_no_header_values_or_body() {
        let text = format!("{:?}", letter());
        assert!(!text.contains("sha256=abc"), "{text}");
        assert!(text.contains("body_len"), "{text}");
    }

    #[test]
    fn garbage_line_is_an_error() {
        assert!(DeadLetter::from_json_line("{\"id\":1}").is_err());
        assert!(DeadLetter::from_json_line("not json").is_err());
    }
}
