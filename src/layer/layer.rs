use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use serde::de::DeserializeOwned;

use super::load::{Load, Shutdown};
use super::log::{RejectionLog, DEFAULT_REJECTION_LOG_INTERVAL};
use crate::dead_letter::{DeadLetterSink, ErasedSink, MemoryDeadLetters};
use crate::inbox::{ErasedInbox, InboxStore};
use crate::observe::{self, Observer};
use crate::replay::{LruGuard, ReplayGuard};
use crate::scheme::decode::{As, Decode};
use crate::scheme::Scheme;
use crate::Rejection;

/// The default body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The default [body timeout](WebhookLayer::body_timeout): 10 seconds.
///
/// Senders have the whole body ready when they connect, and time out
/// themselves after 5 to 30 seconds (Shopify 5 s, GitHub 10 s, Svix 15 s,
/// Stripe 30 s); 10 s is ample for a 1 MiB body over any working link, and
/// short enough that a client that stalls mid-body frees its slot soon.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// The default [concurrency limit](WebhookLayer::concurrency_limit): 1024
/// deliveries in progress at once.
pub const DEFAULT_CONCURRENCY_LIMIT: usize = 1024;

/// The default [read limit](WebhookLayer::concurrent_reads): unverified
/// bodies read at once past their first poll.
pub const DEFAULT_READ_LIMIT: usize = 256;

/// The longest wait between two frames of a body (when the
/// [body timeout](WebhookLayer::body_timeout) is longer): a body that stalls
/// gives its read slot back within this.
pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(2);

type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;
type RejectionResponse = Arc<dyn Fn(&Rejection) -> Response<Full<Bytes>> + Send + Sync>;

/// A [`Layer`](tower_layer::Layer) that receives webhooks: it bounds and buffers the body,
/// verifies the signature, drops replays, and settles the replay guard by the
/// inner service's outcome. See the [module docs](crate::layer) for the whole
/// request path.
///
/// ```
/// use std::time::Duration;
/// use tower_webhook::{scheme::Spec, LruGuard, Secret, WebhookLayer};
///
/// let layer = WebhookLayer::new(Spec::petstore(Secret::new("petstore secret")?))
///     .guard(LruGuard::new(50_000))
///     .body_limit(256 * 1024)
///     .deadline(Duration::from_secs(8));
/// # Ok::<(), tower_webhook::SecretError>(())
/// ```
pub struct WebhookLayer<Sch, G = LruGuard> {
    pub(super) config: Config<Sch, G>,
}

/// Everything a service needs; every field is cheap to clone.
pub(crate) struct Config<Sch, G> {
    pub(crate) scheme: Arc<Sch>,
    pub(crate) guard: Arc<G>,
    pub(crate) body_limit: usize,
    pub(crate) body_timeout: Option<Duration>,
    pub(crate) deadline: Option<Duration>,
    pub(crate) clock: Clock,
    pub(crate) on_rejection: Option<RejectionResponse>,
    pub(crate) observe: observe::Settings,
    pub(crate) rejection_log: Arc<RejectionLog>,
    /// The payload type the layer decodes for the extractor, if set.
    pub(crate) decode: Option<Arc<dyn Decode>>,
    /// Run to completion, load shedding, dead letters, shutdown.
    pub(crate) delivery: Delivery,
}

/// What the layer does about disconnects, overload, poison events and
/// shutdown; every field is cheap to clone.
#[derive(Clone)]
pub(crate) struct Delivery {
    pub(crate) load: Arc<Load>,
    pub(crate) cancel_on_disconnect: bool,
    pub(crate) dead_letters: Arc<dyn ErasedSink>,
    pub(crate) dead_letter_status: StatusCode,
    /// Inbox mode: where verified deliveries are stored, or `None` for the
    /// synchronous mode.
    pub(crate) inbox: Option<Arc<InboxMode>>,
}

/// The layer's inbox mode: the store, and how the layer tells the workers of
/// this process that a delivery was stored.
pub(crate) struct InboxMode {
    pub(crate) store: Arc<dyn ErasedInbox>,
    /// Woken after every stored delivery, so a worker starts it at once.
    pub(crate) wake: Arc<tokio::sync::Notify>,
    /// The acknowledgement's status (default `200`).
    pub(crate) ack_status: StatusCode,
}

