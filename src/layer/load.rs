//! How many deliveries the layer is working on: the load-shedding limit, and
//! the [`Shutdown`] handle that stops taking new ones and waits for the rest.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

/// Counts the deliveries in progress: from the moment the layer starts to
/// read a body until the handler's outcome has settled the replay guard,
/// whether or not the client is still there.
pub(crate) struct Load {
    limit: AtomicUsize,
    active: AtomicUsize,
    /// Unverified bodies being read past their first poll, and their own
    /// limit: a stalled body holds one of these, never a handler's slot.
    read_limit: AtomicUsize,
    reads: AtomicUsize,
    closed: AtomicBool,
    /// Woken when `active` drops to zero.
    idle: Notify,
    /// Woken when a drain gives up waiting: detached handlers stop and
    /// release their events.
    cancel: Notify,
    cancelled: AtomicBool,
}

/// Why a delivery could not start.
pub(crate) enum Refused {
    /// `limit` deliveries are in progress already.
    Overloaded(usize),
    /// [`Shutdown::drain`] has begun.
    ShuttingDown,
}

impl Refused {
    /// The rejection that answers it.
    pub(crate) fn rejection(&self) -> crate::Rejection {
        match self {
            Self::Overloaded(limit) => crate::Rejection::Overloaded { limit: *limit },
            Self::ShuttingDown => crate::Rejection::ShuttingDown,
        }
    }
}

impl Load {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit: AtomicUsize::new(limit.max(1)),
            active: AtomicUsize::new(0),
            read_limit: AtomicUsize::new(super::layer::DEFAULT_READ_LIMIT),
            reads: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            idle: Notify::new(),
            cancel: Notify::new(),
            cancelled: AtomicBool::new(false),
        }
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit.load(Ordering::Relaxed)
    }

    pub(crate) fn set_limit(&self, limit: usize) {
        self.limit.store(limit.max(1), Ordering::Relaxed);
    }

    pub(crate) fn read_limit(&self) -> usize {
        self.read_limit.load(Ordering::Relaxed)
    }

    pub(crate) fn set_read_limit(&self, limit: usize) {
        self.read_limit.store(limit.max(1), Ordering::Relaxed);
    }

    /// A slot for reading one unverified body that was not complete at
    /// once, or `Overloaded` with the read limit. Never waits.
    pub(crate) fn try_read(self: &Arc<Self>) -> Result<ReadSlot, Refused> {
        let limit = self.read_limit();
        self.reads
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |reads| {
                (reads < limit).then_some(reads + 1)
            })
            .map_err(|_| Refused::Overloaded(limit))?;
        Ok(ReadSlot {
            load: Arc::clone(self),
        })
    }

    /// A slot for one delivery, or why there is none. Never waits.
    pub(crate) fn try_start(self: &Arc<Self>) -> Result<Slot, Refused> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Refused::ShuttingDown);
        }
        let limit = self.limit();
        self.active
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |active| {
                (active < limit).then_some(active + 1)
            })
            .map_err(|_| Refused::Overloaded(limit))?;
        // A drain that began between the check and the increment waits for
        // this slot too, so the delivery may go on.
        Ok(Slot {
            load: Arc::clone(self),
        })
    }

    pub(crate) fn active(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    /// Resolves when no delivery is in progress.
    async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            // `SeqCst`, with the store of `closed` in `drain` and the two
            // operations in `Slot::drop`: either this load sees the last
            // slot gone, or that slot sees `closed` and wakes this.
            if self.active.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Resolves when a drain gives up on the deliveries still running.
    pub(crate) async fn cancelled(&self) {
        loop {
            let notified = self.cancel.notified();
            if self.cancelled.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }
}

/// One unverified body's place among the reads; freed on drop.
pub(crate) struct ReadSlot {
    load: Arc<Load>,
}

impl Drop for ReadSlot {
    fn drop(&mut self) {
        self.load.reads.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One delivery's place in the [`Load`]; freed on drop, however the delivery ends.
pub(crate) struct Slot {
    load: Arc<Load>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        // Only a drain waits for idle, and it closes the layer first: a
        // delivery that ends while the layer is open wakes nobody (the
        // wake-up takes the `Notify`'s lock).
        if self.load.active.fetch_sub(1, Ordering::SeqCst) == 1 && self.load.closed.load(Ordering::SeqCst) {
            self.load.idle.notify_waiters();
        }
    }
}

/// Stops a [`WebhookLayer`](crate::WebhookLayer) from taking new deliveries
/// and waits for the ones in progress: see [`drain`](Shutdown::drain).
///
/// Get it from [`WebhookLayer::shutdown_handle`](crate::WebhookLayer::shutdown_handle);
/// every service the layer makes (and every clone of the layer) shares it.
///
/// ```
/// use std::time::Duration;
/// use bytes::Bytes;
/// use http::{Response, StatusCode};
/// use http_body_util::Full;
/// use tower::{service_fn, ServiceBuilder, ServiceExt};
/// use tower_webhook::{scheme::Spec, testing, Rejection, Secret, WebhookLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let scheme = Spec::petstore(Secret::new("petstore secret")?);
/// let layer = WebhookLayer::new(scheme.clone());
/// let shutdown = layer.shutdown_handle();
/// let service = ServiceBuilder::new().layer(layer).service(service_fn(|_| async {
///     Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::new())))
/// }));
///
/// // Nothing in progress: the drain returns at once.
/// let drained = shutdown.drain(Duration::from_secs(5)).await;
/// assert_eq!((drained.completed, drained.cancelled), (0, 0));
///
/// // From now on every delivery is refused before its body is read.
/// let request = testing::signed_request::<Full<Bytes>>(&scheme, r#"{"id":"evt_1"}"#, "evt_1");
/// let response = service.oneshot(request).await?;
/// assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
/// assert_eq!(response.extensions().get::<Rejection>(), Some(&Rejection::ShuttingDown));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Shutdown {
    load: Arc<Load>,
}

/// What [`Shutdown::drain`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Drained {
    /// Deliveries that were in progress when the drain began and finished
    /// within the timeout: their events were committed or released by their
    /// outcome, as usual.
    pub completed: usize,
    /// Deliveries still running at the timeout: their handlers were
    /// cancelled and their events released, so the sender's retry (to this
    /// process after a restart, or to another replica) processes them.
    pub cancelled: usize,
}

