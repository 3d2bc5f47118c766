//! Decoding of signatures and secrets, without allocation on the hot path.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, Engine};

/// Standard alphabet; padding optional on decode, written on encode.
pub(crate) const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// How a signature is written in its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encoding {
    /// Hexadecimal, as GitHub, Stripe and Slack send it. Upper- and lower-case
    /// digits are both accepted: they spell the same bytes.
    Hex,
    /// Standard base64 (`+`, `/`), as Standard Webhooks and Shopify send it.
    /// Padding is optional.
    Base64,
}

impl Encoding {
    /// Decodes one signature into `out`, returning its length; `None` when
    /// it is not valid in this encoding or longer than `out`.
    pub(crate) fn decode_into(self, text: &str, out: &mut [u8]) -> Option<usize> {
        match self {
            Self::Hex => {
                if !text.len().is_multiple_of(2) || text.len() / 2 > out.len() {
                    return None;
                }
                let n = text.len() / 2;
                faster_hex::hex_decode(text.as_bytes(), &mut out[..n]).ok()?;
                Some(n)
            }
            Self::Base64 => {
                // Text longer than `out` can hold (96 characters for 72
                // bytes) is not one signature: refused before decoding.
                if text.len() > out.len().div_ceil(3) * 4 {
                    return None;
                }
                BASE64.decode_slice(text, out).ok()
            }
        }
    }

    /// Encodes signature bytes the way a sender would.
    #[cfg(any(test, feature = "test-util"))]
    pub(crate) fn encode(self, bytes: &[u8]) -> String {
        match self {
            Self::Hex => hex::encode(bytes),
            Self::Base64 => BASE64.encode(bytes),
        }
    }
}

/// Standard alphabet for keys: padding optional, and the unused low bits of
/// the last character may be set. The Standard Webhooks SDKs (Python's
/// `b64decode(secret + "==")`, JavaScript's `Buffer.from(.., "base64")`)
/// accept such a secret, and their own test suite uses one
/// (`whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS`); a key is decoded once, so
/// the leniency changes no signature check. Signatures stay strict.
const BASE64_KEY: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

pub(crate) fn decode_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    BASE64.decode(text)
}

/// Decodes a secret written in base64, as the senders' SDKs do (see
/// [`BASE64_KEY`]).
pub(crate) fn decode_base64_key(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    BASE64_KEY.decode(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The engine's scratch size: the longest signature, a DER ECDSA P-256 one.
    const MAX_SIG: usize = 72;

    fn decode(e: Encoding, text: &str) -> Option<Vec<u8>> {
        let mut out = [0; MAX_SIG];
        e.decode_into(text, &mut out).map(|n| out[..n].to_vec())
    }

    #[test]
    fn decodes_both_hex_cases_and_rejects_bad_text() {
        let tag = [0xabu8; 32];
        let lower = Encoding::Hex.encode(&tag);
        assert_eq!(decode(Encoding::Hex, &lower).as_deref(), Some(&tag[..]));
        assert_eq!(
            decode(Encoding::Hex, &lower.to_uppercase()).as_deref(),
            Some(&tag[..])
        );
        assert_eq!(decode(Encoding::Hex, &lower[..63]), None);
        assert_eq!(decode(Encoding::Hex, &"ab".repeat(MAX_SIG + 1)), None);
        assert_eq!(decode(Encoding::Hex, &lower.replace('a', "g")), None);
    }

    #[test]
    fn hex_decodes_every_byte_in_either_case_and_refuses_a_bad_digit_anywhere() {
        // The SIMD decoder takes wide blocks and a scalar tail: cover the
        // lengths of SHA-1, SHA-256 and Ed25519 signatures, and odd sizes.
        for len in [1, 15, 16, 17, 20, 31, 32, 33, 64] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let lower = Encoding::Hex.encode(&bytes);
            let mixed: String = lower
                .chars()
                .enumerate()
                .map(|(i, c)| if i % 3 == 0 { c.to_ascii_uppercase() } else { c })
                .collect();
            assert_eq!(
                decode(Encoding::Hex, &mixed).as_deref(),
                Some(&bytes[..]),
                "{mixed}"
            );
            for at in 0..lower.len() {
                for bad in ['g', 'G', ' ', '/', ':', '@', '`'] {
                    let mut text = lower.clone();
                    text.replace_range(at..=at, &bad.to_string());
                    assert_eq!(decode(Encoding::Hex, &text), None, "{text}");
                }
            }
        }
    }

    #[test]
    fn decodes_base64_with_and_without_padding() {
        let tag = [7u8; 32];
        let padded = Encoding::Base64.encode(&tag);
        assert!(padded.ends_with('='));
        assert_eq!(decode(Encoding::Base64, &padded).as_deref(), Some(&tag[..]));
        assert_eq!(
            decode(Encoding::Base64, padded.trim_end_matches('=')).as_deref(),
            Some(&tag[..])
        );
        assert_eq!(decode(Encoding::Base64, &"A".repeat(100)), None);
        assert_eq!(decode(Encoding::Base64, "!!!!"), None);
        let long = Encoding::Base64.encode(&[1; 72]);
        assert_eq!(decode(Encoding::Base64, &long).map(|v| v.len()), Some(72));
        assert_eq!(decode(Encoding::Base64, &Encoding::Base64.encode(&[1; 73])), None);
    }

    #[test]
    fn keys_may_set_trailing_bits_but_signatures_may_not() {
        // `S` carries bits past the 23rd byte; Python's SDK decodes it to these 23 bytes.
        let text = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS";
        assert_eq!(
            hex::encode(decode_base64_key(text).unwrap()),
            "31f290f6bf06298aab4f08d43c3f082cf648a362da2da4"
        );
        assert!(decode_base64(text).is_err());
        assert_eq!(decode(Encoding::Base64, text), None);
        assert!(decode_base64_key("MfKQ!").is_err());
    }
}