impl Default for Delivery {
    fn default() -> Self {
        Self {
            load: Arc::new(Load::new(DEFAULT_CONCURRENCY_LIMIT)),
            cancel_on_disconnect: false,
            dead_letters: Arc::new(MemoryDeadLetters::default()),
            dead_letter_status: StatusCode::OK,
            inbox: None,
        }
    }
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("concurrency_limit", &self.load.limit())
            .field("in_progress", &self.load.active())
            .field("cancel_on_disconnect", &self.cancel_on_disconnect)
            .field("dead_letter_status", &self.dead_letter_status)
            .field("inbox", &self.inbox.as_ref().map(|inbox| inbox.ack_status))
            .finish_non_exhaustive()
    }
}

impl<Sch, G> Config<Sch, G> {
    pub(crate) fn rejection_response(&self, rejection: &Rejection) -> Response<Full<Bytes>> {
        match &self.on_rejection {
            Some(custom) => {
                // `to_response` puts the rejection in the extensions itself.
                let mut response = custom(rejection);
                response.extensions_mut().insert(rejection.clone());
                response
            }
            None => rejection.to_response(),
        }
    }
}

impl<Sch: Scheme> WebhookLayer<Sch, LruGuard> {
    /// A layer verifying deliveries with `scheme`, with an in-memory
    /// [`LruGuard`] of the default capacity, a 1 MiB body limit, a 10 s
    /// [body timeout](Self::body_timeout), no deadline (handlers are still
    /// bounded below the guard's in-flight timeout), a
    /// [concurrency limit](Self::concurrency_limit) of 1024, handlers that
    /// run to completion, and dead letters kept in a [`MemoryDeadLetters`].
    pub fn new(scheme: Sch) -> Self {
        let scheme_name = scheme.name();
        Self {
            config: Config {
                scheme: Arc::new(scheme),
                guard: Arc::new(LruGuard::default()),
                body_limit: DEFAULT_BODY_LIMIT,
                body_timeout: Some(DEFAULT_BODY_TIMEOUT),
                deadline: None,
                clock: Arc::new(SystemTime::now),
                on_rejection: None,
                rejection_log: Arc::new(RejectionLog::new(DEFAULT_REJECTION_LOG_INTERVAL)),
                decode: None,
                delivery: Delivery::default(),
                observe: observe::Settings {
                    scheme: scheme_name,
                    observer: None,
                },
            },
        }
    }
}

impl<Sch, G> WebhookLayer<Sch, G> {
    fn map(mut self, f: impl FnOnce(&mut Config<Sch, G>)) -> Self {
        f(&mut self.config);
        self
    }

    /// Uses `guard` to remember processed and in-flight events.
    ///
    /// Pass an `Arc` to keep a handle on the guard (an `Arc` of a guard is a
    /// guard too).
    #[must_use]
    pub fn guard<G2: ReplayGuard>(self, guard: G2) -> WebhookLayer<Sch, G2> {
        let config = self.config;
        WebhookLayer {
            config: Config {
                scheme: config.scheme,
                guard: Arc::new(guard),
                body_limit: config.body_limit,
                body_timeout: config.body_timeout,
                deadline: config.deadline,
                clock: config.clock,
                on_rejection: config.on_rejection,
                rejection_log: config.rejection_log,
                decode: config.decode,
                delivery: config.delivery,
                observe: config.observe,
            },
        }
    }

    /// The largest body accepted, in bytes (default 1 MiB); a larger one is
    /// answered `413`, from `Content-Length` before reading when it is given,
    /// otherwise the moment the limit is passed while reading.
    ///
    /// A limit of 0 is kept, and logged at `warn`: it refuses every
    /// delivery with a body, which is never what a receiver wants.
    #[must_use]
    pub fn body_limit(self, bytes: usize) -> Self {
        if bytes == 0 {
            tracing::warn!("body limit of 0 bytes: every delivery with a body will be refused with 413");
        }
        self.map(|c| c.body_limit = bytes)
    }

