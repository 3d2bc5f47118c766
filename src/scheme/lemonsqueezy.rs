//! Lemon Squeezy's webhook signatures.

use super::{Algorithm, Encoding, Field, Spec, SpecBuilder, PRESET};
use crate::Secrets;

preset! {
    /// Lemon Squeezy: `X-Signature: <hex>` (no prefix), the HMAC-SHA256 of the
    /// raw body keyed with the signing secret you entered for the webhook (6
    /// to 40 characters) as written.
    ///
    /// - **Id, the replay key**: Lemon Squeezy documents **no** delivery or
    ///   event id (the body's `meta.webhook_id` names the webhook, not the
    ///   event, so keying on it would drop every event after the first). The
    ///   key is the verified signature itself (`sig:<hex>`): a retry resends
    ///   the same body, so it is a duplicate; two deliveries with
    ///   byte-identical bodies would count as one, which Lemon Squeezy's
    ///   payloads (an object with its own `updated_at`) make unlikely.
    /// - **Type**: `X-Event-Name` (not signed), falling back to the body's
    ///   `meta.event_name` (signed) when the header is absent.
    /// - **No timestamp**; the replay guard is the only protection against a
    ///   captured delivery.
    ///
    /// Source: docs.lemonsqueezy.com/help/webhooks/signing-requests ("HMAC hex
    /// digest" of the body under the signing secret), lemonsqueezy.com/docs/api/webhooks
    /// (`X-Event-Name`, `meta.event_name`). **Unconfirmed**: SHA-256, which
    /// the docs' code samples use (not read here; every second-hand
    /// implementation agrees). No official vector: the tests' vectors are computed.
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
        Spec::builder()
            .signature_header("x-signature")
            .version("", Algorithm::HmacSha256, Encoding::Hex)
            .id(Field::signature())
            .event_type(Field::header("x-event-name").or_body("meta.event_name"))
    }
}
