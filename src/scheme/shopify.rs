//! Shopify's webhook signatures.

use std::time::SystemTime;

use http::HeaderMap;

use super::{Delivery, Encoding, Hmac, Scheme};
use crate::{Rejection, Secrets};

/// Shopify's scheme: `X-Shopify-Hmac-Sha256: <base64>`, the HMAC-SHA256 of
/// the raw body keyed with the app's client secret as written (its UTF-8
/// bytes, no decoding).
///
/// - **Id, the replay key**: `X-Shopify-Event-Id`, which Shopify documents
///   as the key for duplicate detection: the same event delivered more than
///   once (a retry, or the same event reaching the endpoint through two
///   subscriptions) carries the same value
///   (<https://shopify.dev/docs/apps/build/webhooks/ignore-duplicates>).
///   When it is absent (older API versions), `X-Shopify-Webhook-Id` is used;
///   without either, `400`. The replay guard keys on the id alone, so two
///   distinct events with byte-identical bodies are both processed.
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
/// `X-Shopify-Event-Id` (by default it is processed again, as a new event;
/// [`Shopify::dedupe_on_signature`] drops it, at the price described at
/// [`Hmac::dedupe_on_signature`]), resend it under the id of a pending event
/// (which is then acknowledged as a duplicate when Shopify delivers it), or
/// rewrite the topic: **the topic is unauthenticated**, so don't let it alone
/// decide what a handler trusts.
///
/// ```
/// use std::time::SystemTime;
/// use http::HeaderMap;
/// use tower_webhook::scheme::{Scheme, Shopify};
/// use tower_webhook::Secret;
///
/// let shopify = Shopify::new(Secret::new("shpss_0123456789abcdef0123456789abcdef")?);
/// let body = br#"{"id":820982911946154508,"email":"jon@example.com","total_price":"403.00","line_items":[{"title":"IPod Nano - 8gb","quantity":1}]}"#;
/// let mut headers = HeaderMap::new();
/// headers.insert("X-Shopify-Hmac-Sha256", "7KCmYJlcL7bcP7PV7B2UhK/cHREmAK5wuFU0AOCLRFQ=".parse()?);
/// headers.insert("X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043".parse()?);
/// headers.insert("X-Shopify-Event-Id", "98880550-7158-44d4-b7cd-2c97c8a091b5".parse()?);
/// headers.insert("X-Shopify-Topic", "orders/create".parse()?);
///
/// let delivery = shopify.verify(&headers, body, SystemTime::now())?;
/// assert_eq!(delivery.id(), "98880550-7158-44d4-b7cd-2c97c8a091b5");
/// assert_eq!(delivery.event_type(), Some("orders/create"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Shopify {
    hmac: Hmac,
}

impl Shopify {
    /// Shopify's scheme, accepting a signature by any of `secrets` (configure
    /// the old and the new client secret while rotating).
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        Self {
            hmac: Hmac::new("x-shopify-hmac-sha256", secrets)
                .encoding(Encoding::Base64)
                .id_from_header("x-shopify-event-id")
                .id_fallback_header("x-shopify-webhook-id")
                .event_type_from_header("x-shopify-topic"),
        }
    }

    /// Also drops a delivery whose signature was already processed, under
    /// whatever id (off by default). This stops a captured delivery resent
    /// under a fresh id, but drops distinct events with identical bodies
    /// too: read [`Hmac::dedupe_on_signature`] before turning it on.
    #[must_use]
    pub fn dedupe_on_signature(mut self, on: bool) -> Self {
        self.hmac = self.hmac.dedupe_on_signature(on);
        self
    }

    /// The `X-Shopify-Hmac-Sha256` value Shopify would send with `body`,
    /// signed with the first secret.
    pub fn sign(&self, body: &[u8]) -> String {
        self.hmac.sign(body, "", "")
    }

    #[cfg(feature = "test-util")]
    pub(crate) fn hmac(&self) -> &Hmac {
        &self.hmac
    }
}

impl Scheme for Shopify {
    fn verify(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Result<Delivery, Rejection> {
        self.hmac.verify(headers, body, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;

    const BODY: &[u8] = br#"{"id":820982911946154508,"email":"jon@example.com","total_price":"403.00","line_items":[{"title":"IPod Nano - 8gb","quantity":1}]}"#;

    fn shopify() -> Shopify {
        Shopify::new(Secret::new("shpss_0123456789abcdef0123456789abcdef").unwrap())
    }

    #[test]
    fn signs_in_standard_base64() {
        assert_eq!(
            shopify().sign(BODY),
            "7KCmYJlcL7bcP7PV7B2UhK/cHREmAK5wuFU0AOCLRFQ="
        );
    }

    fn headers(ids: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-shopify-hmac-sha256", shopify().sign(BODY).parse().unwrap());
        for (name, value) in ids {
            headers.insert(*name, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn keys_on_the_event_id_before_the_webhook_id() {
        let both = headers(&[("x-shopify-webhook-id", "w-1"), ("x-shopify-event-id", "e-1")]);
        let delivery = shopify().verify(&both, BODY, SystemTime::now()).unwrap();
        assert_eq!(delivery.replay_keys().collect::<Vec<_>>(), ["e-1"]);
        assert_eq!(delivery.event_type(), None);

        let webhook_only = headers(&[("x-shopify-webhook-id", "w-1")]);
        let delivery = shopify().verify(&webhook_only, BODY, SystemTime::now()).unwrap();
        assert_eq!(delivery.replay_keys().collect::<Vec<_>>(), ["w-1"]);

        assert_eq!(
            shopify().verify(&headers(&[]), BODY, SystemTime::now()),
            Err(Rejection::MissingHeader {
                name: http::HeaderName::from_static("x-shopify-event-id")
            })
        );
    }

    #[test]
    fn dedupes_on_the_signature_only_when_asked() {
        let delivery = shopify()
            .dedupe_on_signature(true)
            .verify(
                &headers(&[("x-shopify-event-id", "e-1")]),
                BODY,
                SystemTime::now(),
            )
            .unwrap();
        assert_eq!(delivery.replay_keys().count(), 2);
        assert_eq!(delivery.id(), "e-1");
    }
}
