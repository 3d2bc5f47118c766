//! SendGrid's Event Webhook signatures: ECDSA P-256 (feature `p256`).

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::public::{Keys, PublicKey};
use crate::scheme::spec::{ConfigError, FieldSource, Spec, SpecBuilder};
use crate::scheme::timestamp::TimestampFormat;

preset! {
    /// SendGrid's signed Event Webhook:
    /// `X-Twilio-Email-Event-Webhook-Signature: <base64 DER>`, the ECDSA
    /// P-256/SHA-256 signature of `{X-Twilio-Email-Event-Webhook-Timestamp}{body}`
    /// (no separator) under the verification key from Mail Settings (base64
    /// of a DER SubjectPublicKeyInfo, [`SendGrid::public_key`]).
    ///
    /// - **High-S signatures are accepted**: SendGrid's own are high-S.
    /// - **Timestamp**: unix seconds, signed. SendGrid documents no tolerance;
    ///   this preset refuses more than 5 minutes either way ([tolerance](SendGrid::tolerance)).
    /// - **Id**: the body is a JSON array of events, each with its own
    ///   `sg_event_id`, so a delivery has no single id: the replay guard keys on
    ///   the verified signature (its low-S form, so flipping `s` does not make
    ///   a captured batch new). Dedupe single events by `sg_event_id` in the
    ///   handler if SendGrid's retries matter to you. No event type.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{RequestParts, Scheme, SendGrid};
    ///
    /// let key = SendGrid::public_key("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==")?;
    /// let sendgrid = SendGrid::new(key)?;
    /// # let _ = sendgrid;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    SendGrid, timestamp
}

impl SendGrid {
    /// SendGrid's scheme, verifying with any of `keys`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::NoUsableKey`] when no P-256 public key is given.
    pub fn new(keys: impl Into<Keys>) -> Result<Self, ConfigError> {
        let spec = Self::declaration().keys(keys).build()?;
        Ok(Self { spec })
    }

    /// Parses the verification key: base64 of its DER SubjectPublicKeyInfo.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKey`] when it is not a P-256 key.
    pub fn public_key(base64: &str) -> Result<PublicKey, ConfigError> {
        Ok(PublicKey::p256_base64(base64)?)
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("SendGrid")
            .signature_header("x-twilio-email-event-webhook-signature")
            .version("", Algorithm::EcdsaP256, Encoding::Base64)
            .timestamp_header(
                "x-twilio-email-event-webhook-timestamp",
                TimestampFormat::UnixSeconds,
            )
            .signed_content("{timestamp}{body}")
            .id(FieldSource::signature())
            .no_event_type()
    }
}
