//! Lemon Squeezy's webhook signatures.

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{FieldSource, Spec, SpecBuilder};

preset! {
    /// Lemon Squeezy: `X-Signature: <hex>` (no prefix), the HMAC-SHA256 of the
    /// raw body keyed with the signing secret you entered for the webhook (6
    /// to 40 characters) as written.
    ///
    /// - **Id, the replay key**: Lemon Squeezy documents **no** delivery or
    ///   event id (the body's `meta` holds `event_name` and `custom_data`;
    ///   `meta.webhook_id` names the webhook, not the event, so keying on it
    ///   would drop every event after the first). Lemon Squeezy's own
    ///   Laravel and Next.js code reads only `meta.event_name`. The key is
    ///   the verified signature itself (`sig:<hex>`): a retry resends the
    ///   same body, so it is a duplicate; two deliveries with byte-identical
    ///   bodies would count as one, which Lemon Squeezy's payloads (an object
    ///   with its own `updated_at`) make unlikely.
    /// - **Retries**: a failed delivery is "retried up to three more times
    ///   using an exponential backoff strategy (e.g. 5 secs, 25 secs, 125
    ///   secs)".
    /// - **Type**: the body's `meta.event_name` (signed), falling back to
    ///   `X-Event-Name` (not signed) only when the body has none, so a
    ///   resent capture cannot be relabelled.
    /// - **No timestamp**; the replay guard is the only protection against a
    ///   captured delivery.
    ///
    /// Sources: <https://docs.lemonsqueezy.com/help/webhooks/webhook-requests>
    /// (`X-Event-Name`, `X-Signature`, the retries); SHA-256 from Lemon
    /// Squeezy's own code: lmsqueezy/laravel@50fcb3f
    /// `src/Http/Middleware/VerifyWebhookSignature.php`
    /// (`hash_hmac('sha256', $payload, ...)` against the `x-signature`
    /// header, with `hash_equals`) and lmsqueezy/nextjs-billing@bc3bd11
    /// `src/app/api/webhook/route.ts` (`createHmac("sha256",
    /// secret).update(rawBody).digest("hex")`). No official vector, and
    /// `@lemonsqueezy/lemonsqueezy.js` 4.0.0 has no verifier: the tests'
    /// vectors are computed.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{LemonSqueezy, RequestParts, Scheme};
    /// use tower_webhook::Secret;
    ///
    /// // Computed with Python's hmac over this exact body.
    /// let lemon = LemonSqueezy::new(Secret::new("lemon squeezy secret")?);
    /// let body = br#"{"meta":{"event_name":"order_created","webhook_id":"9f1c2a"},"data":{"type":"orders","id":"1","attributes":{"status":"paid"}}}"#;
    /// let mut headers = HeaderMap::new();
    /// headers.insert(
    ///     "x-signature",
    ///     "3a046ef66e7564d0100356a7a90af65fb5ae0e60481a68a5bf12d9b58fe85d66".parse()?,
    /// );
    ///
    /// let verdict = lemon.verify(RequestParts::post(&headers), body, SystemTime::now())?;
    /// let delivery = verdict.event().unwrap();
    /// assert!(delivery.id().starts_with("sig:"));
    /// assert_eq!(delivery.event_type(), Some("order_created"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    LemonSqueezy
}

impl LemonSqueezy {
    /// Lemon Squeezy's scheme, accepting a signature by any of `secrets`.
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration().keys(secrets.into()).build().expect(PRESET);
        Self { spec }
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("LemonSqueezy")
            .signature_header("x-signature")
            .version("", Algorithm::HmacSha256, Encoding::Hex)
            .id(FieldSource::signature())
            .event_type(FieldSource::body("meta.event_name").or_header("x-event-name"))
    }
}
