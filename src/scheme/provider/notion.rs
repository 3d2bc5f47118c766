//! Notion's webhook signatures.

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{FieldSource, Spec, SpecBuilder};

preset! {
    /// Notion: `X-Notion-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw
    /// body keyed with the subscription's `verification_token` as written.
    ///
    /// - **Id, the replay key**: the body's `id`, the event's id, signed; a
    ///   retry carries the same event with a higher `attempt_number`.
    /// - **Type**: the body's `type` (`page.created`, `comment.created`, ...), signed.
    /// - **No timestamp check**: the body's `timestamp` is when the event
    ///   happened, and Notion sends aggregated events late by design; the
    ///   replay guard is the only protection against a captured delivery.
    ///
    /// # The verification request
    ///
    /// When a subscription is created, Notion posts one **unsigned** body,
    /// `{"verification_token": "secret_…"}`, and waits for you to paste the
    /// token into the integration's settings. That token is this preset's
    /// key, so no request can be verified before it: this preset refuses it
    /// (`401`, missing signature). Capture it before the layer (a route
    /// outside it, or the receiver's log while you set the subscription up),
    /// then configure the preset with it.
    ///
    /// Source: <https://developers.notion.com/reference/webhooks> ("Step 3:
    /// Validating event payloads": `sha256=` + the hex HMAC-SHA256 of the body
    /// keyed with the verification token; the event's fields). No Notion SDK
    /// verifies; the tests' vector is computed as that page's snippet does.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{Notion, RequestParts, Scheme};
    /// use tower_webhook::Secret;
    ///
    /// // Computed with Python's hmac over this exact body.
    /// let notion = Notion::new(Secret::new("secret_notion_token")?);
    /// let body = br#"{"id":"367cba44-b6f3-4c92-81e7-6a2e9659efd4","type":"page.created","timestamp":"2024-12-05T23:55:34.285Z"}"#;
    /// let mut headers = HeaderMap::new();
    /// headers.insert(
    ///     "x-notion-signature",
    ///     "sha256=b508197643a67d5d5b45d76f776b5acca46b2b76350cad48ce7ade223243ea4b".parse()?,
    /// );
    ///
    /// let verdict = notion.verify(RequestParts::post(&headers), body, SystemTime::now())?;
    /// let delivery = verdict.event().unwrap();
    /// assert_eq!(delivery.id(), "367cba44-b6f3-4c92-81e7-6a2e9659efd4");
    /// assert_eq!(delivery.event_type(), Some("page.created"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    Notion
}

impl Notion {
    /// Notion's scheme, accepting a signature by any of `secrets` (the
    /// verification tokens).
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration().keys(secrets.into()).build().expect(PRESET);
        Self { spec }
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("Notion")
            .signature_header("x-notion-signature")
            .version("sha256=", Algorithm::HmacSha256, Encoding::Hex)
            .id(FieldSource::body("id"))
            .event_type(FieldSource::body("type"))
    }
}
