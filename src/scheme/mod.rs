//! Signature schemes: how a sender signs a delivery, and how to verify it.
//!
//! A [`Scheme`] sees the request's method, URI and headers ([`RequestParts`])
//! and its raw body, verifies every signature the delivery carries under every
//! configured key (HMAC-SHA256 and HMAC-SHA1 compared in constant time;
//! Ed25519 and ECDSA P-256 behind features), checks the timestamp where the
//! scheme has one, and answers with a [`Verdict`]: an event ([`Delivery`]) or
//! a handshake [`Reply`] the layer sends itself. It is synchronous, knows
//! nothing of tower or axum, and takes the clock as an argument, so it can be
//! tested at any instant:
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use http::HeaderMap;
//! use tower_webhook::scheme::{RequestParts, Scheme, StandardWebhooks};
//!
//! // The official Standard Webhooks test vector.
//! let scheme = StandardWebhooks::new(StandardWebhooks::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
//! let mut headers = HeaderMap::new();
//! headers.insert("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek".parse()?);
//! headers.insert("webhook-timestamp", "1614265330".parse()?);
//! headers.insert("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".parse()?);
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1614265330);
//!
//! let verdict = scheme.verify(RequestParts::post(&headers), br#"{"test": 2432232314}"#, now)?;
//! let delivery = verdict.event().expect("an event, not a handshake");
//! assert_eq!(delivery.id(), "msg_p5jXN8AQM9LWM0D4loKWxJek");
//! assert_eq!(delivery.timestamp(), Some(1614265330));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Every provider is data: a [`Spec`] says where the signatures are, which
//! [`Algorithm`] each version uses, what is signed (a template of
//! `{timestamp}`, `{id}`, `{body}`, `{method}`, `{url}` and literals), where
//! the timestamp, id and type are, and which [`Handshake`]s the layer answers.
//! One verification loop serves them all. Named presets:
//!
//! - [`Spec::petstore`] ([`Hmac`] is the former name of [`Spec`]), the source
//!   article's format; [`Spec`]'s docs carry a recipe for providers without a preset;
//! - [`StandardWebhooks`], also Svix's `svix-*` headers ([`Svix`] is the same
//!   type), with `v1a` Ed25519 signatures under feature `ed25519`;
//! - [`GitHub`], [`Stripe`], [`Slack`], [`Shopify`], [`Paddle`], [`Zoom`], [`Twitch`];
//! - [`Clerk`], [`Resend`] and [`Replicate`] (the [`StandardWebhooks`] type
//!   under their names), [`Polar`] (Standard Webhooks keyed with the secret's
//!   own bytes), [`Square`] and [`HubSpot`] (v3), which sign a public URL;
//! - [`Discord`] (feature `ed25519`) and [`SendGrid`] (feature `p256`);
//! - [`Intercom`], [`Bitbucket`], [`Typeform`], [`Vercel`], [`LemonSqueezy`];
//! - [`Meta`] (with Meta's unsigned GET verification request) and [`GitLab`]
//!   (its legacy secret token, compared in constant time; its signing token
//!   is Standard Webhooks), hand-written beside the engine;
//! - [`Twilio`], which signs sorted form parameters, hand-written behind the same trait.
//! - [`Calendly`], [`Mux`] (`t=..,v1=..`), [`PagerDuty`] (v3), [`Razorpay`], [`CoinbaseCommerce`];
//! - [`Linear`], whose timestamp is in the (signed) body;
//! - [`Mailgun`], whose signature is in the body and covers only a timestamp and token, hand-written;
//!
//! [`Scheme`] stays the escape hatch for a sender no [`Spec`] can describe.

