//! Twilio's request signatures: HMAC-SHA1 over the public URL and the sorted
//! form parameters, which no template describes, so this is a [`Scheme`] of
//! its own beside the [`Spec`](crate::scheme::Spec) engine.

use std::fmt;
use std::time::SystemTime;

use http::header::{HeaderMap, HeaderName};
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

/// Twilio's scheme: `X-Twilio-Signature: <base64>`, the HMAC-SHA1, keyed
/// with the account's Auth Token, of the URL Twilio requested followed by
/// every POST parameter as `name‖value`, sorted by name (a repeated name's
/// values sorted and de-duplicated; values URL-decoded), with no separators.
///
/// - **The URL is the public one**: configure it as Twilio calls it,
///   `scheme://host[:port]/path`; the request's query is appended. As the
///   official validators do, the URL is also tried with the default port
///   added (`:443`, `:80`) and with any port removed (twilio-python strips
///   even a non-default port). twilio-node's "legacy querystring" re-encoding
///   is not tried.
/// - **JSON deliveries** carry `bodySHA256=<hex>` in the query: the signature
///   then covers the URL alone, and the SHA-256 of the body must match too
///   (compared in constant time); either failing is `401`.
/// - **No timestamp**: a captured delivery stays valid; the replay guard is
///   the only protection.
/// - **Id**: `I-Twilio-Idempotency-Token` (unsigned; UNCONFIRMED in Twilio's
///   docs), else the verified signature. No event type: read the product's
///   form parameter (`MessageStatus`, `CallStatus`, ...) in the handler.
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
/// let twilio = Twilio::new(Secret::new("12345")?, "https://mycompany.com/myapp.php")?;
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
}

impl Twilio {
    /// Twilio's scheme for the endpoint at `public_url` (as Twilio calls it,
    /// without the query), accepting a signature by any of `secrets`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidPublicUrl`] when `public_url` is not
    /// `http(s)://host[:port][/path]` without a query.
    pub fn new(secrets: impl Into<Secrets>, public_url: &str) -> Result<Self, ConfigError> {
        let url = PublicUrl::parse(public_url)?;
        let keys = Keys::from(secrets.into());
        Ok(Self {
            keys: KeyRing::new(&keys, [Algorithm::HmacSha1].into_iter()),
            scheme: url.scheme,
            host: url.host.into(),
            port: url.port,
            path: url.path.into(),
        })
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
        let query = request.uri.query().map(|q| format!("?{q}")).unwrap_or_default();
        let body_hash = request.uri.query().and_then(|q| {
            q.split('&')
                .find_map(|p| p.strip_prefix("bodySHA256="))
                .map(str::to_owned)
        });
        let params = match &body_hash {
            // A JSON delivery: the URL alone is signed, the body by its hash.
            Some(_) => Vec::new(),
            None => sorted_params(body),
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
        let id = match single_header(headers, &IDEMPOTENCY)? {
            Some(token) => token.to_owned(),
            None => format!("sig:{}", hex::encode(matched.canonical())),
        };
        Ok(Verdict::Event(VerifiedEvent::new(id)?))
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
    /// `X-Twilio-Signature` for a form body posted to the public URL (no
    /// query); `id` and `timestamp` are not used.
    fn sign_headers(&self, body: &[u8], _id: &str, _timestamp: i64) -> HeaderMap {
        let url = &self.urls("")[0];
        let mut headers = HeaderMap::new();
        if let Some(tag) = self.keys.hmac1(0, &[url.as_bytes(), &sorted_params(body)]) {
            crate::scheme::sign::header(&mut headers, &SIGNATURE, &Encoding::Base64.encode(&tag));
        }
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
            "https://h/p?q",
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
