//! The [`InboxStore`] trait and the values it takes and gives.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Uri};

use crate::event::Verified;

/// A record's number in its store, unique and never reused by that store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordId(i64);

impl RecordId {
    /// The record with this number.
    pub const fn new(id: i64) -> Self {
        Self(id)
    }

    /// The number.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Proof that one worker holds a record's lease: the fencing token.
///
/// A store gives every lease of a record a token of its own, and
/// [`settle`](InboxStore::settle) and [`heartbeat`](InboxStore::heartbeat)
/// act only while the record is still held under that token. A worker whose
/// lease expired and was taken over by another cannot settle the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaseToken(i64);

impl LeaseToken {
    /// A token with this value; stores choose values that do not repeat for a record.
    pub const fn new(token: i64) -> Self {
        Self(token)
    }

    /// The value.
    pub const fn get(self) -> i64 {
        self.0
    }
}

/// Where a record is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Stored, never attempted (or released by a drain before its first attempt ended).
    Pending,
    /// Leased by a worker; its handler runs (or ran, if the lease expired).
    Running,
    /// Failed at least once; attempted again after its delay.
    Retrying,
    /// Processed: the handler answered 2xx.
    Done,
    /// Never to be processed without help: marked permanent, or out of
    /// attempts or age. [`requeue`](InboxStore::requeue) gives it another go.
    Dead,
}

impl State {
    /// Every state, in the order of a record's life.
    pub const ALL: [State; 5] = [
        State::Pending,
        State::Running,
        State::Retrying,
        State::Done,
        State::Dead,
    ];

    /// The state's label: `pending`, `running`, `retrying`, `done`, `dead`.
    pub const fn label(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Running => "running",
            State::Retrying => "retrying",
            State::Done => "done",
            State::Dead => "dead",
        }
    }

    /// The state with this [label](Self::label).
    pub fn from_label(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.label() == label)
    }

    /// Whether the record may still be processed (pending, running, retrying).
    pub const fn is_active(self) -> bool {
        matches!(self, State::Pending | State::Running | State::Retrying)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A verified delivery as the layer hands it to [`InboxStore::enqueue`]:
/// the exact bytes, the request line and the headers it was verified with
/// (credentials removed), the event's id, type and signed timestamp, the
/// scheme's name, and its replay keys.
#[derive(Clone, PartialEq, Eq)]
pub struct Incoming {
    scheme: String,
    event_id: String,
    event_type: Option<String>,
    timestamp: Option<i64>,
    replay_key: Option<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl Incoming {
    /// A delivery of the event `event_id` for the scheme named `scheme`,
    /// with this body, as `POST /` with no headers; set the rest with the
    /// other methods.
    pub fn new(scheme: impl Into<String>, event_id: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Self {
            scheme: scheme.into(),
            event_id: event_id.into(),
            event_type: None,
            timestamp: None,
            replay_key: None,
            method: Method::POST,
            uri: Uri::from_static("/"),
            headers: HeaderMap::new(),
            body: body.into(),
        }
    }

    /// The delivery `verified`, received as `method`, `uri` and `headers`,
    /// with the scheme's extra replay key if it has one.
    pub(crate) fn from_verified(
        scheme: &str,
        verified: &Verified,
        replay_key: Option<&str>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
    ) -> Self {
        Self::new(scheme, verified.id(), verified.body().clone())
            .with_event_type(verified.event_type().map(str::to_owned))
            .with_timestamp(verified.timestamp())
            .with_replay_key(replay_key.map(str::to_owned))
            .with_request(method, uri, headers)
    }

    /// Sets the event type.
    #[must_use]
    pub fn with_event_type(mut self, event_type: Option<String>) -> Self {
        self.event_type = event_type;
        self
    }

    /// Sets the signed timestamp (unix seconds).
    #[must_use]
    pub fn with_timestamp(mut self, timestamp: Option<i64>) -> Self {
        self.timestamp = timestamp;
        self
    }

    /// Sets the scheme's replay key besides the event id (for example the
    /// signature, for a scheme whose id is not signed): the delivery is a
    /// duplicate if either key is known.
    #[must_use]
    pub fn with_replay_key(mut self, key: Option<String>) -> Self {
        self.replay_key = key;
        self
    }

    /// Sets the request line and headers. The request's credentials
    /// (`Authorization`, `Proxy-Authorization`, `Cookie`) are dropped, as
    /// from a [dead letter](crate::dead_letter::DeadLetter): they are never stored.
    #[must_use]
    pub fn with_request(mut self, method: Method, uri: Uri, mut headers: HeaderMap) -> Self {
        crate::event::strip_credentials(&mut headers);
        self.method = method;
        self.uri = uri;
        self.headers = headers;
        self
    }

    /// The scheme's name: the layer's
    /// [`scheme_name`](crate::WebhookLayer::scheme_name). Replay keys are
    /// unique per scheme, and a worker leases its own scheme's records only.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The event id, the first replay key.
    pub fn event_id(&self) -> &str {
        &self.event_id
    }

    /// The event type, when the scheme reads one.
    pub fn event_type(&self) -> Option<&str> {
        self.event_type.as_deref()
    }

    /// The signed timestamp in unix seconds, when the scheme has one.
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// The replay keys: the event id, then the scheme's extra key if any.
    /// A store keeps every one of them unique within the scheme.
    pub fn replay_keys(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.event_id.as_str()).chain(self.replay_key.as_deref())
    }

    /// The request method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request URI as received: path and query.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The headers the delivery was verified with, credentials removed.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The exact bytes the sender signed.
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

/// The ids, the header names and the body's length; never header values,
/// which carry signatures.
impl fmt::Debug for Incoming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("scheme", &self.scheme)
            .field("event_id", &self.event_id)
            .field("event_type", &self.event_type)
            .field("timestamp", &self.timestamp)
            .field("replay_key", &self.replay_key.as_ref().map(|_| ".."))
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// What [`InboxStore::enqueue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// Stored, durably: the layer acknowledges the delivery.
    Accepted(RecordId),
    /// One of the delivery's replay keys is known already; nothing was stored.
    Duplicate {
        /// The record the key belongs to; `None` once that record was
        /// purged and only its key is kept.
        record: Option<RecordId>,
        /// Its state; `None` once it was purged.
        state: Option<State>,
    },
}

/// A record's metadata: what a listing shows, without the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The record's number.
    pub id: RecordId,
    /// The scheme's name.
    pub scheme: String,
    /// The event id.
    pub event_id: String,
    /// The event type, when the scheme reads one.
    pub event_type: Option<String>,
    /// Where the record is in its life.
    pub state: State,
    /// Attempts so far, counted when a worker leases the record.
    pub attempts: u32,
    /// When the store took the delivery (the store's clock).
    pub received_at: SystemTime,
    /// When the record may be leased next: for `Retrying`, the next
    /// attempt; for `Running`, when its lease expires; for `Pending`, when
    /// it was stored or released. `None` once done or dead.
    pub next_attempt_at: Option<SystemTime>,
    /// When it became done or dead.
    pub finished_at: Option<SystemTime>,
    /// The last failure's text (retrying), or why it is dead.
    pub last_error: Option<String>,
}