/// The verifying methods of a [`Scheme`] that verifies as another one:
/// `verify`, `verify_in_layer` and `precheck`, each passed on to the scheme
/// `$inner` names, an expression of `$this` (the scheme) and `$headers` (the
/// request's headers). Written once, so that no wrapper forgets one (a
/// missing `verify_in_layer` silently turns `decode_as` off).
macro_rules! verify_as {
    (|$this:ident, $headers:ident| $inner:expr) => {
        fn verify(
            &self,
            request: $crate::scheme::RequestParts<'_>,
            body: &[u8],
            now: std::time::SystemTime,
        ) -> Result<$crate::scheme::Verdict, $crate::Rejection> {
            let ($this, $headers) = (self, request.headers);
            $crate::scheme::Scheme::verify($inner, request, body, now)
        }

        fn verify_in_layer(
            &self,
            request: $crate::scheme::RequestParts<'_>,
            body: &[u8],
            clock: &dyn Fn() -> std::time::SystemTime,
            decoding: Option<&mut $crate::scheme::decode::Decoding<'_>>,
        ) -> Result<$crate::scheme::Verdict, $crate::Rejection> {
            let ($this, $headers) = (self, request.headers);
            $crate::scheme::Scheme::verify_in_layer($inner, request, body, clock, decoding)
        }

        fn precheck(&self, headers: &http::HeaderMap) -> Result<(), $crate::Rejection> {
            let ($this, $headers) = (self, headers);
            $crate::scheme::Scheme::precheck($inner, $headers)
        }
    };
}

