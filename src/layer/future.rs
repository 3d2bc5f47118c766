use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::layer::Config;
use super::service::BufferBody;
use crate::replay::{Begin, Claim, ReplayGuard};
use crate::scheme::{Delivery, Scheme, Verdict};
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
const MAX_IN_FLIGHT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// The answer to a delivery whose event was processed already.
pub(crate) const DUPLICATE_BODY: &str = r#"{"duplicate":true}"#;

/// One delivery, start to finish (see the module docs for the steps).
///
/// Each step that waits is a future of its own (`read_body`, `claim`,
/// [`Forward`], `Held::settle`), awaited one after the other, and what steps 1
/// to 5 make lives in a block that ends before the handler is awaited: the
/// compiler then lets the steps' states share memory instead of laying them
/// side by side. Behind an axum `Route` the boxed future is 984 bytes instead
/// of 1.7 KiB as one straight `async fn`, which keeps its one allocation per
/// request in glibc's per-thread cache (up to 1,032 bytes); past that, every
/// request paid for a large-chunk allocation and a bigger copy.
pub(crate) fn receive<S, Sch, G, ReqBody, ResBody>(
    config: Arc<Config<Sch, G>>,
    mut inner: S,
    request: Request<ReqBody>,
) -> impl Future<Output = Result<Response<ResponseBody<ResBody>>, S::Error>>
where
    S: Service<Request<ReqBody::Buffered>, Response = Response<ResBody>>,
    Sch: Scheme,
    G: ReplayGuard,
    ReqBody: BufferBody,
    ReqBody::Error: Into<BoxError>,
{
    let (parts, body) = request.into_parts();
    async move {
        // Steps 1 to 5 in a block: what they make (the bytes, the delivery,
        // the rebuilt request) is gone before the handler is awaited, and the
        // future does not keep room for it beside the later steps. No `.await`
        // may follow the rebuilt request inside the block.
        let (mut held, id, forward) = {
            // 1. Limit, and 2. buffer.
            let bytes = match read_body(config.body_limit, config.body_timeout, &parts.headers, body).await {
                Ok(bytes) => bytes,
                Err(rejection) => return Ok(reject(&config, &rejection, None)),
            };

            // 3. Verify.
            let delivery = match config.scheme.verify((&parts).into(), &bytes, (config.clock)()) {
                Ok(Verdict::Event(delivery)) => delivery,
                Ok(Verdict::Reply(reply)) => {
                    tracing::info!(status = %reply.status(), "handshake answered by the layer");
                    return Ok(reply.into_response::<Full<Bytes>>().map(ResponseBody::own));
                }
                Err(rejection) => return Ok(reject(&config, &rejection, None)),
            };

            // 4. Replay guard: every replay key must be fresh.
            let held = match claim(&config, &delivery).await {
                Ok(held) => held,
                Err(response) => return Ok(response),
            };

            // 5. Forward the same bytes, with the `Verified` extension.
            let (id, event_type, timestamp) = delivery.into_parts();
            let mut request = Request::from_parts(parts, ReqBody::Buffered::from(bytes.clone()));
            request
                .extensions_mut()
                .insert(Verified::new(id.clone(), event_type, timestamp, bytes));
            let forward = match catch_unwind(AssertUnwindSafe(|| inner.call(request))) {
                Ok(call) => Forward::new(config.deadline, call),
                Err(panic) => Forward::Panicked { panic: Some(panic) },
            };
            (held, id, forward)
        };
        let outcome = forward.await;

        // 6. Settle by outcome.
        held.settle(outcome.commits(), Some(&id)).await;
        respond(&config, &id, outcome)
    }
}

/// Steps 1 and 2: the body, read under the limit.
async fn read_body<B>(
    limit: usize,
    timeout: Option<Duration>,
    headers: &HeaderMap,
    body: B,
) -> Result<Bytes, Rejection>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    // Trust a declared length only to refuse early.
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(Rejection::BodyTooLarge { limit });
    }
    // A single-frame body is not copied.
    let collect = Limited::new(body, limit).collect();
    let collected = match timeout {
        Some(timeout) => tokio::time::timeout(timeout, collect)
            .await
            .map_err(|_elapsed| Rejection::BodyTimeout { limit: timeout })?,
        None => collect.await,
    };
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(Rejection::BodyTooLarge { limit }),
        Err(error) => {
            tracing::debug!(%error, "reading the request body failed");
            Err(Rejection::BodyUnreadable)
        }
    }
}

/// Step 4: holds every replay key of `delivery`, or answers for the layer.
async fn claim<Sch, G, B>(
    config: &Config<Sch, G>,
    delivery: &Delivery,
) -> Result<Held<G>, Response<ResponseBody<B>>>
where
    G: ReplayGuard,
{
    let mut held = Held::new(Arc::clone(&config.guard));
    for key in delivery.replay_keys() {
        match config.guard.begin(key).await {
            Ok(Begin::Fresh(claim)) => held.keys.push((key.to_owned(), claim)),
            Ok(Begin::Done) => {
                held.release().await;
                tracing::info!(
                    event_id = delivery.id(),
                    "duplicate delivery acknowledged; already processed"
                );
                return Err(duplicate());
            }
            Ok(Begin::InFlight { retry_after }) => {
                held.release().await;
                return Err(reject(
                    config,
                    &Rejection::InFlight {
                        retry_after: retry_after.min(MAX_IN_FLIGHT_RETRY_AFTER),
                    },
                    Some(delivery.id()),
                ));
            }
            Err(error) => {
                held.release().await;
                tracing::error!(event_id = delivery.id(), error = %error, source = ?std::error::Error::source(&error), "replay guard failed");
                return Err(reject(config, &Rejection::GuardUnavailable, Some(delivery.id())));
            }
        }
    }
    Ok(held)
}

