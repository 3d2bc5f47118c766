//! The webhook layer: bound and buffer the body, verify, drop replays,
//! forward, and settle by outcome.
//!
//! # One request, start to finish
//!
//! 0. **Shed.** With as many deliveries in progress as the
//!    [concurrency limit](WebhookLayer::concurrency_limit) (default 1024), or
//!    once [`Shutdown::drain`] has begun, the delivery is answered `503` with
//!    `Retry-After` at once: its body is not read, the replay guard is not
//!    asked, the inner service is not called.
//! 1. **Limit.** A `Content-Length` over the [body limit](WebhookLayer::body_limit)
//!    is answered `413` before anything is read; otherwise the body (chunked
//!    too) is read under a hard cap and answered `413` the moment it passes,
//!    and `408` when it has not arrived within the
//!    [body timeout](WebhookLayer::body_timeout) (default 10 s). Before that,
//!    a request without the scheme's signature header is refused with `401`
//!    unread ([`Scheme::precheck`](crate::scheme::Scheme::precheck)).
//! 2. **Buffer.** The frames are collected into one `Bytes`: the exact bytes
//!    the sender signed, never re-serialized, never required to be UTF-8.
//! 3. **Verify.** The [`Scheme`](crate::scheme::Scheme) checks the signature
//!    in constant time against every configured secret, and the timestamp
//!    where it has one: `400` for broken framing, `401` for a bad, missing or
//!    stale signature.
//! 4. **Replay guard.** [`ReplayGuard::begin`](crate::ReplayGuard::begin) for
//!    the event id: already processed → `200` with `{"duplicate":true}` and the
//!    inner service is not called; in flight in another request → `409` with
//!    `Retry-After`; otherwise the id is now held by this request.
//! 5. **Forward.** The inner service gets the request with the same bytes as
//!    its body and a [`Verified`](crate::Verified) extension. It runs inside
//!    the response future and, should that be dropped first (the client went
//!    away), on as a task of its own to completion (unless
//!    [`cancel_on_disconnect`](WebhookLayer::cancel_on_disconnect)), bounded
//!    by the [deadline](WebhookLayer::deadline) and below the guard's claim.
//! 6. **Settle.** A `2xx` from the inner service commits the id. A response
//!    carrying [`PermanentFailure`](crate::PermanentFailure) is stored as a
//!    [dead letter](crate::dead_letter), committed, and acknowledged with the
//!    [dead-letter status](WebhookLayer::dead_letter_status) (default `200`;
//!    `503` and a release if the sink fails or does not answer within what is
//!    left of the handler's bound). Anything else releases the id,
//!    so the sender's retry is processed: a non-2xx response (passed
//!    through), an error (passed through), a panic (answered `500`), the
//!    handler's bound passing (`503` with `Retry-After`), a drain cancelling
//!    it (`503`), or, under `cancel_on_disconnect`, the response future
//!    being dropped.
//!
//! In [inbox mode](crate::inbox) ([`WebhookLayer::inbox`]), steps 4 to 6
//! are replaced: the verified delivery is stored in the inbox and
//! acknowledged `200 {"received":true}` (`{"duplicate":true}` if the inbox
//! knows it; `503` with `Retry-After` if the store fails), and an
//! [`InboxWorker`](crate::inbox::InboxWorker) runs the inner service later.
//!
//! The layer needs a tokio runtime with the time driver (any
//! `#[tokio::main]` has one): handlers whose client went away are moved onto
//! it, and bounded with its timers.
//!
//! Every rejection is logged with `tracing` with its reason, and the
//! [`Rejection`](crate::Rejection) is put in the response's extensions. The
//! first of each kind per [interval](WebhookLayer::rejection_log_interval)
//! (default 10 s) is logged at `warn` with a count of those held back, the
//! others at `debug`, so a flood of forged requests cannot flood the log.
//! Each delivery runs inside one `webhook` span (the handler too), and an
//! [`Observer`](crate::observe::Observer) set with
//! [`WebhookLayer::observer`] is told how it ended: see [`observe`](crate::observe).
//!
//! # Example
//!
//! ```
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use bytes::Bytes;
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_webhook::{scheme::Spec, Secret, Verified, WebhookLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let scheme = Spec::petstore(Secret::new("petstore secret")?);
//! let body = r#"{"id":"evt_1","type":"order.created","created":1700000000,"data":{}}"#;
//! let signature = scheme.signature_value(body.as_bytes(), "", 0);
//!
//! let service = ServiceBuilder::new()
//!     .layer(WebhookLayer::new(scheme))
//!     .service(service_fn(|request: Request<Full<Bytes>>| async move {
//!         let verified = request.extensions().get::<Verified>().unwrap();
//!         assert_eq!(verified.event_type(), Some("order.created"));
//!         Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::new())))
//!     }));
//!
//! let request = || {
//!     Request::post("/webhooks")
//!         .header("x-petstore-signature", &signature)
//!         .body(Full::new(Bytes::from(body)))
//!         .unwrap()
//! };
//! let first = service.clone().oneshot(request()).await?;
//! assert_eq!(first.status(), StatusCode::OK);
//!
//! // A redelivery of the same event: acknowledged, not processed again.
//! let again = service.clone().oneshot(request()).await?;
//! assert_eq!(again.status(), StatusCode::OK);
//!
//! // A forged signature.
//! let forged = Request::post("/webhooks")
//!     .header("x-petstore-signature", "00".repeat(32))
//!     .body(Full::new(Bytes::from(body)))?;
//! assert_eq!(service.oneshot(forged).await?.status(), StatusCode::UNAUTHORIZED);
//! # Ok(())
//! # }
//! ```
//!
//! # Delivery guarantees: disconnects, bursts, poison events, shutdown
//!
//! - **Disconnects.** GitHub waits 10 s, Shopify 5 s, Svix 15 s. When a sender gives up, the handler runs on (moved onto the tokio runtime as a task of its own) and its outcome settles the event; the retry finds it done (`200` duplicate) or in flight (`409`). A detached handler counts against the concurrency limit until it ends. `WebhookLayer::cancel_on_disconnect(true)` restores cancellation.
//! - **Bursts.** `WebhookLayer::concurrency_limit(n)` (default 1024) bounds deliveries in progress; past it, `503` with `Retry-After` at once, nothing read, the guard not asked. Senders retry `503`; nothing is lost.
//! - **Poison events.** A verified delivery marked never processable (the extractor's `400`/`422`, `HandlerError::permanent`, or any response carrying `PermanentFailure`) is stored in a `DeadLetterSink` with its raw bytes, headers, id, type and reason, then committed and acknowledged (`dead_letter_status`, default `200`). The default `MemoryDeadLetters` keeps the last 1000 and the layer logs each at `error`; `FileDeadLetters` appends JSON lines synced to disk; `RedisDeadLetters` (feature `redis`) keeps them in one Redis list for every replica. Once fixed, `dead_letter::rerun(&letter, service)` hands a letter to the handler again.
//! - **Shutdown.** `layer.shutdown_handle()` gives a `Shutdown`; after the server stops accepting, `shutdown.drain(timeout).await` refuses new deliveries (`503`), waits for the ones in progress, cancels and releases whatever is still running at the timeout, and reports how many completed.
//!
//! ```rust,no_run
//! use std::time::Duration;
//! use axum::{routing::post, Router};
//! use tower_webhook::dead_letter::FileDeadLetters;
//! use tower_webhook::{scheme::Spec, Secret, WebhookLayer};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let layer = WebhookLayer::new(Spec::petstore(Secret::new("petstore secret")?))
//!         .concurrency_limit(256)
//!         .deadline(Duration::from_secs(8))
//!         .dead_letters(FileDeadLetters::open("dead-letters.jsonl")?);
//!     let shutdown = layer.shutdown_handle();
//!     let app = Router::new().route("/webhooks", post(|| async {})).layer(layer);
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     axum::serve(listener, app)
//!         .with_graceful_shutdown(async { tokio::signal::ctrl_c().await.unwrap_or(()) })
//!         .await?;
//!     // No new connections; handlers whose sender went away may still run.
//!     let drained = shutdown.drain(Duration::from_secs(25)).await;
//!     println!("{} drained, {} cancelled", drained.completed, drained.cancelled);
//!     Ok(())
//! }
//! ```
//!
//! `cargo run --example receiver` shows all four: `MAX_CONCURRENT_HANDLERS`, `HANDLER_DELAY_MS` (the handler waits after its work, so a sender with a short timeout gives up first), dead letters in its log, and the drain count on Ctrl-C.

mod answer;
mod body;
mod future;
#[allow(clippy::module_inception)]
mod layer;
mod load;
mod log;
mod service;
mod settle;

pub use self::body::ResponseBody;
pub use self::future::ResponseFuture;
pub use self::layer::{
    WebhookLayer, BODY_IDLE_TIMEOUT, DEFAULT_BODY_LIMIT, DEFAULT_BODY_TIMEOUT, DEFAULT_CONCURRENCY_LIMIT,
    DEFAULT_READ_LIMIT,
};
pub use self::load::{Drained, Shutdown};
pub use self::log::DEFAULT_REJECTION_LOG_INTERVAL;
pub use self::service::WebhookService;
pub(crate) use self::settle::{panic_message, CatchUnwind};
