//! The layer's cost per request, in process: `oneshot` through
//! `WebhookLayer` + `LruGuard` + a trivial handler, against the same handler
//! called directly.
//!
//! Run with `cargo bench --bench layer`.
//!
//! Fairness: both variants get the same requests, a 1 KiB Petstore envelope
//! signed with a distinct event id each, built (and signed) by criterion's
//! batched setup outside the timed loop. The timed loop is the same for both:
//! clone the service, `oneshot` the request, keep the response; requests and
//! responses are dropped outside the timed loop too. So the difference is
//! exactly what the layer does: read the body, verify it, ask the guard
//! (which, with fresh ids, inserts into the LRU and evicts once full), forward
//! with the `Verified` extension, and commit. The `duplicate` variant resends
//! one processed event, so it is answered by the guard without the handler.
//! The `cancel_on_disconnect` variant runs the handler inside the response
//! future rather than as a task of its own (the default).
//!
//! The `observe` variants are the `layer` variant with an observer set
//! (`WebhookLayer::observer`): one that does nothing (the hook's own cost:
//! the clock reads and the per-request record), `Metrics` recording into a
//! Prometheus recorder (`metrics-exporter-prometheus`, installed as the
//! global recorder for this process), and `RecentDeliveries`. No `tracing`
//! subscriber is installed for them, so the delivery span is disabled, as in
//! a receiver that does not log at `info`; `layer_span_fmt` is the plain
//! `layer` variant with a fmt subscriber at `info` (writing nowhere), so the
//! span is recorded.
//!
//! The `router` group drives the axum `Router` of `examples/baselines.rs`
//! (axum's `Body`, routing, response boxing) without sockets: the same three
//! routes the HTTP load test compares, minus the HTTP and TCP work.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tower::{service_fn, ServiceBuilder, ServiceExt};
use tower_webhook::observe::{Metrics, Observer, RecentDeliveries, Report};
use tower_webhook::scheme::Spec;
use tower_webhook::{testing, LruGuard, Secret, WebhookLayer};

const SECRET: &str = "petstore bench secret";
const BODY_LEN: usize = 1024;

/// A Petstore envelope of exactly `BODY_LEN` bytes for the event `id`.
fn envelope(id: u64) -> Bytes {
    let head =
        format!(r#"{{"id":"evt_{id:012}","type":"order.created","created":1700000000,"data":{{"pad":""#);
    let tail = r#""}}"#;
    let mut body = head.into_bytes();
    body.resize(BODY_LEN - tail.len(), b'x');
    body.extend_from_slice(tail.as_bytes());
    assert_eq!(body.len(), BODY_LEN);
    body.into()
}

async fn handler(_request: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"ok"))))
}

/// An observer that does nothing: what remains is the hook's own cost.
struct Noop;

impl Observer for Noop {
    fn delivery(&self, report: &Report<'_>) {
        std::hint::black_box(report);
    }
}

