//! The signature engine: one [`Spec`] describes a provider as data, and one
//! verification loop serves them all.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime};

use http::header::{HeaderMap, HeaderName};
use http::StatusCode;

use super::decode::Decoding;
use super::json::{self, Path};
use super::timestamp::{check_tolerance, TimestampFormat};
use super::{required_header, single_header, Delivery, Encoding, Reply, RequestParts, Scheme, Verdict};
use crate::key::ring::{Candidates, KeyRing, Matched, Sig, MAX_SIGNATURES};
use crate::key::Algorithm;
use crate::key::{KeyError, Keys, SecretError};
use crate::Rejection;

#[cfg(feature = "test-util")]
mod sign;

/// The default timestamp tolerance, in both directions: 5 minutes.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// The most pieces a signed-content template may have.
const MAX_PARTS: usize = 8;

/// The most distinct JSON body paths (id, type, handshake fields) a spec may read.
pub(crate) const MAX_BODY_FIELDS: usize = 8;

/// One piece of the signed content.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(Box<str>),
    Body,
    Timestamp,
    Id,
    Method,
    Url,
}

impl Part {
    /// A part whose bytes an attacker may choose freely, with nothing in its
    /// own syntax marking where it ends. A timestamp is parsed strictly and
    /// checked against the tolerance, the method is a token and the URL is
    /// the configured one, so those delimit themselves.
    fn is_free(&self) -> bool {
        matches!(self, Self::Body | Self::Id)
    }

    fn is_variable(&self) -> bool {
        !matches!(self, Self::Literal(_))
    }
}

/// Where the signatures sit in the signature header.
#[derive(Debug, Clone)]
enum Layout {
    /// Entries split on any of these characters, each `<label><signature>`:
    /// `sha256=<hex>` (GitHub), `<base64>` (Shopify, label empty).
    List(Box<[char]>),
    /// Entries `<key><kv><value>` split on `entry`: `t=..,v1=..` (Stripe),
    /// `ts=..;h1=..` (Paddle). The header must not repeat with different values.
    Keyed { entry: char, kv: char },
    /// Entries `<version><sep><signature>` split on `entry`: `v1,<b64> v1a,<b64>`
    /// (Standard Webhooks).
    Versioned { entry: char, sep: char },
}

#[derive(Debug, Clone)]
struct Version {
    label: Box<str>,
    algorithm: Algorithm,
    encoding: Encoding,
}

/// Where a value (an event id or type) is read from; build one with
/// [`Field::header`], [`Field::body`] or [`Field::signature`], and chain
/// fallbacks with the `or_*` methods, tried in the order written.
#[derive(Debug, Clone)]
pub struct Field {
    sources: Vec<FieldSource>,
}

#[derive(Debug, Clone)]
enum FieldSource {
    Header(String),
    Body(String),
    Signature,
}

impl Field {
    /// A request header (unsigned unless the template names it).
    pub fn header(name: &str) -> Self {
        Self {
            sources: vec![FieldSource::Header(name.to_owned())],
        }
    }

    /// The JSON body at a dotted path such as `id` or `event.type`: covered
    /// by the signature wherever `{body}` is signed. A string or an integer
    /// is read; anything else counts as absent.
    pub fn body(path: &str) -> Self {
        Self {
            sources: vec![FieldSource::Body(path.to_owned())],
        }
    }

    /// The verified signature itself, as `sig:<hex>` (ids only): for senders
    /// that give no id. Deliveries of the same signed content are then the
    /// same event.
    pub fn signature() -> Self {
        Self {
            sources: vec![FieldSource::Signature],
        }
    }

    /// Falls back to a header when the sources before have no value.
    #[must_use]
    pub fn or_header(mut self, name: &str) -> Self {
        self.sources.push(FieldSource::Header(name.to_owned()));
        self
    }

    /// Falls back to a body path when the sources before have no value.
    #[must_use]
    pub fn or_body(mut self, path: &str) -> Self {
        self.sources.push(FieldSource::Body(path.to_owned()));
        self
    }

    /// Falls back to the verified signature (ids only).
    #[must_use]
    pub fn or_signature(mut self) -> Self {
        self.sources.push(FieldSource::Signature);
        self
    }
}

/// A resolved [`FieldSource`].
#[derive(Debug, Clone)]
enum Src {
    Header(HeaderName),
    Body(usize),
    Signature,
}

/// Which signatures must verify when a delivery carries several versions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Policy {
    /// Any one valid signature of any configured version (the default).
    #[default]
    Any,
    /// A valid signature of this version label must be present (others are
    /// ignored): e.g. Standard Webhooks' `v1a`, to refuse symmetric-only deliveries.
    Require(String),
    /// A valid signature of every configured version must be present.
    All,
}

/// A verified request that is not an event but a handshake the layer answers
/// itself, without the replay guard or the inner service: Slack's
/// `url_verification`, Discord's PING, Zoom's `endpoint.url_validation`,
/// Twitch's `webhook_callback_verification`.
///
/// A handshake is recognised only after the signature verified. When its
/// answer needs a body field that is absent, the delivery is refused with
/// [`Rejection::MalformedHandshake`] (`400`).
#[derive(Debug, Clone)]
pub struct Handshake {
    trigger: Trigger,
    answer: Answer,
}

#[derive(Debug, Clone)]
enum Trigger {
    Body { path: String, equals: String },
    Header { name: String, equals: String },
}

#[derive(Debug, Clone)]
enum Answer {
    Fixed {
        status: StatusCode,
        content_type: Option<&'static str>,
        body: &'static [u8],
    },
    EchoJson {
        path: String,
        key: &'static str,
    },
    EchoText {
        path: String,
    },
    HmacToken {
        path: String,
    },
}

impl Handshake {
    /// A handshake recognised by the JSON body's `path` being `equals` (a
    /// string, or an integer written in decimal).
    pub fn when_body(path: &str, equals: &str) -> Self {
        Self {
            trigger: Trigger::Body {
                path: path.to_owned(),
                equals: equals.to_owned(),
            },
            answer: Answer::Fixed {
                status: StatusCode::OK,
                content_type: None,
                body: b"",
            },
        }
    }

    /// A handshake recognised by header `name` being `equals`.
    pub fn when_header(name: &str, equals: &str) -> Self {
        Self {
            trigger: Trigger::Header {
                name: name.to_owned(),
                equals: equals.to_owned(),
            },
            ..Self::when_body("", "")
        }
    }

    /// Answers with this status, content type and fixed body (the default
    /// is `200` with an empty body).
    #[must_use]
    pub fn answer(
        mut self,
        status: StatusCode,
        content_type: Option<&'static str>,
        body: &'static [u8],
    ) -> Self {
        self.answer = Answer::Fixed {
            status,
            content_type,
            body,
        };
        self
    }

    /// Answers `200` with `application/json` `{"<key>": <the string at path>}`.
    #[must_use]
    pub fn echo_json(mut self, path: &str, key: &'static str) -> Self {
        self.answer = Answer::EchoJson {
            path: path.to_owned(),
            key,
        };
        self
    }

    /// Answers `200` with `text/plain` holding the string at `path` verbatim.
    #[must_use]
    pub fn echo_text(mut self, path: &str) -> Self {
        self.answer = Answer::EchoText {
            path: path.to_owned(),
        };
        self
    }

    /// Answers `200` with `application/json` `{"plainToken": p,
    /// "encryptedToken": hex(HMAC-SHA256(secret, p))}` where `p` is the
    /// string at `path`, keyed with the secret that verified the request
    /// (Zoom's URL validation). Needs an HMAC-SHA256 version.
    #[must_use]
    pub fn hmac_token(mut self, path: &str) -> Self {
        self.answer = Answer::HmacToken {
            path: path.to_owned(),
        };
        self
    }
}

#[derive(Debug, Clone)]
enum TriggerRule {
    Body(usize, Box<str>),
    Header(HeaderName, Box<str>),
}

#[derive(Debug, Clone)]
enum AnswerRule {
    Fixed(Reply),
    EchoJson(usize, &'static str),
    EchoText(usize),
    HmacToken(usize),
}

#[derive(Debug, Clone)]
struct HandshakeRule {
    trigger: TriggerRule,
    answer: AnswerRule,
}

#[derive(Debug, Clone)]
enum TimestampSource {
    Header(String),
    Entry(String),
    Body(String),
}

#[derive(Debug, Clone)]
enum TsRule {
    Header(HeaderName),
    Entry(Box<str>),
    /// An index into the body paths: read, parsed and checked only after
    /// the signature verified (the body is signed, so the timestamp is too).
    Body(usize),
}

#[derive(Debug, Clone)]
struct TimestampRule {
    source: TsRule,
    format: TimestampFormat,
    tolerance: Duration,
    two_sided: bool,
}

/// How `{url}` is found.
#[derive(Debug, Clone, Default)]
struct UrlRule {
    /// `scheme://host[:port]/path` as the sender calls it.
    base: Option<Box<str>>,
    trust_forwarded: bool,
}

/// A configured public URL, `http(s)://host[:port][/path]` without a query
/// or fragment: the URL a sender signs, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PublicUrl<'a> {
    /// `https://` or `http://`.
    pub(crate) scheme: &'static str,
    /// The host as written (an IPv6 address keeps its brackets).
    pub(crate) host: &'a str,
    pub(crate) port: Option<u16>,
    /// From the first `/` on; empty when the URL has no path.
    pub(crate) path: &'a str,
}

