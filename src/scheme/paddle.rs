//! Paddle Billing's webhook signatures.

use std::time::Duration;

use super::{Algorithm, Encoding, Field, Spec, SpecBuilder, TimestampFormat, PRESET};
use crate::Secrets;

preset! {
    /// Paddle Billing: `Paddle-Signature: ts=<unix>;h1=<hex>[;h1=...]`, the
    /// HMAC-SHA256 of `{ts}:{body}` keyed with the destination's secret key
    /// (`pdl_ntfset_...`, as written). Any `h1` may match; unknown keys are
    /// ignored. The timestamp is refused when older than 5 seconds (Paddle's
    /// SDK default; future ones pass, as there). Id and type: the body's
    /// `event_id` and `event_type`, both signed.
    ///
    /// Source: developer.paddle.com/webhooks/about/signature-verification;
    /// PaddleHQ/paddle-node-sdk `webhooks-validator.ts`.
    ///
    /// ```
    /// use tower_webhook::scheme::Paddle;
    /// use tower_webhook::Secret;
    ///
    /// let paddle = Paddle::new(Secret::new("pdl_ntfset_01_secret")?);
    /// # let _ = paddle;
    /// # Ok::<(), tower_webhook::SecretError>(())
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
        Spec::builder()
            .signature_header("paddle-signature")
            .keyed_list(';', '=')
            .version("h1", Algorithm::HmacSha256, Encoding::Hex)
            .timestamp_entry("ts", TimestampFormat::UnixSeconds)
            .tolerance(Duration::from_secs(5))
            .past_only()
            .signed_content("{timestamp}:{body}")
            .id(Field::body("event_id"))
            .event_type(Field::body("event_type"))
    }
}
