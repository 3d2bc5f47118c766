//! The layer's contract, row by row of the status table in DESIGN.md: every
//! test checks the status *and* whether the inner service ran.

mod reliability_support;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::RETRY_AFTER;
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use proptest::prelude::*;
use reliability_support::Frames;
use tower::{service_fn, BoxError, Service, ServiceBuilder, ServiceExt};
use tower_webhook::scheme::{Spec, StandardWebhooks};
use tower_webhook::testing::VerifyHeaders as _;
use tower_webhook::testing::{signed_request, signed_request_at, Sign};
use tower_webhook::{
    Begin, Claim, GuardError, LruGuard, Rejection, ReplayGuard, Secret, Secrets, Verified, WebhookLayer,
};

const SECRET: &str = "petstore-test-secret";

fn petstore() -> Spec {
    Spec::petstore(Secret::new(SECRET).unwrap())
}

fn event(id: &str) -> String {
    format!(
        r#"{{"id":"{id}","type":"order.created","created":1700000000,"data":{{"orderId":"ord_1","status":"created"}}}}"#
    )
}

fn signed(id: &str) -> Request<Full<Bytes>> {
    signed_request(&petstore(), event(id), id)
}

/// What the inner service received: the `Verified` extension and the body.
type Seen = (Option<Verified>, Bytes);

/// What the inner service does with a delivery.
#[derive(Clone, Copy, Debug)]
enum Act {
    Ok,
    Fail,
    Panic,
    Err,
    Sleep(Duration),
}

/// An inner service that counts calls, records what it received, and acts
/// as told by `plan` (call number → action; default `Ok`).
#[derive(Clone, Default)]
struct Inner {
    calls: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
    plan: Arc<Mutex<VecDeque<Act>>>,
}

impl Inner {
    fn then(self, acts: &[Act]) -> Self {
        self.plan.lock().unwrap().extend(acts.iter().copied());
        self
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn service(
        &self,
    ) -> impl Service<
        Request<Full<Bytes>>,
        Response = Response<Full<Bytes>>,
        Error = BoxError,
        Future = impl Send + 'static,
    > + Clone
           + Send
           + 'static {
        let this = self.clone();
        service_fn(move |request: Request<Full<Bytes>>| {
            let this = this.clone();
            async move {
                this.calls.fetch_add(1, Ordering::SeqCst);
                let verified = request.extensions().get::<Verified>().cloned();
                let body = request.into_body().collect().await?.to_bytes();
                this.seen.lock().unwrap().push((verified, body));
                let act = this.plan.lock().unwrap().pop_front().unwrap_or(Act::Ok);
                let status = match act {
                    Act::Ok => StatusCode::OK,
                    Act::Fail => StatusCode::INTERNAL_SERVER_ERROR,
                    Act::Panic => panic!("handler exploded"),
                    Act::Err => return Err::<Response<Full<Bytes>>, BoxError>("inner service error".into()),
                    Act::Sleep(d) => {
                        tokio::time::sleep(d).await;
                        StatusCode::OK
                    }
                };
                let mut response = Response::new(Full::new(Bytes::from_static(b"handled")));
                *response.status_mut() = status;
                Ok(response)
            }
        })
    }
}

async fn send<S>(service: S, request: Request<Full<Bytes>>) -> (StatusCode, Response<Bytes>)
where
    S: Service<Request<Full<Bytes>>, Response = Response<tower_webhook::layer::ResponseBody<Full<Bytes>>>>,
    S::Error: std::fmt::Debug,
{
    let response = service.oneshot(request).await.expect("service error");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (parts.status, Response::from_parts(parts, body))
}

fn rejection(response: &Response<Bytes>) -> Option<&Rejection> {
    response.extensions().get::<Rejection>()
}

#[tokio::test]
async fn forwards_a_valid_delivery_with_the_exact_bytes_and_verified_metadata() {
    let inner = Inner::default();
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()))
        .service(inner.service());
    let (status, response) = send(svc, signed("evt_1")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(response.body(), "handled");
    assert_eq!(inner.calls(), 1);
    let seen = inner.seen.lock().unwrap();
    let (verified, body) = &seen[0];
    let verified = verified.as_ref().expect("Verified extension");
    assert_eq!(body, event("evt_1").as_bytes());
    assert_eq!(verified.body(), body);
    assert_eq!(verified.id(), "evt_1");
    assert_eq!(verified.event_type(), Some("order.created"));
    assert_eq!(verified.timestamp(), None);
}

