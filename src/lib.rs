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
//! 5. **commits** the event id when the handler answered 2xx, and **releases**
//!    it when the handler failed, errored, panicked, timed out or was dropped,
//!    so the sender's retry is processed.
//!
//! # Example: axum
//!
//! ```
//! use axum::{routing::post, Router};
//! use http::StatusCode;
//! use tower::ServiceExt;
//! use tower_webhook::{extract::Webhook, handler::HandlerError, scheme::Hmac, testing, Event, Secret, WebhookLayer};
//!
//! #[derive(serde::Deserialize)]
//! struct Order {
//!     order_id: String,
//! }
//!
//! async fn orders(Webhook { event, .. }: Webhook<Event<Order>>) -> Result<(), HandlerError> {
//!     println!("{} {} for order {}", event.id, event.event_type, event.data.order_id);
//!     Ok(())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let scheme = Hmac::petstore(Secret::new("petstore secret")?);
//! let app = Router::new()
//!     .route("/webhooks", post(orders))
//!     .layer(WebhookLayer::new(scheme.clone()));
//!
//! let body = r#"{"id":"evt_1","type":"order.created","created":1700000000,"data":{"order_id":"ord_9"}}"#;
//! let delivery = || testing::signed_request::<axum::body::Body>(&scheme, body, "evt_1");
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
//! ```
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_webhook::scheme::StandardWebhooks;
//! use tower_webhook::{testing, Verified, WebhookLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let scheme = StandardWebhooks::new(StandardWebhooks::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
//! let service = ServiceBuilder::new()
//!     .layer(WebhookLayer::new(scheme.clone()))
//!     .service(service_fn(|request: Request<Full<Bytes>>| async move {
//!         let event = request.extensions().get::<Verified>().expect("set by the layer");
//!         println!("event {} ({} bytes)", event.id(), event.body().len());
//!         Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
//!     }));
//!
//! // `testing` (feature `test-util`) signs a request as the sender would.
//! let request = testing::signed_request::<Full<Bytes>>(&scheme, r#"{"type":"user.created"}"#, "msg_1");
//! assert_eq!(service.oneshot(request).await?.status(), StatusCode::OK);
//! # Ok(())
//! # }
//! ```
//!
//! # Status codes
//!
//! | situation | status | handler called |
//! |---|---|---|
//! | body over the limit ([`WebhookLayer::body_limit`], default 1 MiB) | 413 | no |
//! | body not received within the optional [body timeout](WebhookLayer::body_timeout) | 408 | no |
//! | required header missing or unparseable (timestamp, id); the id can't be read from the body where the scheme takes it from there; the id is empty or over [`MAX_ID_LEN`] bytes | 400 | no |
//! | signature missing, malformed, or matching no secret; timestamp outside the tolerance (either direction) | 401 | no |
//! | event id already processed | 200 `{"duplicate":true}` | no |
//! | event id in flight in another request | 409 with `Retry-After` (at most 5 s) | no |
//! | handler returns 2xx | its response; id committed | yes |
//! | handler returns non-2xx or an error | its response / its error; id released | yes |
//! | handler's response carries [`PermanentFailure`] | its response; id committed | yes |
//! | handler panics | 500; id released | yes |
//! | handler still running at the optional [deadline](WebhookLayer::deadline) | 503 with `Retry-After`; id released | yes, cancelled |
//! | replay guard unavailable | 503 with `Retry-After` | no |
//!
//! Response bodies are short fixed texts; the reason is logged with `tracing`
//! at `warn` and the [`Rejection`] is in the response's extensions.
//!
//! # Cargo features
//!
//! | feature | default | what |
//! |---|---|---|
//! | `axum` | yes | the `Webhook<T>` extractor and `IntoResponse` for the rejections |
//! | `redis` | no | [`RedisGuard`](replay::RedisGuard): one replay guard shared by several replicas through Redis |
//! | `test-util` | no | [`testing`]: sign requests for every scheme, to test your handlers; the provider registry; the replay-guard conformance suite |
//! | `ed25519` | no | Ed25519 signatures: Standard Webhooks `v1a`, [`Discord`](scheme::Discord) |
//! | `p256` | no | ECDSA P-256 signatures: [`SendGrid`](scheme::SendGrid) |
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
//!   the header × every secret. Response bodies are the same for every
//!   signature failure and never contain the expected signature or the
//!   secret; [`Secret`]'s `Debug` is redacted and its bytes are zeroed on drop
//!   (the pre-keyed SHA-256 states derived from it are not zeroed by `sha2`).
//! - **Unsigned headers.** Prefer ids and types that the signature covers. A
//!   header outside the signed content (GitHub's delivery id, Petstore's
//!   `X-Petstore-Event`) can be changed by whoever captured a delivery; such
//!   schemes dedupe on the signature as well, and an event-type header is
//!   only a hint.
//! - **Replay window.** A scheme with a timestamp refuses deliveries older
//!   than its tolerance; within it, and for schemes without timestamps, the
//!   replay guard is what drops a redelivery. [`LruGuard`] remembers the last
//!   N processed ids (default 10 000): size N to cover the sender's retry
//!   window (the article's sender retries for about 5.5 hours; Stripe for up
//!   to 3 days) at your event rate, or an old id falls out and its redelivery
//!   is processed again.
//! - **Replicas.** [`LruGuard`] dedupes within one process. Several replicas
//!   behind a load balancer each see a different subset of deliveries; they
//!   need a shared guard such as [`RedisGuard`](replay::RedisGuard)
//!   (feature `redis`), which fails closed (`503`) when Redis is unreachable.
//! - **Proxies, body limits and slow bodies.** The body limit bounds memory
//!   per request; a proxy in front that buffers bodies should have a limit of
//!   its own. hyper times out slow headers but not a slow body: set a
//!   [body timeout](WebhookLayer::body_timeout) so a client that stalls
//!   mid-body cannot hold requests open. A proxy must pass the body through
//!   byte for byte: one that re-encodes JSON or changes the charset breaks
//!   every signature.
//! - **At least once, not exactly once.** The id is committed after the
//!   handler answered 2xx. If the handler's side effect happens and then the
//!   handler does not get to answer 2xx, the event is released and the
//!   sender's retry runs the handler again. That happens when the process
//!   dies, when the deadline passes, and when the client disconnects while
//!   the handler awaits something after its side effect (hyper drops the
//!   request future, and with it the handler). A handler whose side effect
//!   is its last step before answering is exactly-once under the guard; any
//!   other should make its side effects idempotent by event id.
//!
//! [tower]: https://docs.rs/tower
#![cfg_attr(docsrs, feature(doc_cfg))]

mod encoding;
mod event;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod extract;
pub mod handler;
mod key;
pub mod layer;
mod rejection;
pub mod replay;
pub mod scheme;
mod secret;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod testing;

pub use self::event::{Event, EventRejection, PermanentFailure, Verified};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use self::extract::Webhook;
pub use self::handler::{Dispatcher, HandlerError};
pub use self::key::{Keys, PublicKey};
pub use self::layer::{WebhookLayer, WebhookService};
pub use self::rejection::Rejection;
pub use self::replay::{Begin, Claim, GuardError, LruGuard, ReplayGuard};
pub use self::scheme::{Delivery, Scheme, MAX_ID_LEN};
pub use self::secret::{Secret, SecretError, Secrets};

/// A boxed error, as tower uses.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The README's code blocks, compiled as doctests so they cannot rot (with
/// the `redis` feature, which one of them needs; `.ci/run` turns it on).
#[cfg(all(doctest, feature = "redis"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
