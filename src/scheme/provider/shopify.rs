//! Shopify's webhook signatures.

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{FieldSource, Spec, SpecBuilder};

preset! {
    /// Shopify's scheme: `X-Shopify-Hmac-Sha256: <base64>`, the HMAC-SHA256 of
    /// the raw body keyed with the app's client secret as written (its UTF-8
    /// bytes, no decoding).
    ///
    /// - **Id, the replay key**: `X-Shopify-Webhook-Id` (absent: `400`), which
    ///   Shopify's current docs name as the key to "detect and skip duplicates":
    ///   "A unique composite key per delivery. Use to identify and deduplicate
    ///   individual deliveries"; a retry of a delivery keeps it
    ///   (<https://shopify.dev/docs/apps/build/webhooks/verify-deliveries>,
    ///   <https://shopify.dev/docs/apps/build/webhooks/delivery-structure#headers>).
    ///   The replay guard keys on it alone, so two distinct deliveries with
    ///   byte-identical bodies are both processed.
    /// - **One event, several subscriptions**: with more than one subscription
    ///   to a topic, Shopify sends one delivery per subscription, each with its
    ///   own `X-Shopify-Webhook-Id` and the same `X-Shopify-Event-Id` ("a
    ///   unique ID shared across all deliveries produced by the same merchant
    ///   action"). By default each delivery is processed;
    ///   [`Shopify::keyed_by_event_id`] keys on `X-Shopify-Event-Id` instead
    ///   (falling back to `X-Shopify-Webhook-Id` when a delivery has none), so
    ///   the event is processed once whichever subscription delivers it first.
    ///   Shopify's older "Ignore duplicates" page recommended
    ///   `X-Shopify-Event-Id`; its current pages recommend
    ///   `X-Shopify-Webhook-Id`, and this preset follows them.
    /// - **Type**: `X-Shopify-Topic` (`orders/create`, `app/uninstalled`, ...).
    /// - **No timestamp**: Shopify signs the body alone, so a captured delivery
    ///   stays valid forever; the replay guard is the only protection.
    /// - Header names are case-insensitive, as HTTP says: `X-Shopify-Hmac-SHA256`
    ///   and `x-shopify-hmac-sha256` are the same header.
    ///
    /// # Unsigned headers
    ///
    /// Neither the id headers nor the topic are covered by the signature.
    /// Whoever captured one delivery can resend it under a fresh
    /// `X-Shopify-Webhook-Id` (by default it is processed again, as a new
    /// delivery; `Shopify::builder().dedupe_on_signature(true)` drops it, at
    /// the price of also dropping distinct deliveries with identical bodies),
    /// resend it under the id of a pending delivery (which is then
    /// acknowledged as a duplicate when Shopify delivers it), or rewrite the
    /// topic: **the topic is unauthenticated**, so don't let it alone decide
    /// what a handler trusts. See "Unsigned ids and types" in the README's
    /// Security considerations.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{RequestParts, Scheme, Shopify};
    /// use tower_webhook::Secret;
    ///
    /// let shopify = Shopify::new(Secret::new("shpss_0123456789abcdef0123456789abcdef")?);
    /// let body = br#"{"id":820982911946154508,"email":"jon@example.com","total_price":"403.00","line_items":[{"title":"IPod Nano - 8gb","quantity":1}]}"#;
    /// let mut headers = HeaderMap::new();
    /// headers.insert("X-Shopify-Hmac-Sha256", "7KCmYJlcL7bcP7PV7B2UhK/cHREmAK5wuFU0AOCLRFQ=".parse()?);
    /// headers.insert("X-Shopify-Event-Id", "98880550-7158-44d4-b7cd-2c97c8a091b5".parse()?);
    /// headers.insert("X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043".parse()?);
    /// headers.insert("X-Shopify-Topic", "orders/create".parse()?);
    ///
    /// let verdict = shopify.verify(RequestParts::post(&headers), body, SystemTime::now())?;
    /// let delivery = verdict.event().unwrap();
    /// assert_eq!(delivery.id(), "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
    /// assert_eq!(delivery.event_type(), Some("orders/create"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    Shopify
}

