//! The durable inbox: verify, store, acknowledge at once, then process with
//! retries.
//!
//! In the synchronous mode every guarantee is borrowed from the sender: an
//! event is safe while the sender keeps its connection open and retries
//! when told to. Senders stop waiting after a few seconds (LINE 2 s, Slack
//! and Zoom 3 s, Shopify 5 s, GitHub 10 s), some never retry (GitHub), and a
//! process that dies mid-handler loses the work in progress. **Inbox mode**
//! ([`WebhookLayer::inbox`](crate::WebhookLayer::inbox)) stores every
//! verified delivery durably, acknowledges it at once, and lets an
//! [`InboxWorker`] run the handler with retries:
//!
//! ```text
//! sender ──POST──▶ WebhookLayer (inbox mode)
//!                   0–3 as in the synchronous mode: shed, limit, buffer, verify
//!                       (handshakes are answered by the layer and never stored)
//!                   4. store: InboxStore::enqueue (raw bytes, request line, headers minus
//!                      credentials, id, type, scheme), unique on every replay key, durable
//!                      before it returns → 200 {"received":true}
//!                      known already, in any state → the same 2xx, {"duplicate":true}
//!                      store failed → 503 + Retry-After (nothing acknowledged)
//! InboxWorker ◀─ lease (attempt += 1, lease token) ── InboxStore
//!    runs the same inner service on the stored request, rebuilt byte for byte
//!    settle (fenced by the token): 2xx → done; permanent / does not fit → dead;
//!    else → retry after backoff with jitter, dead after the maximum attempts or age
//! ```
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use axum::{body::Body, routing::post, Router};
//! use http::StatusCode;
//! use tower::ServiceExt;
//! use tower_webhook::inbox::{InboxStore, InboxWorker, MemoryInbox};
//! use tower_webhook::{extract::Webhook, scheme::Spec, testing, Event, Secret, WebhookLayer};
//!
//! async fn orders(Webhook { event, .. }: Webhook<Event<serde_json::Value>>) {
//!     println!("order {} is {}", event.data["orderId"], event.data["status"]);
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let scheme = Spec::petstore(Secret::new("petstore secret")?);
//! // `SqliteInbox::open("inbox.sqlite3")?` (feature `sqlite`) to be durable.
//! let store = Arc::new(MemoryInbox::new());
//! let layer = WebhookLayer::new(scheme.clone()).inbox(Arc::clone(&store));
//! // The handlers alone: the worker runs them; the layer goes in front for the sender.
//! let handlers = Router::new().route("/webhooks", post(orders));
//! let app = handlers.clone().layer(layer.clone());
//! let worker = InboxWorker::<Body, _>::new(&layer, handlers)?.spawn();
//!
//! let body = r#"{"id":"evt_123","type":"order.completed","created":1710331200,"data":{"orderId":"123","status":"completed","completedAt":"2024-01-01T12:00:00Z"}}"#;
//! let response = app.oneshot(testing::signed_request::<Body>(&scheme, body, "evt_123")).await?;
//! assert_eq!(response.status(), StatusCode::OK); // {"received":true}, before the handler ran
//!
//! while store.counts().await?.done == 0 {
//!     tokio::time::sleep(Duration::from_millis(5)).await;
//! }
//! worker.drain(Duration::from_secs(5)).await;
//! # Ok(())
//! # }
//! ```
//!
//! # The two modes
//!
//! | | synchronous | inbox |
//! |---|---|---|
//! | the sender's 2xx means | the handler succeeded | the delivery is stored durably |
//! | who calls the handler | the layer, in the request | an [`InboxWorker`], after the answer |
//! | dedup | the [`ReplayGuard`](crate::ReplayGuard) (`LruGuard`, `RedisGuard`) | the store's unique replay keys |
//! | in flight in another request | `409` with `Retry-After` | `200 {"duplicate":true}` |
//! | handler fails, panics, times out | non-2xx: the sender retries | the worker retries with backoff |
//! | never processable | a [dead letter](crate::dead_letter), `200` | a dead record, with its reason |
//! | process dies mid-handler | the sender's retry, if it retries | the lease lapses; the record is taken over |
//! | pick it when | the handler must answer the sender (Twilio's TwiML, a Slack command's reply) | the sender times out quickly, never retries, or the handler is slow |
//!
//! The replay guard, the dead-letter sink and
//! [`decode_as`](crate::WebhookLayer::decode_as) are not used in inbox mode;
//! a dead record can be exported as a [`DeadLetter`](crate::dead_letter::DeadLetter)
//! from [`Record::to_request`]'s parts if you keep letters elsewhere.
//!
//! # Status codes in inbox mode
//!
//! | situation | status | handler called |
//! |---|---|---|
//! | body over the limit, body timeout, bad framing, bad signature, shed, shutting down | as in the synchronous mode (413, 408, 400, 401, 503) | no |
//! | handshake (Slack, Zoom, Twitch, Discord PING, Meta GET) | answered by the layer, never stored | no |
//! | verified and stored | 200 `{"received":true}` ([configurable 2xx](crate::WebhookLayer::inbox_ack_status)) | later, by the worker |
//! | the inbox knows the event (pending, running, retrying, done or dead; or purged with its key kept) | the same 2xx, `{"duplicate":true}` | no |
//! | the store failed ([`Rejection::InboxUnavailable`](crate::Rejection::InboxUnavailable)) | 503 with `Retry-After` | no |
//!
//! # Guarantees, and their limits
//!
//! - **Acknowledged means stored.** The layer answers 2xx only once
//!   [`InboxStore::enqueue`] returned: for `SqliteInbox`, the transaction is
//!   committed with `synchronous=FULL`, so the delivery survives a crash, a
//!   `kill -9` and a power cut. It does not survive losing the disk: back the
//!   file up.
//! - **At least once to the handler.** The attempt is counted when a worker
//!   leases the record; a worker that dies mid-handler leaves the record
//!   running until its lease lapses ([`InboxWorker::lease_time`]), then it
//!   is run again. So a handler may run twice for one event when its
//!   process dies between its side effect and the settle: make effects
//!   idempotent by event id, or commit them with the settle
//!   (`SqliteInbox::settle_with`, the same database's transaction): then
//!   the effect happens **exactly once**, because a run whose lease was
//!   taken over cannot commit.
//! - **Dedup for the retention window.** A redelivery is a duplicate while
//!   the store keeps its replay key: at least [`Retention::keys`] (default
//!   7 days) after it was stored, longer than senders retry (Stripe 3 days,
//!   WhatsApp 7). Run [`InboxStore::purge`] periodically.
//! - **A crash loop ends**: attempts are counted at lease, so a record whose
//!   every attempt kills the process is dead after the maximum ("lease
//!   expired at attempt N").
//! - **Credentials are never stored**: `Authorization`,
//!   `Proxy-Authorization` and `Cookie` are dropped, as from dead letters.
//!   Signature headers are kept (they are not secret). The file holds
//!   payloads: protect it like any store of them.
//!
//! # Inbox mode: durable processing
//!
//! In the synchronous mode the sender's 2xx means "the handler succeeded", and every guarantee is borrowed from the sender: it must keep its connection open and retry when told to. Real senders stop waiting after a few seconds (LINE 2 s, Slack and Zoom 3 s, Shopify 5 s, GitHub 10 s), GitHub never redelivers by itself, and a process that dies mid-handler loses the work in progress. Inbox mode stores every verified delivery before acknowledging it, then processes it from a worker:
//!
//! ```rust,no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use axum::{body::Body, routing::post, Router};
//! use tower_webhook::inbox::{InboxWorker, SqliteInbox};
//! use tower_webhook::{extract::Webhook, scheme::GitHub, Secret, WebhookLayer};
//!
//! async fn on_event(Webhook { event, .. }: Webhook<serde_json::Value>) {
//!     println!("{}", event["action"]);
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let store = Arc::new(SqliteInbox::open("inbox.sqlite3")?);
//!     let layer = WebhookLayer::new(GitHub::new(Secret::new("It's a Secret to Everybody")?)).inbox(Arc::clone(&store));
//!     // The worker runs the handlers; the layer goes in front of them for the sender.
//!     let handlers = Router::new().route("/webhooks", post(on_event));
//!     let worker = InboxWorker::<Body, _>::new(&layer, handlers.clone())?.max_attempts(8).spawn();
//!     let app = handlers.layer(layer);
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     axum::serve(listener, app)
//!         .with_graceful_shutdown(async { tokio::signal::ctrl_c().await.unwrap_or(()) })
//!         .await?;
//!     // Running handlers finish; the rest are released for the next start, uncharged.
//!     worker.drain(Duration::from_secs(25)).await;
//!     Ok(())
//! }
//! ```
//!
//! `cargo run --example receiver` does the same with `INBOX_URL=sqlite:inbox.sqlite3`.
//!
//! **Which mode.** Pick inbox mode when the sender times out quickly, never retries (GitHub), or the handler is slow or calls something that fails for minutes at a time. Pick the synchronous mode when the handler must answer the sender (Twilio's TwiML, a Slack slash command's reply), or when you want the sender's dashboard to show your handler's failures.
//!
//! | | synchronous | inbox |
//! |---|---|---|
//! | the sender's 2xx means | the handler succeeded | the delivery is stored durably |
//! | dedup | the replay guard (`LruGuard`, `RedisGuard`) | the store's unique replay keys (the event id, and the scheme's extra key) |
//! | handler fails, panics, times out | non-2xx: the sender retries | the worker retries: exponential backoff with jitter (5 s, doubling, at most 1 h), up to 8 attempts within 3 days, then dead |
//! | never processable (`HandlerError::permanent`, a payload that does not fit) | a dead letter, `200` | a dead record with its reason, requeued by hand |
//! | process dies mid-handler | the sender's retry, if it retries | the record's lease lapses; the next worker takes it over |
//!
//! The replay guard, the dead-letter sink and `decode_as` are not used in inbox mode. Handshakes (Slack, Zoom, Twitch, Discord PING, Meta GET) stay synchronous and are never stored. The body limit, body timeout, load shedding and verification are unchanged.
//!
//! **Status codes in inbox mode.** Everything the layer refuses before storing is answered as in the [table above](crate#status-codes) (`413`, `408`, `400`, `401`, `503` shed). Then:
//!
//! | situation | status | handler called |
//! |---|---|---|
//! | verified and stored | 200 `{"received":true}` (`inbox_ack_status` picks another 2xx) | later, by the worker |
//! | the inbox knows the event: pending, running, retrying, done or dead (or purged, while its key is kept) | the same 2xx, `{"duplicate":true}`; never `409` | no |
//! | the store failed | 503 with `Retry-After`; nothing acknowledged | no |
//!
//! **Guarantees, and their limits.**
//! - An acknowledged delivery is on disk: `SqliteInbox` commits with WAL and `synchronous=FULL` before the layer answers, so it survives a crash, a `kill -9` and a power cut (as far as the disk keeps what it says it wrote). It does not survive the loss of the disk.
//! - The handler runs **at least once** per event. A process that dies between the handler's side effect and marking the record done runs it again after restart. Make effects idempotent by event id, or commit the effect with the settle: `SqliteInbox::settle_with(id, token, Settle::Done, |conn| ...)` runs your SQL in the same transaction as the "done" mark, and refuses it if another worker took the record over, so the effect happens **exactly once** (the worker puts the record's `id` and `token` in the request's `inbox::Attempt` extension).
//! - Dedup lasts as long as the replay keys are kept: at least the key retention (default 7 days) after the delivery was stored, longer than senders retry (Stripe 3 days, WhatsApp 7). Purge periodically (`store.purge(Retention::both(..))`; the example does it hourly with `INBOX_RETENTION_HOURS`).
//! - Attempts are counted when a worker takes a record, so an event that crashes the process every time ends dead ("lease expired at attempt N") instead of looping.
//! - `SqliteInbox` serves one machine (one writer process per file). Several replicas need a shared store (PostgreSQL, next).
//!
//! **Operating it.** The inbox is one SQLite file (with its `-wal` and `-shm` companions while open). Back it up with SQLite's own tools while the receiver runs (`sqlite3 inbox.sqlite3 ".backup backup.sqlite3"`, or `VACUUM INTO`), never by copying the file alone. Look inside with the `sqlite3` CLI:
//!
//! ```text
//! sqlite3 inbox.sqlite3 "SELECT state, count(*) FROM inbox_records GROUP BY state"   -- 0 pending, 1 running, 2 retrying, 3 done, 4 dead
//! sqlite3 inbox.sqlite3 "SELECT id, event_id, attempts, last_error FROM inbox_records WHERE state = 4"
//! ```
//!
//! Bodies are stored as BLOBs byte for byte and headers in an encoded BLOB; `Authorization`, `Proxy-Authorization` and `Cookie` are never stored. The file holds payloads: protect it like any store of them. Requeue a dead record from the example's admin page, or with `InboxStore::requeue`.