impl<'a> PublicUrl<'a> {
    /// # Errors
    ///
    /// [`ConfigError::InvalidPublicUrl`] for anything else.
    pub(crate) fn parse(url: &'a str) -> Result<Self, ConfigError> {
        let (scheme, rest) = if let Some(rest) = url.strip_prefix("https://") {
            ("https://", rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            ("http://", rest)
        } else {
            return Err(ConfigError::InvalidPublicUrl);
        };
        if rest.contains(['?', '#', ' ']) {
            return Err(ConfigError::InvalidPublicUrl);
        }
        http::Uri::try_from(url).map_err(|_| ConfigError::InvalidPublicUrl)?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        // An IPv6 host keeps its brackets, and its colons are not the port's.
        let host_end = match authority.strip_prefix('[') {
            Some(inner) => inner
                .find(']')
                .map(|i| i + 2)
                .ok_or(ConfigError::InvalidPublicUrl)?,
            None => authority.find(':').unwrap_or(authority.len()),
        };
        let (host, port) = authority.split_at(host_end);
        let port = match port {
            "" => None,
            port => Some(
                port.strip_prefix(':')
                    .and_then(|p| p.parse().ok())
                    .ok_or(ConfigError::InvalidPublicUrl)?,
            ),
        };
        if host.is_empty() {
            return Err(ConfigError::InvalidPublicUrl);
        }
        Ok(Self {
            scheme,
            host,
            port,
            path,
        })
    }
}

/// The most signature versions one [`Spec`] declares (their matches are
/// tracked in a 32-bit set).
pub const MAX_VERSIONS: usize = 32;

/// Why a [`Spec`] (or a key) could not be built. Each variant names one
/// mistake; nothing here panics, and no setter depends on the order of calls.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A header name is not a valid HTTP header name.
    InvalidHeaderName {
        /// The name as given.
        name: String,
    },
    /// No signature header was configured.
    NoSignatureHeader,
    /// No signature version (label, algorithm, encoding) was configured.
    NoVersions,
    /// A version label contains the list's separator, so it could never
    /// match (`.version("v1,", ..)` in a `,`-separated list).
    LabelContainsSeparator {
        /// The label.
        label: String,
    },
    /// Two versions share a label.
    DuplicateVersion {
        /// The label.
        label: String,
    },
    /// More than [`MAX_VERSIONS`] signature versions were configured.
    TooManyVersions,
    /// The signed-content template was refused.
    Template(TemplateError),
    /// A timestamp is read and checked but the template does not sign it, so
    /// anyone could rewrite it. Name `{timestamp}` in the template, or call
    /// [`SpecBuilder::allow_unsigned_timestamp`].
    UnsignedTimestamp,
    /// An id or type [`Field`] has no source, an empty body path, or (for
    /// an event type) the signature as its source.
    InvalidField,
    /// More than eight distinct body paths are read.
    TooManyBodyFields,
    /// No configured key can verify any configured version's algorithm.
    NoUsableKey,
    /// An algorithm needs a cargo feature this build lacks.
    AlgorithmDisabled {
        /// The algorithm.
        algorithm: Algorithm,
    },
    /// A key could not be read.
    InvalidKey {
        /// What is wrong with it (never the key itself).
        reason: &'static str,
    },
    /// A secret could not be read.
    Secret(SecretError),
    /// The [`Policy`] names a version that is not configured, or requires a
    /// version for whose algorithm no key is configured.
    UnsatisfiablePolicy,
    /// The template signs `{url}` but neither a
    /// [public URL](SpecBuilder::public_url) nor
    /// [trusted forwarded headers](SpecBuilder::trust_forwarded_headers) are configured.
    NoPublicUrl,
    /// The public URL is not `http(s)://host[:port][/path]` without a query.
    InvalidPublicUrl,
    /// A [`Handshake`] answers with an HMAC token but no HMAC-SHA256 version is configured.
    HandshakeNeedsHmac,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidHeaderName { name } => write!(f, "{name:?} is not a valid header name"),
            Self::NoSignatureHeader => f.write_str("no signature header configured"),
            Self::NoVersions => f.write_str("no signature version configured"),
            Self::LabelContainsSeparator { label } => {
                write!(f, "signature label {label:?} contains the list separator")
            }
            Self::DuplicateVersion { label } => write!(f, "signature label {label:?} configured twice"),
            Self::TooManyVersions => write!(f, "more than {MAX_VERSIONS} signature versions configured"),
            Self::Template(e) => write!(f, "signed-content template: {e}"),
            Self::UnsignedTimestamp => f.write_str("the timestamp is checked but not signed"),
            Self::InvalidField => f.write_str("an id or type field has no usable source"),
            Self::TooManyBodyFields => f.write_str("more than eight body fields are read"),
            Self::NoUsableKey => f.write_str("no configured key verifies any configured signature version"),
            Self::AlgorithmDisabled { algorithm } => {
                write!(f, "{algorithm:?} needs a cargo feature this build lacks")
            }
            Self::InvalidKey { reason } => write!(f, "invalid key: {reason}"),
            Self::Secret(e) => write!(f, "invalid secret: {e}"),
            Self::UnsatisfiablePolicy => f.write_str("the signature policy cannot be satisfied"),
            Self::NoPublicUrl => f.write_str("`{url}` is signed but no public URL is configured"),
            Self::InvalidPublicUrl => f.write_str("the public URL is not http(s)://host[:port][/path]"),
            Self::HandshakeNeedsHmac => f.write_str("an HMAC-token handshake needs an HMAC-SHA256 version"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Template(e) => Some(e),
            Self::Secret(e) => Some(e),
            _ => None,
        }
    }
}

impl From<TemplateError> for ConfigError {
    fn from(e: TemplateError) -> Self {
        Self::Template(e)
    }
}

impl From<KeyError> for ConfigError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::InvalidKey { reason } => Self::InvalidKey { reason },
            KeyError::AlgorithmDisabled { algorithm } => Self::AlgorithmDisabled { algorithm },
        }
    }
}

impl From<SecretError> for ConfigError {
    fn from(e: SecretError) -> Self {
        Self::Secret(e)
    }
}

/// Why a signed-content template was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TemplateError {
    /// `{body}` is missing or appears more than once.
    Body,
    /// A `{` has no matching `}`.
    Unclosed,
    /// A placeholder other than `{body}`, `{timestamp}`, `{id}`, `{method}`, `{url}`.
    UnknownPlaceholder,
    /// `{timestamp}` without a timestamp source.
    NoTimestampHeader,
    /// `{id}` without the id read from exactly one header.
    NoIdHeader,
    /// More than eight pieces of text and placeholders.
    TooLong,
    /// Two parts an attacker controls (`{id}`, `{body}`) with no literal
    /// between them, such as `{id}{body}`: bytes could be moved from one to
    /// the other without changing what is signed.
    Ambiguous,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Body => "the signed-content template must contain `{body}` exactly once",
            Self::Unclosed => "the signed-content template has a `{` without `}`",
            Self::UnknownPlaceholder => "the signed-content template has an unknown placeholder",
            Self::NoTimestampHeader => "`{timestamp}` needs a timestamp source",
            Self::NoIdHeader => "`{id}` needs the id read from exactly one header",
            Self::TooLong => "the signed-content template has more than eight pieces",
            Self::Ambiguous => "two of `{id}`/`{body}` follow each other with no literal between them",
        })
    }
}

impl std::error::Error for TemplateError {}