impl Shopify {
    /// Shopify's scheme, accepting a signature by any of `secrets` (configure
    /// the old and the new client secret while rotating).
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration().keys(secrets.into()).build().expect(PRESET);
        Self { spec }
    }

    /// Shopify's scheme keyed on `X-Shopify-Event-Id`, falling back to
    /// `X-Shopify-Webhook-Id` when a delivery has none: with several
    /// subscriptions to one topic, the event is processed once and the other
    /// subscriptions' deliveries are acknowledged as duplicates. Keep
    /// [`Shopify::new`] when the subscriptions ask for different fields or
    /// feed different work.
    pub fn keyed_by_event_id(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration()
            .id(FieldSource::header("x-shopify-event-id").or_header("x-shopify-webhook-id"))
            .keys(secrets.into())
            .build()
            .expect(PRESET);
        Self { spec }
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("Shopify")
            .signature_header("x-shopify-hmac-sha256")
            .version("", Algorithm::HmacSha256, Encoding::Base64)
            .id(FieldSource::header("x-shopify-webhook-id"))
            .event_type(FieldSource::header("x-shopify-topic"))
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use http::HeaderMap;

    use super::*;
    use crate::key::secret::Secret;
    use crate::rejection::Rejection;
    use crate::scheme::request::RequestParts;
    use crate::scheme::verify::Scheme;

    const BODY: &[u8] = br#"{"id":820982911946154508,"email":"jon@example.com","total_price":"403.00","line_items":[{"title":"IPod Nano - 8gb","quantity":1}]}"#;
    const SIGNATURE: &str = "7KCmYJlcL7bcP7PV7B2UhK/cHREmAK5wuFU0AOCLRFQ=";

    fn shopify() -> Shopify {
        Shopify::new(Secret::new("shpss_0123456789abcdef0123456789abcdef").unwrap())
    }

    fn verify(headers: &HeaderMap) -> Result<crate::scheme::verdict::VerifiedEvent, Rejection> {
        let verdict = shopify().verify(RequestParts::post(headers), BODY, SystemTime::now())?;
        Ok(verdict.event().unwrap().clone())
    }

    #[test]
    fn keys_on_the_webhook_id_by_default() {
        let mut headers = HeaderMap::new();
        headers.insert("x-shopify-hmac-sha256", SIGNATURE.parse().unwrap());
        headers.insert("x-shopify-webhook-id", "w-1".parse().unwrap());
        headers.insert("x-shopify-event-id", "e-1".parse().unwrap());
        let delivery = verify(&headers).unwrap();
        assert_eq!(delivery.replay_keys().collect::<Vec<_>>(), ["w-1"]);
        assert_eq!(delivery.event_type(), None);

        headers.remove("x-shopify-webhook-id");
        assert!(matches!(verify(&headers), Err(Rejection::MissingHeader { .. })));
    }

    #[test]
    fn keyed_by_event_id_falls_back_to_the_webhook_id() {
        let shopify =
            Shopify::keyed_by_event_id(Secret::new("shpss_0123456789abcdef0123456789abcdef").unwrap());
        let verify = |headers: &HeaderMap| {
            shopify
                .verify(RequestParts::post(headers), BODY, SystemTime::now())
                .map(|verdict| verdict.event().unwrap().id().to_owned())
        };
        let mut headers = HeaderMap::new();
        headers.insert("x-shopify-hmac-sha256", SIGNATURE.parse().unwrap());
        headers.insert("x-shopify-webhook-id", "w-1".parse().unwrap());
        assert_eq!(verify(&headers).unwrap(), "w-1");
        headers.insert("x-shopify-event-id", "e-1".parse().unwrap());
        assert_eq!(verify(&headers).unwrap(), "e-1");
        headers.remove("x-shopify-event-id");
        headers.remove("x-shopify-webhook-id");
        assert!(matches!(verify(&headers), Err(Rejection::MissingHeader { .. })));
    }
}
