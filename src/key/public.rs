//! Verification keys: [`PublicKey`] (an asymmetric sender's public key, not a
//! secret) and [`Keys`] (the secrets and public keys a scheme accepts at once).

use std::fmt;

use sha2::{Digest, Sha256};

use super::algorithm::Algorithm;
use super::encoding::decode_base64;
use super::error::KeyError;
use super::secret::{Secret, Secrets};

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): 12 bytes, then the 32-byte key.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Whether `bytes` read as an Ed25519 public key: an Ed25519
/// SubjectPublicKeyInfo, or (with feature `ed25519`) 32 bytes naming a
/// point on the curve. Without the feature, 32 bytes cannot be told from a
/// secret and only the SubjectPublicKeyInfo form is recognised.
pub(crate) fn is_ed25519_public_key(bytes: &[u8]) -> bool {
    if bytes.len() == 44 && bytes.starts_with(&ED25519_SPKI_PREFIX) {
        return true;
    }
    #[cfg(feature = "ed25519")]
    if let Ok(raw) = <[u8; 32]>::try_from(bytes) {
        return ed25519_dalek::VerifyingKey::from_bytes(&raw).is_ok();
    }
    false
}

/// DER prefix of a P-256 SubjectPublicKeyInfo with an uncompressed point: 26
/// bytes (id-ecPublicKey, prime256v1), then the 65-byte SEC1 point `04‖x‖y`.
#[cfg(feature = "p256")]
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86,
    0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// A sender's public key: Ed25519 (feature `ed25519`) or ECDSA P-256
/// (feature `p256`).
///
/// A public key is not a secret, so it is not zeroed, but it is still what
/// decides which sender is trusted: configure it, never read it from a
/// request. `Debug` shows the algorithm and a short fingerprint (the first 8
/// bytes of the SHA-256 of the key's encoded bytes, in hex), enough to tell
/// two keys apart in logs.
///
/// ```
/// # #[cfg(feature = "ed25519")] {
/// use tower_webhook::PublicKey;
///
/// // Discord's application public key is hex (this one is RFC 8032's test key 1).
/// let key = PublicKey::ed25519_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")?;
/// assert!(format!("{key:?}").starts_with("PublicKey(Ed25519, sha256:"));
/// # }
/// # Ok::<(), tower_webhook::KeyError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    inner: Inner,
    fingerprint: [u8; 8],
}

#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Inner {
    #[cfg(feature = "ed25519")]
    Ed25519(ed25519_dalek::VerifyingKey),
    #[cfg(feature = "p256")]
    P256(p256::ecdsa::VerifyingKey),
}

