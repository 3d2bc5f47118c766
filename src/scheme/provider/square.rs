//! Square's webhook signatures.

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::spec::{ConfigError, FieldSource, Spec, SpecBuilder};

preset! {
    /// Square: `x-square-hmacsha256-signature: <base64>`, the HMAC-SHA256 of
    /// the subscription's **notification URL, exactly as configured at
    /// Square**, followed by the raw body, keyed with the subscription's
    /// signature key as its UTF-8 text (not hex- or base64-decoded). The
    /// URL is the one you give [`Square::new`] plus the query the request
    /// arrived with (so a notification URL with a query is given without it);
    /// it is not rebuilt from the request's `Host`.
    ///
    /// No timestamp is signed, so the replay guard alone stops a replay. The
    /// replay key is the body's `event_id` ("the generated idempotency value"),
    /// signed; the event type is the body's `type`. No handshake. The legacy
    /// `x-square-signature` (HMAC-SHA1 of the same content) is not read.
    ///
    /// Source: square/square-nodejs-sdk@c58c6e0 `src/wrapper/WebhooksHelper.ts`
    /// (`verifySignature`: `createHmac("sha256", signatureKey)` over
    /// `notificationUrl + requestBody`, base64); <https://developer.squareup.com/docs/webhooks/step3validate>,
    /// <https://developer.squareup.com/docs/webhooks> (`event_id`).
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{RequestParts, Scheme, Square};
    /// use tower_webhook::Secret;
    ///
    /// // square-nodejs-sdk's own test vector (tests/integration/webhooks.test.ts).
    /// let square = Square::new(Secret::new("signature-key")?, "https://webhook.site/webhooks")?;
    /// let mut headers = HeaderMap::new();
    /// headers.insert("x-square-hmacsha256-signature", "W3FlCNk5IA3ZQ2LHTWoajvzfaDu/OwY2tNHIHC3IUOA=".parse()?);
    /// let body = br#"{"data":{"type":"webhooks","id":"fake_id"}}"#;
    /// let uri: http::Uri = "/webhooks".parse()?;
    /// let request = RequestParts { method: &http::Method::POST, uri: &uri, headers: &headers };
    ///
    /// // The signature verifies; this body has no `event_id`, so the layer answers 400.
    /// let outcome = square.verify(request, body, SystemTime::now());
    /// assert_eq!(outcome.err(), Some(tower_webhook::Rejection::MissingEventId));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    Square
}

impl Square {
    /// Square's scheme for the subscription whose notification URL is
    /// `notification_url` (`https://host[:port]/path`), accepting a
    /// signature by any of `secrets` (the signature keys; keep the old one
    /// while you rotate).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidPublicUrl`] unless `notification_url` is
    /// `http(s)://host[:port][/path]` without a query.
    pub fn new(secrets: impl Into<Secrets>, notification_url: &str) -> Result<Self, ConfigError> {
        let spec = Self::declaration()
            .public_url(notification_url)
            .keys(secrets.into())
            .build()?;
        Ok(Self { spec })
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("Square")
            .signature_header("x-square-hmacsha256-signature")
            .version("", Algorithm::HmacSha256, Encoding::Base64)
            .signed_content("{url}{body}")
            .provider_url_template()
            .id(FieldSource::body("event_id"))
            .event_type(FieldSource::body("type"))
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

    const URL: &str = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9";
    const BODY: &str = r#"{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}"#;

    fn verify(url: &str, uri: &str) -> Result<crate::scheme::verdict::VerifiedEvent, Rejection> {
        let square = Square::new(Secret::new("Ibxx_5AKakO-3qeNVR61Dw").unwrap(), url).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-square-hmacsha256-signature",
            "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=".parse().unwrap(),
        );
        let uri: http::Uri = uri.parse().unwrap();
        let request = RequestParts {
            method: &http::Method::POST,
            uri: &uri,
            headers: &headers,
        };
        let verdict = square.verify(request, BODY.as_bytes(), SystemTime::now())?;
        Ok(verdict.event().unwrap().clone())
    }

    #[test]
    fn the_official_vector_names_its_event() {
        let delivery = verify(URL, "/anything").unwrap();
        assert_eq!(delivery.id(), "ac3ac95b-f97d-458c-a6e6-18981597e05f");
        assert_eq!(delivery.event_type(), Some("webhooks.test_notification"));
    }

    #[test]
    fn another_url_or_a_query_does_not_verify() {
        let other = "https://webhook.site/79a4f3a-dcfa-49ee-bac5-9d0edad886b9";
        assert_eq!(verify(other, "/x").err(), Some(Rejection::SignatureMismatch));
        assert_eq!(verify(URL, "/x?a=1").err(), Some(Rejection::SignatureMismatch));
    }

    #[test]
    fn a_notification_url_must_be_a_url() {
        for bad in ["", "webhook.site/x", "https://h/p?q=1"] {
            assert_eq!(
                Square::new(Secret::new("k").unwrap(), bad).err(),
                Some(ConfigError::InvalidPublicUrl),
                "{bad:?}"
            );
        }
    }
}
