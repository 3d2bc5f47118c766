//! Mailgun's webhook signatures: the signature, its timestamp and its token
//! travel in the JSON body, and only the timestamp and token are signed.

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{FieldSource, Spec, SpecBuilder};
use crate::scheme::timestamp::TimestampFormat;

preset! {
    /// Mailgun's scheme for JSON webhooks: the body is
    /// `{"signature": {"timestamp", "token", "signature"}, "event-data": {...}}`,
    /// and `signature` is the hex HMAC-SHA256 of `{timestamp}{token}` (no
    /// separator) keyed with the account's **HTTP webhook signing key**.
    ///
    /// **The event data is not covered by the signature.** A valid signature
    /// proves only that Mailgun issued that timestamp and token; whoever
    /// captured one delivery can attach any `event-data` to its `signature`
    /// object. What makes that harmless is that each token is accepted once:
    ///
    /// - **Id, the replay key**: the `token` (50 random characters, signed).
    ///   Mailgun's docs say to cache tokens and refuse one seen before, and to
    ///   check the timestamp ("Securing webhooks",
    ///   <https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks>).
    ///   The replay guard does exactly that, so a signature is good for one
    ///   delivery. Keying on `event-data.id` instead would let a captured
    ///   signature carry fresh, forged event data under a new id; the price of
    ///   the token is that if Mailgun signs a retry of an event afresh (a new
    ///   token, UNCONFIRMED), the retry reaches the handler again: dedupe on
    ///   `event-data.id` in the handler where processing twice matters.
    /// - **Timestamp**: `signature.timestamp`, unix seconds, signed; refused
    ///   further than the [tolerance](Mailgun::tolerance) from now in either
    ///   direction (default 5 minutes; Mailgun documents no window, UNCONFIRMED).
    ///   Size the replay guard to remember tokens at least that long.
    /// - **Type**: `event-data.event` (`delivered`, `failed`, ...), **unsigned**.
    /// - Legacy form-encoded webhooks (`timestamp`, `token`, `signature` form
    ///   fields) and a subaccount's `parent-signature` are not read.
    ///
    /// A body that is not JSON or lacks one of the three signature fields is
    /// refused with [`Rejection::MalformedSignature`](crate::Rejection::MalformedSignature) (`401`); a repeated key on
    /// their paths with [`Rejection::DuplicateJsonKey`](crate::Rejection::DuplicateJsonKey) (`400`). A body whose
    /// signature verifies but whose JSON breaks off after it (truncated, say) is
    /// refused with [`Rejection::InvalidBodyField`](crate::Rejection::InvalidBodyField) on `event-data` (`400`): the
    /// signature does not cover the event data, so nothing else would catch it
    /// before the handler.
    ///
    /// Mailgun's docs give no vector with its key; this one was computed with
    /// Python's `hmac`:
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{Mailgun, RequestParts, Scheme};
    /// use tower_webhook::Secret;
    ///
    /// let mailgun = Mailgun::new(Secret::new("mailgun signing key")?);
    /// let body = r#"{"signature":{"timestamp":"1700000000","token":"a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0","signature":"e21b5f179752ffbed57af5f6b295f7f2f76999421e0595aaa012e26f7488a057"},"event-data":{"event":"delivered","id":"CPgfbmQMTCKtHW6uIWtuVe"}}"#;
    /// let now = UNIX_EPOCH + Duration::from_secs(1700000030);
    ///
    /// let headers = HeaderMap::new();
    /// let verdict = mailgun.verify(RequestParts::post(&headers), body.as_bytes(), now)?;
    /// let delivery = verdict.event().unwrap();
    /// assert_eq!(delivery.id(), "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0");
    /// assert_eq!(delivery.event_type(), Some("delivered"));
    ///
    /// // The event data is not signed: changing it does not break the signature.
    /// // The token is the replay key, so the layer processes it once only.
    /// let forged = body.replace("delivered", "failed");
    /// assert!(mailgun.verify(RequestParts::post(&headers), forged.as_bytes(), now).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    Mailgun, timestamp
}

