//! Helpers shared by the integration tests (`malformed`, `hostile`, `layer`).
#![allow(dead_code)] // each test crate uses its own part

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Frame;
use http_body_util::Full;
use tower::{service_fn, ServiceBuilder};
use tower_webhook::layer::ResponseBody;
use tower_webhook::scheme::{Algorithm, Encoding, FieldSource, Scheme, Spec, TimestampFormat};
use tower_webhook::{BoxError, LruGuard, Secret, WebhookLayer};

/// The clock every layer and scheme here runs at, and the time senders sign at.
pub const NOW: i64 = 1_700_000_000;

/// `NOW` as the layer's clock.
pub fn now() -> SystemTime {
    at(NOW)
}

/// Unix time `secs` (not before the epoch).
pub fn at(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap())
}

/// A generic `Spec` with a `sha256=` prefix, base64, a signed timestamp and
/// a signed id header: `X-Acme-Signature: sha256=<base64>` over
/// `{timestamp}.{id}.{body}`.
pub fn acme(secret: &str) -> Spec {
    Spec::builder("acme")
        .signature_header("x-acme-signature")
        .version("sha256=", Algorithm::HmacSha256, Encoding::Base64)
        .timestamp_header("x-acme-timestamp", TimestampFormat::UnixSeconds)
        .tolerance(Duration::from_secs(300))
        .id(FieldSource::header("x-acme-delivery"))
        .signed_content("{timestamp}.{id}.{body}")
        .keys(Secret::new(secret).unwrap())
        .build()
        .unwrap()
}

/// The layer under test: `scheme`, a body limit, the clock at `NOW`, `guard`.
pub fn layer(
    scheme: Box<dyn Scheme>,
    limit: usize,
    guard: &Arc<LruGuard>,
) -> WebhookLayer<Box<dyn Scheme>, Arc<LruGuard>> {
    WebhookLayer::new(scheme)
        .body_limit(limit)
        .clock(now)
        .guard(Arc::clone(guard))
}

/// `layer` over an inner service that counts its calls in `calls` and answers 200.
pub fn counting<B>(
    layer: WebhookLayer<Box<dyn Scheme>, Arc<LruGuard>>,
    calls: &Arc<AtomicUsize>,
) -> impl tower::Service<Request<B>, Response = Response<ResponseBody<Full<Bytes>>>, Error = Infallible> + Clone
where
    B: http_body::Body + Send + 'static,
    B::Data: bytes::Buf,
    B::Error: Into<BoxError>,
{
    let calls = Arc::clone(calls);
    ServiceBuilder::new()
        .layer(layer)
        .service(service_fn(move |_: Request<Full<Bytes>>| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::new()))) }
        }))
}

/// A body that yields the frames given. With `declares_end` it says it has
/// ended as soon as its last frame is out, as hyper's does once
/// `Content-Length` bytes came; without, only once polled past it, as a
/// chunked body does.
pub struct Frames {
    pub frames: VecDeque<Frame<Bytes>>,
    pub declares_end: bool,
}

impl Frames {
    /// `chunks` as data frames with no declared length, as a chunked request sends them.
    pub fn chunked(chunks: impl IntoIterator<Item = Bytes>) -> Self {
        Self {
            frames: chunks.into_iter().map(Frame::data).collect(),
            declares_end: false,
        }
    }
}

impl http_body::Body for Frames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.frames.pop_front().map(Ok))
    }

    fn is_end_stream(&self) -> bool {
        self.declares_end && self.frames.is_empty()
    }
}
