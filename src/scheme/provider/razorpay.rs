//! Razorpay's webhook signatures.

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{FieldSource, Spec, SpecBuilder};

preset! {
    /// Razorpay's scheme: `X-Razorpay-Signature: <hex>`, the HMAC-SHA256 of
    /// the raw body keyed with the webhook secret set in the Dashboard (not
    /// the API key secret), as written.
    ///
    /// - **Rotation**: after a secret change, Razorpay's automatic retries
    ///   of older events stay signed with the **old** secret ("use the old
    ///   secret for webhook signature validation while retrying older
    ///   requests", <https://razorpay.com/docs/webhooks/faqs/>), while events
    ///   replayed from the Dashboard "are signed with your current webhook
    ///   secret" (<https://razorpay.com/docs/webhooks/replay-events>). Keep
    ///   both secrets configured during a rotation, at least for the 24 hours
    ///   Razorpay retries an event after its creation.
    /// - **No timestamp**: the body alone is signed (its `created_at` is not
    ///   checked), so a captured delivery stays valid forever; the replay
    ///   guard is the only defence.
    /// - **Id, the replay key**: the `x-razorpay-event-id` header (absent:
    ///   `400`), Razorpay's own dedup key: "You can identify the duplicate
    ///   webhooks using the `x-razorpay-event-id` header. The value for this
    ///   header is unique per event"
    ///   (<https://razorpay.com/docs/webhooks/validate-test>, "Idempotency";
    ///   the same advice on <https://razorpay.com/docs/webhooks/best-practices>).
    ///   It is **not signed**; see "Unsigned headers" on [`Spec`].
    /// - **Type**: the body's `event` (`payment.captured`, ...), signed.
    /// - **Handshake**: none.
    ///
    /// Source: razorpay/razorpay-node@9737ef1 `lib/utils/razorpay-utils.js`
    /// `validateWebhookSignature`; razorpay/markdown-docs@ab3bda5, the source
    /// of Razorpay's webhook pages (`webhooks/validate-test.md`,
    /// `webhooks/best-practices.md`, `webhooks/faqs.md`). The example is
    /// razorpay-node's test vector.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{Razorpay, RequestParts, Scheme};
    /// use tower_webhook::Secret;
    ///
    /// let razorpay = Razorpay::new(Secret::new("123456")?);
    /// let mut headers = HeaderMap::new();
    /// headers.insert(
    ///     "x-razorpay-signature",
    ///     "2fe04e22977002e6c7cb553adab8b460cb9e2a4970d5953cb27a8472752e3bbc".parse()?,
    /// );
    /// headers.insert("x-razorpay-event-id", "Gb5kMCdcAZ8jJ8".parse()?);
    ///
    /// let body = br#"{"a":1,"b":2,"c":{"d":3}}"#;
    /// let verdict = razorpay.verify(RequestParts::post(&headers), body, SystemTime::now())?;
    /// assert_eq!(verdict.event().unwrap().id(), "Gb5kMCdcAZ8jJ8");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    Razorpay
}

impl Razorpay {
    /// Razorpay's scheme, accepting a signature by any of `secrets`.
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration().keys(secrets.into()).build().expect(PRESET);
        Self { spec }
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("Razorpay")
            .signature_header("x-razorpay-signature")
            .version("", Algorithm::HmacSha256, Encoding::Hex)
            .id(FieldSource::header("x-razorpay-event-id"))
            .event_type(FieldSource::body("event"))
    }
}
