//! Verification throughput: the crate's `Scheme::verify` against a bare
//! HMAC-SHA256 of the same bytes, which is the physical limit.
//!
//! Run with `cargo bench --bench verify`.
//!
//! Each group is one body size, so the four functions are measured side by
//! side on the same bytes:
//!
//! - `hmac_bare`: `Hmac::<Sha256>::new_from_slice` + `update` + `finalize`, the
//!   way a hand-rolled receiver computes it (keying included);
//! - `hmac_prekeyed`: clone of a keyed state + `update` + `finalize`, the floor
//!   any verifier can reach;
//! - `petstore`: `Spec::petstore(..).verify`: header lookup, hex decode,
//!   constant-time compare, and reading `id` and `type` from the body;
//! - `standard_webhooks`: `StandardWebhooks::verify`: three headers, the
//!   timestamp check, base64 decode, and `{id}.{timestamp}.{body}`.
//!
//! With `--features ed25519,p256`, two more groups per size compare the
//! asymmetric presets with the bare crates on the same bytes:
//!
//! - `ed25519_bare` / `discord`: `VerifyingKey::verify_strict` over
//!   `{timestamp}{body}` already concatenated, against `Discord::verify`
//!   (two headers, hex decode, concatenation, strict verify, body `id`);
//! - `p256_bare` / `sendgrid`: DER parse + `verify` over `{timestamp}{body}`,
//!   against `SendGrid::verify`;
//! - `discord_forged_x16` / `sendgrid_forged_x16`: the worst case an unkeyed
//!   sender can ask for, 16 forged signatures (issue 27: asymmetric
//!   candidates are capped at the number of keys + 1, so these are refused
//!   before any curve arithmetic).

use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hmac::{Hmac as HmacImpl, Mac};
use http::HeaderMap;
use sha2::Sha256;
use tower_webhook::scheme::{RequestParts, Scheme, Spec, StandardWebhooks};
use tower_webhook::testing::Sign;
use tower_webhook::testing::VerifyHeaders as _;
use tower_webhook::Secret;

const SECRET: &str = "petstore bench secret";
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const TIMESTAMP: i64 = 1_700_000_000;

/// A Petstore envelope of exactly `len` bytes: `id` and `type` first, then a
/// `data` string padding it out.
fn envelope(len: usize) -> Vec<u8> {
    let head = r#"{"id":"evt_0000000001","type":"order.created","created":1700000000,"data":{"pad":""#;
    let tail = r#""}}"#;
    let pad = len - head.len() - tail.len();
    let mut body = Vec::with_capacity(len);
    body.extend_from_slice(head.as_bytes());
    body.resize(head.len() + pad, b'x');
    body.extend_from_slice(tail.as_bytes());
    assert_eq!(body.len(), len);
    body
}

fn verify(c: &mut Criterion) {
    let petstore = Spec::petstore(Secret::new(SECRET).unwrap());
    let standard = StandardWebhooks::new(StandardWebhooks::secret(WHSEC).unwrap());
    let now = UNIX_EPOCH + Duration::from_secs(TIMESTAMP as u64);
    let prekeyed = HmacImpl::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();

    for len in [256, 1024, 16 * 1024, 1024 * 1024] {
        let body = envelope(len);
        let petstore_headers: HeaderMap = petstore.sign_headers(&body, "", TIMESTAMP);
        let standard_headers: HeaderMap = standard.sign_headers(&body, "msg_0000000001", TIMESTAMP);
        // The signed requests must verify, or the bench would time rejections.
        assert!(petstore.verify_headers(&petstore_headers, &body, now).is_ok());
        assert!(standard.verify_headers(&standard_headers, &body, now).is_ok());

        let mut group = c.benchmark_group(format!("verify/{}", label(len)));
        group.throughput(Throughput::Bytes(len as u64));
        if len >= 1024 * 1024 {
            group.sample_size(30).measurement_time(Duration::from_secs(4));
        }
        group.bench_function(BenchmarkId::from_parameter("hmac_bare"), |b| {
            b.iter(|| {
                let mut mac = HmacImpl::<Sha256>::new_from_slice(black_box(SECRET.as_bytes())).unwrap();
                mac.update(black_box(&body));
                mac.finalize().into_bytes()
            });
        });
        group.bench_function(BenchmarkId::from_parameter("hmac_prekeyed"), |b| {
            b.iter(|| {
                let mut mac = prekeyed.clone();
                mac.update(black_box(&body));
                mac.finalize().into_bytes()
            });
        });
        group.bench_function(BenchmarkId::from_parameter("petstore"), |b| {
            b.iter(|| {
                petstore.verify(
                    RequestParts::post(black_box(&petstore_headers)),
                    black_box(&body),
                    now,
                )
            });
        });
        group.bench_function(BenchmarkId::from_parameter("standard_webhooks"), |b| {
            b.iter(|| {
                standard.verify(
                    RequestParts::post(black_box(&standard_headers)),
                    black_box(&body),
                    now,
                )
            });
        });
        asymmetric(&mut group, &body, now);
        group.finish();
    }
}