/// A stored record: its [`Entry`] and the delivery as it arrived.
#[derive(Clone, PartialEq, Eq)]
pub struct Record {
    /// The record's metadata.
    pub entry: Entry,
    /// The signed timestamp in unix seconds, when the scheme has one.
    pub timestamp: Option<i64>,
    /// The request method.
    pub method: Method,
    /// The request URI as received: path and query.
    pub uri: Uri,
    /// The headers the delivery was verified with, credentials removed.
    pub headers: HeaderMap,
    /// The exact bytes the sender signed.
    pub body: Bytes,
}

impl Record {
    /// The delivery as a request for the inner service, as the layer would
    /// have forwarded it: the same method, URI, headers and bytes, and the
    /// [`Verified`] extension.
    pub fn to_request<B: From<Bytes>>(&self) -> Request<B> {
        let mut request = Request::new(B::from(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request.extensions_mut().insert(Verified::new(
            &self.entry.event_id,
            self.entry.event_type.as_deref(),
            self.timestamp,
            self.body.clone(),
        ));
        request
    }
}

/// The entry, the header names and the body's length; never header values.
impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("entry", &self.entry)
            .field("timestamp", &self.timestamp)
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A record a worker leased: its attempt is counted
/// (`record.entry.attempts`), and `token` holds it until the lease expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leased {
    /// The record, in state [`State::Running`].
    pub record: Record,
    /// The lease's fencing token, for `settle` and `heartbeat`.
    pub token: LeaseToken,
}

/// How a worker settles a leased record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    /// Processed: [`State::Done`].
    Done,
    /// Failed; [`State::Retrying`], leasable again `after` this long (on the
    /// store's clock), with the failure's text.
    Retry {
        /// The delay before the next attempt.
        after: Duration,
        /// What went wrong, for the listing.
        error: String,
    },
    /// Never to be processed: [`State::Dead`], with the reason.
    Dead {
        /// Why.
        reason: String,
    },
    /// Not processed, through no fault of the record (a worker draining):
    /// leasable again at once, and the attempt is not charged.
    Release,
}

