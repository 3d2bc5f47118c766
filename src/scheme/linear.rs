//! Linear's webhook signatures.

use std::time::Duration;

use super::{Algorithm, Encoding, Field, Spec, SpecBuilder, TimestampFormat, PRESET};
use crate::Secrets;

preset! {
    /// Linear's scheme: `Linear-Signature: <hex>` (no prefix), the
    /// HMAC-SHA256 of the raw body keyed with the webhook's signing secret,
    /// as written.
    ///
    /// - **Timestamp**: in the **body**, `webhookTimestamp`, unix
    ///   milliseconds; signed with the body, and checked after the signature
    ///   verified ([`SpecBuilder::timestamp_body`]). Refused further than
    ///   the [tolerance](Linear::tolerance) from now in either direction,
    ///   default **60 seconds** as in Linear's SDK (`|now - webhookTimestamp|
    ///   > 60 000 ms` rejects). The SDK skips the check when the field is
    ///   absent; a verified body without it is refused here with `400`
    ///   ([`Rejection::InvalidBodyField`](crate::Rejection::InvalidBodyField)).
    ///   The check is made in whole seconds.
    /// - **Id, the replay key**: the `Linear-Delivery` header, a UUID per
    ///   delivery (absent: `400`). It is **not signed**; see "Unsigned
    ///   headers" on [`Spec`]. That it names the delivery, and whether a
    ///   retry keeps it, is UNCONFIRMED from an official page; the body's
    ///   `webhookId` names the webhook (the same for all its deliveries), so
    ///   it cannot serve.
    /// - **Type**: the body's `type` (`Issue`, `Comment`, ...; the body's
    ///   `action` says `create`, `update` or `remove`), signed.
    /// - **Handshake**: none.
    ///
    /// Source: linear/linear `packages/sdk/src/webhooks/client.ts` (stored
    /// version 039267d: `LINEAR_WEBHOOK_SIGNATURE_HEADER = "linear-signature"`,
    /// `LINEAR_WEBHOOK_TS_FIELD = "webhookTimestamp"`, the 60 s window);
    /// linear.app/docs/api/sdk-webhooks. Linear publishes no literal vector;
    /// the one below was computed with Python's `hmac`.
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
        Spec::builder()
            .signature_header("linear-signature")
            .version("", Algorithm::HmacSha256, Encoding::Hex)
            .timestamp_body("webhookTimestamp", TimestampFormat::UnixMillis)
            .tolerance(LINEAR_TOLERANCE)
            .id(Field::header("linear-delivery"))
            .event_type(Field::body("type"))
    }
}
