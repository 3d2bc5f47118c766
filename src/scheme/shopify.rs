//! Shopify's webhook signatures.

use super::{Algorithm, Encoding, Field, Spec, SpecBuilder, PRESET};
use crate::Secrets;

preset! {
    /// Shopify's scheme: `X-Shopify-Hmac-Sha256: <base64>`, the HMAC-SHA256 of
    /// the raw body keyed with the app's client secret as written (its UTF-8
    /// bytes, no decoding).
    ///
    /// - **Id**: `X-Shopify-Event-Id`, which Shopify documents as the key to
    ///   detect duplicate events by; when absent, `X-Shopify-Webhook-Id`
    ///   (neither: `400`).
    /// - **Type**: `X-Shopify-Topic` (`orders/create`, `app/uninstalled`, ...).
    /// - **No timestamp**: Shopify signs the body alone, so a captured delivery
    ///   stays valid forever; the replay guard is the only protection.
    /// - Header names are case-insensitive, as HTTP says: `X-Shopify-Hmac-SHA256`
    ///   and `x-shopify-hmac-sha256` are the same header.
    ///
    /// # Unsigned headers
    ///
    /// Neither the id nor the topic header is covered by the signature. The
    /// replay guard keys on the id only, since keying on the signature too
    /// would drop distinct events with byte-identical bodies; opt in with
    /// `Shopify::builder().dedupe_on_signature(true)`. **The topic is
    /// unauthenticated**, so don't let it alone decide what a handler trusts.
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
    /// assert_eq!(delivery.id(), "98880550-7158-44d4-b7cd-2c97c8a091b5");
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

    fn declaration() -> SpecBuilder {
        Spec::builder()
            .signature_header("x-shopify-hmac-sha256")
            .version("", Algorithm::HmacSha256, Encoding::Base64)
            .id(Field::header("x-shopify-event-id").or_header("x-shopify-webhook-id"))
            .event_type(Field::header("x-shopify-topic"))
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use http::HeaderMap;

    use super::*;
    use crate::scheme::{RequestParts, Scheme};
    use crate::{Rejection, Secret};

    const BODY: &[u8] = br#"{"id":820982911946154508,"email":"jon@example.com","total_price":"403.00","line_items":[{"title":"IPod Nano - 8gb","quantity":1}]}"#;
    const SIGNATURE: &str = "7KCmYJlcL7bcP7PV7B2UhK/cHREmAK5wuFU0AOCLRFQ=";

    fn shopify() -> Shopify {
        Shopify::new(Secret::new("shpss_0123456789abcdef0123456789abcdef").unwrap())
    }

    fn verify(headers: &HeaderMap) -> Result<crate::Delivery, Rejection> {
        let verdict = shopify().verify(RequestParts::post(headers), BODY, SystemTime::now())?;
        Ok(verdict.event().unwrap().clone())
    }

    #[test]
    fn prefers_the_event_id_and_falls_back_to_the_webhook_id() {
        let mut headers = HeaderMap::new();
        headers.insert("x-shopify-hmac-sha256", SIGNATURE.parse().unwrap());
        headers.insert("x-shopify-webhook-id", "w-1".parse().unwrap());
        let delivery = verify(&headers).unwrap();
        assert_eq!(delivery.id(), "w-1");
        assert_eq!(delivery.replay_keys().count(), 1);
        assert_eq!(delivery.event_type(), None);

        headers.insert("x-shopify-event-id", "e-1".parse().unwrap());
        assert_eq!(verify(&headers).unwrap().id(), "e-1");

        headers.remove("x-shopify-event-id");
        headers.remove("x-shopify-webhook-id");
        assert!(matches!(verify(&headers), Err(Rejection::MissingHeader { .. })));
    }
}
