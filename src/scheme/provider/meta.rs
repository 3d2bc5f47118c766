//! Meta's webhooks (Facebook, Instagram, Messenger, WhatsApp Cloud API): the
//! signed POST notifications and the unsigned GET verification request.

use std::fmt;
use std::time::SystemTime;

use crate::key::public::TokenDigests;
use http::header::{HeaderMap, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{Method, StatusCode};

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::{Secret, Secrets};
use crate::rejection::Rejection;
use crate::scheme::macros::PRESET;
use crate::scheme::request::RequestParts;
use crate::scheme::spec::{FieldSource, Spec, SpecBuilder};
use crate::scheme::url::form_decode;
use crate::scheme::verdict::{Reply, Verdict};
use crate::scheme::verify::Scheme;

/// The longest `hub.challenge` echoed back, in bytes (Meta sends an integer).
const MAX_CHALLENGE: usize = 256;

/// Meta's scheme: `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the
/// raw body keyed with the app's **App Secret**. The bytes as received are
/// what count: Meta's docs have said that it signs an escaped-unicode form
/// of the payload, so a re-serialized body would not verify (the current
/// Graph API page no longer carries that paragraph). The legacy SHA-1
/// `X-Hub-Signature` is never read.
///
/// - **Id, the replay key**: Meta's notifications carry **no** delivery or
///   event id (a batch of `entry[]`, each with the object's `id` and a
///   `time`), and Meta documents no dedup key. The key is the verified
///   signature itself (`sig:<hex>`), which catches a retry that resends the
///   same bytes; whether retries do is not stated (UNCONFIRMED). The
///   trade-off: two distinct notifications with byte-identical bodies would
///   count as one; Meta's carry the change's `time` and, for WhatsApp,
///   message ids, so that needs the same change twice in the same second. A
///   message id inside the batch would be a finer key, but a batch may hold
///   several and the guard takes one.
/// - **Retries, and how long the guard must remember**: the Graph API
///   retries a failed delivery "immediately, then try a few more times with
///   decreasing frequency over the next 36 hours. Your server should handle
///   deduplication in these cases"; the WhatsApp Cloud API does the same
///   "over the next 7 days". A retry is only caught while the replay guard
///   still holds its key: size [`LruGuard`](crate::LruGuard) to hold 36 hours
///   (7 days for WhatsApp) of notifications, and set `RedisGuard::retention`
///   (feature `redis`) to at least that, above its 24-hour default.
/// - **Type**: the body's `object` (`page`, `whatsapp_business_account`,
///   `instagram`, ...); the fields changed are in `entry[].changes[].field`.
/// - **No timestamp**: the replay guard is the only protection against a
///   captured notification.
///
/// # The verification request (unsigned)
///
/// When you configure the webhook, Meta sends
/// `GET <url>?hub.mode=subscribe&hub.challenge=<c>&hub.verify_token=<token>`.
/// With a verify token configured ([`Meta::verify_token`]), the layer answers
/// it itself: `200` with the challenge as `text/plain` when `hub.mode` is
/// `subscribe` and `hub.verify_token` matches a configured token (compared
/// in constant time, as SHA-256 digests), else `403`; a matching request
/// without a usable `hub.challenge` is `400`. **This request is not signed**:
/// the verify token is its only protection, and anyone who knows the token
/// can make your endpoint answer. It grants nothing else (no event reaches
/// your handler from a GET), but pick a long random token and keep it out of
/// logs. Without a verify token a GET is refused like any unsigned request
/// (`401`), so answer Meta's verification elsewhere.
///
/// The layer asks [`Scheme::precheck`] about the headers before reading a
/// body; with a verify token configured, a request without a signature that
/// also announces no body (no `Content-Length` above zero, no
/// `Transfer-Encoding`) passes it, so that the GET reaches `verify`. Every
/// other unsigned request is still refused there, unread.
///
/// Sources: <https://developers.facebook.com/docs/graph-api/webhooks/getting-started>
/// (verification requests; "We sign all Event Notification payloads with a
/// SHA256 signature and include the signature in the request's
/// X-Hub-Signature-256 header, preceded with sha256="; the 36-hour retries);
/// <https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/create-webhook-endpoint>
/// (the HMAC-SHA256 "calculated using the post body payload and your app
/// secret as the secret key"; the 7-day retries). Both were read as GitHub
/// mirrors of Meta's pages. Meta publishes no vector with its secret (the
/// WhatsApp page's digest comes without one): the tests' vectors are computed.
///
/// ```
/// use std::time::SystemTime;
/// use http::{HeaderMap, Method, StatusCode, Uri};
/// use tower_webhook::scheme::{Meta, RequestParts, Scheme};
/// use tower_webhook::Secret;
///
/// let meta = Meta::new(Secret::new("meta app secret")?).verify_token(Secret::new("meatyhamhock")?);
///
/// // A notification, signed (computed with Python's hmac over this body).
/// let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp"}}]}]}"#;
/// let mut headers = HeaderMap::new();
/// headers.insert(
///     "x-hub-signature-256",
///     "sha256=330ede7ca375f042eeff073e4433b757a4dcd1f3f47e88b6c6259dc8585b4eac".parse()?,
/// );
/// let verdict = meta.verify(RequestParts::post(&headers), body, SystemTime::now())?;
/// assert_eq!(verdict.event().unwrap().event_type(), Some("whatsapp_business_account"));
///
/// // Meta's documented verification request.
/// let uri = Uri::from_static("/webhooks?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock");
/// let empty = HeaderMap::new();
/// let get = RequestParts { method: &Method::GET, uri: &uri, headers: &empty };
/// assert!(meta.precheck(&empty).is_ok());
/// let reply = meta.verify(get, b"", SystemTime::now())?.reply().unwrap().clone();
/// assert_eq!(reply.status(), StatusCode::OK);
/// assert_eq!(&reply.body()[..], b"1158201444");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Meta {
    spec: Spec,
    /// SHA-256 of each verify token: what is compared, and all that is kept.
    verify_tokens: TokenDigests,
}

