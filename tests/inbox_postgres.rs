//! `PostgresInbox` beyond the conformance suite: races that only a server
//! shows, replicas leasing side by side, wake-ups through LISTEN/NOTIFY, the
//! handler's own transaction settling the record, the round trips, and a
//! server stopped and started mid-way (on a cluster of the test's own).
//!
//! Needs the `postgres` feature and a server at `POSTGRES_TEST_URL` (skipped
//! with a note when unset; `.ci/run` starts one); the restart test needs
//! PostgreSQL's programs instead (`initdb`, `pg_ctl`).

mod postgres_support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use tower_webhook::inbox::{Enqueued, InboxStore, Incoming, Leased, PostgresInbox, Settle, Settled, State};
use tower_webhook::scheme::Spec;
use tower_webhook::testing::signed_request;
use tower_webhook::Secret;

use postgres_support::cluster::Cluster;

const SCHEME: &str = "petstore";
const SECRET: &str = "petstore-article-secret-0123456789";
const LEASE: Duration = Duration::from_millis(600);

/// The source article's event with id `id`, signed as the Petstore sender
/// signs it (`X-Petstore-Signature`: hex HMAC-SHA256 of the raw body).
fn delivery(id: &str) -> Incoming {
    let body = format!(
        r#"{{"id":"{id}","type":"order.completed","created":1710331200,"data":{{"orderId":"123","status":"completed","completedAt":"2024-01-01T12:00:00Z"}}}}"#
    );
    let scheme = Spec::petstore(Secret::new(SECRET).expect("secret"));
    let request: Request<Bytes> = signed_request(&scheme, body.clone(), id);
    let (parts, body) = request.into_parts();
    Incoming::new(SCHEME, id, body)
        .with_event_type(Some("order.completed".to_owned()))
        .with_request(parts.method, "/webhooks".parse().expect("uri"), parts.headers)
}

/// Bounds a store call: a hung store fails the test instead of hanging it.
async fn within<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .expect("answered within 20 s")
}

async fn accepted(store: &PostgresInbox, delivery: Incoming) -> tower_webhook::inbox::RecordId {
    match within(store.enqueue(delivery)).await.expect("enqueue") {
        Enqueued::Accepted(id) => id,
        other => panic!("expected the delivery to be accepted, got {other:?}"),
    }
}

async fn lease_one(store: &PostgresInbox) -> Leased {
    let mut leased = within(store.lease(SCHEME, 1, LEASE, 8)).await.expect("lease");
    assert_eq!(leased.len(), 1, "one record to lease");
    leased.remove(0)
}

/// An error and its sources, as one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(next) = source {
        text.push_str(": ");
        text.push_str(&next.to_string());
        source = next.source();
    }
    text
}

/// The test server's URL, or `None` when the tests are skipped.
fn server() -> Option<String> {
    postgres_support::url()
}