/// The layer buffers a body that arrives in one piece without copying it:
/// the handler's body and `Verified::body` are the sender's bytes, in the
/// same memory. (`tests/real_senders.rs` checks the same for the article's
/// delivery through an axum `Router`.)
#[tokio::test]
async fn a_body_in_one_piece_reaches_the_handler_without_a_copy() {
    let request = signed("evt_no_copy");
    let sent = full_bytes(request.body().clone());
    let request = request.map(|_| Full::new(sent.clone()));
    let handler = service_fn(|request: Request<Full<Bytes>>| async move {
        let verified = request.extensions().get::<Verified>().cloned().expect("Verified");
        let body = request.into_body().collect().await?.to_bytes();
        Ok::<_, BoxError>(Response::new(Full::new(Bytes::from(format!(
            "{:p} {:p}",
            body.as_ptr(),
            verified.body().as_ptr()
        )))))
    });
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()))
        .service(handler);
    let (status, response) = send(svc, request).await;
    assert_eq!(status, StatusCode::OK);
    let at = format!("{:p}", sent.as_ptr());
    assert_eq!(response.body(), format!("{at} {at}").as_bytes());
}

#[tokio::test]
async fn acknowledges_a_committed_event_again_without_calling_inner() {
    let inner = Inner::default();
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()))
        .service(inner.service());
    assert_eq!(send(svc.clone(), signed("evt_dup")).await.0, StatusCode::OK);
    let (status, response) = send(svc, signed("evt_dup")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(response.body(), r#"{"duplicate":true}"#);
    assert_eq!(inner.calls(), 1);
}

#[tokio::test]
async fn rejects_declared_body_over_limit_without_calling_inner() {
    let inner = Inner::default();
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()).body_limit(64))
        .service(inner.service());
    let mut request = signed("evt_big");
    request
        .headers_mut()
        .insert("content-length", "100000".parse().unwrap());
    let (status, response) = send(svc, request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(rejection(&response), Some(&Rejection::BodyTooLarge { limit: 64 }));
    assert_eq!(inner.calls(), 0);
}

fn chunked(
    request: Request<Full<Bytes>>,
    chunk: usize,
) -> Request<http_body_util::combinators::UnsyncBoxBody<Bytes, Infallible>> {
    let (parts, body) = request.into_parts();
    let bytes = full_bytes(body);
    let chunks = bytes.chunks(chunk).map(Bytes::copy_from_slice);
    Request::from_parts(parts, Frames::chunked(chunks).boxed_unsync())
}

fn full_bytes(body: Full<Bytes>) -> Bytes {
    // A `Full` yields its one frame at once.
    let mut body = std::pin::pin!(body);
    match body
        .as_mut()
        .poll_frame(&mut Context::from_waker(std::task::Waker::noop()))
    {
        Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap(),
        _ => Bytes::new(),
    }
}

#[tokio::test]
async fn rejects_an_undeclared_body_over_limit_without_calling_inner() {
    let inner = Inner::default();
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()).body_limit(40))
        .service(inner.service());
    let chunks = chunked(signed("evt_chunked"), 16);
    // One frame, and the end declared, as hyper does once the bytes came.
    let (parts, body) = signed("evt_one_frame_too_big").into_parts();
    let one_frame = Frames {
        frames: [Frame::data(full_bytes(body))].into(),
        declares_end: true,
    };
    let one_frame = Request::from_parts(parts, one_frame.boxed_unsync());
    for request in [chunks, one_frame] {
        assert!(request.headers().get("content-length").is_none());
        let response = svc.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    assert_eq!(inner.calls(), 0);
}

#[tokio::test]
async fn accepts_a_chunked_body_within_the_limit_as_the_same_bytes() {
    let inner = Inner::default();
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()))
        .service(inner.service());
    let response = svc.oneshot(chunked(signed("evt_chunks_ok"), 7)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(inner.seen.lock().unwrap()[0].1, event("evt_chunks_ok").as_bytes());
}

#[tokio::test]
async fn a_body_that_ends_before_any_frame_is_answered_as_an_empty_one() {
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()))
        .service(Inner::default().service());
    let (parts, _) = signed("evt_none").into_parts();
    let empty = Request::from_parts(parts.clone(), Full::new(Bytes::new()).boxed_unsync());
    let ended = Frames {
        frames: VecDeque::new(),
        declares_end: true,
    };
    let ended = Request::from_parts(parts, ended.boxed_unsync());
    let (empty, ended) = (
        svc.clone().oneshot(empty).await.unwrap(),
        svc.oneshot(ended).await.unwrap(),
    );
    assert_eq!(ended.status(), empty.status());
    assert_eq!(
        ended.extensions().get::<Rejection>(),
        empty.extensions().get::<Rejection>()
    );
    assert_eq!(
        ended.extensions().get::<Rejection>(),
        Some(&Rejection::SignatureMismatch)
    );
}

