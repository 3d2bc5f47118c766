use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::layer::Config;
use super::service::BufferBody;
use crate::replay::{Begin, Claim, ReplayGuard};
use crate::scheme::Scheme;
use crate::{BoxError, PermanentFailure, Rejection, Verified};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The response future of [`WebhookService`](super::WebhookService).
pub struct ResponseFuture<B, E> {
    inner: BoxFuture<Result<Response<ResponseBody<B>>, E>>,
}

impl<B, E> ResponseFuture<B, E> {
    pub(crate) fn new(
        future: impl Future<Output = Result<Response<ResponseBody<B>>, E>> + Send + 'static,
    ) -> Self {
        Self {
            inner: Box::pin(future),
        }
    }
}

impl<B, E> Future for ResponseFuture<B, E> {
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<B, E> fmt::Debug for ResponseFuture<B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

pin_project! {
    /// The response body of [`WebhookService`](super::WebhookService): the
    /// inner service's body, or the layer's own short answer.
    pub struct ResponseBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Inner { #[pin] body: B },
        Own { #[pin] body: Full<Bytes> },
    }
}

impl<B> ResponseBody<B> {
    fn inner(body: B) -> Self {
        Self {
            kind: Kind::Inner { body },
        }
    }

    fn own(body: Full<Bytes>) -> Self {
        Self {
            kind: Kind::Own { body },
        }
    }
}

impl<B: Body<Data = Bytes>> Body for ResponseBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            KindProj::Inner { body } => body.poll_frame(cx),
            KindProj::Own { body } => body.poll_frame(cx).map_err(|never| match never {}),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Own { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Own { body } => body.size_hint(),
        }
    }
}

impl<B> fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            Kind::Inner { .. } => "inner",
            Kind::Own { .. } => "own",
        };
        f.debug_struct("ResponseBody").field("kind", &kind).finish()
    }
}

/// The longest `Retry-After` a `409` asks for. The guard's hint is when the
/// other request's claim would expire, but that request usually answers within
/// the sender's own timeout; a retry a few seconds later then finds the event
/// done (200) or released (processed).
const MAX_IN_FLIGHT_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(5);

/// The answer to a delivery whose event was processed already.
pub(crate) const DUPLICATE_BODY: &str = r#"{"duplicate":true}"#;

/// One delivery, start to finish (see the module docs for the steps).
pub(crate) async fn receive<S, Sch, G, ReqBody, ResBody>(
    config: Arc<Config<Sch, G>>,
    mut inner: S,
    request: Request<ReqBody>,
) -> Result<Response<ResponseBody<ResBody>>, S::Error>
where
    S: Service<Request<ReqBody::Buffered>, Response = Response<ResBody>>,
    Sch: Scheme,
    G: ReplayGuard,
    ReqBody: BufferBody,
    ReqBody::Error: Into<BoxError>,
{
    let reject = |rejection: Rejection, event_id: Option<&str>| {
        tracing::warn!(
            status = rejection.status().as_u16(),
            reason = %rejection,
            event_id,
            "webhook rejected"
        );
        Ok(config.rejection_response(&rejection).map(ResponseBody::own))
    };

    // 1. Limit: trust a declared length only to refuse early.
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > config.body_limit as u64) {
        return reject(
            Rejection::BodyTooLarge {
                limit: config.body_limit,
            },
            None,
        );
    }

    // 2. Buffer under a hard cap; a single-frame body is not copied.
    let collect = Limited::new(body, config.body_limit).collect();
    let collected = match config.body_timeout {
        Some(limit) => match tokio::time::timeout(limit, collect).await {
            Ok(collected) => collected,
            Err(_elapsed) => return reject(Rejection::BodyTimeout { limit }, None),
        },
        None => collect.await,
    };
    let bytes = match collected {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => {
            return reject(
                Rejection::BodyTooLarge {
                    limit: config.body_limit,
                },
                None,
            );
        }
        Err(error) => {
            tracing::debug!(%error, "reading the request body failed");
            return reject(Rejection::BodyUnreadable, None);
        }
    };

    // 3. Verify.
    let delivery = match config.scheme.verify(&parts.headers, &bytes, (config.clock)()) {
        Ok(delivery) => delivery,
        Err(rejection) => return reject(rejection, None),
    };

    if let Some((content_type, body)) = delivery.reply_body() {
        tracing::info!("handshake answered by the layer");
        let mut response = Response::new(ResponseBody::own(Full::new(body.clone())));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        return Ok(response);
    }

    // 4. Replay guard: every replay key must be fresh.
    let mut held = Held::new(Arc::clone(&config.guard));
    for key in delivery.replay_keys() {
        let begin = config.guard.begin(key).await;
        match begin {
            Ok(Begin::Fresh(claim)) => held.keys.push((key.to_owned(), claim)),
            Ok(Begin::Done) => {
                held.release().await;
                tracing::info!(
                    event_id = delivery.id(),
                    "duplicate delivery acknowledged; already processed"
                );
                return Ok(duplicate());
            }
            Ok(Begin::InFlight { retry_after }) => {
                held.release().await;
                let retry_after = retry_after.min(MAX_IN_FLIGHT_RETRY_AFTER);
                return reject(Rejection::InFlight { retry_after }, Some(delivery.id()));
            }
            Err(error) => {
                held.release().await;
                tracing::error!(event_id = delivery.id(), error = %error, source = ?std::error::Error::source(&error), "replay guard failed");
                return reject(Rejection::GuardUnavailable, Some(delivery.id()));
            }
        }
    }

    // 5. Forward the same bytes, with the `Verified` extension.
    let (id, event_type, timestamp) = delivery.into_parts();
    let mut request = Request::from_parts(parts, ReqBody::Buffered::from(bytes.clone()));
    request
        .extensions_mut()
        .insert(Verified::new(id.clone(), event_type, timestamp, bytes));
    let call = match catch_unwind(AssertUnwindSafe(|| inner.call(request))) {
        Ok(future) => CatchUnwind { inner: future },
        Err(panic) => {
            held.release().await;
            return Ok(panicked(&id, &*panic));
        }
    };
    let outcome = match config.deadline {
        Some(deadline) => match tokio::time::timeout(deadline, call).await {
            Ok(outcome) => outcome,
            Err(_elapsed) => {
                held.release().await;
                return reject(Rejection::DeadlineExceeded { deadline }, Some(&id));
            }
        },
        None => call.await,
    };

    // 6. Settle by outcome.
    match outcome {
        Ok(Ok(response)) if response.status().is_success() => {
            held.commit(&id).await;
            Ok(response.map(ResponseBody::inner))
        }
        Ok(Ok(response)) if response.extensions().get::<PermanentFailure>().is_some() => {
            held.commit(&id).await;
            let reason = response
                .extensions()
                .get::<PermanentFailure>()
                .map(PermanentFailure::reason);
            tracing::error!(
                event_id = %id,
                status = response.status().as_u16(),
                reason,
                "handler failed permanently; event recorded as processed so the sender stops retrying"
            );
            Ok(response.map(ResponseBody::inner))
        }
        Ok(Ok(response)) => {
            held.release().await;
            tracing::warn!(
                event_id = %id,
                status = response.status().as_u16(),
                "handler did not succeed; event released for the sender's retry"
            );
            Ok(response.map(ResponseBody::inner))
        }
        Ok(Err(error)) => {
            held.release().await;
            tracing::warn!(event_id = %id, "inner service failed; event released for the sender's retry");
            Err(error)
        }
        Err(panic) => {
            held.release().await;
            Ok(panicked(&id, &*panic))
        }
    }
}

