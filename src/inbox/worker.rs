//! [`InboxWorker`]: leases stored deliveries and runs the inner service on
//! them, with retries.

use std::future::Future;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{Request, Response};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tower_service::Service;
use tracing::field::Empty;
use tracing::Instrument;

use super::backoff::Backoff;
use super::store::{ErasedInbox, Heartbeat, LeaseToken, Leased, RecordId, Settle, Settled};
use crate::layer::{panic_message, CatchUnwind, WebhookLayer};
use crate::observe::{micros, Observer, Outcome, Report, Timings};
use crate::BoxError;

/// The default most attempts of one event: 8.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;
/// The default oldest an event may be and still be retried: 3 days (Stripe's
/// retry window; a sender that gave up long ago expects nothing more).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3 * 24 * 3600);
/// The default lease time: 30 s, extended by a heartbeat every 10 s while
/// the handler runs.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);
/// The default bound on one handler run when the layer has no
/// [deadline](crate::WebhookLayer::deadline): 5 minutes.
pub const DEFAULT_HANDLER_BOUND: Duration = Duration::from_secs(300);

/// A request extension the worker adds to every delivery it hands the inner
/// service: which record and attempt this is, and the lease that holds it.
///
/// A handler that commits its effect together with the record's settle
/// (`SqliteInbox::settle_with`, or a store's own transaction) settles record
/// `id` under `token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attempt {
    /// The record.
    pub id: RecordId,
    /// The lease's fencing token.
    pub token: LeaseToken,
    /// This attempt's number, from 1.
    pub number: u32,
    /// The most attempts the worker makes.
    pub max_attempts: u32,
}

/// Runs the inner service on the deliveries an inbox-mode
/// [`WebhookLayer`](crate::WebhookLayer) stored, and settles each by its
/// outcome: see the [module docs](super) for the whole path.
///
/// Built from the layer, so that it leases the layer's scheme's records and
/// reports to the layer's [observer](crate::WebhookLayer::observer) under the
/// layer's scheme name, and given the **same inner service** the layer
/// wraps (an axum `Router`, or any tower `Service`): the stored request is
/// rebuilt byte for byte with its [`Verified`](crate::Verified) extension,
/// so `Webhook<T>`, `Dispatcher` and your handlers run unchanged. `B` is the
/// request body type the service takes (`axum::body::Body` for a `Router`).
///
/// - `2xx` → done.
/// - A response carrying [`PermanentFailure`](crate::PermanentFailure)
///   (`HandlerError::permanent`, or the extractor's answer to a payload that
///   does not fit the type) → dead, with the reason.
/// - Anything else (a non-2xx, an error, a panic, the handler's bound) →
///   retried after a [`Backoff`] with jitter, or dead once it had
///   [`max_attempts`](Self::max_attempts) or is older than
///   [`max_age`](Self::max_age).
///
/// At most [`concurrency`](Self::concurrency) handlers run at once. A
/// delivery the layer stores wakes the worker at once; the worker also polls
/// the store every [`poll_interval`](Self::poll_interval) (retries that
/// came due, deliveries another process stored). While a handler runs
/// longer than a third of the lease, the worker extends the lease.
pub struct InboxWorker<B, S> {
    inner: S,
    shared: Arc<Shared>,
    _body: PhantomData<fn() -> B>,
}

/// What every attempt of one worker reads.
struct Shared {
    store: Arc<dyn ErasedInbox>,
    wake: Arc<Notify>,
    scheme: &'static str,
    observer: Option<Arc<dyn Observer>>,
    max_attempts: u32,
    max_age: Duration,
    backoff: Backoff,
    concurrency: usize,
    lease: Duration,
    poll: Duration,
    handler_bound: Duration,
}

/// The layer given to [`InboxWorker::new`] is in the synchronous mode: it
/// has no [inbox](crate::WebhookLayer::inbox).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotInboxMode;

impl std::fmt::Display for NotInboxMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the layer has no inbox: set one with WebhookLayer::inbox before building a worker")
    }
}

