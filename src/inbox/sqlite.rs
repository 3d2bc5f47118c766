//! [`SqliteInbox`]: the durable inbox in one SQLite file.

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Method, Uri};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use tokio::sync::oneshot;

use super::encode::{decode_headers, encode_headers};
use super::store::{
    Counts, Enqueued, Entry, Heartbeat, InboxError, InboxStore, Incoming, LeaseToken, Leased, ListQuery,
    Page, Purged, Record, RecordId, Requeued, Retention, Settle, Settled, State,
};

/// The schema version this code writes, kept in SQLite's `user_version`.
const SCHEMA_VERSION: i64 = 1;

/// The schema. Active records (pending, running, retrying) carry `due_ms`,
/// when they may be leased next; done and dead ones do not, so the partial
/// index `inbox_records_due` holds the active records only and leasing stays
/// as fast with a million done records as with none. The request (headers
/// and body) lives in a table of its own, written once: leasing and settling
/// rewrite small rows only, many to a page. Replay keys live in a table of
/// their own too, so that a key outlives its record.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS inbox_records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scheme TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT,
    signed_timestamp INTEGER,
    received_ms INTEGER NOT NULL,
    state INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    lease_token INTEGER NOT NULL,
    due_ms INTEGER,
    finished_ms INTEGER,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS inbox_records_due ON inbox_records (scheme, due_ms) WHERE due_ms IS NOT NULL;