/// Declares a named preset: a type over a [`Spec`], with its docs, `Scheme`,
/// `Debug` (which never shows keys), `builder()` and, with `timestamp`, a
/// `tolerance` setter. The preset's file writes `fn declaration()` and `new`.
macro_rules! preset {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            spec: $crate::scheme::Spec,
        }

        impl $name {
            /// This preset's declaration, without keys: add keys (and change
            /// what you need), then [`build`]($crate::scheme::SpecBuilder::build)
            /// a [`Spec`]($crate::scheme::Spec).
            pub fn builder() -> $crate::scheme::SpecBuilder {
                Self::declaration()
            }

            /// The spec this preset verifies with.
            pub fn spec(&self) -> &$crate::scheme::Spec {
                &self.spec
            }
        }

        impl $crate::scheme::Scheme for $name {
            verify_as!(|this, _headers| &this.spec);
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.spec).finish()
            }
        }

        impl From<$name> for $crate::scheme::Spec {
            fn from(preset: $name) -> Self {
                preset.spec
            }
        }

        #[cfg(feature = "test-util")]
        impl $crate::scheme::sign::Sign for $name {
            fn sign_headers(&self, body: &[u8], id: &str, timestamp: i64) -> http::HeaderMap {
                $crate::scheme::sign::Sign::sign_headers(&self.spec, body, id, timestamp)
            }

            fn sign_body(&self, body: bytes::Bytes, id: &str, timestamp: i64) -> bytes::Bytes {
                $crate::scheme::sign::Sign::sign_body(&self.spec, body, id, timestamp)
            }
        }
    };
    ($(#[$doc:meta])* $name:ident, timestamp) => {
        preset!($(#[$doc])* $name);

        impl $name {
            /// How far the signed timestamp may be from now (the preset's
            /// default is in its docs: 5 minutes unless they say otherwise).
            #[must_use]
            pub fn tolerance(self, tolerance: std::time::Duration) -> Self {
                Self {
                    spec: self.spec.with_tolerance(tolerance),
                }
            }
        }
    };
}

/// The largest timestamp tolerance a scheme accepts: 1 hour. A larger one is
/// taken as this, and logged at `warn`.
///
/// Senders sign each attempt when they send it (a retry hours later carries
/// a fresh timestamp), so the tolerance only has to cover clock skew and
/// transit; providers advise 5 minutes. Past an hour the timestamp no longer
/// bounds how long a captured delivery can be replayed, and everything is
/// left to the replay guard's memory.
pub const MAX_TOLERANCE: std::time::Duration = std::time::Duration::from_secs(3600);

/// `tolerance`, at most [`MAX_TOLERANCE`].
pub(crate) fn bounded_tolerance(tolerance: std::time::Duration) -> std::time::Duration {
    if tolerance > MAX_TOLERANCE {
        tracing::warn!(
            requested = ?tolerance,
            max = ?MAX_TOLERANCE,
            "timestamp tolerance capped at the maximum"
        );
        MAX_TOLERANCE
    } else {
        tolerance
    }
}

/// What a preset's `new` says when its own declaration does not build: a bug
/// in this crate, which each preset's tests rule out.
const PRESET: &str = "a preset's declaration builds with any non-empty secrets";

mod bitbucket;
mod calendly;
mod clerk;
mod coinbase;
pub(crate) mod decode;
#[cfg(feature = "ed25519")]
mod discord;
mod github;
mod gitlab;
mod hubspot;
mod intercom;
pub(crate) mod json;
mod lemonsqueezy;
mod linear;
mod mailgun;
mod meta;
mod mux;
mod paddle;
mod pagerduty;
mod petstore;
mod polar;
mod razorpay;
mod replicate;
mod resend;
#[cfg(feature = "p256")]
mod sendgrid;
mod shopify;
#[cfg(feature = "test-util")]
pub(crate) mod sign;
mod slack;
mod spec;
mod square;
mod standard;
mod stripe;
mod timestamp;
mod twilio;
mod twitch;
mod typeform;
mod vercel;
mod zoom;

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use http::{Method, Response, StatusCode, Uri};

pub use self::bitbucket::Bitbucket;
pub use self::calendly::Calendly;
pub use self::clerk::Clerk;
pub use self::coinbase::CoinbaseCommerce;
#[cfg(feature = "ed25519")]
pub use self::discord::{Discord, DiscordEndpoint};
pub use self::github::GitHub;
pub use self::gitlab::GitLab;
#[cfg(feature = "test-util")]
pub(crate) use self::gitlab::GitLabSender;
pub use self::hubspot::HubSpot;
pub use self::intercom::Intercom;
pub use self::lemonsqueezy::LemonSqueezy;
pub use self::linear::Linear;
pub use self::mailgun::Mailgun;
pub use self::meta::Meta;
pub use self::mux::Mux;
pub use self::paddle::Paddle;
pub use self::pagerduty::PagerDuty;
pub use self::polar::Polar;
pub use self::razorpay::Razorpay;
pub use self::replicate::Replicate;
pub use self::resend::Resend;
#[cfg(feature = "p256")]
pub use self::sendgrid::SendGrid;
pub use self::shopify::Shopify;
pub use self::slack::Slack;
pub use self::spec::{
    ConfigError, Field, Handshake, Policy, Spec, SpecBuilder, TemplateError, DEFAULT_TOLERANCE, MAX_VERSIONS,
};
pub use self::square::Square;
pub use self::standard::StandardWebhooks;
pub use self::stripe::Stripe;
pub use self::timestamp::TimestampFormat;
pub use self::twilio::Twilio;
pub use self::twitch::Twitch;
pub use self::typeform::Typeform;
pub use self::vercel::Vercel;
pub use self::zoom::Zoom;
pub use crate::key::{Algorithm, Encoding};
use crate::Rejection;

/// The former name of [`Spec`], kept so `Hmac::petstore(..)` reads as before.
pub type Hmac = Spec;

/// Svix's name for [`StandardWebhooks`]: Svix sends the same scheme, under
/// `svix-id`, `svix-timestamp` and `svix-signature`, which `StandardWebhooks`
/// reads when no `webhook-*` header is present. The secret is Svix's
/// `whsec_...` string, parsed with [`Svix::secret`](StandardWebhooks::secret).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use http::HeaderMap;
/// use tower_webhook::scheme::{RequestParts, Scheme, Svix};
///
/// let svix = Svix::new(Svix::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
/// let mut headers = HeaderMap::new();
/// headers.insert("svix-id", "msg_p5jXN8AQM9LWM0D4loKWxJek".parse()?);
/// headers.insert("svix-timestamp", "1614265330".parse()?);
/// headers.insert("svix-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".parse()?);
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1614265330);
///
/// let verdict = svix.verify(RequestParts::post(&headers), br#"{"test": 2432232314}"#, now)?;
/// assert_eq!(verdict.event().unwrap().id(), "msg_p5jXN8AQM9LWM0D4loKWxJek");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type Svix = StandardWebhooks;

/// The longest event id accepted, in bytes. A longer id is answered with
/// `400`, so nobody can bloat the replay guard with huge keys.
pub const MAX_ID_LEN: usize = 256;

/// What a scheme sees of a request: its method, URI and headers. The body
/// is passed beside it, as the exact bytes received.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The request method.
    pub method: &'a Method,
    /// The request URI as received (behind a proxy, usually only path and query).
    pub uri: &'a Uri,
    /// The request headers.
    pub headers: &'a HeaderMap,
}