/// A racing enqueue that inserted its own event id but found its extra key
/// taken by a transaction still open: the foreign key refuses the partial
/// insert, the statement runs again, and the delivery is a duplicate with
/// nothing of it kept (its event id is still fresh afterwards).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_key_race_keeps_nothing_and_answers_duplicate() {
    let Some(url) = server() else { return };
    let store = postgres_support::fresh().await;
    let schema = store.schema().to_owned();
    // Another writer holds the key `sig:shared` in an open transaction.
    let blocker = postgres_support::raw_client(&url).await;
    blocker.batch_execute("BEGIN").await.unwrap();
    blocker
        .batch_execute(&format!(
            "INSERT INTO \"{schema}\".inbox_records (id, scheme, event_id, method, uri, headers, body, received_at, state, due_at) \
             VALUES (nextval('\"{schema}\".inbox_record_ids'), '{SCHEME}', 'evt_blocker', 'POST', '/webhooks', '\\x01', '', now(), 'pending', now()); \
             INSERT INTO \"{schema}\".inbox_keys (scheme, key, record_id, stored_at) \
             VALUES ('{SCHEME}', 'sig:shared', currval('\"{schema}\".inbox_record_ids'), now())"
        ))
        .await
        .unwrap();

    let before = store.statements();
    let racing = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .enqueue(delivery("evt_racer").with_replay_key(Some("sig:shared".to_owned())))
                .await
        })
    };
    // Wait until the enqueue is blocked on the key, then let the holder commit.
    let watcher = postgres_support::raw_client(&url).await;
    within(async {
        loop {
            let waiting: i64 = watcher
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'WITH known AS%'",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            if waiting > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    blocker.batch_execute("COMMIT").await.unwrap();

    let answer = within(racing).await.unwrap().expect("enqueue");
    assert!(
        matches!(
            answer,
            Enqueued::Duplicate {
                state: Some(State::Pending),
                record: Some(_)
            }
        ),
        "{answer:?}"
    );
    assert_eq!(store.statements() - before, 2, "the statement ran twice");
    // Nothing of the refused delivery was kept: its own id is fresh.
    accepted(&store, delivery("evt_racer")).await;
    let counts = within(store.counts()).await.unwrap();
    assert_eq!(counts.pending, 2, "the blocker's record and evt_racer's");
}

/// Two stores on one database, as two replicas: leasing side by side, in
/// batches, they never take the same record, and together take them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_lease_disjoint_batches() {
    if server().is_none() {
        return;
    }
    let first = postgres_support::fresh().await;
    let second = postgres_support::open(first.schema()).await;
    for n in 0..200 {
        accepted(&first, delivery(&format!("evt_{n}"))).await;
    }
    let lease_all = |store: PostgresInbox| {
        tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let batch = within(store.lease(SCHEME, 7, Duration::from_secs(60), 8))
                    .await
                    .expect("lease");
                if batch.is_empty() {
                    return ids;
                }
                ids.extend(batch.iter().map(|leased| leased.record.entry.id));
            }
        })
    };
    let (a, b) = (lease_all(first.clone()), lease_all(second));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let all: HashSet<_> = a.iter().chain(&b).copied().collect();
    assert_eq!(a.len() + b.len(), 200, "leased {} + {}", a.len(), b.len());
    assert_eq!(all.len(), 200, "a record was leased twice");
    assert!(
        !a.is_empty() && !b.is_empty(),
        "both replicas leased: {} and {}",
        a.len(),
        b.len()
    );
    assert_eq!(within(first.counts()).await.unwrap().running, 200);
}

