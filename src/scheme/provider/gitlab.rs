//! GitLab's webhook authentication: the legacy secret token, compared in
//! constant time (not a signature), and the newer signing token, which is
//! Standard Webhooks.

use std::fmt;
use std::time::SystemTime;

use http::header::{HeaderMap, HeaderName};

use super::shared::{standard_webhooks, whsec};
use crate::key::error::SecretError;
use crate::key::public::TokenDigests;
use crate::key::secret::{Secret, Secrets};
use crate::rejection::Rejection;
use crate::scheme::macros::PRESET;
use crate::scheme::request::{single_header, RequestParts};
use crate::scheme::spec::{FieldSource, Spec};
use crate::scheme::verdict::{Verdict, VerifiedEvent};
use crate::scheme::verify::Scheme;

const TOKEN: HeaderName = HeaderName::from_static("x-gitlab-token");
/// What the layer never keeps: the token header.
static CREDENTIALS: [HeaderName; 1] = [TOKEN];
const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
const EVENT_UUID: HeaderName = HeaderName::from_static("x-gitlab-event-uuid");
const EVENT: HeaderName = HeaderName::from_static("x-gitlab-event");

/// GitLab's legacy scheme: the webhook's **secret token** sent verbatim in
/// `X-Gitlab-Token`, compared in constant time with each configured token.
///
/// **This is not a signature.** The token proves only that the sender knows
/// it; nothing binds it to the body, the id or the time. Whoever reads one
/// delivery (a proxy log, a misconfigured TLS terminator) holds the token and
/// can send any body under it, for as long as the token is configured. Keep
/// TLS on the whole way, never log the header, and prefer GitLab's signing
/// token ([`GitLab::signing_token`]) where your GitLab has it.
///
/// - **Comparison**: the SHA-256 of the received token against the SHA-256
///   of each configured token, in constant time, so neither the bytes nor
///   the length of a configured token leak through timing. Any token
///   matching passes (configure the old and the new one while rotating).
///   Absent: `401`; repeated with different values: `400`; wrong: `401`.
/// - **Id, the replay key**: `Idempotency-Key`, which GitLab added so that
///   receivers can tell retries of one event apart from new events. It is
///   "consistent across retries", where the headers before it "are unique to
///   each webhook request"; a retry reuses the `idempotency_key` of the
///   `WebHookLog` being retried, so a manual "Resend request" keeps it as an
///   automatic retry does
///   (<https://gitlab.com/gitlab-org/gitlab/-/merge_requests/160952>,
///   <https://gitlab.com/gitlab-org/gitlab/-/issues/388692>). GitLab
///   versions without it fall back to `X-Gitlab-Event-UUID`, which
///   **probably changes on every retry**: that MR's wording says so, and
///   so does the patch in gitlab-org/gitlab#230830, which builds the UUID
///   with `SecureRandom.uuid` each time the headers are built (no GitLab
///   docs page says either way). On such a GitLab a retry is a new key to
///   the guard, and the token does not cover the body, so nothing here can
///   tell it from a new event: keep handlers idempotent. Neither header is
///   signed. Both absent: `400`.
/// - **Type**: `X-Gitlab-Event` (`Push Hook`, `Merge Request Hook`, ...),
///   not signed (the body's `object_kind` says the same, under the token only).
/// - **No timestamp**: the replay guard is the only protection against a
///   resent delivery.
///
/// Source: docs.gitlab.com/user/project/integrations/webhooks (the secret
/// token, `X-Gitlab-Token`; `Idempotency-Key`). No vector exists for a token
/// compare; the tests' cases are written by hand.
///
/// ```
/// use std::time::SystemTime;
/// use http::HeaderMap;
/// use tower_webhook::scheme::{GitLab, RequestParts, Scheme};
/// use tower_webhook::Secret;
///
/// let gitlab = GitLab::new(Secret::new("gitlab secret token")?);
/// let mut headers = HeaderMap::new();
/// headers.insert("x-gitlab-token", "gitlab secret token".parse()?);
/// headers.insert("idempotency-key", "2a1ffb9e-63c8-4c4e-9b0b-3c0f5e1d8a77".parse()?);
/// headers.insert("x-gitlab-event", "Push Hook".parse()?);
///
/// let verdict = gitlab.verify(RequestParts::post(&headers), br#"{"object_kind":"push"}"#, SystemTime::now())?;
/// let delivery = verdict.event().unwrap();
/// assert_eq!(delivery.id(), "2a1ffb9e-63c8-4c4e-9b0b-3c0f5e1d8a77");
/// assert_eq!(delivery.event_type(), Some("Push Hook"));
///
/// headers.insert("x-gitlab-token", "a guess".parse()?);
/// assert!(gitlab.verify(RequestParts::post(&headers), b"{}", SystemTime::now()).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # The signing token
///
/// GitLab 19.0 added an HMAC **signing token** (`whsec_` + base64 of 32
/// bytes): deliveries then carry `webhook-id` (the same value as
/// `Idempotency-Key`), `webhook-timestamp` and `webhook-signature: v1,<base64>`,
/// the Standard Webhooks v1 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`.
/// [`GitLab::signing_token`] verifies it: the id is `webhook-id` (signed), the
/// type `X-Gitlab-Event` (unsigned), the tolerance 5 minutes, the Standard
/// Webhooks convention. GitLab's own window is **unconfirmed**: it is not in
/// MR !230944, MR !231325, issue #19367 or the copy of GitLab's webhook docs
/// that was read.
/// Sources: <https://gitlab.com/gitlab-org/gitlab/-/merge_requests/230944>
/// (GitLab "computes an HMAC-SHA256 signature over the concatenated string
/// `{webhook-id}.{timestamp}.{body}` and sends it in the `webhook-signature`
/// header (formatted as `v1,<base64>`). A `webhook-id` header (equal to the
/// `Idempotency-Key` value) and a `webhook-timestamp` header are included"; its
/// test server verifies with the `standardwebhooks` npm library);
/// <https://gitlab.com/gitlab-org/gitlab/-/merge_requests/231325> (the token
/// is "in `whsec_<base64>` format encoding a 32-byte key"). GitLab's docs page
/// for the signing token was **not read**.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use http::HeaderMap;
/// use tower_webhook::scheme::{GitLab, RequestParts, Scheme};
///
/// // The Standard Webhooks reference vector, under GitLab's headers.
/// let gitlab = GitLab::signing_token(GitLab::signing_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
/// let mut headers = HeaderMap::new();
/// headers.insert("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek".parse()?);
/// headers.insert("webhook-timestamp", "1614265330".parse()?);
/// headers.insert("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".parse()?);
/// headers.insert("x-gitlab-event", "Push Hook".parse()?);
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1614265330);
///
/// let verdict = gitlab.verify(RequestParts::post(&headers), br#"{"test": 2432232314}"#, now)?;
/// assert_eq!(verdict.event().unwrap().id(), "msg_p5jXN8AQM9LWM0D4loKWxJek");
/// assert_eq!(verdict.event().unwrap().event_type(), Some("Push Hook"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct GitLab {
    /// SHA-256 of each configured token: what is compared, and all that is kept.
    digests: TokenDigests,
}

