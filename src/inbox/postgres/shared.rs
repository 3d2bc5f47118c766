//! What every clone of a [`PostgresInbox`](super::PostgresInbox) and its
//! settlements share: the pool, the statements, the wake-ups; and the
//! store's operations, one statement each where it can.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Object, Pool};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::batch::{self, TimedOut};
use super::row;
use super::sql::Sql;
use crate::inbox::encode::encode_headers;
use crate::inbox::store::{
    Counts, Enqueued, Heartbeat, InboxError, Incoming, LeaseToken, Leased, ListQuery, Page, Purged, Record,
    RecordId, Requeued, Retention, Settle, Settled, State,
};

/// Records (then keys) deleted per statement by a purge, so that a large
/// purge holds no lock for long.
pub(super) const PURGE_CHUNK: i64 = 5_000;

/// How often an enqueue that lost a race on a key runs again; each run's
/// snapshot sees the keys the winners committed, so the second one settles it.
const ENQUEUE_RUNS: usize = 4;

/// What every clone of a store, and its settlements, share.
pub(super) struct Shared {
    pub(super) pool: Pool,
    pub(super) sql: Sql,
    pub(super) timeout: Duration,
    /// Bumped by the listener on every notification of new work.
    pub(super) wake: watch::Sender<u64>,
    /// `wake`'s value when the last lease started: a notification after it
    /// may be for a record that lease did not see.
    pub(super) leased_at: AtomicU64,
    pub(super) statements: Arc<AtomicU64>,
    /// The worker's settles, batched.
    pub(super) settles: batch::Settles,
    pub(super) listener: JoinHandle<()>,
    /// Signals the notifier that work was stored.
    pub(super) notify: Arc<Notify>,
    pub(super) notifications: Arc<AtomicU64>,
    pub(super) notifier: JoinHandle<()>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.listener.abort();
        self.notifier.abort();
    }
}

type Params<'a> = [&'a (dyn ToSql + Sync)];

impl Shared {
    /// Runs `op` within the store's timeout.
    pub(super) async fn bounded<T>(
        &self,
        op: impl Future<Output = Result<T, InboxError>>,
    ) -> Result<T, InboxError> {
        tokio::time::timeout(self.timeout, op)
            .await
            .unwrap_or_else(|_| Err(InboxError::new(TimedOut(self.timeout))))
    }

    pub(super) async fn connection(&self) -> Result<Object, InboxError> {
        self.pool.get().await.map_err(InboxError::new)
    }

    pub(super) async fn query(
        &self,
        conn: &Object,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        let statement = conn.prepare_cached(sql).await?;
        self.statements.fetch_add(1, Ordering::Relaxed);
        conn.query(&statement, params).await
    }

