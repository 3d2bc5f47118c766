//! The builder: a declaration's setters, its validation, and the
//! signed-content template's parser.

use std::time::Duration;

use bytes::Bytes;
use http::header::HeaderName;

use super::declare::{
    Answer, FieldSource, Handshake, Layout, Place, SignaturePolicy, SignatureSource, TimestampSource,
    Trigger, Version,
};
use super::error::{ConfigError, TemplateError};
use super::rules::{
    AnswerRule, HandshakeRule, Part, SignatureRule, Src, TimestampRule, TriggerRule, TsRule, UrlRule,
    MAX_PARTS,
};
use super::{Alternate, Spec, MAX_VERSIONS};
use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::public::Keys;
use crate::key::ring::KeyRing;
use crate::scheme::json::{self, Path, MAX_BODY_FIELDS};
use crate::scheme::timestamp::{bounded_tolerance, TimestampFormat, DEFAULT_TOLERANCE};
use crate::scheme::url::PublicUrl;
use crate::scheme::verdict::Reply;

/// Builds a [`Spec`]; every setter takes `self` and the order of calls does
/// not matter. [`build`](SpecBuilder::build) validates the whole.
#[derive(Debug, Clone)]
#[must_use]
pub struct SpecBuilder {
    name: &'static str,
    keys: Keys,
    signature: Option<SignatureSource>,
    layout: Layout,
    versions: Vec<Version>,
    template: String,
    timestamp: Option<(TimestampSource, TimestampFormat)>,
    tolerance: Duration,
    two_sided: bool,
    unsigned_timestamp: bool,
    id: FieldSource,
    event_type: Option<FieldSource>,
    dedupe_on_signature: bool,
    handshakes: Vec<Handshake>,
    policy: SignaturePolicy,
    url: UrlRule,
    alternate: Vec<(String, String)>,
    /// A provider's own template puts `{url}` next to `{body}` (Square,
    /// HubSpot): the provider fixed it, so the preset takes it as it is.
    provider_url_template: bool,
}