impl GitLab {
    /// GitLab's legacy secret-token scheme, accepting any of `tokens`.
    pub fn new(tokens: impl Into<Secrets>) -> Self {
        let digests = tokens.into().iter().collect();
        Self { digests }
    }

    /// GitLab's signing token (GitLab 19.0+): Standard Webhooks v1 under the
    /// `webhook-*` headers, with `X-Gitlab-Event` as the type; parse the
    /// `whsec_...` token with [`GitLab::signing_secret`]. Change the
    /// tolerance with [`Spec::with_tolerance`].
    pub fn signing_token(secrets: impl Into<Secrets>) -> Spec {
        standard_webhooks("GitLab")
            .event_type(FieldSource::header("x-gitlab-event"))
            .keys(secrets.into())
            .build()
            .expect(PRESET)
    }

    /// A signing token as GitLab shows it, `whsec_` + base64.
    ///
    /// # Errors
    ///
    /// A [`SecretError`] when the text is not `whsec_` + base64 of a non-empty key.
    pub fn signing_secret(text: &str) -> Result<Secret, SecretError> {
        whsec(text)
    }
}

impl Scheme for GitLab {
    fn verify(
        &self,
        request: RequestParts<'_>,
        _body: &[u8],
        _now: SystemTime,
    ) -> Result<Verdict, Rejection> {
        let headers = request.headers;
        let token = single_header(headers, &TOKEN)?.ok_or(Rejection::MissingSignature { name: TOKEN })?;
        let id = match single_header(headers, &IDEMPOTENCY_KEY)? {
            Some(id) => id,
            None => single_header(headers, &EVENT_UUID)?.ok_or(Rejection::MissingHeader {
                name: IDEMPOTENCY_KEY,
            })?,
        };
        if !self.digests.matches(token.as_bytes()) {
            return Err(Rejection::SignatureMismatch);
        }
        let event_type = single_header(headers, &EVENT).ok().flatten().map(str::to_owned);
        Ok(Verdict::Event(
            VerifiedEvent::new(id.to_owned())?.with_event_type(event_type),
        ))
    }