CREATE INDEX IF NOT EXISTS inbox_records_finished ON inbox_records (finished_ms) WHERE finished_ms IS NOT NULL;
CREATE INDEX IF NOT EXISTS inbox_records_state ON inbox_records (state, id);
CREATE TABLE IF NOT EXISTS inbox_requests (
    record_id INTEGER PRIMARY KEY,
    method TEXT NOT NULL,
    uri TEXT NOT NULL,
    headers BLOB NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS inbox_keys (
    scheme TEXT NOT NULL,
    key TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    stored_ms INTEGER NOT NULL,
    PRIMARY KEY (scheme, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS inbox_keys_stored ON inbox_keys (stored_ms);
";

/// The columns of an [`Entry`], in the order [`entry`] reads them.
const ENTRY_COLUMNS: &str =
    "id, scheme, event_id, event_type, state, attempts, received_ms, due_ms, finished_ms, last_error";
/// The columns of a [`Record`], in the order [`record`] reads them.
const RECORD_COLUMNS: &str = "r.id, r.scheme, r.event_id, r.event_type, r.state, r.attempts, r.received_ms, \
r.due_ms, r.finished_ms, r.last_error, r.signed_timestamp, q.method, q.uri, q.headers, q.body, r.lease_token";
/// The tables [`RECORD_COLUMNS`] come from.
const RECORD_FROM: &str = "inbox_records r JOIN inbox_requests q ON q.record_id = r.id";

/// The most operations one transaction (one fsync) takes.
const MAX_BATCH: usize = 512;

/// Records deleted per transaction by [`purge`](InboxStore::purge), so that
/// a large purge does not hold up the deliveries waiting to be stored.
const PURGE_CHUNK: usize = 5_000;

/// The durable [`InboxStore`]: one SQLite file (bundled SQLite, nothing to
/// install), in WAL mode with `synchronous=FULL`.
///
/// **What "durable" means here.** [`enqueue`](InboxStore::enqueue) returns
/// only once its transaction is committed and the write-ahead log synced to
/// disk (`fsync`), so an acknowledged delivery survives a process crash, a
/// `kill -9` and a power cut, as far as the disk keeps what it said it
/// wrote. It does not survive the loss of the disk: back the file up (see
/// the README's "Operating the inbox").
///
/// **One writer, grouped commits.** Every write (enqueue, lease, settle,
/// heartbeat, requeue, purge) goes to one thread that owns the write
/// connection. It takes every write waiting at that moment (up to 512) into
/// one transaction, each in a savepoint of its own, and answers them once
/// the transaction is committed: deliveries arriving together share one
/// fsync, and so do the worker's settles. Reads (`list`, `get`, `counts`)
/// use a second connection and never wait for the writer.
///
/// Opening creates the file and its schema if they are missing; the schema's
/// version is kept in SQLite's `user_version`. Times are the store's clock
/// (this machine's), in milliseconds since the Unix epoch.
///
/// ```
/// use tower_webhook::inbox::{Enqueued, Incoming, InboxStore, SqliteInbox};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("tower-webhook-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let inbox = SqliteInbox::open(dir.join("inbox.sqlite3"))?;
/// let delivery = Incoming::new("petstore", "evt_1", r#"{"id":"evt_1"}"#);
/// assert!(matches!(inbox.enqueue(delivery.clone()).await?, Enqueued::Accepted(_)));
/// assert!(matches!(inbox.enqueue(delivery).await?, Enqueued::Duplicate { .. }));
/// # drop(inbox);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
pub struct SqliteInbox {
    path: PathBuf,
    /// `None` only while dropping.
    writer: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    reader: Arc<Mutex<Connection>>,
    stats: Arc<Stats>,
}

/// What the writer has done since the store was opened: see
/// [`SqliteInbox::write_stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteStats {
    /// Transactions committed: each is one sync of the write-ahead log.
    pub transactions: u64,
    /// Write operations in them (enqueues, leases, settles, ...).
    pub operations: u64,
}

#[derive(Default)]
struct Stats {
    transactions: AtomicU64,
    operations: AtomicU64,
}

/// One write: run in its own savepoint inside the writer's transaction
/// (kept if the write succeeded, undone if it failed), then told whether
/// that transaction committed.
type Job = Box<dyn FnOnce(&Connection, i64) -> (bool, Done) + Send>;
/// Answers a job once its transaction ended.
type Done = Box<dyn FnOnce(Result<(), &rusqlite::Error>) + Send>;

impl SqliteInbox {
    /// Opens the inbox in the file at `path`, creating the file and its
    /// schema if they are missing (a relative path is relative to the
    /// working directory), and starts its writer thread.
    ///
    /// # Errors
    ///
    /// When the file cannot be opened or created, is not an SQLite
    /// database, or holds a schema of a newer version of this crate.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, InboxError> {
        let path = path.as_ref().to_path_buf();
        let mut writer = Connection::open(&path).map_err(InboxError::new)?;
        configure(&writer).map_err(InboxError::new)?;
        migrate(&mut writer)?;
        let reader = Connection::open(&path).map_err(InboxError::new)?;
        reader
            .busy_timeout(Duration::from_secs(5))
            .map_err(InboxError::new)?;
        let stats = Arc::new(Stats::default());
        let (sender, jobs) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("inbox-sqlite-writer".to_owned())
            .spawn({
                let stats = Arc::clone(&stats);
                move || write_loop(writer, &jobs, &stats)
            })
            .map_err(InboxError::new)?;
        Ok(Self {
            path,
            writer: Some(sender),
            thread: Some(thread),
            reader: Arc::new(Mutex::new(reader)),
            stats,
        })
    }

    /// The file's path, as given to [`open`](Self::open).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many transactions the writer committed (each one sync of the
    /// write-ahead log) and how many writes they held: the group commit at
    /// work is `operations / transactions`.
    pub fn write_stats(&self) -> WriteStats {
        WriteStats {
            transactions: self.stats.transactions.load(Ordering::Relaxed),
            operations: self.stats.operations.load(Ordering::Relaxed),
        }
    }

    /// Settles record `id` held under `token` by `outcome` **and** runs
    /// `effect` on the inbox's own connection, in one transaction: both
    /// commit, or neither does.
    ///
    /// This is the exactly-once pattern for an effect that lives in the same
    /// database: a handler that records its effect here (an `orders` row,
    /// say) through this call can neither lose it after the record is done
    /// nor apply it twice, because a worker whose lease was taken over gets
    /// [`Settled::Stale`] and `effect` is then not run. If `effect` fails,
    /// nothing is settled and the error is returned; the worker's own
    /// settle then follows the handler's answer as usual. Keep `effect`
    /// short: it runs on the writer thread, between other deliveries' writes.
    ///
    /// The handler finds `id` and `token` in the request's
    /// [`Attempt`](super::Attempt) extension.
    ///
    /// # Errors
    ///
    /// When the store fails or `effect` returns an error.
    pub fn settle_with<F>(
        &self,
        id: RecordId,
        token: LeaseToken,
        outcome: Settle,
        effect: F,
    ) -> impl Future<Output = Result<Settled, InboxError>> + Send + 'static
    where
        F: FnOnce(&Connection) -> rusqlite::Result<()> + Send + 'static,
    {
        self.write(move |conn, now| {
            let settled = settle(conn, now, id, token, outcome)?;
            if settled == Settled::Applied {
                effect(conn)?;
            }
            Ok(settled)
        })
    }

    /// Runs `op` on the writer thread, in a savepoint of the next
    /// transaction; resolves once that transaction committed.
    fn write<T, F>(&self, op: F) -> impl Future<Output = Result<T, InboxError>> + Send + 'static
    where
        T: Send + 'static,
        F: FnOnce(&Connection, i64) -> rusqlite::Result<T> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |conn, now| {
            let result = op(conn, now);
            let succeeded = result.is_ok();
            let done: Done = Box::new(move |committed| {
                let result = match (result, committed) {
                    (Ok(value), Ok(())) => Ok(value),
                    (Err(error), _) => Err(InboxError::new(error)),
                    (Ok(_), Err(error)) => Err(InboxError::new(format!("commit failed: {error}"))),
                };
                let _ = answer.send(result);
            });
            (succeeded, done)
        });
        let sent = match &self.writer {
            Some(writer) => writer.send(job).is_ok(),
            None => false,
        };
        async move {
            if !sent {
                return Err(InboxError::new("the inbox's writer thread has stopped"));
            }
            answered
                .await
                .unwrap_or_else(|_| Err(InboxError::new("the inbox's writer thread has stopped")))
        }
    }

    /// Runs `op` on the read connection, off the async threads.
    fn read<T, F>(&self, op: F) -> impl Future<Output = Result<T, InboxError>> + Send + 'static
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let reader = Arc::clone(&self.reader);
        async move {
            tokio::task::spawn_blocking(move || {
                let conn = reader.lock().unwrap_or_else(PoisonError::into_inner);
                op(&conn).map_err(InboxError::new)
            })
            .await
            .map_err(InboxError::new)?
        }
    }
}

