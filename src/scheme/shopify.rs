//! Shopify's webhook signatures.

use std::time::SystemTime;

use http::HeaderMap;

use super::{Delivery, Encoding, Hmac, Scheme};
use crate::{Rejection, Secrets};

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
/// - **One event, several subscriptions**: with more than one subscription to
///   a topic, Shopify sends one delivery per subscription, each with its own
///   `X-Shopify-Webhook-Id` and the same `X-Shopify-Event-Id` ("a unique ID
///   shared across all deliveries produced by the same merchant action").
///   By default each delivery is processed; [`Shopify::dedupe_on_event_id`]
///   keys on `X-Shopify-Event-Id` instead (falling back to
///   `X-Shopify-Webhook-Id` when a delivery has none), so the event is
///   processed once whichever subscription delivers it first. Shopify's
///   older "Ignore duplicates" page recommended `X-Shopify-Event-Id`; its
///   current pages recommend `X-Shopify-Webhook-Id`, and this preset follows
///   them.
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
/// `X-Shopify-Webhook-Id` (by default it is processed again, as a new event;
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
/// assert_eq!(delivery.id(), "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
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
                .id_from_header("x-shopify-webhook-id")
                .event_type_from_header("x-shopify-topic"),
        }
    }

    /// Keys the replay guard on `X-Shopify-Event-Id`, falling back to
    /// `X-Shopify-Webhook-Id` when it is absent (off by default): with
    /// several subscriptions to one topic, the event is then processed once,
    /// and the other subscriptions' deliveries are acknowledged as duplicates.
    /// Leave it off when the subscriptions ask for different fields or feed
    /// different work.
    #[must_use]
    pub fn dedupe_on_event_id(mut self, on: bool) -> Self {
        self.hmac = if on {
            self.hmac
                .id_from_header("x-shopify-event-id")
                .id_fallback_header("x-shopify-webhook-id")
        } else {
            self.hmac.id_from_header("x-shopify-webhook-id")
        };
        self
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

    fn precheck(&self, headers: &HeaderMap) -> Result<(), Rejection> {
        self.hmac.precheck(headers)
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
    fn keys_on_the_webhook_id_by_default() {
        let both = headers(&[("x-shopify-webhook-id", "w-1"), ("x-shopify-event-id", "e-1")]);
        let delivery = shopify().verify(&both, BODY, SystemTime::now()).unwrap();
        assert_eq!(delivery.replay_keys().collect::<Vec<_>>(), ["w-1"]);
        assert_eq!(delivery.event_type(), None);
        assert_eq!(
            shopify().verify(
                &headers(&[("x-shopify-event-id", "e-1")]),
                BODY,
                SystemTime::now()
            ),
            Err(Rejection::MissingHeader {
                name: http::HeaderName::from_static("x-shopify-webhook-id")
            })
        );
    }

    #[test]
    fn keys_on_the_event_id_when_asked_falling_back_to_the_webhook_id() {
        let shopify = shopify().dedupe_on_event_id(true);
        let both = headers(&[("x-shopify-webhook-id", "w-1"), ("x-shopify-event-id", "e-1")]);
        let delivery = shopify.verify(&both, BODY, SystemTime::now()).unwrap();
        assert_eq!(delivery.replay_keys().collect::<Vec<_>>(), ["e-1"]);

        let webhook_only = headers(&[("x-shopify-webhook-id", "w-1")]);
        let delivery = shopify.verify(&webhook_only, BODY, SystemTime::now()).unwrap();
        assert_eq!(delivery.replay_keys().collect::<Vec<_>>(), ["w-1"]);

        assert_eq!(
            shopify.verify(&headers(&[]), BODY, SystemTime::now()),
            Err(Rejection::MissingHeader {
                name: http::HeaderName::from_static("x-shopify-event-id")
            })
        );
        // And back.
        let delivery = shopify
            .dedupe_on_event_id(false)
            .verify(&both, BODY, SystemTime::now())
            .unwrap();
        assert_eq!(delivery.id(), "w-1");
    }

    #[test]
    fn dedupes_on_the_signature_only_when_asked() {
        let delivery = shopify()
            .dedupe_on_signature(true)
            .verify(
                &headers(&[("x-shopify-webhook-id", "w-1")]),
                BODY,
                SystemTime::now(),
            )
            .unwrap();
        assert_eq!(delivery.replay_keys().count(), 2);
        assert_eq!(delivery.id(), "w-1");
    }
}