impl std::error::Error for NotInboxMode {}

impl<B, S> InboxWorker<B, S> {
    /// A worker for the deliveries `layer` stores, running `inner` on them:
    /// at most [`DEFAULT_MAX_ATTEMPTS`] attempts within
    /// [`DEFAULT_MAX_AGE`], the default [`Backoff`], 32 handlers at once,
    /// leases of [`DEFAULT_LEASE`], a poll every second, and each handler
    /// bounded by the layer's [deadline](crate::WebhookLayer::deadline) (or
    /// [`DEFAULT_HANDLER_BOUND`]).
    ///
    /// # Errors
    ///
    /// [`NotInboxMode`] when the layer has no inbox.
    pub fn new<Sch, G>(layer: &WebhookLayer<Sch, G>, inner: S) -> Result<Self, NotInboxMode> {
        let (inbox, observe, deadline) = layer.inbox_mode().ok_or(NotInboxMode)?;
        Ok(Self {
            inner,
            shared: Arc::new(Shared {
                store: Arc::clone(&inbox.store),
                wake: Arc::clone(&inbox.wake),
                scheme: observe.scheme,
                observer: observe.observer,
                max_attempts: DEFAULT_MAX_ATTEMPTS,
                max_age: DEFAULT_MAX_AGE,
                backoff: Backoff::DEFAULT,
                concurrency: 32,
                lease: DEFAULT_LEASE,
                poll: Duration::from_secs(1),
                handler_bound: deadline.unwrap_or(DEFAULT_HANDLER_BOUND),
            }),
            _body: PhantomData,
        })
    }

    fn map(mut self, f: impl FnOnce(&mut Shared)) -> Self {
        // Only the builder holds the `Arc` before `spawn`.
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            f(shared);
        }
        self
    }

    /// The most attempts of one event (default [`DEFAULT_MAX_ATTEMPTS`], at
    /// least 1); after the last fails, the record is dead. An attempt is
    /// counted when it is leased, so a process that dies in every attempt
    /// runs out too.
    #[must_use]
    pub fn max_attempts(self, attempts: u32) -> Self {
        self.map(|s| s.max_attempts = attempts.max(1))
    }

    /// The oldest an event may be and still be retried (default
    /// [`DEFAULT_MAX_AGE`]): a failure after that, or whose next attempt
    /// would come after that, leaves the record dead.
    #[must_use]
    pub fn max_age(self, age: Duration) -> Self {
        self.map(|s| s.max_age = age)
    }

    /// The delays between attempts (default [`Backoff::DEFAULT`]).
    #[must_use]
    pub fn backoff(self, backoff: Backoff) -> Self {
        self.map(|s| s.backoff = backoff)
    }

    /// How many handlers run at once (default 32, at least 1).
    #[must_use]
    pub fn concurrency(self, handlers: usize) -> Self {
        self.map(|s| s.concurrency = handlers.max(1))
    }

    /// How long a lease holds a record before another worker may take it
    /// over (default [`DEFAULT_LEASE`]). The worker extends it every third
    /// of this while a handler runs; a record whose worker died is taken
    /// over once it lapses. At least 100 ms.
    #[must_use]
    pub fn lease_time(self, lease: Duration) -> Self {
        self.map(|s| s.lease = lease.max(Duration::from_millis(100)))
    }

    /// How often the worker asks the store for due records when nothing
    /// woke it (default 1 s): retries whose delay passed, deliveries another
    /// process stored. At least 10 ms.
    #[must_use]
    pub fn poll_interval(self, poll: Duration) -> Self {
        self.map(|s| s.poll = poll.max(Duration::from_millis(10)))
    }

    /// The longest one handler run may take (default: the layer's
    /// [deadline](crate::WebhookLayer::deadline), or
    /// [`DEFAULT_HANDLER_BOUND`]); past it, the attempt fails and is retried.
    #[must_use]
    pub fn handler_bound(self, bound: Duration) -> Self {
        self.map(|s| s.handler_bound = bound)
    }
}