/// What [`InboxStore::settle`] (or a heartbeat) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// The record was held under the token and is settled (or its lease extended).
    Applied,
    /// The token no longer holds the record (its lease expired and another
    /// worker took it over, or it was settled already): nothing changed.
    Stale,
}

/// What [`InboxStore::heartbeat`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    /// The lease was extended.
    Extended,
    /// The token no longer holds the record: the worker should stop.
    Stale,
    /// The store cannot extend leases: the worker bounds each handler by the lease.
    Unsupported,
}

/// What [`InboxStore::requeue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requeued {
    /// The dead record is pending again, its attempts reset to zero.
    Requeued,
    /// The record is not dead (only dead records are requeued).
    NotDead(State),
    /// No such record (never stored, or purged).
    NotFound,
}

/// One page of [`InboxStore::list`]: entries newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Page {
    /// The entries, newest (highest id) first.
    pub entries: Vec<Entry>,
    /// The cursor for the next page (`before` of the next query), when there may be one.
    pub next: Option<RecordId>,
}

impl Page {
    /// A page of `entries`, with the cursor to the next.
    pub fn new(entries: Vec<Entry>, next: Option<RecordId>) -> Self {
        Self { entries, next }
    }
}

/// How many records are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Counts {
    /// [`State::Pending`].
    pub pending: u64,
    /// [`State::Running`].
    pub running: u64,
    /// [`State::Retrying`].
    pub retrying: u64,
    /// [`State::Done`].
    pub done: u64,
    /// [`State::Dead`].
    pub dead: u64,
}

impl Counts {
    /// The count of `state`.
    pub fn of(&self, state: State) -> u64 {
        match state {
            State::Pending => self.pending,
            State::Running => self.running,
            State::Retrying => self.retrying,
            State::Done => self.done,
            State::Dead => self.dead,
        }
    }

    /// Adds one record in `state`.
    pub fn add(&mut self, state: State, n: u64) {
        let count = match state {
            State::Pending => &mut self.pending,
            State::Running => &mut self.running,
            State::Retrying => &mut self.retrying,
            State::Done => &mut self.done,
            State::Dead => &mut self.dead,
        };
        *count += n;
    }

    /// Records still to be processed: pending, running and retrying.
    pub fn active(&self) -> u64 {
        self.pending + self.running + self.retrying
    }
}

/// What [`InboxStore::purge`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Done and dead records finished longer ago than this are deleted,
    /// bodies and all. Active records are never purged.
    pub records: Duration,
    /// Replay keys are kept at least this long after their delivery was
    /// stored, even once the record is gone, so that a sender's late retry
    /// is still a duplicate. A key is deleted only once its record is.
    pub keys: Duration,
}

impl Retention {
    /// The default: 7 days for both (Stripe retries for 3 days, WhatsApp for 7).
    pub const DEFAULT: Retention = Retention {
        records: Duration::from_secs(7 * 24 * 3600),
        keys: Duration::from_secs(7 * 24 * 3600),
    };