// `builder`, `spec`, the conversion into `Spec` and signing are a preset's;
// the GET verification request makes the struct and its `Scheme` its own.
preset!(@face Meta);

impl Meta {
    /// Meta's scheme, accepting a signature by any of `app_secrets`; the GET
    /// verification request is refused until [`Meta::verify_token`] is set.
    pub fn new(app_secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration()
            .keys(app_secrets.into())
            .build()
            .expect(PRESET);
        Self {
            spec,
            verify_tokens: TokenDigests::default(),
        }
    }

    /// Answers Meta's GET verification request when its `hub.verify_token`
    /// is `token` (call again to accept several, while changing it).
    #[must_use]
    pub fn verify_token(mut self, token: Secret) -> Self {
        self.verify_tokens.push(&token);
        self
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("Meta")
            .signature_header("x-hub-signature-256")
            .version("sha256=", Algorithm::HmacSha256, Encoding::Hex)
            .id(FieldSource::signature())
            .event_type(FieldSource::body("object"))
    }

    /// The answer to a GET verification request. Refusals are logged here at
    /// `debug` only: the layer logs them at `warn` within its rejection
    /// budget, since anyone can send them.
    fn verification(&self, query: &str) -> Reply {
        let (mut mode, mut token, mut challenge) = (None, None, None);
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match &*form_decode(name.as_bytes()) {
                b"hub.mode" => &mut mode,
                b"hub.verify_token" => &mut token,
                b"hub.challenge" => &mut challenge,
                _ => continue,
            };
            // A repeated parameter is ambiguous: refuse rather than pick one.
            if slot.replace(form_decode(value.as_bytes())).is_some() {
                tracing::debug!(reason = "repeated hub parameter", "meta verification refused");
                return Reply::new(StatusCode::BAD_REQUEST, Some("text/plain"), "bad request");
            }
        }
        let token_ok = token.as_deref().is_some_and(|t| self.verify_tokens.matches(t));
        if mode.as_deref() != Some(b"subscribe".as_slice()) || !token_ok {
            tracing::debug!(
                reason = "hub.mode is not subscribe or hub.verify_token matches no verify token",
                "meta verification refused"
            );
            return Reply::new(StatusCode::FORBIDDEN, Some("text/plain"), "forbidden");
        }
        match challenge {
            Some(c) if !c.is_empty() && c.len() <= MAX_CHALLENGE && c.iter().all(u8::is_ascii_graphic) => {
                Reply::new(StatusCode::OK, Some("text/plain"), c)
            }
            _ => {
                tracing::debug!(
                    reason = "hub.challenge missing, too long or not visible ASCII",
                    "meta verification refused"
                );
                Reply::new(StatusCode::BAD_REQUEST, Some("text/plain"), "bad request")
            }
        }
    }
}

impl Meta {
    /// Whether the request carries the notifications' signature header.
    fn signed(&self, headers: &HeaderMap) -> bool {
        self.spec
            .signature_header()
            .is_some_and(|name| headers.contains_key(name))
    }
}

/// Whether the headers announce a body.
fn announces_body(headers: &HeaderMap) -> bool {
    headers.contains_key(TRANSFER_ENCODING)
        || headers
            .get_all(CONTENT_LENGTH)
            .iter()
            .any(|v| v.as_bytes() != b"0")
}

impl Scheme for Meta {
    fn verify(&self, request: RequestParts<'_>, body: &[u8], now: SystemTime) -> Result<Verdict, Rejection> {
        self.verify_in_layer(request, body, &|| now, None)
    }

    fn verify_in_layer(
        &self,
        request: RequestParts<'_>,
        body: &[u8],
        clock: &dyn Fn() -> SystemTime,
        decoding: Option<&mut crate::scheme::decode::Decoding<'_>>,
    ) -> Result<Verdict, Rejection> {
        if request.method == Method::GET && !self.verify_tokens.is_empty() && !self.signed(request.headers) {
            let query = request.uri.query().unwrap_or("");
            return Ok(Verdict::Reply(self.verification(query)));
        }
        self.spec.verify_in_layer(request, body, clock, decoding)
    }

