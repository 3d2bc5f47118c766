//! The inbox-store conformance suite: the cases `MemoryInbox` and
//! `SqliteInbox` pass, for your own [`InboxStore`](crate::inbox::InboxStore)
//! to run.
//!
//! Call the [`cases`](crate::testing::inbox::cases) one by one, or generate one test per case with
//! [`inbox_conformance!`](crate::inbox_conformance) (which needs `tokio` with
//! the `macros` and `rt-multi-thread` features in your dev-dependencies).
//! Each case starts from an empty store. A durable store also passes
//! [`cases::records_survive_reopening`](crate::testing::inbox::cases::records_survive_reopening), given a function that closes the
//! store and opens it again on the same data:
//!
//! ```
//! use tower_webhook::inbox::MemoryInbox;
//!
//! async fn my_store() -> MemoryInbox {
//!     MemoryInbox::new()
//! }
//!
//! tower_webhook::inbox_conformance!(memory, my_store);
//! # fn main() {}
//! ```
//!
//! The cases wait for leases and delays of a few hundred milliseconds
//! ([`LEASE`](crate::testing::inbox::LEASE)); a store's clock must resolve milliseconds.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Uri};

use crate::inbox::{
    Enqueued, Heartbeat, InboxStore, Incoming, Leased, ListQuery, RecordId, Requeued, Retention, Settle,
    Settled, State,
};

/// The lease time the cases lease for: short, so that expiry cases wait little.
pub const LEASE: Duration = Duration::from_millis(300);

/// Longer than [`LEASE`], to be sure a lease has expired.
const PAST_LEASE: Duration = Duration::from_millis(700);

/// The scheme name the cases store under.
const SCHEME: &str = "conformance";

/// A generous maximum of attempts, for cases not about the maximum.
const MAX: u32 = 8;

/// Bounds every store call, so that a broken store fails the test instead of
/// hanging it.
async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("the store answered within 10 s")
}

/// The source article's event as a Petstore delivery with id `id`.
fn delivery(id: &str) -> Incoming {
    let body = format!(
        r#"{{"id":"{id}","type":"order.completed","created":1710331200,"data":{{"orderId":"123","status":"completed","completedAt":"2024-01-01T12:00:00Z"}}}}"#
    );
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert(
        "x-petstore-signature",
        HeaderValue::from_static("4d1f6b6e3c2a9f0e8b7d6c5a4b3e2f1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f"),
    );
    Incoming::new(SCHEME, id, body)
        .with_event_type(Some("order.completed".to_owned()))
        .with_request(Method::POST, Uri::from_static("/webhooks"), headers)
}

async fn enqueue(store: &impl InboxStore, delivery: Incoming) -> Enqueued {
    within(store.enqueue(delivery)).await.expect("enqueue")
}

async fn accepted(store: &impl InboxStore, delivery: Incoming) -> RecordId {
    let id = delivery.event_id().to_owned();
    match enqueue(store, delivery).await {
        Enqueued::Accepted(record) => record,
        other => panic!("expected {id} to be accepted, got {other:?}"),
    }
}

async fn duplicate_in(store: &impl InboxStore, delivery: Incoming, expected: Option<State>) {
    let id = delivery.event_id().to_owned();
    match enqueue(store, delivery).await {
        Enqueued::Duplicate { state, .. } => assert_eq!(state, expected, "the state {id} is known in"),
        other => panic!("expected {id} to be a duplicate, got {other:?}"),
    }
}

async fn lease(store: &impl InboxStore, batch: usize, max_attempts: u32) -> Vec<Leased> {
    within(store.lease(SCHEME, batch, LEASE, max_attempts))
        .await
        .expect("lease")
}

async fn lease_one(store: &impl InboxStore) -> Leased {
    let mut leased = lease(store, 1, MAX).await;
    assert_eq!(leased.len(), 1, "expected one record to lease");
    leased.remove(0)
}

async fn settle(store: &impl InboxStore, leased: &Leased, outcome: Settle) -> Settled {
    within(store.settle(leased.record.entry.id, leased.token, outcome))
        .await
        .expect("settle")
}

