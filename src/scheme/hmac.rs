//! The generic one-header HMAC-SHA256 scheme, and the Petstore preset.

use std::fmt;
use std::time::{Duration, SystemTime};

use http::header::{HeaderMap, HeaderName};

use super::json::{self, Path};
use super::{
    check_tolerance, parse_timestamp, required_header, signature_present, signature_values, single_header,
    Candidates, Delivery, Encoding, Scheme, DEFAULT_TOLERANCE,
};
use crate::{Rejection, Secrets};

/// One piece of the signed content.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(Box<str>),
    Body,
    Timestamp,
    Id,
}

/// Where a field (the event id or type) is read from.
#[derive(Debug, Clone)]
enum Source {
    Header(HeaderName),
    Body(Path),
    /// The verified MAC, as `sig:<hex>` (ids only).
    Signature,
}

/// A generic HMAC-SHA256 scheme: one signature header, an optional prefix,
/// hex or base64, a configurable signed content, and the event id and type
/// read from a header or from the JSON body.
///
/// The default is the simplest scheme there is: the signature is the hex
/// HMAC-SHA256 of the raw body, and the id and type are the body's `id` and
/// `type` fields, so both are covered by the signature.
///
/// # The Petstore format
///
/// The source article's sender signs with `X-Petstore-Signature: <hex
/// HMAC-SHA256(secret, raw body)>` and sends the envelope `{"id", "type",
/// "created", "data"}`; [`Hmac::petstore`] is that configuration.
///
/// # A recipe for another provider
///
/// Most providers fit this type without writing a [`Scheme`] by hand. Say a
/// provider sends `X-Acme-Signature: sha256=<base64>` over
/// `"{timestamp}.{id}.{body}"`, with the timestamp in `X-Acme-Timestamp`, the
/// id in `X-Acme-Delivery` and the event type in the body's `event.kind`:
///
/// ```
/// use std::time::Duration;
/// use tower_webhook::scheme::{Encoding, Hmac};
/// use tower_webhook::Secret;
///
/// let acme = Hmac::new("x-acme-signature", Secret::new("acme secret")?)
///     .prefix("sha256=")
///     .encoding(Encoding::Base64)
///     .timestamp_header("x-acme-timestamp", Duration::from_secs(300))
///     .id_from_header("x-acme-delivery")
///     .event_type_from_body("event.kind")
///     .signed_content("{timestamp}.{id}.{body}")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Call `timestamp_header` and `id_from_header` before `signed_content`
/// names `{timestamp}` or `{id}`.
///
/// # Unsigned headers
///
/// A header outside the signed content is not authenticated: whoever captured
/// one delivery can resend it with another value there. Prefer ids and types
/// from the body or the signed content; when the id must come from an unsigned
/// header, the replay guard keys on that id alone by default, so a resend
/// under a fresh id is processed again (and two distinct events with the same
/// body never collide); [`dedupe_on_signature`](Hmac::dedupe_on_signature)
/// explains the opt-in that trades completeness for replay protection.
#[derive(Clone)]
pub struct Hmac {
    secrets: Secrets,
    signature: HeaderName,
    prefix: Box<str>,
    encoding: Encoding,
    content: Box<[Part]>,
    id: Source,
    id_fallback: Option<HeaderName>,
    event_type: Option<Source>,
    type_fallback: Option<HeaderName>,
    timestamp: Option<HeaderName>,
    tolerance: Duration,
    dedupe_on_signature: bool,
}

impl Hmac {
    /// The hex HMAC-SHA256 of the raw body in header `signature`, with no
    /// prefix; id and type from the body's `id` and `type`.
    ///
    /// # Panics
    ///
    /// When `signature` is not a valid header name (a configuration error,
    /// like [`HeaderName::from_static`]).
    pub fn new(signature: &str, secrets: impl Into<Secrets>) -> Self {
        Self {
            secrets: secrets.into(),
            signature: header_name(signature),
            prefix: "".into(),
            encoding: Encoding::Hex,
            content: Box::new([Part::Body]),
            id: Source::Body(json::path("id")),
            id_fallback: None,
            event_type: Some(Source::Body(json::path("type"))),
            type_fallback: None,
            timestamp: None,
            tolerance: DEFAULT_TOLERANCE,
            dedupe_on_signature: false,
        }
    }

