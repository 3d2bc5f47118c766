//! Settles that arrive together share one statement: the worker settles
//! each record as its handler ends, and under load many end at once.

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use deadpool_postgres::{ClientWrapper, Pool};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinHandle;

use super::row;
use crate::inbox::store::{InboxError, LeaseToken, RecordId, Settle, Settled};

/// A call that found no answer within the store's timeout.
#[derive(Debug)]
pub(super) struct TimedOut(pub(super) Duration);

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgreSQL did not answer within {:?}", self.0)
    }
}

impl std::error::Error for TimedOut {}

/// The most settles one statement takes.
const MAX_BATCH: usize = 512;

/// The most batches running at once. A settle that comes while they all
/// run waits for the next batch, with every other settle that comes
/// meanwhile; below that, settles run as they come, as many at once.
const IN_FLIGHT: usize = 4;

/// One settle, and where its answer goes.
struct Job {
    id: RecordId,
    token: LeaseToken,
    outcome: Settle,
    answer: oneshot::Sender<Result<Settled, InboxError>>,
}

/// The task that settles in batches; stopped when dropped.
pub(super) struct Settles {
    jobs: mpsc::UnboundedSender<Job>,
    task: JoinHandle<()>,
}

impl Settles {
    /// Runs `statement` (`Sql::settle`) on connections of `pool`, each run
    /// bounded by `timeout` and counted in `statements`.
    pub(super) fn spawn(
        pool: Pool,
        statement: String,
        timeout: Duration,
        statements: Arc<AtomicU64>,
    ) -> Self {
        let (jobs, queue) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(pool, statement, timeout, statements, queue));
        Self { jobs, task }
    }

    /// Settles record `id` held under `token` by `outcome` in the next batch.
    pub(super) async fn settle(
        &self,
        id: RecordId,
        token: LeaseToken,
        outcome: Settle,
    ) -> Result<Settled, InboxError> {
        let (answer, answered) = oneshot::channel();
        let job = Job {
            id,
            token,
            outcome,
            answer,
        };
        if self.jobs.send(job).is_err() {
            return Err(InboxError::new("the store's settle task has stopped"));
        }
        answered
            .await
            .unwrap_or_else(|_| Err(InboxError::new("the store's settle task has stopped")))
    }
}

