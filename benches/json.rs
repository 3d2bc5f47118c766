//! Reading a delivery's id and type from its JSON body: the engine's walker
//! (`scheme/json.rs`, a serde visitor over serde_json's deserializer that
//! stops once both fields are found) against serde_json's borrowed
//! deserialization of a derived struct, which is what a hand-rolled receiver
//! writes.
//!
//! Run with `cargo bench --bench json`.
//!
//! Each group is one body size (256 B, 1 KiB, 16 KiB) and one layout:
//! `head` puts `id` and `type` first (the Petstore envelope, Standard
//! Webhooks payloads), `tail` puts `type` after `data` (Stripe's event
//! object), so the walker must read through `data` too. Three readers:
//!
//! - `walker`: [`testing::JsonFields::read`], exactly what a `Spec` runs;
//! - `serde_cow`: `serde_json::from_slice` into `{ id: Option<Cow<str>>,
//!   type: Option<Cow<str>> }` (`#[serde(borrow)]`): reads the whole body,
//!   refuses a duplicated field, handles escapes;
//! - `serde_str`: the same with `Option<&str>` fields, which fails on an
//!   escaped value: the floor of serde_json's borrowed path.

use std::borrow::Cow;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use serde::Deserialize;
use tower_webhook::testing::JsonFields;

#[derive(Deserialize)]
struct HeadCow<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "type")]
    kind: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct HeadStr<'a> {
    id: Option<&'a str>,
    #[serde(rename = "type")]
    kind: Option<&'a str>,
}

/// A body of about `size` bytes: an event whose `data` holds line items.
fn body(size: usize, type_last: bool) -> Vec<u8> {
    let mut items = String::new();
    let mut n = 0;
    let fixed = 120;
    while fixed + items.len() < size {
        if n > 0 {
            items.push(',');
        }
        items.push_str(&format!(
            r#"{{"sku":"SKU-{n:05}","name":"Widget number {n}","qty":{},"price":"19.99"}}"#,
            n % 7 + 1
        ));
        n += 1;
    }
    let text = if type_last {
        format!(
            r#"{{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","created":1700000000,"data":{{"items":[{items}]}},"livemode":false,"type":"order.created"}}"#
        )
    } else {
        format!(
            r#"{{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","type":"order.created","created":1700000000,"data":{{"items":[{items}]}}}}"#
        )
    };
    text.into_bytes()
}

fn readers(c: &mut Criterion) {
    let fields = JsonFields::new("id", "type");
    for (layout, type_last) in [("head", false), ("tail", true)] {
        for size in [256, 1024, 16 * 1024] {
            let body = body(size, type_last);
            // All three read the same values.
            let [id, kind] = fields.read(&body).unwrap();
            let cow: HeadCow<'_> = serde_json::from_slice(&body).unwrap();
            let borrowed: HeadStr<'_> = serde_json::from_slice(&body).unwrap();
            assert_eq!(
                (id.as_deref(), kind.as_deref()),
                (cow.id.as_deref(), cow.kind.as_deref())
            );
            assert_eq!(
                (borrowed.id, borrowed.kind),
                (Some("evt_1NG8Du2eZvKYlo2CUI79vXWy"), Some("order.created"))
            );

            let mut group = c.benchmark_group(format!("json_{layout}"));
            group.throughput(Throughput::Bytes(body.len() as u64));
            group.bench_with_input(BenchmarkId::new("walker", size), &body, |b, body| {
                b.iter(|| black_box(fields.read(black_box(body)).unwrap()))
            });
            group.bench_with_input(BenchmarkId::new("serde_cow", size), &body, |b, body| {
                b.iter(|| black_box(serde_json::from_slice::<HeadCow<'_>>(black_box(body)).unwrap().id))
            });
            group.bench_with_input(BenchmarkId::new("serde_str", size), &body, |b, body| {
                b.iter(|| black_box(serde_json::from_slice::<HeadStr<'_>>(black_box(body)).unwrap().id))
            });
            group.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = readers
}
criterion_main!(benches);
