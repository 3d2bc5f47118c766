//! The layer in front of hyper, reading `Incoming` itself: no `map_request`,
//! served over a real socket on 127.0.0.1 by hyper 1 and hyper-util.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tower::{service_fn, ServiceBuilder, ServiceExt};
use tower_webhook::scheme::Spec;
use tower_webhook::testing::{self, Sign};
use tower_webhook::{Secret, Verified, WebhookLayer};

const SECRET: &str = "hyper incoming test secret";

fn petstore() -> Spec {
    Spec::petstore(Secret::new(SECRET).unwrap())
}

/// Serves the layer over a handler that keeps what it was handed; the
/// server's address, and the (event id, body) pairs handled.
async fn serve() -> (std::net::SocketAddr, Arc<Mutex<Vec<(String, Bytes)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let handled = Arc::clone(&seen);
    let service = ServiceBuilder::new()
        .layer(WebhookLayer::new(petstore()).body_limit(64 * 1024))
        .service(service_fn(move |request: Request<Full<Bytes>>| {
            let handled = Arc::clone(&handled);
            async move {
                let id = request.extensions().get::<Verified>().unwrap().id().to_owned();
                let body = request.into_body().collect().await.unwrap().to_bytes();
                handled.lock().unwrap().push((id, body));
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
            }
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = service.clone();
            let hyper_service = hyper::service::service_fn(move |request: Request<Incoming>| {
                service.clone().oneshot(request)
            });
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), hyper_service));
        }
    });
    (addr, seen)
}

fn event(id: &str) -> String {
    format!(r#"{{"id":"{id}","type":"order.created","created":1700000000,"data":{{"orderId":"1"}}}}"#)
}

#[tokio::test]
async fn the_layer_reads_hypers_incoming_body_without_a_mapping() {
    tokio::time::timeout(Duration::from_secs(30), async {
        let (addr, seen) = serve().await;
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let send = |request: Request<Full<Bytes>>| {
            let (mut parts, body) = request.into_parts();
            parts.uri = format!("http://{addr}/webhooks").parse().unwrap();
            client.request(Request::from_parts(parts, body))
        };

        let delivered = send(testing::signed_request(&petstore(), event("evt_1"), "evt_1"))
            .await
            .unwrap();
        assert_eq!(delivered.status(), StatusCode::OK);
        let again = send(testing::signed_request(&petstore(), event("evt_1"), "evt_1"))
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::OK, "a duplicate is acknowledged");

        let mut forged = testing::signed_request::<Full<Bytes>>(&petstore(), event("evt_2"), "evt_2");
        forged
            .headers_mut()
            .insert("x-petstore-signature", "00".repeat(32).parse().unwrap());
        assert_eq!(send(forged).await.unwrap().status(), StatusCode::UNAUTHORIZED);

        let big = format!(r#"{{"id":"evt_big","pad":"{}"}}"#, "x".repeat(70 * 1024));
        let too_large = send(testing::signed_request(&petstore(), big, "evt_big"))
            .await
            .unwrap();
        assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);

        assert_eq!(
            *seen.lock().unwrap(),
            [("evt_1".to_owned(), Bytes::from(event("evt_1")))]
        );
    })
    .await
    .expect("test finished within its bound");
}

#[tokio::test]
async fn a_chunked_body_of_several_frames_is_read_whole() {
    tokio::time::timeout(Duration::from_secs(30), async {
        let (addr, seen) = serve().await;
        let body = Bytes::from(event("evt_chunked"));
        let headers = petstore().sign_headers(&body, "evt_chunked", testing::now());
        // No `Content-Length`: hyper sends it chunked, frame by frame.
        let frames = body.chunks(7).map(Bytes::copy_from_slice).collect();
        let mut request = Request::post(format!("http://{addr}/webhooks"))
            .body(Frames(frames, false))
            .unwrap();
        request.headers_mut().extend(headers);
        let client = Client::builder(TokioExecutor::new()).build_http();
        let response = client.request(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(*seen.lock().unwrap(), [("evt_chunked".to_owned(), body)]);
    })
    .await
    .expect("test finished within its bound");
}

/// A body of several frames with no known length, pending once between
/// frames so that each goes out on its own.
struct Frames(std::collections::VecDeque<Bytes>, bool);

impl http_body::Body for Frames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if std::mem::replace(&mut self.1, false) {
            cx.waker().wake_by_ref();
            return std::task::Poll::Pending;
        }
        self.1 = true;
        std::task::Poll::Ready(self.0.pop_front().map(|data| Ok(Frame::data(data))))
    }
}