impl<B, S, ResBody> InboxWorker<B, S>
where
    B: From<Bytes> + Send + 'static,
    S: Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError> + Send + 'static,
    ResBody: Send + 'static,
{
    /// Starts the worker on the tokio runtime; it runs until
    /// [`WorkerHandle::drain`]. Needs a runtime with the time driver.
    pub fn spawn(self) -> WorkerHandle {
        let (control, phase) = watch::channel(Phase::Run);
        let task = tokio::spawn(run(self.shared, self.inner, phase));
        WorkerHandle { control, task }
    }
}

impl<B, S: std::fmt::Debug> std::fmt::Debug for InboxWorker<B, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.shared;
        f.debug_struct("InboxWorker")
            .field("inner", &self.inner)
            .field("scheme", &s.scheme)
            .field("max_attempts", &s.max_attempts)
            .field("max_age", &s.max_age)
            .field("backoff", &s.backoff)
            .field("concurrency", &s.concurrency)
            .field("lease", &s.lease)
            .field("poll", &s.poll)
            .field("handler_bound", &s.handler_bound)
            .finish()
    }
}

/// Where the worker is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Run,
    /// Stop leasing; let running handlers finish.
    Drain,
    /// Stop the handlers still running and release their records.
    Cancel,
}

/// Stops a running [`InboxWorker`]: see [`drain`](Self::drain).
#[derive(Debug)]
pub struct WorkerHandle {
    control: watch::Sender<Phase>,
    task: tokio::task::JoinHandle<WorkerDrained>,
}

/// What [`WorkerHandle::drain`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct WorkerDrained {
    /// Attempts that were running when the drain began and ended within its
    /// timeout, settled by their outcome.
    pub completed: usize,
    /// Attempts still running at the timeout: stopped, and their records
    /// released without charging the attempt, for the next start.
    pub released: usize,
}

impl WorkerHandle {
    /// Stops leasing, waits up to `timeout` for the handlers running to
    /// finish and settle, then stops the rest and releases their records
    /// without charging their attempt (waiting up to `timeout` again for
    /// those releases). Records it could not release are taken over when
    /// their lease lapses.
    pub async fn drain(self, timeout: Duration) -> WorkerDrained {
        let _ = self.control.send(Phase::Drain);
        let mut task = self.task;
        let drained = match tokio::time::timeout(timeout, &mut task).await {
            Ok(drained) => drained,
            Err(_elapsed) => {
                let _ = self.control.send(Phase::Cancel);
                match tokio::time::timeout(timeout, &mut task).await {
                    Ok(drained) => drained,
                    Err(_elapsed) => {
                        task.abort();
                        tracing::warn!(
                            "inbox worker did not release its records in time; their leases will lapse"
                        );
                        return WorkerDrained::default();
                    }
                }
            }
        };
        let drained = drained.unwrap_or_default();
        tracing::info!(
            completed = drained.completed,
            released = drained.released,
            "inbox worker drained"
        );
        drained
    }
}

/// How one attempt ended, for the drain's count.
enum End {
    Completed,
    Released,
}