    fn precheck(&self, headers: &HeaderMap) -> Result<(), Rejection> {
        // Only `verify` sees the method: let a bodiless unsigned request
        // through when it may be the verification GET.
        if !self.verify_tokens.is_empty() && !self.signed(headers) && !announces_body(headers) {
            return Ok(());
        }
        self.spec.precheck(headers)
    }
}

impl fmt::Debug for Meta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Meta")
            .field("spec", &self.spec)
            .field("verify_tokens", &self.verify_tokens.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use http::{HeaderValue, Uri};

    use super::*;

    fn meta() -> Meta {
        Meta::new(Secret::new("meta app secret").unwrap()).verify_token(Secret::new("meatyhamhock").unwrap())
    }

    fn get(meta: &Meta, query: &str, headers: &HeaderMap) -> Result<Verdict, Rejection> {
        let uri: Uri = format!("/webhooks?{query}").parse().unwrap();
        let request = RequestParts {
            method: &Method::GET,
            uri: &uri,
            headers,
        };
        meta.verify(request, b"", SystemTime::now())
    }

    fn status(meta: &Meta, query: &str) -> StatusCode {
        get(meta, query, &HeaderMap::new())
            .unwrap()
            .reply()
            .unwrap()
            .status()
    }

    #[test]
    fn answers_the_verification_request_only_with_a_matching_token() {
        let meta = meta();
        let ok = get(
            &meta,
            "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock",
            &HeaderMap::new(),
        )
        .unwrap();
        let reply = ok.reply().unwrap();
        assert_eq!(reply.status(), StatusCode::OK);
        assert_eq!(reply.content_type(), Some("text/plain"));
        assert_eq!(&reply.body()[..], b"1158201444");

        let forbidden = [
            "hub.mode=subscribe&hub.challenge=1&hub.verify_token=meatyhamhoc",
            "hub.mode=subscribe&hub.challenge=1&hub.verify_token=",
            "hub.mode=subscribe&hub.challenge=1",
            "hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=meatyhamhock",
            "hub.challenge=1&hub.verify_token=meatyhamhock",
            "",
        ];
        for query in forbidden {
            assert_eq!(status(&meta, query), StatusCode::FORBIDDEN, "{query:?}");
        }
        let bad = [
            "hub.mode=subscribe&hub.verify_token=meatyhamhock",
            "hub.mode=subscribe&hub.challenge=&hub.verify_token=meatyhamhock",
            "hub.mode=subscribe&hub.challenge=%3Cscript%3E%20x&hub.verify_token=meatyhamhock",
            "hub.mode=subscribe&hub.challenge=1&hub.challenge=2&hub.verify_token=meatyhamhock",
        ];
        for query in bad {
            assert_eq!(status(&meta, query), StatusCode::BAD_REQUEST, "{query:?}");
        }
        // Percent-encoded names and values are decoded, as a query string is.
        assert_eq!(
            status(
                &meta,
                "hub%2Emode=subscribe&hub.challenge=7&hub.verify_token=meaty%68amhock"
            ),
            StatusCode::OK
        );
    }

    #[test]
    fn without_a_verify_token_a_get_is_an_unsigned_request() {
        let meta = Meta::new(Secret::new("meta app secret").unwrap());
        let headers = HeaderMap::new();
        assert!(matches!(
            meta.precheck(&headers),
            Err(Rejection::MissingSignature { .. })
        ));
        assert!(matches!(
            get(
                &meta,
                "hub.mode=subscribe&hub.challenge=1&hub.verify_token=meatyhamhock",
                &headers
            ),
            Err(Rejection::MissingSignature { .. })
        ));
    }

    #[test]
    fn an_unsigned_post_is_refused_even_with_a_verify_token() {
        let meta = meta();
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("12"));
        assert!(matches!(
            meta.precheck(&headers),
            Err(Rejection::MissingSignature { .. })
        ));
        let bodiless = HeaderMap::new();
        assert!(meta.precheck(&bodiless).is_ok());
        assert!(matches!(
            meta.verify(RequestParts::post(&bodiless), b"", SystemTime::now()),
            Err(Rejection::MissingSignature { .. })
        ));
    }

    #[test]
    fn keys_the_replay_guard_on_the_signature() {
        let body = br#"{"object":"page","entry":[]}"#;
        let meta = meta();
        let headers = crate::scheme::sign::Sign::sign_headers(&meta, body, "unused", 0);
        let verdict = meta
            .verify(RequestParts::post(&headers), body, SystemTime::now())
            .unwrap();
        let delivery = verdict.event().unwrap();
        assert!(delivery.id().starts_with("sig:"), "{}", delivery.id());
        assert_eq!(delivery.event_type(), Some("page"));
    }

    #[test]
    fn debug_output_hides_secrets_and_tokens() {
        let shown = format!("{:?}", meta());
        assert!(!shown.contains("meatyhamhock"), "{shown}");
        assert!(!shown.contains("app secret"), "{shown}");
    }
}
