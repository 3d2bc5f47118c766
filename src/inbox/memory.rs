//! [`MemoryInbox`]: the inbox in memory, for tests and for the worker model
//! without durability.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::future::{ready, Future};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use super::store::{
    Counts, Enqueued, Entry, Heartbeat, InboxError, InboxStore, Incoming, LeaseToken, Leased, ListQuery,
    Page, Purged, Record, RecordId, Requeued, Retention, Settle, Settled, State,
};

/// An [`InboxStore`] in memory. **Not durable**: everything is lost when the
/// process ends, so an acknowledged delivery whose handler had not succeeded
/// by then is lost with it. For tests, and for receivers that want the
/// worker model (acknowledge at once, retry with backoff) and accept that;
/// the durable store is `SqliteInbox` (feature `sqlite`).
///
/// Every operation takes one lock for a few map operations; listing and
/// leasing look at the records still active only.
///
/// ```
/// use tower_webhook::inbox::{Enqueued, Incoming, InboxStore, MemoryInbox};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let inbox = MemoryInbox::new();
/// let delivery = Incoming::new("petstore", "evt_1", r#"{"id":"evt_1"}"#);
/// assert!(matches!(inbox.enqueue(delivery.clone()).await?, Enqueued::Accepted(_)));
/// assert!(matches!(inbox.enqueue(delivery).await?, Enqueued::Duplicate { .. }));
/// # Ok(())
/// # }
/// ```
#[derive(Default)]
pub struct MemoryInbox {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next_id: i64,
    next_token: i64,
    records: BTreeMap<RecordId, Stored>,
    /// Records still to be processed, by when they are due.
    due: BTreeSet<(SystemTime, RecordId)>,
    /// `(scheme, key)` → the record and when the key was stored.
    keys: HashMap<(String, String), (RecordId, SystemTime)>,
}

struct Stored {
    record: Record,
    token: LeaseToken,
    /// When it may be leased, while active.
    due: Option<SystemTime>,
}

impl MemoryInbox {
    /// An empty inbox.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every operation leaves whole records behind: keep going after a panic.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for MemoryInbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("MemoryInbox")
            .field("records", &inner.records.len())
            .field("keys", &inner.keys.len())
            .finish()
    }
}

impl Inner {
    fn set_due(&mut self, id: RecordId, due: Option<SystemTime>) {
        let Some(stored) = self.records.get_mut(&id) else {
            return;
        };
        if let Some(old) = stored.due.take() {
            self.due.remove(&(old, id));
        }
        stored.due = due;
        stored.record.entry.next_attempt_at = due;
        if let Some(due) = due {
            self.due.insert((due, id));
        }
    }

    fn enqueue(&mut self, delivery: Incoming, now: SystemTime) -> Enqueued {
        let scheme = delivery.scheme().to_owned();
        for key in delivery.replay_keys() {
            if let Some((id, _)) = self.keys.get(&(scheme.clone(), key.to_owned())) {
                let state = self.records.get(id).map(|stored| stored.record.entry.state);
                return Enqueued::Duplicate {
                    record: state.map(|_| *id),
                    state,
                };
            }
        }
        self.next_id += 1;
        let id = RecordId::new(self.next_id);
        for key in delivery.replay_keys() {
            self.keys.insert((scheme.clone(), key.to_owned()), (id, now));
        }
        let record = Record {
            entry: Entry {
                id,
                scheme,
                event_id: delivery.event_id().to_owned(),
                event_type: delivery.event_type().map(str::to_owned),
                state: State::Pending,
                attempts: 0,
                received_at: now,
                next_attempt_at: None,
                finished_at: None,
                last_error: None,
            },
            timestamp: delivery.timestamp(),
            method: delivery.method().clone(),
            uri: delivery.uri().clone(),
            headers: delivery.headers().clone(),
            body: delivery.body().clone(),
        };
        self.records.insert(
            id,
            Stored {
                record,
                token: LeaseToken::new(0),
                due: None,
            },
        );
        self.set_due(id, Some(now));
        Enqueued::Accepted(id)
    }

    fn lease(
        &mut self,
        scheme: &str,
        batch: usize,
        lease_for: Duration,
        max_attempts: u32,
        now: SystemTime,
    ) -> Vec<Leased> {
        let due: Vec<RecordId> = self
            .due
            .iter()
            .take_while(|(due, _)| *due <= now)
            .map(|(_, id)| *id)
            .filter(|id| {
                self.records
                    .get(id)
                    .is_some_and(|s| s.record.entry.scheme == scheme)
            })
            .collect();
        let mut leased = Vec::new();
        for id in due {
            if leased.len() >= batch {
                break;
            }
            let Some(stored) = self.records.get_mut(&id) else {
                continue;
            };
            let entry = &mut stored.record.entry;
            if entry.state == State::Running && entry.attempts >= max_attempts {
                entry.state = State::Dead;
                entry.finished_at = Some(now);
                entry.last_error = Some(format!("lease expired at attempt {}", entry.attempts));
                self.set_due(id, None);
                continue;
            }
            entry.state = State::Running;
            entry.attempts += 1;
            self.next_token += 1;
            stored.token = LeaseToken::new(self.next_token);
            let token = stored.token;
            self.set_due(id, Some(now + lease_for));
            if let Some(stored) = self.records.get(&id) {
                leased.push(Leased {
                    record: stored.record.clone(),
                    token,
                });
            }
        }
        leased
    }

