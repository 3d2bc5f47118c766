//! The whole layer on arbitrary headers and bodies: never panics, answers a
//! documented status, and reaches the inner service only with 200.
#![no_main]

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use libfuzzer_sys::fuzz_target;
use tower::{service_fn, ServiceBuilder, ServiceExt};
use tower_webhook::{LruGuard, WebhookLayer};

mod common;

fuzz_target!(|data: &[u8]| {
    let Some((which, headers, body)) = common::parse(data) else {
        return;
    };
    let calls = Arc::new(AtomicUsize::new(0));
    let guard = Arc::new(LruGuard::new(4));
    let counted = Arc::clone(&calls);
    let service = ServiceBuilder::new()
        .layer(
            WebhookLayer::new(common::scheme(which))
                .body_limit(1024)
                .clock(common::now)
                .guard(Arc::clone(&guard)),
        )
        .service(service_fn(move |_: Request<Full<Bytes>>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::new()))) }
        }));
    let mut request = Request::post("/webhooks")
        .body(Full::new(Bytes::copy_from_slice(body)))
        .unwrap();
    *request.headers_mut() = headers;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let status = runtime.block_on(service.oneshot(request)).unwrap().status();
    let calls = calls.load(Ordering::SeqCst);
    assert!(
        [
            StatusCode::OK,
            StatusCode::BAD_REQUEST,
            StatusCode::UNAUTHORIZED,
            StatusCode::PAYLOAD_TOO_LARGE
        ]
        .contains(&status),
        "{status}"
    );
    assert_eq!(calls, usize::from(status == StatusCode::OK));
    assert_eq!((guard.done_len(), guard.in_flight_len()), (calls, 0));
});