/// The worker's loop: lease what is due while handlers are free, wait for
/// a wake-up, a poll, or a handler to end; on drain, wait for the running.
async fn run<B, S, ResBody>(shared: Arc<Shared>, inner: S, mut phase: watch::Receiver<Phase>) -> WorkerDrained
where
    B: From<Bytes> + Send + 'static,
    S: Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError> + Send + 'static,
    ResBody: Send + 'static,
{
    let mut running: JoinSet<End> = JoinSet::new();
    let mut store_failed = false;
    let mut control_alive = true;
    while *phase.borrow() == Phase::Run {
        while running.try_join_next().is_some() {}
        let notified = shared.wake.notified();
        let mut notified = pin!(notified);
        notified.as_mut().enable();
        let free = shared.concurrency.saturating_sub(running.len());
        // Lease in batches: while most handlers are busy, a freed slot waits
        // for a few more (one store round trip for several records).
        if free > 0 && (free >= shared.concurrency.div_ceil(4) || running.is_empty()) {
            match shared
                .store
                .lease_boxed(shared.scheme, free, shared.lease, shared.max_attempts)
                .await
            {
                Ok(batch) => {
                    if store_failed {
                        tracing::info!("inbox store answers again");
                        store_failed = false;
                    }
                    for leased in batch {
                        running.spawn(attempt(Arc::clone(&shared), inner.clone(), leased, phase.clone()));
                    }
                }
                Err(error) => {
                    if !store_failed {
                        tracing::error!(%error, source = ?std::error::Error::source(&error), "inbox store failed to lease; retrying at each poll");
                    }
                    store_failed = true;
                }
            }
        }
        // Wait for a wake-up from the layer, the store's poll, a handler
        // that ends (a free slot), or the handle.
        let mut poll = pin!(shared.store.wait_for_work_boxed(shared.poll));
        let mut changed = pin!(phase.changed());
        std::future::poll_fn(|cx| {
            if notified.as_mut().poll(cx).is_ready() || poll.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            if control_alive {
                if let Poll::Ready(result) = changed.as_mut().poll(cx) {
                    // A dropped handle leaves the worker running.
                    control_alive = result.is_ok();
                    return Poll::Ready(());
                }
            }
            if !running.is_empty() && running.poll_join_next(cx).is_ready() {
                return Poll::Ready(());
            }
            Poll::Pending
        })
        .await;
    }
    let mut drained = WorkerDrained::default();
    while let Some(end) = running.join_next().await {
        match end {
            Ok(End::Completed) => drained.completed += 1,
            Ok(End::Released) => drained.released += 1,
            Err(error) => tracing::error!(%error, "inbox attempt task failed"),
        }
    }
    drained
}

/// How the inner service answered one attempt.
enum Answer {
    Status(http::StatusCode, Option<String>),
    Error(String),
    Panicked(String),
    Bound(Duration),
    /// A drain stopped it.
    Cancelled,
    /// The lease was lost (taken over): someone else has the record now.
    LostLease,
}