/// A worker waiting on one replica is woken by a delivery stored through
/// another, long before its poll; and one that missed the notification
/// between its lease and its wait returns at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_replicas_enqueue_wakes_a_waiting_worker() {
    if server().is_none() {
        return;
    }
    let sender = postgres_support::fresh().await;
    let worker = postgres_support::open(sender.schema()).await;
    let poll = Duration::from_secs(3600);
    // The listener reconnects in the background; wait until it listens.
    let listening = || async {
        loop {
            let _ = worker.lease(SCHEME, 10, LEASE, 8).await;
            sender
                .enqueue(delivery(&format!("evt_{}", rand::random::<u64>())))
                .await
                .unwrap();
            if tokio::time::timeout(Duration::from_millis(500), worker.wait_for_work(poll))
                .await
                .is_ok()
            {
                return;
            }
        }
    };
    within(listening()).await;

    // Woken while waiting (the records of the loop above leased first).
    within(worker.lease(SCHEME, 100, LEASE, 8)).await.unwrap();
    let empty = within(worker.lease(SCHEME, 100, LEASE, 8)).await.unwrap();
    assert!(empty.is_empty());
    let waiting = {
        let worker = worker.clone();
        tokio::spawn(async move { worker.wait_for_work(poll).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    accepted(&sender, delivery("evt_wake")).await;
    tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("woken by the notification, not the hour-long poll")
        .unwrap();
    let leased = within(worker.lease(SCHEME, 10, LEASE, 8)).await.unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!(leased[0].record.entry.event_id, "evt_wake");

    // Notified between the lease and the wait: no wait at all.
    assert!(within(worker.lease(SCHEME, 10, LEASE, 8))
        .await
        .unwrap()
        .is_empty());
    accepted(&sender, delivery("evt_between")).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    tokio::time::timeout(Duration::from_secs(10), worker.wait_for_work(poll))
        .await
        .expect("the notification that came after the lease wakes the wait at once");
}

/// Enqueue, a leased batch and a settle are one statement each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_statement_per_enqueue_per_batch_and_per_settle() {
    if server().is_none() {
        return;
    }
    let store = postgres_support::fresh().await;
    let before = store.statements();
    for n in 0..5 {
        accepted(&store, delivery(&format!("evt_{n}"))).await;
    }
    assert_eq!(store.statements() - before, 5);
    let before = store.statements();
    let batch = within(store.lease(SCHEME, 5, LEASE, 8)).await.unwrap();
    assert_eq!(batch.len(), 5);
    assert_eq!(store.statements() - before, 1);
    let before = store.statements();
    for leased in &batch {
        let settled = within(store.settle(leased.record.entry.id, leased.token, Settle::Done))
            .await
            .unwrap();
        assert_eq!(settled, Settled::Applied);
    }
    assert_eq!(store.statements() - before, 5);
}

/// Settles that come together share a statement, and each still gets its
/// own answer: a stale token is stale, and of two settles of one record
/// only the first applies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_settles_share_statements_and_keep_their_answers() {
    if server().is_none() {
        return;
    }
    let store = postgres_support::fresh().await;
    for n in 0..64 {
        accepted(&store, delivery(&format!("evt_{n}"))).await;
    }
    let leased = within(store.lease(SCHEME, 64, Duration::from_secs(60), 8))
        .await
        .unwrap();
    assert_eq!(leased.len(), 64);
    let stale = tower_webhook::inbox::LeaseToken::new(leased[0].token.get() + 100);
    let mut calls = Vec::new();
    for (n, held) in leased.iter().enumerate() {
        let outcome = match n % 3 {
            0 => Settle::Done,
            1 => Settle::Retry {
                after: Duration::from_secs(60),
                error: "handler answered 500".to_owned(),
            },
            _ => Settle::Dead {
                reason: "order event without an orderId".to_owned(),
            },
        };
        calls.push((held.record.entry.id, held.token, outcome));
    }
    // The first record twice (Done, then Release), and once under a token it never had.
    calls.push((leased[0].record.entry.id, leased[0].token, Settle::Release));
    calls.push((leased[0].record.entry.id, stale, Settle::Done));
    let before = store.statements();
    // Polled in order, so the settles queue in this order.
    let settles = calls
        .iter()
        .map(|(id, token, outcome)| store.settle(*id, *token, outcome.clone()))
        .collect();
    let answers: Vec<Settled> = within(futures_join(settles))
        .await
        .into_iter()
        .map(|answer| answer.expect("settle"))
        .collect();
    let used = store.statements() - before;
    eprintln!("66 settles in {used} statements");
    assert!(used < 66, "{used} statements for 66 concurrent settles");
    for (n, answer) in answers.iter().enumerate().take(64) {
        assert_eq!(*answer, Settled::Applied, "settle {n}");
    }
    assert_eq!(answers[64], Settled::Stale, "a second settle of a settled record");
    assert_eq!(answers[65], Settled::Stale, "a token the record never had");
    let counts = within(store.counts()).await.unwrap();
    assert_eq!(
        (counts.done, counts.retrying, counts.dead, counts.running),
        (22, 21, 21, 0)
    );
    let retried = within(store.get(leased[1].record.entry.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(retried.entry.last_error.as_deref(), Some("handler answered 500"));
    assert_eq!(retried.entry.attempts, 1);
}

/// Polls every future in `futures` together; their outputs in order.
async fn futures_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|output| output.expect("ready")).collect()
}

/// PostgreSQL text holds no NUL: such an id is refused with an error (the
/// layer's 503), never stored half; a failure text has its NULs replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_bytes_in_ids_are_refused_and_in_errors_replaced() {
    if server().is_none() {
        return;
    }
    let store = postgres_support::fresh().await;
    let error = within(store.enqueue(Incoming::new(SCHEME, "evt\0nul", "{}")))
        .await
        .expect_err("a NUL in the id is refused");
    let text = chain(&error);
    assert!(text.contains("NUL"), "{text}");
    assert_eq!(within(store.counts()).await.unwrap().pending, 0);

    let id = accepted(&store, delivery("evt_1")).await;
    let leased = lease_one(&store).await;
    let dead = Settle::Dead {
        reason: "handler panicked: bad\0byte".to_owned(),
    };
    assert_eq!(
        within(store.settle(id, leased.token, dead)).await.unwrap(),
        Settled::Applied
    );
    let record = within(store.get(id)).await.unwrap().expect("stored");
    assert_eq!(
        record.entry.last_error.as_deref(),
        Some("handler panicked: bad\u{fffd}byte")
    );
}

