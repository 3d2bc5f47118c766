//! Receive webhooks safely: a [tower] layer that bounds and buffers the raw
//! body, verifies its signature (HMAC-SHA256 or HMAC-SHA1 in constant time,
//! Ed25519 and ECDSA P-256 behind features; several keys at once, for
//! rotation), drops replays, and answers so that the sender retries exactly
//! when it should. Each provider is a declaration over one signature engine
//! ([`scheme::Spec`]).
//!
//! A webhook sender POSTs a signed JSON event and retries until it gets a
//! 2xx. [`WebhookLayer`] sits in front of your handler and:
//!
//! 1. reads the body under a hard size limit, keeping the **exact bytes** the
//!    sender signed (never re-serialized JSON, never required to be UTF-8);
//! 2. verifies the signature with the delivery's [`Scheme`] against every
//!    configured [`Secret`], in constant time, and rejects stale or future
//!    timestamps;
//! 3. asks a [`ReplayGuard`] whether the event id is new, in flight in
//!    another request, or done; a redelivery of a processed event is
//!    acknowledged with `200` and never reaches the handler twice;
//! 4. forwards the request with a [`Verified`] extension (id, type, timestamp,
//!    raw bytes);
//! 5. runs the handler **to completion** even if the sender stops waiting,
//!    then **commits** the event id when it answered 2xx, and **releases** it
//!    when it failed, errored, panicked or timed out, so the sender's retry is
//!    processed;
//! 6. keeps a delivery the handler marks as never processable as a
//!    [dead letter](dead_letter), and acknowledges it so the sender stops;
//!    sheds load past a [concurrency limit](WebhookLayer::concurrency_limit)
//!    with `503`; and [drains](layer::Shutdown::drain) on shutdown.
//!
//! Or, in [inbox mode](inbox), it stores every verified delivery durably
//! (SQLite, feature `sqlite`), acknowledges it at once, and an
//! [`InboxWorker`](inbox::InboxWorker) runs the same handler on it with
//! retries: for senders that stop waiting after a few seconds or never
//! retry, and handlers that are slow.
//!
//! # Example: axum
//!
//! ```
//! use axum::{routing::post, Router};
//! use http::StatusCode;
//! use tower::ServiceExt;
//! use tower_webhook::{extract::Webhook, handler::HandlerError, scheme::Spec, testing, Event, Secret, WebhookLayer};
//!
//! /// `data` of the source article's order events.
//! #[derive(serde::Deserialize)]
//! #[serde(rename_all = "camelCase")]
//! struct Order {
//!     order_id: String,
//!     status: String,
//!     completed_at: Option<String>,
//! }
//!
//! async fn orders(Webhook { event, .. }: Webhook<Event<Order>>) -> Result<(), HandlerError> {
//!     let order = event.data;
//!     println!("{} {}: order {} is {} ({:?})", event.id, event.event_type, order.order_id, order.status, order.completed_at);
//!     Ok(())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let scheme = Spec::petstore(Secret::new("petstore secret")?);
//! let app = Router::new()
//!     .route("/webhooks", post(orders))
//!     .layer(WebhookLayer::new(scheme.clone()));
//!
//! // The source article's event, byte for byte.
//! let body = r#"{"id":"evt_123","type":"order.completed","created":1710331200,"data":{"orderId":"123","status":"completed","completedAt":"2024-01-01T12:00:00Z"}}"#;
//! let delivery = || testing::signed_request::<axum::body::Body>(&scheme, body, "evt_123");
//! assert_eq!(app.clone().oneshot(delivery()).await?.status(), StatusCode::OK);
//! // The sender redelivers: acknowledged, `orders` does not run again.
//! assert_eq!(app.oneshot(delivery()).await?.status(), StatusCode::OK);
//! # Ok(())
//! # }
//! ```
//!
//! Serve `app` with `axum::serve` as usual; `examples/receiver.rs` is a
//! complete receiver (`cargo run --example receiver`).
//!
//! # Example: any tower service
//!
//! The layer takes a request with any body whose data is a `Buf` and whose
//! error converts into a [`BoxError`] (as tower-http's middleware do), so it
//! goes straight in front of hyper, whose `Incoming` it reads; the inner
//! service receives the verified bytes as a `Full<Bytes>`:
//!
//! ```
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use hyper::body::Incoming;
//! use hyper::server::conn::http1;
//! use hyper_util::rt::{TokioExecutor, TokioIo};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_webhook::scheme::StandardWebhooks;
//! use tower_webhook::{testing, Verified, WebhookLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let scheme = StandardWebhooks::new(StandardWebhooks::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
//! let service = ServiceBuilder::new()
//!     .layer(WebhookLayer::new(scheme.clone()))
//!     .service(service_fn(|request: Request<Full<Bytes>>| async move {
//!         let event = request.extensions().get::<Verified>().expect("set by the layer");
//!         println!("event {} ({} bytes)", event.id(), event.body().len());
//!         Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
//!     }));
//!
//! // Served by hyper: each connection gets the service, `Request<Incoming>` and all.
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! tokio::spawn(async move {
//!     while let Ok((stream, _)) = listener.accept().await {
//!         let service = service.clone();
//!         let hyper_service =
//!             hyper::service::service_fn(move |request: Request<Incoming>| service.clone().oneshot(request));
//!         tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), hyper_service));
//!     }
//! });
//!
//! // `testing` (feature `test-util`) signs a request as the sender would.
//! let request: Request<Full<Bytes>> = testing::signed_request(&scheme, r#"{"type":"user.created"}"#, "msg_1");
//! let (mut parts, body) = request.into_parts();
//! parts.uri = format!("http://{addr}/webhooks").parse()?;
//! let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http();
//! let response = client.request(Request::from_parts(parts, body)).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//! # Ok(())
//! # }
//! ```
//!
//! # Status codes
//!
//! | situation | status | handler called |
//! |---|---|---|
//! | body over the limit ([`WebhookLayer::body_limit`], default 1 MiB) | 413 | no |
//! | body not received within the [body timeout](WebhookLayer::body_timeout) (default 10 s) | 408 | no |
//! | required header missing or unparseable (timestamp, id); the id can't be read from the body where the scheme takes it from there; the id is empty or over [`MAX_ID_LEN`] bytes; the JSON body repeats a key on the way to the id or type | 400 | no |
//! | signature header missing ([refused before the body is read](scheme::Scheme::precheck)) | 401 | no |
//! | signature malformed or matching no secret; timestamp outside the tolerance (either direction); all with one body, `invalid signature` | 401 | no |
//! | event id already processed | 200 `{"duplicate":true}` | no |
//! | event id in flight in another request | 409 with `Retry-After` (at most 5 s) | no |
//! | more deliveries in progress than the [concurrency limit](WebhookLayer::concurrency_limit) (default 1024) | 503 with `Retry-After`; body not read, guard untouched | no |
//! | shutting down ([`Shutdown::drain`](layer::Shutdown::drain) began) | 503 with `Retry-After`; body not read, guard untouched | no |
//! | handler returns 2xx | its response; id committed | yes |
//! | handler returns non-2xx or an error | its response / its error; id released | yes |
//! | handler's response carries [`PermanentFailure`] ([`HandlerError::permanent`], or set by hand) | [dead letter](dead_letter) stored; [200 (configurable)](WebhookLayer::dead_letter_status); id committed | yes |
//! | payload not JSON, or JSON that does not fit the type ([`Webhook`] extractor, [`Dispatcher`]) | dead letter stored; 200 (configurable); id committed | no |
//! | the dead-letter sink fails | 503 with `Retry-After`; id released | yes |
//! | handler panics | 500; id released | yes |
//! | handler still running at its bound (the optional [deadline](WebhookLayer::deadline), always below the guard's in-flight timeout) | 503 with `Retry-After`; id released | yes, cancelled |
//! | replay guard unavailable | 503 with `Retry-After` | no |
//! | [inbox mode](inbox): stored | 200 `{"received":true}` ([configurable 2xx](WebhookLayer::inbox_ack_status)) | later, by the worker |
//! | inbox mode: the inbox knows the event (any state) | the same 2xx, `{"duplicate":true}` | no |
//! | inbox mode: the store failed | 503 with `Retry-After` | no |
//!
//! Response bodies are short fixed texts; the reason is logged with `tracing`
//! (the first of each kind per [interval](WebhookLayer::rejection_log_interval)
//! at `warn`, the rest at `debug`) and the [`Rejection`] is in the response's
//! extensions.
//!
//! # Observing deliveries
//!
//! Each delivery runs inside one `tracing` span, `webhook`, that the handler's
//! own log lines inherit (scheme, event id and type, outcome, status, step
//! timings). [`WebhookLayer::observer`] plugs in an
//! [`Observer`](observe::Observer) told each delivery's
//! [`Outcome`](observe::Outcome) and timings; [`observe::Metrics`] (feature
//! `metrics`) and [`observe::RecentDeliveries`] are built on it. See
//! [`observe`].
//!
//! # Cargo features
//!
//! | feature | default | what |
//! |---|---|---|
//! | `axum` | yes | the `Webhook<T>` extractor and `IntoResponse` for the rejections |
//! | `metrics` | no | [`observe::Metrics`]: delivery counters, histograms and a gauge through the `metrics` facade |
//! | `redis` | no | [`RedisGuard`](replay::RedisGuard): one replay guard shared by several replicas through Redis; `RedisDeadLetters`: their dead letters in one Redis list |
//! | `test-util` | no | [`testing`]: sign requests for every scheme, to test your handlers (headers, and the body where a scheme carries its signature or timestamp there: Mailgun, Linear); the provider registry; the replay-guard and inbox-store conformance suites |
//! | `ed25519` | no | Ed25519 signatures: Standard Webhooks `v1a`, [`Discord`](scheme::Discord) |
//! | `p256` | no | ECDSA P-256 signatures: [`SendGrid`](scheme::SendGrid) |
//! | `sqlite` | no | `SqliteInbox`: the [inbox] in one SQLite file (bundled SQLite through `rusqlite`; nothing to install) |
//! | `postgres` | no | [`PostgresInbox`](inbox::PostgresInbox): the durable inbox in PostgreSQL, shared by several replicas, with the handler's effect and the record's settle in one transaction |
//!
//! # Security considerations
//!
//! - **What is trusted.** The secret, and the clock (timestamps are checked
//!   against [`SystemTime::now`](std::time::SystemTime::now) with a tolerance
//!   in both directions, default 5 minutes; a skewed clock rejects good
//!   deliveries or widens the replay window). Everything in the request is
//!   untrusted until the signature verifies; only verified deliveries reach
//!   the replay guard, so nobody without the secret can fill it.
//! - **Signatures** are compared in constant time against every signature in
//!   the header × every secret. Every `401` has the same body, `invalid
//!   signature`, a stale or future timestamp included (its own text would let
//!   anyone read the server's clock and tolerance by probing); no body
//!   contains the expected signature or the secret. [`Secret`]'s `Debug` is
//!   redacted and its bytes are zeroed on drop (the pre-keyed SHA-256 states
//!   derived from it are not zeroed by `sha2`).
//! - **Guessable secrets.** [`Secret::new`] logs a `warn` (never the key) for
//!   a key under [`Secret::MIN_LEN`] (16) bytes; the example receiver refuses
//!   one, reads `WEBHOOK_SECRET` whole (never split on commas or trimmed) and
//!   the further keys of a rotation from `WEBHOOK_SECRET_2`,
//!   `WEBHOOK_SECRET_3`, ….
//! - **Settings that switch protection off.** A tolerance over
//!   [`MAX_TOLERANCE`](scheme::MAX_TOLERANCE) (1 hour) is capped there with a
//!   `warn` (senders sign each attempt afresh; the tolerance covers clock skew
//!   and transit); `LruGuard::new(0)` and `body_limit(0)` log a `warn`; a
//!   zero body timeout, in-flight timeout or Redis retention is taken as the
//!   default, with a `warn`.
//! - **Unsigned ids and types.** GitHub's and Shopify's id and type headers,
//!   and the Petstore's `X-Petstore-Event` hint, are outside the signature,
//!   and those two providers sign no timestamp: a captured delivery verifies
//!   forever with any value there. Under the default replay key (the
//!   provider's documented event id only) its holder can resend it under a
//!   fresh id (processed again), under the id of an event not yet processed
//!   (which is then recorded as done and its real delivery dropped), or, for
//!   a delivery that failed, with a type the handler acknowledges unread (the
//!   sender's retry is then dropped). Opting into `dedupe_on_signature(true)`
//!   stops the first two while the guard remembers the signature, not the
//!   third, and drops distinct events whose bodies are byte-identical. The
//!   README's Security considerations spell this out; check that a body fits
//!   its type instead of trusting a type header.
//! - **Duplicate JSON keys** on the way to the id or type are refused with
//!   `400`: parsers disagree on which occurrence counts.
//! - **Replay window.** A scheme with a timestamp refuses deliveries older
//!   than its tolerance; within it, and for schemes without timestamps, the
//!   replay guard is what drops a redelivery. [`LruGuard`] remembers the last
//!   N processed ids (default 10 000): size N to cover the sender's retry
//!   window (the article's sender retries for about 5.5 hours; Stripe for up
//!   to 3 days; Meta for 36 hours, WhatsApp for 7 days) at your event rate,
//!   or an old id falls out and its redelivery is processed again.
//! - **Replicas.** [`LruGuard`] dedupes within one process. Several replicas
//!   behind a load balancer each see a different subset of deliveries; they
//!   need a shared guard such as [`RedisGuard`](replay::RedisGuard)
//!   (feature `redis`), which fails closed (`503`) when Redis is unreachable.
//! - **Proxies, body limits and slow clients.** The body limit bounds memory
//!   per request; a proxy in front that buffers bodies should have a limit of
//!   its own. A request without its signature header is refused unread, and
//!   a stalled body is answered `408` after the
//!   [body timeout](WebhookLayer::body_timeout) (default 10 s). Slow
//!   *headers* are the server's to bound: neither `axum::serve` nor hyper's
//!   `http1::Builder` without a timer does, so serve with hyper, a tokio
//!   timer and a `header_read_timeout`, as both examples do. A proxy must
//!   pass the body through byte for byte: one that re-encodes JSON or changes
//!   the charset breaks every signature.
//! - **Log volume.** A flood of forged requests cannot flood the log: per
//!   kind of rejection, one `warn` line per
//!   [interval](WebhookLayer::rejection_log_interval) (with a count of those
//!   held back), every rejection at `debug`.
//! - **Redis.** [`RedisGuard`](replay::RedisGuard) keys frame the id after a
//!   `0xFF` byte, so overlapping key prefixes cannot collide, and a `begin`
//!   that timed out is undone on the server with a compare-and-delete of its
//!   own token.
//! - **Effectively once, and where that ends.** Once a verified delivery has
//!   claimed its event, the handler runs to completion even when the client
//!   disconnects (see [`WebhookLayer::cancel_on_disconnect`]), and its
//!   outcome commits or releases the id: a sender that gave up waiting and
//!   retries gets `409` while the handler runs and `200 {"duplicate":true}`
//!   after. Every handler is bounded below the guard's in-flight timeout
//!   ([`WebhookLayer::deadline`]), so its claim cannot lapse while it runs
//!   and no event runs twice at once. The limits: when the **process dies**
//!   mid-handler after its side effect (or the handler hits its bound, or a
//!   drain cancels it at its timeout), the event is released or its claim
//!   expires, and the retry runs the handler again; and the layer cannot
//!   make a side effect **outside a transaction** atomic with the commit.
//!   Make such effects idempotent by event id (e.g. a processed-ids row in
//!   the same database transaction as the effect).
//! - **Overload.** The [concurrency limit](WebhookLayer::concurrency_limit)
//!   counts bodies being read and handlers running, detached ones included,
//!   and answers the rest `503` before reading them, so memory stays about
//!   `limit × body limit` however large a backlog a sender replays.
//! - **The inbox** (inbox mode) keeps the verified bytes and headers, like
//!   dead letters, for its retention (default 7 days): protect its file like
//!   any store of payloads. An acknowledged delivery is on disk
//!   (`synchronous=FULL`), so it survives a crash and a power cut, not the
//!   loss of the disk. The handler runs at least once per event; see
//!   [`inbox`] for the exactly-once pattern.
//! - **Dead letters** keep the verified bytes and the headers they were
//!   verified with (signatures included, which are not secret; never the
//!   secret; `Authorization`, `Proxy-Authorization` and `Cookie` are
//!   dropped). Protect a file sink like any store of payloads.
//!
//! [tower]: https://docs.rs/tower
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod dead_letter;
mod event;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod extract;
pub mod handler;
pub mod inbox;
mod key;
pub mod layer;
pub mod observe;
mod rejection;
pub mod replay;
pub mod scheme;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod testing;

pub use self::event::{Event, EventRejection, PermanentFailure, Verified};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use self::extract::Webhook;
pub use self::handler::{Dispatcher, HandlerError};
pub use self::key::{KeyError, Keys, PublicKey, Secret, SecretError, Secrets};
pub use self::layer::{WebhookLayer, WebhookService};
pub use self::rejection::Rejection;
pub use self::replay::{Begin, Claim, GuardError, LruGuard, ReplayGuard};
pub use self::scheme::{Scheme, VerifiedEvent, MAX_ID_LEN};

/// A boxed error, as tower uses.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The README's code blocks, compiled as doctests by plain `cargo test` (the
/// README's own test command) so they cannot rot. A block that needs an
/// opt-in feature says so and is `ignore`d, its code compiled in the rustdoc
/// of the item it shows.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
