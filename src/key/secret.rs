//! Shared secrets: [`Secret`] (one key, redacted, zeroed on drop) and
//! [`Secrets`] (one or more keys, for rotation).

use std::fmt;

use zeroize::Zeroizing;

use super::encoding::decode_base64_key;
use super::error::SecretError;

/// One shared secret: the key bytes an HMAC is computed with.
///
/// The bytes are zeroed when the `Secret` is dropped, and `Debug` never shows
/// them. An empty secret is rejected at construction: an HMAC with an empty
/// key is computable by anyone. A secret shorter than [`Secret::MIN_LEN`]
/// (16 bytes) is accepted, since a provider may have issued it, but logged at
/// `warn` (without the secret): a one-byte key is forged within 256 tries,
/// and every provider's generated secrets are longer.
///
/// Which bytes form the key depends on the provider: GitHub, Shopify, Slack
/// and Stripe use the secret string as it is written (Stripe's whole
/// `whsec_...` string included), while Standard Webhooks base64-decodes what
/// follows `whsec_` (see
/// [`StandardWebhooks::secret`](crate::scheme::StandardWebhooks::secret)).
///
/// ```
/// use tower_webhook::Secret;
///
/// let secret = Secret::new("It's a Secret to Everybody")?;
/// assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
/// assert!(Secret::new("").is_err());
/// # Ok::<(), tower_webhook::SecretError>(())
/// ```
#[derive(Clone)]
pub struct Secret {
    bytes: Zeroizing<Vec<u8>>,
}

impl Secret {
    /// The shortest key, in bytes, that is not warned about: 128 bits.
    pub const MIN_LEN: usize = 16;

    /// A secret whose key is exactly these bytes.
    ///
    /// A key shorter than [`MIN_LEN`](Self::MIN_LEN) bytes is accepted and
    /// logged with `tracing` at `warn` (the line never shows the key).
    /// Generate secrets with at least 16 random bytes, or use the
    /// provider's.
    ///
    /// # Errors
    ///
    /// [`SecretError::Empty`] when `bytes` is empty.
    pub fn new(bytes: impl AsRef<[u8]>) -> Result<Self, SecretError> {
        let bytes = bytes.as_ref();
        if bytes.is_empty() {
            return Err(SecretError::Empty);
        }
        if bytes.len() < Self::MIN_LEN {
            tracing::warn!(
                min_len = Self::MIN_LEN,
                "webhook secret shorter than the minimum: a short key can be guessed; use at least 16 random bytes"
            );
        }
        Ok(Self {
            bytes: Zeroizing::new(bytes.to_vec()),
        })
    }

    /// A secret whose key is the standard base64 (padded or not) decoding of `encoded`.
    ///
    /// As the Standard Webhooks SDKs do, the unused low bits of the last
    /// character may be set (`MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS`, from their
    /// test suite, decodes to 23 bytes).
    ///
    /// # Errors
    ///
    /// [`SecretError::InvalidBase64`] when `encoded` is not base64, and
    /// [`SecretError::Empty`] when it decodes to nothing.
    pub fn from_base64(encoded: &str) -> Result<Self, SecretError> {
        let decoded =
            Zeroizing::new(decode_base64_key(encoded.trim()).map_err(|_| SecretError::InvalidBase64)?);
        Self::new(&*decoded)
    }

    /// The key's length in bytes (for checks such as [`MIN_LEN`](Self::MIN_LEN);
    /// the bytes themselves are never exposed).
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always `false`: an empty secret cannot be built.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The key bytes.
    pub(crate) fn expose(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// One or more secrets, all accepted at once.
///
/// During a secret rotation a sender may sign with the old secret, the new
/// one, or both; configure both here and a delivery verifies if any signature
/// it carries matches any secret. A scheme turns each secret into a keyed
/// HMAC state once, when it is built; verifying a delivery clones that state
/// instead of re-keying.
///
/// Each [`Secret`] is checked when it is built: one shorter than
/// [`Secret::MIN_LEN`] (16 bytes) is logged at `warn`.
///
/// ```
/// use tower_webhook::{Secret, Secrets};
///
/// let secrets = Secrets::new(Secret::new("old secret")?).with(Secret::new("new secret")?);
/// assert_eq!(secrets.len(), 2);
/// assert_eq!(format!("{secrets:?}"), "Secrets { count: 2 }");
/// # Ok::<(), tower_webhook::SecretError>(())
/// ```
#[derive(Clone)]
pub struct Secrets {
    secrets: Vec<Secret>,
}

impl Secrets {
    /// Secrets holding just `secret`.
    pub fn new(secret: Secret) -> Self {
        Self {
            secrets: vec![secret],
        }
    }

    /// Adds another secret that is accepted too.
    #[must_use]
    pub fn with(mut self, secret: Secret) -> Self {
        self.secrets.push(secret);
        self
    }

    /// Secrets from a list.
    ///
    /// # Errors
    ///
    /// [`SecretError::NoSecrets`] when the list is empty.
    pub fn try_from_iter(secrets: impl IntoIterator<Item = Secret>) -> Result<Self, SecretError> {
        let secrets: Vec<_> = secrets.into_iter().collect();
        if secrets.is_empty() {
            return Err(SecretError::NoSecrets);
        }
        Ok(Self { secrets })
    }

    /// How many secrets are accepted.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// Always `false`: a `Secrets` holds at least one secret.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Secret> {
        self.secrets.iter()
    }
}

impl From<Secret> for Secrets {
    fn from(secret: Secret) -> Self {
        Self::new(secret)
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field("count", &self.secrets.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_secret_is_a_configuration_error() {
        assert_eq!(Secret::new("").unwrap_err(), SecretError::Empty);
        assert_eq!(Secret::from_base64("").unwrap_err(), SecretError::Empty);
        assert_eq!(
            Secrets::try_from_iter(Vec::new()).unwrap_err(),
            SecretError::NoSecrets
        );
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let secret = Secret::new("hunter2-very-secret").unwrap();
        let secrets = Secrets::new(secret.clone());
        for shown in [
            format!("{secret:?}"),
            format!("{secrets:?}"),
            format!("{secret:#?}"),
        ] {
            assert!(!shown.contains("hunter2"), "{shown}");
        }
    }
}