async fn state_of(store: &impl InboxStore, id: RecordId) -> State {
    within(store.get(id))
        .await
        .expect("get")
        .unwrap_or_else(|| panic!("record {id} is stored"))
        .entry
        .state
}

/// The cases, each generic over the store; each panics when the store breaks
/// the [`InboxStore`] contract.
pub mod cases {
    use super::*;

    /// A delivery is a duplicate by its event id and by its extra replay key,
    /// in every state; another scheme's same id is not.
    pub async fn enqueue_dedups_on_every_key_in_every_state(store: impl InboxStore) {
        let first = delivery("evt_1").with_replay_key(Some("sig:aaaa".to_owned()));
        let id = accepted(&store, first.clone()).await;
        // The same event again, and another id carrying the same extra key.
        duplicate_in(&store, first.clone(), Some(State::Pending)).await;
        let same_signature = delivery("evt_other").with_replay_key(Some("sig:aaaa".to_owned()));
        duplicate_in(&store, same_signature, Some(State::Pending)).await;
        // Nothing was stored for the refused one: its id is still fresh.
        accepted(&store, delivery("evt_other")).await;

        let leased = lease_one(&store).await;
        assert_eq!(leased.record.entry.id, id);
        duplicate_in(&store, first.clone(), Some(State::Running)).await;
        let retry = Settle::Retry {
            after: Duration::ZERO,
            error: "handler answered 500".to_owned(),
        };
        assert_eq!(settle(&store, &leased, retry).await, Settled::Applied);
        duplicate_in(&store, first.clone(), Some(State::Retrying)).await;
        let leased = lease(&store, 10, MAX)
            .await
            .into_iter()
            .find(|leased| leased.record.entry.id == id)
            .expect("the retry is due at once");
        assert_eq!(settle(&store, &leased, Settle::Done).await, Settled::Applied);
        duplicate_in(&store, first.clone(), Some(State::Done)).await;
        let third = delivery("evt_third").with_replay_key(Some("sig:aaaa".to_owned()));
        duplicate_in(&store, third, Some(State::Done)).await;

        // Keys are unique per scheme: another provider's `evt_1` is its own event.
        let elsewhere = Incoming::new("elsewhere", "evt_1", "{}");
        accepted(&store, elsewhere).await;
    }