#[cfg(not(any(feature = "ed25519", feature = "p256")))]
fn asymmetric(
    _: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    _: &[u8],
    _: std::time::SystemTime,
) {
}

#[cfg(any(feature = "ed25519", feature = "p256"))]
fn asymmetric(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    body: &[u8],
    now: std::time::SystemTime,
) {
    use tower_webhook::testing::{Signer, SigningKey};
    let message = [TIMESTAMP.to_string().as_bytes(), body].concat();
    #[cfg(feature = "ed25519")]
    {
        use tower_webhook::scheme::{Discord, DiscordEndpoint};
        let signing = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let key = SigningKey::Ed25519(signing.clone());
        let discord = Discord::new(key.public_key(), DiscordEndpoint::Interactions).unwrap();
        let headers = Signer::new(discord.clone(), key).sign_headers(body, "", TIMESTAMP);
        assert!(discord.verify_headers(&headers, body, now).is_ok());
        let verifying = signing.verifying_key();
        let sig_bytes: [u8; 64] = hex::decode(headers["x-signature-ed25519"].as_bytes())
            .unwrap()
            .try_into()
            .unwrap();
        let signature = ed25519_dalek::Signature::from_bytes(&sig_bytes);
        group.bench_function(BenchmarkId::from_parameter("ed25519_bare"), |b| {
            b.iter(|| verifying.verify_strict(black_box(&message), black_box(&signature)))
        });
        group.bench_function(BenchmarkId::from_parameter("discord"), |b| {
            b.iter(|| discord.verify(RequestParts::post(black_box(&headers)), black_box(body), now))
        });
        // The worst an unkeyed sender can ask for: as many forged signatures
        // as the engine reads (16), each a valid-looking 64-byte value.
        let forged = forged_headers(&headers, "x-signature-ed25519", |i| hex::encode([i; 64]));
        assert!(discord.verify_headers(&forged, body, now).is_err());
        group.bench_function(BenchmarkId::from_parameter("discord_forged_x16"), |b| {
            b.iter(|| discord.verify(RequestParts::post(black_box(&forged)), black_box(body), now))
        });
    }
    #[cfg(feature = "p256")]
    {
        use p256::ecdsa::signature::Verifier;
        use tower_webhook::scheme::SendGrid;
        let signing = p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
        let key = SigningKey::P256(signing.clone());
        let sendgrid = SendGrid::new(key.public_key()).unwrap();
        let headers = Signer::new(sendgrid.clone(), key).sign_headers(body, "", TIMESTAMP);
        assert!(sendgrid.verify_headers(&headers, body, now).is_ok());
        let verifying = *signing.verifying_key();
        let der = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            headers["x-twilio-email-event-webhook-signature"].as_bytes(),
        )
        .unwrap();
        group.bench_function(BenchmarkId::from_parameter("p256_bare"), |b| {
            b.iter(|| {
                let signature = p256::ecdsa::Signature::from_der(black_box(&der)).unwrap();
                verifying.verify(black_box(&message), &signature)
            })
        });
        group.bench_function(BenchmarkId::from_parameter("sendgrid"), |b| {
            b.iter(|| sendgrid.verify(RequestParts::post(black_box(&headers)), black_box(body), now))
        });
        // 16 forged DER signatures: the genuine one with its last byte changed.
        let forged = forged_headers(&headers, "x-twilio-email-event-webhook-signature", |i| {
            let mut der = der.clone();
            let last = der.len() - 1;
            der[last] ^= i + 1;
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der)
        });
        assert!(sendgrid.verify_headers(&forged, body, now).is_err());
        group.bench_function(BenchmarkId::from_parameter("sendgrid_forged_x16"), |b| {
            b.iter(|| sendgrid.verify(RequestParts::post(black_box(&forged)), black_box(body), now))
        });
    }
}

/// `headers` with the signature header `name` replaced by 16 values made by `value`.
#[cfg(any(feature = "ed25519", feature = "p256"))]
fn forged_headers(headers: &HeaderMap, name: &'static str, value: impl Fn(u8) -> String) -> HeaderMap {
    let mut forged = headers.clone();
    forged.remove(name);
    for i in 0..16u8 {
        forged.append(name, value(i).parse().unwrap());
    }
    forged
}

fn label(len: usize) -> String {
    if len >= 1024 * 1024 {
        format!("{}MiB", len / (1024 * 1024))
    } else if len >= 1024 {
        format!("{}KiB", len / 1024)
    } else {
        format!("{len}B")
    }
}

criterion_group!(benches, verify);
criterion_main!(benches);
