//! What a sender is trusted by: shared secrets ([`Secret`], [`Secrets`]),
//! public keys ([`PublicKey`]), the sets of both a scheme accepts at once
//! ([`Keys`]), the [`Algorithm`]s they verify and the [`Encoding`]s
//! signatures are written in.
//!
//! This floor knows nothing of requests, rejections or schemes: it turns
//! keys into prepared verifiers ([`KeyRing`](ring::KeyRing)) and
//! answers whether bytes carry a valid signature. The schemes above it
//! decide where those bytes come from.

pub(crate) mod algorithm;
pub(crate) mod encoding;
pub(crate) mod error;
pub(crate) mod public;
pub(crate) mod ring;
pub(crate) mod secret;

pub use self::algorithm::Algorithm;
pub use self::encoding::Encoding;
pub use self::error::{KeyError, SecretError};
pub use self::public::{Keys, PublicKey};
pub use self::secret::{Secret, Secrets};
