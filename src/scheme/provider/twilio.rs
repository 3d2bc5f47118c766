//! Twilio's request signatures: HMAC-SHA1 over the public URL and the sorted
//! form parameters, which no template describes, so this is a [`Scheme`] of
//! its own beside the [`Spec`](crate::scheme::Spec) engine.

use std::fmt;
use std::time::SystemTime;

use http::header::{HeaderMap, HeaderName, CONTENT_TYPE};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::public::Keys;
use crate::key::ring::{KeyRing, Sig};
use crate::key::secret::Secrets;
use crate::rejection::Rejection;
use crate::scheme::request::{single_header, RequestParts};
use crate::scheme::spec::ConfigError;
use crate::scheme::url::{form_decode, PublicUrl};
use crate::scheme::verdict::{Verdict, VerifiedEvent};
use crate::scheme::verify::Scheme;

const SIGNATURE: HeaderName = HeaderName::from_static("x-twilio-signature");
const IDEMPOTENCY: HeaderName = HeaderName::from_static("i-twilio-idempotency-token");

/// The query part Twilio appends to a JSON delivery's URL.
const BODY_HASH: &str = "bodySHA256=";

/// Twilio's scheme: `X-Twilio-Signature: <base64>`, the HMAC-SHA1, keyed
/// with the account's Auth Token, of the URL Twilio requested followed by
/// every POST parameter as `name‖value`, sorted by name (a repeated name's
/// values sorted and de-duplicated; values URL-decoded), with no separators.
///
/// - **The URL is the public one**: configure it exactly as entered at
///   Twilio, `scheme://host[:port]/path[?query]`. The request's query is
///   pinned: it must equal the configured one, optionally followed by the
///   one `bodySHA256=<64 hex>` Twilio appends to a JSON delivery; anything
///   else is `401` (the query is the sender's text, and choosing the mode
///   from it let a captured signature carry any body). As the official
///   validators do, the URL is also tried with the default port added
///   (`:443`, `:80`) and with any port removed (twilio-python strips even a
///   non-default port). twilio-node's "legacy querystring" re-encoding is
///   not tried.
/// - **JSON deliveries** carry `bodySHA256=<hex>` in the query and
///   `Content-Type: application/json`: the signature then covers the URL
///   alone, and the SHA-256 of the body must match too (compared in constant
///   time). The hash without that content type, or that content type without
///   the hash, is `401`.
/// - **Form deliveries**: at most [`Twilio::MAX_PARAMS`] parameters (more is
///   `400`, before any sorting). Twilio concatenates `name‖value` with no
///   separator, so the signed string does not fix where one parameter ends:
///   `ab=c` and `a=bc` sign alike, and so do `a=1&b=2` and `a=1b2` when the
///   parameters sort that way. Whoever holds a captured signature can
///   re-split its parameters that way (never change the bytes they spell);
///   read the parameters you trust from the handler knowing this.
/// - **No timestamp**: a captured delivery stays valid; the replay guard is
///   the only protection.
/// - **Id**: `I-Twilio-Idempotency-Token` when present, else the verified
///   signature. The token is **unsigned** (anyone resending a captured
///   delivery may pick a fresh one), so the signature is always a second
///   replay key: a Twilio retry resends the same bytes and signature, and a
///   captured delivery under a fresh token is still dropped. No event type:
///   read the product's form parameter (`MessageStatus`, `CallStatus`, ...)
///   in the handler.
///
/// Sources: twilio/twilio-python `request_validator.py`, twilio/twilio-node
/// `webhooks.ts`; twilio.com/docs/usage/webhooks/webhooks-security.
///
/// ```
/// use std::time::SystemTime;
/// use http::{HeaderMap, Method, Uri};
/// use tower_webhook::scheme::{RequestParts, Scheme, Twilio};
/// use tower_webhook::Secret;
///
/// // Twilio's documented example.
/// let twilio = Twilio::new(Secret::new("12345")?, "https://mycompany.com/myapp.php?foo=1&bar=2")?;
/// let mut headers = HeaderMap::new();
/// headers.insert("x-twilio-signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=".parse()?);
/// let uri = Uri::from_static("/myapp.php?foo=1&bar=2");
/// let request = RequestParts { method: &Method::POST, uri: &uri, headers: &headers };
/// let body = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212";
/// assert!(twilio.verify(request, body.as_bytes(), SystemTime::now()).is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Twilio {
    keys: KeyRing,
    /// `scheme://`, the host, the port if given, and the path.
    scheme: &'static str,
    host: Box<str>,
    port: Option<u16>,
    path: Box<str>,
    /// The configured query, without its `?`; the request's must match it.
    query: Option<Box<str>>,
}