impl PublicKey {
    /// An Ed25519 public key from its 32 raw bytes, or from the 44-byte DER
    /// SubjectPublicKeyInfo some senders publish instead.
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidKey`] for any other length, a DER prefix that is
    /// not Ed25519's, or bytes that are not a point on the curve; and
    /// [`KeyError::AlgorithmDisabled`] without the `ed25519` feature.
    pub fn ed25519(bytes: &[u8]) -> Result<Self, KeyError> {
        let raw: [u8; 32] = match bytes.len() {
            32 => bytes.try_into().map_err(|_| invalid("not 32 bytes"))?,
            44 if bytes[..12] == ED25519_SPKI_PREFIX => {
                bytes[12..].try_into().map_err(|_| invalid("not 32 bytes"))?
            }
            44 => {
                return Err(invalid(
                    "a 44-byte key that is not an Ed25519 SubjectPublicKeyInfo",
                ))
            }
            _ => {
                return Err(invalid(
                    "an Ed25519 key is 32 bytes (or a 44-byte DER SubjectPublicKeyInfo)",
                ))
            }
        };
        #[cfg(feature = "ed25519")]
        {
            let key =
                ed25519_dalek::VerifyingKey::from_bytes(&raw).map_err(|_| invalid("not an Ed25519 point"))?;
            Ok(Self::from_inner(Inner::Ed25519(key), &raw))
        }
        #[cfg(not(feature = "ed25519"))]
        {
            let _ = raw;
            Err(KeyError::AlgorithmDisabled {
                algorithm: Algorithm::Ed25519,
            })
        }
    }

    /// An Ed25519 public key written as 64 hex digits (Discord's form).
    ///
    /// # Errors
    ///
    /// As [`PublicKey::ed25519`], and [`KeyError::InvalidKey`] for text
    /// that is not hex.
    pub fn ed25519_hex(text: &str) -> Result<Self, KeyError> {
        let bytes = hex::decode(text.trim()).map_err(|_| invalid("not hex"))?;
        Self::ed25519(&bytes)
    }

    /// An ECDSA P-256 public key from DER SubjectPublicKeyInfo bytes, or from
    /// a SEC1 point (65 bytes uncompressed, 33 compressed).
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidKey`] when the bytes are neither, or not a point
    /// on the curve; [`KeyError::AlgorithmDisabled`] without the `p256` feature.
    pub fn p256(bytes: &[u8]) -> Result<Self, KeyError> {
        #[cfg(feature = "p256")]
        {
            let point = match bytes.strip_prefix(&P256_SPKI_PREFIX[..]) {
                Some(point) => point,
                None if bytes.len() == 65 || bytes.len() == 33 => bytes,
                None => return Err(invalid("not a P-256 SubjectPublicKeyInfo or SEC1 point")),
            };
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map_err(|_| invalid("not a point on P-256"))?;
            Ok(Self::from_inner(Inner::P256(key), bytes))
        }
        #[cfg(not(feature = "p256"))]
        {
            let _ = bytes;
            Err(KeyError::AlgorithmDisabled {
                algorithm: Algorithm::EcdsaP256,
            })
        }
    }

    /// An ECDSA P-256 public key as base64 of its DER SubjectPublicKeyInfo
    /// (SendGrid's verification key).
    ///
    /// # Errors
    ///
    /// As [`PublicKey::p256`], and [`KeyError::InvalidKey`] for text that
    /// is not base64.
    pub fn p256_base64(text: &str) -> Result<Self, KeyError> {
        let bytes = decode_base64(text.trim()).map_err(|_| invalid("not base64"))?;
        Self::p256(&bytes)
    }

    /// The algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        match self.inner {
            #[cfg(feature = "ed25519")]
            Inner::Ed25519(_) => Algorithm::Ed25519,
            #[cfg(feature = "p256")]
            Inner::P256(_) => Algorithm::EcdsaP256,
        }
    }

    #[allow(dead_code)]
    fn from_inner(inner: Inner, encoded: &[u8]) -> Self {
        let digest = Sha256::digest(encoded);
        let mut fingerprint = [0; 8];
        fingerprint.copy_from_slice(&digest[..8]);
        Self { inner, fingerprint }
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PublicKey({:?}, sha256:{})",
            self.algorithm(),
            hex::encode(self.fingerprint)
        )
    }
}

fn invalid(reason: &'static str) -> KeyError {
    KeyError::InvalidKey { reason }
}

/// Every key a scheme accepts at once: shared secrets (for HMAC) and public
/// keys (for Ed25519 and ECDSA), any number of each, so that a rotation works
/// the same way whatever the algorithm. A delivery verifies when one of its
/// signatures verifies under one of the keys of that signature's algorithm.
///
/// A [`Secret`], [`Secrets`] and a [`PublicKey`] each convert into `Keys`.
///
/// ```
/// use tower_webhook::{Keys, Secret};
///
/// let keys = Keys::from(Secret::new("old")?).with_secret(Secret::new("new")?);
/// assert_eq!(format!("{keys:?}"), "Keys { secrets: 2, public_keys: [] }");
/// # Ok::<(), tower_webhook::SecretError>(())
/// ```
#[derive(Clone, Default)]
pub struct Keys {
    pub(crate) secrets: Vec<Secret>,
    pub(crate) public: Vec<PublicKey>,
}

impl Keys {
    /// No keys yet: add some with [`with_secret`](Keys::with_secret) and
    /// [`with_public_key`](Keys::with_public_key).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a shared secret.
    #[must_use]
    pub fn with_secret(mut self, secret: Secret) -> Self {
        self.secrets.push(secret);
        self
    }

