//! Signature algorithms: which ones exist, which this build verifies, and
//! how long their signatures are.

/// A signature algorithm.
///
/// HMAC is always available; Ed25519 needs the `ed25519` feature and ECDSA
/// P-256 the `p256` feature. Building a scheme or a key that names a
/// disabled algorithm is an `AlgorithmDisabled` error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC-SHA256 under a shared [`Secret`](crate::Secret): 32-byte tags.
    HmacSha256,
    /// HMAC-SHA1 under a shared secret: 20-byte tags (Twilio, Intercom, Vercel).
    HmacSha1,
    /// HMAC-SHA512 under a shared secret: 64-byte tags (Paystack).
    HmacSha512,
    /// Ed25519 (RFC 8032, pure, strict verification: non-canonical
    /// signatures and small-order keys are refused) under a [`PublicKey`](crate::PublicKey):
    /// 64-byte signatures.
    Ed25519,
    /// ECDSA over P-256 with SHA-256 under a [`PublicKey`](crate::PublicKey):
    /// DER (or 64-byte `r‖s`) signatures. High-S signatures are accepted, as
    /// SendGrid's own are high-S.
    EcdsaP256,
}

impl Algorithm {
    /// Whether this build can verify the algorithm.
    pub fn is_enabled(self) -> bool {
        match self {
            Self::HmacSha256 | Self::HmacSha1 | Self::HmacSha512 => true,
            Self::Ed25519 => cfg!(feature = "ed25519"),
            Self::EcdsaP256 => cfg!(feature = "p256"),
        }
    }

    /// Whether a decoded signature of `len` bytes can be one of this algorithm's.
    pub(super) fn fits(self, len: usize) -> bool {
        match self {
            Self::HmacSha256 => len == 32,
            Self::HmacSha1 => len == 20,
            Self::HmacSha512 => len == 64,
            Self::Ed25519 => len == 64,
            Self::EcdsaP256 => (8..=MAX_SIG).contains(&len),
        }
    }
}

/// The longest decoded signature: a DER ECDSA P-256 signature.
pub(crate) const MAX_SIG: usize = 72;
