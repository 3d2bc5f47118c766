//! Steps 4 to 6 around the handler: the replay keys held ([`Held`], settled
//! however the delivery ends), the handler awaited under its bound with
//! panics caught ([`Forward`]), and the settle by its outcome, a dead letter
//! kept first when the handler marked one.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};
use std::time::Duration;

use http::{Response, StatusCode};
use pin_project_lite::pin_project;

use super::answer::{dead_lettered, duplicate, internal_error, reject};
use super::body::ResponseBody;
use super::layer::Config;
use super::load::Slot;
use crate::dead_letter::{self, DeadLetter, DeadLetterError};
use crate::observe::{self, Track};
use crate::replay::{Begin, Claim, ReplayGuard};
use crate::{Rejection, Verified};

/// The longest `Retry-After` a `409` asks for. The guard's hint is when the
/// other request's claim would expire, but that request usually answers within
/// the sender's own timeout; a retry a few seconds later then finds the event
/// done (200) or released (processed).
const MAX_IN_FLIGHT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Steps 5 and 6: awaits the handler (or a drain that gives up on it), keeps
/// a marked delivery as a dead letter, settles the held keys, and answers.
/// The slot is freed when this ends, however it ends.
pub(super) async fn finish<Sch, G, F, B, E>(
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
pub(super) fn handler_bound(
    deadline: Option<Duration>,
    claim_lifetime: Option<Duration>,
) -> Option<Duration> {
    let below_claim = claim_lifetime.map(|lifetime| lifetime - (lifetime / 10).min(CLAIM_MARGIN));
    match (deadline, below_claim) {
        (Some(deadline), Some(below_claim)) => Some(deadline.min(below_claim)),
        (deadline, below_claim) => deadline.or(below_claim),
    }
}

/// The most time [`handler_bound`] keeps between a handler's bound and its claim's end.
const CLAIM_MARGIN: Duration = Duration::from_secs(1);

/// Step 4: holds every replay key of the delivery (its id, and the
/// scheme's `replay_key` if it has one), or answers for the layer.
pub(super) async fn claim<Sch, G, B>(
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
pub(super) enum Outcome<R, E> {
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
    pub(super) enum Forward<F> {
        Plain { #[pin] call: CatchUnwind<F> },
        Timed { #[pin] call: tokio::time::Timeout<CatchUnwind<F>>, deadline: Duration, until: tokio::time::Instant },
        // `inner.call` itself panicked.
        Panicked { panic: Option<Box<dyn Any + Send>> },
    }
}

impl<F: Future> Forward<F> {
    pub(super) fn new(deadline: Option<Duration>, call: F) -> Self {
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
pub(super) struct Held<G: ReplayGuard> {
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