/// A schema and table prefix of one's own; opening again (the migration
/// runs again) keeps what was stored; without `create_tables`, missing
/// tables are an error at open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_and_prefix_are_configurable_and_the_migration_idempotent() {
    let Some(url) = server() else { return };
    let schema = postgres_support::fresh_schema();
    let open = |prefix: &str, create: bool| {
        PostgresInbox::builder(url.parse().unwrap())
            .schema(schema.clone())
            .table_prefix(prefix)
            .pool_size(2)
            .create_tables(create)
            .open()
    };
    let shop = within(open("shop_", true)).await.expect("open");
    let id = accepted(&shop, delivery("evt_1")).await;
    let again = within(open("shop_", true)).await.expect("open again");
    assert_eq!(
        within(again.get(id)).await.unwrap().expect("kept").entry.event_id,
        "evt_1"
    );
    let existing = within(open("shop_", false)).await.expect("tables exist");
    assert_eq!(within(existing.counts()).await.unwrap().pending, 1);
    // Another prefix is another inbox in the same schema.
    let billing = within(open("billing_", true)).await.expect("open");
    accepted(&billing, delivery("evt_1")).await;

    let missing = within(open("missing_", false)).await.expect_err("no tables");
    let text = chain(&missing);
    assert!(text.contains("does not exist"), "{text}");

    let raw = postgres_support::raw_client(&url).await;
    let tables: Vec<String> = raw
        .query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1",
            &[&schema],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        tables,
        [
            "billing_inbox_keys",
            "billing_inbox_records",
            "shop_inbox_keys",
            "shop_inbox_records"
        ]
    );
    // The migration as text, run by hand inside a transaction: idempotent too.
    let sql = PostgresInbox::migration_sql(&schema, "shop_").unwrap();
    raw.batch_execute(&format!("BEGIN; {sql} COMMIT;")).await.unwrap();
    assert_eq!(within(shop.counts()).await.unwrap().pending, 1);

    let bad = PostgresInbox::builder(url.parse().unwrap())
        .schema("bad\"name")
        .open();
    let error = within(bad).await.expect_err("a quote in the schema");
    assert!(std::error::Error::source(&error)
        .unwrap()
        .to_string()
        .contains("invalid schema"));
}

/// Replicas that start together all run the migration on a new schema at
/// once: the advisory lock lets one create the tables, the others find them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_opening_together_share_one_migration() {
    if server().is_none() {
        return;
    }
    let schema = postgres_support::fresh_schema();
    let opening: Vec<_> = (0..6)
        .map(|_| {
            let schema = schema.clone();
            tokio::spawn(async move { postgres_support::open(&schema).await })
        })
        .collect();
    let mut stores = Vec::new();
    for store in opening {
        stores.push(within(store).await.expect("opened"));
    }
    let id = accepted(&stores[0], delivery("evt_1")).await;
    assert_eq!(
        within(stores[5].get(id)).await.unwrap().unwrap().entry.event_id,
        "evt_1"
    );
}

/// The `orders` table of the exactly-once pattern, in the test's schema.
async fn orders(url: &str, schema: &str) -> tower_webhook::inbox::tokio_postgres::Client {
    let raw = postgres_support::raw_client(url).await;
    raw.batch_execute(&format!(
        "CREATE TABLE \"{schema}\".orders (event_id text PRIMARY KEY, order_id text NOT NULL, status text NOT NULL)"
    ))
    .await
    .unwrap();
    raw
}

async fn order_count(raw: &tower_webhook::inbox::tokio_postgres::Client, schema: &str) -> i64 {
    raw.query_one(&format!("SELECT count(*) FROM \"{schema}\".orders"), &[])
        .await
        .unwrap()
        .get(0)
}

fn insert_order(schema: &str) -> String {
    format!("INSERT INTO \"{schema}\".orders (event_id, order_id, status) VALUES ($1, '123', 'completed')")
}

/// The handler's effect and the "done" mark commit in one transaction; the
/// worker's own settle afterwards finds the record settled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn effect_and_done_mark_commit_together() {
    let Some(url) = server() else { return };
    let store = postgres_support::fresh().await;
    let schema = store.schema().to_owned();
    let raw = orders(&url, &schema).await;
    let id = accepted(&store, delivery("evt_1")).await;
    let leased = lease_one(&store).await;

    let settlement = store.settlement(id, leased.token);
    assert_eq!(settlement.committed(), None);
    let tx = within(settlement.begin()).await.expect("begin");
    tx.execute(&insert_order(&schema), &[&"evt_1"]).await.unwrap();
    // Not visible outside before the commit, nor is the record done.
    assert_eq!(order_count(&raw, &schema).await, 0);
    assert_eq!(
        within(store.get(id)).await.unwrap().unwrap().entry.state,
        State::Running
    );
    assert_eq!(within(tx.commit(Settle::Done)).await.unwrap(), Settled::Applied);

    assert_eq!(order_count(&raw, &schema).await, 1);
    assert_eq!(
        within(store.get(id)).await.unwrap().unwrap().entry.state,
        State::Done
    );
    assert_eq!(settlement.committed(), Some(Settle::Done));
    // The worker settles by the handler's 2xx afterwards: already settled.
    assert_eq!(
        within(store.settle(id, leased.token, Settle::Done))
            .await
            .unwrap(),
        Settled::Stale
    );
}

