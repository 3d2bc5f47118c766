//! Turns fuzz input into a delivery: one byte choosing the scheme, header
//! lines `name:value` (raw bytes, repeats kept) up to a blank line, then the body.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{HeaderMap, HeaderName, HeaderValue};
use tower_webhook::scheme::{Algorithm, Encoding, FieldSource, Spec, Scheme, StandardWebhooks, TimestampFormat};
use tower_webhook::Secret;

/// The clock every scheme here runs at (the seeds are signed at this time).
pub const NOW: u64 = 1_700_000_000;

pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

/// The schemes under test: 0 to 2 are keyed with `fuzz secret` (the seeds
/// are signed for them), then every preset of `testing::presets()` with its
/// test keys, so a new preset is fuzzed as soon as it is registered.
pub fn scheme(which: u8) -> Box<dyn Scheme> {
    let secret = || Secret::new("fuzz secret").unwrap();
    let presets = tower_webhook::testing::presets();
    match usize::from(which) % (3 + presets.len()) {
        0 => Box::new(Spec::petstore(secret())),
        1 => Box::new(
            Spec::builder("acme")
                .signature_header("x-acme-signature")
                .version("sha256=", Algorithm::HmacSha256, Encoding::Base64)
                .timestamp_header("x-acme-timestamp", TimestampFormat::UnixSeconds)
                .tolerance(Duration::from_secs(300))
                .id(FieldSource::header("x-acme-delivery"))
                .signed_content("{timestamp}.{id}.{body}")
                .keys(secret())
                .build()
                .unwrap(),
        ),
        2 => Box::new(StandardWebhooks::new(secret())),
        n => {
            let preset = &presets[n - 3];
            (preset.scheme)(&(preset.test_keys)().0, "https://hooks.example.com/webhooks").unwrap()
        }
    }
}

pub fn parse(data: &[u8]) -> Option<(u8, HeaderMap, &[u8])> {
    let (&which, rest) = data.split_first()?;
    let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&rest[..at], &rest[at + 2..]),
        None => (rest, &[][..]),
    };
    let mut headers = HeaderMap::new();
    for line in head.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(&line[colon + 1..]),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    Some((which, headers, body))
}