    /// The record `id` if `token` holds it.
    fn held(&mut self, id: RecordId, token: LeaseToken) -> Option<&mut Stored> {
        self.records
            .get_mut(&id)
            .filter(|stored| stored.record.entry.state == State::Running && stored.token == token)
    }

    fn settle(&mut self, id: RecordId, token: LeaseToken, outcome: Settle, now: SystemTime) -> Settled {
        let Some(stored) = self.held(id, token) else {
            return Settled::Stale;
        };
        let entry = &mut stored.record.entry;
        let due = match outcome {
            Settle::Done => {
                entry.state = State::Done;
                entry.finished_at = Some(now);
                entry.last_error = None;
                None
            }
            Settle::Dead { reason } => {
                entry.state = State::Dead;
                entry.finished_at = Some(now);
                entry.last_error = Some(reason);
                None
            }
            Settle::Retry { after, error } => {
                entry.state = State::Retrying;
                entry.last_error = Some(error);
                Some(now + after)
            }
            Settle::Release => {
                entry.attempts = entry.attempts.saturating_sub(1);
                entry.state = if entry.attempts == 0 {
                    State::Pending
                } else {
                    State::Retrying
                };
                Some(now)
            }
        };
        self.set_due(id, due);
        Settled::Applied
    }

    fn requeue(&mut self, id: RecordId, now: SystemTime) -> Requeued {
        let Some(stored) = self.records.get_mut(&id) else {
            return Requeued::NotFound;
        };
        let entry = &mut stored.record.entry;
        if entry.state != State::Dead {
            return Requeued::NotDead(entry.state);
        }
        entry.state = State::Pending;
        entry.attempts = 0;
        entry.finished_at = None;
        entry.last_error = None;
        self.set_due(id, Some(now));
        Requeued::Requeued
    }

    fn purge(&mut self, retention: Retention, now: SystemTime) -> Purged {
        let records_before = now
            .checked_sub(retention.records)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let keys_before = now.checked_sub(retention.keys).unwrap_or(SystemTime::UNIX_EPOCH);
        let before = self.records.len();
        self.records.retain(|_, stored| {
            let entry = &stored.record.entry;
            entry.state.is_active() || entry.finished_at.is_none_or(|finished| finished > records_before)
        });
        let records = (before - self.records.len()) as u64;
        let before = self.keys.len();
        let records_left = &self.records;
        self.keys
            .retain(|_, (id, stored_at)| records_left.contains_key(id) || *stored_at > keys_before);
        Purged::new(records, (before - self.keys.len()) as u64)
    }
}

impl InboxStore for MemoryInbox {
    fn enqueue(&self, delivery: Incoming) -> impl Future<Output = Result<Enqueued, InboxError>> + Send {
        ready(Ok(self.lock().enqueue(delivery, SystemTime::now())))
    }

    fn lease(
        &self,
        scheme: &str,
        batch: usize,
        lease_for: Duration,
        max_attempts: u32,
    ) -> impl Future<Output = Result<Vec<Leased>, InboxError>> + Send {
        ready(Ok(self.lock().lease(
            scheme,
            batch,
            lease_for,
            max_attempts,
            SystemTime::now(),
        )))
    }

    fn settle(
        &self,
        id: RecordId,
        token: LeaseToken,
        outcome: Settle,
    ) -> impl Future<Output = Result<Settled, InboxError>> + Send {
        ready(Ok(self.lock().settle(id, token, outcome, SystemTime::now())))
    }

    fn heartbeat(
        &self,
        id: RecordId,
        token: LeaseToken,
        lease_for: Duration,
    ) -> impl Future<Output = Result<Heartbeat, InboxError>> + Send {
        let mut inner = self.lock();
        let answer = if inner.held(id, token).is_some() {
            inner.set_due(id, Some(SystemTime::now() + lease_for));
            Heartbeat::Extended
        } else {
            Heartbeat::Stale
        };
        ready(Ok(answer))
    }

    fn list(&self, query: ListQuery) -> impl Future<Output = Result<Page, InboxError>> + Send {
        let inner = self.lock();
        let below = query.before.unwrap_or(RecordId::new(i64::MAX));
        let mut entries: Vec<Entry> = inner
            .records
            .range(..below)
            .rev()
            .map(|(_, stored)| &stored.record.entry)
            .filter(|entry| query.state.is_none_or(|state| entry.state == state))
            .take(query.limit.saturating_add(1))
            .cloned()
            .collect();
        let next = if entries.len() > query.limit {
            entries.truncate(query.limit);
            entries.last().map(|entry| entry.id)
        } else {
            None
        };
        ready(Ok(Page::new(entries, next)))
    }

    fn get(&self, id: RecordId) -> impl Future<Output = Result<Option<Record>, InboxError>> + Send {
        ready(Ok(self
            .lock()
            .records
            .get(&id)
            .map(|stored| stored.record.clone())))
    }

    fn requeue(&self, id: RecordId) -> impl Future<Output = Result<Requeued, InboxError>> + Send {
        ready(Ok(self.lock().requeue(id, SystemTime::now())))
    }

    fn purge(&self, retention: Retention) -> impl Future<Output = Result<Purged, InboxError>> + Send {
        ready(Ok(self.lock().purge(retention, SystemTime::now())))
    }

    fn counts(&self) -> impl Future<Output = Result<Counts, InboxError>> + Send {
        let mut counts = Counts::default();
        for stored in self.lock().records.values() {
            counts.add(stored.record.entry.state, 1);
        }
        ready(Ok(counts))
    }
}