impl<'a> RequestParts<'a> {
    /// A `POST /` with these headers: for tests and for schemes that only read headers.
    pub fn post(headers: &'a HeaderMap) -> Self {
        static ROOT: std::sync::OnceLock<Uri> = std::sync::OnceLock::new();
        Self {
            method: &Method::POST,
            uri: ROOT.get_or_init(|| Uri::from_static("/")),
            headers,
        }
    }
}

impl<'a> From<&'a http::request::Parts> for RequestParts<'a> {
    fn from(parts: &'a http::request::Parts) -> Self {
        Self {
            method: &parts.method,
            uri: &parts.uri,
            headers: &parts.headers,
        }
    }
}

/// A webhook signature scheme.
///
/// Implementations must compare symmetric signatures in constant time, must
/// verify the raw bytes as received (never re-serialized JSON, never assuming
/// UTF-8), and should take the event id and type from signed content where
/// the scheme offers it. Errors are [`Rejection`]s with the status codes
/// documented there. Most providers need no implementation of their own: a
/// [`Spec`] describes them.
pub trait Scheme: Send + Sync + 'static {
    /// Verifies one delivery as of `now`: an event, or a handshake the layer answers.
    ///
    /// # Errors
    ///
    /// A [`Rejection`] saying why the delivery is refused.
    fn verify(&self, request: RequestParts<'_>, body: &[u8], now: SystemTime) -> Result<Verdict, Rejection>;

    /// A cheap look at the headers before the body is read: refuses a
    /// request that [`verify`](Scheme::verify) would refuse whatever its
    /// body, so that such a request costs no buffering.
    ///
    /// The layer calls it first, before the body limit and the body timeout
    /// apply. Every preset checks only that its signature header is present
    /// ([`Rejection::MissingSignature`], `401`); keep an implementation as
    /// cheap (no parsing, no MAC) and never stricter than `verify`. The
    /// default accepts everything.
    ///
    /// # Errors
    ///
    /// A [`Rejection`] that answers the request without reading its body.
    fn precheck(&self, headers: &http::HeaderMap) -> Result<(), Rejection> {
        let _ = headers;
        Ok(())
    }

    /// The scheme's name: the `scheme` field of the delivery's span and label
    /// of its metrics (see [`observe`](crate::observe)). A constant, never
    /// computed from a request. The default is the type's name without its
    /// path (`GitHub`, `Spec`, `StandardWebhooks`);
    /// [`WebhookLayer::scheme_name`](crate::WebhookLayer::scheme_name) overrides it.
    fn name(&self) -> &'static str {
        crate::observe::type_label(std::any::type_name::<Self>())
    }

    /// [`verify`](Scheme::verify) as the layer calls it: a [`Spec`] reads
    /// `clock` only if it checks a timestamp, and with `decoding` the
    /// verified body is decoded as the type
    /// [`WebhookLayer::decode_as`](crate::WebhookLayer::decode_as) names, the
    /// event id and type read on the way, instead of walking the body for
    /// them and leaving the decode to the extractor.
    ///
    /// Not for implementations outside this crate: `Decoding` cannot be
    /// named there. The default reads the clock once, calls `verify` and
    /// decodes nothing, so the [`Webhook<T>`](crate::extract::Webhook)
    /// extractor decodes as usual.
    #[doc(hidden)]
    fn verify_in_layer(
        &self,
        request: RequestParts<'_>,
        body: &[u8],
        clock: &dyn Fn() -> SystemTime,
        decoding: Option<&mut decode::Decoding<'_>>,
    ) -> Result<Verdict, Rejection> {
        let _ = decoding;
        self.verify(request, body, clock())
    }
}