/// A provider described as data: where its signatures are, which algorithm
/// each version uses, what it signs, where its timestamp, id and type are,
/// and its handshakes. Build one with [`Spec::builder`]; the named presets
/// ([`GitHub`](super::GitHub), [`Stripe`](super::Stripe), ...) are `Spec`s too.
///
/// # A provider without a preset
///
/// Say a provider sends `X-Acme-Signature: sha256=<base64>` over
/// `{timestamp}.{id}.{body}`, the timestamp in `X-Acme-Timestamp`, the id in
/// `X-Acme-Delivery` and the event type in the body's `event.kind`:
///
/// ```
/// use std::time::Duration;
/// use tower_webhook::scheme::{Algorithm, Encoding, Field, Spec, TimestampFormat};
/// use tower_webhook::Secret;
///
/// let acme = Spec::builder()
///     .signature_header("x-acme-signature")
///     .version("sha256=", Algorithm::HmacSha256, Encoding::Base64)
///     .timestamp_header("x-acme-timestamp", TimestampFormat::UnixSeconds)
///     .tolerance(Duration::from_secs(300))
///     .id(Field::header("x-acme-delivery"))
///     .event_type(Field::body("event.kind"))
///     .signed_content("{timestamp}.{id}.{body}")
///     .keys(Secret::new("acme secret")?)
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// An Ed25519 sender (feature `ed25519`) is the same declaration with another
/// algorithm and a public key:
///
/// ```
/// # #[cfg(feature = "ed25519")] {
/// use tower_webhook::scheme::{Algorithm, Encoding, Field, Spec, TimestampFormat};
/// use tower_webhook::PublicKey;
///
/// let key = PublicKey::ed25519_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")?;
/// let widgets = Spec::builder()
///     .signature_header("x-widgets-signature")
///     .version("", Algorithm::Ed25519, Encoding::Hex)
///     .timestamp_header("x-widgets-timestamp", TimestampFormat::UnixSeconds)
///     .id(Field::body("id"))
///     .signed_content("{timestamp}.{body}")
///     .keys(key)
///     .build()?;
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Unsigned headers
///
/// A header outside the signed content is not authenticated: whoever captured
/// one delivery can resend it with another value there. Prefer ids and types
/// from the body or the signed content. When the id must come from an
/// unsigned header, [`dedupe_on_signature`](SpecBuilder::dedupe_on_signature)
/// also drops a captured delivery resent under a fresh id, at a cost: two
/// distinct events with byte-identical signed content are then one event, so
/// it is off by default everywhere.
///
/// # Separators in signed values
///
/// A header value placed in the signed content next to a literal (the id in
/// `{timestamp}.{id}.{body}`) must not contain that literal: otherwise bytes
/// could move between the id and the body of a captured delivery, which would
/// then verify under a new id with a truncated body. Such a delivery is
/// refused with `400` ([`Rejection::InvalidHeader`]).
#[derive(Clone)]
pub struct Spec {
    keys: KeyRing,
    header: HeaderName,
    layout: Layout,
    versions: Box<[Version]>,
    content: Box<[Part]>,
    timestamp: Option<TimestampRule>,
    id: Box<[Src]>,
    event_type: Box<[Src]>,
    body_paths: Box<[Path]>,
    dedupe_on_signature: bool,
    handshakes: Box<[HandshakeRule]>,
    policy: Policy,
    url: UrlRule,
    /// Whether `content` names `{url}`, known once at build time.
    signs_url: bool,
}

/// Builds a [`Spec`]; every setter takes `self` and the order of calls does
/// not matter. [`build`](SpecBuilder::build) validates the whole.
#[derive(Debug, Clone)]
#[must_use]
pub struct SpecBuilder {
    keys: Keys,
    header: Option<String>,
    layout: Layout,
    versions: Vec<Version>,
    template: String,
    timestamp: Option<(TimestampSource, TimestampFormat)>,
    tolerance: Duration,
    two_sided: bool,
    unsigned_timestamp: bool,
    id: Field,
    event_type: Option<Field>,
    dedupe_on_signature: bool,
    handshakes: Vec<Handshake>,
    policy: Policy,
    url: UrlRule,
}

impl Spec {
    /// A builder with the defaults: a `,`/space-separated list, the signed
    /// content `{body}`, the id and type from the body's `id` and `type`, a
    /// 5-minute two-sided tolerance.
    pub fn builder() -> SpecBuilder {
        SpecBuilder {
            keys: Keys::new(),
            header: None,
            layout: Layout::List(Box::new([',', ' '])),
            versions: Vec::new(),
            template: "{body}".to_owned(),
            timestamp: None,
            tolerance: DEFAULT_TOLERANCE,
            two_sided: true,
            unsigned_timestamp: false,
            id: Field::body("id"),
            event_type: Some(Field::body("type")),
            dedupe_on_signature: false,
            handshakes: Vec::new(),
            policy: Policy::Any,
            url: UrlRule::default(),
        }
    }

