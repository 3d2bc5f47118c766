//! Vercel's webhook signatures.

use super::{Algorithm, Encoding, Field, Spec, SpecBuilder, PRESET};
use crate::Secrets;

preset! {
    /// Vercel: `x-vercel-signature: <hex>` (no prefix), the HMAC-SHA1 of the
    /// raw body. The key is the integration's **Client Secret** for
    /// integration webhooks, or the secret shown once when an account
    /// webhook is created, as written.
    ///
    /// - **Id, the replay key**: the body's `id`, signed with the body.
    /// - **Type**: the body's `type` (`deployment.created`, ...).
    /// - **No timestamp**; the replay guard is the only protection against a
    ///   captured delivery.
    ///
    /// **Unconfirmed**: vercel.com/docs (the "Securing webhooks" page) was
    /// not readable here; the rule agrees across trigger.dev's docs and
    /// several independent implementations, and so do the `id`/`type` fields.
    /// Vercel publishes no vector: the tests' vectors are computed.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{RequestParts, Scheme, Vercel};
    /// use tower_webhook::Secret;
    ///
    /// // Computed with Python's hmac over this exact body.
    /// let vercel = Vercel::new(Secret::new("vercel client secret")?);
    /// let body = br#"{"id":"evt_Xy2RtB3Kp9","type":"deployment.created","createdAt":1700000000000,"payload":{"deployment":{"id":"dpl_1"}}}"#;
    /// let mut headers = HeaderMap::new();
    /// headers.insert("x-vercel-signature", "3c12c0d7eaa8b51265c980ab8a041f133db65918".parse()?);
    ///
    /// let verdict = vercel.verify(RequestParts::post(&headers), body, SystemTime::now())?;
    /// let delivery = verdict.event().unwrap();
    /// assert_eq!(delivery.id(), "evt_Xy2RtB3Kp9");
    /// assert_eq!(delivery.event_type(), Some("deployment.created"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    Vercel
}

impl Vercel {
    /// Vercel's scheme, accepting a signature by any of `secrets`.
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration().keys(secrets.into()).build().expect(PRESET);
        Self { spec }
    }

    fn declaration() -> SpecBuilder {
        Spec::builder()
            .signature_header("x-vercel-signature")
            .version("", Algorithm::HmacSha1, Encoding::Hex)
            .id(Field::body("id"))
            .event_type(Field::body("type"))
    }
}