impl Drop for SqliteInbox {
    fn drop(&mut self) {
        // The writer finishes the writes it has, commits, and closes the file.
        drop(self.writer.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl fmt::Debug for SqliteInbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteInbox")
            .field("path", &self.path)
            .field("write_stats", &self.write_stats())
            .finish_non_exhaustive()
    }
}

/// WAL with `synchronous=FULL`: a commit returns once the log is on disk.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    // Every statement the writer runs stays prepared.
    conn.set_prepared_statement_cache_capacity(64);
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "journal_mode is {mode}, not wal"
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

/// Creates the schema in a new file; refuses one written by a newer version.
fn migrate(conn: &mut Connection) -> Result<(), InboxError> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(InboxError::new)?;
    if version > SCHEMA_VERSION {
        return Err(InboxError::new(format!(
            "the inbox file has schema version {version}; this version of tower-webhook knows up to {SCHEMA_VERSION}"
        )));
    }
    if version < SCHEMA_VERSION {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(InboxError::new)?;
        tx.execute_batch(SCHEMA).map_err(InboxError::new)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(InboxError::new)?;
        tx.commit().map_err(InboxError::new)?;
    }
    Ok(())
}

/// The writer thread: waits for a write, takes every write waiting with it
/// into one transaction, commits, answers them all. Ends when the store is
/// dropped.
fn write_loop(mut conn: Connection, jobs: &mpsc::Receiver<Job>, stats: &Stats) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let count = batch.len() as u64;
        let now = now_ms();
        let mut done = Vec::with_capacity(batch.len());
        let committed = (|| {
            let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for job in batch {
                // One savepoint per write: a write that fails is undone
                // alone, and the others commit.
                let savepoint = tx.savepoint()?;
                let (succeeded, answer) = job(&savepoint, now);
                done.push(answer);
                if succeeded {
                    savepoint.commit()?;
                }
            }
            tx.commit()
        })();
        stats
            .transactions
            .fetch_add(u64::from(committed.is_ok()), Ordering::Relaxed);
        stats.operations.fetch_add(count, Ordering::Relaxed);
        if let Err(error) = &committed {
            tracing::error!(%error, writes = count, "inbox transaction failed; its writes are answered with errors");
        }
        for answer in done {
            answer(committed.as_ref().map(|_| ()));
        }
    }
}

