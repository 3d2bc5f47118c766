//! Paystack's webhook signatures.

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{FieldSource, Spec, SpecBuilder};

preset! {
    /// Paystack: `x-paystack-signature: <hex>`, the HMAC-**SHA512** of the
    /// raw body keyed with the integration's secret key (`sk_live_…` or
    /// `sk_test_…`) as written.
    ///
    /// - **Id, the replay key**: Paystack documents **no** event or delivery
    ///   id (the body is `{"event", "data"}`; `data.id` names the
    ///   transaction, which several events share): the key is the verified
    ///   signature (`sig:<hex>`). A retry resends the same body, so it is a
    ///   duplicate.
    /// - **Retries**: live events are retried every 3 minutes for the first 4
    ///   tries, then hourly for 72 hours: size the replay guard for three
    ///   days of events.
    /// - **Type**: the body's `event` (`charge.success`, `transfer.failed`, ...), signed.
    /// - **No timestamp**; the replay guard is the only protection against a
    ///   captured delivery. Paystack also publishes the addresses it sends
    ///   from, to allow-list in front of the receiver.
    ///
    /// Sources: <https://paystack.com/docs/payments/webhooks/> ("Verify event
    /// origin": `crypto.createHmac('sha512', secret)` over the body against
    /// `x-paystack-signature`; the retry schedule). Paystack ships no
    /// official verifier; the tests' vector is signed with Node's crypto and
    /// accepted by the community SDK `pypaystack2` 3.4.0's
    /// `is_verified_webhook_payload`.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{Paystack, RequestParts, Scheme};
    /// use tower_webhook::Secret;
    ///
    /// // Computed with Python's hmac over this exact body.
    /// let paystack = Paystack::new(Secret::new("sk_test_paystack")?);
    /// let body = br#"{"event":"charge.success","data":{"id":302961,"reference":"qTPrJoy9Bx"}}"#;
    /// let mut headers = HeaderMap::new();
    /// headers.insert(
    ///     "x-paystack-signature",
    ///     "d0313c8d7162f3e8bf28e29da2654f271b34d21308fa73d595d04a8fb677d373\
    ///      3781a9fde1433e109230328e0229ff00b4d000a3443b4200765d895eec759886"
    ///         .parse()?,
    /// );
    ///
    /// let verdict = paystack.verify(RequestParts::post(&headers), body, SystemTime::now())?;
    /// let delivery = verdict.event().unwrap();
    /// assert!(delivery.id().starts_with("sig:"));
    /// assert_eq!(delivery.event_type(), Some("charge.success"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    Paystack
}

impl Paystack {
    /// Paystack's scheme, accepting a signature by any of `secrets`.
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration().keys(secrets.into()).build().expect(PRESET);
        Self { spec }
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("Paystack")
            .signature_header("x-paystack-signature")
            .version("", Algorithm::HmacSha512, Encoding::Hex)
            .id(FieldSource::signature())
            .event_type(FieldSource::body("event"))
    }
}
