//! [`Settlement`] and [`InboxTransaction`]: the handler's effect and the
//! record's settle in one transaction.

use std::fmt;
use std::ops::Deref;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use deadpool_postgres::Object;
use tokio_postgres::Statement;

use super::super::store::{InboxError, LeaseToken, RecordId, Settle, Settled};
use super::Shared;

/// How a handler settles the record it processes **inside a transaction of
/// its own**, so that its effect and the record's "done" mark commit
/// together: the exactly-once effect, for tables in the inbox's database.
///
/// Get one from [`PostgresInbox::settlement`](super::PostgresInbox::settlement)
/// with the record and token of the request's [`Attempt`](crate::inbox::Attempt).
/// [`begin`](Self::begin) opens a transaction on a connection of the inbox's
/// pool; write the effect through it, then [`commit`](InboxTransaction::commit)
/// it with the outcome:
///
/// - The record is still held under the token: the settle and the effect
///   commit at once ([`Settled::Applied`]).
/// - The lease was lost (it expired and another worker took the record
///   over, or the record was settled already): the transaction is rolled
///   back, effect and all, and `commit` says [`Settled::Stale`]. The worker
///   holding the record now applies the effect instead, once.
/// - The transaction is rolled back, fails, or is dropped unfinished:
///   nothing is marked and nothing of the effect is kept; the worker settles
///   the record by the handler's answer as usual (a failure is retried).
///
/// After a commit the worker's own settle finds the record settled
/// ([`Settled::Stale`]) and changes nothing.
///
/// ```no_run
/// use tower_webhook::inbox::{PostgresInbox, Settle, Settled, Settlement};
///
/// /// Records the order and marks the event done, both or neither.
/// async fn record_order(settlement: &Settlement, event_id: &str, order_id: &str)
///     -> Result<Settled, Box<dyn std::error::Error + Send + Sync>>
/// {
///     let tx = settlement.begin().await?;
///     tx.execute(
///         "INSERT INTO orders (event_id, order_id, status) VALUES ($1, $2, 'completed')",
///         &[&event_id, &order_id],
///     )
///     .await?;
///     Ok(tx.commit(Settle::Done).await?)
/// }
/// ```
#[derive(Clone)]
pub struct Settlement {
    shared: Arc<Shared>,
    id: RecordId,
    token: LeaseToken,
    committed: Arc<OnceLock<Settle>>,
}

impl Settlement {
    pub(super) fn new(shared: Arc<Shared>, id: RecordId, token: LeaseToken) -> Self {
        Self {
            shared,
            id,
            token,
            committed: Arc::default(),
        }
    }

    /// The record this settles.
    pub fn id(&self) -> RecordId {
        self.id
    }

    /// The lease token it settles under.
    pub fn token(&self) -> LeaseToken {
        self.token
    }

    /// The outcome a transaction of this settlement (or of a clone of it)
    /// committed, if one did: the worker reads it to know that the handler
    /// settled the record itself.
    pub fn committed(&self) -> Option<Settle> {
        self.committed.get().cloned()
    }

    /// Opens a transaction on a connection of the inbox's pool. The
    /// connection is the transaction's until it commits, rolls back or is
    /// dropped.
    ///
    /// # Errors
    ///
    /// When no connection can be had within the store's timeout, or `BEGIN`
    /// fails.
    pub async fn begin(&self) -> Result<InboxTransaction, InboxError> {
        let shared = &self.shared;
        let conn = shared.bounded(shared.connection()).await?;
        // Built before BEGIN, so that a BEGIN cut short is rolled back by
        // its drop and never leaves a pooled connection in a transaction.
        let tx = InboxTransaction {
            conn: Some(conn),
            settlement: self.clone(),
        };
        let begun = shared
            .bounded(async { tx.client().batch_execute("BEGIN").await.map_err(InboxError::new) })
            .await;
        shared.statements.fetch_add(1, Ordering::Relaxed);
        begun.map(|()| tx)
    }
}

impl fmt::Debug for Settlement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settlement")
            .field("id", &self.id)
            .field("token", &self.token)
            .field("committed", &self.committed.get())
            .finish_non_exhaustive()
    }
}

