//! [`PostgresInbox`]: the inbox in PostgreSQL, for several replicas.

mod batch;
mod builder;
mod listen;
mod row;
mod settlement;
mod shared;
mod sql;

use std::fmt;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

pub use self::builder::PostgresInboxBuilder;
pub use self::settlement::{InboxTransaction, Settlement};
use self::shared::{Shared, PURGE_CHUNK};
use self::sql::Sql;
use super::store::{
    Counts, Enqueued, Heartbeat, InboxError, InboxStore, Incoming, LeaseToken, Leased, ListQuery, Page,
    Purged, Record, RecordId, Requeued, Retention, Settle, Settled,
};

/// The default bound on one store call: see [`PostgresInboxBuilder::timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The default most connections of the store's pool.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// The durable [`InboxStore`] in PostgreSQL, shared by every replica of a
/// receiver: two tables in a database you run, reached through a pool of
/// connections ([`tokio-postgres`](tokio_postgres), `deadpool-postgres`).
///
/// - **Durable**: [`enqueue`](InboxStore::enqueue) returns once its
///   transaction committed, which with PostgreSQL's default
///   `synchronous_commit = on` means the server flushed its write-ahead log
///   (concurrent commits share a flush).
/// - **Several workers, on several machines**: a lease is one statement,
///   `SELECT ... FOR UPDATE SKIP LOCKED` feeding an `UPDATE ... RETURNING`,
///   so two workers never take the same record and a batch costs one round
///   trip. Lease times and retry delays are computed with the server's
///   `now()`, so clocks that differ between machines cannot let two workers
///   hold one record. Every lease gets a new fencing token.
/// - **Woken within milliseconds**: once an enqueue (or a requeue, or a
///   release) has committed, the store sends a `NOTIFY`, and a dedicated
///   connection of every store `LISTEN`s, so [`wait_for_work`](InboxStore::wait_for_work)
///   returns as soon as any replica stored a delivery. The notification is
///   sent apart from the delivery's transaction, by one task per store that
///   folds the enqueues of a burst into one: a transaction that notifies
///   holds a lock across its commit that serializes all such commits in
///   the database, which cut the rate of acknowledged deliveries eightfold
///   when every enqueue notified. If the listening connection drops, it
///   reconnects with backoff (100 ms doubling to 10 s) and the workers poll
///   meanwhile (as they do behind a proxy that pools transactions, such as
///   PgBouncer in transaction mode, where `LISTEN` does not work); a
///   notification lost with its process costs a poll, nothing more.
/// - **Round trips**: one per enqueue (the uniqueness check and the insert
///   of the keys and of the record are one statement), one per leased
///   batch, one per heartbeat; settles that come together share one
///   statement (up to 512 each, up to 4 such statements at once), so the
///   settles of a batch whose handlers end together cost about one round
///   trip. The first use of a statement on a connection also prepares it.
///   [`statements`](Self::statements) counts them,
///   [`notifications`](Self::notifications) the `NOTIFY`s.
/// - **Settle inside your own transaction**: [`settlement`](Self::settlement)
///   gives the handler a [`Settlement`] whose [`InboxTransaction`] writes the
///   handler's effect and marks the record done in one commit: the
///   exactly-once effect for tables in the same database.
/// - **Connection loss**: every call is bounded ([`timeout`](PostgresInboxBuilder::timeout),
///   default 5 s) and fails with an [`InboxError`] when the server cannot be
///   reached, so the layer answers `503` with `Retry-After` and acknowledges
///   nothing; the pool opens new connections once the server is back. A
///   worker that lost its connection mid-handler cannot settle its records;
///   their leases expire and another worker takes them over.
///
/// **Tables** (in the schema `public` unless set, names prefixed by the
/// [`table_prefix`](PostgresInboxBuilder::table_prefix)): `inbox_records`,
/// one row per stored delivery (body and headers as `bytea`, byte for
/// byte), and `inbox_keys`, the replay keys, unique per scheme, which
/// outlive their record's purge. [`open`](PostgresInboxBuilder::open) creates
/// them with an idempotent migration (`CREATE ... IF NOT EXISTS`, in one
/// transaction); [`migration_sql`](Self::migration_sql) gives its text for
/// your own migration tool.
///
/// **Text columns cannot hold a NUL byte** in PostgreSQL: a delivery whose
/// event id, type or replay key contains one is refused with an
/// [`InboxError`] (the layer answers `503`); failure texts have NULs
/// replaced.
///
/// **Why `tokio-postgres`** (and not `sqlx`): it builds with Rust 1.85,
/// within this crate's 1.88 minimum, where `sqlx` 0.9 needs 1.94 (and a
/// user on `sqlx` 0.9 could not hand their transaction to a store on 0.8);
/// with its pool it adds about half the dependencies `sqlx` 0.8 does; and
/// it gives the `LISTEN` connection's notifications as a plain stream. The
/// transaction a handler writes its effect in is a `tokio-postgres` one
/// ([re-exported](crate::inbox::tokio_postgres)).
///
/// ```no_run
/// use tower_webhook::inbox::{Enqueued, Incoming, InboxStore, PostgresInbox};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let inbox = PostgresInbox::builder("postgres://webhooks@127.0.0.1/shop".parse()?)
///     .schema("webhooks")
///     .open()
///     .await?;
/// let delivery = Incoming::new("petstore", "evt_1", r#"{"id":"evt_1"}"#);
/// assert!(matches!(inbox.enqueue(delivery.clone()).await?, Enqueued::Accepted(_)));
/// assert!(matches!(inbox.enqueue(delivery).await?, Enqueued::Duplicate { .. }));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PostgresInbox {
    shared: Arc<Shared>,
}

