//! The configured keys prepared for the algorithms a scheme uses
//! ([`KeyRing`]), and the signatures a delivery carries ([`Sig`],
//! [`Candidates`]).

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use subtle::{Choice, ConstantTimeEq};

use super::algorithm::{Algorithm, MAX_SIG};
use super::encoding::Encoding;
#[cfg(any(feature = "ed25519", feature = "p256"))]
use super::public::Inner;
use super::public::Keys;

type HmacSha256 = Hmac<Sha256>;
type HmacSha1 = Hmac<Sha1>;
type HmacSha512 = Hmac<Sha512>;

/// The most signatures one delivery may carry. Senders send one, or a few
/// during a key rotation; more is refused as malformed.
pub(crate) const MAX_SIGNATURES: usize = 16;

/// One decoded signature, on the stack.
#[derive(Clone, Copy)]
pub(crate) struct Sig {
    /// Index of the signature version (and so the algorithm) it is for.
    pub(crate) version: u8,
    len: u8,
    bytes: [u8; MAX_SIG],
}

impl Sig {
    /// One signature as written in a delivery, decoded from `encoding`, for
    /// signature version `version`. `None` when the text does not decode, or
    /// decodes to a length `algorithm` never produces: such a signature
    /// cannot verify, and is skipped as the providers' libraries skip it.
    #[inline]
    pub(crate) fn decode(version: u8, algorithm: Algorithm, encoding: Encoding, text: &str) -> Option<Self> {
        let mut sig = Self {
            version,
            len: 0,
            bytes: [0; MAX_SIG],
        };
        let n = encoding.decode_into(text, &mut sig.bytes)?;
        if !algorithm.fits(n) {
            return None;
        }
        sig.len = n as u8;
        Some(sig)
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// A delivery carried more than [`MAX_SIGNATURES`] signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooManySignatures;

/// The signatures a delivery carries.
pub(crate) struct Candidates {
    sigs: [Sig; MAX_SIGNATURES],
    len: usize,
}

impl Candidates {
    pub(crate) fn new() -> Self {
        Self {
            sigs: [Sig {
                version: 0,
                len: 0,
                bytes: [0; MAX_SIG],
            }; MAX_SIGNATURES],
            len: 0,
        }
    }

    /// Adds a signature.
    #[inline]
    pub(crate) fn push(&mut self, sig: Sig) -> Result<(), TooManySignatures> {
        let slot = self.sigs.get_mut(self.len).ok_or(TooManySignatures)?;
        *slot = sig;
        self.len += 1;
        Ok(())
    }

    pub(crate) fn all(&self) -> &[Sig] {
        &self.sigs[..self.len]
    }
}

/// What verified: the key that did, and a canonical form of the signature
/// (the replay key of a scheme keyed on the signature).
#[derive(Debug, Clone)]
pub(crate) struct Matched {
    pub(crate) key: usize,
    canonical: [u8; 64],
    len: u8,
}

impl Matched {
    fn new(key: usize, canonical: &[u8]) -> Self {
        let mut bytes = [0; 64];
        bytes[..canonical.len()].copy_from_slice(canonical);
        Self {
            key,
            canonical: bytes,
            len: canonical.len() as u8,
        }
    }

    /// The signature in a canonical form (the MAC, the Ed25519 signature,
    /// the low-S `r‖s`): the same for every spelling of one signature.
    pub(crate) fn canonical(&self) -> &[u8] {
        &self.canonical[..usize::from(self.len)]
    }
}

/// The configured keys, prepared for the algorithms a scheme uses: HMAC keys
/// are keyed once (cloning the keyed state per request is what "pre-key once"
/// means), public keys are decoded once.
#[derive(Clone, Default)]
pub(crate) struct KeyRing {
    hmac256: Vec<HmacSha256>,
    hmac1: Vec<HmacSha1>,
    hmac512: Vec<HmacSha512>,
    #[cfg(feature = "ed25519")]
    ed25519: Vec<ed25519_dalek::VerifyingKey>,
    #[cfg(feature = "p256")]
    p256: Vec<p256::ecdsa::VerifyingKey>,
}

impl KeyRing {
    pub(crate) fn new(keys: &Keys, algorithms: impl Iterator<Item = Algorithm> + Clone) -> Self {
        let uses = |a| algorithms.clone().any(|b| b == a);
        let mut ring = Self::default();
        for secret in &keys.secrets {
            if uses(Algorithm::HmacSha256) {
                ring.hmac256.push(
                    HmacSha256::new_from_slice(secret.expose()).expect("HMAC takes keys of any length"),
                );
            }
            if uses(Algorithm::HmacSha1) {
                ring.hmac1
                    .push(HmacSha1::new_from_slice(secret.expose()).expect("HMAC takes keys of any length"));
            }
            if uses(Algorithm::HmacSha512) {
                ring.hmac512.push(
                    HmacSha512::new_from_slice(secret.expose()).expect("HMAC takes keys of any length"),
                );
            }
        }
        // Without the `ed25519` and `p256` features no public key can exist,
        // and this loop's body is a match of no arms.
        #[allow(unused_variables, clippy::never_loop)]
        for key in &keys.public {
            match *key.inner() {
                #[cfg(feature = "ed25519")]
                Inner::Ed25519(k) => ring.ed25519.push(k),
                #[cfg(feature = "p256")]
                Inner::P256(k) => ring.p256.push(k),
            }
        }
        ring
    }

    /// How many keys verify `algorithm`.
    pub(crate) fn count(&self, algorithm: Algorithm) -> usize {
        match algorithm {
            Algorithm::HmacSha256 => self.hmac256.len(),
            Algorithm::HmacSha1 => self.hmac1.len(),
            Algorithm::HmacSha512 => self.hmac512.len(),
            #[cfg(feature = "ed25519")]
            Algorithm::Ed25519 => self.ed25519.len(),
            #[cfg(feature = "p256")]
            Algorithm::EcdsaP256 => self.p256.len(),
            #[allow(unreachable_patterns)]
            _ => 0,
        }
    }

    /// HMAC-SHA256 of the concatenated `parts` under key `key`.
    pub(crate) fn hmac256(&self, key: usize, parts: &[&[u8]]) -> Option<[u8; 32]> {
        let mut mac = self.hmac256.get(key)?.clone();
        for part in parts {
            mac.update(part);
        }
        Some(mac.finalize().into_bytes().into())
    }

    /// HMAC-SHA1 of the concatenated `parts` under key `key`.
    pub(crate) fn hmac1(&self, key: usize, parts: &[&[u8]]) -> Option<[u8; 20]> {
        let mut mac = self.hmac1.get(key)?.clone();
        for part in parts {
            mac.update(part);
        }
        Some(mac.finalize().into_bytes().into())
    }

    /// HMAC-SHA512 of the concatenated `parts` under key `key`.
    pub(crate) fn hmac512(&self, key: usize, parts: &[&[u8]]) -> Option<[u8; 64]> {
        let mut mac = self.hmac512.get(key)?.clone();
        for part in parts {
            mac.update(part);
        }
        Some(mac.finalize().into_bytes().into())
    }

    /// The first key under which one of `sigs` (all for `algorithm`) verifies
    /// `parts`, concatenated.
    pub(crate) fn verify(&self, algorithm: Algorithm, parts: &[&[u8]], sigs: &[&Sig]) -> Option<Matched> {
        match algorithm {
            Algorithm::HmacSha256 => (0..self.hmac256.len()).find_map(|key| {
                let tag = self.hmac256(key, parts)?;
                hmac_hit(&tag, sigs).then(|| Matched::new(key, &tag))
            }),
            Algorithm::HmacSha1 => (0..self.hmac1.len()).find_map(|key| {
                let tag = self.hmac1(key, parts)?;
                hmac_hit(&tag, sigs).then(|| Matched::new(key, &tag))
            }),
            Algorithm::HmacSha512 => (0..self.hmac512.len()).find_map(|key| {
                let tag = self.hmac512(key, parts)?;
                hmac_hit(&tag, sigs).then(|| Matched::new(key, &tag))
            }),
            #[cfg(feature = "ed25519")]
            Algorithm::Ed25519 => {
                if self.ed25519.is_empty() {
                    return None;
                }
                // ed25519-dalek takes the message as one slice (pure Ed25519
                // cannot be fed in pieces): the signed parts are joined.
                let message = parts.concat();
                for sig in sigs {
                    let Ok(bytes) = <[u8; 64]>::try_from(sig.bytes()) else {
                        continue;
                    };
                    let signature = ed25519_dalek::Signature::from_bytes(&bytes);
                    for (key, verifying) in self.ed25519.iter().enumerate() {
                        // Strict: refuses non-canonical `s` and small-order
                        // keys, so a signature has one form and keys the
                        // replay guard once.
                        if verifying.verify_strict(&message, &signature).is_ok() {
                            return Some(Matched::new(key, &bytes));
                        }
                    }
                }
                None
            }
            #[cfg(feature = "p256")]
            Algorithm::EcdsaP256 => {
                use p256::ecdsa::signature::DigestVerifier;
                use sha2::Digest;
                if self.p256.is_empty() {
                    return None;
                }
                let mut digest = Sha256::new();
                for part in parts {
                    digest.update(part);
                }
                for sig in sigs {
                    let bytes = sig.bytes();
                    let parsed = if bytes.len() == 64 {
                        p256::ecdsa::Signature::from_slice(bytes)
                    } else {
                        p256::ecdsa::Signature::from_der(bytes)
                    };
                    let Ok(signature) = parsed else { continue };
                    for (key, verifying) in self.p256.iter().enumerate() {
                        if verifying.verify_digest(digest.clone(), &signature).is_ok() {
                            // (r, s) and (r, n - s) both verify: key the
                            // replay guard on the low-S form, so flipping `s`
                            // does not make a captured delivery new.
                            let canonical = signature.normalize_s().unwrap_or(signature).to_bytes();
                            return Some(Matched::new(key, &canonical));
                        }
                    }
                }
                None
            }
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

/// Whether `tag` equals one of `sigs`, in constant time: every candidate is
/// compared in full, and only the final yes/no leaves the constant-time domain,
/// so the time taken does not tell how many leading bytes of a forgery were right.
fn hmac_hit(tag: &[u8], sigs: &[&Sig]) -> bool {
    let mine = words(tag);
    let n = tag.len().div_ceil(8);
    let mut hit = Choice::from(0);
    for sig in sigs {
        // Lengths are public (fixed by the algorithm), so skipping a
        // candidate of another length leaks nothing.
        if sig.bytes().len() == tag.len() {
            hit |= mine[..n].ct_eq(&words(sig.bytes())[..n]);
        }
    }
    bool::from(hit)
}

/// Bytes (a tag of at most 64 bytes, HMAC-SHA512's) as 64-bit words,
/// zero-padded: `subtle` compares a slice element by element, each through an
/// optimization barrier, so comparing 4 words instead of 32 bytes is 8 times
/// fewer barriers with the same constant-time guarantee (every word is
/// compared, always).
fn words(bytes: &[u8]) -> [u64; 8] {
    let mut words = [0u64; 8];
    for (word, chunk) in words.iter_mut().zip(bytes.chunks(8)) {
        let mut buf = [0; 8];
        buf[..chunk.len()].copy_from_slice(chunk);
        *word = u64::from_ne_bytes(buf);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::secret::Secret;

    fn ring(secrets: &[&str], algorithm: Algorithm) -> KeyRing {
        let keys: Keys = secrets.iter().map(|s| Secret::new(s).unwrap()).collect();
        KeyRing::new(&keys, [algorithm].into_iter())
    }

    fn sig(algorithm: Algorithm, bytes: &[u8]) -> Sig {
        Sig::decode(0, algorithm, Encoding::Hex, &hex::encode(bytes)).unwrap()
    }

    #[test]
    fn mac_matches_the_rfc_4231_and_2202_vectors() {
        // RFC 4231 test case 2 (SHA-256), RFC 2202 test case 2 (SHA-1).
        let parts: &[&[u8]] = &[b"what do ya want ", b"for nothing?"];
        let tag = ring(&["Jefe"], Algorithm::HmacSha256).hmac256(0, parts).unwrap();
        assert_eq!(
            hex::encode(tag),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let tag = ring(&["Jefe"], Algorithm::HmacSha1).hmac1(0, parts).unwrap();
        assert_eq!(hex::encode(tag), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
        // RFC 4231 test case 2 (SHA-512).
        let tag = ring(&["Jefe"], Algorithm::HmacSha512).hmac512(0, parts).unwrap();
        assert_eq!(
            hex::encode(tag),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
             9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        );
    }

    #[test]
    fn a_tag_differing_in_any_one_byte_does_not_match() {
        for algorithm in [Algorithm::HmacSha256, Algorithm::HmacSha1, Algorithm::HmacSha512] {
            let ring = ring(&["key"], algorithm);
            let tag = match algorithm {
                Algorithm::HmacSha256 => ring.hmac256(0, &[b"body"]).unwrap().to_vec(),
                Algorithm::HmacSha512 => ring.hmac512(0, &[b"body"]).unwrap().to_vec(),
                _ => ring.hmac1(0, &[b"body"]).unwrap().to_vec(),
            };
            let good = sig(algorithm, &tag);
            assert!(ring.verify(algorithm, &[b"body"], &[&good]).is_some());
            for at in 0..tag.len() {
                let mut forged = tag.clone();
                forged[at] ^= 0x80;
                let forged = sig(algorithm, &forged);
                assert!(
                    ring.verify(algorithm, &[b"body"], &[&forged]).is_none(),
                    "{algorithm:?} byte {at}"
                );
            }
        }
    }

    #[test]
    fn any_secret_matches_during_rotation_for_every_hmac() {
        for algorithm in [Algorithm::HmacSha256, Algorithm::HmacSha1, Algorithm::HmacSha512] {
            let new = ring(&["new"], algorithm);
            let both = ring(&["old", "new"], algorithm);
            let tag = match algorithm {
                Algorithm::HmacSha256 => new.hmac256(0, &[b"body"]).unwrap().to_vec(),
                Algorithm::HmacSha512 => new.hmac512(0, &[b"body"]).unwrap().to_vec(),
                _ => new.hmac1(0, &[b"body"]).unwrap().to_vec(),
            };
            let by_new = sig(algorithm, &tag);
            let matched = both.verify(algorithm, &[b"bo", b"dy"], &[&by_new]).unwrap();
            assert_eq!(matched.key, 1);
            assert!(ring(&["old"], algorithm)
                .verify(algorithm, &[b"body"], &[&by_new])
                .is_none());
        }
    }

    #[test]
    fn signatures_of_the_wrong_length_are_skipped() {
        let decode = |algorithm, len| Sig::decode(0, algorithm, Encoding::Hex, &"00".repeat(len));
        assert!(decode(Algorithm::HmacSha256, 20).is_none());
        assert!(decode(Algorithm::HmacSha1, 32).is_none());
        assert!(decode(Algorithm::HmacSha512, 32).is_none());
        assert!(decode(Algorithm::Ed25519, 63).is_none());
        let mut c = Candidates::new();
        assert!(c.all().is_empty());
        for _ in 0..MAX_SIGNATURES {
            c.push(decode(Algorithm::HmacSha1, 20).unwrap()).unwrap();
        }
        assert!(c.push(decode(Algorithm::HmacSha1, 20).unwrap()).is_err());
    }
}