    /// The source article's format: `X-Petstore-Signature` holds the
    /// lower-case hex HMAC-SHA256 of the raw body; the id and type are the
    /// envelope's `id` and `type`. The unsigned `X-Petstore-Event` header is
    /// only a fallback for the type and never overrides the body.
    ///
    /// The replay key is the envelope's `id` (`evt_123` in the article's
    /// event), which the signature covers and the article's sender keeps on
    /// every retry of its backoff (1 min, 5 min, 15 min, 1 h, 4 h).
    ///
    /// ```
    /// use tower_webhook::scheme::Hmac;
    /// use tower_webhook::Secret;
    ///
    /// let scheme = Hmac::petstore(Secret::new("petstore secret")?);
    /// # Ok::<(), tower_webhook::SecretError>(())
    /// ```
    pub fn petstore(secrets: impl Into<Secrets>) -> Self {
        Self::new("x-petstore-signature", secrets).event_type_fallback_header("x-petstore-event")
    }

    /// A prefix every signature carries, such as `sha256=`. Signatures
    /// without it are ignored.
    #[must_use]
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How the signature is encoded (default hex).
    #[must_use]
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Reads a unix-seconds timestamp from `header` and refuses deliveries
    /// further than `tolerance` from now, in either direction.
    ///
    /// The timestamp protects only if it is signed: name `{timestamp}` in
    /// [`signed_content`](Hmac::signed_content) too.
    ///
    /// A `tolerance` over [`MAX_TOLERANCE`](super::MAX_TOLERANCE) (1 hour)
    /// is taken as that, and logged at `warn`.
    ///
    /// # Panics
    ///
    /// When `header` is not a valid header name.
    #[must_use]
    pub fn timestamp_header(mut self, header: &str, tolerance: Duration) -> Self {
        self.timestamp = Some(header_name(header));
        self.tolerance = super::bounded_tolerance(tolerance);
        self
    }

    /// Reads the event id from a header (absent: `400`).
    ///
    /// # Panics
    ///
    /// When `header` is not a valid header name.
    #[must_use]
    pub fn id_from_header(mut self, header: &str) -> Self {
        self.id = Source::Header(header_name(header));
        self
    }

    /// A header to take the event id from when the one named by
    /// [`id_from_header`](Hmac::id_from_header) is absent: for a sender
    /// that moved its id to a new header and may still send the old one
    /// alone. Without either header the delivery is `400`.
    ///
    /// # Panics
    ///
    /// When `header` is not a valid header name.
    #[must_use]
    pub fn id_fallback_header(mut self, header: &str) -> Self {
        self.id_fallback = Some(header_name(header));
        self
    }

    /// Reads the event id from the JSON body at a dotted path such as `id` or
    /// `event.id` (the default is `id`). A string or an integer is accepted;
    /// anything else is `400`.
    #[must_use]
    pub fn id_from_body(mut self, path: &str) -> Self {
        self.id = Source::Body(json::path(path));
        self
    }

    /// Uses the verified signature, as `sig:<hex>`, as the event id: for
    /// senders that give no id. Deliveries of the same signed content (same
    /// body, and same timestamp where it is signed) are then the same event;
    /// a sender that re-signs a retry with a fresh timestamp makes it a new one.
    #[must_use]
    pub fn id_from_signature(mut self) -> Self {
        self.id = Source::Signature;
        self
    }

    /// Reads the event type from a header.
    ///
    /// # Panics
    ///
    /// When `header` is not a valid header name.
    #[must_use]
    pub fn event_type_from_header(mut self, header: &str) -> Self {
        self.event_type = Some(Source::Header(header_name(header)));
        self
    }

    /// Reads the event type from the JSON body at a dotted path (the default is `type`).
    #[must_use]
    pub fn event_type_from_body(mut self, path: &str) -> Self {
        self.event_type = Some(Source::Body(json::path(path)));
        self
    }

    /// Reads no event type: for a preset that reads the body itself, so the
    /// body is walked once.
    pub(crate) fn without_event_type(mut self) -> Self {
        self.event_type = None;
        self
    }

    /// A header to take the event type from when the configured source has none.
    ///
    /// # Panics
    ///
    /// When `header` is not a valid header name.
    #[must_use]
    pub fn event_type_fallback_header(mut self, header: &str) -> Self {
        self.type_fallback = Some(header_name(header));
        self
    }