    pub(super) async fn execute(
        &self,
        conn: &Object,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<u64, tokio_postgres::Error> {
        let statement = conn.prepare_cached(sql).await?;
        self.statements.fetch_add(1, Ordering::Relaxed);
        conn.execute(&statement, params).await
    }

    /// Tells every replica's listener that there is work, soon (see
    /// [`listen::notifier`](super::listen::notifier)).
    pub(super) fn wake_replicas(&self) {
        self.notify.notify_one();
    }

    /// Settles record `id` held under `token` on `conn`, in whatever
    /// transaction `conn` is in. The caller wakes the replicas once a
    /// release is committed.
    pub(super) async fn settle_on(
        &self,
        conn: &Object,
        id: RecordId,
        token: LeaseToken,
        outcome: &Settle,
    ) -> Result<Settled, tokio_postgres::Error> {
        self.statements.fetch_add(1, Ordering::Relaxed);
        let applied = batch::settle(conn, &self.sql.settle, &[(id, token, outcome)]).await?;
        Ok(if applied.contains(&id.get()) {
            Settled::Applied
        } else {
            Settled::Stale
        })
    }

    pub(super) async fn enqueue(&self, delivery: &Incoming) -> Result<Enqueued, InboxError> {
        let keys: Vec<&str> = delivery.replay_keys().collect();
        let texts = [delivery.scheme(), delivery.event_id()]
            .into_iter()
            .chain(delivery.event_type())
            .chain(keys.iter().copied());
        if texts.into_iter().any(|text| text.contains('\0')) {
            return Err(InboxError::new(
                "the delivery's scheme, event id, type or replay key contains a NUL byte, which PostgreSQL text cannot hold",
            ));
        }
        let headers = encode_headers(delivery.headers());
        let uri = delivery.uri().to_string();
        let conn = self.connection().await?;
        for _ in 0..ENQUEUE_RUNS {
            let params: [&(dyn ToSql + Sync); 9] = [
                &delivery.scheme(),
                &keys,
                &delivery.event_id(),
                &delivery.event_type(),
                &delivery.timestamp(),
                &delivery.method().as_str(),
                &uri,
                &headers,
                &&delivery.body()[..],
            ];
            let rows = match self.query(&conn, &self.sql.enqueue, &params).await {
                Ok(rows) => rows,
                // Some keys went in while another was taken by a concurrent
                // enqueue: nothing was kept; run again and see the winner.
                Err(error) if error.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) => continue,
                Err(error) => return Err(InboxError::new(error)),
            };
            let row = rows
                .first()
                .ok_or_else(|| InboxError::new("the enqueue statement returned no row"))?;
            if let Some(id) = row.try_get::<_, Option<i64>>(0).map_err(InboxError::new)? {
                self.wake_replicas();
                return Ok(Enqueued::Accepted(RecordId::new(id)));
            }
            if row.try_get::<_, bool>(1).map_err(InboxError::new)? {
                let record = row.try_get::<_, Option<i64>>(2).map_err(InboxError::new)?;
                let state = row
                    .try_get::<_, Option<&str>>(3)
                    .map_err(InboxError::new)?
                    .map(row::state)
                    .transpose()?;
                return Ok(Enqueued::Duplicate {
                    record: record.filter(|_| state.is_some()).map(RecordId::new),
                    state,
                });
            }
            // Every key was taken by a concurrent enqueue that committed
            // meanwhile: run again and see it.
        }
        Err(InboxError::new(
            "the enqueue kept losing races on its replay keys",
        ))
    }

    pub(super) async fn lease(
        &self,
        scheme: &str,
        batch: usize,
        lease_for: Duration,
        max_attempts: u32,
    ) -> Result<Vec<Leased>, InboxError> {
        let conn = self.connection().await?;
        let lease_for = row::micros(lease_for);
        let max_attempts = i32::try_from(max_attempts).unwrap_or(i32::MAX);
        let mut leased = Vec::new();
        loop {
            let want = batch.saturating_sub(leased.len());
            if want == 0 {
                break;
            }
            let limit = i64::try_from(want).unwrap_or(i64::MAX);
            let rows = self
                .query(
                    &conn,
                    &self.sql.lease,
                    &[&scheme, &limit, &lease_for, &max_attempts],
                )
                .await
                .map_err(InboxError::new)?;
            let mut buried = 0;
            let mut taken = 0;
            for row in &rows {
                buried = row.try_get::<_, i64>(0).map_err(InboxError::new)?;
                if row
                    .try_get::<_, Option<i64>>(1)
                    .map_err(InboxError::new)?
                    .is_some()
                {
                    let (record, token) = row::record(row, 1)?;
                    leased.push(Leased { record, token });
                    taken += 1;
                }
            }
            // Only records that went dead leave room for more.
            if buried == 0 || taken + (buried as usize) < want {
                break;
            }
        }
        Ok(leased)
    }

    pub(super) async fn settle(
        &self,
        id: RecordId,
        token: LeaseToken,
        outcome: Settle,
    ) -> Result<Settled, InboxError> {
        let release = outcome == Settle::Release;
        let settled = self.settles.settle(id, token, outcome).await?;
        if settled == Settled::Applied && release {
            self.wake_replicas();
        }
        Ok(settled)
    }