    /// Answers `408 Request Timeout` when the body has not arrived in full
    /// within `limit` (default [`DEFAULT_BODY_TIMEOUT`], 10 s), without
    /// calling the inner service. Without it, a client that declares a length
    /// and then stalls holds the request (and its memory, up to the body
    /// limit) for as long as it keeps the connection open.
    ///
    /// This bounds the body only. The wait for the request *headers* is the
    /// server's business: neither `axum::serve` nor hyper's
    /// `http1::Builder::new()` bounds it unless given a timer and a
    /// `header_read_timeout` (the examples show how), so a client that never
    /// finishes its headers holds a connection for as long as it likes.
    ///
    /// The timer is armed only when the body is not complete on the first
    /// poll (an in-memory body costs nothing), and needs a tokio runtime with
    /// the time driver then. A zero `limit` is taken as the default, and
    /// logged at `warn`; use [`no_body_timeout`](Self::no_body_timeout) to
    /// switch the timeout off.
    #[must_use]
    pub fn body_timeout(self, limit: Duration) -> Self {
        let limit = if limit.is_zero() {
            tracing::warn!(
                default = ?DEFAULT_BODY_TIMEOUT,
                "body timeout of zero would refuse every streamed body; using the default"
            );
            DEFAULT_BODY_TIMEOUT
        } else {
            limit
        };
        self.map(|c| c.body_timeout = Some(limit))
    }

    /// Waits for the body as long as the client keeps the connection open:
    /// no [body timeout](Self::body_timeout). Only for a server or proxy in
    /// front that already bounds how long a request body may take.
    #[must_use]
    pub fn no_body_timeout(self) -> Self {
        self.map(|c| c.body_timeout = None)
    }

    /// Answers `503` with `Retry-After` when the inner service has not
    /// answered within `deadline`, cancels it, and releases the event, so a
    /// slow handler is bounded (a sender gives up waiting after GitHub 10 s,
    /// Shopify 5 s, Svix 15 s; the handler still runs to completion, see
    /// [`cancel_on_disconnect`](Self::cancel_on_disconnect)). Needs a tokio
    /// runtime with the time driver.
    ///
    /// **The handler's bound is tied to the replay guard's claim.** When the
    /// guard's claims expire ([`ReplayGuard::claim_lifetime`]: `LruGuard`
    /// and `RedisGuard` default to 60 s), the layer bounds every handler by
    /// the smaller of this deadline and that lifetime less a margin (a
    /// tenth of it, at most 1 s), with or without a deadline set. So no
    /// handler can still be running when its claim lapses and a retry takes
    /// the event over: an event never runs twice at once. A handler that
    /// needs longer needs a longer in-flight timeout on the guard.
    ///
    /// A zero deadline would answer `503` to every handler that waits on
    /// anything; it is taken as no deadline, and logged at `warn`.
    #[must_use]
    pub fn deadline(self, deadline: Duration) -> Self {
        if deadline.is_zero() {
            tracing::warn!("a deadline of zero would fail every handler that waits; no deadline set");
            return self.map(|c| c.deadline = None);
        }
        self.map(|c| c.deadline = Some(deadline))
    }

    /// The most deliveries in progress at once (default
    /// [`DEFAULT_CONCURRENCY_LIMIT`], at least 1): bodies being read and
    /// handlers running, including handlers still running after their client
    /// went away. One more is answered `503` with `Retry-After`
    /// ([`Rejection::Overloaded`]) at once, before its body is read, without
    /// asking the replay guard or calling the handler; the sender retries
    /// it. This bounds memory to about `(limit + read limit) × body_limit` for bodies ([`concurrent_reads`](Self::concurrent_reads)), plus
    /// what the handlers hold, however large a burst a sender replays.
    ///
    /// The count, and this limit, are shared by every clone of the layer,
    /// every service it makes, and its [`shutdown_handle`](Self::shutdown_handle).
    #[must_use]
    pub fn concurrency_limit(self, limit: usize) -> Self {
        self.config.delivery.load.set_limit(limit);
        self
    }

    /// How many unverified bodies may be read at once (default
    /// [`DEFAULT_READ_LIMIT`], at least 1), a budget apart from the
    /// [handlers'](Self::concurrency_limit).
    ///
    /// A body complete on the first poll (a sender's, which writes its
    /// request at once) keeps the handler's slot it was admitted with. One
    /// still arriving gives that slot back and takes a read slot until it is
    /// complete, which it must be within the [body timeout](Self::body_timeout)
    /// and with no more than [`BODY_IDLE_TIMEOUT`] between frames; past this
    /// limit it is answered `503` ([`Rejection::Overloaded`] with this limit)
    /// at once. Once verified it takes a handler's slot again. So stalled
    /// bodies that carry a signature header's name cannot make genuine
    /// deliveries `503`, and bodies in memory stay bounded by about
    /// `(concurrency limit + read limit) × body limit`.
    #[must_use]
    pub fn concurrent_reads(self, limit: usize) -> Self {
        self.config.delivery.load.set_read_limit(limit);
        self
    }