#[tokio::test]
async fn rejects_missing_or_forged_signatures_with_401_without_calling_inner() {
    let inner = Inner::default();
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()))
        .service(inner.service());

    let mut missing = signed("evt_a");
    missing.headers_mut().remove("x-petstore-signature");
    let (status, response) = send(svc.clone(), missing).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(matches!(
        rejection(&response),
        Some(Rejection::MissingSignature { .. })
    ));

    let mut forged = signed("evt_a");
    forged
        .headers_mut()
        .insert("x-petstore-signature", "ab".repeat(32).parse().unwrap());
    let (status, response) = send(svc.clone(), forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(rejection(&response), Some(&Rejection::SignatureMismatch));
    assert_eq!(response.body(), "invalid signature");

    let mut malformed = signed("evt_a");
    malformed
        .headers_mut()
        .insert("x-petstore-signature", "not-hex".parse().unwrap());
    let (status, response) = send(svc.clone(), malformed).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(matches!(
        rejection(&response),
        Some(Rejection::MalformedSignature { .. })
    ));

    let wrong_secret = Spec::petstore(Secret::new("another secret").unwrap());
    let (status, _) = send(svc, signed_request(&wrong_secret, event("evt_a"), "evt_a")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(inner.calls(), 0);
}

#[tokio::test]
async fn rejects_a_body_without_an_id_with_400_after_verifying_it() {
    let inner = Inner::default();
    let scheme = petstore();
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(scheme.clone()))
        .service(inner.service());
    for body in [
        r#"{"type":"order.created","data":{}}"#,
        "not json at all",
        r#"{"id":{"nested":1}}"#,
    ] {
        let (status, response) = send(svc.clone(), signed_request(&scheme, body, "")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(rejection(&response), Some(&Rejection::MissingEventId));
    }
    assert_eq!(inner.calls(), 0);
}

#[tokio::test]
async fn rejects_ids_over_the_cap_with_400_even_when_signed() {
    let inner = Inner::default();
    let guard = Arc::new(LruGuard::default());
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()).guard(Arc::clone(&guard)))
        .service(inner.service());
    let long = "x".repeat(tower_webhook::MAX_ID_LEN + 1);
    let (status, response) = send(svc, signed(&long)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(matches!(
        rejection(&response),
        Some(Rejection::InvalidEventId { .. })
    ));
    assert_eq!(inner.calls(), 0);
    assert_eq!((guard.done_len(), guard.in_flight_len()), (0, 0));
}

fn standard() -> StandardWebhooks {
    StandardWebhooks::new(StandardWebhooks::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap())
}

const T0: i64 = 1_700_000_000;

fn at(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs as u64)
}

#[tokio::test]
async fn standard_webhooks_missing_or_broken_framing_headers_are_400() {
    let inner = Inner::default();
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(standard()).clock(|| at(T0)))
        .service(inner.service());
    for (header, value) in [
        ("webhook-id", None),
        ("webhook-timestamp", None),
        ("webhook-timestamp", Some("soon")),
        ("webhook-timestamp", Some("99999999999999999999999")),
    ] {
        let mut request = signed_request_at(&standard(), "{}", "msg_1", T0);
        match value {
            None => {
                request.headers_mut().remove(header);
            }
            Some(v) => {
                request.headers_mut().insert(header, v.parse().unwrap());
            }
        }
        let (status, response) = send(svc.clone(), request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{header} {value:?}");
        assert!(matches!(
            rejection(&response),
            Some(Rejection::MissingHeader { .. } | Rejection::InvalidHeader { .. })
        ));
    }
    assert_eq!(inner.calls(), 0);
}

#[tokio::test]
async fn rejects_stale_and_future_timestamps_with_401() {
    let inner = Inner::default();
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(standard()).clock(|| at(T0)))
        .service(inner.service());
    let (status, response) = send(
        svc.clone(),
        signed_request_at(&standard(), "{}", "msg_old", T0 - 301),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        rejection(&response),
        Some(&Rejection::TimestampTooOld { age_secs: 301 })
    );
    let (status, response) = send(
        svc.clone(),
        signed_request_at(&standard(), "{}", "msg_new", T0 + 301),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        rejection(&response),
        Some(&Rejection::TimestampTooNew { ahead_secs: 301 })
    );
    // The body is a bad signature's: it does not tell the clock or the tolerance.
    assert_eq!(response.body(), "invalid signature");
    assert_eq!(inner.calls(), 0);
    // Within tolerance on both sides.
    assert_eq!(
        send(
            svc.clone(),
            signed_request_at(&standard(), "{}", "msg_a", T0 - 300)
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        send(svc, signed_request_at(&standard(), "{}", "msg_b", T0 + 300))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(inner.calls(), 2);
}

#[tokio::test]
async fn tolerance_is_configurable() {
    let inner = Inner::default();
    let scheme = standard().tolerance(Duration::from_secs(10));
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(scheme.clone()).clock(|| at(T0)))
        .service(inner.service());
    assert_eq!(
        send(svc.clone(), signed_request_at(&scheme, "{}", "m1", T0 - 11))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(svc, signed_request_at(&scheme, "{}", "m2", T0 - 10)).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn tolerance_is_capped_at_an_hour_so_a_1970_timestamp_never_passes() {
    let inner = Inner::default();
    // Asked for a hundred years; an hour is what it gets.
    let scheme = standard().tolerance(Duration::from_secs(100 * 365 * 24 * 3600));
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(scheme.clone()).clock(|| at(T0)))
        .service(inner.service());
    for (id, timestamp, status) in [
        ("m_epoch", 1, StatusCode::UNAUTHORIZED),
        ("m_hour_and_a_second", T0 - 3601, StatusCode::UNAUTHORIZED),
        ("m_an_hour", T0 - 3600, StatusCode::OK),
    ] {
        let (got, _) = send(svc.clone(), signed_request_at(&scheme, "{}", id, timestamp)).await;
        assert_eq!(got, status, "{id}");
    }
    assert_eq!(inner.calls(), 1);
}

#[tokio::test]
async fn accepts_old_and_new_secret_during_rotation() {
    let old = Secret::new("old secret").unwrap();
    let new = Secret::new("new secret").unwrap();
    let both = Spec::petstore(Secrets::new(old.clone()).with(new.clone()));
    let inner = Inner::default();
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(both))
        .service(inner.service());
    let by_old = signed_request(&Spec::petstore(old), event("evt_old"), "evt_old");
    let by_new = signed_request(&Spec::petstore(new), event("evt_new"), "evt_new");
    assert_eq!(send(svc.clone(), by_old).await.0, StatusCode::OK);
    assert_eq!(send(svc, by_new).await.0, StatusCode::OK);
    assert_eq!(inner.calls(), 2);
}