    pub(super) async fn heartbeat(
        &self,
        id: RecordId,
        token: LeaseToken,
        lease_for: Duration,
    ) -> Result<Heartbeat, InboxError> {
        let conn = self.connection().await?;
        let params: [&(dyn ToSql + Sync); 3] = [&id.get(), &token.get(), &row::micros(lease_for)];
        let changed = self
            .execute(&conn, &self.sql.heartbeat, &params)
            .await
            .map_err(InboxError::new)?;
        Ok(if changed == 1 {
            Heartbeat::Extended
        } else {
            Heartbeat::Stale
        })
    }

    pub(super) async fn get(&self, id: RecordId) -> Result<Option<Record>, InboxError> {
        let conn = self.connection().await?;
        let rows = self
            .query(&conn, &self.sql.get, &[&id.get()])
            .await
            .map_err(InboxError::new)?;
        rows.first()
            .map(|row| row::record(row, 0).map(|(record, _)| record))
            .transpose()
    }

    pub(super) async fn counts(&self) -> Result<Counts, InboxError> {
        let conn = self.connection().await?;
        let rows = self
            .query(&conn, &self.sql.counts, &[])
            .await
            .map_err(InboxError::new)?;
        let mut counts = Counts::default();
        for row in &rows {
            let state = row::state(row.try_get(0).map_err(InboxError::new)?)?;
            let count = row.try_get::<_, i64>(1).map_err(InboxError::new)?;
            counts.add(state, u64::try_from(count).unwrap_or(0));
        }
        Ok(counts)
    }

    pub(super) async fn requeue(&self, id: RecordId) -> Result<Requeued, InboxError> {
        let conn = self.connection().await?;
        let rows = self
            .query(&conn, &self.sql.requeue, &[&id.get()])
            .await
            .map_err(InboxError::new)?;
        let Some(row) = rows.first() else {
            return Ok(Requeued::NotFound);
        };
        match row::state(row.try_get(0).map_err(InboxError::new)?)? {
            State::Dead => {
                self.wake_replicas();
                Ok(Requeued::Requeued)
            }
            state => Ok(Requeued::NotDead(state)),
        }
    }

    /// One chunk of a purge: finished records first, then orphaned keys.
    pub(super) async fn purge_chunk(&self, retention: Retention) -> Result<Purged, InboxError> {
        let conn = self.connection().await?;
        let records = self
            .execute(
                &conn,
                &self.sql.purge_records,
                &[&row::micros(retention.records), &PURGE_CHUNK],
            )
            .await
            .map_err(InboxError::new)?;
        let keys = self
            .execute(
                &conn,
                &self.sql.purge_keys,
                &[&row::micros(retention.keys), &PURGE_CHUNK],
            )
            .await
            .map_err(InboxError::new)?;
        Ok(Purged::new(records, keys))
    }

    pub(super) async fn list(&self, query: &ListQuery) -> Result<Page, InboxError> {
        let conn = self.connection().await?;
        let before = query.before.map_or(i64::MAX, RecordId::get);
        let limit = i64::try_from(query.limit.saturating_add(1)).unwrap_or(i64::MAX);
        let rows = match query.state {
            Some(state) => {
                self.query(&conn, &self.sql.list_state, &[&before, &limit, &state.label()])
                    .await
            }
            None => self.query(&conn, &self.sql.list, &[&before, &limit]).await,
        }
        .map_err(InboxError::new)?;
        let mut entries = rows
            .iter()
            .map(|row| row::entry(row, 0))
            .collect::<Result<Vec<_>, _>>()?;
        let next = if entries.len() > query.limit {
            entries.truncate(query.limit);
            entries.last().map(|entry| entry.id)
        } else {
            None
        };
        Ok(Page::new(entries, next))
    }
}