    /// Whether a client's disconnect cancels its handler (default `false`).
    ///
    /// By default, once a verified delivery has claimed its event, its
    /// handler runs to completion even if the client goes away (a sender
    /// that gives up waiting): it runs inside the response future, and moves
    /// onto the tokio runtime as a task of its own if that future is
    /// dropped, bounded by the
    /// [deadline](Self::deadline); its outcome commits or releases the event
    /// as usual. The sender's retry then finds the event done (`200`
    /// duplicate) or still in flight (`409` with `Retry-After`), instead of
    /// running a handler whose side effect already happened a second time.
    /// A detached handler counts against the
    /// [concurrency limit](Self::concurrency_limit) until it finishes.
    /// A delivery dropped before its handler started goes on the same way:
    /// a body that can no longer arrive is refused as unreadable, and a
    /// complete one is verified and processed.
    ///
    /// `true` restores cancellation: when hyper drops the response future,
    /// the handler is dropped with it and the event released, so a handler
    /// that did its side effect before an `.await` runs it again on the retry.
    /// Without a tokio runtime, handlers always run inside the response future.
    #[must_use]
    pub fn cancel_on_disconnect(self, cancel: bool) -> Self {
        self.map(|c| c.delivery.cancel_on_disconnect = cancel)
    }

    /// Keeps [dead letters](crate::dead_letter) in `sink` (default: a
    /// [`MemoryDeadLetters`] of 1000 letters, each logged at `error`).
    ///
    /// Pass an `Arc` to keep a handle on the sink.
    #[must_use]
    pub fn dead_letters(self, sink: impl DeadLetterSink) -> Self {
        self.map(|c| c.delivery.dead_letters = Arc::new(sink))
    }

    /// The status that acknowledges a dead letter (default `200 OK`).
    ///
    /// Once the delivery is stored and its event committed, a `2xx` makes
    /// every sender stop. Another status (such as `422`, to show the failure
    /// in the sender's dashboard) is sent as given; a sender that retries it
    /// gets `200` duplicates.
    #[must_use]
    pub fn dead_letter_status(self, status: StatusCode) -> Self {
        self.map(|c| c.delivery.dead_letter_status = status)
    }

    /// **Inbox mode**: stores every verified delivery in `store` and
    /// acknowledges it once it is stored durably, instead of calling the
    /// inner service; an [`InboxWorker`](crate::inbox::InboxWorker) built
    /// from this layer runs the inner service on the stored deliveries,
    /// with retries. See [`inbox`](crate::inbox) for the request's path, the
    /// status codes and the guarantees.
    ///
    /// A stored delivery is answered `200 {"received":true}` (the status is
    /// [configurable](Self::inbox_ack_status)); a delivery the inbox knows
    /// already, in any state, the same status with `{"duplicate":true}`; a
    /// store that fails, `503` with `Retry-After`
    /// ([`Rejection::InboxUnavailable`]). The body limit, the body timeout,
    /// load shedding, verification and handshakes are as in the synchronous
    /// mode; the replay guard, the dead-letter sink and
    /// [`decode_as`](Self::decode_as) are not used (the inbox's replay keys
    /// dedupe, dead records stay in the inbox).
    ///
    /// Pass an `Arc` to keep a handle on the store (for its admin side).
    #[must_use]
    pub fn inbox(self, store: impl InboxStore) -> Self {
        let ack_status = self
            .config
            .delivery
            .inbox
            .as_ref()
            .map_or(StatusCode::OK, |inbox| inbox.ack_status);
        self.map(|c| {
            c.delivery.inbox = Some(Arc::new(InboxMode {
                store: Arc::new(store),
                wake: Arc::new(tokio::sync::Notify::new()),
                ack_status,
            }))
        })
    }

    /// In inbox mode, the status that acknowledges a stored delivery and a
    /// duplicate (default `200 OK`; the body is `{"received":true}` or
    /// `{"duplicate":true}`, none for `204`). Only a `2xx` is taken: any
    /// other status would make the sender retry a delivery that is safe, so
    /// it is refused with a `warn` and the status left as it was. Without
    /// [`inbox`](Self::inbox) set first, this does nothing.
    #[must_use]
    pub fn inbox_ack_status(self, status: StatusCode) -> Self {
        if !status.is_success() {
            tracing::warn!(%status, "an inbox acknowledgement must be 2xx; status not changed");
            return self;
        }
        self.map(|c| {
            if let Some(inbox) = &c.delivery.inbox {
                c.delivery.inbox = Some(Arc::new(InboxMode {
                    store: Arc::clone(&inbox.store),
                    wake: Arc::clone(&inbox.wake),
                    ack_status: status,
                }));
            }
        })
    }

