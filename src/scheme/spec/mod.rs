//! The signature engine: one [`Spec`] describes a provider as data, and one
//! verification loop serves them all.
//!
//! A declaration's words are in `declare` ([`FieldSource`], [`SignaturePolicy`],
//! [`Handshake`]), the builder that validates and compiles them in `build`
//! ([`SpecBuilder`]), the compiled rules in `rules`, the verifier in
//! `verify`, and the sender's half in `sign`.

use std::fmt;
use std::time::Duration;

use http::header::HeaderName;

use self::declare::{Layout, Version};
use self::rules::{HandshakeRule, Part, SignatureRule, Src, TimestampRule, TsRule, UrlRule};
use crate::key::ring::KeyRing;
use crate::scheme::json::Path;
use crate::scheme::timestamp::bounded_tolerance;

mod build;
mod declare;
mod error;
mod read;
mod rules;
#[cfg(feature = "test-util")]
mod sign;
#[cfg(test)]
mod tests;
mod verify;

pub use self::build::SpecBuilder;
pub use self::declare::{FieldSource, Handshake, SignaturePolicy};
pub use self::error::{ConfigError, TemplateError};

/// The most signature versions one [`Spec`] declares (their matches are
/// tracked in a 32-bit set).
pub const MAX_VERSIONS: usize = 32;

/// A provider described as data: where its signatures are, which algorithm
/// each version uses, what it signs, where its timestamp, id and type are,
/// and its handshakes. Build one with [`Spec::builder`]; the named presets
/// ([`GitHub`](crate::scheme::GitHub), [`Stripe`](crate::scheme::Stripe), ...) are `Spec`s too.
///
/// # A provider without a preset
///
/// Say a provider sends `X-Acme-Signature: sha256=<base64>` over
/// `{timestamp}.{id}.{body}`, the timestamp in `X-Acme-Timestamp`, the id in
/// `X-Acme-Delivery` and the event type in the body's `event.kind`:
///
/// ```
/// use std::time::Duration;
/// use tower_webhook::scheme::{Algorithm, Encoding, FieldSource, Spec, TimestampFormat};
/// use tower_webhook::Secret;
///
/// let acme = Spec::builder("acme")
///     .signature_header("x-acme-signature")
///     .version("sha256=", Algorithm::HmacSha256, Encoding::Base64)
///     .timestamp_header("x-acme-timestamp", TimestampFormat::UnixSeconds)
///     .tolerance(Duration::from_secs(300))
///     .id(FieldSource::header("x-acme-delivery"))
///     .event_type(FieldSource::body("event.kind"))
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
/// use tower_webhook::scheme::{Algorithm, Encoding, FieldSource, Spec, TimestampFormat};
/// use tower_webhook::PublicKey;
///
/// let key = PublicKey::ed25519_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")?;
/// let widgets = Spec::builder("widgets")
///     .signature_header("x-widgets-signature")
///     .version("", Algorithm::Ed25519, Encoding::Hex)
///     .timestamp_header("x-widgets-timestamp", TimestampFormat::UnixSeconds)
///     .id(FieldSource::body("id"))
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
/// refused with `400` ([`Rejection::InvalidHeader`](crate::Rejection::InvalidHeader)).
#[derive(Clone)]
pub struct Spec {
    name: &'static str,
    keys: KeyRing,
    signature: SignatureRule,
    layout: Layout,
    versions: Box<[Version]>,
    content: Box<[Part]>,
    timestamp: Option<TimestampRule>,
    id: Box<[Src]>,
    event_type: Box<[Src]>,
    body_paths: Box<[Path]>,
    dedupe_on_signature: bool,
    handshakes: Box<[HandshakeRule]>,
    policy: SignaturePolicy,
    url: UrlRule,
    /// Whether `content` names `{url}`, known once at build time.
    signs_url: bool,
    /// The same spec under another sender's header names.
    alternate: Option<Box<Alternate>>,
}

/// A [`Spec`] under other header names, read when a delivery carries none of
/// the `declared` names and some of the `names`.
#[derive(Clone)]
struct Alternate {
    declared: Box<[HeaderName]>,
    names: Box<[HeaderName]>,
    spec: Spec,
}

impl Spec {
    /// The same spec with another timestamp tolerance (no effect without a timestamp).
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        if self.timestamp.is_some() {
            self.set_tolerance(bounded_tolerance(tolerance));
        }
        self
    }

    fn set_tolerance(&mut self, tolerance: Duration) {
        if let Some(rule) = &mut self.timestamp {
            rule.tolerance = tolerance;
        }
        if let Some(alternate) = &mut self.alternate {
            alternate.spec.set_tolerance(tolerance);
        }
    }

    /// The signature header's name; `None` when the signatures are in the
    /// body ([`SpecBuilder::signature_body`]).
    pub fn signature_header(&self) -> Option<&HeaderName> {
        match &self.signature {
            SignatureRule::Header(name) => Some(name),
            SignatureRule::Body { .. } => None,
        }
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

    /// The first header the event type is read from, if it is read from a
    /// header (GitHub's `X-GitHub-Event`).
    pub fn event_type_header(&self) -> Option<&HeaderName> {
        self.event_type.iter().find_map(|s| match s {
            Src::Header(name) => Some(name),
            _ => None,
        })
    }

    /// The first header the id is read from, if it is read from a header.
    pub fn id_header(&self) -> Option<&HeaderName> {
        self.id.iter().find_map(|s| match s {
            Src::Header(name) => Some(name),
            _ => None,
        })
    }

    /// Whether the id is covered by the signature: read from the body while
    /// `{body}` is signed, from a header or body field the template names,
    /// or the signature itself.
    pub fn id_is_signed(&self) -> bool {
        match self.id.first() {
            Some(Src::Signature) => true,
            Some(Src::Body(_)) if self.content.contains(&Part::Body) => true,
            Some(Src::Header(_) | Src::Body(_)) => self.content.contains(&Part::Id),
            None => false,
        }
    }
}

impl fmt::Debug for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let algorithms: Vec<_> = self.versions.iter().map(|v| (&*v.label, v.algorithm)).collect();
        let in_body;
        let signature: &dyn fmt::Debug = match &self.signature {
            SignatureRule::Header(name) => name,
            SignatureRule::Body { field, .. } => {
                in_body = format!("body:{}", self.body_paths[*field].join("."));
                &in_body
            }
        };
        f.debug_struct("Spec")
            .field("name", &self.name)
            .field("signature", signature)
            .field("versions", &algorithms)
            .field("content", &self.content)
            .field("timestamp", &self.timestamp)
            .field("dedupe_on_signature", &self.dedupe_on_signature)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}
