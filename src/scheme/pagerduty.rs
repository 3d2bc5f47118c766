//! PagerDuty's v3 webhook signatures.

use super::{Algorithm, Encoding, Field, Spec, SpecBuilder, PRESET};
use crate::Secrets;

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
    /// - **Id, the replay key**: the body's `event.id`, signed (the event's
    ///   id; PagerDuty names no other dedup key).
    /// - **Type**: the body's `event.event_type` (`incident.triggered`, ...).
    /// - **Handshake**: none (a `pagey.ping` test event, if sent, is an
    ///   ordinary signed event: UNCONFIRMED).
    ///
    /// Source: PagerDuty/developer-docs `docs/webhooks/04-Signatures.md`;
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

    fn declaration() -> SpecBuilder {
        Spec::builder()
            .signature_header("x-pagerduty-signature")
            .list(&[',', ' '])
            .version("v1=", Algorithm::HmacSha256, Encoding::Hex)
            .id(Field::body("event.id"))
            .event_type(Field::body("event.event_type"))
    }
}
