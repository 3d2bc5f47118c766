//! tower-webhook against the other Rust crates that verify the same
//! deliveries, on the same bytes in the same run:
//!
//! - Standard Webhooks: `StandardWebhooks::verify` against the
//!   `standardwebhooks` crate's `Webhook::verify` and `svix`'s
//!   `Webhook::verify`;
//! - GitHub and Stripe: `GitHub::verify` / `Stripe::verify` against
//!   `webhook-verify`'s `verify`.
//!
//! Every function verifies a valid delivery, reads the clock where its
//! scheme checks a timestamp (the peers read it themselves; tower-webhook is
//! handed `SystemTime::now()` inside the timed loop), and is checked to
//! accept the delivery before it is timed, so no rejection is measured.
//! tower-webhook's `verify` also reads the event's `id` and `type` from the
//! body (its result carries them); the peers do not.
//!
//! Run with `cd benches/peers && cargo bench` (Criterion; pin it with
//! `taskset -c 1` on a quiet machine).

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use http::HeaderMap;
use tower_webhook::scheme::{GitHub, StandardWebhooks, Stripe};
use tower_webhook::testing::{Sign, VerifyHeaders as _};
use tower_webhook::Secret;

/// Standard Webhooks' own test secret.
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// Stripe and GitHub secrets as those senders issue them.
const STRIPE_SECRET: &str = "whsec_test_secret_for_the_peer_bench";
const GITHUB_SECRET: &str = "It's a Secret to Everybody";

/// A JSON event of exactly `len` bytes: `id` and `type` first, then a
/// `data` string padding it out.
fn envelope(len: usize) -> Vec<u8> {
    let head = r#"{"id":"evt_0000000001","type":"order.created","created":1700000000,"data":{"pad":""#;
    let tail = r#""}}"#;
    let mut body = Vec::with_capacity(len);
    body.extend_from_slice(head.as_bytes());
    body.resize(len - tail.len(), b'x');
    body.extend_from_slice(tail.as_bytes());
    assert_eq!(body.len(), len);
    body
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn label(len: usize) -> String {
    match len {
        len if len >= 1024 * 1024 => format!("{}MiB", len / (1024 * 1024)),
        len if len >= 1024 => format!("{}KiB", len / 1024),
        len => format!("{len}B"),
    }
}

fn peers(c: &mut Criterion) {
    let ours_standard = StandardWebhooks::new(StandardWebhooks::secret(WHSEC).unwrap());
    let ours_github = GitHub::new(Secret::new(GITHUB_SECRET).unwrap());
    let ours_stripe = Stripe::new(Secret::new(STRIPE_SECRET).unwrap());
    let standardwebhooks = standardwebhooks::Webhook::new(WHSEC).unwrap();
    let svix = svix::webhooks::Webhook::new(WHSEC).unwrap();
    let wv_github = webhook_verify::Secret::new(GITHUB_SECRET);
    let wv_stripe = webhook_verify::Secret::new(STRIPE_SECRET);

    for len in [256, 1024, 16 * 1024, 1024 * 1024] {
        let body = envelope(len);
        // Signed now: the peers check the timestamp against their own clock.
        let timestamp = now_secs();
        let standard: HeaderMap = ours_standard.sign_headers(&body, "msg_0000000001", timestamp);
        let github: HeaderMap = ours_github.sign_headers(&body, "72d3162e-cc78-11e3-81ab-4c9367dc0958", timestamp);
        let stripe: HeaderMap = ours_stripe.sign_headers(&body, "", timestamp);

        // Each must accept its delivery, or the bench would time rejections.
        assert!(ours_standard.verify_headers(&standard, &body, SystemTime::now()).is_ok());
        assert!(ours_github.verify_headers(&github, &body, SystemTime::now()).is_ok());
        assert!(ours_stripe.verify_headers(&stripe, &body, SystemTime::now()).is_ok());
        standardwebhooks.verify(&body, &standard).expect("standardwebhooks accepts it");
        svix.verify(&body, &standard).expect("svix accepts it");
        webhook_verify::verify(webhook_verify::Provider::GitHub, &github, &body, &wv_github, Default::default())
            .expect("webhook-verify accepts the GitHub delivery");
        webhook_verify::verify(webhook_verify::Provider::Stripe, &stripe, &body, &wv_stripe, Default::default())
            .expect("webhook-verify accepts the Stripe delivery");

        let mut group = c.benchmark_group(format!("peers/{}", label(len)));
        group.throughput(Throughput::Bytes(len as u64));
        if len >= 1024 * 1024 {
            group.sample_size(20).measurement_time(Duration::from_secs(4));
        }
        group.bench_function(BenchmarkId::new("standard_webhooks", "tower_webhook"), |b| {
            b.iter(|| ours_standard.verify_headers(black_box(&standard), black_box(&body), SystemTime::now()).is_ok())
        });
        group.bench_function(BenchmarkId::new("standard_webhooks", "standardwebhooks"), |b| {
            b.iter(|| standardwebhooks.verify(black_box(&body), black_box(&standard)).is_ok())
        });
        group.bench_function(BenchmarkId::new("standard_webhooks", "svix"), |b| {
            b.iter(|| svix.verify(black_box(&body), black_box(&standard)).is_ok())
        });
        group.bench_function(BenchmarkId::new("github", "tower_webhook"), |b| {
            b.iter(|| ours_github.verify_headers(black_box(&github), black_box(&body), SystemTime::now()).is_ok())
        });
        group.bench_function(BenchmarkId::new("github", "webhook_verify"), |b| {
            b.iter(|| {
                webhook_verify::verify(
                    webhook_verify::Provider::GitHub,
                    black_box(&github),
                    black_box(&body),
                    &wv_github,
                    Default::default(),
                )
                .is_ok()
            })
        });
        group.bench_function(BenchmarkId::new("stripe", "tower_webhook"), |b| {
            b.iter(|| ours_stripe.verify_headers(black_box(&stripe), black_box(&body), SystemTime::now()).is_ok())
        });
        group.bench_function(BenchmarkId::new("stripe", "webhook_verify"), |b| {
            b.iter(|| {
                webhook_verify::verify(
                    webhook_verify::Provider::Stripe,
                    black_box(&stripe),
                    black_box(&body),
                    &wv_stripe,
                    Default::default(),
                )
                .is_ok()
            })
        });
        group.finish();
    }
}

criterion_group!(benches, peers);
criterion_main!(benches);
