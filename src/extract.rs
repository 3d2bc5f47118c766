//! The axum extractor [`Webhook<T>`]: the verified event, typed.
//!
//! Put the route behind [`WebhookLayer`](crate::WebhookLayer); the extractor
//! deserializes `T` from the exact bytes the layer verified (it reads the
//! [`Verified`] extension, so it does not consume the body) and gives the
//! scheme's id, type and timestamp beside it. Its rejections are
//! [`EventRejection`]s:
//!
//! | situation | status |
//! |---|---|
//! | payload not JSON | `400` |
//! | JSON that does not fit `T` | `422` |
//! | route not behind `WebhookLayer` (no `Verified` extension) | `500`, body `webhook route is not behind WebhookLayer` |
//!
//! Used without the layer it fails loudly: never an unverified pass-through.
//! Behind the layer, the `400` and `422` answers make the delivery a
//! [dead letter](crate::dead_letter): stored, committed, acknowledged.
//!
//! A handler returns `Result<(), HandlerError>` to say whether a failure is
//! [retryable or permanent](crate::handler).
//!
//! With [`WebhookLayer::decode_as::<T>()`](crate::WebhookLayer::decode_as),
//! the layer parses the payload into the `T` as it reads the event id and
//! type, and the extractor takes that value: the body is parsed once. The
//! answers are the same with or without it.
//!
//! # Example
//!
//! An enum of the event types you handle, with a catch-all variant so that
//! a type the sender adds later is acknowledged with `200` instead of being
//! refused and retried for days (tag it internally, see
//! [`Event`](crate::Event#your-own-enum-of-event-types)):
//!
//! ```
//! use axum::{routing::post, Router};
//! use http::StatusCode;
//! use tower::ServiceExt;
//! use tower_webhook::extract::Webhook;
//! use tower_webhook::handler::HandlerError;
//! use tower_webhook::{scheme::Spec, testing, Secret, WebhookLayer};
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
//! #[derive(serde::Deserialize)]
//! #[serde(tag = "type")]
//! enum PetstoreEvent {
//!     #[serde(rename = "order.created")]
//!     OrderCreated { data: Order },
//!     #[serde(rename = "order.completed")]
//!     OrderCompleted { data: Order },
//!     #[serde(rename = "order.cancelled")]
//!     OrderCancelled { data: Order },
//!     #[serde(other)]
//!     Unknown,
//! }
//!
//! async fn webhook(Webhook { event, verified }: Webhook<PetstoreEvent>) -> Result<(), HandlerError> {
//!     match event {
//!         PetstoreEvent::OrderCreated { data } => println!("{}: created {}", verified.id(), data.order_id),
//!         PetstoreEvent::OrderCompleted { data } => {
//!             println!("{}: {} completed at {:?}", verified.id(), data.order_id, data.completed_at)
//!         }
//!         PetstoreEvent::OrderCancelled { data } if data.order_id.is_empty() => {
//!             return Err(HandlerError::permanent("cancelled order without an id"));
//!         }
//!         PetstoreEvent::OrderCancelled { data } => println!("{}: cancelled {}", verified.id(), data.order_id),
//!         PetstoreEvent::Unknown => println!("{}: ignored {:?}", verified.id(), verified.event_type()),
//!     }
//!     Ok(())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let scheme = Spec::petstore(Secret::new("petstore secret")?);
//! let app = Router::new()
//!     .route("/webhooks", post(webhook))
//!     .layer(WebhookLayer::new(scheme.clone()));
//!
//! let send = |body: &str, id: &str| app.clone().oneshot(testing::signed_request::<axum::body::Body>(&scheme, body.to_owned(), id));
//! let completed = send(r#"{"id":"evt_123","type":"order.completed","created":1710331200,"data":{"orderId":"123","status":"completed","completedAt":"2024-01-01T12:00:00Z"}}"#, "evt_123").await?;
//! assert_eq!(completed.status(), StatusCode::OK);
//! let new_type = send(r#"{"id":"e2","type":"pet.adopted","data":{"pet":"Rex"}}"#, "e2").await?;
//! assert_eq!(new_type.status(), StatusCode::OK);
//! // The extractor answers 422; the layer keeps the delivery as a dead letter
//! // and acknowledges it, so the sender stops retrying.
//! let wrong_shape = send(r#"{"id":"e3","type":"order.created","data":{"orderId":7,"status":"created"}}"#, "e3").await?;
//! assert_eq!(wrong_shape.status(), StatusCode::OK);
//! # Ok(())
//! # }
//! ```
//!
//! # Typed events
//!
//! The `Webhook<T>` extractor (feature `axum`, on by default) deserializes the verified bytes into your type and gives the scheme's id, type and timestamp beside it. A payload that is not JSON is answered `400`, JSON of the wrong shape `422` (behind the layer both become [dead letters](crate::layer#delivery-guarantees-disconnects-bursts-poison-events-shutdown)), and a route that is not behind `WebhookLayer` `500`: never an unverified pass-through. Give your enum a catch-all variant, so that an event type the sender adds later is acknowledged instead of retried for days, and say whether a failure is worth a retry:
//!
//! ```rust
//! use axum::{routing::post, Router};
//! use tower_webhook::{extract::Webhook, handler::HandlerError, scheme::Spec, Secret, WebhookLayer};
//!
//! #[derive(serde::Deserialize)]
//! #[serde(rename_all = "camelCase")]
//! struct Order {
//!     order_id: String,
//!     status: String,
//! }
//!
//! #[derive(serde::Deserialize)]
//! #[serde(tag = "type")]
//! enum PetstoreEvent {
//!     #[serde(rename = "order.created")]
//!     OrderCreated { data: Order },
//!     #[serde(other)]
//!     Unknown,
//! }
//!
//! async fn webhook(Webhook { event, verified }: Webhook<PetstoreEvent>) -> Result<(), HandlerError> {
//!     match event {
//!         // Will never validate: 200, recorded as processed, the sender stops.
//!         PetstoreEvent::OrderCreated { data } if data.order_id.is_empty() => {
//!             Err(HandlerError::permanent("order without an id"))
//!         }
//!         PetstoreEvent::OrderCreated { data } => {
//!             println!("{}: new order {} ({})", verified.id(), data.order_id, data.status);
//!             Ok(())
//!         }
//!         // A type added later: acknowledged.
//!         PetstoreEvent::Unknown => Ok(()),
//!     }
//! }
//!
//! fn app(secret: &str) -> Result<Router, tower_webhook::SecretError> {
//!     Ok(Router::new()
//!         .route("/webhooks", post(webhook))
//!         .layer(WebhookLayer::new(Spec::petstore(Secret::new(secret)?))))
//! }
//! ```
//!
//! To parse each payload once, tell the layer the type the handler takes: `WebhookLayer::new(scheme).decode_as::<PetstoreEvent>()`. The layer then decodes the verified bytes into a `PetstoreEvent` and reads the id and type as that parse goes by them, instead of walking the body for them before the extractor parses it again; the extractor takes the decoded value. Every answer stays the same: a body that does not decode is walked and refused as without it, and the id and type are taken from the parse only when they are certain to be what the walk reads (a repeated `id` is still `400`). `examples/receiver.rs` does this for the Petstore.
//!
//! `HandlerError::retryable(e)` answers `500` and releases the event, so the sender's retry is processed (a database outage); `HandlerError::permanent(e)` answers `200` (or the status you pick with `with_status`) and records the event as processed, so the sender stops retrying (data that will never validate). Either way the body is a short fixed text and the error goes to the log. Without axum, `handler::Dispatcher` routes events by type to async handlers as a plain tower service; each handler takes any `Deserialize` payload type (the article's `Event<T>` envelope, GitHub's or Stripe's own payloads, `serde_json::Value`), optionally followed by the `Verified` delivery for the id and type the scheme read from headers.

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::event::{self, EventRejection, Verified};
use crate::handler::HandlerError;

