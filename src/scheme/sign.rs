//! The sender's half of a scheme: [`Sign`] builds a delivery as the
//! provider's sender does (its body where the scheme writes into it, and its
//! signed headers), and [`Message`] is what a sender signs. Each provider
//! implements it beside its verifier; tests, the example sender and the
//! fuzz targets reach it through [`testing`](crate::testing) (feature
//! `test-util`).

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};

/// A scheme that can sign deliveries as its sender does. This is the one
/// signing shape of the crate: every preset, every [`Spec`](crate::scheme::Spec) holding a
/// secret, and a [`Signer`](crate::testing::Signer) holding a private key
/// sign the same way.
///
/// A delivery is signed in two steps, [`sign_body`](Sign::sign_body) then
/// [`sign_headers`](Sign::sign_headers) over the body it returned;
/// [`sign_delivery`](Sign::sign_delivery),
/// [`signed_request`](crate::testing::signed_request) and the
/// example sender do both. Most schemes sign the body as they are given it
/// and only add headers. A scheme that carries part of its signing in the
/// body writes it there first:
///
/// - [`Mailgun`](crate::scheme::Mailgun) sets the body's top-level
///   `signature` object (`timestamp`, `token` = the event id, `signature`),
///   replacing the one already there; the rest of the body, `event-data`
///   included, is kept byte for byte (Mailgun does not sign it);
/// - a [`Spec`](crate::scheme::Spec) whose timestamp is a top-level body field
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

    /// The header the sender names the event type in, where the scheme reads
    /// the type from one (GitHub's `X-GitHub-Event`, Shopify's
    /// `X-Shopify-Topic`); `None` (the default) when the type is in the body
    /// or not read at all. [`SignedRequest::event_type`](crate::testing::SignedRequest::event_type)
    /// writes it.
    fn event_type_header(&self) -> Option<HeaderName> {
        None
    }
}

/// What a sender signs, for [`Spec`](crate::scheme::Spec)s whose content names `{method}` or `{url}` too.
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

/// Sets header `name` to `value`: what a signer writes is ASCII by construction.
pub(crate) fn header(headers: &mut HeaderMap, name: &HeaderName, value: &str) {
    headers.insert(
        name.clone(),
        HeaderValue::try_from(value).expect("signed header values are ASCII"),
    );
}
