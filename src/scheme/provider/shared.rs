//! Declarations several providers build on, so that none of them reaches
//! into another: the Standard Webhooks layout, which Standard Webhooks
//! itself, Svix (and Clerk and Resend, which send through it), Replicate,
//! Polar and GitLab's signing token all sign with.

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::error::SecretError;
use crate::key::secret::Secret;
use crate::scheme::spec::{FieldSource, Spec, SpecBuilder};
use crate::scheme::timestamp::TimestampFormat;

/// Svix's names for the Standard Webhooks headers, as
/// [`alternate_headers`](SpecBuilder::alternate_headers) takes them.
pub(super) const SVIX_NAMES: [(&str, &str); 3] = [
    ("webhook-id", "svix-id"),
    ("webhook-timestamp", "svix-timestamp"),
    ("webhook-signature", "svix-signature"),
];

/// Standard Webhooks under its own `webhook-*` names, without keys: a
/// space-separated list of `v1,<base64 HMAC-SHA256>` entries (and, with
/// feature `ed25519`, `v1a,<base64 Ed25519>`) over `{id}.{timestamp}.{body}`,
/// the id in `webhook-id`, unix seconds in `webhook-timestamp`, no event type;
/// `name` labels it in logs and metrics.
pub(super) fn standard_webhooks(name: &'static str) -> SpecBuilder {
    let builder = Spec::builder(name)
        .signature_header("webhook-signature")
        .versioned_list(' ', ',')
        .version("v1", Algorithm::HmacSha256, Encoding::Base64)
        .timestamp_header("webhook-timestamp", TimestampFormat::UnixSeconds)
        .id(FieldSource::header("webhook-id"))
        .no_event_type()
        .signed_content("{id}.{timestamp}.{body}");
    if Algorithm::Ed25519.is_enabled() {
        builder.version("v1a", Algorithm::Ed25519, Encoding::Base64)
    } else {
        builder
    }
}

/// A Standard Webhooks secret: `whsec_` followed by base64, padded or not
/// (the prefix may be left out, as the reference libraries allow); the key
/// is the decoded bytes. Without the prefix, text that decodes to an Ed25519
/// public key is refused: a `whpk_` key that lost its prefix would become an
/// HMAC secret anyone can sign with.
pub(super) fn whsec(text: &str) -> Result<Secret, SecretError> {
    let text = text.trim();
    match text.strip_prefix("whsec_") {
        Some(encoded) => Secret::from_base64(encoded),
        None => {
            let mut decoded =
                crate::key::encoding::decode_base64(text).map_err(|_| SecretError::InvalidBase64)?;
            let public = crate::key::public::is_ed25519_public_key(&decoded);
            decoded.fill(0);
            if public {
                return Err(SecretError::LooksLikePublicKey);
            }
            Secret::from_base64(text)
        }
    }
}