impl<T: Scheme + ?Sized> Scheme for Box<T> {
    verify_as!(|this, _headers| &**this);

    fn name(&self) -> &'static str {
        (**self).name()
    }
}

impl<T: Scheme + ?Sized> Scheme for Arc<T> {
    verify_as!(|this, _headers| &**this);

    fn name(&self) -> &'static str {
        (**self).name()
    }
}

/// What a verified request is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// An event, for the replay guard and the inner service.
    Event(Delivery),
    /// A handshake the layer answers itself, without the replay guard or
    /// the inner service (Slack's `url_verification`, Discord's PING, ...).
    Reply(Reply),
}

impl Verdict {
    /// The event, if this is one.
    pub fn event(&self) -> Option<&Delivery> {
        match self {
            Self::Event(d) => Some(d),
            Self::Reply(_) => None,
        }
    }

    /// The handshake answer, if this is one.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Self::Reply(r) => Some(r),
            Self::Event(_) => None,
        }
    }
}

/// The layer's own answer to a verified handshake: a status, an optional
/// content type and a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    status: StatusCode,
    content_type: Option<&'static str>,
    body: Bytes,
}

impl Reply {
    /// An answer with this status, content type and body.
    pub fn new(status: StatusCode, content_type: Option<&'static str>, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            content_type,
            body: body.into(),
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The content type, if the answer has a body worth typing.
    pub fn content_type(&self) -> Option<&'static str> {
        self.content_type
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The HTTP response.
    pub fn into_response<B: From<Bytes>>(self) -> Response<B> {
        let mut response = Response::new(B::from(self.body));
        *response.status_mut() = self.status;
        if let Some(content_type) = self.content_type {
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        response
    }
}

/// What a verified delivery is: its event id (the replay key), and the event
/// type and timestamp where the scheme has them.
#[derive(Clone, PartialEq, Eq)]
pub struct Delivery {
    id: crate::event::IdAndType,
    timestamp: Option<i64>,
    replay_key: Option<String>,
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("id", &self.id())
            .field("event_type", &self.event_type())
            .field("timestamp", &self.timestamp)
            .field("replay_key", &self.replay_key)
            .finish()
    }
}

impl Delivery {
    /// A delivery of the event `id`.
    ///
    /// # Errors
    ///
    /// [`Rejection::InvalidEventId`] when the id is empty or longer than
    /// [`MAX_ID_LEN`] bytes.
    pub fn new(id: impl Into<String>) -> Result<Self, Rejection> {
        let id = id.into();
        check_id(&id)?;
        Ok(Self::of(crate::event::IdAndType::new(id)))
    }

    /// A delivery of the event `id` of type `event_type`, both copied into
    /// one allocation.
    pub(crate) fn with_id_and_type(id: &str, event_type: Option<&str>) -> Result<Self, Rejection> {
        check_id(id)?;
        Ok(Self::of(crate::event::IdAndType::of(id, event_type)))
    }

    fn of(id: crate::event::IdAndType) -> Self {
        Self {
            id,
            timestamp: None,
            replay_key: None,
        }
    }

