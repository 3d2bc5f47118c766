use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http::{Request, Response};
use http_body::Body;
use http_body_util::Full;
use tower_service::Service;
use tracing::{Instrument, Span};

use super::answer::{inbox_ack, internal_error, reject, DUPLICATE_BODY, INBOX_ACK_BODY};
use super::body::{read_body, ResponseBody};
use super::layer::{Config, InboxMode};
use super::settle::{claim, finish, handler_bound, Forward};
use crate::event::{strip_declared, RequestHead};
use crate::inbox::{Enqueued, Incoming, State};
use crate::observe::{self, Track};
use crate::replay::ReplayGuard;
use crate::scheme::decode::Decoding;
use crate::scheme::{Scheme, Verdict};
use crate::{BoxError, Rejection, Verified};

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