impl Shutdown {
    pub(crate) fn new(load: Arc<Load>) -> Self {
        Self { load }
    }

    /// Whether the drain has begun.
    pub fn is_closed(&self) -> bool {
        self.load.closed.load(Ordering::Acquire)
    }

    /// How many deliveries are in progress now (bodies being read and
    /// handlers running, detached ones included).
    pub fn in_progress(&self) -> usize {
        self.load.active()
    }

    /// Refuses every delivery from now on with `503` and `Retry-After`
    /// ([`Rejection::ShuttingDown`](crate::Rejection::ShuttingDown)), before
    /// its body is read, and waits up to `timeout` for the deliveries in
    /// progress to finish and settle their events. Handlers still running
    /// then are cancelled and their events released; the drain waits for
    /// those releases too (a guard call each), so that no event is left in
    /// flight when it returns.
    ///
    /// Call it after the server stopped accepting connections (axum's
    /// `with_graceful_shutdown`), and before the runtime goes away. Calling
    /// it again waits again.
    pub async fn drain(&self, timeout: Duration) -> Drained {
        self.load.closed.store(true, Ordering::SeqCst);
        let at_start = self.load.active();
        let finished = tokio::time::timeout(timeout, self.load.idle()).await.is_ok();
        let mut cancelled = 0;
        if !finished {
            cancelled = self.load.active().min(at_start);
            self.load.cancelled.store(true, Ordering::Release);
            self.load.cancel.notify_waiters();
            // The releases are guard calls; bound them as well.
            if tokio::time::timeout(timeout, self.load.idle()).await.is_err() {
                tracing::warn!(
                    still_running = self.load.active(),
                    "deliveries did not release their events after the drain cancelled them"
                );
            }
        }
        let drained = Drained {
            completed: at_start - cancelled,
            cancelled,
        };
        tracing::info!(
            completed = drained.completed,
            cancelled = drained.cancelled,
            "webhook deliveries drained"
        );
        drained
    }
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("limit", &self.load.limit())
            .field("in_progress", &self.load.active())
            .field("closed", &self.is_closed())
            .finish()
    }
}
