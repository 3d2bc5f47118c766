use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};
use std::time::Duration;

use bytes::{Buf, Bytes};
use http::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use pin_project_lite::pin_project;
use tower_service::Service;
use tracing::{Instrument, Span};

use super::layer::BODY_IDLE_TIMEOUT;
use super::layer::{Config, InboxMode};
use super::load::{Load, Slot};
use crate::dead_letter::{self, DeadLetter, DeadLetterError};
use crate::event::{strip_declared, RequestHead};
use crate::inbox::{Enqueued, Incoming, State};
use crate::observe::{self, Track};
use crate::replay::{Begin, Claim, ReplayGuard};
use crate::scheme::decode::Decoding;
use crate::scheme::{Scheme, Verdict};
use crate::{BoxError, PermanentFailure, Rejection, Verified};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The response future of [`WebhookService`](super::WebhookService).
///
/// Dropped before it answers (the client went away, a timeout above the
/// layer fired), it moves the rest of the delivery onto the tokio runtime as
/// a task of its own, unless the layer
/// [cancels on disconnect](crate::WebhookLayer::cancel_on_disconnect): a
/// handler is never cut off between its side effect and its answer. A
/// delivery whose client stays (the usual case) pays for no task, no wake-up
/// across tasks and no join.
pub struct ResponseFuture<B: 'static, E: 'static> {
    /// `None` once it answered (or panicked).
    inner: Option<BoxFuture<Result<Response<ResponseBody<B>>, E>>>,
    // The delivery's span, entered while `inner` is polled. Kept out of the
    // box so that the box stays small (see `receive`).
    span: Span,
    /// Where the rest of the delivery runs if this future is dropped first.
    detach: Option<tokio::runtime::Handle>,
}

impl<B: 'static, E: 'static> ResponseFuture<B, E> {
    pub(crate) fn new(
        future: observe::Spanned<impl Future<Output = Result<Response<ResponseBody<B>>, E>> + Send + 'static>,
        cancel_on_disconnect: bool,
    ) -> Self {
        Self {
            inner: Some(Box::pin(future.future)),
            span: future.span,
            // Without a runtime the future can only be run to its end or dropped.
            detach: if cancel_on_disconnect {
                None
            } else {
                tokio::runtime::Handle::try_current().ok()
            },
        }
    }
}

impl<B: 'static, E: 'static> Future for ResponseFuture<B, E> {
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else {
            panic!("ResponseFuture polled after it answered");
        };
        let _entered = this.span.enter();
        // The handler's panics are caught inside; only the layer's own steps
        // (settling the replay guard) could panic here. Dropping the future
        // then releases what it held.
        let polled = catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx)));
        let answer = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(answer)) => answer,
            Err(_panic) => {
                tracing::error!("delivery failed while settling; event released for the sender's retry");
                Ok(internal_error())
            }
        };
        this.inner = None;
        Poll::Ready(answer)
    }
}

impl<B: 'static, E: 'static> Drop for ResponseFuture<B, E> {
    fn drop(&mut self) {
        if let (Some(inner), Some(runtime)) = (self.inner.take(), self.detach.take()) {
            let span = std::mem::replace(&mut self.span, Span::none());
            // A runtime shutting down drops the task, and with it the held
            // claims, which release themselves.
            runtime.spawn(
                async move {
                    let _answer = inner.await;
                }
                .instrument(span),
            );
        }
    }
}