mod backoff;
// The byte-for-byte header encoding of the stores that keep records outside memory.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod encode;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
mod store;
mod worker;

pub use self::backoff::Backoff;
pub use self::memory::MemoryInbox;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use self::postgres::{
    InboxTransaction, PostgresInbox, PostgresInboxBuilder, Settlement, DEFAULT_POOL_SIZE, DEFAULT_TIMEOUT,
};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use self::sqlite::{SqliteInbox, WriteStats};
pub(crate) use self::store::ErasedInbox;
pub use self::store::{
    Counts, Enqueued, Entry, Heartbeat, InboxError, InboxStore, Incoming, LeaseToken, Leased, ListQuery,
    Page, Purged, Record, RecordId, Requeued, Retention, Settle, Settled, State,
};
pub use self::worker::{
    Attempt, InboxWorker, NotInboxMode, WorkerDrained, WorkerHandle, DEFAULT_HANDLER_BOUND, DEFAULT_LEASE,
    DEFAULT_MAX_AGE, DEFAULT_MAX_ATTEMPTS,
};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
/// The `rusqlite` crate [`SqliteInbox::settle_with`] hands its connection from.
pub use rusqlite;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
/// The `tokio-postgres` crate an [`InboxTransaction`] runs on.
pub use tokio_postgres;
