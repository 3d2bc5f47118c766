//! Build correctly signed requests for every scheme, to test your own handlers.
//!
//! Enabled by the `test-util` feature. Every signer implements [`Sign`]:
//! the signature headers, and for the schemes that carry signing in the body
//! (Mailgun's signature block, Linear's `webhookTimestamp`) the body as the
//! sender would send it; [`signed_request`] does both.
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
///
/// A delivery is signed in two steps, [`sign_body`](Sign::sign_body) then
/// [`sign_headers`](Sign::sign_headers) over the body it returned;
/// [`sign_delivery`](Sign::sign_delivery), [`signed_request`] and the
/// example sender do both. Most schemes sign the body as they are given it
/// and only add headers. A scheme that carries part of its signing in the
/// body writes it there first:
///
/// - [`Mailgun`](crate::scheme::Mailgun) sets the body's top-level
///   `signature` object (`timestamp`, `token` = the event id, `signature`),
///   replacing the one already there; the rest of the body, `event-data`
///   included, is kept byte for byte (Mailgun does not sign it);
/// - a [`Spec`] whose timestamp is a top-level body field
///   ([`SpecBuilder::timestamp_body`](crate::scheme::SpecBuilder::timestamp_body):
///   [`Linear`](crate::scheme::Linear)'s `webhookTimestamp`) sets that field
///   to `timestamp`, so each attempt carries the time it was signed at, as
///   the sender's own does.
///
/// ```
/// use bytes::Bytes;
/// use tower_webhook::scheme::{Mailgun, RequestParts, Scheme};
/// use tower_webhook::testing::Sign;
/// use tower_webhook::Secret;
///
/// let mailgun = Mailgun::new(Secret::new("mailgun signing key")?);
/// let event = Bytes::from_static(br#"{"event-data":{"event":"delivered"}}"#);
/// let (body, headers) = mailgun.sign_delivery(event, "a-token-of-fifty-random-chars", 1_700_000_000);
/// assert!(body.starts_with(br#"{"signature":{"timestamp":"1700000000","token":"a-token-of-fifty-random-chars","#));
/// assert!(body.ends_with(br#""event-data":{"event":"delivered"}}"#));
///
/// let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
/// let verdict = mailgun.verify(RequestParts::post(&headers), &body, now)?;
/// assert_eq!(verdict.event().unwrap().id(), "a-token-of-fifty-random-chars");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Sign {
    /// The headers a sender would send with `body`, for the event `id` (used
    /// where the scheme carries the id in a header) at unix time `timestamp`
    /// (used where the scheme has one, written in the scheme's format).
    fn sign_headers(&self, body: &[u8], id: &str, timestamp: i64) -> HeaderMap;

    /// The body a sender would send for `body`, for the event `id` at unix
    /// time `timestamp`: `body` itself (the default) unless the scheme
    /// carries a signature or a signed timestamp inside the body (see the
    /// trait's docs). A body such a scheme cannot write into (not a JSON
    /// object) comes back unchanged, and will not verify.
    fn sign_body(&self, body: Bytes, id: &str, timestamp: i64) -> Bytes {
        let _ = (id, timestamp);
        body
    }

    /// What a sender sends for `body`: [`sign_body`](Sign::sign_body), then
    /// [`sign_headers`](Sign::sign_headers) over the body it returned.
    fn sign_delivery(&self, body: Bytes, id: &str, timestamp: i64) -> (Bytes, HeaderMap) {
        let body = self.sign_body(body, id, timestamp);
        let headers = self.sign_headers(&body, id, timestamp);
        (body, headers)
    }
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

    /// Sets a top-level body timestamp field to `timestamp` (Linear's
    /// `webhookTimestamp`); any other body is returned as it is.
    fn sign_body(&self, body: Bytes, _id: &str, timestamp: i64) -> Bytes {
        self.with_body_timestamp(body, timestamp)
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

    fn sign_body(&self, body: Bytes, id: &str, timestamp: i64) -> Bytes {
        self.spec.sign_body(body, id, timestamp)
    }
}

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