    /// The same spec with another timestamp tolerance (no effect without a timestamp).
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        if let Some(rule) = &mut self.timestamp {
            rule.tolerance = super::bounded_tolerance(tolerance);
        }
        self
    }

    /// The signature header's name.
    pub fn signature_header(&self) -> &HeaderName {
        &self.header
    }

    /// The timestamp header's name, when the timestamp has its own header.
    pub fn timestamp_header(&self) -> Option<&HeaderName> {
        match &self.timestamp {
            Some(TimestampRule {
                source: TsRule::Header(name),
                ..
            }) => Some(name),
            _ => None,
        }
    }

    /// The first header the id is read from, if it is read from a header.
    pub fn id_header(&self) -> Option<&HeaderName> {
        self.id.iter().find_map(|s| match s {
            Src::Header(name) => Some(name),
            _ => None,
        })
    }

    /// Whether the id is covered by the signature: read from the body while
    /// `{body}` is signed, from a header the template names, or the
    /// signature itself.
    pub fn id_is_signed(&self) -> bool {
        match self.id.first() {
            Some(Src::Body(_) | Src::Signature) => true,
            Some(Src::Header(_)) => self.content.contains(&Part::Id),
            None => false,
        }
    }

    fn timestamp_text<'h>(
        &self,
        headers: &'h HeaderMap,
        entry: Option<&'h str>,
    ) -> Result<Option<(&'h str, i64, &HeaderName)>, Rejection> {
        let Some(rule) = &self.timestamp else {
            return Ok(None);
        };
        let (text, name) = match &rule.source {
            TsRule::Header(name) => (required_header(headers, name)?, name),
            TsRule::Entry(_) => (
                entry.ok_or(Rejection::InvalidHeader {
                    name: self.header.clone(),
                    reason: "no timestamp entry",
                })?,
                &self.header,
            ),
            TsRule::Body(_) => return Ok(None),
        };
        let value = rule
            .format
            .parse(text)
            .map_err(|reason| Rejection::InvalidHeader {
                name: name.clone(),
                reason,
            })?;
        Ok(Some((text, value, name)))
    }

    /// Reads every signature; for a keyed list, also the timestamp entry.
    fn candidates<'h>(
        &self,
        headers: &'h HeaderMap,
        out: &mut Candidates,
    ) -> Result<Option<&'h str>, Rejection> {
        let decode = |out: &mut Candidates, index: usize, text: &str| -> Result<(), Rejection> {
            let version = &self.versions[index];
            if let Some(sig) = Sig::decode(index as u8, version.algorithm, version.encoding, text) {
                out.push(sig).map_err(|_| Rejection::MalformedSignature {
                    reason: "too many signatures",
                })?;
            }
            Ok(())
        };
        match &self.layout {
            Layout::Keyed { entry, kv } => {
                let value =
                    single_header(headers, &self.header)?.ok_or_else(|| Rejection::MissingSignature {
                        name: self.header.clone(),
                    })?;
                let ts_key = match &self.timestamp {
                    Some(TimestampRule {
                        source: TsRule::Entry(key),
                        ..
                    }) => Some(&**key),
                    _ => None,
                };
                let mut timestamp = None;
                for item in value.split(*entry).filter(|e| !e.is_empty()) {
                    let (key, text) = item.split_once(*kv).ok_or(Rejection::MalformedSignature {
                        reason: "entry without a key",
                    })?;
                    if Some(key) == ts_key {
                        if timestamp.is_some() {
                            return Err(Rejection::InvalidHeader {
                                name: self.header.clone(),
                                reason: "timestamp entry repeated",
                            });
                        }
                        timestamp = Some(text);
                    } else if let Some(index) = self.versions.iter().position(|v| *v.label == *key) {
                        // One that does not decode cannot match: skip it, as
                        // the providers' libraries do, and let the others decide.
                        decode(out, index, text)?;
                    }
                }
                Ok(timestamp)
            }
            Layout::List(separators) => {
                let mut each = |item: &str| -> Result<(), Rejection> {
                    if item.is_empty() {
                        return Ok(());
                    }
                    // The longest label that prefixes the entry: with "" and
                    // "sha256=" both declared, "sha256=<hex>" is the latter's,
                    // whatever order they were declared in.
                    if let Some((index, text)) = self
                        .versions
                        .iter()
                        .enumerate()
                        .filter_map(|(i, v)| strip_label(item, &v.label).map(|t| (i, t)))
                        .min_by_key(|(_, text)| text.len())
                    {
                        decode(out, index, text)?;
                    }
                    Ok(())
                };
                for value in signature_values(headers, &self.header)? {
                    // One-character splits, nested: each finds its separator
                    // with memchr, where a set of characters is matched char by char.
                    match separators[..] {
                        [one] => value.split(one).try_for_each(&mut each)?,
                        [a, b] => value.split(a).flat_map(|v| v.split(b)).try_for_each(&mut each)?,
                        _ => value.split(&separators[..]).try_for_each(&mut each)?,
                    }
                }
                Ok(None)
            }
            Layout::Versioned { entry, sep } => {
                for value in signature_values(headers, &self.header)? {
                    for item in value.split(*entry).filter(|e| !e.is_empty()) {
                        let Some((label, text)) = item.split_once(*sep) else {
                            continue;
                        };
                        if let Some(index) = self.versions.iter().position(|v| *v.label == *label) {
                            decode(out, index, text)?;
                        }
                    }
                }
                Ok(None)
            }
        }
    }

    /// A timestamp read from the (verified) body, checked against the tolerance.
    fn body_timestamp(
        &self,
        fields: &[Option<std::borrow::Cow<'_, str>>; MAX_BODY_FIELDS],
        clock: &dyn Fn() -> SystemTime,
    ) -> Result<Option<i64>, Rejection> {
        let Some(
            rule @ TimestampRule {
                source: TsRule::Body(i),
                ..
            },
        ) = &self.timestamp
        else {
            return Ok(None);
        };
        let path = || self.body_paths[*i].join(".").into_boxed_str();
        let text = fields[*i].as_deref().ok_or_else(|| Rejection::InvalidBodyField {
            path: path(),
            reason: "the timestamp is missing",
        })?;
        let value = rule
            .format
            .parse(text)
            .map_err(|reason| Rejection::InvalidBodyField { path: path(), reason })?;
        check_tolerance(value, clock(), rule.tolerance, rule.two_sided)?;
        Ok(Some(value))
    }

    /// The URL the sender signed: the configured public base plus the
    /// request's query, or (trusted) the forwarded headers.
    fn url(&self, request: &RequestParts<'_>) -> Result<String, Rejection> {
        let query = request.uri.query().map(|q| format!("?{q}")).unwrap_or_default();
        if let Some(base) = &self.url.base {
            return Ok(format!("{base}{query}"));
        }
        let forwarded = |name: &'static str| {
            single_header(request.headers, &HeaderName::from_static(name))
                .ok()
                .flatten()
                .map(|v| v.split(',').next().unwrap_or(v).trim())
        };
        let proto = forwarded("x-forwarded-proto").unwrap_or("https");
        let host = forwarded("x-forwarded-host")
            .or_else(|| request.uri.authority().map(|a| a.as_str()))
            .or_else(|| forwarded("host"))
            .ok_or(Rejection::MissingHeader {
                name: http::header::HOST,
            })?;
        Ok(format!("{proto}://{host}{}", request.uri.path()) + &query)
    }

    fn build_parts<'a>(
        &'a self,
        out: &mut [&'a [u8]; MAX_PARTS],
        body: &'a [u8],
        id: Option<(&'a str, &'a HeaderName)>,
        timestamp: Option<(&'a str, &'a HeaderName)>,
        method: &'a str,
        url: &'a str,
    ) -> Result<usize, Rejection> {
        let mut len = 0;
        for (i, part) in self.content.iter().enumerate() {
            let (bytes, checked): (&'a [u8], Option<(&str, &HeaderName)>) = match part {
                Part::Literal(text) => (text.as_bytes(), None),
                Part::Body => (body, None),
                Part::Timestamp => (timestamp.map_or(&b""[..], |t| t.0.as_bytes()), timestamp),
                Part::Id => (id.map_or(&b""[..], |t| t.0.as_bytes()), id),
                Part::Method => (method.as_bytes(), None),
                Part::Url => (url.as_bytes(), None),
            };
            if let Some((value, name)) = checked {
                let neighbours = [i.checked_sub(1), Some(i + 1)];
                for n in neighbours.into_iter().flatten() {
                    if let Some(Part::Literal(lit)) = self.content.get(n) {
                        // A one-byte literal (the usual `.` or `:`) is a memchr.
                        let found = match lit.as_bytes() {
                            [byte] => value.as_bytes().contains(byte),
                            _ => value.contains(&**lit),
                        };
                        if found {
                            return Err(Rejection::InvalidHeader {
                                name: name.clone(),
                                reason: "contains the signed content's separator",
                            });
                        }
                    }
                }
            }
            out[len] = bytes;
            len += 1;
        }
        Ok(len)
    }

    /// Verifies the signatures against the content; the match, or `401`.
    fn check(&self, sigs: &[Sig], parts: &[&[u8]]) -> Result<Matched, Rejection> {
        let mut first = None;
        let mut verified = 0u32;
        for (index, version) in self.versions.iter().enumerate() {
            let mut mine: [&Sig; MAX_SIGNATURES] = [&sigs[0]; MAX_SIGNATURES];
            let mut n = 0;
            for sig in sigs.iter().filter(|s| usize::from(s.version) == index) {
                mine[n] = sig;
                n += 1;
            }
            if n == 0 {
                continue;
            }
            if let Some(m) = self.keys.verify(version.algorithm, parts, &mine[..n]) {
                verified |= 1 << index;
                first.get_or_insert(m);
                if self.policy == Policy::Any {
                    break;
                }
            }
        }
        let satisfied = match &self.policy {
            Policy::Any => verified != 0,
            Policy::Require(label) => self
                .versions
                .iter()
                .position(|v| *v.label == **label)
                .is_some_and(|i| verified & (1 << i) != 0),
            Policy::All => verified.count_ones() as usize == self.versions.len(),
        };
        match first {
            Some(m) if satisfied => Ok(m),
            _ => Err(Rejection::SignatureMismatch),
        }
    }

    fn answer(
        &self,
        rule: &HandshakeRule,
        fields: &[Option<std::borrow::Cow<'_, str>>; MAX_BODY_FIELDS],
        matched: &Matched,
    ) -> Result<Reply, Rejection> {
        let field = |i: usize| {
            fields[i].as_deref().ok_or(Rejection::MalformedHandshake {
                reason: "a field the answer needs is missing",
            })
        };
        Ok(match &rule.answer {
            AnswerRule::Fixed(reply) => reply.clone(),
            AnswerRule::EchoJson(i, key) => {
                let mut map = serde_json::Map::new();
                map.insert((*key).to_owned(), field(*i)?.into());
                Reply::new(
                    StatusCode::OK,
                    Some("application/json"),
                    serde_json::Value::Object(map).to_string(),
                )
            }
            AnswerRule::EchoText(i) => Reply::new(StatusCode::OK, Some("text/plain"), field(*i)?.to_owned()),
            AnswerRule::HmacToken(i) => {
                let plain = field(*i)?;
                let token = self.keys.hmac256(matched.key, &[plain.as_bytes()]).ok_or(
                    Rejection::MalformedHandshake {
                        reason: "the request was not verified with an HMAC-SHA256 secret",
                    },
                )?;
                let reply = serde_json::json!({ "plainToken": plain, "encryptedToken": hex::encode(token) });
                Reply::new(StatusCode::OK, Some("application/json"), reply.to_string())
            }
        })
    }
}

/// The body's fields at `paths` (at most [`MAX_BODY_FIELDS`]), in one walk
/// sized to the number asked for: the walk checks every path at every key.
///
/// # Errors
///
/// [`Rejection::DuplicateJsonKey`] (`400`) when a key repeats on one of the
/// paths: parsers disagree on which occurrence counts, so the replay key could
/// differ from what the handler reads.
fn body_fields<'a>(
    body: &'a [u8],
    paths: &[Path],
) -> Result<[Option<std::borrow::Cow<'a, str>>; MAX_BODY_FIELDS], Rejection> {
    fn walk<'a, const N: usize>(
        body: &'a [u8],
        paths: &[Path],
    ) -> Result<[Option<std::borrow::Cow<'a, str>>; MAX_BODY_FIELDS], Rejection> {
        let found = json::find_unique::<N>(body, std::array::from_fn(|i| paths.get(i)))?;
        let mut out: [Option<std::borrow::Cow<'a, str>>; MAX_BODY_FIELDS] = Default::default();
        for (slot, value) in out.iter_mut().zip(found) {
            *slot = value;
        }
        Ok(out)
    }
    match paths.len() {
        0 => Ok(Default::default()),
        1 => walk::<1>(body, paths),
        2 => walk::<2>(body, paths),
        3 => walk::<3>(body, paths),
        4 => walk::<4>(body, paths),
        _ => walk::<MAX_BODY_FIELDS>(body, paths),
    }
}

/// Every value of the signature header as text; `401` when there is none.
/// Values that are not visible ASCII cannot hold a signature and are skipped.
fn signature_values<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> Result<impl Iterator<Item = &'h str>, Rejection> {
    let mut values = headers.get_all(name).iter().peekable();
    if values.peek().is_none() {
        return Err(Rejection::MissingSignature { name: name.clone() });
    }
    Ok(values.filter_map(|v| v.to_str().ok()))
}

/// `item` without the version label in front, if it starts with it.
///
/// An empty label (Petstore's bare hex) matches without a comparison:
/// `str::strip_prefix("")` calls `memcmp` for zero bytes at the empty
/// string's dangling address (`0x1`), and glibc's AVX-512 `memcmp` still
/// issues a masked load there. On an AMD EPYC that took 77 ns a call
/// against 1.2 ns from a mapped address (most likely a fault-suppression
/// assist), about 2% of a delivery in `benches/profile.rs`.
fn strip_label<'i>(item: &'i str, label: &str) -> Option<&'i str> {
    if label.is_empty() {
        Some(item)
    } else {
        item.strip_prefix(label)
    }
}

