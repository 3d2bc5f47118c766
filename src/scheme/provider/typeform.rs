//! Typeform's webhook signatures.

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{FieldSource, Spec, SpecBuilder};

preset! {
    /// Typeform: `Typeform-Signature: sha256=<base64>`, the HMAC-SHA256 of the
    /// raw body keyed with the webhook's `secret` (set through the Webhooks
    /// API or the admin panel) as written. The digest is **base64**, not hex.
    ///
    /// - **Id, the replay key**: the body's `event_id`, signed with the body;
    ///   Typeform documents it as the "unique ID for the webhook", assigned by
    ///   Typeform. **Unconfirmed**: that a retry keeps it (Typeform's pages
    ///   do not say; it is the only per-delivery id the payload has).
    /// - **Retries**: a `410` or `404` answer disables the webhook; a `429`,
    ///   `408`, `503` or `423` is retried "every 2-3 minutes for 10 hours",
    ///   other failures with a backoff.
    /// - **Type**: the body's `event_type` (`form_response`, ...).
    /// - **No timestamp**; the replay guard is the only protection against a
    ///   captured delivery.
    ///
    /// Source: <https://www.typeform.com/developers/webhooks/secure-your-webhooks/>
    /// ("Using the HMAC SHA-256 algorithm, create a hash (using secret as a
    /// key) of the entire received payload as binary. Encode the binary hash
    /// in base64 format. Add prefix sha256="); <https://typeform.com/developers/webhooks>
    /// (the retries); the `event_id`/`event_type` envelope from
    /// typeform.com/developers/webhooks/example-payload. Typeform publishes no
    /// vector with its secret, and `@typeform/api-client` 2.10.4 only sets
    /// the secret (no verifier): the tests' vectors are computed.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{RequestParts, Scheme, Typeform};
    /// use tower_webhook::Secret;
    ///
    /// // Computed with Python's hmac over this exact body.
    /// let typeform = Typeform::new(Secret::new("typeform webhook secret")?);
    /// let body = br#"{"event_id":"01GN6DMQ5N8QK7SZ6ZBJW6X5P6","event_type":"form_response","form_response":{"form_id":"lT4Z3j","token":"a3a12ec67a1365927098a606107fac15"}}"#;
    /// let mut headers = HeaderMap::new();
    /// headers.insert("typeform-signature", "sha256=YaFNe/bszGFCn+5d6sWHvxlHH87DO6lQC7IikMyBMWc=".parse()?);
    ///
    /// let verdict = typeform.verify(RequestParts::post(&headers), body, SystemTime::now())?;
    /// let delivery = verdict.event().unwrap();
    /// assert_eq!(delivery.id(), "01GN6DMQ5N8QK7SZ6ZBJW6X5P6");
    /// assert_eq!(delivery.event_type(), Some("form_response"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    Typeform
}

impl Typeform {
    /// Typeform's scheme, accepting a signature by any of `secrets`.
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration().keys(secrets.into()).build().expect(PRESET);
        Self { spec }
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("Typeform")
            .signature_header("typeform-signature")
            .version("sha256=", Algorithm::HmacSha256, Encoding::Base64)
            .id(FieldSource::body("event_id"))
            .event_type(FieldSource::body("event_type"))
    }
}