impl<B: 'static, E: 'static> fmt::Debug for ResponseFuture<B, E> {
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
/// [`Forward`], `finish`), awaited one after the other, and what steps 1
/// to 5 make lives in a block that ends before the handler is awaited: the
/// compiler then lets the steps' states share memory instead of laying them
/// side by side. Behind an axum `Route` the boxed future is about 1 KiB
/// instead of 1.7 KiB as one straight `async fn`, which keeps its one
/// allocation per request in glibc's per-thread cache (up to 1,032 bytes);
/// past that, every request paid for a large-chunk allocation and a bigger
/// copy.
///
/// Steps 5 and 6 (`finish`) run inside this future. Should the response
/// future be dropped first, [`ResponseFuture`] moves what is left of this one
/// onto the runtime, unless the layer cancels on disconnect, so that a client
/// going away cannot drop a handler between its side effect and its answer.
/// The delivery's [`Track`] moves with it, so an observer hears how a
/// detached handler ended.
pub(crate) fn receive<S, Sch, G, ReqBody, ResBody>(
    config: Arc<Config<Sch, G>>,
    mut inner: S,
    request: Request<ReqBody>,
) -> observe::Spanned<impl Future<Output = Result<Response<ResponseBody<ResBody>>, S::Error>>>
where
    S: Service<Request<Full<Bytes>>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Send + 'static,
    Sch: Scheme,
    G: ReplayGuard,
    ReqBody: Body,
    ReqBody::Data: Buf,
    ReqBody::Error: Into<BoxError>,
{
    let (parts, body) = request.into_parts();
    let (mut track, span) = Track::start(&config.observe);
    observe::Spanned::new(span, async move {
        // 0. Shed: past the limit, or once shutdown began, answer before
        // reading anything or asking the guard. A body still arriving after
        // its first poll gives this slot back for a read slot, and takes a
        // handler's slot again only once verified: stalled unverified bodies
        // never hold one.
        let mut slot = match config.delivery.load.try_start() {
            Ok(slot) => Some(slot),
            Err(refused) => return Ok(track.rejected(reject(&config, &refused.rejection(), None))),
        };

        // Steps 1 to 5 in a block: what they make (the bytes, the delivery,
        // the rebuilt request) is gone before the handler is awaited, and the
        // future does not keep room for it beside the later steps. No `.await`
        // may follow the rebuilt request inside the block.
        let (held, forward, slot) = {
            // Cheap refusals (a missing signature header) before any byte
            // of the body is read.
            if let Err(rejection) = config.scheme.precheck(&parts.headers) {
                return Ok(track.rejected(reject(&config, &rejection, None)));
            }

            // 1. Limit, and 2. buffer.
            let load = &config.delivery.load;
            let read = read_body(
                config.body_limit,
                config.body_timeout,
                load,
                &mut slot,
                &parts.headers,
                body,
            );
            let bytes = match read.await {
                Ok(bytes) => bytes,
                Err(rejection) => return Ok(track.rejected(reject(&config, &rejection, None))),
            };
            track.body_read(&bytes);

            // 3. Verify. (Inbox mode: the worker's handler decodes, not the layer.)
            let inbox = config.delivery.inbox.as_ref();
            let mut decoding = match inbox {
                None => config.decode.as_deref().map(Decoding::new),
                Some(_) => None,
            };
            let verdict =
                config
                    .scheme
                    .verify_in_layer((&parts).into(), &bytes, &*config.clock, decoding.as_mut());
            let delivery = match verdict {
                Ok(Verdict::Event(delivery)) => delivery,
                Ok(Verdict::Reply(reply)) => {
                    // A refusal (Meta's GET with a wrong token) needs no key
                    // to send: it is logged within the rejection budget.
                    if reply.status().is_success() {
                        tracing::info!(status = %reply.status(), "handshake answered by the layer");
                    } else {
                        config.rejection_log.log_refused_handshake(reply.status());
                    }
                    let response = reply.into_response::<Full<Bytes>>().map(ResponseBody::own);
                    return Ok(track.answered(observe::Outcome::Handshake, response));
                }
                Err(rejection) => return Ok(track.rejected(reject(&config, &rejection, None))),
            };
            // Verified: a handler's slot, if the read gave it back (held
            // through the store, in inbox mode, so that a drain waits for it).
            let slot = match slot.take().map_or_else(|| config.delivery.load.try_start(), Ok) {
                Ok(slot) => slot,
                Err(refused) => return Ok(track.rejected(reject(&config, &refused.rejection(), None))),
            };
            // 4 and 5 in inbox mode: store, and acknowledge; a worker calls
            // the inner service. Boxed: the synchronous path's future keeps
            // no room for it.
            if let Some(inbox) = inbox {
                if parts.extensions.get::<crate::inbox::Attempt>().is_some() {
                    // Stored again, it would be a duplicate "done" unprocessed.
                    tracing::error!(
                        event_id = delivery.id(),
                        "an InboxWorker was given the service with this WebhookLayer in front; \
                         give it the inner service: the attempt fails"
                    );
                    return Ok(track.rejected(internal_error()));
                }
                let mut parts = parts;
                let scheme = &config.scheme;
                strip_declared(
                    &mut parts.headers,
                    &mut parts.uri,
                    scheme.credential_headers(),
                    scheme.credential_query(),
                );
                return Ok(Box::pin(enqueue(&config, inbox, parts, bytes, delivery, track)).await);
            }
            // What a dead letter keeps, should the handler mark the delivery,
            // in the `Verified` extension's own allocation.
            let mut head = RequestHead {
                method: parts.method.clone(),
                uri: parts.uri.clone(),
                headers: parts.headers.clone(),
            };
            strip_declared(
                &mut head.headers,
                &mut head.uri,
                config.scheme.credential_headers(),
                config.scheme.credential_query(),
            );
            let decoded = decoding.and_then(Decoding::into_value);
            let (verified, replay_key) = delivery.into_verified(bytes.clone(), head, decoded);
            track.verified(&verified);

            // 4. Replay guard: every replay key must be fresh.
            let held = match claim(&config, &verified, replay_key).await {
                Ok(held) => held,
                Err(response) => return Ok(track.refused(response)),
            };
            track.claimed();

            // 5. Forward the same bytes, with the `Verified` extension.
            let mut request = Request::from_parts(parts, Full::new(bytes));
            request.extensions_mut().insert(verified);
            let bound = handler_bound(config.deadline, config.guard.claim_lifetime());
            // Boxed: an `async fn` keeps its argument and the pinned local
            // it is moved into side by side, which would store the inner
            // service's future twice in the delivery's (boxed) future.
            let forward = Box::pin(match catch_unwind(AssertUnwindSafe(|| inner.call(request))) {
                Ok(call) => Forward::new(bound, call),
                Err(panic) => Forward::Panicked { panic: Some(panic) },
            });
            (held, forward, slot)
        };

        // 5 and 6: run the handler and settle by its outcome, detached from
        // this future unless the layer cancels on disconnect.
        finish(Arc::clone(&config), held, forward, slot, track).await
    })
}

/// Steps 5 and 6: awaits the handler (or a drain that gives up on it), keeps
/// a marked delivery as a dead letter, settles the held keys, and answers.
/// The slot is freed when this ends, however it ends.
async fn finish<Sch, G, F, B, E>(
    config: Arc<Config<Sch, G>>,
    mut held: Held<G>,
    mut forward: Pin<Box<Forward<F>>>,
    slot: Slot,
    mut track: Track,
) -> Result<Response<ResponseBody<B>>, E>
where
    G: ReplayGuard,
    F: Future<Output = Result<Response<B>, E>>,
{
    let _slot = slot;
    let outcome = {
        let mut cancelled = pin!(config.delivery.load.cancelled());
        std::future::poll_fn(|cx| {
            if let Poll::Ready(outcome) = forward.as_mut().poll(cx) {
                return Poll::Ready(outcome);
            }
            cancelled.as_mut().poll(cx).map(|()| Outcome::Cancelled)
        })
        .await
    };
    track.handled(outcome.observed());

    if let Outcome::Response(response) = &outcome {
        if let Some(reason) = dead_letter::marked(response) {
            // Boxed: the rare path's state (the letter, the sink's future)
            // stays out of every delivery's future.
            let status = response.status();
            let until = forward.until();
            return Box::pin(keep_dead_letter(&config, held, reason, status, until, track)).await;
        }
    }

    // 6. Settle by outcome.
    held.settle(outcome.commits()).await;
    track.respond(respond(&config, held.verified.id(), outcome))
}

/// Step 6 for a delivery the handler marked as never processable: stores
/// it as a dead letter, then commits its keys and acknowledges it, or, if the
/// sink fails, releases them for the sender's retry.
async fn keep_dead_letter<Sch, G, B, E>(
    config: &Config<Sch, G>,
    mut held: Held<G>,
    reason: &str,
    status: StatusCode,
    until: Option<tokio::time::Instant>,
    mut track: Track,
) -> Result<Response<ResponseBody<B>>, E>
where
    G: ReplayGuard,
{
    let verified = held.verified.clone();
    let id = verified.id();
    let (method, uri, headers) = verified.head().map_or_else(Default::default, |head| {
        (head.method.clone(), head.uri.clone(), head.headers.clone())
    });
    let letter = DeadLetter::new(&verified, method, uri, headers, reason);
    // Within what is left of the handler's bound: a sink that hangs must
    // neither hold the delivery (and a drain) forever nor outlast the claim,
    // after which a retry would take the event over and store the letter twice.
    let store = config.delivery.dead_letters.store_boxed(letter);
    let stored = match until {
        Some(until) => tokio::time::timeout_at(until, store)
            .await
            .unwrap_or_else(|_elapsed| {
                Err(DeadLetterError::new(
                    "the sink did not answer within the handler's bound",
                ))
            }),
        None => store.await,
    };
    match stored {
        Ok(()) => {
            tracing::error!(
                event_id = id,
                event_type = verified.event_type(),
                status = status.as_u16(),
                reason,
                "dead letter: the delivery can never be processed; stored, recorded as processed and acknowledged"
            );
            held.settle(true).await;
            track.handled(observe::Outcome::DeadLettered);
            track.respond(Ok(dead_lettered(config, reason)))
        }
        Err(error) => {
            tracing::error!(event_id = id, reason, %error, source = ?std::error::Error::source(&error), "dead letter could not be stored; event released for the sender's retry");
            held.settle(false).await;
            track.handled(observe::Outcome::DeadLetterUnavailable);
            track.respond(Ok(reject(config, &Rejection::DeadLetterUnavailable, Some(id))))
        }
    }
}

/// How long a handler may run: the deadline, and below the replay guard's
/// claim lifetime, so its claim cannot lapse while it runs. The margin
/// covers the time between the claim and the start of the handler's clock
/// (a guard round trip per replay key).
fn handler_bound(deadline: Option<Duration>, claim_lifetime: Option<Duration>) -> Option<Duration> {
    let below_claim = claim_lifetime.map(|lifetime| lifetime - (lifetime / 10).min(CLAIM_MARGIN));
    match (deadline, below_claim) {
        (Some(deadline), Some(below_claim)) => Some(deadline.min(below_claim)),
        (deadline, below_claim) => deadline.or(below_claim),
    }
}

/// A body that sent nothing for [`BODY_IDLE_TIMEOUT`].
#[derive(Debug)]
struct Stalled;

impl std::fmt::Display for Stalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no frame of the body within the idle timeout")
    }
}