/// The store's clock: milliseconds since the Unix epoch.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn time(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

fn state_code(state: State) -> i64 {
    match state {
        State::Pending => 0,
        State::Running => 1,
        State::Retrying => 2,
        State::Done => 3,
        State::Dead => 4,
    }
}

fn state_from(code: i64) -> rusqlite::Result<State> {
    State::ALL
        .into_iter()
        .find(|state| state_code(*state) == code)
        .ok_or(rusqlite::Error::IntegralValueOutOfRange(4, code))
}

/// A conversion error for column `index`.
fn bad_column(index: usize, error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Blob, error.into())
}

/// An [`Entry`] from a row starting with [`ENTRY_COLUMNS`].
fn entry(row: &Row<'_>) -> rusqlite::Result<Entry> {
    Ok(Entry {
        id: RecordId::new(row.get(0)?),
        scheme: row.get(1)?,
        event_id: row.get(2)?,
        event_type: row.get(3)?,
        state: state_from(row.get(4)?)?,
        attempts: row.get(5)?,
        received_at: time(row.get(6)?),
        next_attempt_at: row.get::<_, Option<i64>>(7)?.map(time),
        finished_at: row.get::<_, Option<i64>>(8)?.map(time),
        last_error: row.get(9)?,
    })
}

/// A [`Record`] and its lease token from a row of [`RECORD_COLUMNS`].
fn record(row: &Row<'_>) -> rusqlite::Result<(Record, LeaseToken)> {
    let method: String = row.get(11)?;
    let uri: String = row.get(12)?;
    let headers: Vec<u8> = row.get(13)?;
    let body: Vec<u8> = row.get(14)?;
    let record = Record {
        entry: entry(row)?,
        timestamp: row.get(10)?,
        method: Method::from_bytes(method.as_bytes()).map_err(|error| bad_column(11, error))?,
        uri: uri.parse::<Uri>().map_err(|error| bad_column(12, error))?,
        headers: decode_headers(&headers).map_err(|error| bad_column(13, error))?,
        body: Bytes::from(body),
    };
    Ok((record, LeaseToken::new(row.get(15)?)))
}

fn enqueue(conn: &Connection, now: i64, delivery: &Incoming) -> rusqlite::Result<Enqueued> {
    let mut find_key =
        conn.prepare_cached("SELECT record_id FROM inbox_keys WHERE scheme = ?1 AND key = ?2")?;
    for key in delivery.replay_keys() {
        let known: Option<i64> = find_key
            .query_row(params![delivery.scheme(), key], |row| row.get(0))
            .optional()?;
        if let Some(record) = known {
            let state = conn
                .prepare_cached("SELECT state FROM inbox_records WHERE id = ?1")?
                .query_row([record], |row| row.get::<_, i64>(0))
                .optional()?
                .map(state_from)
                .transpose()?;
            return Ok(Enqueued::Duplicate {
                record: state.map(|_| RecordId::new(record)),
                state,
            });
        }
    }
    let id: i64 = conn
        .prepare_cached(
            "INSERT INTO inbox_records (scheme, event_id, event_type, signed_timestamp, \
             received_ms, state, attempts, lease_token, due_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, 0, 0, 0, ?5) RETURNING id",
        )?
        .query_row(
            params![
                delivery.scheme(),
                delivery.event_id(),
                delivery.event_type(),
                delivery.timestamp(),
                now,
            ],
            |row| row.get(0),
        )?;
    conn.prepare_cached(
        "INSERT INTO inbox_requests (record_id, method, uri, headers, body) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        id,
        delivery.method().as_str(),
        delivery.uri().to_string(),
        encode_headers(delivery.headers()),
        &delivery.body()[..],
    ])?;
    let mut insert_key = conn.prepare_cached(
        "INSERT INTO inbox_keys (scheme, key, record_id, stored_ms) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for key in delivery.replay_keys() {
        insert_key.execute(params![delivery.scheme(), key, id, now])?;
    }
    Ok(Enqueued::Accepted(RecordId::new(id)))
}