impl PostgresInbox {
    /// Opens the inbox in the database at `url`
    /// (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB`, or PostgreSQL's
    /// `key=value` form) without TLS, with every default: see
    /// [`builder`](Self::builder) for the rest.
    ///
    /// # Errors
    ///
    /// When `url` does not parse, or as [`PostgresInboxBuilder::open`].
    pub async fn connect(url: &str) -> Result<Self, InboxError> {
        let config: tokio_postgres::Config = url.parse().map_err(InboxError::new)?;
        Self::builder(config).open().await
    }

    /// A builder for the inbox in the database `config` names: schema
    /// `public`, no table prefix, no TLS, a pool of
    /// [`DEFAULT_POOL_SIZE`] connections, calls bounded by [`DEFAULT_TIMEOUT`],
    /// tables created if missing.
    pub fn builder(config: tokio_postgres::Config) -> PostgresInboxBuilder {
        PostgresInboxBuilder::new(config)
    }

    /// The migration [`open`](PostgresInboxBuilder::open) runs, for the
    /// tables `{table_prefix}inbox_records` and `{table_prefix}inbox_keys`
    /// in `schema`: idempotent (`CREATE ... IF NOT EXISTS`), to be run in one
    /// transaction, for example by your own migration tool before opening
    /// the store with [`create_tables(false)`](PostgresInboxBuilder::create_tables).
    ///
    /// ```
    /// let sql = tower_webhook::inbox::PostgresInbox::migration_sql("public", "")?;
    /// assert!(sql.contains(r#"CREATE TABLE IF NOT EXISTS "public"."inbox_records""#));
    /// # Ok::<(), tower_webhook::inbox::InboxError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When `schema` or `table_prefix` is not a plain identifier: ASCII
    /// letters, digits and `_`, not starting with a digit, short enough for
    /// PostgreSQL's 63-byte names (a prefix up to 41 bytes).
    pub fn migration_sql(schema: &str, table_prefix: &str) -> Result<String, InboxError> {
        Ok(Sql::new(schema, table_prefix).map_err(InboxError::new)?.migration)
    }

    /// The handle by which a handler settles record `id`, leased under
    /// `token`, inside a transaction of its own: see [`Settlement`]. The
    /// worker's request [`Attempt`](super::Attempt) extension carries both.
    pub fn settlement(&self, id: RecordId, token: LeaseToken) -> Settlement {
        Settlement::new(Arc::clone(&self.shared), id, token)
    }

    /// How many `NOTIFY`s the store sent since it was opened: at most one
    /// per enqueue, fewer when deliveries come in bursts.
    pub fn notifications(&self) -> u64 {
        self.shared.notifications.load(Ordering::Relaxed)
    }

