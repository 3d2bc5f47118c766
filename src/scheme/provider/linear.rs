//! Linear's webhook signatures.

use std::time::Duration;

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{FieldSource, Spec, SpecBuilder};
use crate::scheme::timestamp::TimestampFormat;

preset! {
    /// Linear's scheme: `Linear-Signature: <hex>` (no prefix), the
    /// HMAC-SHA256 of the raw body keyed with the webhook's signing secret,
    /// as written.
    ///
    /// - **Timestamp**: in the **body**, `webhookTimestamp`, unix
    ///   milliseconds; signed with the body, and checked after the signature
    ///   verified ([`SpecBuilder::timestamp_body`]). Refused further than
    ///   the [tolerance](Linear::tolerance) from now in either direction,
    ///   default **60 seconds** as in Linear's SDK (`Math.abs(Date.now() -
    ///   timestamp) > 1e3 * 60` rejects). A verified body without it is
    ///   refused with `400`
    ///   ([`Rejection::InvalidBodyField`](crate::Rejection::InvalidBodyField)),
    ///   as the SDK refuses it ("Missing webhook timestamp"). The check is
    ///   made in whole seconds, so at the window's edges it can be up to a
    ///   second more lenient than the SDK's milliseconds; and a
    ///   `webhookTimestamp` written as a JSON string of digits is read here,
    ///   where the SDK wants a number.
    /// - **The `linear-timestamp` header is never read.** It is not covered
    ///   by the signature, so anyone holding a captured delivery could set
    ///   it to now. The current SDK reads it too, but its `verify` ignores
    ///   it ("Only webhookTimestamp in the signed body is trusted"): neither
    ///   a fresh header on a stale body nor a header on a body without
    ///   `webhookTimestamp` passes. Earlier SDKs (from linear/linear#1003,
    ///   7349adc, up to the stored repository at 8335e09) fell back to the
    ///   header when the body had no timestamp and skipped the check when
    ///   both were absent; linear/linear#1140 (7f440a4) fixed a "replay
    ///   bypass" where a fresh header overrode a stale body.
    /// - **Id, the replay key**: the `Linear-Delivery` header (absent:
    ///   `400`), "An UUID (v4) uniquely identifying this payload" (Linear's
    ///   2021 `docs/Webhooks.md`, linear/linear@451a621). It is **not
    ///   signed**; see "Unsigned headers" on [`Spec`]. Whether a retry keeps
    ///   it is UNCONFIRMED: Linear retries "after approximately 10 minutes,
    ///   then 30 minutes, and so on" (same page), which the 60 s window
    ///   only allows if each attempt is stamped and signed afresh, so a
    ///   retry's body differs and this header is the only key that could
    ///   tie it to the first attempt. The body's `webhookId` names the
    ///   webhook (the same for all its deliveries), so it cannot serve.
    /// - **Type**: the body's `type` (`Issue`, `Comment`, ...; the body's
    ///   `action` says `create`, `update` or `remove`), signed.
    /// - **Handshake**: none.
    ///
    /// Source: `@linear/sdk` 98.0.0 (npm, the latest release),
    /// `dist/webhooks-BtY8wrj8.mjs`, `LinearWebhookClient.verify` (the
    /// `linear-signature` header, hex HMAC-SHA256 of the raw body,
    /// `webhookTimestamp` required and within 60 s, the `linear-timestamp`
    /// argument "Deprecated and ignored"); linear/linear
    /// `packages/sdk/src/webhooks/client.ts` for the history above.
    /// Linear publishes no literal vector: the one below was computed with
    /// Python's `hmac`; `tests/fixtures/providers/linear.json` holds
    /// deliveries the SDK's `verify` accepted or refused.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{Linear, RequestParts, Scheme};
    /// use tower_webhook::{Rejection, Secret};
    ///
    /// let linear = Linear::new(Secret::new("lin_wh_secret_abc123")?);
    /// let body = r#"{"action":"create","type":"Issue","data":{"id":"2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9","title":"Bug"},"webhookTimestamp":1700000000123,"webhookId":"000042e3-d123-4980-b49f-8e140eef9329"}"#;
    /// let mut headers = HeaderMap::new();
    /// headers.insert(
    ///     "linear-signature",
    ///     "56e877b1cb64560a36a4323795f96ad96ee375486f06f1de6d8731a17b107da9".parse()?,
    /// );
    /// headers.insert("linear-delivery", "234d1a4e-b617-4388-90fe-adc3633d6b72".parse()?);
    ///
    /// let now = UNIX_EPOCH + Duration::from_secs(1700000010);
    /// let verdict = linear.verify(RequestParts::post(&headers), body.as_bytes(), now)?;
    /// let delivery = verdict.event().unwrap();
    /// assert_eq!(delivery.id(), "234d1a4e-b617-4388-90fe-adc3633d6b72");
    /// assert_eq!(delivery.event_type(), Some("Issue"));
    /// assert_eq!(delivery.timestamp(), Some(1700000000));
    ///
    /// // 61 seconds later the body's timestamp is stale.
    /// let later = now + Duration::from_secs(51);
    /// let stale = linear.verify(RequestParts::post(&headers), body.as_bytes(), later);
    /// assert_eq!(stale, Err(Rejection::TimestampTooOld { age_secs: 61 }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    Linear, timestamp
}