    /// Sets the event type.
    #[must_use]
    pub fn with_event_type(mut self, event_type: Option<String>) -> Self {
        self.id.set_type(event_type.as_deref());
        self
    }

    /// Sets the signed timestamp (unix seconds).
    #[must_use]
    pub fn with_timestamp(mut self, timestamp: Option<i64>) -> Self {
        self.timestamp = timestamp;
        self
    }

    /// Adds a second replay key besides the id: the layer drops the delivery
    /// if either was processed. A scheme whose id header is not signed may
    /// opt in to the signature itself
    /// ([`SpecBuilder::dedupe_on_signature`]), so that resending a captured
    /// delivery with a fresh id is still caught.
    #[must_use]
    pub fn with_replay_key(mut self, key: String) -> Self {
        self.replay_key = Some(key);
        self
    }

    /// The event id.
    pub fn id(&self) -> &str {
        self.id.id()
    }

    /// The event type, when the scheme knows it.
    pub fn event_type(&self) -> Option<&str> {
        self.id.event_type()
    }

    /// The signed timestamp in unix seconds, when the scheme has one.
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// The keys the replay guard is asked about: the id, then the extra key if any.
    pub fn replay_keys(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id()).chain(self.replay_key.as_deref())
    }

    /// The [`Verified`](crate::Verified) extension for `body` (keeping the
    /// request's `head` for a dead letter, and the payload if the layer
    /// decoded it), and the
    /// scheme's replay key besides the id, if it has one.
    pub(crate) fn into_verified(
        self,
        body: bytes::Bytes,
        head: crate::event::RequestHead,
        decoded: Option<Box<dyn std::any::Any + Send>>,
    ) -> (crate::Verified, Option<String>) {
        let verified = crate::Verified::with_head(self.id, self.timestamp, body, Some(head), decoded);
        (verified, self.replay_key)
    }
}

/// An event id must be 1 to [`MAX_ID_LEN`] bytes long.
fn check_id(id: &str) -> Result<(), Rejection> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(Rejection::InvalidEventId { len: id.len() });
    }
    Ok(())
}

/// The one value of a header that must not repeat.
///
/// Absent: `Ok(None)`. Repeated with the same value: that value. Repeated
/// with different values, or not visible ASCII: `400`.
pub(crate) fn single_header<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'h str>, Rejection> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.any(|other| other != first) {
        return Err(Rejection::InvalidHeader {
            name: name.clone(),
            reason: "repeated with different values",
        });
    }
    first.to_str().map(Some).map_err(|_| Rejection::InvalidHeader {
        name: name.clone(),
        reason: "not visible ASCII",
    })
}

/// Like [`single_header`], but absent is `400` too.
pub(crate) fn required_header<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Result<&'h str, Rejection> {
    single_header(headers, name)?.ok_or_else(|| Rejection::MissingHeader { name: name.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_length_capped() {
        assert!(Delivery::new("a".repeat(MAX_ID_LEN)).is_ok());
        assert_eq!(
            Delivery::new("a".repeat(MAX_ID_LEN + 1)),
            Err(Rejection::InvalidEventId { len: MAX_ID_LEN + 1 })
        );
        assert_eq!(Delivery::new(""), Err(Rejection::InvalidEventId { len: 0 }));
    }

    #[test]
    fn repeated_headers_must_agree() {
        let name = HeaderName::from_static("webhook-id");
        let mut headers = HeaderMap::new();
        headers.append(&name, "a".parse().unwrap());
        headers.append(&name, "a".parse().unwrap());
        assert_eq!(single_header(&headers, &name), Ok(Some("a")));
        headers.append(&name, "b".parse().unwrap());
        assert!(single_header(&headers, &name).is_err());
        let mut headers = HeaderMap::new();
        headers.insert(&name, http::HeaderValue::from_bytes(b"\xff").unwrap());
        assert!(single_header(&headers, &name).is_err());
    }
}
