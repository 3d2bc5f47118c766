//! A declaration compiled: the rules a [`Spec`](super::Spec) verifies with,
//! header names parsed and body paths resolved to indices, once, when it is
//! built.

use std::time::Duration;

use http::header::HeaderName;

use crate::scheme::timestamp::TimestampFormat;
use crate::scheme::verdict::Reply;

/// The most pieces a signed-content template may have.
pub(super) const MAX_PARTS: usize = 8;

/// One piece of the signed content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Part {
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
    pub(super) fn is_free(&self) -> bool {
        matches!(self, Self::Body | Self::Id)
    }

    pub(super) fn is_variable(&self) -> bool {
        !matches!(self, Self::Literal(_))
    }
}

/// A resolved field source.
#[derive(Debug, Clone)]
pub(super) enum Src {
    Header(HeaderName),
    Body(usize),
    Signature,
}

#[derive(Debug, Clone)]
pub(super) enum TriggerRule {
    Body(usize, Box<str>),
    Header(HeaderName, Box<str>),
}

#[derive(Debug, Clone)]
pub(super) enum AnswerRule {
    Fixed(Reply),
    EchoJson(usize, &'static str),
    EchoText(usize),
    HmacToken(usize),
}

#[derive(Debug, Clone)]
pub(super) struct HandshakeRule {
    pub(super) trigger: TriggerRule,
    pub(super) answer: AnswerRule,
}

#[derive(Debug, Clone)]
pub(super) enum TsRule {
    Header(HeaderName),
    Entry(Box<str>),
    /// An index into the body paths: read, parsed and checked only after
    /// the signature verified (the body is signed, so the timestamp is too).
    Body(usize),
}

#[derive(Debug, Clone)]
pub(super) struct TimestampRule {
    pub(super) source: TsRule,
    pub(super) format: TimestampFormat,
    pub(super) tolerance: Duration,
    pub(super) two_sided: bool,
}

/// How `{url}` is found.
#[derive(Debug, Clone, Default)]
pub(super) struct UrlRule {
    /// `scheme://host[:port]/path` as the sender calls it.
    pub(super) base: Option<Box<str>>,
    pub(super) trust_forwarded: bool,
}

/// Where the signatures are read, resolved.
#[derive(Debug, Clone)]
pub(super) enum SignatureRule {
    Header(HeaderName),
    /// The signature field's index into the body paths, and the path of
    /// the unsigned payload (named when the body is not one JSON document).
    Body {
        field: usize,
        payload: Box<str>,
    },
}
