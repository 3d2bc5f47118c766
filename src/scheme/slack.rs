//! Slack's request signatures, and its `url_verification` handshake.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime};

use http::HeaderMap;

use super::json::{self, Path};
use super::{Delivery, Hmac, Scheme, DEFAULT_TOLERANCE};
use crate::{Rejection, Secrets};

const SIGNATURE: &str = "x-slack-signature";
const TIMESTAMP: &str = "x-slack-request-timestamp";

/// Slack's scheme: `X-Slack-Signature: v0=<hex>`, the HMAC-SHA256 of
/// `"v0:{timestamp}:{body}"` with the timestamp from
/// `X-Slack-Request-Timestamp`, keyed with the app's signing secret as written.
///
/// - **Timestamp**: signed, refused further than the
///   [tolerance](Slack::tolerance) (default 5 minutes, as Slack advises) from
///   now in either direction.
/// - **Id, the replay key**: the body's `event_id`, signed: the Events API's
///   unique id for the event, which Slack keeps on its retries (those carry
///   `X-Slack-Retry-Num` and `X-Slack-Retry-Reason`;
///   <https://api.slack.com/apis/events-api#callback-field>,
///   <https://api.slack.com/apis/events-api#retries>). Slash commands, interactivity payloads and other
///   form-encoded requests have no event id: their id is then the signature
///   itself, `sig:` followed by the hex MAC. That MAC covers the timestamp and
///   the body, so it names this one request: resending it within the
///   tolerance is dropped as a duplicate, and after the tolerance it is stale.
///   (Two identical commands sent within the same second would share it; Slack
///   does not send those.)
/// - **Type**: the body's `event.type` (`message`, `app_mention`, ...), else
///   its top-level `type` (`event_callback`, `app_rate_limited`, ...); none for
///   form-encoded requests, whose handler reads the form itself.
///
/// # The `url_verification` handshake
///
/// When you set the Events API request URL, Slack sends a signed
/// `{"type":"url_verification","challenge":"..."}` and expects the challenge
/// back. After the signature and timestamp are verified, the layer answers it
/// itself, `200` with `application/json` `{"challenge":"..."}` (one of the
/// three forms Slack accepts), without asking the replay guard or calling the
/// inner service. A `url_verification` without a string `challenge` is
/// refused with `400` ([`Rejection::MissingEventId`]).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use http::HeaderMap;
/// use tower_webhook::scheme::{Scheme, Slack};
/// use tower_webhook::Secret;
///
/// let slack = Slack::new(Secret::new("8f742231b10e8888abcd99yyyzzz85a5")?);
/// let now = UNIX_EPOCH + Duration::from_secs(1531420618);
///
/// // Slack's documented example: a slash command, form-encoded.
/// let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
/// let mut headers = HeaderMap::new();
/// headers.insert("x-slack-request-timestamp", "1531420618".parse()?);
/// headers.insert(
///     "x-slack-signature",
///     "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503".parse()?,
/// );
/// let delivery = slack.verify(&headers, body.as_bytes(), now)?;
/// assert_eq!(
///     delivery.id(),
///     "sig:a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
/// );
///
/// // The handshake is answered by the layer.
/// let body = br#"{"token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
/// headers.insert("x-slack-signature", slack.sign(1531420618, body).parse()?);
/// let handshake = slack.verify(&headers, body, now)?;
/// let (content_type, reply) = handshake.reply_body().unwrap();
/// assert_eq!(content_type, "application/json");
/// assert_eq!(&reply[..], br#"{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Slack {
    /// Checks the signature and timestamp. Its id is the verified MAC (the id
    /// of a delivery without `event_id`); it reads nothing from the body, so
    /// that `verify` walks the body once for all three fields.
    hmac: Hmac,
    event_id: Path,
    event_type: Path,
    top_type: Path,
    challenge: Path,
}

impl Slack {
    /// Slack's scheme, accepting a signature by any of `secrets` (configure
    /// the old and the new signing secret while rotating).
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        Self {
            hmac: Hmac::new(SIGNATURE, secrets)
                .prefix("v0=")
                .timestamp_header(TIMESTAMP, DEFAULT_TOLERANCE)
                .id_from_signature()
                .without_event_type()
                .signed_content("v0:{timestamp}:{body}")
                .expect("the template names a configured timestamp header and {body} once"),
            event_id: json::path("event_id"),
            event_type: json::path("event.type"),
            top_type: json::path("type"),
            challenge: json::path("challenge"),
        }
    }

    /// How far `X-Slack-Request-Timestamp` may be from now, in either
    /// direction (default 5 minutes), at most
    /// [`MAX_TOLERANCE`](super::MAX_TOLERANCE) (1 hour; more is taken as
    /// that, and logged at `warn`).
    #[must_use]
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.hmac = self.hmac.timestamp_header(TIMESTAMP, tolerance);
        self
    }

    /// The `X-Slack-Signature` value Slack would send with `body` at unix
    /// time `timestamp`, signed with the first secret.
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        self.hmac.sign(body, "", &timestamp.to_string())
    }
}

