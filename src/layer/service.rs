use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http::{Request, Response};
use http_body::Body;
use http_body_util::Full;
use tower_layer::Layer;
use tower_service::Service;

use super::body::ResponseBody;
use super::future::{self, ResponseFuture};
use super::layer::{Config, WebhookLayer};
use crate::replay::ReplayGuard;
use crate::scheme::Scheme;
use crate::BoxError;

/// The [`Service`] made by [`WebhookLayer`](crate::WebhookLayer): see the
/// [module docs](crate::layer).
///
/// It takes a request with any body, as tower-http's middleware do: hyper's
/// `Incoming`, axum's `Body`, `Full`, a boxed body, or one of your own, as
/// long as its data is a [`Buf`] and its error converts into a [`BoxError`].
/// The inner service receives the verified bytes as a `Full<Bytes>`; an
/// axum `Router` or `MethodRouter` takes that as it is.
pub struct WebhookService<S, Sch, G> {
    pub(crate) inner: S,
    pub(crate) config: Arc<Config<Sch, G>>,
}

/// Here rather than beside [`WebhookLayer`], so that the layer's file does not
/// import the service's, which imports the layer's configuration.
impl<S, Sch, G> Layer<S> for WebhookLayer<Sch, G> {
    type Service = WebhookService<S, Sch, G>;

    fn layer(&self, inner: S) -> Self::Service {
        WebhookService {
            inner,
            config: Arc::new(self.config.clone()),
        }
    }
}

impl<S, Sch, G, ReqBody, ResBody> Service<Request<ReqBody>> for WebhookService<S, Sch, G>
where
    S: Service<Request<Full<Bytes>>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    Sch: Scheme,
    G: ReplayGuard,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Buf,
    ReqBody::Error: Into<BoxError>,
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
