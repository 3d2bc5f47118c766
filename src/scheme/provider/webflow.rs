//! Webflow's webhook signatures.

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{FieldSource, Spec, SpecBuilder};
use crate::scheme::timestamp::TimestampFormat;

preset! {
    /// Webflow: `x-webflow-signature: <hex>`, the HMAC-SHA256 of
    /// `{x-webflow-timestamp}:{body}`, keyed as written with the OAuth app's
    /// client secret (webhooks an app creates) or the webhook's own secret
    /// (webhooks created in the dashboard or, since April 2025, by the API).
    ///
    /// - **Timestamp**: `x-webflow-timestamp`, unix milliseconds, signed;
    ///   refused further than the [tolerance](Webflow::tolerance) from now,
    ///   default 5 minutes (Webflow's docs tell receivers to refuse older
    ///   requests); a future one too.
    /// - **Id, the replay key**: Webflow documents **no** event or delivery id
    ///   (the body is `{"triggerType", "payload"}`, and a payload's `id`
    ///   names the item, not the event): the key is the verified signature
    ///   (`sig:<hex>`). Whether a retry is signed anew (a new timestamp, so a
    ///   new key) is not documented: keep handlers idempotent.
    /// - **Type**: the body's `triggerType` (`form_submission`,
    ///   `collection_item_created`, ...), signed.
    /// - **Handshake**: none.
    ///
    /// Sources:
    /// <https://developers.webflow.com/data/docs/working-with-webhooks#validating-request-signatures>
    /// and `webflow-api` 3.3.4 (npm) `wrapper/WebhooksClient.js`
    /// `verifySignature` (``${timestamp}:${body}``, HMAC-SHA256, hex). The
    /// tests' vector is signed with Node's crypto and accepted by that
    /// `verifySignature`.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{RequestParts, Scheme, Webflow};
    /// use tower_webhook::Secret;
    ///
    /// // Computed with Python's hmac over this exact body.
    /// let webflow = Webflow::new(Secret::new("webflow secret")?);
    /// let body = br#"{"triggerType":"form_submission","payload":{"id":"6321ca84df3949bfc6752327"}}"#;
    /// let mut headers = HeaderMap::new();
    /// headers.insert("x-webflow-timestamp", "1700000000456".parse()?);
    /// headers.insert(
    ///     "x-webflow-signature",
    ///     "5c6f3e2deeb6a6bab4c3f6fbbe507f524c406b5c51a0f1e63ed47fa5e982c956".parse()?,
    /// );
    /// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_030);
    ///
    /// let verdict = webflow.verify(RequestParts::post(&headers), body, now)?;
    /// let delivery = verdict.event().unwrap();
    /// assert!(delivery.id().starts_with("sig:"));
    /// assert_eq!(delivery.event_type(), Some("form_submission"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    Webflow, timestamp
}

impl Webflow {
    /// Webflow's scheme, accepting a signature by any of `secrets`.
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration().keys(secrets.into()).build().expect(PRESET);
        Self { spec }
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("Webflow")
            .signature_header("x-webflow-signature")
            .version("", Algorithm::HmacSha256, Encoding::Hex)
            .timestamp_header("x-webflow-timestamp", TimestampFormat::UnixMillis)
            .signed_content("{timestamp}:{body}")
            .id(FieldSource::signature())
            .event_type(FieldSource::body("triggerType"))
    }
}
