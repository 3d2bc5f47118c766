//! A [`Spec`]'s sender half: the headers (and, for a body timestamp, the
//! body) its sender would send.

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName};

use super::declare::Layout;
use super::rules::{Part, SignatureRule, Src, TimestampRule, TsRule};
use super::Spec;
use crate::key::algorithm::Algorithm;
use crate::scheme::json;
use crate::scheme::sign::{header, Message, Sign};
use crate::scheme::timestamp::TimestampFormat;

impl Spec {
    /// Signs as a sender would, with `sign` producing the raw signature of
    /// the concatenated parts for the first version whose algorithm it
    /// supports. `id`, `timestamp`, `method` and `url` are used where the
    /// spec needs them.
    pub(crate) fn sign_with(&self, message: &Message<'_>, sign: &RawSigner<'_>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let Some((value, ts_text)) = self.signature_list(message, sign) else {
            return headers;
        };
        if let SignatureRule::Header(name) = &self.signature {
            header(&mut headers, name, &value);
        }
        if let (Some(name), Some(ts)) = (self.timestamp_header(), &ts_text) {
            header(&mut headers, name, ts);
        }
        if let Some(name) = self.id_header() {
            header(&mut headers, name, message.id);
        }
        headers
    }

    /// The signature list's value a sender writes for `message` (signed
    /// with the first version `sign` can sign), and the timestamp's text.
    fn signature_list(
        &self,
        message: &Message<'_>,
        sign: &RawSigner<'_>,
    ) -> Option<(String, Option<String>)> {
        let ts_text = self
            .timestamp
            .as_ref()
            .map(|t| t.format.format(message.timestamp));
        let url = match &self.url.base {
            Some(base) => base.to_string(),
            None => message.url.to_owned(),
        };
        let mut parts: Vec<&[u8]> = Vec::new();
        for part in self.content.iter() {
            parts.push(match part {
                Part::Literal(t) => t.as_bytes(),
                Part::Body => message.body,
                Part::Timestamp => ts_text.as_deref().unwrap_or("").as_bytes(),
                Part::Id => message.id.as_bytes(),
                Part::Method => message.method.as_bytes(),
                Part::Url => url.as_bytes(),
            });
        }
        let (version, raw) = self
            .versions
            .iter()
            .find_map(|v| sign(v.algorithm, &parts).map(|raw| (v, raw)))?;
        let encoded = version.encoding.encode(&raw);
        let value = match &self.layout {
            Layout::List(_) => format!("{}{encoded}", version.label),
            Layout::Keyed { entry, kv } => match &self.timestamp {
                Some(TimestampRule {
                    source: TsRule::Entry(key),
                    ..
                }) => format!(
                    "{key}{kv}{}{entry}{}{kv}{encoded}",
                    ts_text.as_deref().unwrap_or(""),
                    version.label
                ),
                _ => format!("{}{kv}{encoded}", version.label),
            },
            Layout::Versioned { sep, .. } => format!("{}{sep}{encoded}", version.label),
        };
        Some((value, ts_text))
    }

    /// The body a sender sends for `body`, signed by `sign`: for a spec
    /// whose signatures are in the body, `body` with its signature block;
    /// for one with a body timestamp, with that timestamp; otherwise `body`.
    pub(crate) fn sign_body_with(
        &self,
        body: Bytes,
        id: &str,
        timestamp: i64,
        sign: &RawSigner<'_>,
    ) -> Bytes {
        match &self.signature {
            SignatureRule::Header(_) => self.with_body_timestamp(body, timestamp),
            SignatureRule::Body { field, .. } => self.with_signature_block(body, *field, id, timestamp, sign),
        }
    }