impl Mailgun {
    /// Mailgun's scheme, accepting a signature by any of `secrets` (the HTTP
    /// webhook signing key, as written).
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration().keys(secrets.into()).build().expect(PRESET);
        Self { spec }
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("Mailgun")
            .signature_body("signature.signature", "event-data")
            // One signature, not a list.
            .list(&[])
            .version("", Algorithm::HmacSha256, Encoding::Hex)
            .timestamp_body("signature.timestamp", TimestampFormat::UnixSeconds)
            .id(FieldSource::body("signature.token"))
            .event_type(FieldSource::body("event-data.event"))
            // The timestamp is all digits, so it cannot end inside the token.
            .signed_content("{timestamp}{id}")
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use http::HeaderMap;

    use super::*;
    use crate::key::secret::Secret;
    use crate::rejection::Rejection;
    use crate::scheme::request::RequestParts;
    use crate::scheme::verdict::{Verdict, VerifiedEvent};
    use crate::scheme::verify::Scheme;

    const NOW: u64 = 1_700_000_000;
    const TOKEN: &str = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0";
    /// HMAC-SHA256("mailgun signing key", "1700000000" + TOKEN), by Python's `hmac`.
    const SIG: &str = "e21b5f179752ffbed57af5f6b295f7f2f76999421e0595aaa012e26f7488a057";

    fn mailgun() -> Mailgun {
        Mailgun::new(Secret::new("mailgun signing key").unwrap())
    }

    fn body(timestamp: &str, token: &str, signature: &str) -> String {
        format!(
            r#"{{"signature":{{"timestamp":{timestamp},"token":"{token}","signature":"{signature}"}},"event-data":{{"event":"opened"}}}}"#
        )
    }

    fn verify(scheme: &Mailgun, body: &str, now: u64) -> Result<VerifiedEvent, Rejection> {
        let headers = HeaderMap::new();
        match scheme.verify(
            RequestParts::post(&headers),
            body.as_bytes(),
            UNIX_EPOCH + Duration::from_secs(now),
        )? {
            Verdict::Event(d) => Ok(d),
            Verdict::Reply(r) => panic!("no handshake expected: {r:?}"),
        }
    }

    #[test]
    fn keys_on_the_signed_token() {
        let ok = verify(&mailgun(), &body("\"1700000000\"", TOKEN, SIG), NOW).unwrap();
        assert_eq!(ok.id(), TOKEN);
        assert_eq!(ok.event_type(), Some("opened"));
        assert_eq!(ok.timestamp(), Some(1_700_000_000));
        // A number is read as well as a string.
        assert!(verify(&mailgun(), &body("1700000000", TOKEN, SIG), NOW).is_ok());
    }

    #[test]
    fn refuses_a_body_whose_json_breaks_off_after_the_signature() {
        let whole = body("\"1700000000\"", TOKEN, SIG);
        assert!(verify(&mailgun(), &whole, NOW).is_ok());
        // Truncated inside the event data, and with trailing bytes.
        for broken in [&whole[..whole.len() - 3], &format!("{whole} {{")] {
            assert_eq!(
                verify(&mailgun(), broken, NOW),
                Err(Rejection::InvalidBodyField {
                    path: "event-data".into(),
                    reason: "the body is not one JSON document",
                }),
                "{broken}"
            );
        }
    }

    #[test]
    fn refuses_a_changed_token_timestamp_or_key() {
        let other_token = TOKEN.replace('a', "b");
        for (body, now) in [
            (body("\"1700000000\"", &other_token, SIG), NOW),
            (body("\"1700000001\"", TOKEN, SIG), NOW),
        ] {
            assert_eq!(verify(&mailgun(), &body, now), Err(Rejection::SignatureMismatch));
        }
        let wrong = Mailgun::new(Secret::new("another key").unwrap());
        assert_eq!(
            verify(&wrong, &body("\"1700000000\"", TOKEN, SIG), NOW),
            Err(Rejection::SignatureMismatch)
        );
    }