impl Spec {
    /// A builder for the sender called `name`, with the defaults: a
    /// `,`/space-separated list, the signed content `{body}`, the id and type
    /// from the body's `id` and `type`, a 5-minute two-sided tolerance.
    ///
    /// `name` is the spec's [`Scheme::name`](crate::scheme::Scheme::name): the
    /// `scheme` field of each delivery's log span and the `scheme` label of
    /// its metrics, so name the sender (`"acme"`), a fixed string, never one
    /// made from a request. An empty name is refused by
    /// [`build`](SpecBuilder::build) ([`ConfigError::EmptyName`]).
    pub fn builder(name: &'static str) -> SpecBuilder {
        SpecBuilder {
            name,
            keys: Keys::new(),
            signature: None,
            layout: Layout::List(Box::new([',', ' '])),
            versions: Vec::new(),
            template: "{body}".to_owned(),
            timestamp: None,
            tolerance: DEFAULT_TOLERANCE,
            two_sided: true,
            unsigned_timestamp: false,
            id: FieldSource::body("id"),
            event_type: Some(FieldSource::body("type")),
            dedupe_on_signature: false,
            handshakes: Vec::new(),
            policy: SignaturePolicy::Any,
            url: UrlRule::default(),
            alternate: Vec::new(),
            provider_url_template: false,
        }
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

    /// The header the signatures are in. This or
    /// [`signature_body`](SpecBuilder::signature_body) is required; the
    /// later call replaces the earlier.
    pub fn signature_header(mut self, name: &str) -> Self {
        self.signature = Some(SignatureSource::Header(name.to_owned()));
        self
    }

    /// The signatures are the string at the JSON body's dotted `path`
    /// (Mailgun's `signature.signature`), in the declared list layout,
    /// instead of in a header.
    ///
    /// A body that carries its own signature cannot be signed whole: the
    /// template names no `{body}`, and signs what the sender puts beside the
    /// signature (`{timestamp}` and `{id}`, which may then be body fields,
    /// and literals). Those fields are read, and the timestamp checked,
    /// before the signature; a missing one is a malformed signature (`401`).
    /// The event's data at `payload` (Mailgun's `event-data`) is **not
    /// signed**: once the signature verified, the body must still be one
    /// JSON document, else [`Rejection::InvalidBodyField`](crate::Rejection::InvalidBodyField)
    /// names `payload` (`400`). A keyed list cannot be read from the body.
    pub fn signature_body(mut self, path: &str, payload: &str) -> Self {
        self.signature = Some(SignatureSource::Body {
            path: path.to_owned(),
            payload: payload.to_owned(),
        });
        self
    }

    /// Signatures are a list split on any of `separators`, each entry a
    /// version's label (its prefix, such as `sha256=`, or empty) followed by
    /// the signature. The default, with `,` and space. Every value of a
    /// repeated header is read. With no separators, the value is one
    /// signature.
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
    /// does not parse, is refused with [`Rejection::InvalidBodyField`](crate::Rejection::InvalidBodyField)
    /// (`400`). `{timestamp}` cannot be named in the template: the body
    /// already carries it.
    pub fn timestamp_body(mut self, path: &str, format: TimestampFormat) -> Self {
        self.timestamp = Some((TimestampSource::Body(path.to_owned()), format));
        self
    }

    /// How far the timestamp may be from now (default 5 minutes; at most
    /// [`MAX_TOLERANCE`](crate::scheme::MAX_TOLERANCE), 1 hour: a larger one is taken
    /// as that, with a `warn`).
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = bounded_tolerance(tolerance);
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
    ///
    /// Two parts the sender controls (`{id}`, `{body}`, `{url}`, whose query
    /// is the sender's) must have a literal between them: in `{url}{body}`
    /// bytes could move from the query into the body without changing what
    /// is signed. `build` refuses such a template
    /// ([`TemplateError::Ambiguous`](super::TemplateError::Ambiguous)).
    pub fn signed_content(mut self, template: &str) -> Self {
        self.template = template.to_owned();
        self
    }

    /// A provider's template that puts `{url}` next to another part the
    /// sender controls, taken as the provider defines it (Square's
    /// `{url}{body}`, HubSpot's `{method}{url}{body}{timestamp}`).
    pub(crate) fn provider_url_template(mut self) -> Self {
        self.provider_url_template = true;
        self
    }

    /// Where the event id is (default the body's `id`).
    pub fn id(mut self, field: FieldSource) -> Self {
        self.id = field;
        self
    }

    /// Where the event type is (default the body's `type`).
    pub fn event_type(mut self, field: FieldSource) -> Self {
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
    pub fn policy(mut self, policy: SignaturePolicy) -> Self {
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

    /// The same scheme, also sent under other header names: each pair is a
    /// header this declaration names and the other sender's name for it, as
    /// Svix sends Standard Webhooks under `svix-id`, `svix-timestamp` and
    /// `svix-signature`.
    ///
    /// A delivery is read under the other names only when it carries none of
    /// the declared ones and at least one of the others; a delivery that mixes
    /// them is read under the declared names, and refused for what it lacks
    /// there.
    pub fn alternate_headers(mut self, pairs: &[(&str, &str)]) -> Self {
        self.alternate = pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect();
        self
    }

    /// Renames the spec: a preset's declaration
    /// ([`GitHub::builder`](crate::scheme::GitHub::builder)) carries the
    /// preset's name, which a changed declaration may replace (`"github-app"`).
    /// See [`Spec::builder`] for what the name labels.
    pub fn name(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// This declaration with every header it names renamed by `pairs`, and
    /// no alternate names of its own.
    fn renamed(&self, pairs: &[(String, String)]) -> Self {
        let rename = |name: &str| {
            pairs
                .iter()
                .find(|(from, _)| from.eq_ignore_ascii_case(name))
                .map_or_else(|| name.to_owned(), |(_, to)| to.clone())
        };
        let field = |field: &FieldSource| FieldSource {
            sources: field
                .sources
                .iter()
                .map(|source| match source {
                    Place::Header(name) => Place::Header(rename(name)),
                    other => other.clone(),
                })
                .collect(),
        };
        let mut renamed = self.clone();
        renamed.alternate = Vec::new();
        if let Some(SignatureSource::Header(name)) = &mut renamed.signature {
            *name = rename(name);
        }
        if let Some((TimestampSource::Header(name), _)) = &mut renamed.timestamp {
            *name = rename(name);
        }
        renamed.id = field(&self.id);
        renamed.event_type = self.event_type.as_ref().map(field);
        for handshake in &mut renamed.handshakes {
            if let Trigger::Header { name, .. } = &mut handshake.trigger {
                *name = rename(name);
            }
        }
        renamed
    }

    /// The spec under the alternate header names, if any are declared.
    fn alternate(&self) -> Result<Option<Box<Alternate>>, ConfigError> {
        if self.alternate.is_empty() {
            return Ok(None);
        }
        let names = |pick: fn(&(String, String)) -> &String| {
            self.alternate
                .iter()
                .map(|pair| header_name(pick(pair)))
                .collect::<Result<Box<[HeaderName]>, _>>()
        };
        Ok(Some(Box::new(Alternate {
            declared: names(|(declared, _)| declared)?,
            names: names(|(_, other)| other)?,
            spec: self.renamed(&self.alternate).build()?,
        })))
    }

    /// Validates the whole and builds the spec.
    ///
    /// # Errors
    ///
    /// The [`ConfigError`] that names the first mistake found.
    pub fn build(self) -> Result<Spec, ConfigError> {
        if self.name.is_empty() {
            return Err(ConfigError::EmptyName);
        }
        let alternate = self.alternate()?;
        let header = match self.signature.as_ref().ok_or(ConfigError::NoSignatureHeader)? {
            SignatureSource::Header(name) => Some(header_name(name)?),
            SignatureSource::Body { .. } => None,
        };
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
        let mut resolve = |field: &FieldSource, ids: bool| -> Result<Box<[Src]>, ConfigError> {
            if field.sources.is_empty() {
                return Err(ConfigError::InvalidField);
            }
            field
                .sources
                .iter()
                .map(|s| match s {
                    Place::Header(name) => header_name(name).map(Src::Header),
                    Place::Body(path) => body_index(path).map(Src::Body),
                    Place::Signature if ids => Ok(Src::Signature),
                    Place::Signature => Err(ConfigError::InvalidField),
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
                } => AnswerRule::Fixed(Reply::new(*status, *content_type, Bytes::from_static(body))),
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
        let signature = match (header, &self.signature) {
            (Some(name), _) => SignatureRule::Header(name),
            (None, Some(SignatureSource::Body { path, payload })) => {
                let entry = matches!(self.timestamp, Some((TimestampSource::Entry(_), _)));
                if matches!(self.layout, Layout::Keyed { .. }) || entry {
                    return Err(ConfigError::SignatureInBody {
                        reason: "a keyed list and its timestamp entry are read from a header",
                    });
                }
                if payload.is_empty() || payload.split('.').any(str::is_empty) {
                    return Err(ConfigError::InvalidField);
                }
                SignatureRule::Body {
                    field: body_index(path)?,
                    payload: payload.as_str().into(),
                }
            }
            (None, _) => return Err(ConfigError::NoSignatureHeader),
        };
        // A body that carries the signature is not signed whole: its
        // timestamp and id are signed through the template instead.
        let in_body = matches!(signature, SignatureRule::Body { .. });
        let id_is_one_source = match &id[..] {
            [Src::Header(_)] => true,
            [Src::Body(_)] => in_body,
            _ => false,
        };
        let from_request = timestamp
            .as_ref()
            .is_some_and(|t| !matches!(t.source, TsRule::Body(_)));
        let signs_timestamp = from_request || (in_body && timestamp.is_some());
        let content = parse_template(&self.template, signs_timestamp, id_is_one_source, !in_body)?;
        let url_is_free = |p: &Part| *p == Part::Url && !self.provider_url_template;
        if content.windows(2).any(|w| {
            let free = |p: &Part| p.is_free() || url_is_free(p);
            free(&w[0]) && free(&w[1])
        }) {
            return Err(ConfigError::Template(TemplateError::Ambiguous));
        }
        if signs_timestamp && !content.contains(&Part::Timestamp) && !self.unsigned_timestamp {
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
            SignaturePolicy::Any => {}
            SignaturePolicy::Require(label) => {
                if !self.versions.iter().any(|v| *v.label == **label && usable(v)) {
                    return Err(ConfigError::UnsatisfiablePolicy);
                }
            }
            SignaturePolicy::All => {
                if !self.versions.iter().all(usable) {
                    return Err(ConfigError::UnsatisfiablePolicy);
                }
            }
        }

        let signs_url = content.contains(&Part::Url);
        Ok(Spec {
            name: self.name,
            signs_url,
            keys: ring,
            signature,
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
            alternate,
        })
    }
}

/// The template's parts. `{timestamp}` needs a timestamp the body does not
/// already sign, `{id}` an id from one source the body does not already
/// sign, and `{body}` is there exactly once when the body is signed, never
/// when it carries the signature.
fn parse_template(
    template: &str,
    has_timestamp: bool,
    id_is_one_source: bool,
    body_signed: bool,
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
                    "id" if id_is_one_source => Part::Id,
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
    if parts.iter().filter(|p| **p == Part::Body).count() != usize::from(body_signed) {
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
