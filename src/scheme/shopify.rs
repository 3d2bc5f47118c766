//! Shopify's webhook signatures.

use std::time::SystemTime;

use http::HeaderMap;

use super::{Delivery, Encoding, Hmac, Scheme};
use crate::{Rejection, Secrets};

/// Shopify's scheme: `X-Shopify-Hmac-Sha256: <base64>`, the HMAC-SHA256 of
/// the raw body keyed with the app's client secret as written (its UTF-8
/// bytes, no decoding).
///
/// - **Id**: `X-Shopify-Webhook-Id`, which Shopify keeps on a retry of the
///   same delivery and names as the key to drop duplicates by (absent: `400`).
/// - **Type**: `X-Shopify-Topic` (`orders/create`, `app/uninstalled`, ...).
/// - **No timestamp**: Shopify signs the body alone, so a captured delivery
///   stays valid forever; the replay guard is the only protection.
/// - Header names are case-insensitive, as HTTP says: `X-Shopify-Hmac-SHA256`
///   and `x-shopify-hmac-sha256` are the same header.
///
/// # Unsigned headers
///
/// Neither the id nor the topic header is covered by the signature. The preset
/// also dedupes on the signature itself, so a captured delivery resent under a
/// fresh `X-Shopify-Webhook-Id` is still dropped; **the topic is
/// unauthenticated**, so don't let it alone decide what a handler trusts.
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
                .event_type_from_header("x-shopify-topic")
                .dedupe_on_signature(true),
        }
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

    #[test]
    fn dedupes_on_the_signature_too() {
        let mut headers = HeaderMap::new();
        headers.insert("x-shopify-hmac-sha256", shopify().sign(BODY).parse().unwrap());
        headers.insert("x-shopify-webhook-id", "w-1".parse().unwrap());
        let delivery = shopify().verify(&headers, BODY, SystemTime::now()).unwrap();
        assert_eq!(delivery.replay_keys().count(), 2);
        assert_eq!(delivery.id(), "w-1");
        assert_eq!(delivery.event_type(), None);
    }
}