fn lease(
    conn: &Connection,
    now: i64,
    scheme: &str,
    batch: usize,
    lease_for: Duration,
    max_attempts: u32,
) -> rusqlite::Result<Vec<Leased>> {
    let mut leased = Vec::new();
    let mut due = conn.prepare_cached(
        "SELECT id, state, attempts FROM inbox_records \
         WHERE scheme = ?1 AND due_ms IS NOT NULL AND due_ms <= ?2 ORDER BY due_ms, id LIMIT ?3",
    )?;
    let mut take = conn.prepare_cached(
        "UPDATE inbox_records SET state = 1, attempts = attempts + 1, lease_token = lease_token + 1, due_ms = ?2 \
         WHERE id = ?1",
    )?;
    let mut read = conn.prepare_cached(&format!(
        "SELECT {RECORD_COLUMNS} FROM {RECORD_FROM} WHERE r.id = ?1"
    ))?;
    let mut bury = conn.prepare_cached(
        "UPDATE inbox_records SET state = 4, due_ms = NULL, finished_ms = ?2, \
         last_error = 'lease expired at attempt ' || attempts WHERE id = ?1",
    )?;
    loop {
        let want = batch.saturating_sub(leased.len());
        if want == 0 {
            break;
        }
        let rows: Vec<(i64, i64, u32)> = due
            .query_map(params![scheme, now, want as i64], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let found = rows.len();
        let mut buried = 0;
        for (id, state, attempts) in rows {
            if state == state_code(State::Running) && attempts >= max_attempts {
                bury.execute(params![id, now])?;
                buried += 1;
                continue;
            }
            take.execute(params![id, now.saturating_add(millis(lease_for))])?;
            let (record, token) = read.query_row([id], record)?;
            leased.push(Leased { record, token });
        }
        // Only records that went dead leave room for more.
        if buried == 0 || found < want {
            break;
        }
    }
    Ok(leased)
}

fn settle(
    conn: &Connection,
    now: i64,
    id: RecordId,
    token: LeaseToken,
    outcome: Settle,
) -> rusqlite::Result<Settled> {
    let held = "WHERE id = ?1 AND lease_token = ?2 AND state = 1";
    let changed = match outcome {
        Settle::Done => conn
            .prepare_cached(&format!(
                "UPDATE inbox_records SET state = 3, due_ms = NULL, finished_ms = ?3, last_error = NULL {held}"
            ))?
            .execute(params![id.get(), token.get(), now])?,
        Settle::Dead { reason } => conn
            .prepare_cached(&format!(
                "UPDATE inbox_records SET state = 4, due_ms = NULL, finished_ms = ?3, last_error = ?4 {held}"
            ))?
            .execute(params![id.get(), token.get(), now, reason])?,
        Settle::Retry { after, error } => conn
            .prepare_cached(&format!(
                "UPDATE inbox_records SET state = 2, due_ms = ?3, last_error = ?4 {held}"
            ))?
            .execute(params![id.get(), token.get(), now.saturating_add(millis(after)), error])?,
        Settle::Release => conn
            .prepare_cached(&format!(
                "UPDATE inbox_records SET attempts = max(attempts - 1, 0), \
                 state = CASE WHEN attempts <= 1 THEN 0 ELSE 2 END, due_ms = ?3 {held}"
            ))?
            .execute(params![id.get(), token.get(), now])?,
    };
    Ok(if changed == 1 {
        Settled::Applied
    } else {
        Settled::Stale
    })
}

fn requeue(conn: &Connection, now: i64, id: RecordId) -> rusqlite::Result<Requeued> {
    let state = conn
        .prepare_cached("SELECT state FROM inbox_records WHERE id = ?1")?
        .query_row([id.get()], |row| row.get::<_, i64>(0))
        .optional()?;
    let Some(state) = state.map(state_from).transpose()? else {
        return Ok(Requeued::NotFound);
    };
    if state != State::Dead {
        return Ok(Requeued::NotDead(state));
    }
    conn.prepare_cached(
        "UPDATE inbox_records SET state = 0, attempts = 0, due_ms = ?2, finished_ms = NULL, last_error = NULL \
         WHERE id = ?1",
    )?
    .execute(params![id.get(), now])?;
    Ok(Requeued::Requeued)
}

/// One chunk of a purge: finished records first, then orphaned keys.
fn purge_chunk(conn: &Connection, now: i64, retention: Retention) -> rusqlite::Result<Purged> {
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT id FROM inbox_records WHERE finished_ms IS NOT NULL AND finished_ms <= ?1 LIMIT ?2",
        )?
        .query_map(
            params![now.saturating_sub(millis(retention.records)), PURGE_CHUNK as i64],
            |row| row.get(0),
        )?
        .collect::<rusqlite::Result<_>>()?;
    let mut delete_request = conn.prepare_cached("DELETE FROM inbox_requests WHERE record_id = ?1")?;
    let mut delete_record = conn.prepare_cached("DELETE FROM inbox_records WHERE id = ?1")?;
    for id in &ids {
        delete_request.execute([id])?;
        delete_record.execute([id])?;
    }
    let records = ids.len();
    // A key outlives its record by the key retention, and never goes first.
    let keys = conn
        .prepare_cached(
            "DELETE FROM inbox_keys WHERE (scheme, key) IN (SELECT k.scheme, k.key FROM inbox_keys k \
             WHERE k.stored_ms < ?1 AND NOT EXISTS (SELECT 1 FROM inbox_records r WHERE r.id = k.record_id) \
             LIMIT ?2)",
        )?
        .execute(params![
            now.saturating_sub(millis(retention.keys)),
            PURGE_CHUNK as i64
        ])?;
    Ok(Purged::new(records as u64, keys as u64))
}