impl Scheme for Spec {
    fn verify(&self, request: RequestParts<'_>, body: &[u8], now: SystemTime) -> Result<Verdict, Rejection> {
        self.verify_in_layer(request, body, &|| now, None)
    }

    fn precheck(&self, headers: &HeaderMap) -> Result<(), Rejection> {
        if headers.contains_key(&self.header) {
            Ok(())
        } else {
            Err(Rejection::MissingSignature {
                name: self.header.clone(),
            })
        }
    }

    /// The body's fields are read while `decoding` decodes it, when it can,
    /// instead of by a walk of their own; `clock` is read only where a
    /// timestamp is checked against it.
    fn verify_in_layer(
        &self,
        request: RequestParts<'_>,
        body: &[u8],
        clock: &dyn Fn() -> SystemTime,
        decoding: Option<&mut Decoding<'_>>,
    ) -> Result<Verdict, Rejection> {
        let headers = request.headers;
        // The order of checks is the old presets': a keyed list holds the
        // timestamp, so it is read first; otherwise the timestamp and id
        // headers are, then the signatures.
        let mut candidates = Candidates::new();
        let keyed = matches!(self.layout, Layout::Keyed { .. });
        let entry = if keyed {
            self.candidates(headers, &mut candidates)?
        } else {
            None
        };
        let timestamp = self.timestamp_text(headers, entry)?;
        if let (Some(rule), Some((_, value, _))) = (&self.timestamp, timestamp) {
            check_tolerance(value, clock(), rule.tolerance, rule.two_sided)?;
        }

        // An id from headers only: its absence is a `400` before any crypto.
        let mut id_header = None;
        if let Some(Src::Header(first)) = self.id.first() {
            for src in self.id.iter() {
                if let Src::Header(name) = src {
                    if let Some(value) = single_header(headers, name)? {
                        id_header = Some((value, name));
                        break;
                    }
                }
            }
            if id_header.is_none() && self.id.iter().all(|s| matches!(s, Src::Header(_))) {
                return Err(Rejection::MissingHeader { name: first.clone() });
            }
        }

        if !keyed {
            self.candidates(headers, &mut candidates)?;
        }
        let sigs = candidates.all();
        if sigs.is_empty() {
            return Err(Rejection::MalformedSignature {
                reason: "no signature in the expected format",
            });
        }
        let url = if self.signs_url {
            self.url(&request)?
        } else {
            String::new()
        };
        let mut parts: [&[u8]; MAX_PARTS] = [&[]; MAX_PARTS];
        let n = self.build_parts(
            &mut parts,
            body,
            id_header,
            timestamp.map(|(text, _, name)| (text, name)),
            request.method.as_str(),
            &url,
        )?;
        let matched = self.check(sigs, &parts[..n])?;

        // Verified: only now is the body worth reading.
        let fields = match decoding.and_then(|decoding| decoding.fields(body, &self.body_paths)) {
            Some(fields) => fields,
            None => body_fields(body, &self.body_paths)?,
        };
        let body_timestamp = self.body_timestamp(&fields, clock)?;

        for rule in self.handshakes.iter() {
            let hit = match &rule.trigger {
                TriggerRule::Body(i, equals) => fields[*i].as_deref() == Some(&**equals),
                TriggerRule::Header(name, equals) => {
                    single_header(headers, name).ok().flatten() == Some(&**equals)
                }
            };
            if hit {
                return self.answer(rule, &fields, &matched).map(Verdict::Reply);
            }
        }

        let signature_key = || format!("sig:{}", hex::encode(matched.canonical()));
        let mut id: Option<Cow<'_, str>> = None;
        for src in self.id.iter() {
            id = match src {
                Src::Header(_) => id_header.map(|(v, _)| Cow::Borrowed(v)),
                Src::Body(i) => fields[*i].as_deref().map(Cow::Borrowed),
                Src::Signature => Some(Cow::Owned(signature_key())),
            };
            if id.is_some() {
                break;
            }
        }
        let id = id.ok_or(Rejection::MissingEventId)?;
        let mut event_type = None;
        for src in self.event_type.iter() {
            event_type = match src {
                Src::Header(name) => single_header(headers, name).ok().flatten(),
                Src::Body(i) => fields[*i].as_deref(),
                Src::Signature => None,
            };
            if event_type.is_some() {
                break;
            }
        }
        let mut delivery = Delivery::with_id_and_type(&id, event_type)?
            .with_timestamp(timestamp.map(|t| t.1).or(body_timestamp));
        if self.dedupe_on_signature && !self.id.iter().any(|s| matches!(s, Src::Signature)) {
            delivery = delivery.with_replay_key(signature_key());
        }
        Ok(Verdict::Event(delivery))
    }
}

impl fmt::Debug for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let algorithms: Vec<_> = self.versions.iter().map(|v| (&*v.label, v.algorithm)).collect();
        f.debug_struct("Spec")
            .field("signature", &self.header)
            .field("versions", &algorithms)
            .field("content", &self.content)
            .field("timestamp", &self.timestamp)
            .field("dedupe_on_signature", &self.dedupe_on_signature)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

fn header_name(name: &str) -> Result<HeaderName, ConfigError> {
    HeaderName::try_from(name).map_err(|_| ConfigError::InvalidHeaderName {
        name: name.to_owned(),
    })
}

impl SpecBuilder {
    /// The keys that verify (several at once for rotation; secrets for HMAC,
    /// public keys for Ed25519 and ECDSA). Replaces any set before.
    pub fn keys(mut self, keys: impl Into<Keys>) -> Self {
        self.keys = keys.into();
        self
    }

    /// The header the signatures are in (required).
    pub fn signature_header(mut self, name: &str) -> Self {
        self.header = Some(name.to_owned());
        self
    }

    /// Signatures are a list split on any of `separators`, each entry a
    /// version's label (its prefix, such as `sha256=`, or empty) followed by
    /// the signature. The default, with `,` and space. Every value of a
    /// repeated header is read.
    pub fn list(mut self, separators: &[char]) -> Self {
        self.layout = Layout::List(separators.into());
        self
    }

    /// Signatures are entries `<key><kv><value>` split on `entry`, such as
    /// Stripe's `t=..,v1=..` (`keyed_list(',', '=')`) or Paddle's
    /// `ts=..;h1=..`; a version's label is its key, and unknown keys are
    /// ignored. The header must not repeat with different values (`400`).
    pub fn keyed_list(mut self, entry: char, kv: char) -> Self {
        self.layout = Layout::Keyed { entry, kv };
        self
    }

    /// Signatures are entries `<version><sep><signature>` split on `entry`,
    /// such as Standard Webhooks' `v1,<b64> v1a,<b64>` (`versioned_list(' ', ',')`).
    pub fn versioned_list(mut self, entry: char, sep: char) -> Self {
        self.layout = Layout::Versioned { entry, sep };
        self
    }

    /// A signature version: its label in the header, its algorithm and its
    /// encoding. Add several for a sender that mixes them.
    pub fn version(mut self, label: &str, algorithm: Algorithm, encoding: Encoding) -> Self {
        self.versions.push(Version {
            label: label.into(),
            algorithm,
            encoding,
        });
        self
    }

    /// Reads the timestamp from its own header.
    pub fn timestamp_header(mut self, name: &str, format: TimestampFormat) -> Self {
        self.timestamp = Some((TimestampSource::Header(name.to_owned()), format));
        self
    }

    /// Reads the timestamp from the keyed signature list's entry `key`
    /// (Stripe's `t`); needs [`keyed_list`](SpecBuilder::keyed_list).
    pub fn timestamp_entry(mut self, key: &str, format: TimestampFormat) -> Self {
        self.timestamp = Some((TimestampSource::Entry(key.to_owned()), format));
        self
    }

    /// Reads the timestamp from the JSON body at a dotted `path` (a string or
    /// an integer), as Linear's `webhookTimestamp` in unix milliseconds
    /// (`timestamp_body("webhookTimestamp", TimestampFormat::UnixMillis)`).
    ///
    /// The body is signed, so the timestamp is too; it is checked after the
    /// signature verified, and a verified body without it, or with one that
    /// does not parse, is refused with [`Rejection::InvalidBodyField`]
    /// (`400`). `{timestamp}` cannot be named in the template: the body
    /// already carries it.
    pub fn timestamp_body(mut self, path: &str, format: TimestampFormat) -> Self {
        self.timestamp = Some((TimestampSource::Body(path.to_owned()), format));
        self
    }