impl std::error::Error for Stalled {}

/// The most time [`handler_bound`] keeps between a handler's bound and its claim's end.
const CLAIM_MARGIN: Duration = Duration::from_secs(1);

/// Steps 1 and 2: the body, read under the limit. A body complete on the
/// first poll keeps the handler's `slot`; one still arriving gives it back
/// for a read slot (or is refused `503` when all are taken) and must come
/// within the timeout, with no more than [`BODY_IDLE_TIMEOUT`] between frames.
async fn read_body<B>(
    limit: usize,
    timeout: Option<Duration>,
    load: &Arc<Load>,
    slot: &mut Option<Slot>,
    headers: &HeaderMap,
    body: B,
) -> Result<Bytes, Rejection>
where
    B: Body,
    B::Data: Buf,
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
    let idle = timeout.map(|timeout| timeout.min(BODY_IDLE_TIMEOUT));
    let mut collect = std::pin::pin!(collect(Limited::new(body, limit), idle));
    // A body complete on the first poll (in memory, or already received)
    // needs no timer and no read slot.
    let collected = match first_poll(collect.as_mut()).await {
        Some(collected) => collected,
        None => {
            *slot = None;
            let _reading = load.try_read().map_err(|refused| refused.rejection())?;
            match timeout {
                Some(timeout) => tokio::time::timeout(timeout, collect)
                    .await
                    .map_err(|_elapsed| Rejection::BodyTimeout { limit: timeout })?,
                None => collect.await,
            }
        }
    };
    match collected {
        Ok(bytes) => Ok(bytes),
        Err(error) if error.is::<LengthLimitError>() => Err(Rejection::BodyTooLarge { limit }),
        Err(error) if error.is::<Stalled>() => Err(Rejection::BodyTimeout {
            limit: idle.unwrap_or(BODY_IDLE_TIMEOUT),
        }),
        Err(error) => {
            tracing::debug!(%error, "reading the request body failed");
            Err(Rejection::BodyUnreadable)
        }
    }
}