    #[test]
    fn checks_the_timestamp_both_ways_with_a_configurable_tolerance() {
        let b = body("\"1700000000\"", TOKEN, SIG);
        assert_eq!(
            verify(&mailgun(), &b, NOW + 301),
            Err(Rejection::TimestampTooOld { age_secs: 301 })
        );
        assert_eq!(
            verify(&mailgun(), &b, NOW - 301),
            Err(Rejection::TimestampTooNew { ahead_secs: 301 })
        );
        assert!(verify(&mailgun().tolerance(Duration::from_secs(600)), &b, NOW + 301).is_ok());
    }

    #[test]
    fn malformed_bodies_get_their_documented_rejection() {
        let sig_missing = r#"{"signature":{"timestamp":"1700000000","token":"t"},"event-data":{}}"#;
        for bad in [
            "",
            "not json",
            "{}",
            sig_missing,
            &body("\"1700000000\"", TOKEN, "zz"),
        ] {
            assert!(
                matches!(
                    verify(&mailgun(), bad, NOW),
                    Err(Rejection::MalformedSignature { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            verify(&mailgun(), &body("\"soon\"", TOKEN, SIG), NOW),
            Err(Rejection::InvalidBodyField { .. })
        ));
        let twice = format!(
            r#"{{"signature":{{"timestamp":"1700000000","token":"{TOKEN}","token":"x","signature":"{SIG}"}}}}"#
        );
        assert!(matches!(
            verify(&mailgun(), &twice, NOW),
            Err(Rejection::DuplicateJsonKey { .. })
        ));
    }

    #[cfg(feature = "test-util")]
    #[test]
    fn signs_into_the_body_replacing_a_documented_signature_block() {
        use crate::scheme::sign::Sign;
        // The shape of Mailgun's documented payload, with its example block.
        let documented = "{\n  \"signature\": {\n    \"timestamp\": \"1529006854\",\n    \"token\": \"a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0\",\n    \"signature\": \"d2271d12299f6592d9d44cd9d250f0704e4674c30d79d07c47a66f95ce71cf55\"\n  },\n  \"event-data\": {\n    \"event\": \"opened\"\n  }\n}";
        let (body, headers) = mailgun().sign_delivery(documented.into(), TOKEN, 1_700_000_000);
        assert!(headers.is_empty());
        let expected = format!(
            "{{\n  \"signature\": {{\"timestamp\":\"1700000000\",\"token\":\"{TOKEN}\",\"signature\":\"{SIG}\"}},\n  \"event-data\": {{\n    \"event\": \"opened\"\n  }}\n}}"
        );
        assert_eq!(std::str::from_utf8(&body).unwrap(), expected);
        assert_eq!(verify(&mailgun(), &expected, NOW).unwrap().id(), TOKEN);
        // Without a block, it is inserted first.
        let (body, _) = mailgun().sign_delivery(r#"{"event-data":{}}"#.into(), TOKEN, 1_700_000_000);
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            format!(
                r#"{{"signature":{{"timestamp":"1700000000","token":"{TOKEN}","signature":"{SIG}"}},"event-data":{{}}}}"#
            )
        );
        // A body that cannot carry it is left as it is, and refused.
        let (body, _) = mailgun().sign_delivery("[1]".into(), TOKEN, 1_700_000_000);
        assert_eq!(&body[..], b"[1]");
    }

    #[test]
    fn debug_output_hides_the_key() {
        let shown = format!("{:?}", Mailgun::new(Secret::new("do_not_show_this_key").unwrap()));
        assert!(!shown.contains("do_not_show"), "{shown}");
    }
}