impl Twilio {
    /// The most form parameters a delivery may carry: each is decoded and
    /// sorted before the MAC, so an unkeyed sender could otherwise make the
    /// receiver sort a body's worth of them. Twilio's callbacks carry a few dozen.
    pub const MAX_PARAMS: usize = 1000;

    /// Twilio's scheme for the endpoint at `public_url` (as entered at
    /// Twilio, its query included), accepting a signature by any of `secrets`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidPublicUrl`] when `public_url` is not
    /// `http(s)://host[:port][/path][?query]`, or its query already holds a
    /// `bodySHA256` part.
    pub fn new(secrets: impl Into<Secrets>, public_url: &str) -> Result<Self, ConfigError> {
        let (base, query) = match public_url.split_once('?') {
            Some((base, query)) => (base, Some(query)),
            None => (public_url, None),
        };
        let url = PublicUrl::parse(base)?;
        let query = query.filter(|q| !q.is_empty());
        if let Some(query) = query {
            let bad = query.contains(['#', ' ', '?'])
                || query.split('&').any(|part| part.starts_with(BODY_HASH))
                || http::uri::PathAndQuery::try_from(format!("/?{query}")).is_err();
            if bad {
                return Err(ConfigError::InvalidPublicUrl);
            }
        }
        let keys = Keys::from(secrets.into());
        Ok(Self {
            keys: KeyRing::new(&keys, [Algorithm::HmacSha1].into_iter()),
            scheme: url.scheme,
            host: url.host.into(),
            port: url.port,
            path: url.path.into(),
            query: query.map(Into::into),
        })
    }

    /// Whether the request's query is the configured one as Twilio sends
    /// it: `Some(Some(hash))` for a JSON delivery's `bodySHA256`,
    /// `Some(None)` for a form delivery, `None` for anything else.
    fn pinned<'q>(&self, query: Option<&'q str>) -> Option<Option<&'q str>> {
        let rest = match (self.query.as_deref(), query) {
            (None, None) => return Some(None),
            (Some(own), Some(query)) if query == own => return Some(None),
            (Some(own), Some(query)) => query.strip_prefix(own)?.strip_prefix('&')?,
            (None, Some(query)) => query,
            (Some(_), None) => return None,
        };
        let hash = rest.strip_prefix(BODY_HASH)?;
        (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
            .then_some(hash)
            .map(Some)
    }

    /// The URL variants the official validators accept.
    fn urls(&self, query: &str) -> Vec<String> {
        let with = |port: Option<u16>| {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}{}{port}{}{query}", self.scheme, self.host, self.path)
        };
        let default = if self.scheme == "https://" { 443 } else { 80 };
        match self.port {
            None => vec![with(None), with(Some(default))],
            Some(port) => vec![with(Some(port)), with(None)],
        }
    }
}

/// The form parameters as the signed string's tail: names sorted, each
/// name's distinct values sorted, `name‖value` concatenated.
fn sorted_params(body: &[u8]) -> Vec<u8> {
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = body
        .split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.iter().position(|&b| b == b'=') {
            Some(at) => (form_decode(&pair[..at]), form_decode(&pair[at + 1..])),
            None => (form_decode(pair), Vec::new()),
        })
        .collect();
    pairs.sort();
    pairs.dedup();
    pairs
        .into_iter()
        .flat_map(|(n, v)| n.into_iter().chain(v))
        .collect()
}

/// Whether the media type is `application/json` (parameters aside).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}

