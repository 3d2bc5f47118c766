//! WorkOS's webhook signatures.

use std::time::Duration;

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{FieldSource, Spec, SpecBuilder};
use crate::scheme::timestamp::TimestampFormat;

/// The SDKs' default tolerance: "DEFAULT_TOLERANCE = 180  # seconds".
const WORKOS_TOLERANCE: Duration = Duration::from_secs(180);

preset! {
    /// WorkOS: `WorkOS-Signature: t=<unix ms>, v1=<hex>`, the HMAC-SHA256 of
    /// `{t}.{body}` keyed with the endpoint's webhook secret as written.
    ///
    /// - **Timestamp**: `t`, unix milliseconds, signed; refused further than
    ///   the [tolerance](WorkOS::tolerance) from now, default 3 minutes (the
    ///   SDKs' default; the Python SDK checks both directions, as here).
    /// - **Id, the replay key**: the body's `id` (`event_01…`), the event's
    ///   id, signed.
    /// - **Type**: the body's `event` (`user.created`, `dsync.user.updated`, ...).
    /// - **Handshake**: none.
    ///
    /// Sources: <https://workos.com/docs/events/data-syncing/webhooks>
    /// ("Validating webhooks": the header, `{timestamp}.{body}`, the
    /// tolerance), and WorkOS's SDKs: `@workos-inc/node` 8.13.0
    /// `SignatureProvider.computeSignature`, `workos` 10.8.0 (PyPI)
    /// `workos/webhooks/_verification.py`, which splits the header on `", "`.
    /// The tests' vector is signed by the Node SDK's own `computeSignature`.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{RequestParts, Scheme, WorkOS};
    /// use tower_webhook::Secret;
    ///
    /// // Computed with Python's hmac over this exact body.
    /// let workos = WorkOS::new(Secret::new("workos secret")?);
    /// let body = br#"{"id":"event_01HX","event":"user.created","data":{"id":"user_01E4"}}"#;
    /// let mut headers = HeaderMap::new();
    /// headers.insert(
    ///     "workos-signature",
    ///     "t=1700000000123, v1=0946abc5c4072faed50c0d7f0e2b4f28e4fb444bd16d4b03927224b80c1152f8".parse()?,
    /// );
    /// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_060);
    ///
    /// let verdict = workos.verify(RequestParts::post(&headers), body, now)?;
    /// let delivery = verdict.event().unwrap();
    /// assert_eq!(delivery.id(), "event_01HX");
    /// assert_eq!(delivery.event_type(), Some("user.created"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    WorkOS, timestamp
}

impl WorkOS {
    /// WorkOS's scheme, accepting a signature by any of `secrets`.
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration().keys(secrets.into()).build().expect(PRESET);
        Self { spec }
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("WorkOS")
            .signature_header("workos-signature")
            .keyed_list(',', '=')
            .version("v1", Algorithm::HmacSha256, Encoding::Hex)
            .timestamp_entry("t", TimestampFormat::UnixMillis)
            .tolerance(WORKOS_TOLERANCE)
            .signed_content("{timestamp}.{body}")
            .id(FieldSource::body("id"))
            .event_type(FieldSource::body("event"))
    }
}
