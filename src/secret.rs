//! Shared secrets: [`Secret`] (one key, redacted, zeroed on drop) and
//! [`Secrets`] (one or more keys, for rotation).

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};
use zeroize::Zeroizing;

/// The keyed HMAC-SHA256 state a [`Secrets`] holds per key: the SHA-256
/// states after absorbing the inner and outer padded key. Cloning it per
/// request is what "pre-key once" means here.
type HmacSha256 = Hmac<Sha256>;

/// Length in bytes of an HMAC-SHA256 tag.
pub(crate) const MAC_LEN: usize = 32;

/// A computed MAC.
pub(crate) type MacTag = [u8; MAC_LEN];

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
    /// # Errors
    ///
    /// [`SecretError::InvalidBase64`] when `encoded` is not base64, and
    /// [`SecretError::Empty`] when it decodes to nothing.
    pub fn from_base64(encoded: &str) -> Result<Self, SecretError> {
        let decoded = Zeroizing::new(
            crate::encoding::decode_base64(encoded.trim()).map_err(|_| SecretError::InvalidBase64)?,
        );
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

/// Why a secret could not be built.
///
/// The messages never contain the secret or any part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretError {
    /// The secret is empty.
    Empty,
    /// The secret should have been base64 but is not.
    InvalidBase64,
    /// A list of secrets holds none.
    NoSecrets,
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "webhook secret is empty",
            Self::InvalidBase64 => "webhook secret is not valid base64",
            Self::NoSecrets => "no webhook secret configured",
        })
    }
}

impl std::error::Error for SecretError {}

/// One or more secrets, all accepted at once.
///
/// During a secret rotation a sender may sign with the old secret, the new
/// one, or both; configure both here and a delivery verifies if any signature
/// it carries matches any secret. Each secret is turned into a keyed HMAC state
/// once, at construction; verifying a delivery clones that state instead of
/// re-keying.
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
    keys: Vec<HmacSha256>,
}

impl Secrets {
    /// Secrets holding just `secret`.
    pub fn new(secret: Secret) -> Self {
        Self {
            keys: vec![keyed(&secret)],
        }
    }

    /// Adds another secret that is accepted too.
    #[must_use]
    pub fn with(mut self, secret: Secret) -> Self {
        self.keys.push(keyed(&secret));
        self
    }

    /// Secrets from a list.
    ///
    /// # Errors
    ///
    /// [`SecretError::NoSecrets`] when the list is empty.
    pub fn try_from_iter(secrets: impl IntoIterator<Item = Secret>) -> Result<Self, SecretError> {
        let keys: Vec<_> = secrets.into_iter().map(|s| keyed(&s)).collect();
        if keys.is_empty() {
            return Err(SecretError::NoSecrets);
        }
        Ok(Self { keys })
    }

    /// How many secrets are accepted.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always `false`: a `Secrets` holds at least one secret.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Computes the MAC of the concatenation of `parts` under each secret.
    fn macs<'a>(&'a self, parts: &'a [&'a [u8]]) -> impl Iterator<Item = MacTag> + 'a {
        self.keys.iter().map(move |key| {
            let mut mac = key.clone();
            for part in parts {
                mac.update(part);
            }
            mac.finalize().into_bytes().into()
        })
    }

    /// The HMAC-SHA256 of the concatenation of `parts` under the first
    /// secret: what a sender holding that secret sends.
    pub fn sign(&self, parts: &[&[u8]]) -> [u8; 32] {
        self.macs(parts)
            .next()
            .expect("Secrets always holds at least one key")
    }

    /// The HMAC-SHA256 of the concatenation of `parts` under the first
    /// secret that produces one of `candidates`, if any does.
    ///
    /// Each comparison is constant-time (`subtle`), so the time taken does
    /// not tell an attacker how many leading bytes of a forged signature were
    /// right. All candidates are compared against every MAC; only the final
    /// yes/no leaves the constant-time domain.
    pub fn matching_tag(&self, parts: &[&[u8]], candidates: &[[u8; 32]]) -> Option<[u8; 32]> {
        let mut found = None;
        for tag in self.macs(parts) {
            let mac = words(&tag);
            let mut hit = Choice::from(0);
            for candidate in candidates {
                hit |= mac.ct_eq(&words(candidate));
            }
            if bool::from(hit) && found.is_none() {
                found = Some(tag);
            }
        }
        found
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
            .field("count", &self.keys.len())
            .finish()
    }
}

/// A tag as four 64-bit words, for [`Secrets::matching_tag`]: `subtle`
/// compares a slice element by element, each through an optimization barrier,
/// so comparing 4 words instead of 32 bytes is 8 times fewer barriers with
/// the same constant-time guarantee (every word is compared, always).
fn words(tag: &MacTag) -> [u64; MAC_LEN / 8] {
    let mut words = [0; MAC_LEN / 8];
    for (word, bytes) in words.iter_mut().zip(tag.chunks_exact(8)) {
        let mut chunk = [0; 8];
        chunk.copy_from_slice(bytes);
        *word = u64::from_ne_bytes(chunk);
    }
    words
}

fn keyed(secret: &Secret) -> HmacSha256 {
    HmacSha256::new_from_slice(secret.expose()).expect("HMAC accepts keys of any length")
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

    #[test]
    fn mac_matches_the_rfc_4231_vector() {
        // RFC 4231 test case 2.
        let secrets = Secrets::new(Secret::new("Jefe").unwrap());
        let mac = secrets.sign(&[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_tag_differing_in_any_one_byte_does_not_match() {
        let secrets = Secrets::new(Secret::new("key").unwrap());
        let tag = secrets.sign(&[b"body"]);
        assert_eq!(secrets.matching_tag(&[b"body"], &[tag]), Some(tag));
        for at in 0..MAC_LEN {
            let mut forged = tag;
            forged[at] ^= 0x80;
            assert_eq!(secrets.matching_tag(&[b"body"], &[forged]), None, "byte {at}");
        }
    }

    #[test]
    fn any_secret_matches_during_rotation() {
        let old = Secrets::new(Secret::new("old").unwrap());
        let new = Secrets::new(Secret::new("new").unwrap());
        let both = Secrets::new(Secret::new("old").unwrap()).with(Secret::new("new").unwrap());
        let by_new = new.sign(&[b"body"]);
        let by_old = old.sign(&[b"body"]);
        assert_eq!(both.matching_tag(&[b"body"], &[by_new]), Some(by_new));
        assert_eq!(both.matching_tag(&[b"body"], &[[0; 32], by_old]), Some(by_old));
        assert_eq!(old.matching_tag(&[b"body"], &[by_new]), None);
    }
}