/// The body's data: its one frame as it came (no copy, no allocation), or
/// its frames joined into one buffer of exactly their length. Trailers are
/// dropped. Unlike `BodyExt::collect`, which queues every frame and polls
/// once more for the end, a body that says it has ended after its first
/// frame (hyper's, once `Content-Length` bytes came; `Full`) is taken at once.
async fn collect<B>(body: B, idle: Option<Duration>) -> Result<Bytes, BoxError>
where
    B: Body,
    B::Data: Buf,
    B::Error: Into<BoxError>,
{
    let mut body = pin!(body);
    let mut first: Option<Bytes> = None;
    // Only a body of several frames allocates this.
    let mut rest: Vec<Bytes> = Vec::new();
    while !body.is_end_stream() {
        // A frame that is ready arms no timer: `timeout` polls it first.
        let frame = match idle {
            Some(idle) => tokio::time::timeout(idle, body.frame())
                .await
                .map_err(|_elapsed| BoxError::from(Stalled))?,
            None => body.frame().await,
        };
        let Some(frame) = frame else { break };
        let Ok(mut data) = frame.map_err(Into::into)?.into_data() else {
            continue;
        };
        if !data.has_remaining() {
            continue;
        }
        // `Bytes` (hyper's, axum's) hands itself over without a copy.
        let data = data.copy_to_bytes(data.remaining());
        if first.is_none() {
            first = Some(data);
        } else {
            rest.push(data);
        }
    }
    let Some(first) = first else {
        return Ok(Bytes::new());
    };
    if rest.is_empty() {
        return Ok(first);
    }
    let len = first.len() + rest.iter().map(Bytes::len).sum::<usize>();
    let mut joined = bytes::BytesMut::with_capacity(len);
    for data in std::iter::once(&first).chain(&rest) {
        joined.extend_from_slice(data);
    }
    Ok(joined.freeze())
}

