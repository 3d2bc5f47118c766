//! Calendly's webhook signatures.

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{FieldSource, Spec, SpecBuilder};
use crate::scheme::timestamp::TimestampFormat;

preset! {
    /// Calendly's scheme: `Calendly-Webhook-Signature: t=<unix>,v1=<hex>`,
    /// the HMAC-SHA256 of `{t}.{body}` keyed with the webhook signing key
    /// (the `signing_key` given when the subscription was created with a
    /// personal access token, or the one generated for an OAuth app), as written.
    ///
    /// - **Signatures**: every `v1` entry is a candidate; unknown keys are ignored.
    /// - **Timestamp**: `t`, signed; refused further than the
    ///   [tolerance](Calendly::tolerance) from now, in either direction
    ///   (default 5 minutes). **Unconfirmed**: Calendly's own window. Its
    ///   webhook-signatures page could be read only in part; Hookdeck gives
    ///   "~3 min", other third parties 5 minutes; the crate's default is kept.
    /// - **Retries**: Calendly keeps trying "for 24 hours with an exponential
    ///   back-off ... or until 24 hours after the booking of the event
    ///   passes". **Unconfirmed**: whether a retry is signed afresh with a
    ///   new `t`. If it is, a retry is a new delivery to the guard (see the
    ///   id below); if it is not, any tolerance refuses the later retries.
    /// - **Id, the replay key**: Calendly sends no delivery or event id (the
    ///   body's `payload.uri` names the invitee, shared by its `invitee.created`
    ///   and `invitee.canceled`), so the id is the verified signature: a
    ///   captured delivery replayed within the tolerance is dropped, while a
    ///   retry signed afresh is processed again; keep handlers idempotent.
    /// - **Type**: the body's `event` (`invitee.created`, ...), signed.
    /// - **Handshake**: none.
    ///
    /// Sources: <https://developer.calendly.com/docs/webhooks/overview>
    /// (`Calendly-Webhook-Signature: t=<unix>,v1=<hex>`, "Verify
    /// `HMAC-SHA256(key, "<t>." + raw_body)`");
    /// <https://developer.calendly.com/api-docs/overview/webhooks/webhook-errors>
    /// (the retries). Calendly publishes no test vector and has no SDK of its
    /// own; the one below was computed with Python's `hmac`.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime, UNIX_EPOCH};
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{Calendly, RequestParts, Scheme};
    /// use tower_webhook::Secret;
    ///
    /// let calendly = Calendly::new(Secret::new("calendly signing key")?);
    /// let body = r#"{"created_at":"2020-11-23T17:51:19.000000Z","created_by":"https://api.calendly.com/users/AAAAAAAAAAAAAAAA","event":"invitee.created","payload":{"uri":"https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2/invitees/AAAAAAAAAAAAAAAA"}}"#;
    /// let mut headers = HeaderMap::new();
    /// headers.insert(
    ///     "calendly-webhook-signature",
    ///     "t=1700000000,v1=18d92e4c8f7847808ff5c440bffc3dc44f06d9b5524aafc7e76dede4a66af21c".parse()?,
    /// );
    /// let now = UNIX_EPOCH + Duration::from_secs(1700000005);
    ///
    /// let verdict = calendly.verify(RequestParts::post(&headers), body.as_bytes(), now)?;
    /// let delivery = verdict.event().unwrap();
    /// assert_eq!(delivery.event_type(), Some("invitee.created"));
    /// assert!(delivery.id().starts_with("sig:"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    Calendly, timestamp
}

impl Calendly {
    /// Calendly's scheme, accepting a signature by any of `secrets`.
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration().keys(secrets.into()).build().expect(PRESET);
        Self { spec }
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("Calendly")
            .signature_header("calendly-webhook-signature")
            .keyed_list(',', '=')
            .version("v1", Algorithm::HmacSha256, Encoding::Hex)
            .timestamp_entry("t", TimestampFormat::UnixSeconds)
            .signed_content("{timestamp}.{body}")
            .id(FieldSource::signature())
            .event_type(FieldSource::body("event"))
    }
}