#[tokio::test]
async fn accepts_second_signature_in_the_header_after_rotation() {
    let new = Spec::petstore(Secret::new("new secret").unwrap());
    let old = Spec::petstore(Secret::new("old secret").unwrap());
    let body = event("evt_two_sigs");
    let header = format!(
        "{},{}",
        old.signature_value(body.as_bytes(), "", 0),
        new.signature_value(body.as_bytes(), "", 0)
    );
    let inner = Inner::default();
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(new))
        .service(inner.service());
    let mut request = signed("evt_two_sigs");
    request
        .headers_mut()
        .insert("x-petstore-signature", header.parse().unwrap());
    assert_eq!(send(svc, request).await.0, StatusCode::OK);
    assert_eq!(inner.calls(), 1);
}

#[tokio::test]
async fn duplicate_signature_headers_are_all_candidates() {
    let inner = Inner::default();
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()))
        .service(inner.service());
    let mut request = signed("evt_dup_headers");
    let good = request.headers()["x-petstore-signature"].clone();
    request
        .headers_mut()
        .insert("x-petstore-signature", "00".repeat(32).parse().unwrap());
    request.headers_mut().append("x-petstore-signature", good);
    assert_eq!(send(svc.clone(), request).await.0, StatusCode::OK);
    // Two wrong values are still wrong.
    let mut request = signed("evt_dup_headers_2");
    request
        .headers_mut()
        .insert("x-petstore-signature", "00".repeat(32).parse().unwrap());
    request
        .headers_mut()
        .append("x-petstore-signature", "11".repeat(32).parse().unwrap());
    assert_eq!(send(svc, request).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(inner.calls(), 1);
}

#[tokio::test]
async fn non_utf8_header_values_are_rejected_without_calling_inner() {
    let inner = Inner::default();
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(standard()).clock(|| at(T0)))
        .service(inner.service());
    let mut request = signed_request_at(&standard(), "{}", "msg_1", T0);
    request
        .headers_mut()
        .insert("webhook-id", http::HeaderValue::from_bytes(b"msg_\xff").unwrap());
    assert_eq!(send(svc.clone(), request).await.0, StatusCode::BAD_REQUEST);
    let mut request = signed_request_at(&standard(), "{}", "msg_2", T0);
    request.headers_mut().insert(
        "webhook-signature",
        http::HeaderValue::from_bytes(b"v1,\xff\xfe").unwrap(),
    );
    assert_eq!(send(svc, request).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(inner.calls(), 0);
}

#[tokio::test]
async fn non_utf8_and_empty_bodies_verify_as_raw_bytes() {
    let inner = Inner::default();
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(standard()).clock(|| at(T0)))
        .service(inner.service());
    let binary: &[u8] = b"\xff\xfe\x00binary\x80";
    let (status, _) = send(
        svc.clone(),
        signed_request_at(&standard(), Bytes::from_static(binary), "msg_bin", T0),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(svc, signed_request_at(&standard(), Bytes::new(), "msg_empty", T0)).await;
    assert_eq!(status, StatusCode::OK);
    let seen = inner.seen.lock().unwrap();
    assert_eq!(seen[0].1, binary);
    assert!(seen[1].1.is_empty());
}

#[tokio::test]
async fn releases_id_when_handler_answers_non_2xx_so_the_retry_is_processed() {
    let inner = Inner::default().then(&[Act::Fail]);
    let guard = Arc::new(LruGuard::default());
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()).guard(Arc::clone(&guard)))
        .service(inner.service());
    assert_eq!(
        send(svc.clone(), signed("evt_retry")).await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert!(!guard.is_done("evt_retry"));
    assert_eq!(guard.in_flight_len(), 0);
    assert_eq!(send(svc.clone(), signed("evt_retry")).await.0, StatusCode::OK);
    assert!(guard.is_done("evt_retry"));
    assert_eq!(send(svc, signed("evt_retry")).await.0, StatusCode::OK);
    assert_eq!(inner.calls(), 2);
}

