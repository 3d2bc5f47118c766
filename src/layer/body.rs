//! The body in both directions: the request's, read under the limit and
//! the timeout (steps 1 and 2), and the response's, the inner service's or
//! the layer's own.

use std::fmt;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use http::header::CONTENT_LENGTH;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use pin_project_lite::pin_project;

use super::layer::BODY_IDLE_TIMEOUT;
use super::load::{Load, Slot};
use crate::{BoxError, Rejection};

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
    pub(super) fn inner(body: B) -> Self {
        Self {
            kind: Kind::Inner { body },
        }
    }

    pub(super) fn own(body: Full<Bytes>) -> Self {
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

/// Steps 1 and 2: the body, read under the limit. A body complete on the
/// first poll keeps the handler's `slot`; one still arriving gives it back
/// for a read slot (or is refused `503` when all are taken) and must come
/// within the timeout, with no more than [`BODY_IDLE_TIMEOUT`] between frames.
pub(super) async fn read_body<B>(
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

/// A body that sent nothing for [`BODY_IDLE_TIMEOUT`].
#[derive(Debug)]
struct Stalled;

impl fmt::Display for Stalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no frame of the body within the idle timeout")
    }
}

impl std::error::Error for Stalled {}

/// Polls `future` once: its output if it is ready at once.
async fn first_poll<F: Future>(mut future: Pin<&mut F>) -> Option<F::Output> {
    std::future::poll_fn(|cx| match future.as_mut().poll(cx) {
        Poll::Ready(output) => Poll::Ready(Some(output)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}
