//! The words of a declaration: what a provider's [`Spec`](super::Spec) is
//! built from. [`FieldSource`] says where an id or type is read, [`SignaturePolicy`] which
//! signatures must verify, [`Handshake`] which verified requests the layer
//! answers itself; the builder's private words (the signature list's
//! [`Layout`], a signature [`Version`], a [`TimestampSource`]) sit beside them.

use http::StatusCode;

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;

/// Where the signatures sit in the signature header.
#[derive(Debug, Clone)]
pub(super) enum Layout {
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
pub(super) struct Version {
    pub(super) label: Box<str>,
    pub(super) algorithm: Algorithm,
    pub(super) encoding: Encoding,
}

/// Where a value (an event id or type) is read from; build one with
/// [`FieldSource::header`], [`FieldSource::body`] or [`FieldSource::signature`], and chain
/// fallbacks with the `or_*` methods, tried in the order written.
#[derive(Debug, Clone)]
pub struct FieldSource {
    pub(super) sources: Vec<Place>,
}

#[derive(Debug, Clone)]
pub(super) enum Place {
    Header(String),
    Body(String),
    Signature,
}

impl FieldSource {
    /// A request header (unsigned unless the template names it).
    pub fn header(name: &str) -> Self {
        Self {
            sources: vec![Place::Header(name.to_owned())],
        }
    }

    /// The JSON body at a dotted path such as `id` or `event.type`: covered
    /// by the signature wherever `{body}` is signed. A string or an integer
    /// is read; anything else counts as absent.
    pub fn body(path: &str) -> Self {
        Self {
            sources: vec![Place::Body(path.to_owned())],
        }
    }

    /// The verified signature itself, as `sig:<hex>` (ids only): for senders
    /// that give no id. Deliveries of the same signed content are then the
    /// same event.
    pub fn signature() -> Self {
        Self {
            sources: vec![Place::Signature],
        }
    }

    /// Falls back to a header when the sources before have no value.
    #[must_use]
    pub fn or_header(mut self, name: &str) -> Self {
        self.sources.push(Place::Header(name.to_owned()));
        self
    }

    /// Falls back to a body path when the sources before have no value.
    #[must_use]
    pub fn or_body(mut self, path: &str) -> Self {
        self.sources.push(Place::Body(path.to_owned()));
        self
    }

    /// Falls back to the verified signature (ids only).
    #[must_use]
    pub fn or_signature(mut self) -> Self {
        self.sources.push(Place::Signature);
        self
    }
}

/// Which signatures must verify when a delivery carries several versions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SignaturePolicy {
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
/// [`Rejection::MalformedHandshake`](crate::Rejection::MalformedHandshake) (`400`).
#[derive(Debug, Clone)]
pub struct Handshake {
    pub(super) trigger: Trigger,
    pub(super) answer: Answer,
}

#[derive(Debug, Clone)]
pub(super) enum Trigger {
    Body { path: String, equals: String },
    Header { name: String, equals: String },
}

#[derive(Debug, Clone)]
pub(super) enum Answer {
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
pub(super) enum TimestampSource {
    Header(String),
    Entry(String),
    Body(String),
}

/// Where the signatures are: a header, or a string field of the JSON body.
#[derive(Debug, Clone)]
pub(super) enum SignatureSource {
    Header(String),
    /// The signatures at `path`; the event's data, which no signature
    /// covers, at `payload`.
    Body {
        path: String,
        payload: String,
    },
}