/// A transaction rolled back, or dropped unfinished, keeps no effect and
/// marks nothing: the record stays running and is retried after its lease.
/// The connection goes back to the pool outside any transaction (with a
/// pool of one, the next enqueue commits and another replica sees it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolled_back_or_dropped_transaction_keeps_nothing() {
    let Some(url) = server() else { return };
    let schema = postgres_support::fresh_schema();
    let store = within(
        PostgresInbox::builder(url.parse().unwrap())
            .schema(schema.clone())
            .pool_size(1)
            .open(),
    )
    .await
    .expect("open");
    let other = postgres_support::open(&schema).await;
    let raw = orders(&url, &schema).await;
    let id = accepted(&store, delivery("evt_1")).await;
    let leased = lease_one(&store).await;
    let settlement = store.settlement(id, leased.token);

    let tx = within(settlement.begin()).await.expect("begin");
    tx.execute(&insert_order(&schema), &[&"evt_1"]).await.unwrap();
    within(tx.rollback()).await.expect("rollback");
    assert_eq!(order_count(&raw, &schema).await, 0);

    let tx = within(settlement.begin()).await.expect("begin");
    tx.execute(&insert_order(&schema), &[&"evt_1"]).await.unwrap();
    drop(tx);
    assert_eq!(order_count(&raw, &schema).await, 0);
    assert_eq!(settlement.committed(), None);
    assert_eq!(
        within(store.get(id)).await.unwrap().unwrap().entry.state,
        State::Running
    );

    // The pool's one connection is clean: this enqueue is committed.
    let second = accepted(&store, delivery("evt_2")).await;
    assert_eq!(
        within(other.get(second)).await.unwrap().unwrap().entry.state,
        State::Pending
    );

    // After its lease the record is taken over, its attempt counted again.
    tokio::time::sleep(LEASE + Duration::from_millis(300)).await;
    let again = within(other.lease(SCHEME, 10, LEASE, 8)).await.unwrap();
    let again = again
        .iter()
        .find(|l| l.record.entry.id == id)
        .expect("taken over");
    assert_eq!(again.record.entry.attempts, 2);
}

/// A handler whose lease was taken over cannot commit: its effect is
/// rolled back with the settle, and the current holder's commits once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_token_cannot_commit_and_its_effect_is_rolled_back() {
    let Some(url) = server() else { return };
    let store = postgres_support::fresh().await;
    let schema = store.schema().to_owned();
    let raw = orders(&url, &schema).await;
    let id = accepted(&store, delivery("evt_1")).await;
    let stale = lease_one(&store).await;
    tokio::time::sleep(LEASE + Duration::from_millis(300)).await;
    let current = lease_one(&store).await;
    assert_ne!(stale.token, current.token);

    let late = store.settlement(id, stale.token);
    let tx = within(late.begin()).await.expect("begin");
    tx.execute(&insert_order(&schema), &[&"evt_1"]).await.unwrap();
    assert_eq!(within(tx.commit(Settle::Done)).await.unwrap(), Settled::Stale);
    assert_eq!(
        order_count(&raw, &schema).await,
        0,
        "the stale effect was rolled back"
    );
    assert_eq!(late.committed(), None);
    assert_eq!(
        within(store.get(id)).await.unwrap().unwrap().entry.state,
        State::Running
    );

    let holder = store.settlement(id, current.token);
    let tx = within(holder.begin()).await.expect("begin");
    tx.execute(&insert_order(&schema), &[&"evt_1"]).await.unwrap();
    assert_eq!(within(tx.commit(Settle::Done)).await.unwrap(), Settled::Applied);
    assert_eq!(order_count(&raw, &schema).await, 1);
    assert_eq!(
        within(store.get(id)).await.unwrap().unwrap().entry.state,
        State::Done
    );
}

