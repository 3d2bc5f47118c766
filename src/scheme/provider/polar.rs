//! Polar's webhooks: Standard Webhooks, keyed with the secret's own bytes.

use crate::key::encoding::decode_base64;
use crate::key::error::SecretError;
use crate::key::secret::{Secret, Secrets};
use crate::scheme::macros::PRESET;
use crate::scheme::spec::SpecBuilder;

use super::shared::{standard_webhooks, SVIX_NAMES};

preset! {
    /// Polar: Standard Webhooks (`webhook-id`, `webhook-timestamp`,
    /// `webhook-signature: v1,<base64>`, the HMAC-SHA256 of `{id}.{timestamp}.{body}`),
    /// except for the key. Polar's SDKs key the HMAC with the **UTF-8 bytes of
    /// the whole secret** as Polar shows it (`polar_whs_...`), not with a base64
    /// decoding; polar-sdk 1.0.2 (PyPI, `polar/webhooks.py` `_signing_keys`)
    /// also tries the base64 after `whsec_` when the secret decodes as base64.
    /// [`Polar::new`] accepts exactly those keys; any of them may match.
    ///
    /// The timestamp is checked within 5 minutes either way, as in Polar's SDK
    /// ([`tolerance`](Polar::tolerance) changes it). The replay key is
    /// `webhook-id`, signed (Standard Webhooks' idempotency key). Polar puts the
    /// event type in the body's `type` (`order.paid`, ...), which the layer does
    /// not read (`Verified::event_type` is `None`: read it in the handler); no
    /// handshake.
    ///
    /// Source: polar-sdk 1.0.2 on PyPI, `polar/webhooks.py` (`_verify_signature`,
    /// `_signing_keys`); polarsource/polar-js `src/webhooks.ts` (which does
    /// `new Webhook(Buffer.from(secret, "utf-8").toString("base64"))`, stored
    /// version 088b6d6).
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{Polar, RequestParts, Scheme};
    ///
    /// // Accepted by polar-sdk 1.0.2 (tests/fixtures/providers/polar.json, `polar-sdk-raw`).
    /// let polar = Polar::new(Polar::secret("polar_whs_pC5x7lUyL3kjGOWGRMS4XwFQa07ZFSPDiJ3yv9PhM4e")?);
    /// let mut headers = HeaderMap::new();
    /// headers.insert("webhook-id", "msg_polar_1".parse()?);
    /// headers.insert("webhook-timestamp", "1764576000".parse()?);
    /// headers.insert("webhook-signature", "v1,JVLDsz/ML4xVxfMx2kZNV9iz6o+eq1RhuWeGh6DDcDA=".parse()?);
    /// let body = br#"{"type":"order.paid","timestamp":"2025-12-01T08:00:00Z","data":{"id":"ord_01"}}"#;
    /// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1764576000);
    ///
    /// let delivery = polar.verify(RequestParts::post(&headers), body, now)?;
    /// assert_eq!(delivery.event().unwrap().id(), "msg_polar_1");
    /// // The body's `type` is for the handler to read.
    /// assert_eq!(delivery.event().unwrap().event_type(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    Polar, timestamp
}

impl Polar {
    /// Polar's scheme, accepting a signature by any of `secrets`, each the
    /// secret as Polar shows it ([`Polar::secret`]). For each one whose text
    /// after an optional `whsec_` is standard base64, the decoded bytes are
    /// accepted too, as Polar's SDK does.
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let given: Secrets = secrets.into();
        let mut keys = Vec::with_capacity(given.len() * 2);
        for secret in given.iter() {
            keys.push(secret.clone());
            keys.extend(decoded(secret.expose()));
        }
        let keys = Secrets::try_from_iter(keys).expect(PRESET);
        let spec = Self::declaration().keys(keys).build().expect(PRESET);
        Self { spec }
    }

    /// Polar's secret as Polar shows it (`polar_whs_...`, trimmed): the key
    /// is its UTF-8 bytes.
    ///
    /// # Errors
    ///
    /// [`SecretError::Empty`] for an empty secret.
    pub fn secret(text: &str) -> Result<Secret, SecretError> {
        Secret::new(text.trim())
    }

    /// Standard Webhooks' declaration, `svix-*` names included, as
    /// [`StandardWebhooks`](crate::scheme::StandardWebhooks) reads them.
    fn declaration() -> SpecBuilder {
        standard_webhooks("Polar").alternate_headers(&SVIX_NAMES)
    }
}

/// The base64 decoding of what follows an optional `whsec_`, when there is
/// one and it differs from the secret (polar-sdk's `_signing_keys`).
fn decoded(secret: &[u8]) -> Option<Secret> {
    let text = std::str::from_utf8(secret).ok()?;
    let bytes = decode_base64(text.strip_prefix("whsec_").unwrap_or(text)).ok()?;
    if bytes.is_empty() || bytes == secret {
        return None;
    }
    Secret::new(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_polar_secret_is_its_own_bytes() {
        assert_eq!(
            Polar::secret(" polar_whs_abc ").unwrap().expose(),
            b"polar_whs_abc"
        );
        assert!(decoded(b"polar_whs_pC5x7lUyL3kjGOWGRMS4XwFQa07ZFSPDiJ3yv9PhM4e").is_none());
        assert_eq!(Polar::secret("  ").err(), Some(SecretError::Empty));
    }

    #[test]
    fn a_whsec_secret_also_yields_its_decoding() {
        let key = decoded(b"whsec_MTIzNDU2Nzg5MGFiY2RlZg==").unwrap();
        assert_eq!(key.expose(), b"1234567890abcdef");
        let polar = Polar::new(Polar::secret("whsec_MTIzNDU2Nzg5MGFiY2RlZg==").unwrap());
        assert!(format!("{polar:?}").starts_with("Polar("));
    }
}
