//! The source article's Petstore format, as a [`Spec`] preset.

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{FieldSource, Spec};

impl Spec {
    /// The source article's format: `X-Petstore-Signature` holds the
    /// lower-case hex HMAC-SHA256 of the raw body; the id and type are the
    /// envelope's `id` and `type`. The unsigned `X-Petstore-Event` header is
    /// only a fallback for the type and never overrides the body.
    ///
    /// The replay key is the envelope's `id` (`evt_123` in the article's
    /// event), which the signature covers and the article's sender keeps on
    /// every retry of its backoff (1 min, 5 min, 15 min, 1 h, 4 h).
    ///
    /// ```
    /// use tower_webhook::scheme::Spec;
    /// use tower_webhook::Secret;
    ///
    /// let scheme = Spec::petstore(Secret::new("petstore secret")?);
    /// # Ok::<(), tower_webhook::SecretError>(())
    /// ```
    pub fn petstore(secrets: impl Into<Secrets>) -> Self {
        Self::builder("Petstore")
            .signature_header("x-petstore-signature")
            .version("", Algorithm::HmacSha256, Encoding::Hex)
            .id(FieldSource::body("id"))
            .event_type(FieldSource::body("type").or_header("x-petstore-event"))
            .keys(secrets.into())
            .build()
            .expect(PRESET)
    }
}
