//! Zoom's webhook signatures and its `endpoint.url_validation` handshake.

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{FieldSource, Handshake, Spec, SpecBuilder};
use crate::scheme::timestamp::TimestampFormat;

preset! {
    /// Zoom's scheme: `x-zm-signature: v0=<hex>`, the HMAC-SHA256 of
    /// `v0:{x-zm-request-timestamp}:{body}` keyed with the app's Secret Token.
    ///
    /// - **Timestamp**: unix seconds, signed. Zoom documents no tolerance
    ///   (UNCONFIRMED); this preset refuses more than 5 minutes either way.
    /// - **Id**: Zoom sends no delivery id (`event_ts` is not unique), so the
    ///   id is the verified signature, which covers the timestamp and the body.
    /// - **Type**: the body's `event`.
    /// - **`endpoint.url_validation`** is answered by the layer after the
    ///   signature verified: `200` `{"plainToken": p, "encryptedToken":
    ///   hex(HMAC-SHA256(secret, p))}` with `p` the body's
    ///   `payload.plainToken` (absent: `400`), keyed with the secret that verified.
    ///
    /// Source: zoom/webhook-sample `index.js`; developers.zoom.us webhook docs.
    ///
    /// ```
    /// use tower_webhook::scheme::Zoom;
    /// use tower_webhook::Secret;
    ///
    /// let zoom = Zoom::new(Secret::new("zoom secret token")?);
    /// # let _ = zoom;
    /// # Ok::<(), tower_webhook::SecretError>(())
    /// ```
    Zoom, timestamp
}

impl Zoom {
    /// Zoom's scheme, accepting a signature by any of `secrets`.
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration().keys(secrets.into()).build().expect(PRESET);
        Self { spec }
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("Zoom")
            .signature_header("x-zm-signature")
            .version("v0=", Algorithm::HmacSha256, Encoding::Hex)
            .timestamp_header("x-zm-request-timestamp", TimestampFormat::UnixSeconds)
            .signed_content("v0:{timestamp}:{body}")
            .id(FieldSource::signature())
            .event_type(FieldSource::body("event"))
            .handshake(
                Handshake::when_body("event", "endpoint.url_validation").hmac_token("payload.plainToken"),
            )
    }
}