    /// Records and keys both kept `retention`.
    pub const fn both(retention: Duration) -> Self {
        Self {
            records: retention,
            keys: retention,
        }
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What [`InboxStore::purge`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Purged {
    /// Records deleted.
    pub records: u64,
    /// Replay keys deleted.
    pub keys: u64,
}

impl Purged {
    /// `records` records and `keys` keys deleted.
    pub fn new(records: u64, keys: u64) -> Self {
        Self { records, keys }
    }
}

/// Which records [`InboxStore::list`] shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Only records in this state; every state when `None`.
    pub state: Option<State>,
    /// At most this many entries.
    pub limit: usize,
    /// Only records numbered below this one: the previous page's
    /// [`next`](Page::next). `None` starts at the newest.
    pub before: Option<RecordId>,
}

impl ListQuery {
    /// The newest `limit` records in any state.
    pub fn newest(limit: usize) -> Self {
        Self {
            state: None,
            limit,
            before: None,
        }
    }

    /// Only records in `state`.
    #[must_use]
    pub fn state(mut self, state: State) -> Self {
        self.state = Some(state);
        self
    }

    /// The page after the one whose [`next`](Page::next) is `cursor`.
    #[must_use]
    pub fn before(mut self, cursor: RecordId) -> Self {
        self.before = Some(cursor);
        self
    }
}

/// A durable inbox of verified deliveries: the layer stores each one before
/// acknowledging it, and an [`InboxWorker`](super::InboxWorker) leases and
/// settles them.
///
/// Like [`ReplayGuard`](crate::ReplayGuard), every method is async so that
/// a store can be a database, the futures are `Send`, and implementations
/// must not hold a lock across an `.await`. **Times are the store's own**:
/// delays and lease times are [`Duration`]s from the store's clock (a
/// database server's `now()`), so that workers on machines whose clocks
/// differ agree on when a lease ends; the store reports times as
/// [`SystemTime`]s for display.
///
/// The contract, checked by the conformance suite in
/// [`testing::inbox`](crate::testing::inbox) (feature `test-util`):
///
/// - [`enqueue`](Self::enqueue) is durable when it returns `Ok`, and unique
///   on **every** replay key of the delivery within its scheme, atomically:
///   of many enqueues racing on one key exactly one is accepted. A known key
///   is a duplicate in any state, and after the record is purged for as
///   long as the key is kept.
/// - [`lease`](Self::lease) counts the attempt as it leases, so a process
///   that dies in every attempt still runs out of attempts. It leases
///   pending records, retrying ones whose delay has passed, and running ones
///   whose lease expired (taken over, under a new token); a running record
///   whose lease expired with its attempts at the maximum becomes dead
///   instead ("lease expired at attempt N").
/// - [`settle`](Self::settle) and [`heartbeat`](Self::heartbeat) act only
///   under the record's current token, and say [`Settled::Stale`] otherwise.
pub trait InboxStore: Send + Sync + 'static {
    /// Stores `delivery` unless one of its replay keys is known in its scheme.
    fn enqueue(&self, delivery: Incoming) -> impl Future<Output = Result<Enqueued, InboxError>> + Send;

    /// Leases up to `batch` records of `scheme` for `lease_for`, counting an
    /// attempt on each, oldest due first. A running record whose lease
    /// expired at `max_attempts` attempts becomes dead and is not returned.
    fn lease(
        &self,
        scheme: &str,
        batch: usize,
        lease_for: Duration,
        max_attempts: u32,
    ) -> impl Future<Output = Result<Vec<Leased>, InboxError>> + Send;

    /// Settles record `id` held under `token` by `outcome`.
    fn settle(
        &self,
        id: RecordId,
        token: LeaseToken,
        outcome: Settle,
    ) -> impl Future<Output = Result<Settled, InboxError>> + Send;

    /// Extends the lease of record `id` held under `token` to `lease_for`
    /// from now. The default says [`Heartbeat::Unsupported`]: the worker
    /// then bounds each handler by the lease time.
    fn heartbeat(
        &self,
        id: RecordId,
        token: LeaseToken,
        lease_for: Duration,
    ) -> impl Future<Output = Result<Heartbeat, InboxError>> + Send {
        let _ = (id, token, lease_for);
        std::future::ready(Ok(Heartbeat::Unsupported))
    }

    /// Resolves when there may be work, or after `poll` at the latest. The
    /// default sleeps for `poll`; a store with a notification channel
    /// (PostgreSQL's `LISTEN`) wakes earlier. Workers of the same process
    /// are woken by the layer directly, whatever the store.
    fn wait_for_work(&self, poll: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(poll)
    }

    /// Entries newest first, per `query`.
    fn list(&self, query: ListQuery) -> impl Future<Output = Result<Page, InboxError>> + Send;

    /// Record `id`, with its request, if it is stored.
    fn get(&self, id: RecordId) -> impl Future<Output = Result<Option<Record>, InboxError>> + Send;

    /// Makes the dead record `id` pending again, its attempts reset to zero.
    /// Its replay keys are unchanged: a redelivery is still a duplicate.
    fn requeue(&self, id: RecordId) -> impl Future<Output = Result<Requeued, InboxError>> + Send;

    /// Deletes done and dead records and replay keys past `retention`.
    fn purge(&self, retention: Retention) -> impl Future<Output = Result<Purged, InboxError>> + Send;

    /// How many records are in each state.
    fn counts(&self) -> impl Future<Output = Result<Counts, InboxError>> + Send;
}

/// An inbox store could not be used (its file or server is unreachable, say).
///
/// The layer answers `503` with `Retry-After` to a delivery it could not
/// store ([`Rejection::InboxUnavailable`](crate::Rejection::InboxUnavailable)),
/// so the sender retries and nothing is lost; a worker logs it and tries again.
#[derive(Debug)]
pub struct InboxError {
    source: Box<dyn StdError + Send + Sync>,
}

impl InboxError {
    /// Wraps the store's error.
    pub fn new(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            source: source.into(),
        }
    }
}

