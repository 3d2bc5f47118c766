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

use crate::scheme::{Algorithm, Spec};

/// A scheme that can sign deliveries as its sender does. This is the one
/// signing shape of the crate: every preset, every [`Spec`] holding a
/// secret, and a [`Signer`] holding a private key sign the same way.
pub trait Sign {
    /// The headers a sender would send with `body`, for the event `id` (used
    /// where the scheme carries the id in a header) at unix time `timestamp`
    /// (used where the scheme has one, written in the scheme's format).
    fn sign_headers(&self, body: &[u8], id: &str, timestamp: i64) -> HeaderMap;
}

/// What a sender signs, for [`Spec`]s whose content names `{method}` or `{url}` too.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// The raw body.
    pub body: &'a [u8],
    /// The event id, where the scheme carries it in a header.
    pub id: &'a str,
    /// Unix seconds.
    pub timestamp: i64,
    /// The request method.
    pub method: &'a str,
    /// The URL signed, when the spec has no configured public URL.
    pub url: &'a str,
}

impl<'a> Message<'a> {
    /// A `POST` of `body` for `id` at `timestamp`, with no URL.
    pub fn new(body: &'a [u8], id: &'a str, timestamp: i64) -> Self {
        Self {
            body,
            id,
            timestamp,
            method: "POST",
            url: "",
        }
    }
}

/// Signs with the spec's first secret (HMAC versions only: a spec holds no
/// private key). A spec with public keys only signs nothing; use a [`Signer`].
impl Sign for Spec {
    fn sign_headers(&self, body: &[u8], id: &str, timestamp: i64) -> HeaderMap {
        self.sign_with(&Message::new(body, id, timestamp), &|alg, parts| {
            self.hmac_sign(alg, parts)
        })
    }
}

/// A private key, for signing as an asymmetric sender does.
#[derive(Clone)]
#[non_exhaustive]
pub enum SigningKey {
    /// An Ed25519 signing key.
    #[cfg(feature = "ed25519")]
    Ed25519(ed25519_dalek::SigningKey),
    /// An ECDSA P-256 signing key.
    #[cfg(feature = "p256")]
    P256(p256::ecdsa::SigningKey),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

impl SigningKey {
    /// The public key that verifies this key's signatures.
    pub fn public_key(&self) -> crate::PublicKey {
        match self {
            #[cfg(feature = "ed25519")]
            Self::Ed25519(k) => crate::PublicKey::ed25519(k.verifying_key().as_bytes()).expect("a valid key"),
            #[cfg(feature = "p256")]
            Self::P256(k) => crate::PublicKey::p256(&k.verifying_key().to_sec1_bytes()).expect("a valid key"),
            #[allow(unreachable_patterns)]
            _ => unreachable!("SigningKey has no variant without a feature"),
        }
    }

    fn sign(&self, algorithm: Algorithm, parts: &[&[u8]]) -> Option<Vec<u8>> {
        let message = parts.concat();
        let _ = &message;
        match (self, algorithm) {
            #[cfg(feature = "ed25519")]
            (Self::Ed25519(k), Algorithm::Ed25519) => {
                use ed25519_dalek::Signer as _;
                Some(k.sign(&message).to_bytes().to_vec())
            }
            #[cfg(feature = "p256")]
            (Self::P256(k), Algorithm::EcdsaP256) => {
                use p256::ecdsa::signature::Signer as _;
                let signature: p256::ecdsa::Signature = k.sign(&message);
                Some(signature.to_der().as_bytes().to_vec())
            }
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

/// Signs for a [`Spec`] (or preset) with a private key, the way an
/// asymmetric sender (Discord, SendGrid, Standard Webhooks `v1a`) does.
#[derive(Debug, Clone)]
pub struct Signer {
    spec: Spec,
    key: SigningKey,
}

impl Signer {
    /// Signs as `spec`'s sender with `key`.
    pub fn new(spec: impl Into<Spec>, key: SigningKey) -> Self {
        Self {
            spec: spec.into(),
            key,
        }
    }

    /// Signs a [`Message`] (for specs that sign the method or URL).
    pub fn sign_message(&self, message: &Message<'_>) -> HeaderMap {
        self.spec
            .sign_with(message, &|alg, parts| self.key.sign(alg, parts))
    }
}

impl Sign for Signer {
    fn sign_headers(&self, body: &[u8], id: &str, timestamp: i64) -> HeaderMap {
        self.sign_message(&Message::new(body, id, timestamp))
    }
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

/// Verifying from headers alone, for tests.
pub trait VerifyHeaders: crate::Scheme {
    /// Verifies a `POST /` with these headers as of `now`, expecting an event.
    ///
    /// # Errors
    ///
    /// The scheme's [`Rejection`](crate::Rejection).
    ///
    /// # Panics
    ///
    /// When the scheme answers a handshake instead: a test that expects one
    /// calls [`Scheme::verify`](crate::Scheme::verify) itself.
    fn verify_headers(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<crate::Delivery, crate::Rejection> {
        match self.verify(crate::scheme::RequestParts::post(headers), body, now)? {
            crate::scheme::Verdict::Event(delivery) => Ok(delivery),
            other => panic!("expected an event, got {other:?}"),
        }
    }
}

impl<S: crate::Scheme + ?Sized> VerifyHeaders for S {}

impl Spec {
    /// The signature header's value alone that this spec's sender would
    /// send (signed with the first secret).
    pub fn signature_value(&self, body: &[u8], id: &str, timestamp: i64) -> String {
        let headers = self.sign_headers(body, id, timestamp);
        headers
            .get(self.signature_header())
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}