#[tokio::test]
async fn releases_id_when_inner_service_errors_and_passes_the_error_through() {
    let inner = Inner::default().then(&[Act::Err]);
    let guard = Arc::new(LruGuard::default());
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()).guard(Arc::clone(&guard)))
        .service(inner.service());
    let error = svc.clone().oneshot(signed("evt_err")).await.unwrap_err();
    assert_eq!(error.to_string(), "inner service error");
    assert_eq!(guard.in_flight_len(), 0);
    assert_eq!(send(svc, signed("evt_err")).await.0, StatusCode::OK);
    assert_eq!(inner.calls(), 2);
}

#[tokio::test]
async fn releases_id_when_handler_panics_and_answers_500() {
    let inner = Inner::default().then(&[Act::Panic]);
    let guard = Arc::new(LruGuard::default());
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()).guard(Arc::clone(&guard)))
        .service(inner.service());
    let (status, _) = send(svc.clone(), signed("evt_panic")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(guard.in_flight_len(), 0);
    assert!(!guard.is_done("evt_panic"));
    assert_eq!(send(svc, signed("evt_panic")).await.0, StatusCode::OK);
    assert_eq!(inner.calls(), 2);
}

/// A service whose `call` itself panics, before it returns a future (the
/// handler's own panics are caught inside the future; this one is caught
/// around `call`).
#[derive(Clone)]
struct PanicsInCall {
    calls: Arc<AtomicUsize>,
}

impl Service<Request<Full<Bytes>>> for PanicsInCall {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: Request<Full<Bytes>>) -> Self::Future {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("call exploded before returning a future");
        }
        std::future::ready(Ok(Response::new(Full::new(Bytes::from_static(b"ok")))))
    }
}

#[tokio::test]
async fn releases_id_when_the_inner_call_itself_panics_and_answers_500() {
    let calls = Arc::new(AtomicUsize::new(0));
    let guard = Arc::new(LruGuard::default());
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()).guard(Arc::clone(&guard)))
        .service(PanicsInCall {
            calls: Arc::clone(&calls),
        });
    let (status, _) = send(svc.clone(), signed("evt_call_panic")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(guard.in_flight_len(), 0);
    assert!(!guard.is_done("evt_call_panic"));
    // The sender's retry is processed, once.
    assert_eq!(
        send(svc.clone(), signed("evt_call_panic")).await.0,
        StatusCode::OK
    );
    assert!(guard.is_done("evt_call_panic"));
    assert_eq!(send(svc, signed("evt_call_panic")).await.0, StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn releases_id_when_the_response_future_is_dropped_under_cancel_on_disconnect() {
    let inner = Inner::default().then(&[Act::Sleep(Duration::from_secs(3600))]);
    let guard = Arc::new(LruGuard::default());
    let svc = ServiceBuilder::new()
        .layer(
            WebhookLayer::new(petstore())
                .guard(Arc::clone(&guard))
                .cancel_on_disconnect(true),
        )
        .service(inner.service());
    let pending =
        tokio::time::timeout(Duration::from_millis(50), svc.clone().oneshot(signed("evt_drop"))).await;
    assert!(
        pending.is_err(),
        "the handler sleeps, so the request cannot finish"
    );
    assert_eq!(inner.calls(), 1);
    // The timed-out future was dropped: its claim is gone.
    assert_eq!(guard.in_flight_len(), 0);
    assert!(!guard.is_done("evt_drop"));
    assert_eq!(send(svc, signed("evt_drop")).await.0, StatusCode::OK);
    assert_eq!(inner.calls(), 2);
}

#[tokio::test]
async fn answers_409_with_retry_after_while_the_event_is_in_flight() {
    let inner = Inner::default().then(&[Act::Sleep(Duration::from_millis(300))]);
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()))
        .service(inner.service());
    let first = tokio::spawn(send(svc.clone(), signed("evt_busy")));
    while inner.calls() == 0 {
        tokio::task::yield_now().await;
    }
    let (status, response) = send(svc, signed("evt_busy")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // The guard would say 60 s (its in-flight timeout); the layer asks for at most 5.
    let retry_after: u64 = response.headers()[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=5).contains(&retry_after), "{retry_after}");
    assert!(matches!(rejection(&response), Some(Rejection::InFlight { .. })));
    assert_eq!(first.await.unwrap().0, StatusCode::OK);
    assert_eq!(inner.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_inner_exactly_once_for_32_concurrent_copies() {
    let inner = Inner::default().then(&[Act::Sleep(Duration::from_millis(20))]);
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()))
        .service(inner.service());
    let tasks: Vec<_> = (0..32)
        .map(|_| tokio::spawn(send(svc.clone(), signed("evt_storm"))))
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap().0);
    }
    assert_eq!(inner.calls(), 1);
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );
    assert!(statuses.contains(&StatusCode::OK));
}