impl fmt::Display for InboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("inbox store unavailable")
    }
}

impl StdError for InboxError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

impl<T: InboxStore + ?Sized> InboxStore for Arc<T> {
    fn enqueue(&self, delivery: Incoming) -> impl Future<Output = Result<Enqueued, InboxError>> + Send {
        (**self).enqueue(delivery)
    }

    fn lease(
        &self,
        scheme: &str,
        batch: usize,
        lease_for: Duration,
        max_attempts: u32,
    ) -> impl Future<Output = Result<Vec<Leased>, InboxError>> + Send {
        (**self).lease(scheme, batch, lease_for, max_attempts)
    }

    fn settle(
        &self,
        id: RecordId,
        token: LeaseToken,
        outcome: Settle,
    ) -> impl Future<Output = Result<Settled, InboxError>> + Send {
        (**self).settle(id, token, outcome)
    }

    fn heartbeat(
        &self,
        id: RecordId,
        token: LeaseToken,
        lease_for: Duration,
    ) -> impl Future<Output = Result<Heartbeat, InboxError>> + Send {
        (**self).heartbeat(id, token, lease_for)
    }

    fn wait_for_work(&self, poll: Duration) -> impl Future<Output = ()> + Send {
        (**self).wait_for_work(poll)
    }

    fn list(&self, query: ListQuery) -> impl Future<Output = Result<Page, InboxError>> + Send {
        (**self).list(query)
    }

    fn get(&self, id: RecordId) -> impl Future<Output = Result<Option<Record>, InboxError>> + Send {
        (**self).get(id)
    }

    fn requeue(&self, id: RecordId) -> impl Future<Output = Result<Requeued, InboxError>> + Send {
        (**self).requeue(id)
    }

    fn purge(&self, retention: Retention) -> impl Future<Output = Result<Purged, InboxError>> + Send {
        (**self).purge(retention)
    }

    fn counts(&self) -> impl Future<Output = Result<Counts, InboxError>> + Send {
        (**self).counts()
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An [`InboxStore`] behind a pointer, so that neither the layer's type nor
/// the worker's names it. Only what the layer and the worker call.
pub(crate) trait ErasedInbox: Send + Sync + 'static {
    fn enqueue_boxed(&self, delivery: Incoming) -> BoxFuture<'_, Result<Enqueued, InboxError>>;
    fn lease_boxed<'a>(
        &'a self,
        scheme: &'a str,
        batch: usize,
        lease_for: Duration,
        max_attempts: u32,
    ) -> BoxFuture<'a, Result<Vec<Leased>, InboxError>>;
    fn settle_boxed(
        &self,
        id: RecordId,
        token: LeaseToken,
        outcome: Settle,
    ) -> BoxFuture<'_, Result<Settled, InboxError>>;
    fn heartbeat_boxed(
        &self,
        id: RecordId,
        token: LeaseToken,
        lease_for: Duration,
    ) -> BoxFuture<'_, Result<Heartbeat, InboxError>>;
    fn wait_for_work_boxed(&self, poll: Duration) -> BoxFuture<'_, ()>;
}

impl<T: InboxStore> ErasedInbox for T {
    fn enqueue_boxed(&self, delivery: Incoming) -> BoxFuture<'_, Result<Enqueued, InboxError>> {
        Box::pin(self.enqueue(delivery))
    }

    fn lease_boxed<'a>(
        &'a self,
        scheme: &'a str,
        batch: usize,
        lease_for: Duration,
        max_attempts: u32,
    ) -> BoxFuture<'a, Result<Vec<Leased>, InboxError>> {
        Box::pin(self.lease(scheme, batch, lease_for, max_attempts))
    }

    fn settle_boxed(
        &self,
        id: RecordId,
        token: LeaseToken,
        outcome: Settle,
    ) -> BoxFuture<'_, Result<Settled, InboxError>> {
        Box::pin(self.settle(id, token, outcome))
    }

    fn heartbeat_boxed(
        &self,
        id: RecordId,
        token: LeaseToken,
        lease_for: Duration,
    ) -> BoxFuture<'_, Result<Heartbeat, InboxError>> {
        Box::pin(self.heartbeat(id, token, lease_for))
    }

    fn wait_for_work_boxed(&self, poll: Duration) -> BoxFuture<'_, ()> {
        Box::pin(self.wait_for_work(poll))
    }
}