/// Linear's SDK window: 60 seconds either way.
const LINEAR_TOLERANCE: Duration = Duration::from_secs(60);

impl Linear {
    /// Linear's scheme, accepting a signature by any of `secrets`.
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration().keys(secrets.into()).build().expect(PRESET);
        Self { spec }
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("Linear")
            .signature_header("linear-signature")
            .version("", Algorithm::HmacSha256, Encoding::Hex)
            .timestamp_body("webhookTimestamp", TimestampFormat::UnixMillis)
            .tolerance(LINEAR_TOLERANCE)
            .id(FieldSource::header("linear-delivery"))
            .event_type(FieldSource::body("type"))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use hmac::Mac;
    use http::HeaderMap;

    use super::*;
    use crate::key::secret::Secret;
    use crate::rejection::Rejection;
    use crate::scheme::request::RequestParts;
    use crate::scheme::verdict::VerifiedEvent;
    use crate::scheme::verify::Scheme;

    const SECRET: &str = "lin_wh_secret_abc123";
    /// The body's `webhookTimestamp` in the tests, 2023-11-14T22:13:20Z.
    const T: u64 = 1_700_000_000;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// A delivery of `body`, signed as Linear signs it, with a
    /// `linear-timestamp` header when given.
    fn verify(body: &str, header_ms: Option<u64>, now: SystemTime) -> Result<VerifiedEvent, Rejection> {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(body.as_bytes());
        let signature = hex::encode(mac.finalize().into_bytes());
        let mut headers = HeaderMap::new();
        headers.insert("linear-signature", signature.parse().unwrap());
        headers.insert(
            "linear-delivery",
            "234d1a4e-b617-4388-90fe-adc3633d6b72".parse().unwrap(),
        );
        if let Some(ms) = header_ms {
            headers.insert("linear-timestamp", ms.to_string().parse().unwrap());
        }
        let linear = Linear::new(Secret::new(SECRET).unwrap());
        let verdict = linear.verify(RequestParts::post(&headers), body.as_bytes(), now)?;
        Ok(verdict.event().unwrap().clone())
    }

    fn body_at(ms: u64) -> String {
        format!(r#"{{"action":"create","type":"Issue","data":{{"id":"1"}},"webhookTimestamp":{ms}}}"#)
    }

    #[test]
    fn the_signed_body_timestamp_decides_whatever_the_header_says() {
        let body = body_at(T * 1000);
        // A stale header does not spoil a fresh signed body...
        let delivery = verify(&body, Some((T - 3600) * 1000), at(T + 60)).unwrap();
        assert_eq!(delivery.timestamp(), Some(T as i64));
        // ...and a fresh one does not rescue a stale body (linear/linear#1140).
        assert_eq!(
            verify(&body, Some((T + 61) * 1000), at(T + 61)),
            Err(Rejection::TimestampTooOld { age_secs: 61 })
        );
        assert_eq!(
            verify(&body, Some((T - 61) * 1000), at(T - 61)),
            Err(Rejection::TimestampTooNew { ahead_secs: 61 })
        );
    }

    #[test]
    fn a_body_without_webhook_timestamp_is_refused_even_with_a_fresh_header() {
        let body = r#"{"action":"create","type":"Issue","data":{"id":"1"}}"#;
        let missing = Rejection::InvalidBodyField {
            path: "webhookTimestamp".into(),
            reason: "the timestamp is missing",
        };
        assert_eq!(verify(body, Some(T * 1000), at(T)), Err(missing.clone()));
        assert_eq!(verify(body, None, at(T)), Err(missing.clone()));
        assert_eq!(missing.status(), http::StatusCode::BAD_REQUEST);
    }

    #[test]
    fn a_webhook_timestamp_written_as_a_string_is_read() {
        // Linear's SDK refuses a non-number; the preset reads the digits.
        let body = format!(r#"{{"type":"Issue","webhookTimestamp":"{}"}}"#, T * 1000);
        assert_eq!(verify(&body, None, at(T)).unwrap().timestamp(), Some(T as i64));
    }
}