#[tokio::test]
async fn deadline_answers_503_releases_and_the_retry_is_processed() {
    let inner = Inner::default().then(&[Act::Sleep(Duration::from_secs(3600))]);
    let guard = Arc::new(LruGuard::default());
    let svc = ServiceBuilder::new()
        .layer(
            WebhookLayer::new(petstore())
                .guard(Arc::clone(&guard))
                .deadline(Duration::from_millis(50)),
        )
        .service(inner.service());
    let (status, response) = send(svc.clone(), signed("evt_slow")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key(RETRY_AFTER));
    assert!(matches!(
        rejection(&response),
        Some(Rejection::DeadlineExceeded { .. })
    ));
    assert_eq!(guard.in_flight_len(), 0);
    assert_eq!(send(svc, signed("evt_slow")).await.0, StatusCode::OK);
    assert_eq!(inner.calls(), 2);
}

/// A guard whose store is down.
struct Unavailable;

impl ReplayGuard for Unavailable {
    async fn begin(&self, _: &str) -> Result<Begin, GuardError> {
        Err(GuardError::new("connection refused"))
    }
    async fn commit(&self, _: &str, _: Claim) -> Result<(), GuardError> {
        Err(GuardError::new("connection refused"))
    }
    async fn release(&self, _: &str, _: Claim) -> Result<(), GuardError> {
        Err(GuardError::new("connection refused"))
    }
}

#[tokio::test]
async fn fails_closed_with_503_when_the_guard_is_unavailable() {
    let inner = Inner::default();
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()).guard(Unavailable))
        .service(inner.service());
    let (status, response) = send(svc, signed("evt_1")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key(RETRY_AFTER));
    assert_eq!(rejection(&response), Some(&Rejection::GuardUnavailable));
    assert_eq!(inner.calls(), 0);
}

#[tokio::test]
async fn custom_rejection_response_keeps_the_rejection_in_extensions() {
    let inner = Inner::default();
    let layer = WebhookLayer::new(petstore()).on_rejection(|r| {
        Response::builder()
            .status(r.status())
            .body(Full::new(Bytes::from(format!("custom: {}", r.body_text()))))
            .unwrap()
    });
    let svc = ServiceBuilder::new().layer(layer).service(inner.service());
    let mut request = signed("evt_1");
    request.headers_mut().remove("x-petstore-signature");
    let (status, response) = send(svc, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.body(), "custom: invalid signature");
    assert!(rejection(&response).is_some());
}

#[tokio::test]
async fn rejection_bodies_never_reveal_the_expected_signature() {
    let scheme = petstore();
    let body = event("evt_secret");
    let expected = scheme.signature_value(body.as_bytes(), "", 0);
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(scheme))
        .service(Inner::default().service());
    let mut request = signed("evt_secret");
    request
        .headers_mut()
        .insert("x-petstore-signature", "00".repeat(32).parse().unwrap());
    let (_, response) = send(svc, request).await;
    let text = String::from_utf8_lossy(response.body()).into_owned();
    let debug = format!("{:?}", rejection(&response));
    for shown in [text, debug] {
        assert!(!shown.contains(&expected) && !shown.contains(SECRET), "{shown}");
    }
}

#[tokio::test]
async fn unsigned_event_type_header_never_overrides_the_signed_body() {
    let inner = Inner::default();
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()))
        .service(inner.service());
    let mut request = signed("evt_type");
    request
        .headers_mut()
        .insert("x-petstore-event", "order.refunded".parse().unwrap());
    assert_eq!(send(svc.clone(), request).await.0, StatusCode::OK);
    // With no type in the body, the header is the fallback.
    let body = r#"{"id":"evt_untyped","data":{}}"#;
    let mut request = signed_request(&petstore(), body, "evt_untyped");
    request
        .headers_mut()
        .insert("x-petstore-event", "order.created".parse().unwrap());
    assert_eq!(send(svc, request).await.0, StatusCode::OK);
    let seen = inner.seen.lock().unwrap();
    assert_eq!(seen[0].0.as_ref().unwrap().event_type(), Some("order.created"));
    assert_eq!(seen[1].0.as_ref().unwrap().event_type(), Some("order.created"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Flipping any single byte of the body or the signature makes the delivery fail.
    #[test]
    fn tampering_any_single_byte_fails(in_signature in any::<bool>(), index in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let scheme = petstore();
        let body = event("evt_tamper").into_bytes();
        let mut signature = scheme.signature_value(&body, "", 0).into_bytes();
        let mut tampered = body.clone();
        if in_signature {
            let i = index.index(signature.len());
            signature[i] ^= flip;
        } else {
            let i = index.index(tampered.len());
            tampered[i] ^= flip;
        }
        let mut headers = http::HeaderMap::new();
        if let Ok(value) = http::HeaderValue::from_bytes(&signature) {
            headers.insert("x-petstore-signature", value);
        }
        // An upper-case hex digit spells the same byte: that is not tampering.
        let same_bytes = in_signature
            && String::from_utf8(signature.clone()).map(|s| s.to_ascii_lowercase()) == Ok(scheme.signature_value(&body, "", 0));
        let result = scheme.verify_headers(&headers, &tampered, SystemTime::now());
        prop_assert_eq!(result.is_ok(), same_bytes);
    }
}

#[test]
fn every_signer_round_trips_through_its_scheme() {
    fn check(scheme: &(impl Sign + tower_webhook::Scheme), id: &str) {
        let headers = scheme.sign_headers(b"{\"id\":\"evt_rt\"}", id, T0);
        let delivery = scheme
            .verify_headers(&headers, b"{\"id\":\"evt_rt\"}", at(T0))
            .unwrap();
        assert_eq!(delivery.id(), "evt_rt");
    }
    check(&petstore(), "");
    check(&standard(), "evt_rt");
}

/// A body that sends its first chunk and then never another.
struct Stalled(Option<Bytes>);

impl Body for Stalled {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.0.take() {
            Some(chunk) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
            None => Poll::Pending,
        }
    }
}

