//! A [`Spec`]'s sender half: the headers (and, for a body timestamp, the
//! body) its sender would send.

use bytes::Bytes;
use http::header::HeaderMap;

use super::declare::Layout;
use super::rules::{Part, TimestampRule, TsRule};
use super::Spec;
use crate::key::Algorithm;
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
        let Some((version, raw)) = self
            .versions
            .iter()
            .find_map(|v| sign(v.algorithm, &parts).map(|raw| (v, raw)))
        else {
            return headers;
        };
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
        header(&mut headers, &self.header, &value);
        if let (Some(name), Some(ts)) = (self.timestamp_header(), &ts_text) {
            header(&mut headers, name, ts);
        }
        if let Some(name) = self.id_header() {
            header(&mut headers, name, message.id);
        }
        headers
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
    /// `webhookTimestamp`); any other body is returned as it is.
    fn sign_body(&self, body: Bytes, _id: &str, timestamp: i64) -> Bytes {
        self.with_body_timestamp(body, timestamp)
    }
}

impl Spec {
    /// The signature header's value alone that this spec's sender would
    /// send (signed with the first secret).
    pub fn signature_value(&self, body: &[u8], id: &str, timestamp: i64) -> String {
        let headers = self.sign_headers(body, id, timestamp);
        headers
            .get(self.signature_header())
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}
