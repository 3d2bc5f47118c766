//! Decoding of signatures and secrets, without allocation on the hot path.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, Engine};

use crate::secret::{MacTag, MAC_LEN};

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
    /// Decodes one signature into a MAC tag; `None` when it is not exactly
    /// one tag in this encoding.
    pub(crate) fn decode(self, text: &str) -> Option<MacTag> {
        let mut tag = [0u8; MAC_LEN];
        match self {
            Self::Hex => hex::decode_to_slice(text, &mut tag).ok()?,
            Self::Base64 => {
                // 44 characters hold 32 bytes; anything longer is not one tag,
                // and the bound keeps the scratch buffer fixed.
                if text.len() > 44 {
                    return None;
                }
                let mut scratch = [0u8; 48];
                let n = BASE64.decode_slice(text, &mut scratch).ok()?;
                if n != MAC_LEN {
                    return None;
                }
                tag.copy_from_slice(&scratch[..MAC_LEN]);
            }
        }
        Some(tag)
    }

    /// Encodes a tag the way a sender would.
    pub(crate) fn encode(self, tag: &MacTag) -> String {
        match self {
            Self::Hex => hex::encode(tag),
            Self::Base64 => BASE64.encode(tag),
        }
    }
}

pub(crate) fn decode_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    BASE64.decode(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_both_hex_cases_and_rejects_wrong_lengths() {
        let tag = [0xabu8; 32];
        let lower = Encoding::Hex.encode(&tag);
        assert_eq!(Encoding::Hex.decode(&lower), Some(tag));
        assert_eq!(Encoding::Hex.decode(&lower.to_uppercase()), Some(tag));
        assert_eq!(Encoding::Hex.decode(&lower[..62]), None);
        assert_eq!(Encoding::Hex.decode(&format!("{lower}00")), None);
        assert_eq!(Encoding::Hex.decode(&lower.replace('a', "g")), None);
    }

    #[test]
    fn decodes_base64_with_and_without_padding() {
        let tag = [7u8; 32];
        let padded = Encoding::Base64.encode(&tag);
        assert!(padded.ends_with('='));
        assert_eq!(Encoding::Base64.decode(&padded), Some(tag));
        assert_eq!(Encoding::Base64.decode(padded.trim_end_matches('=')), Some(tag));
        assert_eq!(Encoding::Base64.decode(&padded[..8]), None);
        assert_eq!(Encoding::Base64.decode("!!!!"), None);
    }
}