    /// The schema the tables live in.
    pub fn schema(&self) -> &str {
        &self.shared.sql.schema
    }

    /// The tables' name prefix (empty unless set).
    pub fn table_prefix(&self) -> &str {
        &self.shared.sql.prefix
    }

    /// How many statements the store sent to the server since it was
    /// opened, each one round trip: its own calls and the settles of
    /// [`InboxTransaction`]s, not your statements inside them.
    pub fn statements(&self) -> u64 {
        self.shared.statements.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for PostgresInbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.shared.pool.status();
        f.debug_struct("PostgresInbox")
            .field("tables", &self.shared.sql.payload)
            .field("connections", &status.size)
            .field("idle", &status.available)
            .field("statements", &self.statements())
            .finish_non_exhaustive()
    }
}

impl InboxStore for PostgresInbox {
    async fn enqueue(&self, delivery: Incoming) -> Result<Enqueued, InboxError> {
        self.shared.bounded(self.shared.enqueue(&delivery)).await
    }

    fn lease(
        &self,
        scheme: &str,
        batch: usize,
        lease_for: Duration,
        max_attempts: u32,
    ) -> impl Future<Output = Result<Vec<Leased>, InboxError>> + Send {
        // Before the statement: a notification from now on may be for a
        // record it does not see.
        let shared = &*self.shared;
        shared.leased_at.store(*shared.wake.borrow(), Ordering::Relaxed);
        shared.bounded(shared.lease(scheme, batch, lease_for, max_attempts))
    }

    fn settle(
        &self,
        id: RecordId,
        token: LeaseToken,
        outcome: Settle,
    ) -> impl Future<Output = Result<Settled, InboxError>> + Send {
        self.shared.bounded(self.shared.settle(id, token, outcome))
    }

    fn heartbeat(
        &self,
        id: RecordId,
        token: LeaseToken,
        lease_for: Duration,
    ) -> impl Future<Output = Result<Heartbeat, InboxError>> + Send {
        self.shared.bounded(self.shared.heartbeat(id, token, lease_for))
    }

    /// Resolves at the next notification of new work from any replica (or
    /// at once if one came since the last lease began, once: the caller
    /// leases now or waits for the next), or after `poll`.
    fn wait_for_work(&self, poll: Duration) -> impl Future<Output = ()> + Send {
        let mut woken = self.shared.wake.subscribe();
        let shared = &*self.shared;
        let seen = shared.leased_at.load(Ordering::Relaxed);
        async move {
            let now = *woken.borrow_and_update();
            if now != seen {
                // Seen: a worker whose handlers are all busy skips the lease
                // and waits again, and must then wait, not spin (a spinning
                // worker task starved its own handlers' tasks of the thread).
                let _ = shared
                    .leased_at
                    .compare_exchange(seen, now, Ordering::Relaxed, Ordering::Relaxed);
                return;
            }
            let _ = tokio::time::timeout(poll, woken.changed()).await;
        }
    }

    async fn list(&self, query: ListQuery) -> Result<Page, InboxError> {
        self.shared.bounded(self.shared.list(&query)).await
    }

    fn get(&self, id: RecordId) -> impl Future<Output = Result<Option<Record>, InboxError>> + Send {
        self.shared.bounded(self.shared.get(id))
    }

    fn requeue(&self, id: RecordId) -> impl Future<Output = Result<Requeued, InboxError>> + Send {
        self.shared.bounded(self.shared.requeue(id))
    }

    /// In chunks of 5,000 records (then keys), each its own statement and
    /// within the store's timeout, so that a large purge holds no lock for long.
    fn purge(&self, retention: Retention) -> impl Future<Output = Result<Purged, InboxError>> + Send {
        let shared = &*self.shared;
        async move {
            let mut total = Purged::default();
            loop {
                let purged = shared.bounded(shared.purge_chunk(retention)).await?;
                total = Purged::new(total.records + purged.records, total.keys + purged.keys);
                if purged.records < PURGE_CHUNK as u64 && purged.keys < PURGE_CHUNK as u64 {
                    return Ok(total);
                }
            }
        }
    }

    fn counts(&self) -> impl Future<Output = Result<Counts, InboxError>> + Send {
        self.shared.bounded(self.shared.counts())
    }
}