    /// The token itself: never kept in a dead letter or an inbox record.
    fn credential_headers(&self) -> &[HeaderName] {
        &CREDENTIALS
    }

    fn precheck(&self, headers: &HeaderMap) -> Result<(), Rejection> {
        if headers.contains_key(&TOKEN) {
            Ok(())
        } else {
            Err(Rejection::MissingSignature { name: TOKEN })
        }
    }
}

impl fmt::Debug for GitLab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitLab")
            .field("tokens", &self.digests.len())
            .finish_non_exhaustive()
    }
}

/// Test-only: a GitLab sender that knows the token. It keeps only digests,
/// so this signer is built from the token itself.
#[cfg(feature = "test-util")]
#[derive(Clone)]
pub(crate) struct GitLabSender(pub(crate) Secret);

#[cfg(feature = "test-util")]
impl crate::scheme::sign::Sign for GitLabSender {
    /// `X-Gitlab-Token` and `Idempotency-Key: <id>`; body and timestamp are not used.
    fn sign_headers(&self, _body: &[u8], id: &str, _timestamp: i64) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(token) = std::str::from_utf8(self.0.expose()) {
            crate::scheme::sign::header(&mut headers, &TOKEN, token);
        }
        crate::scheme::sign::header(&mut headers, &IDEMPOTENCY_KEY, id);
        headers
    }
    fn event_type_header(&self) -> Option<HeaderName> {
        Some(EVENT)
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use http::HeaderValue;

    use super::*;

    fn gitlab() -> GitLab {
        GitLab::new(Secrets::new(Secret::new("old token").unwrap()).with(Secret::new("new token").unwrap()))
    }

    fn verify(headers: &HeaderMap) -> Result<VerifiedEvent, Rejection> {
        let verdict = gitlab().verify(RequestParts::post(headers), b"{}", SystemTime::now())?;
        Ok(verdict.event().unwrap().clone())
    }

    fn headers(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(TOKEN, HeaderValue::from_str(token).unwrap());
        headers.insert(IDEMPOTENCY_KEY, HeaderValue::from_static("key-1"));
        headers
    }

    #[test]
    fn accepts_any_configured_token_and_refuses_others() {
        assert_eq!(verify(&headers("old token")).unwrap().id(), "key-1");
        assert_eq!(verify(&headers("new token")).unwrap().id(), "key-1");
        for wrong in ["old toke", "old token ", "OLD TOKEN", "x"] {
            assert_eq!(
                verify(&headers(wrong)),
                Err(Rejection::SignatureMismatch),
                "{wrong:?}"
            );
        }
    }

    #[test]
    fn missing_token_is_401_and_repeated_tokens_must_agree() {
        let mut missing = headers("old token");
        missing.remove(TOKEN);
        assert!(matches!(
            verify(&missing),
            Err(Rejection::MissingSignature { .. })
        ));
        assert!(gitlab().precheck(&missing).is_err());

        let mut repeated = headers("old token");
        repeated.append(TOKEN, HeaderValue::from_static("new token"));
        assert!(matches!(verify(&repeated), Err(Rejection::InvalidHeader { .. })));
    }

    #[test]
    fn keys_on_the_idempotency_key_then_the_event_uuid() {
        let mut headers = headers("old token");
        headers.insert(EVENT_UUID, HeaderValue::from_static("uuid-1"));
        headers.insert(EVENT, HeaderValue::from_static("Push Hook"));
        let delivery = verify(&headers).unwrap();
        assert_eq!(delivery.id(), "key-1");
        assert_eq!(delivery.event_type(), Some("Push Hook"));
        headers.remove(IDEMPOTENCY_KEY);
        assert_eq!(verify(&headers).unwrap().id(), "uuid-1");
        headers.remove(EVENT_UUID);
        assert!(matches!(verify(&headers), Err(Rejection::MissingHeader { .. })));
    }

    #[test]
    fn debug_output_hides_the_tokens() {
        let shown = format!("{:?}", gitlab());
        assert!(shown.starts_with("GitLab"), "{shown}");
        assert!(
            !shown.contains("old token") && !shown.contains("new token"),
            "{shown}"
        );
    }
}
