//! PagerDuty's v3 webhook signatures.

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{FieldSource, Spec, SpecBuilder};

preset! {
    /// PagerDuty v3 webhooks: `X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]`,
    /// the HMAC-SHA256 of the raw body keyed with the subscription's secret.
    ///
    /// - **Key**: the secret's ASCII bytes, as written. It looks like base64
    ///   (`lDQHScfU...Z+IK`) but is **not decoded**: decoding it breaks
    ///   PagerDuty's own vector.
    /// - **Signatures**: a comma-separated list with one `v1=` entry per
    ///   secret while PagerDuty rotates it; any one matching passes, and
    ///   entries of other versions are ignored (as go-pagerduty does).
    /// - **No timestamp**: PagerDuty signs the body alone, so a captured
    ///   delivery stays valid forever; the replay guard is the only defence.
    /// - **Id, the replay key**: the `X-Webhook-Id` header, unsigned, which
    ///   PagerDuty documents as its dedup key: "unique to the webhook but is
    ///   repeated for each delivery attempt, so it may be used to ignore
    ///   subsequent delivery attempts after an initial success"
    ///   (developer-docs `docs/webhooks/02-Behavior.md`, "At-Least-Once
    ///   Delivery"). A delivery without it is keyed on the body's `event.id`
    ///   (signed). One event delivered to several subscriptions comes under
    ///   one `event.id` and several webhook ids, so each subscription's
    ///   delivery is processed; [`PagerDuty::keyed_by_event_id`] processes the
    ///   event once instead. Whoever captured a delivery can resend it under
    ///   a fresh `X-Webhook-Id`: see `dedupe_on_signature` on the builder.
    /// - **Type**: the body's `event.event_type` (`incident.triggered`, ...).
    /// - **Handshake**: none (a `pagey.ping` test event, if sent, is an
    ///   ordinary signed event: UNCONFIRMED).
    ///
    /// Source: PagerDuty/developer-docs `docs/webhooks/04-Signatures.md` and
    /// `docs/webhooks/02-Behavior.md` (at 01f8d29);
    /// PagerDuty/go-pagerduty `webhookv3/webhookv3.go`. The example is
    /// go-pagerduty's test secret with its body shortened to the event's id and
    /// type (signature computed with Python's `hmac`); the full official
    /// vector runs in `tests/vectors.rs`.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{PagerDuty, RequestParts, Scheme};
    /// use tower_webhook::Secret;
    ///
    /// let pagerduty = PagerDuty::new(Secret::new(
    ///     "lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK",
    /// )?);
    /// let body = r#"{"event":{"id":"01BWDWL3NYY7LUFPZCC28QUCMK","event_type":"incident.priority_updated"}}"#;
    /// let mut headers = HeaderMap::new();
    /// // During a rotation: one entry per secret, the second one ours.
    /// headers.insert(
    ///     "x-pagerduty-signature",
    ///     "v1=7020c8a7ec668a9b7012bc3dd82e483394b038f4230acc6785efbf2a7d8bcaf5,\
    ///      v1=2d04311cd37ab8f30b1cea722e0d54d07addb0f55a3f810afaff5f2f62f75e1a"
    ///         .parse()?,
    /// );
    /// let verdict = pagerduty.verify(RequestParts::post(&headers), body.as_bytes(), SystemTime::now())?;
    /// let delivery = verdict.event().unwrap();
    /// // No `X-Webhook-Id` here: the id is the body's `event.id`.
    /// assert_eq!(delivery.id(), "01BWDWL3NYY7LUFPZCC28QUCMK");
    /// assert_eq!(delivery.event_type(), Some("incident.priority_updated"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    PagerDuty
}

impl PagerDuty {
    /// PagerDuty's scheme, accepting a signature by any of `secrets`, each
    /// the secret as PagerDuty shows it (never base64-decoded).
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration().keys(secrets.into()).build().expect(PRESET);
        Self { spec }
    }

    /// PagerDuty's scheme keyed on the body's `event.id` (signed) rather than
    /// `X-Webhook-Id`: an event delivered to several subscriptions is
    /// processed once, and the other subscriptions' deliveries are
    /// acknowledged as duplicates.
    pub fn keyed_by_event_id(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration()
            .id(FieldSource::body("event.id"))
            .keys(secrets.into())
            .build()
            .expect(PRESET);
        Self { spec }
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("PagerDuty")
            .signature_header("x-pagerduty-signature")
            .list(&[',', ' '])
            .version("v1=", Algorithm::HmacSha256, Encoding::Hex)
            .id(FieldSource::header("x-webhook-id").or_body("event.id"))
            .event_type(FieldSource::body("event.event_type"))
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use hmac::Mac;
    use http::HeaderMap;

    use super::*;
    use crate::key::secret::Secret;
    use crate::scheme::request::RequestParts;
    use crate::scheme::verify::Scheme;

    const SECRET: &str = "lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK";
    const BODY: &str =
        r#"{"event":{"id":"01BWDWL3NYY7LUFPZCC28QUCMK","event_type":"incident.priority_updated"}}"#;

    /// The id `scheme` keys a signed delivery of `BODY` on, with the given
    /// `X-Webhook-Id`.
    fn id(scheme: &PagerDuty, webhook_id: Option<&str>) -> String {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(BODY.as_bytes());
        let mut headers = HeaderMap::new();
        let signature = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
        headers.insert("x-pagerduty-signature", signature.parse().unwrap());
        if let Some(webhook_id) = webhook_id {
            headers.insert("x-webhook-id", webhook_id.parse().unwrap());
        }
        let verdict = scheme
            .verify(RequestParts::post(&headers), BODY.as_bytes(), SystemTime::now())
            .unwrap();
        verdict.event().unwrap().id().to_owned()
    }

    #[test]
    fn keyed_on_x_webhook_id_else_on_the_body_event_id() {
        let pagerduty = PagerDuty::new(Secret::new(SECRET).unwrap());
        // Two subscriptions' deliveries of one event: two webhook ids.
        assert_eq!(
            id(&pagerduty, Some("f2f5a2a4-subscription-a")),
            "f2f5a2a4-subscription-a"
        );
        assert_eq!(
            id(&pagerduty, Some("9c1e0b7d-subscription-b")),
            "9c1e0b7d-subscription-b"
        );
        assert_eq!(id(&pagerduty, None), "01BWDWL3NYY7LUFPZCC28QUCMK");
    }

    #[test]
    fn keyed_by_event_id_ignores_the_webhook_id() {
        let pagerduty = PagerDuty::keyed_by_event_id(Secret::new(SECRET).unwrap());
        assert_eq!(
            id(&pagerduty, Some("f2f5a2a4-subscription-a")),
            "01BWDWL3NYY7LUFPZCC28QUCMK"
        );
        assert_eq!(id(&pagerduty, None), "01BWDWL3NYY7LUFPZCC28QUCMK");
    }
}
