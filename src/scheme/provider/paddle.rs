//! Paddle Billing's webhook signatures.

use std::time::Duration;

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{FieldSource, Spec, SpecBuilder};
use crate::scheme::timestamp::TimestampFormat;

preset! {
    /// Paddle Billing: `Paddle-Signature: ts=<unix>;h1=<hex>[;h1=...]`, the
    /// HMAC-SHA256 of `{ts}:{body}` keyed with the notification destination's
    /// secret key (`pdl_ntfset_...`, as written, never decoded).
    ///
    /// - **Signatures**: `;` separates the entries; any `h1` may match (Paddle
    ///   sends several while a secret rotates: "Signatures contain at least
    ///   one `h1`"); `h2` and unknown keys are ignored. (Paddle's node SDK
    ///   keeps only the last `h1`; accepting any is the documented rule.)
    /// - **Timestamp**: `ts`, signed, refused when older than **5 seconds**,
    ///   Paddle's SDK default ("SDK helper methods enforce a five-second
    ///   timestamp tolerance"); a future `ts` passes, as there. That is tight
    ///   for a receiver whose clock drifts or whose queue delays requests:
    ///   widen it with [`tolerance`](Paddle::tolerance) (the example receiver
    ///   takes `TOLERANCE_SECS`).
    /// - **Id, the replay key**: the body's `event_id` (`evt_...`), signed:
    ///   the event's id, which should stay the same across Paddle's retries
    ///   (UNCONFIRMED from Paddle's docs in this crate's research). A
    ///   verified body without it is refused with `400`.
    /// - **Type**: the body's `event_type` (`transaction.paid`, ...), signed.
    /// - **Handshake**: none.
    ///
    /// Source: developer.paddle.com/webhooks/about/signature-verification;
    /// PaddleHQ/paddle-node-sdk@b8ee4b1 `src/notifications/helpers/webhooks-validator.ts`
    /// (its test vectors run in `tests/vectors.rs`). The example below is the
    /// shared vector `paddle-billing-087`, computed with Python's `hmac`.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{Paddle, RequestParts, Scheme};
    /// use tower_webhook::{Rejection, Secret};
    ///
    /// let secret = "pdl_ntfset_01gkpjp8bkm3tm53kdgkx6sms7_6h3qd3uFSi9YCD3OLYAShQI90XTI5vEI";
    /// let paddle = Paddle::new(Secret::new(secret)?);
    /// let body = r#"{"event_id":"evt_01h8bzakzx3hm2fmen703n5q45","event_type":"transaction.paid","occurred_at":"2023-08-21T11:57:47.390028Z","data":{"id":"txn_01h8bz"}}"#;
    /// let mut headers = HeaderMap::new();
    /// headers.insert(
    ///     "paddle-signature",
    ///     "ts=1692619068;h1=10aa925c2abcf879406b8a071f490aeb1609ef2507eef096bbe4c1c2bae01aef".parse()?,
    /// );
    /// let at = |secs| UNIX_EPOCH + Duration::from_secs(secs);
    ///
    /// let verdict = paddle.verify(RequestParts::post(&headers), body.as_bytes(), at(1692619070))?;
    /// assert_eq!(verdict.event().unwrap().id(), "evt_01h8bzakzx3hm2fmen703n5q45");
    ///
    /// // Six seconds old: refused by default, accepted with a wider tolerance.
    /// let late = paddle.verify(RequestParts::post(&headers), body.as_bytes(), at(1692619074));
    /// assert_eq!(late, Err(Rejection::TimestampTooOld { age_secs: 6 }));
    /// let lenient = Paddle::new(Secret::new(secret)?).tolerance(Duration::from_secs(60));
    /// assert!(lenient.verify(RequestParts::post(&headers), body.as_bytes(), at(1692619074)).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    Paddle, timestamp
}

impl Paddle {
    /// Paddle's scheme, accepting a signature by any of `secrets`.
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration().keys(secrets.into()).build().expect(PRESET);
        Self { spec }
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("Paddle")
            .signature_header("paddle-signature")
            .keyed_list(';', '=')
            .version("h1", Algorithm::HmacSha256, Encoding::Hex)
            .timestamp_entry("ts", TimestampFormat::UnixSeconds)
            .tolerance(Duration::from_secs(5))
            .past_only()
            .signed_content("{timestamp}:{body}")
            .id(FieldSource::body("event_id"))
            .event_type(FieldSource::body("event_type"))
    }
}