/// One attempt: rebuild the request, run the inner service under its bound
/// with heartbeats, settle by the answer, report.
async fn attempt<B, S, ResBody>(
    shared: Arc<Shared>,
    mut inner: S,
    leased: Leased,
    mut phase: watch::Receiver<Phase>,
) -> End
where
    B: From<Bytes> + Send + 'static,
    S: Service<Request<B>, Response = Response<ResBody>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError> + Send + 'static,
    ResBody: Send + 'static,
{
    let Leased { record, token } = leased;
    let entry = &record.entry;
    let number = entry.attempts;
    let span = tracing::info_span!(
        target: "tower_webhook::observe",
        "webhook",
        scheme = shared.scheme,
        event_id = %entry.event_id,
        event_type = entry.event_type.as_deref(),
        attempt = number,
        outcome = Empty,
        status = Empty,
        handler_us = Empty,
        retry_in_ms = Empty,
    );
    let mut request: Request<B> = record.to_request();
    request.extensions_mut().insert(Attempt {
        id: entry.id,
        token,
        number,
        max_attempts: shared.max_attempts,
    });
    if let Some(observer) = &shared.observer {
        observer.handler_started(shared.scheme);
    }
    let started = Instant::now();
    let answer = run_handler(&shared, &mut inner, request, entry.id, token, &mut phase)
        .instrument(span.clone())
        .await;
    let took = started.elapsed();

    let failure = |what: String| -> (Settle, Outcome) {
        let age = SystemTime::now()
            .duration_since(entry.received_at)
            .unwrap_or_default();
        let after = shared.backoff.delay(number);
        let outcome = match &answer {
            Answer::Panicked(_) => Outcome::HandlerPanicked,
            Answer::Bound(_) => Outcome::HandlerDeadline,
            _ => Outcome::HandlerFailed,
        };
        if number >= shared.max_attempts {
            let reason = format!("gave up after {number} attempts: {what}");
            (Settle::Dead { reason }, outcome)
        } else if age + after > shared.max_age {
            let reason = format!("older than {:?} at attempt {number}: {what}", shared.max_age);
            (Settle::Dead { reason }, outcome)
        } else {
            (Settle::Retry { after, error: what }, outcome)
        }
    };
    let (settle, outcome, status) = match &answer {
        Answer::Status(status, Some(reason)) => (
            Settle::Dead {
                reason: reason.clone(),
            },
            Outcome::DeadLettered,
            Some(*status),
        ),
        Answer::Status(status, None) if status.is_success() => {
            (Settle::Done, Outcome::Processed, Some(*status))
        }
        Answer::Status(status, None) => {
            let (settle, outcome) = failure(format!("handler answered {}", status.as_u16()));
            (settle, outcome, Some(*status))
        }
        Answer::Error(error) => {
            let (settle, outcome) = failure(format!("inner service failed: {error}"));
            (settle, outcome, None)
        }
        Answer::Panicked(message) => {
            let (settle, outcome) = failure(format!("handler panicked: {message}"));
            (settle, outcome, None)
        }
        Answer::Bound(bound) => {
            let (settle, outcome) = failure(format!("handler did not finish within {bound:?}"));
            (settle, outcome, None)
        }
        Answer::Cancelled => (Settle::Release, Outcome::Cancelled, None),
        Answer::LostLease => {
            let _entered = span.enter();
            tracing::warn!("lease lost while the handler ran; the record is another worker's now");
            report(
                &shared,
                &span,
                entry,
                number,
                Outcome::Cancelled,
                None,
                took,
                None,
            );
            return End::Completed;
        }
    };
    let retry_in = match &settle {
        Settle::Retry { after, .. } => Some(*after),
        _ => None,
    };
    {
        let _entered = span.enter();
        match &settle {
            Settle::Done => tracing::debug!("processed"),
            Settle::Retry { after, error } => {
                tracing::warn!(%error, retry_in_ms = micros(*after) / 1000, "attempt failed; retried later")
            }
            Settle::Dead { reason } => tracing::error!(%reason, "record is dead: it will not be retried"),
            Settle::Release => tracing::info!("stopped by the drain; released without charging the attempt"),
        }
    }
    let released = matches!(settle, Settle::Release);
    settle_record(&shared, entry.id, token, settle)
        .instrument(span.clone())
        .await;
    report(&shared, &span, entry, number, outcome, status, took, retry_in);
    if released {
        End::Released
    } else {
        End::Completed
    }
}