fn layer(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let scheme = Spec::petstore(Secret::new(SECRET).unwrap());
    let next_id = AtomicU64::new(0);
    let fresh_request = || {
        let id = next_id.fetch_add(1, Ordering::Relaxed);
        testing::signed_request::<Full<Bytes>>(&scheme, envelope(id), "")
    };

    let bare = service_fn(handler);
    let layered = ServiceBuilder::new()
        .layer(WebhookLayer::new(scheme.clone()).guard(LruGuard::new(LruGuard::DEFAULT_CAPACITY)))
        .service(service_fn(handler));
    // The handler inside the response future instead of a task of its own:
    // the cost of running handlers to completion is the difference.
    let inline = ServiceBuilder::new()
        .layer(
            WebhookLayer::new(scheme.clone())
                .guard(LruGuard::new(LruGuard::DEFAULT_CAPACITY))
                .cancel_on_disconnect(true),
        )
        .service(service_fn(handler));

    // Both paths answer 200, and a replay is answered by the guard.
    runtime.block_on(async {
        let request = fresh_request();
        let replay = request_like(&request);
        assert_eq!(
            bare.oneshot(fresh_request()).await.unwrap().status(),
            StatusCode::OK
        );
        assert_eq!(
            layered.clone().oneshot(request).await.unwrap().status(),
            StatusCode::OK
        );
        let again = layered.clone().oneshot(replay).await.unwrap();
        assert_eq!(again.status(), StatusCode::OK);
        assert!(again.headers().contains_key(http::header::CONTENT_TYPE));
    });
    let processed = fresh_request();
    runtime.block_on(async {
        let first = layered.clone().oneshot(request_like(&processed)).await.unwrap();
        assert_eq!(first.status(), StatusCode::OK);
    });

    let mut group = c.benchmark_group("layer/1KiB");
    group.throughput(Throughput::Elements(1));
    group.bench_function("no_layer", |b| {
        b.to_async(&runtime)
            .iter_batched(fresh_request, |r| bare.oneshot(r), BatchSize::SmallInput);
    });
    group.bench_function("layer", |b| {
        b.to_async(&runtime).iter_batched(
            fresh_request,
            |r| layered.clone().oneshot(r),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("layer_cancel_on_disconnect", |b| {
        b.to_async(&runtime).iter_batched(
            fresh_request,
            |r| inline.clone().oneshot(r),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("layer_duplicate", |b| {
        b.to_async(&runtime).iter_batched(
            || request_like(&processed),
            |r| layered.clone().oneshot(r),
            BatchSize::SmallInput,
        );
    });
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let prometheus = recorder.handle();
    metrics::set_global_recorder(recorder).expect("the bench's only recorder");
    let observed = |name: &str, layer: WebhookLayer<Spec, LruGuard>| {
        let service = ServiceBuilder::new().layer(layer).service(service_fn(handler));
        let status = runtime
            .block_on(service.clone().oneshot(fresh_request()))
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::OK, "{name}");
        (name.to_owned(), service)
    };
    let base = || WebhookLayer::new(scheme.clone()).guard(LruGuard::new(LruGuard::DEFAULT_CAPACITY));
    let variants = [
        observed("layer_observer_noop", base().observer(Noop)),
        observed(
            "layer_metrics",
            base().scheme_name("petstore").observer(Metrics::new()),
        ),
        observed("layer_recent", base().observer(RecentDeliveries::new(100))),
    ];
    assert!(prometheus.render().contains("webhook_deliveries_total"));
    for (name, service) in &variants {
        group.bench_function(name.as_str(), |b| {
            b.to_async(&runtime).iter_batched(
                fresh_request,
                |r| service.clone().oneshot(r),
                BatchSize::SmallInput,
            );
        });
    }
    // The span's own cost once a subscriber wants it: `tracing_subscriber`'s
    // fmt subscriber at `info`, writing to nowhere (a delivery that succeeds
    // logs no line of its own, so this is the span and its fields).
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::io::sink)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let subscribed = tracing::subscriber::set_default(subscriber);
    group.bench_function("layer_span_fmt", |b| {
        b.to_async(&runtime).iter_batched(
            fresh_request,
            |r| layered.clone().oneshot(r),
            BatchSize::SmallInput,
        );
    });
    drop(subscribed);
    group.finish();
}

/// A copy of a signed request: same headers, same body.
fn request_like(request: &Request<Full<Bytes>>) -> Request<Full<Bytes>> {
    let mut copy = Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.headers_mut() = request.headers().clone();
    copy
}

fn router(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    // As `axum::serve` does: handlers (and the layer) become routes once,
    // not per request.
    let app = baselines::app(SECRET).unwrap().with_state::<()>(());
    let scheme = Spec::petstore(Secret::new(SECRET).unwrap());
    let next_id = AtomicU64::new(1 << 40);

    let mut group = c.benchmark_group("router/1KiB");
    group.throughput(Throughput::Elements(1));
    for route in ["unverified", "handrolled", "handrolled-typed", "layer"] {
        let fresh_request = || {
            let id = next_id.fetch_add(1, Ordering::Relaxed);
            let mut request = testing::signed_request::<axum::body::Body>(&scheme, envelope(id), "");
            *request.uri_mut() = format!("/{route}").parse().unwrap();
            request
        };
        let status = runtime
            .block_on(app.clone().oneshot(fresh_request()))
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::OK, "{route}");
        group.bench_function(route, |b| {
            b.to_async(&runtime).iter_batched(
                fresh_request,
                |r| app.clone().oneshot(r),
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

#[path = "../examples/baselines.rs"]
#[allow(dead_code)]
mod baselines;

criterion_group!(benches, layer, router);
criterion_main!(benches);