/// Polls `future` once: its output if it is ready at once.
async fn first_poll<F: Future>(mut future: Pin<&mut F>) -> Option<F::Output> {
    std::future::poll_fn(|cx| match future.as_mut().poll(cx) {
        Poll::Ready(output) => Poll::Ready(Some(output)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// Steps 4 and 5 in inbox mode: stores the verified delivery, wakes this
/// process's workers, and answers: the acknowledgement once it is stored,
/// the same status with the duplicate marker if the inbox knows it, `503`
/// if the store failed.
async fn enqueue<Sch, G, B>(
    config: &Config<Sch, G>,
    inbox: &InboxMode,
    parts: http::request::Parts,
    bytes: Bytes,
    delivery: crate::scheme::VerifiedEvent,
    mut track: Track,
) -> Response<ResponseBody<B>> {
    let verified = Verified::new(delivery.id(), delivery.event_type(), delivery.timestamp(), bytes);
    track.verified(&verified);
    let incoming = Incoming::from_verified(
        config.observe.scheme,
        &verified,
        delivery.replay_keys().nth(1),
        parts.method,
        parts.uri,
        parts.headers,
    );
    let id = verified.id();
    match inbox.store.enqueue_boxed(incoming).await {
        Ok(Enqueued::Accepted(record)) => {
            inbox.wake.notify_one();
            tracing::debug!(
                event_id = id,
                record = record.get(),
                "delivery stored in the inbox and acknowledged"
            );
            track.stored(inbox_ack(inbox.ack_status, INBOX_ACK_BODY), true)
        }
        Ok(Enqueued::Duplicate { state, .. }) => {
            tracing::info!(
                event_id = id,
                state = state.map_or("purged", State::label),
                "duplicate delivery acknowledged; the inbox knows it"
            );
            track.stored(inbox_ack(inbox.ack_status, DUPLICATE_BODY), false)
        }
        Err(error) => {
            tracing::error!(event_id = id, %error, source = ?std::error::Error::source(&error), "inbox store failed; delivery not acknowledged");
            track.stored(reject(config, &Rejection::InboxUnavailable, Some(id)), false)
        }
    }
}

/// The body that acknowledges a stored delivery.
const INBOX_ACK_BODY: &str = r#"{"received":true}"#;

/// An inbox acknowledgement: `status`, and `body` as JSON (none for `204`).
fn inbox_ack<B>(status: StatusCode, body: &'static str) -> Response<ResponseBody<B>> {
    let body = if status == StatusCode::NO_CONTENT {
        ""
    } else {
        body
    };
    let mut response = Response::new(ResponseBody::own(Full::new(Bytes::from_static(body.as_bytes()))));
    *response.status_mut() = status;
    if !body.is_empty() {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    response
}

/// Step 4: holds every replay key of the delivery (its id, and the
/// scheme's `replay_key` if it has one), or answers for the layer.
async fn claim<Sch, G, B>(
    config: &Config<Sch, G>,
    verified: &Verified,
    replay_key: Option<String>,
) -> Result<Held<G>, Response<ResponseBody<B>>>
where
    G: ReplayGuard,
{
    let mut held = Held::new(Arc::clone(&config.guard), verified.clone(), replay_key);
    for slot in 0..held.claims.len() {
        let Some(key) = held.key(slot) else { continue };
        match config.guard.begin(key).await {
            Ok(Begin::Fresh(claim)) => held.claims[slot] = Some(claim),
            Ok(Begin::Done) => {
                held.release().await;
                tracing::info!(
                    event_id = verified.id(),
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
                    Some(verified.id()),
                ));
            }
            Err(error) => {
                held.release().await;
                tracing::error!(event_id = verified.id(), error = %error, source = ?std::error::Error::source(&error), "replay guard failed");
                return Err(reject(config, &Rejection::GuardUnavailable, Some(verified.id())));
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
    /// A [drain](super::Shutdown::drain) gave up waiting for the handler.
    Cancelled,
}

pin_project! {
    /// Step 5's wait: the inner service's future, with panics caught, under
    /// the deadline if there is one. A named future rather than an `async`
    /// block or a second `.await` in `receive`, so that `receive`'s state
    /// stores the inner future once and keeps nothing of steps 1 to 5.
    #[project = ForwardProj]
    enum Forward<F> {
        Plain { #[pin] call: CatchUnwind<F> },
        Timed { #[pin] call: tokio::time::Timeout<CatchUnwind<F>>, deadline: Duration, until: tokio::time::Instant },
        // `inner.call` itself panicked.
        Panicked { panic: Option<Box<dyn Any + Send>> },
    }
}

impl<F: Future> Forward<F> {
    fn new(deadline: Option<Duration>, call: F) -> Self {
        let call = CatchUnwind::new(call);
        match deadline {
            Some(deadline) => {
                let until = tokio::time::Instant::now() + deadline;
                Forward::Timed {
                    call: tokio::time::timeout_at(until, call),
                    deadline,
                    until,
                }
            }
            None => Forward::Plain { call },
        }
    }

    /// When the handler's bound ends, if it has one.
    fn until(&self) -> Option<tokio::time::Instant> {
        match self {
            Forward::Timed { until, .. } => Some(*until),
            Forward::Plain { .. } | Forward::Panicked { .. } => None,
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
            ForwardProj::Timed { call, deadline, .. } => match ready!(call.poll(cx)) {
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
    /// Whether the event counts as processed: a 2xx. Anything else releases
    /// it for a retry (a response marked as a [`PermanentFailure`] is settled
    /// by `finish`, once its dead letter is stored).
    fn commits(&self) -> bool {
        matches!(self, Outcome::Response(response) if response.status().is_success())
    }

    /// The outcome an observer is told.
    fn observed(&self) -> observe::Outcome {
        match self {
            Outcome::Response(response) if response.status().is_success() => observe::Outcome::Processed,
            Outcome::Response(_) | Outcome::Error(_) => observe::Outcome::HandlerFailed,
            Outcome::Panicked(_) => observe::Outcome::HandlerPanicked,
            Outcome::Deadline(_) => observe::Outcome::HandlerDeadline,
            Outcome::Cancelled => observe::Outcome::Cancelled,
        }
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
        Outcome::Cancelled => {
            tracing::warn!(event_id = %id, "handler cancelled by the shutdown drain; event released for the sender's retry");
            Ok(reject(config, &Rejection::ShuttingDown, Some(id)))
        }
    }
}

/// The answer to a delivery kept as a dead letter.
fn dead_lettered<Sch, G, B>(config: &Config<Sch, G>, reason: &str) -> Response<ResponseBody<B>> {
    let mut response = Response::new(ResponseBody::own(Full::new(Bytes::from_static(
        b"event cannot be processed; kept as a dead letter",
    ))));
    *response.status_mut() = config.delivery.dead_letter_status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response.extensions_mut().insert(PermanentFailure::new(reason));
    response
}

fn internal_error<B>() -> Response<ResponseBody<B>> {
    let mut response = Response::new(ResponseBody::own(Full::new(Bytes::from_static(
        b"internal error",
    ))));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

/// The layer's answer to a refused delivery, logged.
fn reject<Sch, G, B>(
    config: &Config<Sch, G>,
    rejection: &Rejection,
    event_id: Option<&str>,
) -> Response<ResponseBody<B>> {
    config.rejection_log.log(rejection, event_id);
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
    let message = panic_message(panic);
    tracing::error!(
        event_id = id,
        panic = message,
        "handler panicked; event released for the sender's retry"
    );
    internal_error()
}

pin_project! {
    /// Turns a panic while polling `inner` into `Err(payload)`.
    pub(crate) struct CatchUnwind<F> {
        #[pin]
        inner: F,
    }
}

impl<F> CatchUnwind<F> {
    pub(crate) fn new(inner: F) -> Self {
        Self { inner }
    }
}

/// A panic's message, when it has one.
pub(crate) fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("<non-string panic payload>")
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
/// when the future holding them is dropped (the client went away under
/// [`cancel_on_disconnect`](crate::WebhookLayer::cancel_on_disconnect), a
/// timeout above us fired, the runtime shut down) or unwinds. This is what
/// guarantees that an event is never left marked in flight or done without
/// its handler having succeeded.
///
/// The keys are the delivery's id (read from the shared [`Verified`], not
/// copied) and the scheme's extra replay key, if any; `claims[i]` is the
/// claim on key `i` while it is held.
struct Held<G: ReplayGuard> {
    guard: Arc<G>,
    verified: Verified,
    replay_key: Option<String>,
    claims: [Option<Claim>; 2],
}

impl<G: ReplayGuard> Held<G> {
    fn new(guard: Arc<G>, verified: Verified, replay_key: Option<String>) -> Self {
        Self {
            guard,
            verified,
            replay_key,
            claims: [None, None],
        }
    }

    /// Key `slot`: the id, then the extra replay key.
    fn key(&self, slot: usize) -> Option<&str> {
        match slot {
            0 => Some(self.verified.id()),
            _ => self.replay_key.as_deref(),
        }
    }

    /// Commits every held key (the event was processed) or releases it (so
    /// the sender's retry is processed).
    async fn settle(&mut self, commit: bool) {
        let id = self.verified.id();
        for slot in 0..self.claims.len() {
            let Some(claim) = self.claims[slot].take() else {
                continue;
            };
            let key = self.key(slot).unwrap_or_default();
            let settled = if commit {
                self.guard.commit(key, claim).await
            } else {
                self.guard.release(key, claim).await
            };
            match settled {
                Ok(()) => {}
                // The handler succeeded and the sender gets its 2xx; a
                // redelivery (unlikely after a 2xx) would be processed again.
                Err(error) if commit => {
                    tracing::error!(event_id = id, %error, source = ?std::error::Error::source(&error), "could not record the event as processed");
                }
                Err(error) => {
                    tracing::error!(event_id = id, %error, source = ?std::error::Error::source(&error), "could not release the event; it stays in flight until the guard's timeout");
                }
            }
        }
    }

    async fn release(&mut self) {
        self.settle(false).await;
    }
}

impl<G: ReplayGuard> Drop for Held<G> {
    fn drop(&mut self) {
        if self.claims.iter().all(Option::is_none) {
            return;
        }
        let guard = Arc::clone(&self.guard);
        let claims = std::mem::take(&mut self.claims);
        let (verified, replay_key) = (self.verified.clone(), self.replay_key.take());
        let mut release = Box::pin(async move {
            let keys = [Some(verified.id()), replay_key.as_deref()];
            for (key, claim) in keys.into_iter().zip(claims) {
                if let (Some(key), Some(claim)) = (key, claim) {
                    let _ = guard.release(key, claim).await;
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_bound_stays_below_the_claim_lifetime() {
        let secs = Duration::from_secs;
        let millis = Duration::from_millis;
        assert_eq!(handler_bound(None, None), None);
        assert_eq!(handler_bound(Some(secs(5)), None), Some(secs(5)));
        // A margin of a tenth of the lifetime, at most a second.
        assert_eq!(handler_bound(None, Some(secs(60))), Some(secs(59)));
        assert_eq!(handler_bound(None, Some(millis(300))), Some(millis(270)));
        assert_eq!(handler_bound(Some(secs(10)), Some(secs(60))), Some(secs(10)));
        assert_eq!(handler_bound(Some(secs(90)), Some(secs(60))), Some(secs(59)));
        assert_eq!(handler_bound(None, Some(Duration::ZERO)), Some(Duration::ZERO));
    }
}