#[tokio::test]
async fn answers_408_when_the_body_stalls_past_the_body_timeout() {
    let inner = Inner::default();
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()).body_timeout(Duration::from_millis(50)))
        .service(inner.service());
    let (parts, _) = signed("evt_stalled").into_parts();
    let request = Request::from_parts(
        parts,
        Stalled(Some(Bytes::from_static(b"{\"id\":"))).boxed_unsync(),
    );
    let response = tokio::time::timeout(Duration::from_secs(10), svc.oneshot(request))
        .await
        .expect("the body timeout, not this one, ends the request")
        .unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(
        response.extensions().get::<Rejection>(),
        Some(&Rejection::BodyTimeout {
            limit: Duration::from_millis(50)
        })
    );
    assert_eq!(inner.calls(), 0);
}

/// A body whose transfer breaks after the first chunk (the client went away).
struct Broken(Option<Bytes>);

impl Body for Broken {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Poll::Ready(Some(match self.0.take() {
            Some(chunk) => Ok(Frame::data(chunk)),
            None => Err("connection reset".into()),
        }))
    }
}

#[tokio::test]
async fn answers_400_when_the_body_cannot_be_read_without_calling_inner() {
    let inner = Inner::default();
    let guard = Arc::new(LruGuard::default());
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()).guard(Arc::clone(&guard)))
        .service(inner.service());
    let (parts, _) = signed("evt_broken").into_parts();
    let request = Request::from_parts(
        parts,
        Broken(Some(Bytes::from_static(b"{\"id\":"))).boxed_unsync(),
    );
    let response = svc.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.extensions().get::<Rejection>(),
        Some(&Rejection::BodyUnreadable)
    );
    assert_eq!(inner.calls(), 0);
    assert_eq!((guard.done_len(), guard.in_flight_len()), (0, 0));
}

/// A body that records whether it was polled, and never yields a frame.
struct Watched(Arc<AtomicUsize>);

impl Body for Watched {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Poll::Pending
    }
}