    /// The inbox mode's store, wake-up, scheme name, observer and deadline,
    /// for a worker; `None` in the synchronous mode.
    pub(crate) fn inbox_mode(&self) -> Option<(Arc<InboxMode>, observe::Settings, Option<Duration>)> {
        let inbox = self.config.delivery.inbox.as_ref()?;
        Some((
            Arc::clone(inbox),
            self.config.observe.clone(),
            self.config.deadline,
        ))
    }

    /// A handle to stop taking deliveries and wait for the ones in progress
    /// ([`Shutdown::drain`]). Shared by every clone of the layer and every
    /// service it makes.
    pub fn shutdown_handle(&self) -> Shutdown {
        Shutdown::new(Arc::clone(&self.config.delivery.load))
    }

    /// The clock timestamps are checked against (default [`SystemTime::now`]);
    /// for tests.
    #[must_use]
    pub fn clock(self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.map(|c| c.clock = Arc::new(clock))
    }

    /// Builds the response for a rejection instead of the default short text.
    /// The [`Rejection`] is put in the response's extensions either way.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http_body_util::Full;
    /// use tower_webhook::{scheme::Spec, Secret, WebhookLayer};
    ///
    /// let layer = WebhookLayer::new(Spec::petstore(Secret::new("s")?)).on_rejection(|rejection| {
    ///     let body = format!(r#"{{"error":"{}"}}"#, rejection.body_text());
    ///     http::Response::builder()
    ///         .status(rejection.status())
    ///         .header("content-type", "application/json")
    ///         .body(Full::new(Bytes::from(body)))
    ///         .unwrap()
    /// });
    /// # Ok::<(), tower_webhook::SecretError>(())
    /// ```
    #[must_use]
    pub fn on_rejection(
        self,
        respond: impl Fn(&Rejection) -> Response<Full<Bytes>> + Send + Sync + 'static,
    ) -> Self {
        self.map(|c| c.on_rejection = Some(Arc::new(respond)))
    }

    /// How often each kind of rejection may write a `warn` line (default
    /// [`DEFAULT_REJECTION_LOG_INTERVAL`], 10 s).
    ///
    /// Every request that is not a valid delivery (a forged signature, a
    /// stale timestamp, a missing header) is refused, and a flood of them
    /// should not decide how much the receiver logs. So per kind of
    /// [`Rejection`] and per interval, the first is logged at `warn`, with a
    /// `held_back` field counting the ones of that kind logged at `debug`
    /// only since the previous `warn` line; the rest are logged at `debug`.
    /// Every rejection is thus still in the log at `debug`, and in the
    /// response's extensions for a metrics layer to count. The count is
    /// kept in atomics: no lock is taken. `Duration::ZERO` logs every
    /// rejection at `warn`.
    #[must_use]
    pub fn rejection_log_interval(self, interval: Duration) -> Self {
        self.map(|c| c.rejection_log = Arc::new(RejectionLog::new(interval)))
    }

    /// Tells `observer` how every delivery ends, with its timings (see
    /// [`observe`](crate::observe)); replaces any observer set before. Pass a
    /// tuple for several, e.g. `(Metrics::new(), recent.clone())`. Without
    /// one, the layer reads no clock and allocates nothing for observing.
    #[must_use]
    pub fn observer(self, observer: impl Observer) -> Self {
        self.map(|c| c.observe.observer = Some(Arc::new(observer)))
    }

    /// The scheme's name in the delivery's span, in each [`Report`](crate::observe::Report)
    /// and as the `scheme` label of the metrics (default: [`Scheme::name`]).
    /// A `&'static str`, so a closed set: give each layer a fixed name such as
    /// `"github"`, never one made from a request.
    #[must_use]
    pub fn scheme_name(self, name: &'static str) -> Self {
        self.map(|c| c.observe.scheme = name)
    }