impl SigningKey {
    /// An Ed25519 signing key from the hex of its 32-byte seed.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKey`](crate::scheme::ConfigError::InvalidKey) unless 32 bytes of hex.
    #[cfg(feature = "ed25519")]
    pub fn ed25519_hex(seed: &str) -> Result<Self, crate::scheme::ConfigError> {
        let seed: [u8; 32] = hex::decode(seed.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(crate::scheme::ConfigError::InvalidKey {
                reason: "an Ed25519 seed is 32 bytes of hex",
            })?;
        Ok(Self::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// A Standard Webhooks `whsk_` key: base64 of the 64-byte seed‖public key.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKey`](crate::scheme::ConfigError::InvalidKey) for anything else.
    #[cfg(feature = "ed25519")]
    pub fn whsk(text: &str) -> Result<Self, crate::scheme::ConfigError> {
        let bad = crate::scheme::ConfigError::InvalidKey {
            reason: "a whsk_ key is base64 of 64 bytes",
        };
        let bytes = text
            .trim()
            .strip_prefix("whsk_")
            .and_then(|b| crate::encoding::decode_base64(b).ok())
            .filter(|b| b.len() == 64)
            .ok_or(bad)?;
        let seed: [u8; 32] = bytes[..32].try_into().expect("64 bytes");
        Ok(Self::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// An ECDSA P-256 signing key from the hex of its 32-byte secret scalar.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKey`](crate::scheme::ConfigError::InvalidKey) unless a valid scalar.
    #[cfg(feature = "p256")]
    pub fn p256_hex(scalar: &str) -> Result<Self, crate::scheme::ConfigError> {
        let bytes = hex::decode(scalar.trim()).unwrap_or_default();
        p256::ecdsa::SigningKey::from_slice(&bytes)
            .map(Self::P256)
            .map_err(|_| crate::scheme::ConfigError::InvalidKey {
                reason: "a P-256 secret scalar is 32 bytes of hex",
            })
    }
}

/// Where a preset's event id comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdSource {
    /// A header.
    Header(&'static str),
    /// A field of the JSON body.
    Body(&'static str),
    /// The verified signature (`sig:<hex>`).
    Signature,
}

/// Where a preset's signature travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureSource {
    /// A header.
    Header(&'static str),
    /// A string field of the JSON body, at this dotted path (Mailgun's
    /// `signature.signature`), written by [`Sign::sign_body`].
    Body(&'static str),
}

/// A signer, boxed.
pub type BoxSigner = Box<dyn Sign + Send + Sync>;

/// A scheme, boxed.
pub type BoxScheme = Box<dyn crate::Scheme>;

/// One preset, described once for the tests, fuzz targets and examples: a
/// new provider is a declaration, one line in [`presets`], and its vectors.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct Preset {
    /// The name, as the `scheme` field of the shared vector files.
    pub name: &'static str,
    /// The scheme, from the verification key as the provider hands it out
    /// (a secret, or a public key) and the endpoint's public URL (used by
    /// URL-signed schemes only).
    pub scheme: fn(key: &str, public_url: &str) -> Result<BoxScheme, crate::scheme::ConfigError>,
    /// A signer, from the sender's key (the secret, or a private key: hex of
    /// an Ed25519 seed or a P-256 scalar, or `whsk_`), and the public URL.
    pub signer: fn(key: &str, public_url: &str) -> Result<BoxSigner, crate::scheme::ConfigError>,
    /// A matching (verification key, signing key) pair for tests.
    pub test_keys: fn() -> (String, String),
    /// A signing key of the same kind that does not match `test_keys`: a forger's.
    pub forger_key: &'static str,
    /// Where the signature travels: a header, or (Mailgun) the body.
    pub signature: SignatureSource,
    /// The timestamp header, if the timestamp has one of its own.
    pub timestamp_header: Option<&'static str>,
    /// Where the event id comes from.
    pub id: IdSource,
    /// Whether the id is covered by the signature.
    pub id_signed: bool,
    /// Whether the raw body bytes are signed as sent (Twilio signs decoded
    /// form parameters, so `+` and `%20` are the same to it; Mailgun signs
    /// only its signature block's timestamp and token, not the event data).
    pub body_signed_verbatim: bool,
    /// Whether the scheme signs the public URL.
    pub url_signed: bool,
}

impl std::fmt::Debug for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preset")
            .field("name", &self.name)
            .field("signature", &self.signature)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A preset by its name.
pub fn preset(name: &str) -> Option<&'static Preset> {
    presets().iter().find(|p| p.name == name)
}

/// Signs as the inner signer, then renames headers (Svix's `svix-*` names).
struct Renamed(BoxSigner, &'static [(&'static str, &'static str)]);

impl Sign for Renamed {
    fn sign_body(&self, body: Bytes, id: &str, timestamp: i64) -> Bytes {
        self.0.sign_body(body, id, timestamp)
    }

    fn sign_headers(&self, body: &[u8], id: &str, timestamp: i64) -> HeaderMap {
        let mut headers = self.0.sign_headers(body, id, timestamp);
        for (from, to) in self.1 {
            if let Some(value) = headers.remove(*from) {
                headers.insert(HeaderName::from_static(to), value);
            }
        }
        headers
    }
}

fn secret(text: &str) -> Result<crate::Secret, crate::scheme::ConfigError> {
    Ok(crate::Secret::new(text)?)
}

/// Every preset of the crate, once.
pub fn presets() -> &'static [Preset] {
    use crate::scheme::{Bitbucket, GitLab, Intercom, LemonSqueezy, Meta, Typeform, Vercel};
    use crate::scheme::{Calendly, CoinbaseCommerce, Linear, Mailgun, Mux, PagerDuty, Razorpay};
    use crate::scheme::{GitHub, Paddle, Shopify, Slack, StandardWebhooks, Stripe, Twilio, Twitch, Zoom};
    macro_rules! hmac {
        ($name:literal, $ty:ident, $sig:literal, $ts:expr, $id:expr, $signed:literal) => {
            Preset {
                name: $name,
                scheme: |key, _| Ok(Box::new($ty::new(secret(key)?))),
                signer: |key, _| Ok(Box::new($ty::new(secret(key)?))),
                test_keys: || ("registry secret".into(), "registry secret".into()),
                forger_key: "another secret",
                signature: SignatureSource::Header($sig),
                timestamp_header: $ts,
                id: $id,
                id_signed: $signed,
                body_signed_verbatim: true,
                url_signed: false,
            }
        };
    }
    static PRESETS: std::sync::OnceLock<Vec<Preset>> = std::sync::OnceLock::new();
    PRESETS.get_or_init(|| {
        #[allow(unused_mut)]
        let mut all = vec![
            Preset {
                name: "petstore",
                scheme: |key, _| Ok(Box::new(Spec::petstore(secret(key)?))),
                signer: |key, _| Ok(Box::new(Spec::petstore(secret(key)?))),
                test_keys: || ("registry secret".into(), "registry secret".into()),
                forger_key: "another secret",
                signature: SignatureSource::Header("x-petstore-signature"),
                timestamp_header: None,
                id: IdSource::Body("id"),
                id_signed: true,
                body_signed_verbatim: true,
                url_signed: false,
            },
            Preset {
                name: "standard-webhooks",
                scheme: |key, _| Ok(Box::new(StandardWebhooks::new(StandardWebhooks::secret(key)?))),
                signer: |key, _| Ok(Box::new(StandardWebhooks::new(StandardWebhooks::secret(key)?))),
                test_keys: || {
                    let key = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned();
                    (key.clone(), key)
                },
                forger_key: "whsec_YW5vdGhlciBzZWNyZXQ=",
                signature: SignatureSource::Header("webhook-signature"),
                timestamp_header: Some("webhook-timestamp"),
                id: IdSource::Header("webhook-id"),
                id_signed: true,
                body_signed_verbatim: true,
                url_signed: false,
            },
            Preset {
                name: "svix",
                scheme: |key, _| Ok(Box::new(StandardWebhooks::new(StandardWebhooks::secret(key)?))),
                signer: |key, _| {
                    let inner: BoxSigner = Box::new(StandardWebhooks::new(StandardWebhooks::secret(key)?));
                    Ok(Box::new(Renamed(
                        inner,
                        &[
                            ("webhook-id", "svix-id"),
                            ("webhook-timestamp", "svix-timestamp"),
                            ("webhook-signature", "svix-signature"),
                        ],
                    )))
                },
                test_keys: || {
                    let key = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned();
                    (key.clone(), key)
                },
                forger_key: "whsec_YW5vdGhlciBzZWNyZXQ=",
                signature: SignatureSource::Header("svix-signature"),
                timestamp_header: Some("svix-timestamp"),
                id: IdSource::Header("svix-id"),
                id_signed: true,
                body_signed_verbatim: true,
                url_signed: false,
            },
            hmac!("github", GitHub, "x-hub-signature-256", None, IdSource::Header("x-github-delivery"), false),
            hmac!("stripe", Stripe, "stripe-signature", None, IdSource::Body("id"), true),
            hmac!("slack", Slack, "x-slack-signature", Some("x-slack-request-timestamp"), IdSource::Body("event_id"), true),
            hmac!("shopify", Shopify, "x-shopify-hmac-sha256", None, IdSource::Header("x-shopify-webhook-id"), false),
            hmac!("zoom", Zoom, "x-zm-signature", Some("x-zm-request-timestamp"), IdSource::Signature, true),
            hmac!(
                "twitch-eventsub",
                Twitch,
                "twitch-eventsub-message-signature",
                Some("twitch-eventsub-message-timestamp"),
                IdSource::Header("twitch-eventsub-message-id"),
                true
            ),
            hmac!("paddle-billing", Paddle, "paddle-signature", None, IdSource::Body("event_id"), true),
            hmac!("intercom", Intercom, "x-hub-signature", None, IdSource::Body("id"), true),
            hmac!("bitbucket", Bitbucket, "x-hub-signature", None, IdSource::Header("x-request-uuid"), false),
            hmac!("typeform", Typeform, "typeform-signature", None, IdSource::Body("event_id"), true),
            hmac!("vercel", Vercel, "x-vercel-signature", None, IdSource::Body("id"), true),
            hmac!("lemonsqueezy", LemonSqueezy, "x-signature", None, IdSource::Signature, true),
            hmac!("meta", Meta, "x-hub-signature-256", None, IdSource::Signature, true),
            Preset {
                name: "gitlab",
                scheme: |key, _| Ok(Box::new(GitLab::new(secret(key)?))),
                signer: |key, _| Ok(Box::new(crate::scheme::gitlab::GitLabSender(secret(key)?))),
                test_keys: || ("registry secret".into(), "registry secret".into()),
                forger_key: "another secret",
                signature: SignatureSource::Header("x-gitlab-token"),
                timestamp_header: None,
                id: IdSource::Header("idempotency-key"),
                id_signed: false,
                // A token, not a signature: the body is not covered at all.
                body_signed_verbatim: false,
                url_signed: false,
            },
            hmac!("calendly", Calendly, "calendly-webhook-signature", None, IdSource::Signature, true),
            hmac!("mux", Mux, "mux-signature", None, IdSource::Body("id"), true),
            hmac!("pagerduty-v3", PagerDuty, "x-pagerduty-signature", None, IdSource::Header("x-webhook-id"), false),
            hmac!("razorpay", Razorpay, "x-razorpay-signature", None, IdSource::Header("x-razorpay-event-id"), false),
            hmac!("coinbase-commerce", CoinbaseCommerce, "x-cc-webhook-signature", None, IdSource::Body("event.id"), true),
            // The timestamp is the body's `webhookTimestamp`, which
            // `sign_body` sets (a body that is not a JSON object cannot carry it).
            hmac!("linear", Linear, "linear-signature", None, IdSource::Header("linear-delivery"), false),
            // The signature, its timestamp and the token (the id) are written
            // into the body by `sign_body`; `event-data` is not signed.
            Preset {
                name: "mailgun",
                scheme: |key, _| Ok(Box::new(Mailgun::new(secret(key)?))),
                signer: |key, _| Ok(Box::new(Mailgun::new(secret(key)?))),
                test_keys: || ("registry secret".into(), "registry secret".into()),
                forger_key: "another secret",
                signature: SignatureSource::Body("signature.signature"),
                timestamp_header: None,
                id: IdSource::Body("signature.token"),
                id_signed: true,
                body_signed_verbatim: false,
                url_signed: false,
            },
            Preset {
                name: "twilio",
                scheme: |key, url| Ok(Box::new(Twilio::new(secret(key)?, url)?)),
                signer: |key, url| Ok(Box::new(Twilio::new(secret(key)?, url)?)),
                test_keys: || ("12345".into(), "12345".into()),
                forger_key: "54321",
                signature: SignatureSource::Header("x-twilio-signature"),
                timestamp_header: None,
                id: IdSource::Signature,
                id_signed: true,
                body_signed_verbatim: false,
                url_signed: true,
            },
        ];
        all.extend(providers_c());
        #[cfg(feature = "ed25519")]
        all.extend([
            Preset {
                name: "standard-webhooks-v1a",
                scheme: |key, _| {
                    let keys = crate::Keys::from(StandardWebhooks::public_key(key)?);
                    Ok(Box::new(StandardWebhooks::with_keys(
                        keys,
                        crate::scheme::Policy::Any,
                    )?))
                },
                signer: |key, _| {
                    let key = SigningKey::whsk(key)?;
                    let spec = StandardWebhooks::builder().keys(key.public_key()).build()?;
                    Ok(Box::new(Signer::new(spec, key)))
                },
                test_keys: || {
                    (
                        "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=".into(),
                        "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg=="
                            .into(),
                    )
                },
                forger_key: "whsk_AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
                signature: SignatureSource::Header("webhook-signature"),
                timestamp_header: Some("webhook-timestamp"),
                id: IdSource::Header("webhook-id"),
                id_signed: true,
                body_signed_verbatim: true,
                url_signed: false,
            },
            Preset {
                name: "discord-ed25519",
                scheme: |key, _| {
                    let key = crate::scheme::Discord::public_key(key)?;
                    Ok(Box::new(crate::scheme::Discord::new(
                        key,
                        crate::scheme::DiscordEndpoint::Interactions,
                    )?))
                },
                signer: |key, _| {
                    let key = SigningKey::ed25519_hex(key)?;
                    let scheme =
                        crate::scheme::Discord::new(key.public_key(), crate::scheme::DiscordEndpoint::Interactions)?;
                    Ok(Box::new(Signer::new(scheme, key)))
                },
                // RFC 8032 section 7.1, test 1.
                test_keys: || {
                    (
                        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a".into(),
                        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60".into(),
                    )
                },
                forger_key: "0101010101010101010101010101010101010101010101010101010101010101",
                signature: SignatureSource::Header("x-signature-ed25519"),
                timestamp_header: Some("x-signature-timestamp"),
                id: IdSource::Body("id"),
                id_signed: true,
                body_signed_verbatim: true,
                url_signed: false,
            },
        ]);
        #[cfg(feature = "p256")]
        all.push(Preset {
            name: "sendgrid-ecdsa",
            scheme: |key, _| {
                let key = crate::scheme::SendGrid::public_key(key)?;
                Ok(Box::new(crate::scheme::SendGrid::new(key)?))
            },
            signer: |key, _| {
                let key = SigningKey::p256_hex(key)?;
                let scheme = crate::scheme::SendGrid::new(key.public_key())?;
                Ok(Box::new(Signer::new(scheme, key)))
            },
            test_keys: || {
                let scalar = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721";
                let SigningKey::P256(key) = SigningKey::p256_hex(scalar).expect("a valid scalar") else {
                    unreachable!("p256_hex makes P-256 keys")
                };
                let point = key.verifying_key().to_encoded_point(false);
                let mut der = hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").expect("hex");
                der.extend_from_slice(point.as_bytes());
                (crate::scheme::Encoding::Base64.encode(&der), scalar.into())
            },
            forger_key: "0202020202020202020202020202020202020202020202020202020202020202",
            signature: SignatureSource::Header("x-twilio-email-event-webhook-signature"),
            timestamp_header: Some("x-twilio-email-event-webhook-timestamp"),
            id: IdSource::Signature,
            id_signed: true,
            body_signed_verbatim: true,
            url_signed: false,
        });
        all
    })
}

/// A Standard Webhooks signer under Svix's `svix-*` names.
fn svix_signer(key: &str) -> Result<BoxSigner, crate::scheme::ConfigError> {
    use crate::scheme::StandardWebhooks;
    let inner: BoxSigner = Box::new(StandardWebhooks::new(StandardWebhooks::secret(key)?));
    Ok(Box::new(Renamed(
        inner,
        &[
            ("webhook-id", "svix-id"),
            ("webhook-timestamp", "svix-timestamp"),
            ("webhook-signature", "svix-signature"),
        ],
    )))
}

/// Clerk, Resend, Replicate, Polar, Square and HubSpot (issue 12).
fn providers_c() -> Vec<Preset> {
    use crate::scheme::{Clerk, HubSpot, Polar, Replicate, Resend, Square};
    let whsec = || {
        let key = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned();
        (key.clone(), key)
    };
    let svix_named = |name, scheme: fn(&str, &str) -> Result<BoxScheme, crate::scheme::ConfigError>| Preset {
        name,
        scheme,
        signer: |key, _| svix_signer(key),
        test_keys: whsec,
        forger_key: "whsec_YW5vdGhlciBzZWNyZXQ=",
        signature: SignatureSource::Header("svix-signature"),
        timestamp_header: Some("svix-timestamp"),
        id: IdSource::Header("svix-id"),
        id_signed: true,
        body_signed_verbatim: true,
        url_signed: false,
    };
    vec![
        svix_named("clerk", |key, _| Ok(Box::new(Clerk::new(Clerk::secret(key)?)))),
        Preset {
            name: "hubspot-v3",
            scheme: |key, url| Ok(Box::new(HubSpot::new(secret(key)?, url)?)),
            signer: |key, url| Ok(Box::new(HubSpot::new(secret(key)?, url)?)),
            test_keys: || ("registry secret".into(), "registry secret".into()),
            forger_key: "another secret",
            signature: SignatureSource::Header("x-hubspot-signature-v3"),
            timestamp_header: Some("x-hubspot-request-timestamp"),
            id: IdSource::Signature,
            id_signed: true,
            body_signed_verbatim: true,
            url_signed: true,
        },
        Preset {
            name: "polar",
            scheme: |key, _| Ok(Box::new(Polar::new(Polar::secret(key)?))),
            signer: |key, _| Ok(Box::new(Polar::new(Polar::secret(key)?))),
            test_keys: || {
                (
                    "polar_whs_registry secret".into(),
                    "polar_whs_registry secret".into(),
                )
            },
            forger_key: "polar_whs_another secret",
            signature: SignatureSource::Header("webhook-signature"),
            timestamp_header: Some("webhook-timestamp"),
            id: IdSource::Header("webhook-id"),
            id_signed: true,
            body_signed_verbatim: true,
            url_signed: false,
        },
        Preset {
            name: "replicate",
            scheme: |key, _| Ok(Box::new(Replicate::new(Replicate::secret(key)?))),
            signer: |key, _| Ok(Box::new(Replicate::new(Replicate::secret(key)?))),
            test_keys: whsec,
            forger_key: "whsec_YW5vdGhlciBzZWNyZXQ=",
            signature: SignatureSource::Header("webhook-signature"),
            timestamp_header: Some("webhook-timestamp"),
            id: IdSource::Header("webhook-id"),
            id_signed: true,
            body_signed_verbatim: true,
            url_signed: false,
        },
        svix_named("resend", |key, _| Ok(Box::new(Resend::new(Resend::secret(key)?)))),
        Preset {
            name: "square",
            scheme: |key, url| Ok(Box::new(Square::new(secret(key)?, url)?)),
            signer: |key, url| Ok(Box::new(Square::new(secret(key)?, url)?)),
            test_keys: || ("registry secret".into(), "registry secret".into()),
            forger_key: "another secret",
            signature: SignatureSource::Header("x-square-hmacsha256-signature"),
            timestamp_header: None,
            id: IdSource::Body("event_id"),
            id_signed: true,
            body_signed_verbatim: true,
            url_signed: true,
        },
    ]
}

/// The inbox-store conformance suite, for your own
/// [`InboxStore`](crate::inbox::InboxStore): see the module.
pub mod inbox;

/// The replay-guard conformance suite: the cases `LruGuard` and `RedisGuard`
/// pass, for your own [`ReplayGuard`](crate::ReplayGuard) (over Postgres, DynamoDB, ...) to run.
///
/// Build your guard with an in-flight timeout of [`IN_FLIGHT`](replay_guard::IN_FLIGHT),
/// then either call the [`cases`](replay_guard::cases) one by one, or
/// generate one test per case with [`replay_guard_conformance!`](crate::replay_guard_conformance)
/// (which needs `tokio` with the `macros` and `rt-multi-thread` features in
/// your dev-dependencies):
///
/// ```
/// use tower_webhook::testing::replay_guard::IN_FLIGHT;
/// use tower_webhook::LruGuard;
///
/// async fn my_guard() -> LruGuard {
///     LruGuard::new(100).in_flight_timeout(IN_FLIGHT)
/// }
///
/// tower_webhook::replay_guard_conformance!(lru, my_guard);
/// # fn main() {}
/// ```
pub mod replay_guard {
    use std::future::Future;
    use std::sync::Arc;
    use std::time::Duration;

    use crate::{Begin, Claim, ReplayGuard};

    /// The in-flight timeout to build the guard under test with: short, so the
    /// expiry cases wait little.
    pub const IN_FLIGHT: Duration = Duration::from_millis(200);

    /// Longer than [`IN_FLIGHT`], to be sure an entry has expired.
    const PAST_IN_FLIGHT: Duration = Duration::from_millis(400);

    /// Bounds every guard call, so that a broken guard fails the test instead of
    /// hanging it.
    async fn within<T>(future: impl Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(10), future)
            .await
            .expect("the guard answered within 10 s")
    }

    async fn begin(guard: &impl ReplayGuard, key: &str) -> Begin {
        within(guard.begin(key)).await.expect("begin")
    }

    async fn fresh(guard: &impl ReplayGuard, key: &str) -> Claim {
        match begin(guard, key).await {
            Begin::Fresh(claim) => claim,
            other => panic!("expected {key} to be fresh, got {other:?}"),
        }
    }

    async fn commit(guard: &impl ReplayGuard, key: &str, claim: Claim) {
        within(guard.commit(key, claim)).await.expect("commit");
    }

    async fn release(guard: &impl ReplayGuard, key: &str, claim: Claim) {
        within(guard.release(key, claim)).await.expect("release");
    }

    fn assert_in_flight(answer: Begin) {
        match answer {
            Begin::InFlight { retry_after } => assert!(
                retry_after <= IN_FLIGHT,
                "retry_after {retry_after:?} is longer than the in-flight timeout"
            ),
            other => panic!("expected InFlight, got {other:?}"),
        }
    }

    /// The cases, each generic over the guard; each panics when the guard breaks
    /// the [`ReplayGuard`] contract.
    pub mod cases {
        use super::*;

        /// A first `begin` is fresh, a second in flight, and after `commit` every `begin` is done.
        pub async fn fresh_then_in_flight_then_done_after_commit(guard: impl ReplayGuard) {
            let claim = fresh(&guard, "evt_1").await;
            assert_in_flight(begin(&guard, "evt_1").await);
            commit(&guard, "evt_1", claim).await;
            assert_eq!(begin(&guard, "evt_1").await, Begin::Done);
            assert_eq!(begin(&guard, "evt_1").await, Begin::Done);
        }

        /// After `release`, the event is fresh again, under a new claim.
        pub async fn release_makes_the_event_fresh_again_under_a_new_claim(guard: impl ReplayGuard) {
            let first = fresh(&guard, "evt_1").await;
            release(&guard, "evt_1", first).await;
            let second = fresh(&guard, "evt_1").await;
            assert_ne!(first, second);
            assert_in_flight(begin(&guard, "evt_1").await);
        }

        /// A claim that outlived the in-flight timeout cannot release the claim that took over.
        pub async fn stale_claim_cannot_release_the_claim_that_took_over(guard: impl ReplayGuard) {
            let stale = fresh(&guard, "evt_1").await;
            tokio::time::sleep(PAST_IN_FLIGHT).await;
            let current = fresh(&guard, "evt_1").await;
            assert_ne!(stale, current);

            // The first request finally fails; the second still holds the event.
            release(&guard, "evt_1", stale).await;
            assert_in_flight(begin(&guard, "evt_1").await);

            commit(&guard, "evt_1", current).await;
            assert_eq!(begin(&guard, "evt_1").await, Begin::Done);
        }

        /// A commit after the in-flight timeout still records the event as done.
        pub async fn commit_after_the_in_flight_timeout_still_records_the_event(guard: impl ReplayGuard) {
            let claim = fresh(&guard, "evt_1").await;
            tokio::time::sleep(PAST_IN_FLIGHT).await;
            commit(&guard, "evt_1", claim).await;
            assert_eq!(begin(&guard, "evt_1").await, Begin::Done);
        }

        /// A stale claim's commit marks the event done; a newer claim's release does not undo it.
        pub async fn stale_commit_wins_over_a_newer_claim_that_then_fails(guard: impl ReplayGuard) {
            let stale = fresh(&guard, "evt_1").await;
            tokio::time::sleep(PAST_IN_FLIGHT).await;
            let current = fresh(&guard, "evt_1").await;

            // The first request succeeded after all: the event was processed.
            commit(&guard, "evt_1", stale).await;
            assert_eq!(begin(&guard, "evt_1").await, Begin::Done);
            // The second run fails; its release must not undo the processed mark.
            release(&guard, "evt_1", current).await;
            assert_eq!(begin(&guard, "evt_1").await, Begin::Done);
        }

        /// 32 concurrent `begin`s of one event: exactly one is fresh, the others in flight.
        pub async fn concurrent_begins_of_one_event_yield_exactly_one_fresh(guard: impl ReplayGuard) {
            let guard = Arc::new(guard);
            let tasks: Vec<_> = (0..32)
                .map(|_| {
                    let guard = Arc::clone(&guard);
                    tokio::spawn(async move { begin(&guard, "evt_1").await })
                })
                .collect();
            let mut fresh = 0;
            for task in tasks {
                match task.await.expect("task") {
                    Begin::Fresh(_) => fresh += 1,
                    other => assert_in_flight(other),
                }
            }
            assert_eq!(fresh, 1);
        }

        /// The guard reports the in-flight timeout it was built with as its
        /// [claim lifetime](crate::ReplayGuard::claim_lifetime): the layer
        /// bounds every handler below it, so a guard whose claims expire and
        /// that reports none (or a longer one) lets a slow handler's event
        /// run twice at once.
        pub async fn reports_its_in_flight_timeout_as_the_claim_lifetime(guard: impl ReplayGuard) {
            assert_eq!(guard.claim_lifetime(), Some(IN_FLIGHT));
        }

        /// Distinct events do not affect one another.
        pub async fn distinct_events_are_independent(guard: impl ReplayGuard) {
            let a = fresh(&guard, "evt_a").await;
            let b = fresh(&guard, "evt_b").await;
            commit(&guard, "evt_a", a).await;
            assert_eq!(begin(&guard, "evt_a").await, Begin::Done);
            assert_in_flight(begin(&guard, "evt_b").await);

            release(&guard, "evt_b", b).await;
            fresh(&guard, "evt_b").await;
            assert_eq!(begin(&guard, "evt_a").await, Begin::Done);
            fresh(&guard, "evt_c").await;
        }
    }
}

/// One `#[tokio::test]` per case of [`testing::replay_guard`](crate::testing::replay_guard)
/// for the guard `$make().await` builds, in a module named `$name`.
#[macro_export]
macro_rules! replay_guard_conformance {
    ($name:ident, $make:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $crate::replay_guard_conformance!(@cases $make;
                fresh_then_in_flight_then_done_after_commit,
                release_makes_the_event_fresh_again_under_a_new_claim,
                stale_claim_cannot_release_the_claim_that_took_over,
                commit_after_the_in_flight_timeout_still_records_the_event,
                stale_commit_wins_over_a_newer_claim_that_then_fails,
                concurrent_begins_of_one_event_yield_exactly_one_fresh,
                distinct_events_are_independent,
                reports_its_in_flight_timeout_as_the_claim_lifetime,
            );
        }
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::testing::replay_guard::cases::$case($make().await).await;
            }
        )*
    };
}