impl InboxStore for SqliteInbox {
    fn enqueue(&self, delivery: Incoming) -> impl Future<Output = Result<Enqueued, InboxError>> + Send {
        self.write(move |conn, now| enqueue(conn, now, &delivery))
    }

    fn lease(
        &self,
        scheme: &str,
        batch: usize,
        lease_for: Duration,
        max_attempts: u32,
    ) -> impl Future<Output = Result<Vec<Leased>, InboxError>> + Send {
        let scheme = scheme.to_owned();
        self.write(move |conn, now| lease(conn, now, &scheme, batch, lease_for, max_attempts))
    }

    fn settle(
        &self,
        id: RecordId,
        token: LeaseToken,
        outcome: Settle,
    ) -> impl Future<Output = Result<Settled, InboxError>> + Send {
        self.write(move |conn, now| settle(conn, now, id, token, outcome))
    }

    fn heartbeat(
        &self,
        id: RecordId,
        token: LeaseToken,
        lease_for: Duration,
    ) -> impl Future<Output = Result<Heartbeat, InboxError>> + Send {
        self.write(move |conn, now| {
            let changed = conn
                .prepare_cached(
                    "UPDATE inbox_records SET due_ms = ?3 WHERE id = ?1 AND lease_token = ?2 AND state = 1",
                )?
                .execute(params![
                    id.get(),
                    token.get(),
                    now.saturating_add(millis(lease_for))
                ])?;
            Ok(if changed == 1 {
                Heartbeat::Extended
            } else {
                Heartbeat::Stale
            })
        })
    }