/// How the inner service answered.
enum Outcome<R, E> {
    Response(R),
    Error(E),
    Panicked(Box<dyn Any + Send>),
    Deadline(Duration),
}

pin_project! {
    /// Step 5's wait: the inner service's future, with panics caught, under
    /// the deadline if there is one. A named future rather than an `async`
    /// block or a second `.await` in `receive`, so that `receive`'s state
    /// stores the inner future once and keeps nothing of steps 1 to 5.
    #[project = ForwardProj]
    enum Forward<F> {
        Plain { #[pin] call: CatchUnwind<F> },
        Timed { #[pin] call: tokio::time::Timeout<CatchUnwind<F>>, deadline: Duration },
        // `inner.call` itself panicked.
        Panicked { panic: Option<Box<dyn Any + Send>> },
    }
}

impl<F: Future> Forward<F> {
    fn new(deadline: Option<Duration>, call: F) -> Self {
        let call = CatchUnwind { inner: call };
        match deadline {
            Some(deadline) => Forward::Timed {
                call: tokio::time::timeout(deadline, call),
                deadline,
            },
            None => Forward::Plain { call },
        }
    }
}

impl<F, R, E> Future for Forward<F>
where
    F: Future<Output = Result<R, E>>,
{
    type Output = Outcome<R, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let caught = match self.project() {
            ForwardProj::Plain { call } => ready!(call.poll(cx)),
            ForwardProj::Timed { call, deadline } => match ready!(call.poll(cx)) {
                Ok(caught) => caught,
                Err(_elapsed) => return Poll::Ready(Outcome::Deadline(*deadline)),
            },
            ForwardProj::Panicked { panic } => Err(panic.take().expect("Forward polled after completion")),
        };
        Poll::Ready(match caught {
            Ok(Ok(response)) => Outcome::Response(response),
            Ok(Err(error)) => Outcome::Error(error),
            Err(panic) => Outcome::Panicked(panic),
        })
    }
}

impl<R, E> Outcome<Response<R>, E> {
    /// Whether the event counts as processed: a 2xx, or a response marked as
    /// a [`PermanentFailure`]. Anything else releases it for a retry.
    fn commits(&self) -> bool {
        matches!(self, Outcome::Response(response)
            if response.status().is_success() || response.extensions().get::<PermanentFailure>().is_some())
    }
}

/// Step 6, once the held keys are settled: logs the outcome and answers.
fn respond<Sch, G, B, E>(
    config: &Config<Sch, G>,
    id: &str,
    outcome: Outcome<Response<B>, E>,
) -> Result<Response<ResponseBody<B>>, E> {
    match outcome {
        Outcome::Response(response) if response.status().is_success() => {
            Ok(response.map(ResponseBody::inner))
        }
        Outcome::Response(response) if response.extensions().get::<PermanentFailure>().is_some() => {
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
        Outcome::Response(response) => {
            tracing::warn!(
                event_id = %id,
                status = response.status().as_u16(),
                "handler did not succeed; event released for the sender's retry"
            );
            Ok(response.map(ResponseBody::inner))
        }
        Outcome::Error(error) => {
            tracing::warn!(event_id = %id, "inner service failed; event released for the sender's retry");
            Err(error)
        }
        Outcome::Panicked(panic) => Ok(panicked(id, &*panic)),
        Outcome::Deadline(deadline) => Ok(reject(
            config,
            &Rejection::DeadlineExceeded { deadline },
            Some(id),
        )),
    }
}

/// The layer's answer to a refused delivery, logged.
fn reject<Sch, G, B>(
    config: &Config<Sch, G>,
    rejection: &Rejection,
    event_id: Option<&str>,
) -> Response<ResponseBody<B>> {
    tracing::warn!(
        status = rejection.status().as_u16(),
        reason = %rejection,
        event_id,
        "webhook rejected"
    );
    config.rejection_response(rejection).map(ResponseBody::own)
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

    /// Commits every held key (the event was processed) or releases it (so
    /// the sender's retry is processed).
    async fn settle(&mut self, commit: bool, id: Option<&str>) {
        for (key, claim) in std::mem::take(&mut self.keys) {
            let settled = if commit {
                self.guard.commit(&key, claim).await
            } else {
                self.guard.release(&key, claim).await
            };
            match settled {
                Ok(()) => {}
                // The handler succeeded and the sender gets its 2xx; a
                // redelivery (unlikely after a 2xx) would be processed again.
                Err(error) if commit => {
                    tracing::error!(event_id = id, %error, source = ?std::error::Error::source(&error), "could not record the event as processed");
                }
                Err(error) => {
                    tracing::error!(event_id = id, %error, "could not release the event; it stays in flight until the guard's timeout");
                }
            }
        }
    }

    async fn release(&mut self) {
        self.settle(false, None).await;
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