/// An effect that fails (here, the order exists already) fails the commit;
/// nothing is marked, and the worker settles by the handler's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_effect_fails_the_commit_and_marks_nothing() {
    let Some(url) = server() else { return };
    let store = postgres_support::fresh().await;
    let schema = store.schema().to_owned();
    let raw = orders(&url, &schema).await;
    raw.execute(&insert_order(&schema), &[&"evt_1"]).await.unwrap();
    let id = accepted(&store, delivery("evt_1")).await;
    let leased = lease_one(&store).await;

    let settlement = store.settlement(id, leased.token);
    let tx = within(settlement.begin()).await.expect("begin");
    let insert = tx.execute(&insert_order(&schema), &[&"evt_1"]).await;
    assert!(insert.is_err(), "the order exists already");
    assert!(
        within(tx.commit(Settle::Done)).await.is_err(),
        "the transaction failed"
    );
    assert_eq!(settlement.committed(), None);
    assert_eq!(
        within(store.get(id)).await.unwrap().unwrap().entry.state,
        State::Running
    );
    let retry = Settle::Retry {
        after: Duration::ZERO,
        error: "handler answered 500".to_owned(),
    };
    assert_eq!(
        within(store.settle(id, leased.token, retry)).await.unwrap(),
        Settled::Applied
    );
}

/// The server stops mid-way: enqueues fail closed (an error, which the
/// layer answers 503) and so does a worker's settle; once the server is
/// back, the pool reconnects and enqueues work again; the lease the worker
/// held when its connections died expires and another replica takes the
/// record over (the old token can no longer settle it); the listener is
/// back too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restart_fails_enqueues_closed_then_recovers() {
    let Some(cluster) = Cluster::start() else { return };
    let open = || {
        PostgresInbox::builder(cluster.url().parse().unwrap())
            .pool_size(4)
            .timeout(Duration::from_secs(2))
            .open()
    };
    let worker = Arc::new(within(open()).await.expect("open"));
    let replica = within(open()).await.expect("open");
    let id = accepted(&worker, delivery("evt_1")).await;
    let held = within(worker.lease(SCHEME, 1, Duration::from_secs(2), 8))
        .await
        .unwrap();
    assert_eq!(held.len(), 1);

    cluster.stop();
    let error = within(worker.enqueue(delivery("evt_2")))
        .await
        .expect_err("an enqueue while the server is down fails");
    assert_eq!(error.to_string(), "inbox store unavailable");
    assert!(within(worker.settle(id, held[0].token, Settle::Done))
        .await
        .is_err());
    assert!(within(worker.settlement(id, held[0].token).begin())
        .await
        .is_err());

    cluster.restart();
    let mut failures = 0;
    let second = within(async {
        loop {
            match worker.enqueue(delivery("evt_2")).await {
                Ok(Enqueued::Accepted(id)) => return id,
                Ok(other) => panic!("evt_2 was never stored, got {other:?}"),
                Err(_) => {
                    failures += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    })
    .await;
    eprintln!("enqueues that failed after the restart before the pool reconnected: {failures}");

    // The worker's lease lapses; the other replica takes the record over.
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let taken = within(replica.lease(SCHEME, 10, LEASE, 8)).await.unwrap();
    let ids: HashSet<_> = taken.iter().map(|leased| leased.record.entry.id).collect();
    assert_eq!(ids, HashSet::from([id, second]));
    let over = taken.iter().find(|leased| leased.record.entry.id == id).unwrap();
    assert_eq!(over.record.entry.attempts, 2);
    assert_eq!(
        within(worker.settle(id, held[0].token, Settle::Done))
            .await
            .unwrap(),
        Settled::Stale
    );
    assert_eq!(
        within(replica.settle(id, over.token, Settle::Done))
            .await
            .unwrap(),
        Settled::Applied
    );

    // The replica's listener reconnected: a delivery through the worker wakes it.
    within(async {
        loop {
            let _ = replica.lease(SCHEME, 10, LEASE, 8).await;
            let _ = worker
                .enqueue(delivery(&format!("evt_{}", rand::random::<u64>())))
                .await;
            if tokio::time::timeout(
                Duration::from_millis(500),
                replica.wait_for_work(Duration::from_secs(3600)),
            )
            .await
            .is_ok()
            {
                return;
            }
        }
    })
    .await;
    within(replica.lease(SCHEME, 100, LEASE, 8)).await.unwrap();
    let waiting = {
        let replica = replica.clone();
        tokio::spawn(async move { replica.wait_for_work(Duration::from_secs(3600)).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    accepted(&worker, delivery("evt_after")).await;
    tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the reconnected listener wakes the replica")
        .unwrap();
}