    /// 32 concurrent enqueues of one event: exactly one is accepted.
    pub async fn concurrent_enqueues_of_one_key_accept_exactly_one(store: impl InboxStore) {
        let store = Arc::new(store);
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move { enqueue(&*store, delivery("evt_race")).await })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            match task.await.expect("task") {
                Enqueued::Accepted(id) => winners.push(id),
                Enqueued::Duplicate { record, state } => {
                    assert!(
                        record.is_some() && state.is_some(),
                        "the winner is stored: {record:?} {state:?}"
                    );
                }
            }
        }
        assert_eq!(winners.len(), 1, "winners: {winners:?}");
        let counts = within(store.counts()).await.expect("counts");
        assert_eq!(counts.pending, 1);
    }

    /// A leased record is leased to nobody else until its lease expires;
    /// then it is taken over under a new token, its attempt counted again.
    pub async fn leased_record_is_invisible_until_its_lease_expires(store: impl InboxStore) {
        let id = accepted(&store, delivery("evt_1")).await;
        let first = lease_one(&store).await;
        assert_eq!(first.record.entry.id, id);
        assert_eq!(first.record.entry.attempts, 1);
        assert_eq!(first.record.entry.state, State::Running);
        assert!(lease(&store, 10, MAX).await.is_empty(), "leased twice");
        assert_eq!(state_of(&store, id).await, State::Running);

        tokio::time::sleep(PAST_LEASE).await;
        let second = lease_one(&store).await;
        assert_eq!(second.record.entry.id, id);
        assert_eq!(second.record.entry.attempts, 2);
        assert_ne!(first.token, second.token);
    }

    /// A token whose lease was taken over can neither settle nor extend the
    /// record; the current token can, once.
    pub async fn stale_token_cannot_settle(store: impl InboxStore) {
        let id = accepted(&store, delivery("evt_1")).await;
        let stale = lease_one(&store).await;
        tokio::time::sleep(PAST_LEASE).await;
        let current = lease_one(&store).await;

        assert_eq!(settle(&store, &stale, Settle::Done).await, Settled::Stale);
        let dead = Settle::Dead {
            reason: "stale".to_owned(),
        };
        assert_eq!(settle(&store, &stale, dead).await, Settled::Stale);
        assert_eq!(settle(&store, &stale, Settle::Release).await, Settled::Stale);
        let heartbeat = within(store.heartbeat(id, stale.token, LEASE))
            .await
            .expect("heartbeat");
        assert_ne!(heartbeat, Heartbeat::Extended, "a stale token extended the lease");
        assert_eq!(state_of(&store, id).await, State::Running);

        assert_eq!(settle(&store, &current, Settle::Done).await, Settled::Applied);
        assert_eq!(state_of(&store, id).await, State::Done);
        // Settled once: the token holds nothing any more.
        assert_eq!(settle(&store, &current, Settle::Release).await, Settled::Stale);
        assert_eq!(state_of(&store, id).await, State::Done);
    }

    /// A heartbeat under the current token keeps the record leased past its
    /// first lease time (a store without heartbeats says so and passes).
    pub async fn heartbeat_extends_the_lease(store: impl InboxStore) {
        accepted(&store, delivery("evt_1")).await;
        let leased = lease_one(&store).await;
        let id = leased.record.entry.id;
        for _ in 0..3 {
            tokio::time::sleep(LEASE / 2).await;
            match within(store.heartbeat(id, leased.token, LEASE))
                .await
                .expect("heartbeat")
            {
                Heartbeat::Extended => {}
                Heartbeat::Unsupported => return,
                Heartbeat::Stale => panic!("the current token's heartbeat was refused"),
            }
        }
        // 1.5 lease times after the lease: still held.
        assert!(
            lease(&store, 10, MAX).await.is_empty(),
            "taken over despite the heartbeats"
        );
        assert_eq!(settle(&store, &leased, Settle::Done).await, Settled::Applied);
    }

    /// A retry is not leased before its delay; then it is, with its error
    /// kept and its attempt counted.
    pub async fn retry_is_not_leasable_before_its_delay(store: impl InboxStore) {
        let id = accepted(&store, delivery("evt_1")).await;
        let leased = lease_one(&store).await;
        let retry = Settle::Retry {
            after: PAST_LEASE,
            error: "handler answered 503".to_owned(),
        };
        assert_eq!(settle(&store, &leased, retry).await, Settled::Applied);
        assert!(lease(&store, 10, MAX).await.is_empty(), "leased before its delay");
        let record = within(store.get(id)).await.expect("get").expect("stored");
        assert_eq!(record.entry.state, State::Retrying);
        assert_eq!(record.entry.last_error.as_deref(), Some("handler answered 503"));
        assert!(record.entry.next_attempt_at.is_some());

        tokio::time::sleep(PAST_LEASE + LEASE).await;
        let again = lease_one(&store).await;
        assert_eq!(again.record.entry.id, id);
        assert_eq!(again.record.entry.attempts, 2);
    }

    /// Attempts are counted at lease: a record whose every attempt dies
    /// with its worker (the lease just expires) is dead after the maximum,
    /// with the reason.
    pub async fn attempts_counted_at_lease_end_in_dead_after_the_maximum(store: impl InboxStore) {
        let id = accepted(&store, delivery("evt_1")).await;
        for attempt in 1..=2 {
            let leased = lease(&store, 1, 2).await;
            assert_eq!(leased.len(), 1, "attempt {attempt} leased");
            assert_eq!(leased[0].record.entry.attempts, attempt);
            tokio::time::sleep(PAST_LEASE).await;
        }
        assert!(lease(&store, 1, 2).await.is_empty(), "leased past the maximum");
        let record = within(store.get(id)).await.expect("get").expect("stored");
        assert_eq!(record.entry.state, State::Dead);
        assert_eq!(record.entry.attempts, 2);
        assert_eq!(
            record.entry.last_error.as_deref(),
            Some("lease expired at attempt 2")
        );
        assert!(record.entry.finished_at.is_some());
    }

    /// A release returns the record at once without charging the attempt.
    pub async fn release_does_not_charge_the_attempt(store: impl InboxStore) {
        let id = accepted(&store, delivery("evt_1")).await;
        let leased = lease_one(&store).await;
        assert_eq!(settle(&store, &leased, Settle::Release).await, Settled::Applied);
        assert_eq!(state_of(&store, id).await, State::Pending);
        let again = lease_one(&store).await;
        assert_eq!(again.record.entry.attempts, 1);
    }

    /// Dead records are listed with their reason, still dedup, and are
    /// requeued with their attempts reset; only dead ones are.
    pub async fn dead_records_list_requeue_and_still_dedup(store: impl InboxStore) {
        let dead_id = accepted(&store, delivery("evt_dead")).await;
        let live_id = accepted(&store, delivery("evt_live")).await;
        let leased = lease(&store, 10, MAX).await;
        let dead = leased
            .iter()
            .find(|leased| leased.record.entry.id == dead_id)
            .expect("leased");
        let reason = Settle::Dead {
            reason: "order event without an orderId".to_owned(),
        };
        assert_eq!(settle(&store, dead, reason).await, Settled::Applied);

        let page = within(store.list(ListQuery::newest(10).state(State::Dead)))
            .await
            .expect("list");
        assert_eq!(page.entries.len(), 1);
        assert_eq!(page.entries[0].id, dead_id);
        assert_eq!(
            page.entries[0].last_error.as_deref(),
            Some("order event without an orderId")
        );
        duplicate_in(&store, delivery("evt_dead"), Some(State::Dead)).await;
        assert_eq!(within(store.counts()).await.expect("counts").dead, 1);

        let not_dead = within(store.requeue(live_id)).await.expect("requeue");
        assert_eq!(not_dead, Requeued::NotDead(State::Running));
        let missing = within(store.requeue(RecordId::new(i64::MAX - 1)))
            .await
            .expect("requeue");
        assert_eq!(missing, Requeued::NotFound);
        assert_eq!(
            within(store.requeue(dead_id)).await.expect("requeue"),
            Requeued::Requeued
        );
        let record = within(store.get(dead_id)).await.expect("get").expect("stored");
        assert_eq!((record.entry.state, record.entry.attempts), (State::Pending, 0));
        duplicate_in(&store, delivery("evt_dead"), Some(State::Pending)).await;
        let again = lease_one(&store).await;
        assert_eq!((again.record.entry.id, again.record.entry.attempts), (dead_id, 1));
    }

    /// A body that is not UTF-8, header values that are not, repeated
    /// headers and the query come back byte for byte, from `get` and `lease`.
    pub async fn bodies_and_headers_round_trip_byte_for_byte(store: impl InboxStore) {
        let body = Bytes::from_static(b"\x00\xff{\"id\":\"evt_bin\"}\xc3\x28\r\n\x80");
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-latin1",
            HeaderValue::from_bytes(b"caf\xe9 \x80\xff").expect("header"),
        );
        headers.append("x-repeated", HeaderValue::from_static("one"));
        headers.append("x-repeated", HeaderValue::from_static("two"));
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/octet-stream"),
        );
        let uri = Uri::from_static("/webhooks/in?tenant=a%20b&x=%FF");
        let incoming = Incoming::new(SCHEME, "evt_bin", body.clone())
            .with_event_type(Some("binary.event".to_owned()))
            .with_timestamp(Some(1_710_331_200))
            .with_request(Method::PUT, uri.clone(), headers.clone());
        let id = accepted(&store, incoming).await;

        let check = |record: &crate::inbox::Record| {
            assert_eq!(record.body, body);
            assert_eq!(record.headers, headers);
            let repeated: Vec<_> = record.headers.get_all("x-repeated").iter().collect();
            assert_eq!(repeated, ["one", "two"], "repeated values in order");
            assert_eq!(record.uri, uri);
            assert_eq!(record.method, Method::PUT);
            assert_eq!(record.timestamp, Some(1_710_331_200));
            assert_eq!(record.entry.event_id, "evt_bin");
            assert_eq!(record.entry.event_type.as_deref(), Some("binary.event"));
            assert_eq!(record.entry.scheme, SCHEME);
        };
        check(&within(store.get(id)).await.expect("get").expect("stored"));
        check(&lease_one(&store).await.record);
    }

    /// The request's credentials never reach the store.
    pub async fn credentials_are_never_stored(store: impl InboxStore) {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Bearer sekrit"));
        headers.insert("proxy-authorization", HeaderValue::from_static("Basic sekrit"));
        headers.insert("cookie", HeaderValue::from_static("session=sekrit"));
        headers.insert("x-github-delivery", HeaderValue::from_static("kept"));
        let incoming = delivery("evt_1").with_request(Method::POST, Uri::from_static("/webhooks"), headers);
        let id = accepted(&store, incoming).await;
        let record = within(store.get(id)).await.expect("get").expect("stored");
        assert_eq!(
            record.headers.len(),
            1,
            "{:?}",
            record.headers.keys().collect::<Vec<_>>()
        );
        assert_eq!(record.headers["x-github-delivery"], "kept");
    }

    /// Purge deletes finished records past the retention, never active
    /// ones, and keeps their replay keys for the key retention.
    pub async fn purge_keeps_the_dedup_key(store: impl InboxStore) {
        let done_id = accepted(&store, delivery("evt_done")).await;
        let leased = lease_one(&store).await;
        assert_eq!(settle(&store, &leased, Settle::Done).await, Settled::Applied);
        let pending_id = accepted(&store, delivery("evt_pending")).await;
        // Past the millisecond the record finished in.
        tokio::time::sleep(Duration::from_millis(20)).await;

        let keep_keys = Retention {
            records: Duration::ZERO,
            keys: Duration::from_secs(3600),
        };
        let purged = within(store.purge(keep_keys)).await.expect("purge");
        assert_eq!((purged.records, purged.keys), (1, 0));
        assert!(
            within(store.get(done_id)).await.expect("get").is_none(),
            "the done record is purged"
        );
        assert_eq!(state_of(&store, pending_id).await, State::Pending);
        // The sender's late retry is still a duplicate.
        match enqueue(&store, delivery("evt_done")).await {
            Enqueued::Duplicate {
                record: None,
                state: None,
            } => {}
            other => panic!("expected a duplicate of a purged record, got {other:?}"),
        }

        let purged = within(store.purge(Retention::both(Duration::ZERO)))
            .await
            .expect("purge");
        assert_eq!(
            (purged.records, purged.keys),
            (0, 1),
            "only the purged record's key goes"
        );
        duplicate_in(&store, delivery("evt_pending"), Some(State::Pending)).await;
        accepted(&store, delivery("evt_done")).await;
    }

    /// Listing pages newest first with a cursor.
    pub async fn list_pages_newest_first(store: impl InboxStore) {
        let mut ids = Vec::new();
        for n in 1..=5 {
            ids.push(accepted(&store, delivery(&format!("evt_{n}"))).await);
        }
        let mut seen = Vec::new();
        let mut query = ListQuery::newest(2);
        loop {
            let page = within(store.list(query.clone())).await.expect("list");
            assert!(page.entries.len() <= 2);
            seen.extend(page.entries.iter().map(|entry| entry.id));
            match page.next {
                Some(next) => query = ListQuery::newest(2).before(next),
                None => break,
            }
        }
        ids.reverse();
        assert_eq!(seen, ids);
        let pending = within(store.list(ListQuery::newest(10).state(State::Pending)))
            .await
            .expect("list");
        assert_eq!(pending.entries.len(), 5);
        let done = within(store.list(ListQuery::newest(10).state(State::Done)))
            .await
            .expect("list");
        assert!(done.entries.is_empty());
    }

    /// A worker leases its own scheme's records only, at most its batch,
    /// oldest first; counts follow the states.
    pub async fn lease_takes_its_schemes_records_up_to_the_batch(store: impl InboxStore) {
        for n in 1..=3 {
            accepted(&store, delivery(&format!("evt_{n}"))).await;
        }
        accepted(&store, Incoming::new("elsewhere", "evt_x", "{}")).await;
        let first = lease(&store, 2, MAX).await;
        let ids: Vec<_> = first
            .iter()
            .map(|leased| leased.record.entry.event_id.as_str())
            .collect();
        assert_eq!(ids, ["evt_1", "evt_2"]);
        let rest = lease(&store, 10, MAX).await;
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].record.entry.event_id, "evt_3");
        let counts = within(store.counts()).await.expect("counts");
        assert_eq!((counts.pending, counts.running), (1, 3));
        assert_eq!(settle(&store, &rest[0], Settle::Done).await, Settled::Applied);
        let counts = within(store.counts()).await.expect("counts");
        assert_eq!((counts.pending, counts.running, counts.done), (1, 2, 1));
    }

    /// A durable store: what was stored, its state and its keys survive
    /// closing the store and opening it again.
    pub async fn records_survive_reopening<S, F, Fut>(store: S, reopen: F)
    where
        S: InboxStore,
        F: FnOnce(S) -> Fut,
        Fut: Future<Output = S>,
    {
        let done_id = accepted(&store, delivery("evt_done")).await;
        let leased = lease_one(&store).await;
        assert_eq!(settle(&store, &leased, Settle::Done).await, Settled::Applied);
        let body = Bytes::from_static(b"\xff\x00 not utf-8");
        let pending_id = accepted(&store, Incoming::new(SCHEME, "evt_pending", body.clone())).await;

        let store = reopen(store).await;
        assert_eq!(state_of(&store, done_id).await, State::Done);
        duplicate_in(&store, delivery("evt_done"), Some(State::Done)).await;
        let leased = lease_one(&store).await;
        assert_eq!(leased.record.entry.id, pending_id);
        assert_eq!(leased.record.body, body);
    }
}

