//! Signers holding a private key, for asymmetric senders (Discord, SendGrid,
//! Standard Webhooks `v1a`): a [`Spec`] holds only public keys, so it
//! cannot sign for them itself.

use bytes::Bytes;
use http::header::HeaderMap;

use crate::key::algorithm::Algorithm;
use crate::key::public::PublicKey;
use crate::scheme::sign::{Message, Sign};
#[cfg(any(feature = "ed25519", feature = "p256"))]
use crate::scheme::spec::ConfigError;
use crate::scheme::spec::Spec;

/// A private key, for signing as an asymmetric sender does.
#[derive(Clone)]
#[non_exhaustive]
pub enum SigningKey {
    /// An Ed25519 signing key.
    #[cfg(feature = "ed25519")]
    Ed25519(ed25519_dalek::SigningKey),
    /// An ECDSA P-256 signing key.
    #[cfg(feature = "p256")]
    P256(p256::ecdsa::SigningKey),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

impl SigningKey {
    /// The public key that verifies this key's signatures.
    pub fn public_key(&self) -> PublicKey {
        match self {
            #[cfg(feature = "ed25519")]
            Self::Ed25519(k) => PublicKey::ed25519(k.verifying_key().as_bytes()).expect("a valid key"),
            #[cfg(feature = "p256")]
            Self::P256(k) => PublicKey::p256(&k.verifying_key().to_sec1_bytes()).expect("a valid key"),
            #[allow(unreachable_patterns)]
            _ => unreachable!("SigningKey has no variant without a feature"),
        }
    }

    fn sign(&self, algorithm: Algorithm, parts: &[&[u8]]) -> Option<Vec<u8>> {
        let message = parts.concat();
        let _ = &message;
        match (self, algorithm) {
            #[cfg(feature = "ed25519")]
            (Self::Ed25519(k), Algorithm::Ed25519) => {
                use ed25519_dalek::Signer as _;
                Some(k.sign(&message).to_bytes().to_vec())
            }
            #[cfg(feature = "p256")]
            (Self::P256(k), Algorithm::EcdsaP256) => {
                use p256::ecdsa::signature::Signer as _;
                let signature: p256::ecdsa::Signature = k.sign(&message);
                Some(signature.to_der().as_bytes().to_vec())
            }
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

/// Signs for a [`Spec`] (or preset) with a private key, the way an
/// asymmetric sender (Discord, SendGrid, Standard Webhooks `v1a`) does.
#[derive(Debug, Clone)]
pub struct Signer {
    spec: Spec,
    key: SigningKey,
}

impl Signer {
    /// Signs as `spec`'s sender with `key`.
    pub fn new(spec: impl Into<Spec>, key: SigningKey) -> Self {
        Self {
            spec: spec.into(),
            key,
        }
    }

    /// Signs a [`Message`] (for specs that sign the method or URL).
    pub fn sign_message(&self, message: &Message<'_>) -> HeaderMap {
        self.spec
            .sign_with(message, &|alg, parts| self.key.sign(alg, parts))
    }
}

impl Sign for Signer {
    fn sign_headers(&self, body: &[u8], id: &str, timestamp: i64) -> HeaderMap {
        self.sign_message(&Message::new(body, id, timestamp))
    }

    fn sign_body(&self, body: Bytes, id: &str, timestamp: i64) -> Bytes {
        self.spec
            .sign_body_with(body, id, timestamp, &|alg, parts| self.key.sign(alg, parts))
    }

    fn event_type_header(&self) -> Option<http::HeaderName> {
        self.spec.event_type_header().cloned()
    }
}

impl SigningKey {
    /// An Ed25519 signing key from the hex of its 32-byte seed.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKey`](ConfigError::InvalidKey) unless 32 bytes of hex.
    #[cfg(feature = "ed25519")]
    pub fn ed25519_hex(seed: &str) -> Result<Self, ConfigError> {
        let seed: [u8; 32] = hex::decode(seed.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(ConfigError::InvalidKey {
                reason: "an Ed25519 seed is 32 bytes of hex",
            })?;
        Ok(Self::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// A Standard Webhooks `whsk_` key: base64 of the 64-byte seed‖public key.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKey`](ConfigError::InvalidKey) for anything else.
    #[cfg(feature = "ed25519")]
    pub fn whsk(text: &str) -> Result<Self, ConfigError> {
        let bad = ConfigError::InvalidKey {
            reason: "a whsk_ key is base64 of 64 bytes",
        };
        let bytes = text
            .trim()
            .strip_prefix("whsk_")
            .and_then(|b| crate::key::encoding::decode_base64(b).ok())
            .filter(|b| b.len() == 64)
            .ok_or(bad)?;
        let seed: [u8; 32] = bytes[..32].try_into().expect("64 bytes");
        Ok(Self::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// An ECDSA P-256 signing key from the hex of its 32-byte secret scalar.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKey`](ConfigError::InvalidKey) unless a valid scalar.
    #[cfg(feature = "p256")]
    pub fn p256_hex(scalar: &str) -> Result<Self, ConfigError> {
        let bytes = hex::decode(scalar.trim()).unwrap_or_default();
        p256::ecdsa::SigningKey::from_slice(&bytes)
            .map(Self::P256)
            .map_err(|_| ConfigError::InvalidKey {
                reason: "a P-256 secret scalar is 32 bytes of hex",
            })
    }
}