    /// How far the timestamp may be from now (default 5 minutes; at most
    /// [`MAX_TOLERANCE`](super::MAX_TOLERANCE), 1 hour: a larger one is taken
    /// as that, with a `warn`).
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = super::bounded_tolerance(tolerance);
        self
    }

    /// Refuses only timestamps older than the tolerance, not future ones
    /// (the default refuses both).
    pub fn past_only(mut self) -> Self {
        self.two_sided = false;
        self
    }

    /// Accepts a checked timestamp that the template does not sign (it then
    /// protects nothing against a replay with a fresh timestamp).
    pub fn allow_unsigned_timestamp(mut self) -> Self {
        self.unsigned_timestamp = true;
        self
    }

    /// What the sender signs: `{body}` (required, once), `{timestamp}` and
    /// `{id}` (the header values exactly as sent), `{method}`, `{url}` (the
    /// public URL plus the request's query) and literal text, such as
    /// `v0:{timestamp}:{body}`. The default is `{body}`.
    pub fn signed_content(mut self, template: &str) -> Self {
        self.template = template.to_owned();
        self
    }

    /// Where the event id is (default the body's `id`).
    pub fn id(mut self, field: Field) -> Self {
        self.id = field;
        self
    }

    /// Where the event type is (default the body's `type`).
    pub fn event_type(mut self, field: Field) -> Self {
        self.event_type = Some(field);
        self
    }

    /// Reads no event type.
    pub fn no_event_type(mut self) -> Self {
        self.event_type = None;
        self
    }

    /// Also keys the replay guard on the verified signature, so a captured
    /// delivery resent under a fresh unsigned id is dropped. Off by default:
    /// it also drops a distinct event whose signed content is byte-identical
    /// to an earlier one (two `ping`s with the same body, say).
    pub fn dedupe_on_signature(mut self, on: bool) -> Self {
        self.dedupe_on_signature = on;
        self
    }

    /// A handshake the layer answers itself (after the signature verified).
    pub fn handshake(mut self, handshake: Handshake) -> Self {
        self.handshakes.push(handshake);
        self
    }

    /// Which signatures must verify when a delivery carries several versions.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The endpoint's public URL as the sender calls it,
    /// `scheme://host[:port][/path]`: `{url}` is it plus the request's query.
    /// Behind a TLS-terminating proxy the request's own URI has lost the
    /// scheme and host the sender signed.
    pub fn public_url(mut self, url: &str) -> Self {
        self.url.base = Some(url.trim_end_matches('/').into());
        self
    }

    /// Without a public URL, builds `{url}` from `X-Forwarded-Proto` and
    /// `X-Forwarded-Host` (else the `Host` header) and the request's path and
    /// query. **This trusts the proxy**: only turn it on when a proxy you run
    /// sets those headers and strips them from what clients send.
    pub fn trust_forwarded_headers(mut self, on: bool) -> Self {
        self.url.trust_forwarded = on;
        self
    }

    /// Validates the whole and builds the spec.
    ///
    /// # Errors
    ///
    /// The [`ConfigError`] that names the first mistake found.
    pub fn build(self) -> Result<Spec, ConfigError> {
        let header = header_name(self.header.as_deref().ok_or(ConfigError::NoSignatureHeader)?)?;
        if self.versions.is_empty() {
            return Err(ConfigError::NoVersions);
        }
        let separators: Vec<char> = match &self.layout {
            Layout::List(s) => s.to_vec(),
            Layout::Keyed { entry, kv } => vec![*entry, *kv],
            Layout::Versioned { entry, sep } => vec![*entry, *sep],
        };
        if self.versions.len() > MAX_VERSIONS {
            return Err(ConfigError::TooManyVersions);
        }
        for (i, v) in self.versions.iter().enumerate() {
            if v.label.contains(&separators[..]) {
                return Err(ConfigError::LabelContainsSeparator {
                    label: v.label.to_string(),
                });
            }
            if self.versions[..i].iter().any(|w| w.label == v.label) {
                return Err(ConfigError::DuplicateVersion {
                    label: v.label.to_string(),
                });
            }
            if !v.algorithm.is_enabled() {
                return Err(ConfigError::AlgorithmDisabled {
                    algorithm: v.algorithm,
                });
            }
        }

        let mut body_paths: Vec<Path> = Vec::new();
        let mut body_index = |path: &str| -> Result<usize, ConfigError> {
            if path.is_empty() || path.split('.').any(str::is_empty) {
                return Err(ConfigError::InvalidField);
            }
            let p = json::path(path);
            if let Some(i) = body_paths.iter().position(|q| *q == p) {
                return Ok(i);
            }
            if body_paths.len() == MAX_BODY_FIELDS {
                return Err(ConfigError::TooManyBodyFields);
            }
            body_paths.push(p);
            Ok(body_paths.len() - 1)
        };
        let mut resolve = |field: &Field, ids: bool| -> Result<Box<[Src]>, ConfigError> {
            if field.sources.is_empty() {
                return Err(ConfigError::InvalidField);
            }
            field
                .sources
                .iter()
                .map(|s| match s {
                    FieldSource::Header(name) => header_name(name).map(Src::Header),
                    FieldSource::Body(path) => body_index(path).map(Src::Body),
                    FieldSource::Signature if ids => Ok(Src::Signature),
                    FieldSource::Signature => Err(ConfigError::InvalidField),
                })
                .collect()
        };
        let id = resolve(&self.id, true)?;
        let event_type = match &self.event_type {
            Some(field) => resolve(field, false)?,
            None => Box::new([]),
        };
        let mut handshakes = Vec::new();
        for h in &self.handshakes {
            let trigger = match &h.trigger {
                Trigger::Body { path, equals } => {
                    TriggerRule::Body(body_index(path)?, equals.as_str().into())
                }
                Trigger::Header { name, equals } => {
                    TriggerRule::Header(header_name(name)?, equals.as_str().into())
                }
            };
            let answer = match &h.answer {
                Answer::Fixed {
                    status,
                    content_type,
                    body,
                } => AnswerRule::Fixed(Reply::new(
                    *status,
                    *content_type,
                    bytes::Bytes::from_static(body),
                )),
                Answer::EchoJson { path, key } => AnswerRule::EchoJson(body_index(path)?, key),
                Answer::EchoText { path } => AnswerRule::EchoText(body_index(path)?),
                Answer::HmacToken { path } => {
                    if !self.versions.iter().any(|v| v.algorithm == Algorithm::HmacSha256) {
                        return Err(ConfigError::HandshakeNeedsHmac);
                    }
                    AnswerRule::HmacToken(body_index(path)?)
                }
            };
            handshakes.push(HandshakeRule { trigger, answer });
        }

        let timestamp = match &self.timestamp {
            Some((source, format)) => Some(TimestampRule {
                source: match source {
                    TimestampSource::Header(name) => TsRule::Header(header_name(name)?),
                    TimestampSource::Entry(key) => TsRule::Entry(key.as_str().into()),
                    TimestampSource::Body(path) => TsRule::Body(body_index(path)?),
                },
                format: *format,
                tolerance: self.tolerance,
                two_sided: self.two_sided,
            }),
            None => None,
        };
        let id_is_one_header = id.len() == 1 && matches!(id[0], Src::Header(_));
        let from_request = timestamp
            .as_ref()
            .is_some_and(|t| !matches!(t.source, TsRule::Body(_)));
        let content = parse_template(&self.template, from_request, id_is_one_header)?;
        if from_request && !content.contains(&Part::Timestamp) && !self.unsigned_timestamp {
            return Err(ConfigError::UnsignedTimestamp);
        }
        if let Some(base) = &self.url.base {
            PublicUrl::parse(base)?;
        } else if content.contains(&Part::Url) && !self.url.trust_forwarded {
            return Err(ConfigError::NoPublicUrl);
        }

        let ring = KeyRing::new(&self.keys, self.versions.iter().map(|v| v.algorithm));
        if self.versions.iter().all(|v| ring.count(v.algorithm) == 0) {
            return Err(ConfigError::NoUsableKey);
        }
        let usable = |v: &Version| ring.count(v.algorithm) > 0;
        match &self.policy {
            Policy::Any => {}
            Policy::Require(label) => {
                if !self.versions.iter().any(|v| *v.label == **label && usable(v)) {
                    return Err(ConfigError::UnsatisfiablePolicy);
                }
            }
            Policy::All => {
                if !self.versions.iter().all(usable) {
                    return Err(ConfigError::UnsatisfiablePolicy);
                }
            }
        }

        let signs_url = content.contains(&Part::Url);
        Ok(Spec {
            signs_url,
            keys: ring,
            header,
            layout: self.layout,
            versions: self.versions.into(),
            content,
            timestamp,
            id,
            event_type,
            body_paths: body_paths.into(),
            dedupe_on_signature: self.dedupe_on_signature,
            handshakes: handshakes.into(),
            policy: self.policy,
            url: self.url,
        })
    }
}

