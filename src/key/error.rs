//! Why a key could not be built: [`SecretError`] for shared secrets,
//! [`KeyError`] for public keys. Neither message ever holds key material.

use std::fmt;

use super::algorithm::Algorithm;

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
    /// A secret given without its scheme's prefix decodes to an Ed25519
    /// public key (a 32-byte point, or an Ed25519 SubjectPublicKeyInfo):
    /// used as an HMAC secret, a public key lets anyone sign. Write the
    /// prefix that says which it is (Standard Webhooks: `whpk_` for a public
    /// key, `whsec_` for a secret).
    LooksLikePublicKey,
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "webhook secret is empty",
            Self::InvalidBase64 => "webhook secret is not valid base64",
            Self::NoSecrets => "no webhook secret configured",
            Self::LooksLikePublicKey => {
                "webhook secret without a prefix decodes to an Ed25519 public key: \
                 prefix a public key with `whpk_`, or a secret with `whsec_`"
            }
        })
    }
}

impl std::error::Error for SecretError {}

/// Why a public key could not be read.
///
/// A scheme's builder reports the same two mistakes as
/// [`ConfigError::InvalidKey`](crate::scheme::ConfigError::InvalidKey) and
/// [`ConfigError::AlgorithmDisabled`](crate::scheme::ConfigError::AlgorithmDisabled),
/// which a `KeyError` converts into.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The key could not be read.
    InvalidKey {
        /// What is wrong with it (never the key itself).
        reason: &'static str,
    },
    /// The key's algorithm needs a cargo feature this build lacks.
    AlgorithmDisabled {
        /// The algorithm.
        algorithm: Algorithm,
    },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidKey { reason } => write!(f, "invalid key: {reason}"),
            Self::AlgorithmDisabled { algorithm } => {
                write!(f, "{algorithm:?} needs a cargo feature this build lacks")
            }
        }
    }
}

impl std::error::Error for KeyError {}
