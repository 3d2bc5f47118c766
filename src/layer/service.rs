use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::{combinators::BoxBody, combinators::UnsyncBoxBody, Empty, Full};
use tower_service::Service;

use super::future::{self, ResponseBody, ResponseFuture};
use super::layer::Config;
use crate::replay::ReplayGuard;
use crate::scheme::Scheme;
use crate::BoxError;

/// The [`Service`] made by [`WebhookLayer`](crate::WebhookLayer): see the
/// [module docs](crate::layer).
pub struct WebhookService<S, Sch, G> {
    pub(crate) inner: S,
    pub(crate) config: Arc<Config<Sch, G>>,
}

/// A request body the layer can read, and the body type it hands the verified
/// bytes on to the inner service as.
///
/// axum's `Body` and `Full<Bytes>` stay what they are; boxed and empty bodies
/// become `Full<Bytes>`. To put the layer directly in front of hyper, box
/// hyper's `Incoming` first (`.map_request(|r: Request<Incoming>| r.map(|b|
/// b.boxed_unsync()))` in a `ServiceBuilder`), as `examples/tower_service.rs` does.
pub trait BufferBody: Body<Data = Bytes> {
    /// The body type the inner service receives, made from the verified bytes.
    type Buffered: From<Bytes>;
}

#[cfg(feature = "axum")]
impl BufferBody for axum_core::body::Body {
    type Buffered = Self;
}

impl BufferBody for Full<Bytes> {
    type Buffered = Self;
}

impl BufferBody for Empty<Bytes> {
    type Buffered = Full<Bytes>;
}

impl<E> BufferBody for UnsyncBoxBody<Bytes, E> {
    type Buffered = Full<Bytes>;
}

impl<E> BufferBody for BoxBody<Bytes, E> {
    type Buffered = Full<Bytes>;
}

impl<S, Sch, G, ReqBody, ResBody> Service<Request<ReqBody>> for WebhookService<S, Sch, G>
where
    S: Service<Request<ReqBody::Buffered>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    Sch: Scheme,
    G: ReplayGuard,
    ReqBody: BufferBody + Send + 'static,
    ReqBody::Error: Into<BoxError>,
    ReqBody::Buffered: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The service that was polled ready goes into the future; a clone
        // stays for the next call.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let cancel_on_disconnect = self.config.delivery.cancel_on_disconnect;
        ResponseFuture::new(
            future::receive(Arc::clone(&self.config), inner, request),
            cancel_on_disconnect,
        )
    }
}

impl<S: Clone, Sch, G> Clone for WebhookService<S, Sch, G> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: Arc::clone(&self.config),
        }
    }
}

impl<S: fmt::Debug, Sch: fmt::Debug, G: fmt::Debug> fmt::Debug for WebhookService<S, Sch, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookService")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish()
    }
}