    /// Decodes every verified payload as a `T` in the layer, for the
    /// [`Webhook<T>`](crate::extract::Webhook) extractor (or a
    /// [`Dispatcher`](crate::handler::Dispatcher) handler) of the same `T`,
    /// so that the body is parsed once instead of twice.
    ///
    /// Without it, the layer reads the event id and type out of the body by
    /// a walk of its own, and the extractor then parses the body again. With
    /// it, the layer parses the body into a `T` right after the signature is
    /// verified, reads the id and type as that parse goes by them, and hands
    /// the `T` to the first extractor that asks for one. What the handler
    /// gets, and every answer the layer gives, are the same either way:
    ///
    /// - the `T` is what `serde_json::from_slice::<T>` makes of the bytes;
    /// - when the body does not decode as a `T`, the layer walks the body as
    ///   without this setting, and the extractor parses it again and refuses
    ///   it as usual (`400` or `422`, then a [dead letter](crate::dead_letter));
    /// - the id and type are taken from the parse only when they are certain
    ///   to be what the walk would read; otherwise (a repeated key, an id
    ///   that is not a string or an integer, a field below the top level of
    ///   the body) the layer walks the body for them too, and refuses what
    ///   the walk refuses (a repeated `id` is still `400`).
    ///
    /// Set it when the route's handler takes a `Webhook<T>`. A handler that
    /// asks for another type (or reads [`Verified`](crate::Verified) and
    /// parses the bytes itself) still gets what it asks for, but the layer's
    /// parse was wasted. Every verified delivery is parsed before the replay
    /// guard looks at it, redeliveries and handshakes included, where the
    /// walk would have stopped at the id. A `Deserialize` that panics counts
    /// as a body that does not decode: it panics again in the extractor,
    /// where it is a handler panic as without this setting (the status and
    /// the outcome are the same; the panic hook runs twice, and for a
    /// redelivery or a handshake once where it did not run before; with
    /// `panic = "abort"` the process aborts in the layer).
    ///
    /// Every scheme of this crate built on a [`Spec`](crate::scheme::Spec)
    /// (every preset but `Twilio`, `Mailgun` and `GitLab`, whose signed
    /// content or id is not in a JSON body the walk reads) decodes this way;
    /// for those three and for a [`Scheme`] of your own the setting does
    /// nothing, and the extractor decodes as usual.
    ///
    /// ```
    /// use tower_webhook::{scheme::Spec, Event, Secret, WebhookLayer};
    ///
    /// type OrderEvent = Event<serde_json::Value>;
    ///
    /// // async fn webhook(Webhook { event, .. }: Webhook<OrderEvent>) -> ... { ... }
    /// let layer = WebhookLayer::new(Spec::petstore(Secret::new("petstore secret")?))
    ///     .decode_as::<OrderEvent>();
    /// # Ok::<(), tower_webhook::SecretError>(())
    /// ```
    #[must_use]
    pub fn decode_as<T: DeserializeOwned + Send + 'static>(self) -> Self {
        self.map(|c| c.decode = Some(Arc::new(As::<T>::new())))
    }

    /// The replay guard, shared by every service this layer makes.
    pub fn replay_guard(&self) -> &Arc<G> {
        &self.config.guard
    }
}

impl<Sch, G> Clone for WebhookLayer<Sch, G> {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
        }
    }
}

impl<Sch, G> Clone for Config<Sch, G> {
    fn clone(&self) -> Self {
        Self {
            scheme: Arc::clone(&self.scheme),
            guard: Arc::clone(&self.guard),
            body_limit: self.body_limit,
            body_timeout: self.body_timeout,
            deadline: self.deadline,
            clock: Arc::clone(&self.clock),
            on_rejection: self.on_rejection.clone(),
            rejection_log: Arc::clone(&self.rejection_log),
            decode: self.decode.clone(),
            delivery: self.delivery.clone(),
            observe: self.observe.clone(),
        }
    }
}

impl<Sch: fmt::Debug, G: fmt::Debug> fmt::Debug for WebhookLayer<Sch, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.config.fmt(f)
    }
}

impl<Sch: fmt::Debug, G: fmt::Debug> fmt::Debug for Config<Sch, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookLayer")
            .field("scheme", &self.scheme)
            .field("guard", &self.guard)
            .field("body_limit", &self.body_limit)
            .field("body_timeout", &self.body_timeout)
            .field("deadline", &self.deadline)
            .field("on_rejection", &self.on_rejection.as_ref().map(|_| ".."))
            .field("rejection_log_interval", &self.rejection_log.interval())
            .field("delivery", &self.delivery)
            .field(
                "decode_as",
                &self.decode.as_ref().map(|decode| decode.type_name()),
            )
            .field("observe", &self.observe)
            .finish_non_exhaustive()
    }
}