    /// `body` with the signature block a sender that signs inside the body
    /// writes (Mailgun's `signature`): the body fields the template signs,
    /// in its order, then the signature, each a JSON string, in one object
    /// under the top-level key they share, replacing one already there.
    /// Fields that share no such key cannot be written: `body` comes back
    /// as it is, and will not verify.
    fn with_signature_block(
        &self,
        body: Bytes,
        field: usize,
        id: &str,
        timestamp: i64,
        sign: &RawSigner<'_>,
    ) -> Bytes {
        let Some((value, ts_text)) = self.signature_list(&Message::new(b"", id, timestamp), sign) else {
            return body;
        };
        let mut members: Vec<(usize, &str)> = Vec::new();
        for part in self.content.iter() {
            match (part, &self.timestamp, &self.id[..]) {
                (
                    Part::Timestamp,
                    Some(TimestampRule {
                        source: TsRule::Body(i),
                        ..
                    }),
                    _,
                ) => members.push((*i, ts_text.as_deref().unwrap_or(""))),
                (Part::Id, _, [Src::Body(i)]) => members.push((*i, id)),
                _ => {}
            }
        }
        members.push((field, &value));
        let parent = &self.body_paths[field][0];
        let mut block = Vec::new();
        for (i, text) in members {
            let [key_parent, key] = &self.body_paths[i][..] else {
                return body;
            };
            if key_parent != parent {
                return body;
            }
            let string = |s: &str| serde_json::to_string(s).expect("a string serializes");
            block.push(format!("{}:{}", string(key), string(text)));
        }
        let block = format!("{{{}}}", block.join(","));
        json::with_member(&body, parent, &block).map_or(body, Bytes::from)
    }

    /// `body` with its body timestamp field set to unix time `secs`, in the
    /// spec's format, for a timestamp at a top-level body key (Linear's
    /// `webhookTimestamp`); any other spec, a nested path, or a body that is
    /// not a JSON object: `body` as it is.
    pub(crate) fn with_body_timestamp(&self, body: bytes::Bytes, secs: i64) -> bytes::Bytes {
        let Some(TimestampRule {
            source: TsRule::Body(i),
            format,
            ..
        }) = &self.timestamp
        else {
            return body;
        };
        let [key] = &self.body_paths[*i][..] else {
            return body;
        };
        let text = format.format(secs);
        let value = match format {
            TimestampFormat::UnixSeconds | TimestampFormat::UnixMillis => text,
            _ => serde_json::to_string(&text).expect("a string serializes"),
        };
        json::with_member(&body, key, &value).map_or(body, bytes::Bytes::from)
    }

    /// The raw HMAC of `parts` under the first secret, for `algorithm`.
    pub(crate) fn hmac_sign(&self, algorithm: Algorithm, parts: &[&[u8]]) -> Option<Vec<u8>> {
        match algorithm {
            Algorithm::HmacSha256 => self.keys.hmac256(0, parts).map(|t| t.to_vec()),
            Algorithm::HmacSha1 => self.keys.hmac1(0, parts).map(|t| t.to_vec()),
            Algorithm::HmacSha512 => self.keys.hmac512(0, parts).map(|t| t.to_vec()),
            _ => None,
        }
    }
}

/// Produces the raw signature of the concatenated parts for an algorithm, if it can.
pub(crate) type RawSigner<'a> = dyn Fn(Algorithm, &[&[u8]]) -> Option<Vec<u8>> + 'a;

/// Signs with the spec's first secret (HMAC versions only: a spec holds no
/// private key). A spec with public keys only signs nothing; use a
/// [`Signer`](crate::testing::Signer).
impl Sign for Spec {
    fn sign_headers(&self, body: &[u8], id: &str, timestamp: i64) -> HeaderMap {
        self.sign_with(&Message::new(body, id, timestamp), &|alg, parts| {
            self.hmac_sign(alg, parts)
        })
    }

    /// Sets a top-level body timestamp field to `timestamp` (Linear's
    /// `webhookTimestamp`), or writes the signature block of a spec whose
    /// signatures are in the body (Mailgun's); any other body is returned as
    /// it is.
    fn sign_body(&self, body: Bytes, id: &str, timestamp: i64) -> Bytes {
        self.sign_body_with(body, id, timestamp, &|alg, parts| self.hmac_sign(alg, parts))
    }

    fn event_type_header(&self) -> Option<HeaderName> {
        Spec::event_type_header(self).cloned()
    }
}

impl Spec {
    /// The signature header's value alone that this spec's sender would
    /// send (signed with the first secret).
    pub fn signature_value(&self, body: &[u8], id: &str, timestamp: i64) -> String {
        let headers = self.sign_headers(body, id, timestamp);
        self.signature_header()
            .and_then(|name| headers.get(name))
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}
