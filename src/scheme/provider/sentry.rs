//! Sentry's integration-platform webhook signatures.

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{FieldSource, Spec, SpecBuilder};

preset! {
    /// Sentry (integration platform): `Sentry-Hook-Signature: <hex>`, the
    /// HMAC-SHA256 of the raw body keyed with the integration's client
    /// secret as written.
    ///
    /// - **Id, the replay key**: the `Request-ID` header (absent: `400`),
    ///   **not signed**. Whether a retry keeps it is not documented.
    /// - **Type**: `Sentry-Hook-Resource` (`installation`, `issue`,
    ///   `event_alert`, `metric_alert`, ...), **not signed**; the body's
    ///   `action` (signed) says what happened to it.
    /// - **No timestamp check**: `Sentry-Hook-Timestamp` is not signed, so
    ///   checking it would protect nothing; the replay guard is the only
    ///   protection against a captured delivery.
    ///
    /// # Unsigned headers
    ///
    /// Whoever captured one delivery can resend it under a fresh
    /// `Request-ID` and have it processed again;
    /// `Sentry::builder().dedupe_on_signature(true)` also keys on the
    /// signature, at the price of dropping distinct deliveries with identical
    /// bodies. Don't let the unsigned resource alone decide what a handler
    /// trusts.
    ///
    /// Source:
    /// <https://docs.sentry.io/organization/integrations/integration-platform/webhooks/>
    /// (the headers; "Verifying the Signature": `hmac.new(client_secret,
    /// body, sha256).hexdigest()`). No Sentry SDK verifies; the tests' vector
    /// is computed as that page's snippet does.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{RequestParts, Scheme, Sentry};
    /// use tower_webhook::Secret;
    ///
    /// // Computed with Python's hmac over this exact body.
    /// let sentry = Sentry::new(Secret::new("sentry client secret")?);
    /// let body = br#"{"action":"created","data":{"issue":{"id":"1170820242"}}}"#;
    /// let mut headers = HeaderMap::new();
    /// headers.insert(
    ///     "sentry-hook-signature",
    ///     "1d5fb1b19a2ef6755031141fe66e1639b76ab0049c03d9e21a853a8f92cfe874".parse()?,
    /// );
    /// headers.insert("sentry-hook-resource", "issue".parse()?);
    /// headers.insert("request-id", "5f3c8ba1-5b6b-4a3a-a5f0-1b2c3d4e5f60".parse()?);
    ///
    /// let verdict = sentry.verify(RequestParts::post(&headers), body, SystemTime::now())?;
    /// let delivery = verdict.event().unwrap();
    /// assert_eq!(delivery.id(), "5f3c8ba1-5b6b-4a3a-a5f0-1b2c3d4e5f60");
    /// assert_eq!(delivery.event_type(), Some("issue"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    Sentry
}

impl Sentry {
    /// Sentry's scheme, accepting a signature by any of `secrets`.
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration().keys(secrets.into()).build().expect(PRESET);
        Self { spec }
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("Sentry")
            .signature_header("sentry-hook-signature")
            .version("", Algorithm::HmacSha256, Encoding::Hex)
            .id(FieldSource::header("request-id"))
            .event_type(FieldSource::header("sentry-hook-resource"))
    }
}
