//! Stripe's webhook signatures.

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{Spec, SpecBuilder};
use crate::scheme::timestamp::TimestampFormat;

preset! {
    /// Stripe's scheme: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`,
    /// the HMAC-SHA256 of `"{t}.{body}"`.
    ///
    /// - **Key**: the whole signing secret **as written**, `whsec_` included, as
    ///   bytes: `Secret::new("whsec_...")`. (Standard Webhooks, which uses the
    ///   same prefix, base64-decodes what follows it instead; don't mix them up.)
    /// - **Signatures**: every `v1` entry is a candidate and any one matching any
    ///   secret passes; Stripe sends two while you roll a secret. `v0` entries
    ///   (test-mode legacy) and unknown keys are ignored.
    /// - **Timestamp**: `t`, signed, refused further than the
    ///   [tolerance](Stripe::tolerance) (default 5 minutes) from now in either
    ///   direction. Stripe's own libraries only refuse old timestamps; a
    ///   timestamp from the future is refused here too.
    /// - **Id and type**: the body's `id` (`evt_...`) and `type`
    ///   (`payment_intent.succeeded`, ...), both covered by the signature. A
    ///   verified body without an `id` is refused with `400`.
    /// - **Replay key**: the event `id`, as Stripe documents: "guard against
    ///   duplicated event receipts by logging the event IDs you've processed"
    ///   (<https://docs.stripe.com/webhooks#handle-duplicate-events>). Stripe
    ///   signs every retry afresh (a new `t`), so the signature could never
    ///   serve as the key; the id stays the same.
    ///
    /// Which answer a malformed header gets:
    ///
    /// | header | rejection | status |
    /// |---|---|---|
    /// | absent | [`MissingSignature`](crate::Rejection::MissingSignature) | 401 |
    /// | repeated with different values | [`InvalidHeader`](crate::Rejection::InvalidHeader) | 400 |
    /// | no `t`, `t` repeated, `t` not an integer | [`InvalidHeader`](crate::Rejection::InvalidHeader) | 400 |
    /// | an entry without `=`, no readable `v1`, more than 16 `v1` | [`MalformedSignature`](crate::Rejection::MalformedSignature) | 401 |
    /// | `t` outside the tolerance | [`TimestampTooOld`](crate::Rejection::TimestampTooOld) / [`TimestampTooNew`](crate::Rejection::TimestampTooNew) | 401 |
    /// | no `v1` matches | [`SignatureMismatch`](crate::Rejection::SignatureMismatch) | 401 |
    ///
    /// ```
    /// use std::time::{Duration, SystemTime, UNIX_EPOCH};
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{RequestParts, Scheme, Stripe};
    /// use tower_webhook::Secret;
    ///
    /// let stripe = Stripe::new(Secret::new("whsec_test_secret")?);
    /// let body = "{\n  \"id\": \"evt_test_webhook\",\n  \"object\": \"event\"\n}";
    /// let mut headers = HeaderMap::new();
    /// headers.insert(
    ///     "stripe-signature",
    ///     "t=1700000000,v1=4f1cd7feda9826e746b7d482c4badebb657398df1099e1046364f6196a230150".parse()?,
    /// );
    /// let now = UNIX_EPOCH + Duration::from_secs(1700000005);
    ///
    /// let verdict = stripe.verify(RequestParts::post(&headers), body.as_bytes(), now)?;
    /// let delivery = verdict.event().unwrap();
    /// assert_eq!(delivery.id(), "evt_test_webhook");
    /// assert_eq!(delivery.timestamp(), Some(1700000000));
    ///
    /// // Six minutes later the same delivery is stale.
    /// let later = now + Duration::from_secs(360);
    /// let stale = stripe.verify(RequestParts::post(&headers), body.as_bytes(), later);
    /// assert_eq!(stale.unwrap_err().status(), 401);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    Stripe, timestamp
}

impl Stripe {
    /// Stripe's scheme, accepting a signature by any of `secrets`, each the
    /// whole `whsec_...` string (`Secret::new("whsec_...")`).
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration().keys(secrets.into()).build().expect(PRESET);
        Self { spec }
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("Stripe")
            .signature_header("stripe-signature")
            .keyed_list(',', '=')
            .version("v1", Algorithm::HmacSha256, Encoding::Hex)
            .timestamp_entry("t", TimestampFormat::UnixSeconds)
            .signed_content("{timestamp}.{body}")
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use http::HeaderMap;

    use super::*;
    use crate::key::secret::Secret;
    use crate::rejection::Rejection;
    use crate::scheme::request::RequestParts;
    use crate::scheme::verify::Scheme;

    fn verify(value: &str) -> Result<(), Rejection> {
        let stripe = Stripe::new(Secret::new("whsec_x").unwrap());
        let mut headers = HeaderMap::new();
        headers.insert("stripe-signature", value.parse().unwrap());
        stripe
            .verify(
                RequestParts::post(&headers),
                b"{}",
                UNIX_EPOCH + Duration::from_secs(12),
            )
            .map(|_| ())
    }

    #[test]
    fn timestamp_problems_are_bad_requests() {
        let v1 = format!("v1={}", "aa".repeat(32));
        for value in [v1.clone(), format!("t=1,t=1,{v1}"), format!("t=x,{v1}")] {
            assert!(
                matches!(verify(&value), Err(Rejection::InvalidHeader { .. })),
                "{value}"
            );
        }
    }

    #[test]
    fn entries_without_equals_sign_are_malformed_signatures() {
        assert!(matches!(
            verify("v1,t=1"),
            Err(Rejection::MalformedSignature { .. })
        ));
    }

    #[test]
    fn more_than_sixteen_signatures_are_refused() {
        let many = format!("t=12{}", format!(",v1={}", "aa".repeat(32)).repeat(17));
        assert!(matches!(verify(&many), Err(Rejection::MalformedSignature { .. })));
    }

    #[test]
    fn v0_and_unknown_keys_alone_are_no_signature() {
        let a = "aa".repeat(32);
        assert!(matches!(
            verify(&format!("t=12,v0={a},scheme=x,v1=zz")),
            Err(Rejection::MalformedSignature { .. })
        ));
        assert_eq!(
            verify(&format!("t=12,v0={a},v1={a}")),
            Err(Rejection::SignatureMismatch)
        );
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let shown = format!("{:?}", Stripe::new(Secret::new("whsec_do_not_show").unwrap()));
        assert!(!shown.contains("do_not_show"), "{shown}");
    }
}