/// A transaction open on a connection of the inbox's pool, in which a
/// handler writes its effect before [`commit`](Self::commit)ting it
/// together with the record's settle: see [`Settlement`].
///
/// It derefs to the [`tokio_postgres::Client`] the transaction is open on:
/// run your statements with its `execute`, `query`, ... (and
/// [`prepare_cached`](Self::prepare_cached)), never `COMMIT` or `ROLLBACK`
/// through it. Dropped unfinished, it is rolled back.
pub struct InboxTransaction {
    /// `Some` until the transaction ended; taken by `Drop` otherwise.
    conn: Option<Object>,
    settlement: Settlement,
}

impl InboxTransaction {
    fn conn(&self) -> &Object {
        // Taken only by `finish`, which consumes the transaction, and by `drop`.
        self.conn
            .as_ref()
            .expect("the transaction's connection is held until it ends")
    }

    fn client(&self) -> &tokio_postgres::Client {
        self.conn()
    }

    /// Prepares `query` on the transaction's connection, or takes it from
    /// the connection's statement cache.
    ///
    /// # Errors
    ///
    /// When the server refuses the statement.
    pub async fn prepare_cached(&self, query: &str) -> Result<Statement, tokio_postgres::Error> {
        self.conn().prepare_cached(query).await
    }

    /// Settles the record by `outcome` (usually [`Settle::Done`]) if it is
    /// still held under the settlement's token, and commits that together
    /// with everything written in this transaction; otherwise rolls it all
    /// back.
    ///
    /// # Errors
    ///
    /// When a statement of the transaction failed (it is then rolled back),
    /// or the server cannot be reached: the outcome of a `COMMIT` whose
    /// answer was lost is unknown, as ever; the record's state says.
    pub async fn commit(self, outcome: Settle) -> Result<Settled, InboxError> {
        let settlement = self.settlement.clone();
        let shared = &settlement.shared;
        let id = settlement.id;
        let token = settlement.token;
        let result = shared
            .bounded(async {
                let conn = self.conn();
                let settled = shared
                    .settle_on(conn, id, token, &outcome)
                    .await
                    .map_err(InboxError::new)?;
                let end = match settled {
                    Settled::Applied => "COMMIT",
                    Settled::Stale => "ROLLBACK",
                };
                conn.batch_execute(end).await.map_err(InboxError::new)?;
                shared.statements.fetch_add(1, Ordering::Relaxed);
                Ok(settled)
            })
            .await;
        match result {
            Ok(settled) => {
                if settled == Settled::Applied {
                    if outcome == Settle::Release {
                        shared.wake_replicas();
                    }
                    let _ = settlement.committed.set(outcome);
                }
                self.finish();
                Ok(settled)
            }
            // Dropped here: rolled back (a no-op if the COMMIT did land).
            Err(error) => Err(error),
        }
    }

    /// Rolls the transaction back: nothing of it is kept, and the record
    /// is not settled.
    ///
    /// # Errors
    ///
    /// When the server cannot be reached (the transaction then ends with
    /// its connection).
    pub async fn rollback(self) -> Result<(), InboxError> {
        let shared = Arc::clone(&self.settlement.shared);
        let result = shared
            .bounded(async {
                self.client()
                    .batch_execute("ROLLBACK")
                    .await
                    .map_err(InboxError::new)
            })
            .await;
        if result.is_ok() {
            self.finish();
        }
        result
    }

    /// The transaction has ended: its connection goes back to the pool.
    fn finish(mut self) {
        drop(self.conn.take());
    }
}

impl Deref for InboxTransaction {
    type Target = tokio_postgres::Client;

    fn deref(&self) -> &tokio_postgres::Client {
        self.client()
    }
}

impl Drop for InboxTransaction {
    /// Never returns a connection to the pool inside a transaction: it is
    /// rolled back first, or closed (the server then rolls back).
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if conn.batch_execute("ROLLBACK").await.is_err() {
                        drop(Object::take(conn));
                    }
                });
            }
            Err(_) => drop(Object::take(conn)),
        }
    }
}

impl fmt::Debug for InboxTransaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboxTransaction")
            .field("id", &self.settlement.id)
            .field("token", &self.settlement.token)
            .field("open", &self.conn.is_some())
            .finish()
    }
}