impl Drop for Settles {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Takes every settle waiting (up to [`MAX_BATCH`], one per record: a
/// second settle of a record, in this batch or in one still running, waits
/// until no batch runs, so that the two apply in order and each gets its
/// own answer), settles them in one statement, answers each; again, with up
/// to [`IN_FLIGHT`] batches running.
async fn run(
    pool: Pool,
    statement: String,
    timeout: Duration,
    statements: Arc<AtomicU64>,
    mut queue: mpsc::UnboundedReceiver<Job>,
) {
    let statement = Arc::new(statement);
    let running = Arc::new(Semaphore::new(IN_FLIGHT));
    // The records of the batches running now.
    let settling: Arc<Mutex<HashSet<RecordId>>> = Arc::default();
    let mut deferred: Vec<Job> = Vec::new();
    loop {
        if !deferred.is_empty() {
            // A record settled twice: the batch with its first settle ends
            // before the one with its second begins, so they apply in order.
            match running.acquire_many(IN_FLIGHT as u32).await {
                Ok(all) => drop(all),
                Err(_) => return,
            }
        }
        let Ok(permit) = Arc::clone(&running).acquire_owned().await else {
            return;
        };
        let mut batch: Vec<Job> = Vec::new();
        let mut ids = HashSet::new();
        let busy = settling.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let mut take = |job: Job, deferred: &mut Vec<Job>, batch: &mut Vec<Job>| {
            // A caller that gave up (its call timed out) has tried again or will.
            if job.answer.is_closed() {
                return;
            }
            if batch.len() < MAX_BATCH && !busy.contains(&job.id) && ids.insert(job.id) {
                batch.push(job);
            } else {
                deferred.push(job);
            }
        };
        for job in std::mem::take(&mut deferred) {
            take(job, &mut deferred, &mut batch);
        }
        if batch.is_empty() && deferred.is_empty() {
            match queue.recv().await {
                Some(job) => take(job, &mut deferred, &mut batch),
                None => return,
            }
        }
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => take(job, &mut deferred, &mut batch),
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            continue;
        }
        settling
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(ids.iter().copied());
        let (pool, statement, statements) = (pool.clone(), Arc::clone(&statement), Arc::clone(&statements));
        let settling = Arc::clone(&settling);
        tokio::spawn(async move {
            run_batch(&pool, &statement, timeout, &statements, batch).await;
            let mut running = settling.lock().unwrap_or_else(PoisonError::into_inner);
            for id in &ids {
                running.remove(id);
            }
            drop(running);
            drop(permit);
        });
    }
}

/// Settles `batch` in one statement and answers each settle.
async fn run_batch(pool: &Pool, statement: &str, timeout: Duration, statements: &AtomicU64, batch: Vec<Job>) {
    let settles: Vec<_> = batch
        .iter()
        .map(|job| (job.id, job.token, &job.outcome))
        .collect();
    let result = tokio::time::timeout(timeout, async {
        let conn = pool.get().await.map_err(Failure::Pool)?;
        statements.fetch_add(1, Ordering::Relaxed);
        settle(&conn, statement, &settles)
            .await
            .map_err(Failure::Postgres)
    })
    .await
    .unwrap_or(Err(Failure::TimedOut(timeout)))
    .map_err(|failure| BatchFailed(Arc::new(failure)));
    for job in batch {
        let answer = match &result {
            Ok(applied) if applied.contains(&job.id.get()) => Ok(Settled::Applied),
            Ok(_) => Ok(Settled::Stale),
            Err(failed) => Err(InboxError::new(failed.clone())),
        };
        let _ = job.answer.send(answer);
    }
}

/// Settles `settles` in one run of `statement` on `client`, in whatever
/// transaction it is in; the ids of the records it settled.
pub(super) async fn settle(
    client: &ClientWrapper,
    statement: &str,
    settles: &[(RecordId, LeaseToken, &Settle)],
) -> Result<HashSet<i64>, tokio_postgres::Error> {
    let mut ids = Vec::with_capacity(settles.len());
    let mut tokens = Vec::with_capacity(settles.len());
    let mut outcomes = Vec::with_capacity(settles.len());
    let mut delays = Vec::with_capacity(settles.len());
    let mut messages = Vec::with_capacity(settles.len());
    for (id, token, outcome) in settles {
        ids.push(id.get());
        tokens.push(token.get());
        let (label, delay, message) = match outcome {
            Settle::Done => ("done", 0, None),
            Settle::Dead { reason } => ("dead", 0, Some(row::text(reason))),
            Settle::Retry { after, error } => ("retrying", row::micros(*after), Some(row::text(error))),
            Settle::Release => ("release", 0, None),
        };
        outcomes.push(label);
        delays.push(delay);
        messages.push(message.map(|text| text.into_owned()));
    }
    let statement = client.prepare_cached(statement).await?;
    let rows = client
        .query(&statement, &[&ids, &tokens, &outcomes, &delays, &messages])
        .await?;
    Ok(rows.iter().map(|row| row.get::<_, i64>(0)).collect())
}

/// Why a batch failed.
#[derive(Debug)]
enum Failure {
    Pool(deadpool_postgres::PoolError),
    Postgres(tokio_postgres::Error),
    TimedOut(Duration),
}

/// A settle's batch failed: every settle in it gets this answer.
#[derive(Debug, Clone)]
struct BatchFailed(Arc<Failure>);

impl fmt::Display for BatchFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            Failure::TimedOut(limit) => TimedOut(*limit).fmt(f),
            _ => f.write_str("the settle's batch failed"),
        }
    }
}

impl std::error::Error for BatchFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.0 {
            Failure::Pool(error) => Some(error),
            Failure::Postgres(error) => Some(error),
            Failure::TimedOut(_) => None,
        }
    }
}