/// Extracts the verified payload as a `T`, with the delivery's [`Verified`]
/// metadata (id, type, timestamp) beside it. See the [module docs](self).
///
/// `T` may be the envelope [`Event<D>`](crate::Event), your own tagged enum,
/// or `serde_json::Value` to take anything that is JSON.
#[derive(Debug, Clone)]
pub struct Webhook<T> {
    /// The payload, deserialized from the verified bytes.
    pub event: T,
    /// What the layer verified: the scheme's event id, type and timestamp,
    /// and the raw bytes.
    pub verified: Verified,
}

impl<T> Webhook<T> {
    /// The event id as the scheme read it (the replay key).
    pub fn id(&self) -> &str {
        self.verified.id()
    }

    /// The event type, when the scheme reads one.
    pub fn event_type(&self) -> Option<&str> {
        self.verified.event_type()
    }

    /// The signed timestamp in unix seconds, when the scheme has one.
    pub fn timestamp(&self) -> Option<i64> {
        self.verified.timestamp()
    }

    /// The payload.
    pub fn into_inner(self) -> T {
        self.event
    }
}

impl<T, S> FromRequestParts<S> for Webhook<T>
where
    T: DeserializeOwned + Send + 'static,
    S: Send + Sync,
{
    type Rejection = EventRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, EventRejection> {
        let verified = event::verified(&parts.extensions)?;
        let event = event::decode(verified)?;
        Ok(Self {
            event,
            verified: verified.clone(),
        })
    }
}

/// The metadata alone, for handlers that read the body themselves; refused
/// with `500` when the route is not behind the layer.
impl<S: Send + Sync> FromRequestParts<S> for Verified {
    type Rejection = EventRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, EventRejection> {
        event::verified(&parts.extensions).cloned()
    }
}

impl IntoResponse for EventRejection {
    fn into_response(self) -> Response {
        self.to_response().map(axum_core::body::Body::new)
    }
}

impl IntoResponse for HandlerError {
    fn into_response(self) -> Response {
        self.to_response().map(axum_core::body::Body::new)
    }
}
