//! Slack's request signatures, and its `url_verification` handshake.

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{FieldSource, Handshake, Spec, SpecBuilder};
use crate::scheme::timestamp::TimestampFormat;

preset! {
    /// Slack's scheme: `X-Slack-Signature: v0=<hex>`, the HMAC-SHA256 of
    /// `"v0:{timestamp}:{body}"` with the timestamp from
    /// `X-Slack-Request-Timestamp`, keyed with the app's signing secret as written.
    ///
    /// - **Timestamp**: signed, refused further than the
    ///   [tolerance](Slack::tolerance) (default 5 minutes, as Slack advises) from
    ///   now in either direction.
    /// - **Id, the replay key**: the body's `event_id`, signed: the Events
    ///   API's unique id for the event, which Slack keeps on its retries (those
    ///   carry `X-Slack-Retry-Num` and `X-Slack-Retry-Reason`;
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
    /// refused with `400` ([`Rejection::MalformedHandshake`](crate::Rejection::MalformedHandshake)).
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{RequestParts, Scheme, Slack};
    /// use tower_webhook::testing::Sign;
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
    /// let verdict = slack.verify(RequestParts::post(&headers), body.as_bytes(), now)?;
    /// assert_eq!(
    ///     verdict.event().unwrap().id(),
    ///     "sig:a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    /// );
    ///
    /// // The handshake is answered by the layer.
    /// let body = br#"{"token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    /// let headers = slack.sign_headers(body, "", 1531420618);
    /// let verdict = slack.verify(RequestParts::post(&headers), body, now)?;
    /// let reply = verdict.reply().unwrap();
    /// assert_eq!(reply.content_type(), Some("application/json"));
    /// assert_eq!(&reply.body()[..], br#"{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}"#);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    Slack, timestamp
}

impl Slack {
    /// Slack's scheme, accepting a signature by any of `secrets` (configure
    /// the old and the new signing secret while rotating).
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration().keys(secrets.into()).build().expect(PRESET);
        Self { spec }
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("Slack")
            .signature_header("x-slack-signature")
            .version("v0=", Algorithm::HmacSha256, Encoding::Hex)
            .timestamp_header("x-slack-request-timestamp", TimestampFormat::UnixSeconds)
            .signed_content("v0:{timestamp}:{body}")
            .id(FieldSource::body("event_id").or_signature())
            .event_type(FieldSource::body("event.type").or_body("type"))
            .handshake(Handshake::when_body("type", "url_verification").echo_json("challenge", "challenge"))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::key::secret::Secret;
    use crate::rejection::Rejection;
    use crate::scheme::request::RequestParts;
    use crate::scheme::sign::Sign;
    use crate::scheme::verdict::Verdict;
    use crate::scheme::verify::Scheme;

    const NOW: i64 = 1_700_000_000;

    fn slack() -> Slack {
        Slack::new(Secret::new("slack signing secret").unwrap())
    }

    fn verify(body: &str) -> Result<Verdict, Rejection> {
        let slack = slack();
        let headers = slack.sign_headers(body.as_bytes(), "", NOW);
        slack.verify(
            RequestParts::post(&headers),
            body.as_bytes(),
            UNIX_EPOCH + Duration::from_secs(NOW as u64),
        )
    }

    #[test]
    fn events_are_keyed_by_event_id_and_typed_by_the_inner_event() {
        let verdict = verify(
            r#"{"token":"t","team_id":"T1","event":{"type":"app_mention","text":"hi"},"type":"event_callback","event_id":"Ev08MFMKH6","event_time":1}"#,
        )
        .unwrap();
        let delivery = verdict.event().unwrap();
        assert_eq!(delivery.id(), "Ev08MFMKH6");
        assert_eq!(delivery.replay_keys().collect::<Vec<_>>(), ["Ev08MFMKH6"]);
        assert_eq!(delivery.event_type(), Some("app_mention"));
        assert_eq!(delivery.timestamp(), Some(NOW));
    }

    #[test]
    fn falls_back_to_the_top_level_type() {
        let verdict =
            verify(r#"{"type":"app_rate_limited","team_id":"T1","minute_rate_limited":1}"#).unwrap();
        assert_eq!(verdict.event().unwrap().event_type(), Some("app_rate_limited"));
    }

    #[test]
    fn requests_without_event_id_are_keyed_by_their_mac() {
        let body = "command=%2Fdeploy&text=now";
        let headers = slack().sign_headers(body.as_bytes(), "", NOW);
        let mac = headers["x-slack-signature"].to_str().unwrap().to_owned();
        let verdict = verify(body).unwrap();
        let delivery = verdict.event().unwrap();
        assert_eq!(delivery.id(), format!("sig:{}", &mac["v0=".len()..]));
        assert_eq!(delivery.replay_keys().count(), 1);
        assert_eq!(delivery.event_type(), None);
    }

    #[test]
    fn answers_the_handshake_with_the_challenge_escaped_as_json() {
        let verdict = verify(r#"{"type":"url_verification","challenge":"a\"b<c"}"#).unwrap();
        let reply = verdict.reply().unwrap();
        assert_eq!(reply.status(), 200);
        assert_eq!(reply.content_type(), Some("application/json"));
        let reply: serde_json::Value = serde_json::from_slice(reply.body()).unwrap();
        assert_eq!(reply, serde_json::json!({ "challenge": "a\"b<c" }));
    }

    #[test]
    fn refuses_a_handshake_without_challenge() {
        for body in [
            r#"{"type":"url_verification"}"#,
            r#"{"type":"url_verification","challenge":{}}"#,
        ] {
            assert!(
                matches!(verify(body), Err(Rejection::MalformedHandshake { .. })),
                "{body}"
            );
        }
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let shown = format!("{:?}", slack());
        assert!(shown.starts_with("Slack"), "{shown}");
        assert!(!shown.contains("signing secret"), "{shown}");
    }
}
