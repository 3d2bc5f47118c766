//! Signature schemes: how a sender signs a delivery, and how to verify it.
//!
//! A [`Scheme`] reads the headers it needs, computes HMAC-SHA256 over the
//! bytes the sender signed, compares it in constant time against every
//! signature the delivery carries under every configured secret, checks the
//! timestamp where the scheme has one, and says which event this is
//! ([`Delivery`]). It is synchronous, knows nothing of tower or axum, and
//! takes the clock as an argument, so it can be tested at any instant:
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use http::HeaderMap;
//! use tower_webhook::scheme::{Scheme, StandardWebhooks};
//!
//! // The official Standard Webhooks test vector.
//! let scheme = StandardWebhooks::new(StandardWebhooks::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
//! let mut headers = HeaderMap::new();
//! headers.insert("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek".parse()?);
//! headers.insert("webhook-timestamp", "1614265330".parse()?);
//! headers.insert("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".parse()?);
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1614265330);
//!
//! let delivery = scheme.verify(&headers, br#"{"test": 2432232314}"#, now)?;
//! assert_eq!(delivery.id(), "msg_p5jXN8AQM9LWM0D4loKWxJek");
//! assert_eq!(delivery.timestamp(), Some(1614265330));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Schemes here:
//!
//! - [`Hmac`]: one signature header over a configurable signed content; the
//!   source article's Petstore format is [`Hmac::petstore`], and its docs
//!   carry a recipe for providers without a preset;
//! - [`StandardWebhooks`], also Svix's `svix-*` headers ([`Svix`] is the same type);
//! - provider presets: [`GitHub`], [`Stripe`], [`Slack`], [`Shopify`].

mod github;
mod hmac;
pub(crate) mod json;
mod shopify;
mod slack;
mod standard;
mod stripe;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{HeaderMap, HeaderName};

pub use self::github::GitHub;
pub use self::hmac::{Hmac, TemplateError};
pub use self::shopify::Shopify;
pub use self::slack::Slack;
pub use self::standard::StandardWebhooks;
pub use self::stripe::Stripe;
pub use crate::encoding::Encoding;
use crate::Rejection;

/// Svix's name for [`StandardWebhooks`]: Svix sends the same scheme, under
/// `svix-id`, `svix-timestamp` and `svix-signature`, which `StandardWebhooks`
/// reads when no `webhook-*` header is present. The secret is Svix's
/// `whsec_...` string, parsed with [`Svix::secret`](StandardWebhooks::secret).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use http::HeaderMap;
/// use tower_webhook::scheme::{Scheme, Svix};
///
/// let svix = Svix::new(Svix::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
/// let mut headers = HeaderMap::new();
/// headers.insert("svix-id", "msg_p5jXN8AQM9LWM0D4loKWxJek".parse()?);
/// headers.insert("svix-timestamp", "1614265330".parse()?);
/// headers.insert("svix-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".parse()?);
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1614265330);
///
/// let delivery = svix.verify(&headers, br#"{"test": 2432232314}"#, now)?;
/// assert_eq!(delivery.id(), "msg_p5jXN8AQM9LWM0D4loKWxJek");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type Svix = StandardWebhooks;

/// The longest event id accepted, in bytes. A longer id is answered with
/// `400`, so nobody can bloat the replay guard with huge keys.
pub const MAX_ID_LEN: usize = 256;

/// The default timestamp tolerance, in both directions: 5 minutes.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// The largest timestamp tolerance a scheme accepts: 1 hour. A larger one is
/// taken as this, and logged at `warn`.
///
/// Senders sign each attempt when they send it (a retry hours later carries
/// a fresh timestamp), so the tolerance only has to cover clock skew and
/// transit; providers advise 5 minutes. Past an hour the timestamp no longer
/// bounds how long a captured delivery can be replayed, and everything is
/// left to the replay guard's memory.
pub const MAX_TOLERANCE: Duration = Duration::from_secs(3600);