    /// Also drops a delivery whose signature was already processed, whatever
    /// id it carries. Off by default, and off in every preset.
    ///
    /// # The trade-off
    ///
    /// With the id from an unsigned header (GitHub's `X-GitHub-Delivery`,
    /// Shopify's `X-Shopify-Webhook-Id`) and no signed timestamp, whoever
    /// captured one delivery can resend its body and signature under a fresh
    /// id, and the replay guard sees a new event. Keying on the signature
    /// too drops that resend (while the guard remembers the signature; not
    /// one resent after its first delivery failed, since that signature was
    /// released with the id), but it also drops every **distinct** event
    /// whose signed content happens to be byte-identical to an earlier one
    /// (two `ping`s, two `star` `deleted` events by the same user, a payload
    /// the sender re-sends on purpose under a new id): the handler never sees
    /// it and the sender got `2xx`, so that event is lost. Turn it on only
    /// when replay protection matters more to you than completeness. It buys
    /// nothing where the signed content includes a timestamp: the sender signs
    /// every attempt afresh, and the tolerance already bounds a resend. See
    /// the README's "Unsigned ids and types".
    ///
    /// The layer then asks the replay guard about both keys, the id first.
    #[must_use]
    pub fn dedupe_on_signature(mut self, on: bool) -> Self {
        self.dedupe_on_signature = on;
        self
    }

    /// What the sender signs, as a template of `{body}` (required, once),
    /// `{timestamp}` and `{id}` (the header values exactly as sent) and
    /// literal text, e.g. `v0:{timestamp}:{body}`. The default is `{body}`.
    ///
    /// # Errors
    ///
    /// [`TemplateError`] when `{body}` is missing or repeated, a placeholder
    /// is unknown or unclosed, or `{timestamp}`/`{id}` is used before
    /// [`timestamp_header`](Hmac::timestamp_header)/[`id_from_header`](Hmac::id_from_header).
    pub fn signed_content(mut self, template: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            match rest.find('{') {
                Some(0) => {
                    let end = rest.find('}').ok_or(TemplateError::Unclosed)?;
                    parts.push(match &rest[1..end] {
                        "body" => Part::Body,
                        "timestamp" if self.timestamp.is_some() => Part::Timestamp,
                        "timestamp" => return Err(TemplateError::NoTimestampHeader),
                        "id" if matches!(self.id, Source::Header(_)) => Part::Id,
                        "id" => return Err(TemplateError::NoIdHeader),
                        _ => return Err(TemplateError::UnknownPlaceholder),
                    });
                    rest = &rest[end + 1..];
                }
                Some(at) => {
                    parts.push(Part::Literal(rest[..at].into()));
                    rest = &rest[at..];
                }
                None => {
                    parts.push(Part::Literal(rest.into()));
                    rest = "";
                }
            }
        }
        if parts.iter().filter(|p| **p == Part::Body).count() != 1 {
            return Err(TemplateError::Body);
        }
        if parts.len() > MAX_PARTS {
            return Err(TemplateError::TooLong);
        }
        self.content = parts.into();
        Ok(self)
    }

    /// The signature header a sender would send for this body, id and
    /// timestamp (as written in their headers), signed with the first secret.
    pub fn sign(&self, body: &[u8], id: &str, timestamp: &str) -> String {
        let parts = self.parts(body, id, timestamp);
        let tag = self.secrets.sign(parts.as_slices());
        format!("{}{}", self.prefix, self.encoding.encode(&tag))
    }

    /// The signature header's name.
    pub fn signature_header(&self) -> &HeaderName {
        &self.signature
    }

    /// The timestamp header's name, when the scheme has one.
    pub fn timestamp_header_name(&self) -> Option<&HeaderName> {
        self.timestamp.as_ref()
    }

    /// The id header's name, when the id is read from a header.
    pub fn id_header_name(&self) -> Option<&HeaderName> {
        match &self.id {
            Source::Header(name) => Some(name),
            Source::Body(_) | Source::Signature => None,
        }
    }

    fn parts<'a>(&'a self, body: &'a [u8], id: &'a str, timestamp: &'a str) -> Parts<'a> {
        let mut out = Parts::default();
        for part in self.content.iter() {
            out.push(match part {
                Part::Literal(text) => text.as_bytes(),
                Part::Body => body,
                Part::Timestamp => timestamp.as_bytes(),
                Part::Id => id.as_bytes(),
            });
        }
        out
    }
}

/// The most pieces a signed-content template may have.
const MAX_PARTS: usize = 8;

/// The signed content's pieces, on the stack.
#[derive(Default)]
struct Parts<'a> {
    slices: [&'a [u8]; MAX_PARTS],
    len: usize,
}

impl<'a> Parts<'a> {
    fn push(&mut self, part: &'a [u8]) {
        // `signed_content` refuses templates of more than MAX_PARTS pieces.
        self.slices[self.len] = part;
        self.len += 1;
    }

    fn as_slices(&self) -> &[&'a [u8]] {
        &self.slices[..self.len]
    }
}