#[tokio::test]
async fn refuses_a_request_without_its_signature_header_before_reading_the_body() {
    use tower_webhook::scheme::{GitHub, Scheme, Shopify, Slack, Stripe};
    let secret = || Secret::new(SECRET).unwrap();
    let schemes: Vec<(&str, Box<dyn Scheme>)> = vec![
        ("petstore", Box::new(petstore())),
        ("standard", Box::new(standard())),
        ("github", Box::new(GitHub::new(secret()))),
        ("shopify", Box::new(Shopify::new(secret()))),
        ("stripe", Box::new(Stripe::new(secret()))),
        ("slack", Box::new(Slack::new(secret()))),
        ("arc", Box::new(Arc::new(petstore()))),
    ];
    for (name, scheme) in schemes {
        let inner = Inner::default();
        let polls = Arc::new(AtomicUsize::new(0));
        let svc = ServiceBuilder::new()
            .layer(WebhookLayer::new(scheme).no_body_timeout())
            .service(inner.service());
        // Everything a delivery has but the signature, and a body that never comes.
        let (mut parts, _) = signed("evt_unsigned").into_parts();
        parts.headers.insert("content-length", "1000".parse().unwrap());
        parts.headers.insert("webhook-id", "msg_1".parse().unwrap());
        parts
            .headers
            .insert("webhook-timestamp", T0.to_string().parse().unwrap());
        parts.headers.insert("x-github-delivery", "d-1".parse().unwrap());
        parts
            .headers
            .insert("x-slack-request-timestamp", T0.to_string().parse().unwrap());
        parts.headers.remove("x-petstore-signature");
        let request = Request::from_parts(parts, Watched(Arc::clone(&polls)).boxed_unsync());
        let response = tokio::time::timeout(Duration::from_secs(10), svc.oneshot(request))
            .await
            .unwrap_or_else(|_| panic!("{name}: waited for a body it should not read"))
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
        assert!(
            matches!(
                response.extensions().get::<Rejection>(),
                Some(Rejection::MissingSignature { .. })
            ),
            "{name}"
        );
        assert_eq!(polls.load(Ordering::SeqCst), 0, "{name}: the body was polled");
        assert_eq!(inner.calls(), 0, "{name}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_stalled_body_is_answered_408_by_default_after_the_idle_timeout() {
    let inner = Inner::default();
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()))
        .service(inner.service());
    let (parts, _) = signed("evt_stalled").into_parts();
    let request = Request::from_parts(
        parts,
        Stalled(Some(Bytes::from_static(b"{\"id\":"))).boxed_unsync(),
    );
    // Paused time: the runtime jumps to the next timer, so this takes no real time.
    let response = tokio::time::timeout(Duration::from_secs(3600), svc.oneshot(request))
        .await
        .expect("the default body timeout ends the request")
        .unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(
        response.extensions().get::<Rejection>(),
        Some(&Rejection::BodyTimeout {
            limit: tower_webhook::layer::BODY_IDLE_TIMEOUT
        })
    );
    // Nothing between two frames for 2 s ends a body before the 10 s bound
    // on the whole of it (issue 27: a stalled body gives its slot back soon).
    assert_eq!(tower_webhook::layer::BODY_IDLE_TIMEOUT, Duration::from_secs(2));
    assert_eq!(
        tower_webhook::layer::DEFAULT_BODY_TIMEOUT,
        Duration::from_secs(10)
    );
    assert_eq!(inner.calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn no_body_timeout_waits_for_a_stalled_body_as_long_as_it_takes() {
    let inner = Inner::default();
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()).no_body_timeout())
        .service(inner.service());
    let (parts, _) = signed("evt_stalled").into_parts();
    let request = Request::from_parts(
        parts,
        Stalled(Some(Bytes::from_static(b"{\"id\":"))).boxed_unsync(),
    );
    let waited = tokio::time::timeout(Duration::from_secs(3600), svc.oneshot(request)).await;
    assert!(waited.is_err(), "the request ended without a body timeout");
    assert_eq!(inner.calls(), 0);
}

#[test]
fn a_zero_deadline_is_taken_as_none() {
    let shown = format!("{:?}", WebhookLayer::new(petstore()).deadline(Duration::ZERO));
    assert!(shown.contains("deadline: None"), "{shown}");
    let set = format!(
        "{:?}",
        WebhookLayer::new(petstore()).deadline(Duration::from_secs(3))
    );
    assert!(set.contains("deadline: Some(3s)"), "{set}");
}

#[test]
fn a_zero_body_timeout_is_taken_as_the_default() {
    let layer = WebhookLayer::new(petstore()).body_timeout(Duration::ZERO);
    let shown = format!("{layer:?}");
    assert!(shown.contains("body_timeout: Some(10s)"), "{shown}");
    let off = format!("{:?}", WebhookLayer::new(petstore()).no_body_timeout());
    assert!(off.contains("body_timeout: None"), "{off}");
}

/// The layer reads its clock only for a scheme that checks a timestamp, in
/// a header (Standard Webhooks) or in the body (Linear's
/// `webhookTimestamp`), and still refuses a stale one there.
#[tokio::test]
async fn the_clock_is_read_only_where_a_timestamp_is_checked() {
    use tower_webhook::scheme::Linear;

    let reads = Arc::new(AtomicUsize::new(0));
    let clock = {
        let reads = Arc::clone(&reads);
        move || {
            reads.fetch_add(1, Ordering::SeqCst);
            at(T0)
        }
    };
    let inner = Inner::default();

    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()).clock(clock.clone()))
        .service(inner.service());
    let (status, _) = send(svc, signed_request(&petstore(), event("evt_clock"), "evt_clock")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reads.load(Ordering::SeqCst), 0, "Petstore signs no timestamp");

    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(standard()).clock(clock.clone()))
        .service(inner.service());
    let (status, _) = send(svc.clone(), signed_request_at(&standard(), "{}", "msg_now", T0)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reads.load(Ordering::SeqCst), 1);
    let (status, _) = send(svc, signed_request_at(&standard(), "{}", "msg_old", T0 - 301)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(reads.load(Ordering::SeqCst), 2);

    let linear = Linear::new(Secret::new("linear secret").unwrap());
    let svc = ServiceBuilder::new()
        .layer(WebhookLayer::new(linear.clone()).clock(clock))
        .service(inner.service());
    let body = |secs: i64| format!(r#"{{"type":"Issue","webhookTimestamp":{}}}"#, secs * 1000);
    let (status, _) = send(svc.clone(), signed_request_at(&linear, body(T0), "lin_now", T0)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reads.load(Ordering::SeqCst), 3);
    let (status, _) = send(
        svc,
        signed_request_at(&linear, body(T0 - 120), "lin_old", T0 - 120),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(reads.load(Ordering::SeqCst), 4);
    assert_eq!(inner.calls(), 3);
}