impl Scheme for Twilio {
    fn verify(&self, request: RequestParts<'_>, body: &[u8], _now: SystemTime) -> Result<Verdict, Rejection> {
        let headers = request.headers;
        let value =
            single_header(headers, &SIGNATURE)?.ok_or(Rejection::MissingSignature { name: SIGNATURE })?;
        let sig = Sig::decode(0, Algorithm::HmacSha1, Encoding::Base64, value.trim()).ok_or(
            Rejection::MalformedSignature {
                reason: "not a base64 HMAC-SHA1",
            },
        )?;
        // The mode comes from the configured URL and the content type, not
        // from whatever the sender put in the query.
        let body_hash = self
            .pinned(request.uri.query())
            .ok_or(Rejection::MalformedSignature {
                reason: "the query is not the configured public URL's",
            })?;
        if body_hash.is_some() != is_json(headers) {
            return Err(Rejection::MalformedSignature {
                reason: "bodySHA256 and Content-Type: application/json must come together",
            });
        }
        let query = request.uri.query().map(|q| format!("?{q}")).unwrap_or_default();
        let params = match &body_hash {
            // A JSON delivery: the URL alone is signed, the body by its hash.
            Some(_) => Vec::new(),
            None => {
                if body
                    .split(|&b| b == b'&')
                    .filter(|p| !p.is_empty())
                    .nth(Self::MAX_PARAMS)
                    .is_some()
                {
                    return Err(Rejection::InvalidBodyField {
                        path: "(form parameters)".into(),
                        reason: "more form parameters than Twilio::MAX_PARAMS",
                    });
                }
                sorted_params(body)
            }
        };
        let matched = self.urls(&query).iter().find_map(|url| {
            self.keys
                .verify(Algorithm::HmacSha1, &[url.as_bytes(), &params], &[&sig])
        });
        let matched = matched.ok_or(Rejection::SignatureMismatch)?;
        if let Some(expected) = body_hash {
            let actual = hex::encode(Sha256::digest(body));
            // Constant time, like every comparison against a signed value.
            if !bool::from(actual.as_bytes().ct_eq(expected.to_ascii_lowercase().as_bytes())) {
                return Err(Rejection::SignatureMismatch);
            }
        }
        let signature_key = format!("sig:{}", hex::encode(matched.canonical()));
        // The token is unsigned: the signature is a second replay key, so a
        // captured delivery resent under a fresh token is still dropped.
        let event = match single_header(headers, &IDEMPOTENCY)? {
            Some(token) => VerifiedEvent::new(token)?.with_replay_key(signature_key),
            None => VerifiedEvent::new(signature_key)?,
        };
        Ok(Verdict::Event(event))
    }

    fn precheck(&self, headers: &HeaderMap) -> Result<(), Rejection> {
        if headers.contains_key(SIGNATURE) {
            Ok(())
        } else {
            Err(Rejection::MissingSignature { name: SIGNATURE })
        }
    }
}

#[cfg(feature = "test-util")]
impl crate::scheme::sign::Sign for Twilio {
    /// `X-Twilio-Signature` for a form body posted to the public URL (its
    /// configured query included), `id` as `I-Twilio-Idempotency-Token`, and
    /// the form's `Content-Type`; `timestamp` is not used.
    fn sign_headers(&self, body: &[u8], id: &str, _timestamp: i64) -> HeaderMap {
        let query = self.query.as_deref().map(|q| format!("?{q}")).unwrap_or_default();
        let url = &self.urls(&query)[0];
        let mut headers = HeaderMap::new();
        if let Some(tag) = self.keys.hmac1(0, &[url.as_bytes(), &sorted_params(body)]) {
            crate::scheme::sign::header(&mut headers, &SIGNATURE, &Encoding::Base64.encode(&tag));
        }
        if let Ok(token) = http::HeaderValue::try_from(id) {
            headers.insert(IDEMPOTENCY, token);
        }
        // A form delivery says so: a JSON content type asks for `bodySHA256`.
        headers.insert(
            CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        headers
    }
}

impl fmt::Debug for Twilio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Twilio")
            .field("url", &self.urls("")[0])
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_forms_like_the_sdks() {
        assert_eq!(form_decode(b"a+b%2Bc%zz%4"), b"a b+c%zz%4");
        assert_eq!(
            sorted_params(b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234"),
            b"Digits1234Digits5678SidCA123SidAccountAC123"
        );
        assert_eq!(sorted_params(b"b&a=&&c=%E2%9C%93"), "abc\u{2713}".as_bytes());
    }

    #[test]
    fn refuses_urls_it_cannot_sign() {
        for bad in [
            "mycompany.com/x",
            "https://",
            "https://h/p?a=1#f",
            "https://h/p?bodySHA256=00",
            "https://h:port/p",
            "ftp://h/p",
        ] {
            assert!(
                Twilio::new(crate::key::secret::Secret::new("k").unwrap(), bad).is_err(),
                "{bad}"
            );
        }
        let t = Twilio::new(crate::key::secret::Secret::new("k").unwrap(), "https://h:8443/p").unwrap();
        assert_eq!(t.urls("?a=1"), ["https://h:8443/p?a=1", "https://h/p?a=1"]);
        let t = Twilio::new(crate::key::secret::Secret::new("k").unwrap(), "http://h").unwrap();
        assert_eq!(t.urls(""), ["http://h", "http://h:80"]);
    }
}