/// `tolerance`, at most [`MAX_TOLERANCE`].
pub(crate) fn bounded_tolerance(tolerance: Duration) -> Duration {
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

/// A webhook signature scheme.
///
/// Implementations must compare signatures in constant time (use
/// [`Secrets::matching_tag`](crate::Secrets::matching_tag)), must verify the
/// raw bytes as received (never re-serialized JSON, never assuming UTF-8), and
/// should take the event id and type from signed content where the scheme
/// offers it. Errors are [`Rejection`]s with the status codes documented there.
pub trait Scheme: Send + Sync + 'static {
    /// Verifies one delivery as of `now`.
    ///
    /// # Errors
    ///
    /// A [`Rejection`] saying why the delivery is refused.
    fn verify(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Result<Delivery, Rejection>;

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
    /// A [`Rejection`] saying why the request is refused unread.
    fn precheck(&self, headers: &HeaderMap) -> Result<(), Rejection> {
        let _ = headers;
        Ok(())
    }

    /// The scheme's name: the `scheme` field of the delivery's span and label
    /// of its metrics (see [`observe`](crate::observe)). A constant, never
    /// computed from a request. The default is the type's name without its
    /// path (`GitHub`, `Hmac`, `StandardWebhooks`);
    /// [`WebhookLayer::scheme_name`](crate::WebhookLayer::scheme_name) overrides it.
    fn name(&self) -> &'static str {
        crate::observe::type_label(std::any::type_name::<Self>())
    }
}

impl<T: Scheme + ?Sized> Scheme for Box<T> {
    fn verify(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Result<Delivery, Rejection> {
        (**self).verify(headers, body, now)
    }

    fn precheck(&self, headers: &HeaderMap) -> Result<(), Rejection> {
        (**self).precheck(headers)
    }

    fn name(&self) -> &'static str {
        (**self).name()
    }
}

impl<T: Scheme + ?Sized> Scheme for Arc<T> {
    fn verify(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Result<Delivery, Rejection> {
        (**self).verify(headers, body, now)
    }

    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn precheck(&self, headers: &HeaderMap) -> Result<(), Rejection> {
        (**self).precheck(headers)
    }
}

/// The presets' [`Scheme::precheck`]: the signature header is present.
pub(crate) fn signature_present(headers: &HeaderMap, name: &HeaderName) -> Result<(), Rejection> {
    if headers.contains_key(name) {
        Ok(())
    } else {
        Err(Rejection::MissingSignature { name: name.clone() })
    }
}

/// What a verified delivery is: its event id (the replay key), and the event
/// type and timestamp where the scheme has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    id: String,
    event_type: Option<String>,
    timestamp: Option<i64>,
    replay_key: Option<String>,
    reply: Option<(&'static str, bytes::Bytes)>,
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
        if id.is_empty() || id.len() > MAX_ID_LEN {
            return Err(Rejection::InvalidEventId { len: id.len() });
        }
        Ok(Self {
            id,
            event_type: None,
            timestamp: None,
            replay_key: None,
            reply: None,
        })
    }

    /// A verified request that is not an event but a handshake the layer
    /// answers itself with `200` and this body, without asking the replay
    /// guard or calling the inner service (Slack's `url_verification`, say).
    pub fn reply(content_type: &'static str, body: impl Into<bytes::Bytes>) -> Self {
        Self {
            id: String::new(),
            event_type: None,
            timestamp: None,
            replay_key: None,
            reply: Some((content_type, body.into())),
        }
    }

    /// The layer's own answer, for a handshake made with [`Delivery::reply`].
    pub fn reply_body(&self) -> Option<(&'static str, &bytes::Bytes)> {
        self.reply.as_ref().map(|(t, b)| (*t, b))
    }

    /// Sets the event type.
    #[must_use]
    pub fn with_event_type(mut self, event_type: Option<String>) -> Self {
        self.event_type = event_type;
        self
    }

    /// Sets the signed timestamp (unix seconds).
    #[must_use]
    pub fn with_timestamp(mut self, timestamp: Option<i64>) -> Self {
        self.timestamp = timestamp;
        self
    }

    /// Adds a second replay key besides the id: the layer drops the delivery
    /// if either was processed. Schemes whose id header is not signed use the
    /// signature itself, so that resending a captured delivery with a fresh
    /// id is still caught.
    #[must_use]
    pub fn with_replay_key(mut self, key: String) -> Self {
        self.replay_key = Some(key);
        self
    }

    /// The event id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The event type, when the scheme knows it.
    pub fn event_type(&self) -> Option<&str> {
        self.event_type.as_deref()
    }

    /// The signed timestamp in unix seconds, when the scheme has one.
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// The keys the replay guard is asked about: the id, then the extra key if any.
    pub fn replay_keys(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.replay_key.as_deref())
    }

    pub(crate) fn into_parts(self) -> (String, Option<String>, Option<i64>) {
        (self.id, self.event_type, self.timestamp)
    }
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

