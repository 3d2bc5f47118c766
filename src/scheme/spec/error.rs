//! Why a [`Spec`](super::Spec) could not be built.

use std::fmt;

use super::MAX_VERSIONS;
use crate::key::algorithm::Algorithm;
use crate::key::error::{KeyError, SecretError};

/// Why a [`Spec`](super::Spec) (or a key) could not be built. Each variant names one
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
    /// [`SpecBuilder::allow_unsigned_timestamp`](super::SpecBuilder::allow_unsigned_timestamp).
    UnsignedTimestamp,
    /// An id or type [`FieldSource`](super::FieldSource) has no source, an empty body path, or (for
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
    /// The [`SignaturePolicy`](super::SignaturePolicy) names a version that is not configured, or requires a
    /// version for whose algorithm no key is configured.
    UnsatisfiablePolicy,
    /// The template signs `{url}` but neither a
    /// [public URL](super::SpecBuilder::public_url) nor
    /// [trusted forwarded headers](super::SpecBuilder::trust_forwarded_headers) are configured.
    NoPublicUrl,
    /// The public URL is not `http(s)://host[:port][/path]` without a query.
    InvalidPublicUrl,
    /// A [`Handshake`](super::Handshake) answers with an HMAC token but no HMAC-SHA256 version is configured.
    HandshakeNeedsHmac,
    /// The name given to [`Spec::builder`](super::Spec::builder) (or
    /// [`SpecBuilder::name`](super::SpecBuilder::name)) is empty: logs and
    /// metrics could not tell the spec's deliveries apart.
    EmptyName,
    /// The signature is read from the body
    /// ([`signature_body`](super::SpecBuilder::signature_body)) in a way that
    /// cannot work.
    SignatureInBody {
        /// What cannot work.
        reason: &'static str,
    },
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
            Self::EmptyName => {
                f.write_str("the spec's name is empty: name the sender, as in Spec::builder(\"acme\")")
            }
            Self::SignatureInBody { reason } => {
                write!(f, "the signature is read from the body, but {reason}")
            }
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
    /// `{body}` is missing or appears more than once; or, with the
    /// signature in the body, appears at all.
    Body,
    /// A `{` has no matching `}`.
    Unclosed,
    /// A placeholder other than `{body}`, `{timestamp}`, `{id}`, `{method}`, `{url}`.
    UnknownPlaceholder,
    /// `{timestamp}` without a timestamp source the body does not already sign.
    NoTimestampHeader,
    /// `{id}` without the id read from exactly one header (or, with the
    /// signature in the body, one body field).
    NoIdHeader,
    /// More than eight pieces of text and placeholders.
    TooLong,
    /// Two parts an attacker controls (`{id}`, `{body}`, `{url}`) with no
    /// literal between them, such as `{id}{body}` or `{url}{body}`: bytes
    /// could be moved from one to the other without changing what is signed.
    Ambiguous,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Body => {
                "the signed-content template must contain `{body}` exactly once (never with the signature in the body)"
            }
            Self::Unclosed => "the signed-content template has a `{` without `}`",
            Self::UnknownPlaceholder => "the signed-content template has an unknown placeholder",
            Self::NoTimestampHeader => "`{timestamp}` needs a timestamp source",
            Self::NoIdHeader => "`{id}` needs the id read from exactly one header",
            Self::TooLong => "the signed-content template has more than eight pieces",
            Self::Ambiguous => "two of `{id}`/`{body}`/`{url}` follow each other with no literal between them",
        })
    }
}

impl std::error::Error for TemplateError {}
