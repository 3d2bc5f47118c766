//! Coinbase Commerce's webhook signatures.

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{FieldSource, Spec, SpecBuilder};

preset! {
    /// Coinbase Commerce: `X-CC-Webhook-Signature: <hex>`, the HMAC-SHA256 of
    /// the raw body keyed with the webhook shared secret, as written.
    ///
    /// - **No timestamp**: the body alone is signed (its `scheduled_for` and
    ///   `event.created_at` are not checked), so a captured delivery stays
    ///   valid forever; the replay guard is the only defence.
    /// - **Id, the replay key**: the body's `event.id`, signed: the event's
    ///   id, the same in every delivery of it. The body's outer `id`
    ///   identifies the delivery, not the event (whether a retry keeps it is
    ///   UNCONFIRMED), so it is not used.
    /// - **Type**: the body's `event.type` (`charge:created`, ...), signed.
    /// - **Handshake**: none.
    ///
    /// Source: coinbase/coinbase-commerce-node@003e019 `lib/Webhook.js`,
    /// `examples/webhook/webhook.js`. The example is that library's test vector.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{CoinbaseCommerce, RequestParts, Scheme};
    /// use tower_webhook::{Rejection, Secret};
    ///
    /// let coinbase = CoinbaseCommerce::new(Secret::new("30291a20-0bd1-4267-9b0f-e6e7b123c0bf")?);
    /// let mut headers = HeaderMap::new();
    /// headers.insert(
    ///     "x-cc-webhook-signature",
    ///     "8be7742c7d372f08a6a3224edadf18a22b65fa9e28f3f2de97376cdaa092590d".parse()?,
    /// );
    /// let body = r#"{"id":1,"scheduled_for":"2017-01-31T20:50:02Z","attempt_number":1,"event":{"id":"24934862-d980-46cb-9402-43c81b0cdba6","type":"charge:created","api_version":"2018-03-22","created_at":"2017-01-31T20:49:02Z","data":{"code":"66BEOV2A","name":"The Sovereign Individual","description":"Mastering the Transition to the Information Age","hosted_url":"https://commerce.coinbase.com/charges/66BEOV2A","created_at":"2017-01-31T20:49:02Z","expires_at":"2017-01-31T21:04:02Z","timeline":[{"time":"2017-01-31T20:49:02Z","status":"NEW"}],"metadata":{},"pricing_type":"no_price","payments":[],"addresses":{"bitcoin":"0000000000000000000000000000000000","ethereum":"0x0000000000000000000000000000000000000000","litecoin":"3000000000000000000000000000000000","bitcoincash":"bitcoincash:000000000000000000000000000000000000000000"}}}}"#;
    ///
    /// let verdict = coinbase.verify(RequestParts::post(&headers), body.as_bytes(), SystemTime::now())?;
    /// let delivery = verdict.event().unwrap();
    /// assert_eq!(delivery.id(), "24934862-d980-46cb-9402-43c81b0cdba6");
    /// assert_eq!(delivery.event_type(), Some("charge:created"));
    ///
    /// // The official negative: the secret's last character changed.
    /// let wrong = CoinbaseCommerce::new(Secret::new("30291a20-0bd1-4267-9b0f-e6e7b123c0bg")?);
    /// let refused = wrong.verify(RequestParts::post(&headers), body.as_bytes(), SystemTime::now());
    /// assert_eq!(refused, Err(Rejection::SignatureMismatch));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    CoinbaseCommerce
}

impl CoinbaseCommerce {
    /// Coinbase Commerce's scheme, accepting a signature by any of `secrets`.
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration().keys(secrets.into()).build().expect(PRESET);
        Self { spec }
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("CoinbaseCommerce")
            .signature_header("x-cc-webhook-signature")
            .version("", Algorithm::HmacSha256, Encoding::Hex)
            .id(FieldSource::body("event.id"))
            .event_type(FieldSource::body("event.type"))
    }
}