impl Scheme for Hmac {
    fn precheck(&self, headers: &HeaderMap) -> Result<(), Rejection> {
        signature_present(headers, &self.signature)
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Result<Delivery, Rejection> {
        let timestamp = match &self.timestamp {
            Some(name) => {
                let text = required_header(headers, name)?;
                let value = parse_timestamp(text, name)?;
                check_tolerance(value, now, self.tolerance)?;
                Some((text, value))
            }
            None => None,
        };
        let id_header = match (&self.id, &self.id_fallback) {
            (Source::Header(name), None) => Some(required_header(headers, name)?),
            (Source::Header(name), Some(fallback)) => match single_header(headers, name)? {
                Some(id) => Some(id),
                // Without either, name the header the sender should send.
                None => Some(
                    single_header(headers, fallback)?
                        .ok_or_else(|| Rejection::MissingHeader { name: name.clone() })?,
                ),
            },
            (Source::Body(_) | Source::Signature, _) => None,
        };

        let mut candidates = Candidates::new();
        for value in signature_values(headers, &self.signature)? {
            // Two one-character splits: each finds its separator with memchr,
            // where a two-character pattern decodes the signature char by char.
            let entries = value.split(',').flat_map(|v| v.split(' '));
            for entry in entries.filter(|e| !e.is_empty()) {
                if let Some(tag) = entry
                    .strip_prefix(&*self.prefix)
                    .and_then(|s| self.encoding.decode(s))
                {
                    candidates.push(tag)?;
                }
            }
        }
        let candidates = candidates.get("no signature in the expected format")?;
        let parts = self.parts(body, id_header.unwrap_or(""), timestamp.map_or("", |t| t.0));
        let tag = self
            .secrets
            .matching_tag(parts.as_slices(), candidates)
            .ok_or(Rejection::SignatureMismatch)?;

        // Verified: only now is the body worth reading.
        let id_path = match &self.id {
            Source::Body(path) => Some(path),
            Source::Header(_) | Source::Signature => None,
        };
        let type_path = match &self.event_type {
            Some(Source::Body(path)) => Some(path),
            _ => None,
        };
        let [body_id, body_type] = json::find_unique(body, [id_path, type_path])?;
        let signature_key = || format!("sig:{}", hex::encode(tag));
        let id = match (&self.id, id_header) {
            (Source::Signature, _) => signature_key(),
            (_, Some(id)) => id.to_owned(),
            (_, None) => body_id.ok_or(Rejection::MissingEventId)?.into_owned(),
        };
        let mut event_type = match &self.event_type {
            Some(Source::Header(name)) => single_header(headers, name).ok().flatten().map(str::to_owned),
            _ => body_type.map(|t| t.into_owned()),
        };
        if event_type.is_none() {
            if let Some(name) = &self.type_fallback {
                event_type = single_header(headers, name).ok().flatten().map(str::to_owned);
            }
        }

        let mut delivery = Delivery::new(id)?
            .with_event_type(event_type)
            .with_timestamp(timestamp.map(|t| t.1));
        if self.dedupe_on_signature && !matches!(self.id, Source::Signature) {
            delivery = delivery.with_replay_key(signature_key());
        }
        Ok(delivery)
    }
}

impl fmt::Debug for Hmac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hmac")
            .field("secrets", &self.secrets)
            .field("signature", &self.signature)
            .field("prefix", &self.prefix)
            .field("encoding", &self.encoding)
            .field("content", &self.content)
            .field("id_fallback", &self.id_fallback)
            .field("timestamp", &self.timestamp)
            .field("tolerance", &self.tolerance)
            .field("dedupe_on_signature", &self.dedupe_on_signature)
            .finish_non_exhaustive()
    }
}

fn header_name(name: &str) -> HeaderName {
    HeaderName::try_from(name).unwrap_or_else(|_| panic!("invalid header name {name:?}"))
}

/// Why a signed-content template was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TemplateError {
    /// `{body}` is missing or appears more than once.
    Body,
    /// A `{` has no matching `}`.
    Unclosed,
    /// A placeholder other than `{body}`, `{timestamp}`, `{id}`.
    UnknownPlaceholder,
    /// `{timestamp}` without a timestamp header configured first.
    NoTimestampHeader,
    /// `{id}` without an id header configured first.
    NoIdHeader,
    /// More than eight pieces of text and placeholders.
    TooLong,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Body => "the signed-content template must contain `{body}` exactly once",
            Self::Unclosed => "the signed-content template has a `{` without `}`",
            Self::UnknownPlaceholder => "the signed-content template has an unknown placeholder",
            Self::NoTimestampHeader => "`{timestamp}` needs `timestamp_header` to be set first",
            Self::NoIdHeader => "`{id}` needs `id_from_header` to be set first",
            Self::TooLong => "the signed-content template has more than eight pieces",
        })
    }
}

impl std::error::Error for TemplateError {}