fn duplicate<B>() -> Response<ResponseBody<B>> {
    let mut response = Response::new(ResponseBody::own(Full::new(Bytes::from_static(
        DUPLICATE_BODY.as_bytes(),
    ))));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn panicked<B>(id: &str, panic: &(dyn Any + Send)) -> Response<ResponseBody<B>> {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("<non-string panic payload>");
    tracing::error!(
        event_id = id,
        panic = message,
        "handler panicked; event released for the sender's retry"
    );
    let mut response = Response::new(ResponseBody::own(Full::new(Bytes::from_static(
        b"internal error",
    ))));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

pin_project! {
    /// Turns a panic while polling `inner` into `Err(payload)`.
    struct CatchUnwind<F> {
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.project().inner;
        // After a panic the inner future is never polled again: we return Ready.
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

/// The claims this request holds. Whatever way the request ends, they are
/// settled: committed on success, released otherwise, and released by `Drop`
/// when the future is dropped (the client went away, a timeout above us fired)
/// or unwinds. This is what guarantees that an event is never left marked
/// in flight or done without its handler having succeeded.
struct Held<G: ReplayGuard> {
    guard: Arc<G>,
    keys: Vec<(String, Claim)>,
}

impl<G: ReplayGuard> Held<G> {
    fn new(guard: Arc<G>) -> Self {
        Self {
            guard,
            keys: Vec::new(),
        }
    }

    async fn commit(&mut self, id: &str) {
        for (key, claim) in std::mem::take(&mut self.keys) {
            if let Err(error) = self.guard.commit(&key, claim).await {
                // The handler succeeded and the sender gets its 2xx; a
                // redelivery (unlikely after a 2xx) would be processed again.
                tracing::error!(event_id = id, %error, source = ?std::error::Error::source(&error), "could not record the event as processed");
            }
        }
    }

    async fn release(&mut self) {
        for (key, claim) in std::mem::take(&mut self.keys) {
            if let Err(error) = self.guard.release(&key, claim).await {
                tracing::error!(%error, "could not release the event; it stays in flight until the guard's timeout");
            }
        }
    }
}

impl<G: ReplayGuard> Drop for Held<G> {
    fn drop(&mut self) {
        if self.keys.is_empty() {
            return;
        }
        let guard = Arc::clone(&self.guard);
        let keys = std::mem::take(&mut self.keys);
        let mut release = Box::pin(async move {
            for (key, claim) in keys {
                let _ = guard.release(&key, claim).await;
            }
        });
        // The in-memory guard finishes on the first poll. A guard that has to
        // wait (a network store) finishes on the runtime, if there is one;
        // otherwise its in-flight timeout frees the id.
        if release
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_pending()
        {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(release);
                }
                Err(_) => tracing::warn!(
                    "dropped delivery could not be released; the guard's in-flight timeout will"
                ),
            }
        }
    }
}