impl Scheme for Slack {
    fn precheck(&self, headers: &HeaderMap) -> Result<(), Rejection> {
        self.hmac.precheck(headers)
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Result<Delivery, Rejection> {
        let checked = self.hmac.verify(headers, body, now)?;
        let [event_id, event_type, top_type] = json::find_unique(
            body,
            [Some(&self.event_id), Some(&self.event_type), Some(&self.top_type)],
        )?;

        if top_type.as_deref() == Some("url_verification") {
            let [challenge] = json::find_unique(body, [Some(&self.challenge)])?;
            let challenge = challenge.ok_or(Rejection::MissingEventId)?;
            let reply = serde_json::json!({ "challenge": challenge }).to_string();
            return Ok(Delivery::reply("application/json", reply));
        }
        let id = match event_id {
            Some(id) => id.into_owned(),
            None => checked.id().to_owned(),
        };
        let event_type = event_type.or(top_type).map(Cow::into_owned);
        Ok(Delivery::new(id)?
            .with_event_type(event_type)
            .with_timestamp(checked.timestamp()))
    }
}

impl fmt::Debug for Slack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slack").field("hmac", &self.hmac).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::secret::Secret;

    const NOW: i64 = 1_700_000_000;

    fn slack() -> Slack {
        Slack::new(Secret::new("slack signing secret").unwrap())
    }

    fn verify(body: &str) -> Result<Delivery, Rejection> {
        let slack = slack();
        let mut headers = HeaderMap::new();
        headers.insert(TIMESTAMP, NOW.to_string().parse().unwrap());
        headers.insert(SIGNATURE, slack.sign(NOW, body.as_bytes()).parse().unwrap());
        slack.verify(
            &headers,
            body.as_bytes(),
            UNIX_EPOCH + Duration::from_secs(NOW as u64),
        )
    }

    #[test]
    fn events_are_keyed_by_event_id_and_typed_by_the_inner_event() {
        let delivery = verify(
            r#"{"token":"t","team_id":"T1","event":{"type":"app_mention","text":"hi"},"type":"event_callback","event_id":"Ev08MFMKH6","event_time":1}"#,
        )
        .unwrap();
        assert_eq!(delivery.id(), "Ev08MFMKH6");
        assert_eq!(delivery.replay_keys().collect::<Vec<_>>(), ["Ev08MFMKH6"]);
        assert_eq!(delivery.event_type(), Some("app_mention"));
        assert_eq!(delivery.timestamp(), Some(NOW));
        assert!(delivery.reply_body().is_none());
    }

    #[test]
    fn falls_back_to_the_top_level_type() {
        let delivery =
            verify(r#"{"type":"app_rate_limited","team_id":"T1","minute_rate_limited":1}"#).unwrap();
        assert_eq!(delivery.event_type(), Some("app_rate_limited"));
    }

    #[test]
    fn requests_without_event_id_are_keyed_by_their_mac() {
        let body = "command=%2Fdeploy&text=now";
        let mac = slack().sign(NOW, body.as_bytes());
        let delivery = verify(body).unwrap();
        assert_eq!(delivery.id(), format!("sig:{}", &mac["v0=".len()..]));
        assert_eq!(delivery.replay_keys().count(), 1);
        assert_eq!(delivery.event_type(), None);
    }

    #[test]
    fn answers_the_handshake_with_the_challenge_escaped_as_json() {
        let delivery = verify(r#"{"type":"url_verification","challenge":"a\"b<c"}"#).unwrap();
        let (content_type, body) = delivery.reply_body().unwrap();
        assert_eq!(content_type, "application/json");
        let reply: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(reply, serde_json::json!({ "challenge": "a\"b<c" }));
    }

    #[test]
    fn refuses_a_repeated_key_on_the_id_or_type_path() {
        assert_eq!(
            verify(r#"{"type":"event_callback","event_id":"E1","event":{"type":"a","type":"b"}}"#),
            Err(Rejection::DuplicateJsonKey {
                path: "event.type".into()
            })
        );
        assert_eq!(
            verify(r#"{"type":"event_callback","event_id":"E1","type":"url_verification"}"#),
            Err(Rejection::DuplicateJsonKey { path: "type".into() })
        );
    }

    #[test]
    fn refuses_a_handshake_without_challenge() {
        assert_eq!(
            verify(r#"{"type":"url_verification"}"#),
            Err(Rejection::MissingEventId)
        );
        assert_eq!(
            verify(r#"{"type":"url_verification","challenge":{}}"#),
            Err(Rejection::MissingEventId)
        );
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let shown = format!("{:?}", slack());
        assert!(shown.starts_with("Slack"), "{shown}");
        assert!(!shown.contains("signing secret"), "{shown}");
    }
}
