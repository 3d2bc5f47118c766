//! HubSpot's v3 request signatures.

use std::time::Duration;

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::spec::{ConfigError, FieldSource, Spec, SpecBuilder};
use crate::scheme::timestamp::TimestampFormat;

preset! {
    /// HubSpot, signature v3: `X-HubSpot-Signature-v3: <base64>`, the
    /// HMAC-SHA256 of `{method}{uri}{body}{timestamp}` keyed with the app's
    /// client secret (UTF-8), where `uri` is the public URL you give
    /// [`HubSpot::new`] plus the query exactly as the request carried it,
    /// and `timestamp` is `X-HubSpot-Request-Timestamp` in **milliseconds**,
    /// signed verbatim. A timestamp older than 5 minutes is refused (HubSpot's
    /// rule and its SDKs', which check age only, `300000` ms); one more than
    /// 5 minutes ahead is refused too, which HubSpot's SDKs do not check
    /// ([`tolerance`](HubSpot::tolerance) changes both).
    ///
    /// **URL decoding, UNCONFIRMED**: HubSpot's v3 page tells receivers to
    /// decode a list of percent-escapes in the URI before signing, and that
    /// list was not read: only the opening of HubSpot's request-validation
    /// pages could be reached, and no copy of them was found (searched: the
    /// phrases "URL-encoded characters", "Decoded character" and `%3A` in
    /// documentation and public repositories). None of HubSpot's four
    /// official SDKs decodes anything: hubspot-api-client 12.0.0 (PyPI)
    /// `hubspot/utils/signature.py`, @hubspot/api-client 13.5.0 (npm)
    /// `lib/src/utils/signature.js`, HubSpot/hubspot-api-php@0c65061
    /// `lib/Utils/Signature.php` and HubSpot/hubspot-api-ruby@75a9afa
    /// `lib/hubspot/helpers/signature.rb` all sign the URI verbatim, and this
    /// preset follows them: the query is signed as it arrived. A query
    /// holding such escapes may therefore not verify.
    ///
    /// The body is a JSON array of events, each with its own `eventId`, so a
    /// delivery has no single id: the replay key is the verified signature
    /// (`sig:<hex>`), which covers the timestamp, so a retry signed afresh is
    /// a new key; deduplicate events by `eventId` in the handler. No event
    /// type (each event has `subscriptionType`); no handshake. The legacy v1
    /// and v2 `X-HubSpot-Signature` (plain SHA-256 of secret and content, no
    /// HMAC) are not read.
    ///
    /// Source: <https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation>;
    /// HubSpot/hubspot-api-python `hubspot/utils/signature.py` (12.0.0 on PyPI);
    /// HubSpot/hubspot-api-nodejs `src/utils/signature.ts` (13.5.0 on npm);
    /// the PHP and Ruby SDKs above.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{HubSpot, RequestParts, Scheme};
    /// use tower_webhook::Secret;
    ///
    /// // hubspot-api-python's own v3 test vector (tests/spec/utils/test_signature.py).
    /// let hubspot = HubSpot::new(
    ///     Secret::new("yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy")?,
    ///     "https://www.example.com/webhook_uri",
    /// )?;
    /// let mut headers = HeaderMap::new();
    /// headers.insert("x-hubspot-signature-v3", "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=".parse()?);
    /// headers.insert("x-hubspot-request-timestamp", "15000000".parse()?);
    /// let uri: http::Uri = "/webhook_uri".parse()?;
    /// let request = RequestParts { method: &http::Method::POST, uri: &uri, headers: &headers };
    /// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(15_000);
    ///
    /// let verdict = hubspot.verify(request, b"{'example_field':'example_value'}", now)?;
    /// assert!(verdict.event().unwrap().id().starts_with("sig:"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    HubSpot, timestamp
}

impl HubSpot {
    /// HubSpot's v3 scheme for the endpoint HubSpot calls at `public_url`
    /// (`https://host[:port]/path`, without the query), accepting a
    /// signature by any of `secrets` (client secrets).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidPublicUrl`] unless `public_url` is
    /// `http(s)://host[:port][/path]` without a query.
    pub fn new(secrets: impl Into<Secrets>, public_url: &str) -> Result<Self, ConfigError> {
        let spec = Self::declaration()
            .public_url(public_url)
            .keys(secrets.into())
            .build()?;
        Ok(Self { spec })
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("HubSpot")
            .signature_header("x-hubspot-signature-v3")
            .version("", Algorithm::HmacSha256, Encoding::Base64)
            .timestamp_header("x-hubspot-request-timestamp", TimestampFormat::UnixMillis)
            .tolerance(Duration::from_secs(300))
            .signed_content("{method}{url}{body}{timestamp}")
            .provider_url_template()
            .id(FieldSource::signature())
            .no_event_type()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use http::HeaderMap;

    use super::*;
    use crate::key::secret::Secret;
    use crate::rejection::Rejection;
    use crate::scheme::request::RequestParts;
    use crate::scheme::verify::Scheme;

    const SECRET: &str = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
    const BODY: &[u8] = b"{\"example_field\":\"example_value\"}";
    // hubspot-api-client==12.0.0 (PyPI):
    // Signature.get_signature(SECRET, BODY, "v3", "https://www.example.com/webhook_uri?a=1&b=2", "POST", "1764576000000")
    const SDK_SIGNATURE: &str = "50wdhpK+nitsI04dh6HWGEisYE+7q7fZL8avFcHElSc=";

    fn verify(
        method: &http::Method,
        uri: &str,
        now_secs: u64,
    ) -> Result<crate::scheme::verdict::VerifiedEvent, Rejection> {
        let hubspot = HubSpot::new(
            Secret::new(SECRET).unwrap(),
            "https://www.example.com/webhook_uri",
        )
        .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-hubspot-signature-v3", SDK_SIGNATURE.parse().unwrap());
        headers.insert("x-hubspot-request-timestamp", "1764576000000".parse().unwrap());
        let uri: http::Uri = uri.parse().unwrap();
        let request = RequestParts {
            method,
            uri: &uri,
            headers: &headers,
        };
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(now_secs);
        Ok(hubspot.verify(request, BODY, now)?.event().unwrap().clone())
    }

    #[test]
    fn an_sdk_signature_verifies_with_its_query_and_method() {
        let delivery = verify(&http::Method::POST, "/webhook_uri?a=1&b=2", 1_764_576_000).unwrap();
        assert_eq!(delivery.timestamp(), Some(1_764_576_000));
        assert!(delivery.id().starts_with("sig:"));
        for (method, uri) in [
            (http::Method::GET, "/webhook_uri?a=1&b=2"),
            (http::Method::POST, "/webhook_uri?b=2&a=1"),
            (http::Method::POST, "/webhook_uri"),
        ] {
            assert_eq!(
                verify(&method, uri, 1_764_576_000).err(),
                Some(Rejection::SignatureMismatch)
            );
        }
    }

    #[test]
    fn the_timestamp_is_in_milliseconds_and_five_minutes_old_at_most() {
        let ok = |secs| verify(&http::Method::POST, "/webhook_uri?a=1&b=2", secs);
        assert!(ok(1_764_576_000 + 299).is_ok());
        assert!(matches!(
            ok(1_764_576_000 + 301),
            Err(Rejection::TimestampTooOld { .. })
        ));
        assert!(ok(1_764_576_000 - 299).is_ok());
        assert!(ok(1_764_576_000 - 301).is_err());
    }
}