fn parse_template(
    template: &str,
    has_timestamp: bool,
    id_is_one_header: bool,
) -> Result<Box<[Part]>, TemplateError> {
    let mut parts = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        match rest.find('{') {
            Some(0) => {
                let end = rest.find('}').ok_or(TemplateError::Unclosed)?;
                parts.push(match &rest[1..end] {
                    "body" => Part::Body,
                    "timestamp" if has_timestamp => Part::Timestamp,
                    "timestamp" => return Err(TemplateError::NoTimestampHeader),
                    "id" if id_is_one_header => Part::Id,
                    "id" => return Err(TemplateError::NoIdHeader),
                    "method" => Part::Method,
                    "url" => Part::Url,
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
    if parts
        .windows(2)
        .any(|w| w[0].is_variable() && w[1].is_variable() && w[0].is_free() && w[1].is_free())
    {
        return Err(TemplateError::Ambiguous);
    }
    Ok(parts.into())
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use http::{Method, Uri};

    use super::*;
    use crate::Secret;

    #[test]
    fn strip_label_is_strip_prefix() {
        for (item, label) in [
            ("abc", ""),
            ("", ""),
            ("sha256=ab", "sha256="),
            ("sha1=ab", "sha256="),
            ("v1", "v1"),
        ] {
            assert_eq!(
                strip_label(item, label),
                item.strip_prefix(label),
                "{item:?} {label:?}"
            );
        }
    }

    const NOW: i64 = 1_700_000_000;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW as u64)
    }

    fn secret() -> Secret {
        Secret::new("engine secret").unwrap()
    }

    /// A valid base: every test changes one thing.
    fn base() -> SpecBuilder {
        Spec::builder()
            .signature_header("x-sig")
            .version("", Algorithm::HmacSha256, Encoding::Hex)
            .keys(secret())
    }

    fn err(builder: SpecBuilder) -> ConfigError {
        builder.build().expect_err("refused")
    }

    fn hmac_hex(parts: &[&[u8]]) -> String {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"engine secret").unwrap();
        for p in parts {
            mac.update(p);
        }
        hex::encode(mac.finalize().into_bytes())
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    fn verify(spec: &Spec, h: &HeaderMap, body: &[u8]) -> Result<Verdict, Rejection> {
        spec.verify(RequestParts::post(h), body, now())
    }

    #[test]
    fn public_urls_split_into_scheme_host_port_and_path() {
        let parse = |url| PublicUrl::parse(url).map(|u| (u.scheme, u.host, u.port, u.path));
        assert_eq!(
            parse("https://example.com"),
            Ok(("https://", "example.com", None, ""))
        );
        assert_eq!(
            parse("http://example.com:8080/hooks/in"),
            Ok(("http://", "example.com", Some(8080), "/hooks/in"))
        );
        assert_eq!(parse("https://[::1]"), Ok(("https://", "[::1]", None, "")));
        assert_eq!(
            parse("https://[::1]:8443/hooks"),
            Ok(("https://", "[::1]", Some(8443), "/hooks"))
        );
        for bad in [
            "example.com/hooks",
            "ftp://example.com/",
            "https://",
            "https:///hooks",
            "https://example.com/hooks?x=1",
            "https://example.com/#top",
            "https://exa mple.com/",
            "https://example.com:port/",
        ] {
            assert_eq!(parse(bad), Err(ConfigError::InvalidPublicUrl), "{bad}");
        }
    }

    #[test]
    fn a_label_that_prefixes_another_does_not_take_its_entries_whatever_the_order() {
        // An id in the body, so that nothing but the signature matters.
        let body = br#"{"id":"evt_1"}"#;
        let tag = hmac_hex(&[body]);
        let builders = [
            Spec::builder()
                .signature_header("x-sig")
                .version("", Algorithm::HmacSha256, Encoding::Hex)
                .version("sha256=", Algorithm::HmacSha256, Encoding::Hex),
            Spec::builder()
                .signature_header("x-sig")
                .version("sha256=", Algorithm::HmacSha256, Encoding::Hex)
                .version("", Algorithm::HmacSha256, Encoding::Hex),
        ];
        for builder in builders {
            let spec = builder.id(Field::body("id")).keys(secret()).build().unwrap();
            for value in [format!("sha256={tag}"), tag.clone()] {
                assert!(
                    verify(&spec, &headers(&[("x-sig", &value)]), body).is_ok(),
                    "{value} under {spec:?}"
                );
            }
        }
    }

    #[test]
    fn every_config_error_is_reachable() {
        let many = (0..=MAX_VERSIONS).fold(base(), |b, i| {
            b.version(&format!("v{i}="), Algorithm::HmacSha256, Encoding::Hex)
        });
        assert_eq!(err(many), ConfigError::TooManyVersions);
        assert_eq!(
            err(base().signature_header("bad header")),
            ConfigError::InvalidHeaderName {
                name: "bad header".into()
            }
        );
        assert_eq!(
            err(Spec::builder().version("", Algorithm::HmacSha256, Encoding::Hex)),
            ConfigError::NoSignatureHeader
        );
        assert_eq!(
            err(Spec::builder().signature_header("x-sig").keys(secret())),
            ConfigError::NoVersions
        );
        assert_eq!(
            err(base().version("v1,", Algorithm::HmacSha256, Encoding::Hex)),
            ConfigError::LabelContainsSeparator { label: "v1,".into() }
        );
        assert_eq!(
            err(base()
                .keyed_list(';', '=')
                .version("h=1", Algorithm::HmacSha256, Encoding::Hex)),
            ConfigError::LabelContainsSeparator { label: "h=1".into() }
        );
        assert_eq!(
            err(base().version("", Algorithm::HmacSha1, Encoding::Hex)),
            ConfigError::DuplicateVersion { label: "".into() }
        );
        assert_eq!(
            err(base().signed_content("{body}{body}")),
            ConfigError::Template(TemplateError::Body)
        );
        assert_eq!(
            err(base().timestamp_header("x-ts", TimestampFormat::UnixSeconds)),
            ConfigError::UnsignedTimestamp
        );
        assert!(base()
            .timestamp_header("x-ts", TimestampFormat::UnixSeconds)
            .allow_unsigned_timestamp()
            .build()
            .is_ok());
        assert_eq!(err(base().id(Field::body(""))), ConfigError::InvalidField);
        assert_eq!(err(base().id(Field::body("a..b"))), ConfigError::InvalidField);
        assert_eq!(
            err(base().event_type(Field::signature())),
            ConfigError::InvalidField
        );
        assert_eq!(
            err(base().id(Field { sources: Vec::new() })),
            ConfigError::InvalidField
        );
        let mut many = Field::body("f0");
        for i in 1..=MAX_BODY_FIELDS {
            many = many.or_body(&format!("f{i}"));
        }
        assert_eq!(err(base().id(many)), ConfigError::TooManyBodyFields);
        assert_eq!(err(base().keys(Keys::new())), ConfigError::NoUsableKey);
        #[cfg(not(feature = "ed25519"))]
        assert_eq!(
            err(base().version("a", Algorithm::Ed25519, Encoding::Hex)),
            ConfigError::AlgorithmDisabled {
                algorithm: Algorithm::Ed25519
            }
        );
        #[cfg(feature = "ed25519")]
        assert_eq!(
            err(base()
                .version("a", Algorithm::Ed25519, Encoding::Hex)
                .policy(Policy::All)),
            ConfigError::UnsatisfiablePolicy
        );
        assert_eq!(
            err(base().policy(Policy::Require("v9".into()))),
            ConfigError::UnsatisfiablePolicy
        );
        assert_eq!(
            err(base().signed_content("{url}.{body}")),
            ConfigError::NoPublicUrl
        );
        for bad in ["ftp://x/", "https://", "https://h/p?q=1", "https://h/p#f", "h/p"] {
            assert_eq!(
                err(base().signed_content("{url}.{body}").public_url(bad)),
                ConfigError::InvalidPublicUrl,
                "{bad}"
            );
        }
        assert_eq!(
            err(base()
                .version("v2", Algorithm::HmacSha1, Encoding::Hex)
                .list(&[','])
                .version("", Algorithm::HmacSha1, Encoding::Hex)),
            ConfigError::DuplicateVersion { label: "".into() }
        );
        let sha1_only = Spec::builder()
            .signature_header("x-sig")
            .version("", Algorithm::HmacSha1, Encoding::Hex)
            .keys(secret())
            .handshake(Handshake::when_body("type", "v").hmac_token("token"));
        assert_eq!(err(sha1_only), ConfigError::HandshakeNeedsHmac);
        assert!(matches!(
            err(base().keys(Keys::new())).to_string().as_str(),
            s if !s.is_empty()
        ));
        assert!(std::error::Error::source(&ConfigError::Template(TemplateError::Body)).is_some());
        assert!(matches!(
            crate::PublicKey::ed25519(&[0; 3]).map_err(ConfigError::from),
            Err(ConfigError::InvalidKey { .. })
        ));
        assert_eq!(
            ConfigError::from(SecretError::Empty),
            ConfigError::Secret(SecretError::Empty)
        );
    }

    #[test]
    fn every_template_error_is_reachable() {
        for (template, error) in [
            ("no body here", TemplateError::Body),
            ("{body}{body}", TemplateError::Body),
            ("{body", TemplateError::Unclosed),
            ("{nope}{body}", TemplateError::UnknownPlaceholder),
            ("{timestamp}.{body}", TemplateError::NoTimestampHeader),
            ("{id}.{body}", TemplateError::NoIdHeader),
            ("a{method}b{url}c{method}d{body}e", TemplateError::TooLong),
            ("{id}{body}", TemplateError::Ambiguous),
            ("{body}{id}", TemplateError::Ambiguous),
        ] {
            let builder = base()
                .id(Field::header("x-id"))
                .signed_content(template)
                .public_url("https://h/p");
            let builder = if template == "{id}.{body}" {
                builder.id(Field::body("id"))
            } else {
                builder
            };
            assert_eq!(err(builder), ConfigError::Template(error), "{template}");
        }
        // A timestamp delimits itself (strict syntax, checked value), so it
        // may touch `{id}` or `{body}`: Discord, SendGrid and Twitch sign so.
        assert!(base()
            .timestamp_header("x-ts", TimestampFormat::Rfc3339)
            .id(Field::header("x-id"))
            .signed_content("{id}{timestamp}{body}")
            .build()
            .is_ok());
    }

    /// Today's `{timestamp}.{id}.{body}` recipe, where the id is an unsigned
    /// header: bytes can be moved from the body into the id.
    fn recipe() -> Spec {
        base()
            .timestamp_header("x-ts", TimestampFormat::UnixSeconds)
            .id(Field::header("x-id"))
            .signed_content("{timestamp}.{id}.{body}")
            .build()
            .unwrap()
    }

    #[test]
    fn refuses_bytes_shifted_from_the_body_into_the_id() {
        let ts = NOW.to_string();
        let body: &[u8] = b"2.{\"amount\":100}";
        let sig = hmac_hex(&[ts.as_bytes(), b".", b"evt_1", b".", body]);
        let captured = headers(&[("x-sig", &sig), ("x-ts", &ts), ("x-id", "evt_1")]);
        let delivery = verify(&recipe(), &captured, body).unwrap();
        assert_eq!(delivery.event().unwrap().id(), "evt_1");

        // The same signed bytes, split differently: a fresh id (the replay
        // guard would not know it) and a body the sender never sent.
        let shifted = headers(&[("x-sig", &sig), ("x-ts", &ts), ("x-id", "evt_1.2")]);
        let result = verify(&recipe(), &shifted, b"{\"amount\":100}");
        assert_eq!(
            result,
            Err(Rejection::InvalidHeader {
                name: HeaderName::from_static("x-id"),
                reason: "contains the signed content's separator",
            })
        );
        assert_eq!(result.unwrap_err().status(), 400);
    }

    #[test]
    fn hmac_sha1_and_millisecond_timestamps_past_only() {
        let spec = Spec::builder()
            .signature_header("x-sig")
            .version("sha1=", Algorithm::HmacSha1, Encoding::Hex)
            .timestamp_header("x-ts", TimestampFormat::UnixMillis)
            .past_only()
            .signed_content("{body}{timestamp}")
            .keys(secret())
            .build()
            .unwrap();
        let sign = |ts: &str, body: &[u8]| {
            use hmac::Mac;
            let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(b"engine secret").unwrap();
            mac.update(body);
            mac.update(ts.as_bytes());
            format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
        };
        let body = br#"{"id":"e1"}"#;
        for (ts, ok) in [
            ((NOW * 1000).to_string(), true),
            (((NOW + 3600) * 1000).to_string(), true),
            (((NOW - 301) * 1000).to_string(), false),
        ] {
            let h = headers(&[("x-sig", &sign(&ts, body)), ("x-ts", &ts)]);
            assert_eq!(verify(&spec, &h, body).is_ok(), ok, "{ts}");
        }
    }

    #[test]
    fn signs_the_public_url_plus_the_query_and_the_method() {
        let spec = base()
            .signed_content("{method} {url}\n{body}")
            .public_url("https://hooks.example.com/in/")
            .build()
            .unwrap();
        let body = br#"{"id":"e1"}"#;
        let sig = hmac_hex(&[b"POST https://hooks.example.com/in?a=1&b=2\n", body]);
        let h = headers(&[("x-sig", &sig)]);
        let uri = Uri::from_static("/in?a=1&b=2");
        let request = RequestParts {
            method: &Method::POST,
            uri: &uri,
            headers: &h,
        };
        assert!(spec.verify(request, body, now()).is_ok());
        let put = RequestParts {
            method: &Method::PUT,
            ..request
        };
        assert_eq!(spec.verify(put, body, now()), Err(Rejection::SignatureMismatch));

        let forwarded = base()
            .signed_content("{url}|{body}")
            .trust_forwarded_headers(true)
            .build()
            .unwrap();
        let sig = hmac_hex(&[b"https://public.example/in?a=1&b=2|", body]);
        let h = headers(&[
            ("x-sig", &sig),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "public.example"),
        ]);
        let request = RequestParts {
            method: &Method::POST,
            uri: &uri,
            headers: &h,
        };
        assert!(forwarded.verify(request, body, now()).is_ok());
    }

    #[test]
    fn answers_handshakes_only_after_the_signature_verified() {
        let spec = base()
            .handshake(Handshake::when_body("event", "validate").hmac_token("payload.plainToken"))
            .handshake(Handshake::when_header("x-kind", "ping").answer(StatusCode::NO_CONTENT, None, b""))
            .build()
            .unwrap();
        let body = br#"{"event":"validate","payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"}}"#;
        let h = headers(&[("x-sig", &hmac_hex(&[body]))]);
        let reply = verify(&spec, &h, body).unwrap();
        let reply = reply.reply().unwrap();
        let json: serde_json::Value = serde_json::from_slice(reply.body()).unwrap();
        assert_eq!(json["plainToken"], "qgg8vlvZRS6UYooatFL8Aw");
        assert_eq!(json["encryptedToken"], hmac_hex(&[b"qgg8vlvZRS6UYooatFL8Aw"]));

        let no_token = br#"{"event":"validate"}"#;
        let h = headers(&[("x-sig", &hmac_hex(&[no_token]))]);
        assert!(matches!(
            verify(&spec, &h, no_token),
            Err(Rejection::MalformedHandshake { .. })
        ));

        let ping = br#"{"id":"p"}"#;
        let mut h = headers(&[("x-sig", &hmac_hex(&[ping])), ("x-kind", "ping")]);
        assert_eq!(verify(&spec, &h, ping).unwrap().reply().unwrap().status(), 204);
        h.insert("x-sig", "00".repeat(32).parse().unwrap());
        assert_eq!(verify(&spec, &h, ping), Err(Rejection::SignatureMismatch));
    }

    #[test]
    fn reads_a_signed_timestamp_from_the_body_after_the_signature() {
        let spec = base()
            .timestamp_body("meta.sent_ms", TimestampFormat::UnixMillis)
            .tolerance(Duration::from_secs(60))
            .build()
            .unwrap();
        let delivery = |body: &[u8], sig: &str| verify(&spec, &headers(&[("x-sig", sig)]), body);
        let body = format!(r#"{{"id":"e1","meta":{{"sent_ms":{}}}}}"#, NOW * 1000 - 60_000);
        let ok = delivery(body.as_bytes(), &hmac_hex(&[body.as_bytes()])).unwrap();
        assert_eq!(ok.event().unwrap().timestamp(), Some(NOW - 60));

        let stale = format!(r#"{{"id":"e1","meta":{{"sent_ms":{}}}}}"#, NOW * 1000 - 61_000);
        assert_eq!(
            delivery(stale.as_bytes(), &hmac_hex(&[stale.as_bytes()])),
            Err(Rejection::TimestampTooOld { age_secs: 61 })
        );
        // Unsigned, the body is not read: the signature answers first.
        assert_eq!(
            delivery(stale.as_bytes(), &"00".repeat(32)),
            Err(Rejection::SignatureMismatch)
        );
        let missing = br#"{"id":"e1"}"#;
        assert_eq!(
            delivery(missing, &hmac_hex(&[missing])),
            Err(Rejection::InvalidBodyField {
                path: "meta.sent_ms".into(),
                reason: "the timestamp is missing",
            })
        );
        // The body carries it: the template cannot sign it a second time.
        assert_eq!(
            err(base()
                .timestamp_body("ts", TimestampFormat::UnixSeconds)
                .signed_content("{timestamp}.{body}")),
            ConfigError::Template(TemplateError::NoTimestampHeader)
        );
        assert_eq!(
            err(base().timestamp_body("a..b", TimestampFormat::UnixSeconds)),
            ConfigError::InvalidField
        );
    }

    #[test]
    fn precheck_wants_the_signature_header() {
        let spec = base().build().unwrap();
        assert!(spec.precheck(&headers(&[("x-sig", "aa")])).is_ok());
        assert!(matches!(
            spec.precheck(&HeaderMap::new()),
            Err(Rejection::MissingSignature { .. })
        ));
    }
}