/// Calls the inner service under the handler's bound, extending the lease
/// while it runs; stops it when a drain cancels or the lease is lost.
async fn run_handler<B, S, ResBody>(
    shared: &Shared,
    inner: &mut S,
    request: Request<B>,
    id: RecordId,
    token: LeaseToken,
    phase: &mut watch::Receiver<Phase>,
) -> Answer
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    S::Error: Into<BoxError>,
{
    if let Err(error) = std::future::poll_fn(|cx| inner.poll_ready(cx)).await {
        return Answer::Error(error.into().to_string());
    }
    let call = match catch_unwind(AssertUnwindSafe(|| inner.call(request))) {
        Ok(call) => call,
        Err(panic) => return Answer::Panicked(panic_message(&*panic).to_owned()),
    };
    let mut handler = pin!(tokio::time::timeout(shared.handler_bound, CatchUnwind::new(call)));
    let beat = shared.lease / 3;
    let mut next_beat = pin!(tokio::time::sleep(beat));
    // Set when the store cannot extend leases: the handler must end before its lease does.
    let mut lease_end: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
    let mut cancelled = pin!(phase.wait_for(|phase| *phase == Phase::Cancel));
    let mut control_alive = true;
    loop {
        let event = std::future::poll_fn(|cx| {
            if let Poll::Ready(answer) = handler.as_mut().poll(cx) {
                return Poll::Ready(Event::Answered(answer));
            }
            if lease_end.is_none() && next_beat.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Event::Beat);
            }
            if lease_end
                .as_mut()
                .is_some_and(|end| end.as_mut().poll(cx).is_ready())
            {
                return Poll::Ready(Event::LeaseEnds);
            }
            if control_alive {
                if let Poll::Ready(result) = cancelled.as_mut().poll(cx) {
                    // A dropped handle cancels nothing.
                    control_alive = false;
                    if result.is_ok() {
                        return Poll::Ready(Event::Cancelled);
                    }
                }
            }
            Poll::Pending
        })
        .await;
        match event {
            Event::Answered(Err(_elapsed)) => return Answer::Bound(shared.handler_bound),
            Event::Answered(Ok(Err(panic))) => return Answer::Panicked(panic_message(&*panic).to_owned()),
            Event::Answered(Ok(Ok(Err(error)))) => return Answer::Error(error.into().to_string()),
            Event::Answered(Ok(Ok(Ok(response)))) => {
                return Answer::Status(
                    response.status(),
                    crate::dead_letter::marked(&response).map(str::to_owned),
                )
            }
            Event::Beat => {
                match shared.store.heartbeat_boxed(id, token, shared.lease).await {
                    Ok(Heartbeat::Extended) => {}
                    Ok(Heartbeat::Stale) => return Answer::LostLease,
                    // End a beat before the lease would lapse, so that no
                    // other worker takes the record over meanwhile.
                    Ok(Heartbeat::Unsupported) => {
                        lease_end = Some(Box::pin(tokio::time::sleep(shared.lease - 2 * beat)));
                    }
                    Err(error) => tracing::warn!(%error, "could not extend the lease; trying again"),
                }
                let at = next_beat.deadline() + beat;
                next_beat.as_mut().reset(at);
            }
            Event::LeaseEnds => return Answer::Bound(shared.lease - beat),
            Event::Cancelled => return Answer::Cancelled,
        }
    }
}

/// What woke [`run_handler`].
enum Event<T> {
    Answered(T),
    Beat,
    LeaseEnds,
    Cancelled,
}

/// Settles a record, trying the store a few times: a settle that never
/// lands leaves the record running until its lease lapses, and then it is
/// attempted again (at least once, never lost).
async fn settle_record(shared: &Shared, id: RecordId, token: LeaseToken, settle: Settle) {
    for wait in [100, 500, 2_000, 0] {
        match shared.store.settle_boxed(id, token, settle.clone()).await {
            Ok(Settled::Applied) => return,
            Ok(Settled::Stale) => {
                // The handler settled it itself (`settle_with`), or the lease was taken over.
                tracing::debug!("record already settled or taken over; nothing to settle");
                return;
            }
            Err(error) if wait > 0 => {
                tracing::warn!(%error, source = ?std::error::Error::source(&error), "could not settle the record; trying again");
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            Err(error) => {
                tracing::error!(%error, source = ?std::error::Error::source(&error), "could not settle the record; it is attempted again once its lease lapses");
            }
        }
    }
}

/// Records the attempt's end in its span and tells the observer.
#[allow(clippy::too_many_arguments)]
fn report(
    shared: &Shared,
    span: &tracing::Span,
    entry: &super::store::Entry,
    attempt: u32,
    outcome: Outcome,
    status: Option<http::StatusCode>,
    took: Duration,
    retry_in: Option<Duration>,
) {
    tracing::record_all!(
        span,
        outcome = outcome.label(),
        status = status.map(|status| status.as_u16()),
        handler_us = micros(took),
        retry_in_ms = retry_in.map(|after| micros(after) / 1000),
    );
    if let Some(observer) = &shared.observer {
        let timings = Timings {
            handler: Some(took),
            total: took,
            ..Timings::default()
        };
        observer.delivery(&Report {
            scheme: shared.scheme,
            outcome,
            status,
            event_id: Some(&entry.event_id),
            event_type: entry.event_type.as_deref(),
            rejection: None,
            timings,
            body: None,
            attempt: Some(attempt),
            retry_in,
        });
    }
}