    fn list(&self, query: ListQuery) -> impl Future<Output = Result<Page, InboxError>> + Send {
        self.read(move |conn| {
            let before = query.before.map_or(i64::MAX, RecordId::get);
            let limit = i64::try_from(query.limit.saturating_add(1)).unwrap_or(i64::MAX);
            let mut entries = match query.state {
                Some(state) => conn
                    .prepare_cached(&format!(
                        "SELECT {ENTRY_COLUMNS} FROM inbox_records WHERE state = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"
                    ))?
                    .query_map(params![state_code(state), before, limit], entry)?
                    .collect::<rusqlite::Result<Vec<_>>>()?,
                None => conn
                    .prepare_cached(&format!(
                        "SELECT {ENTRY_COLUMNS} FROM inbox_records WHERE id < ?1 ORDER BY id DESC LIMIT ?2"
                    ))?
                    .query_map(params![before, limit], entry)?
                    .collect::<rusqlite::Result<Vec<_>>>()?,
            };
            let next = if entries.len() > query.limit {
                entries.truncate(query.limit);
                entries.last().map(|entry| entry.id)
            } else {
                None
            };
            Ok(Page::new(entries, next))
        })
    }

    fn get(&self, id: RecordId) -> impl Future<Output = Result<Option<Record>, InboxError>> + Send {
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {RECORD_COLUMNS} FROM {RECORD_FROM} WHERE r.id = ?1"
            ))?
            .query_row([id.get()], record)
            .optional()
            .map(|found| found.map(|(record, _)| record))
        })
    }

    fn requeue(&self, id: RecordId) -> impl Future<Output = Result<Requeued, InboxError>> + Send {
        self.write(move |conn, now| requeue(conn, now, id))
    }

    fn purge(&self, retention: Retention) -> impl Future<Output = Result<Purged, InboxError>> + Send {
        let chunk = move || self.write(move |conn, now| purge_chunk(conn, now, retention));
        async move {
            let mut total = Purged::default();
            loop {
                let purged = chunk().await?;
                total = Purged::new(total.records + purged.records, total.keys + purged.keys);
                if purged.records < PURGE_CHUNK as u64 && purged.keys < PURGE_CHUNK as u64 {
                    return Ok(total);
                }
            }
        }
    }

    fn counts(&self) -> impl Future<Output = Result<Counts, InboxError>> + Send {
        self.read(|conn| {
            let mut counts = Counts::default();
            let mut statement =
                conn.prepare_cached("SELECT state, COUNT(*) FROM inbox_records GROUP BY state")?;
            let mut rows = statement.query([])?;
            while let Some(row) = rows.next()? {
                counts.add(
                    state_from(row.get(0)?)?,
                    u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0),
                );
            }
            Ok(counts)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(conn: &Connection, sql: &str) -> String {
        let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let details: Vec<String> = statement
            .query_map([], |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        details.join("; ")
    }

    /// Leasing, enqueueing and settling look records up by index, never by
    /// a scan of the table: their cost stays flat as done records pile up.
    #[test]
    fn lease_enqueue_and_settle_use_indexes_not_scans() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let lease = plan(
            &conn,
            "SELECT id, state, attempts FROM inbox_records \
             WHERE scheme = 'a' AND due_ms IS NOT NULL AND due_ms <= 5 ORDER BY due_ms, id LIMIT 10",
        );
        assert!(lease.contains("USING INDEX inbox_records_due"), "{lease}");
        let key = plan(
            &conn,
            "SELECT record_id FROM inbox_keys WHERE scheme = 'a' AND key = 'k'",
        );
        assert!(key.contains("USING PRIMARY KEY"), "{key}");
        let settle = plan(
            &conn,
            "UPDATE inbox_records SET state = 3 WHERE id = 1 AND lease_token = 2 AND state = 1",
        );
        assert!(settle.contains("USING INTEGER PRIMARY KEY"), "{settle}");
        let purge = plan(
            &conn,
            "SELECT id FROM inbox_records WHERE finished_ms IS NOT NULL AND finished_ms <= 5 LIMIT 10",
        );
        assert!(purge.contains("INDEX inbox_records_finished"), "{purge}");
        for plan in [&lease, &key, &settle, &purge] {
            assert!(!plan.contains("SCAN inbox_records"), "{plan}");
        }
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let error = migrate(&mut conn).unwrap_err();
        assert!(std::error::Error::source(&error)
            .unwrap()
            .to_string()
            .contains("schema version 2"));
    }
}