    /// Adds a public key.
    #[must_use]
    pub fn with_public_key(mut self, key: PublicKey) -> Self {
        self.public.push(key);
        self
    }

    /// How many secrets and public keys there are.
    pub fn len(&self) -> usize {
        self.secrets.len() + self.public.len()
    }

    /// Whether there are no keys at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether some key verifies `algorithm`.
    pub fn supports(&self, algorithm: Algorithm) -> bool {
        match algorithm {
            Algorithm::HmacSha256 | Algorithm::HmacSha1 | Algorithm::HmacSha512 => !self.secrets.is_empty(),
            other => self.public.iter().any(|k| k.algorithm() == other),
        }
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("secrets", &self.secrets.len())
            .field("public_keys", &self.public)
            .finish()
    }
}

impl From<Secret> for Keys {
    fn from(secret: Secret) -> Self {
        Self::new().with_secret(secret)
    }
}

impl From<Secrets> for Keys {
    fn from(secrets: Secrets) -> Self {
        Self {
            secrets: secrets.iter().cloned().collect(),
            public: Vec::new(),
        }
    }
}

impl From<PublicKey> for Keys {
    fn from(key: PublicKey) -> Self {
        Self::new().with_public_key(key)
    }
}

impl<K: Into<Keys>> FromIterator<K> for Keys {
    fn from_iter<I: IntoIterator<Item = K>>(iter: I) -> Self {
        let mut keys = Self::new();
        for k in iter {
            let k = k.into();
            keys.secrets.extend(k.secrets);
            keys.public.extend(k.public);
        }
        keys
    }
}

/// Tokens a sender sends as they are (GitLab's `X-Gitlab-Token`, Meta's
/// `hub.verify_token`), kept only as SHA-256 digests and compared in
/// constant time.
#[derive(Clone, Default)]
pub(crate) struct TokenDigests(Vec<[u8; 32]>);

impl TokenDigests {
    pub(crate) fn push(&mut self, token: &Secret) {
        self.0.push(Sha256::digest(token.expose()).into());
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `token` is one of them. Every digest is compared, matching or
    /// not, so the time taken does not say which one matched.
    pub(crate) fn matches(&self, token: &[u8]) -> bool {
        let got: [u8; 32] = Sha256::digest(token).into();
        self.0
            .iter()
            .fold(subtle::Choice::from(0), |any, digest| {
                any | subtle::ConstantTimeEq::ct_eq(&digest[..], &got[..])
            })
            .into()
    }
}

impl<'a> FromIterator<&'a Secret> for TokenDigests {
    fn from_iter<I: IntoIterator<Item = &'a Secret>>(tokens: I) -> Self {
        let mut digests = Self::default();
        for token in tokens {
            digests.push(token);
        }
        digests
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_keys_of_the_wrong_length() {
        for len in [0, 31, 33, 43, 45, 64] {
            assert!(
                matches!(
                    PublicKey::ed25519(&vec![1; len]),
                    Err(KeyError::InvalidKey { .. })
                ),
                "{len}"
            );
        }
        assert!(matches!(
            PublicKey::ed25519(&[0u8; 44]),
            Err(KeyError::InvalidKey { .. })
        ));
        assert!(PublicKey::ed25519_hex("zz").is_err());
        assert!(PublicKey::p256_base64("!!").is_err());
    }

    #[cfg(feature = "ed25519")]
    #[test]
    fn ed25519_keys_accept_raw_and_spki_forms_and_show_a_fingerprint() {
        let raw = ed25519_dalek::SigningKey::from_bytes(&[7; 32])
            .verifying_key()
            .to_bytes();
        let mut spki = ED25519_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(&raw);
        let a = PublicKey::ed25519(&raw).unwrap();
        let b = PublicKey::ed25519(&spki).unwrap();
        assert!(a.inner == b.inner);
        let shown = format!("{a:?}");
        assert!(shown.starts_with("PublicKey(Ed25519, sha256:"), "{shown}");
        assert_eq!(shown.len(), "PublicKey(Ed25519, sha256:)".len() + 16, "{shown}");
        assert!(!shown.contains(&hex::encode(raw)), "{shown}");
    }
}