/// Parses a unix-seconds timestamp header as senders write it: ASCII digits
/// with an optional leading `-`, fitting in an `i64`.
pub(crate) fn parse_timestamp(text: &str, name: &HeaderName) -> Result<i64, Rejection> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Rejection::InvalidHeader {
            name: name.clone(),
            reason: "timestamp is not an integer",
        });
    }
    text.parse().map_err(|_| Rejection::InvalidHeader {
        name: name.clone(),
        reason: "timestamp out of range",
    })
}

/// Checks `timestamp` (unix seconds) against `now` in both directions.
pub(crate) fn check_tolerance(timestamp: i64, now: SystemTime, tolerance: Duration) -> Result<(), Rejection> {
    let now = match now.duration_since(UNIX_EPOCH) {
        Ok(d) => i128::from(d.as_secs()),
        Err(before) => -i128::from(before.duration().as_secs()),
    };
    let age = now - i128::from(timestamp);
    let limit = i128::from(tolerance.as_secs());
    let clamp = |v: i128| u64::try_from(v).unwrap_or(u64::MAX);
    if age > limit {
        Err(Rejection::TimestampTooOld { age_secs: clamp(age) })
    } else if -age > limit {
        Err(Rejection::TimestampTooNew {
            ahead_secs: clamp(-age),
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn tolerance_is_inclusive_and_two_sided() {
        let t = Duration::from_secs(300);
        assert!(check_tolerance(1000, at(1300), t).is_ok());
        assert!(check_tolerance(1300, at(1000), t).is_ok());
        assert_eq!(
            check_tolerance(1000, at(1301), t),
            Err(Rejection::TimestampTooOld { age_secs: 301 })
        );
        assert_eq!(
            check_tolerance(1301, at(1000), t),
            Err(Rejection::TimestampTooNew { ahead_secs: 301 })
        );
        assert!(check_tolerance(i64::MIN, at(1000), t).is_err());
        assert!(check_tolerance(i64::MAX, at(1000), t).is_err());
    }

    #[test]
    fn tolerance_is_capped_at_an_hour() {
        assert_eq!(
            bounded_tolerance(Duration::from_secs(60)),
            Duration::from_secs(60)
        );
        assert_eq!(bounded_tolerance(MAX_TOLERANCE), MAX_TOLERANCE);
        assert_eq!(bounded_tolerance(Duration::from_secs(u64::MAX)), MAX_TOLERANCE);
    }

    #[test]
    fn timestamps_must_be_plain_integers() {
        let name = HeaderName::from_static("t");
        assert_eq!(parse_timestamp("1614265330", &name), Ok(1614265330));
        assert_eq!(parse_timestamp("-5", &name), Ok(-5));
        for bad in ["", "-", "+5", "1.5", " 5", "5 ", "0x10", "99999999999999999999"] {
            assert!(parse_timestamp(bad, &name).is_err(), "{bad:?}");
        }
    }

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

/// The most signatures one delivery may carry. Senders send one, or a few
/// during a secret rotation; more is refused as malformed.
pub(crate) const MAX_SIGNATURES: usize = 16;

/// The signatures a delivery carries, decoded, on the stack.
#[derive(Debug)]
pub(crate) struct Candidates {
    tags: [crate::secret::MacTag; MAX_SIGNATURES],
    len: usize,
}

impl Candidates {
    pub(crate) fn new() -> Self {
        Self {
            tags: [[0; 32]; MAX_SIGNATURES],
            len: 0,
        }
    }

    pub(crate) fn push(&mut self, tag: crate::secret::MacTag) -> Result<(), Rejection> {
        let slot = self.tags.get_mut(self.len).ok_or(Rejection::MalformedSignature {
            reason: "too many signatures",
        })?;
        *slot = tag;
        self.len += 1;
        Ok(())
    }

    /// The decoded signatures; `401` when there are none.
    pub(crate) fn get(&self, none_reason: &'static str) -> Result<&[crate::secret::MacTag], Rejection> {
        if self.len == 0 {
            return Err(Rejection::MalformedSignature { reason: none_reason });
        }
        Ok(&self.tags[..self.len])
    }
}

/// Every value of the signature header as text; `401` when there is none.
/// Values that are not visible ASCII cannot hold a signature and are skipped.
pub(crate) fn signature_values<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> Result<impl Iterator<Item = &'h str>, Rejection> {
    let mut values = headers.get_all(name).iter().peekable();
    if values.peek().is_none() {
        return Err(Rejection::MissingSignature { name: name.clone() });
    }
    Ok(values.filter_map(|v| v.to_str().ok()))
}