/// The `skip_unless` of [`inbox_conformance!`](crate::inbox_conformance) when none is given.
#[doc(hidden)]
pub fn always() -> bool {
    true
}

/// One `#[tokio::test]` per case of [`testing::inbox`](crate::testing::inbox)
/// for the store `$make().await` builds, in a module named `$name`; with
/// `reopen = $reopen`, also [`records_survive_reopening`](crate::testing::inbox::cases::records_survive_reopening)
/// with `$reopen(store).await` reopening it. With `skip_unless = $ready`,
/// each test first calls `$ready()` and returns at once when it says
/// `false` (a store whose server is not configured; `$ready` says so).
#[macro_export]
macro_rules! inbox_conformance {
    ($name:ident, $make:expr) => {
        $crate::inbox_conformance!(@module $name, $make, $crate::testing::inbox::always, {});
    };
    ($name:ident, $make:expr, reopen = $reopen:expr) => {
        $crate::inbox_conformance!($name, $make, reopen = $reopen, skip_unless = $crate::testing::inbox::always);
    };
    ($name:ident, $make:expr, reopen = $reopen:expr, skip_unless = $ready:expr) => {
        $crate::inbox_conformance!(@module $name, $make, $ready, {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn records_survive_reopening() {
                if !$ready() {
                    return;
                }
                $crate::testing::inbox::cases::records_survive_reopening($make().await, $reopen).await;
            }
        });
    };
    (@module $name:ident, $make:expr, $ready:expr, { $($extra:tt)* }) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $crate::inbox_conformance!(@cases $make, $ready;
                enqueue_dedups_on_every_key_in_every_state,
                concurrent_enqueues_of_one_key_accept_exactly_one,
                leased_record_is_invisible_until_its_lease_expires,
                stale_token_cannot_settle,
                heartbeat_extends_the_lease,
                retry_is_not_leasable_before_its_delay,
                attempts_counted_at_lease_end_in_dead_after_the_maximum,
                release_does_not_charge_the_attempt,
                dead_records_list_requeue_and_still_dedup,
                bodies_and_headers_round_trip_byte_for_byte,
                credentials_are_never_stored,
                purge_keeps_the_dedup_key,
                list_pages_newest_first,
                lease_takes_its_schemes_records_up_to_the_batch,
            );
            $($extra)*
        }
    };
    (@cases $make:expr, $ready:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                if !$ready() {
                    return;
                }
                $crate::testing::inbox::cases::$case($make().await).await;
            }
        )*
    };
}
