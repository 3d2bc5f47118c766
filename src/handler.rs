//! Typed handling of verified events: [`HandlerError`] (retryable or
//! permanent), and the [`Dispatcher`], a plain tower service that routes each
//! event by type to an async handler.
//!
//! # Retryable or permanent
//!
//! A handler that fails must say whether trying again can help:
//!
//! - [`HandlerError::retryable`]: a transient problem (the database is down,
//!   a downstream API timed out). Answered `500`; the layer **releases** the
//!   event, so the sender's retry is processed.
//! - [`HandlerError::permanent`]: the event can never succeed (its data will
//!   never validate, the order it names was deleted). Answered `200` by
//!   default ([`with_status`](HandlerError::with_status) picks another, such
//!   as `422`) with the [`PermanentFailure`] extension; the layer **commits**
//!   the event, so a redelivery is dropped as a duplicate and the sender stops
//!   retrying. Logged at `error`, so someone looks at it.
//!
//! The response bodies are short fixed texts; the error itself goes to the
//! log, never to the sender.
//!
//! # Dispatcher
//!
//! For tower users without axum: a [`Service`] that reads the [`Verified`]
//! extension the layer added (not the body, so any body type works),
//! deserializes the article's envelope [`Event<T>`], and calls the handler
//! registered for its type.
//!
//! | outcome | status | event |
//! |---|---|---|
//! | handler returns `Ok(())` | `200` | committed |
//! | handler returns a retryable error | `500` | released: the sender retries |
//! | handler returns a permanent error | `200` (or its own status) | committed: the sender stops |
//! | no handler for the type | `200` (see [`unknown_status`](Dispatcher::unknown_status)), logged | committed |
//! | payload not JSON | `400` | released |
//! | payload JSON but not an `Event<T>` | `422` | released |
//! | no `Verified` extension (not behind the layer) | `500` naming `WebhookLayer` | handler never called |
//!
//! Behind the layer, a permanent error and a payload that is not JSON or not
//! an `Event<T>` are [dead letters](crate::dead_letter): stored, committed,
//! and answered with the layer's dead-letter status (default `200`).
//!
//! The handler is chosen by the type the scheme read ([`Verified::event_type`]),
//! or, for schemes that do not read one, by the envelope's `type`. The type is
//! looked up before `data` is deserialized, so an unknown type whose payload
//! has another shape is still acknowledged rather than answered `422`.
//!
//! ```
//! use bytes::Bytes;
//! use http::StatusCode;
//! use http_body_util::Full;
//! use tower::{ServiceBuilder, ServiceExt};
//! use tower_webhook::handler::{Dispatcher, HandlerError};
//! use tower_webhook::{scheme::Hmac, testing, Event, Secret, WebhookLayer};
//!
//! #[derive(serde::Deserialize)]
//! struct Order {
//!     order_id: String,
//! }
//!
//! async fn order_created(event: Event<Order>) -> Result<(), HandlerError> {
//!     if event.data.order_id.is_empty() {
//!         // Will never validate: acknowledge it so the sender stops retrying.
//!         return Err(HandlerError::permanent("order without an id"));
//!     }
//!     Ok(())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let scheme = Hmac::petstore(Secret::new("petstore secret")?);
//! let sign = |body: &str, id: &str| testing::signed_request::<Full<Bytes>>(&scheme, body.to_owned(), id);
//! let created = sign(r#"{"id":"evt_1","type":"order.created","data":{"order_id":"ord_1"}}"#, "evt_1");
//! let unknown = sign(r#"{"id":"evt_2","type":"pet.adopted","data":{"pet":"Rex"}}"#, "evt_2");
//!
//! let service = ServiceBuilder::new()
//!     .layer(WebhookLayer::new(scheme.clone()))
//!     .service(Dispatcher::new().on("order.created", order_created));
//!
//! assert_eq!(service.clone().oneshot(created).await?.status(), StatusCode::OK);
//! assert_eq!(service.oneshot(unknown).await?.status(), StatusCode::OK);
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::future::{ready, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tower_service::Service;

use crate::event::{self, Event, PermanentFailure, Verified};
use crate::BoxError;

/// A handler's failure, and whether the sender should try again.
///
/// See the [module docs](self) for when to use which. Its response (with
/// axum, through `IntoResponse`; in the [`Dispatcher`], by itself) is:
///
/// | kind | status | body | layer |
/// |---|---|---|---|
/// | [`retryable`](HandlerError::retryable) | `500` | `event processing failed; retry later` | releases the event |
/// | [`permanent`](HandlerError::permanent) | `200` | `event cannot be processed; not retrying` | commits the event ([`PermanentFailure`]) |
///
/// ```
/// use http::StatusCode;
/// use tower_webhook::handler::HandlerError;
///
/// let outage = HandlerError::retryable("database unreachable");
/// assert_eq!(outage.status(), StatusCode::INTERNAL_SERVER_ERROR);
///
/// let bad = HandlerError::permanent("order ord_9 was deleted");
/// assert!(bad.is_permanent());
/// assert_eq!(bad.status(), StatusCode::OK);
/// assert_eq!(bad.with_status(StatusCode::UNPROCESSABLE_ENTITY).status(), StatusCode::UNPROCESSABLE_ENTITY);
/// ```
#[derive(Debug)]
pub struct HandlerError {
    permanent: bool,
    status: Option<StatusCode>,
    source: BoxError,
}

impl HandlerError {
    /// A failure that may go away (an outage, a timeout): answered `500`, the
    /// event is released and the sender's retry is processed.
    pub fn retryable(error: impl Into<BoxError>) -> Self {
        Self {
            permanent: false,
            status: None,
            source: error.into(),
        }
    }

    /// A failure that will happen again on every retry (bad data, a deleted
    /// order): answered `200` by default, the event is committed so the
    /// sender stops retrying, and the error is logged at `error`.
    pub fn permanent(error: impl Into<BoxError>) -> Self {
        Self {
            permanent: true,
            status: None,
            source: error.into(),
        }
    }

    /// Answers with `status` instead of the default.
    ///
    /// For a permanent failure any status works (the event is committed
    /// either way): `200` stops every sender, while `422` shows the failure
    /// in the sender's dashboard but may be retried by some. A retryable
    /// failure must not answer `2xx`, which would commit the event: a success
    /// status is ignored there and `500` is sent.
    ///
    /// Behind [`WebhookLayer`](crate::WebhookLayer), a permanent failure is
    /// kept as a [dead letter](crate::dead_letter) and answered with the
    /// layer's [`dead_letter_status`](crate::WebhookLayer::dead_letter_status)
    /// instead.
    #[must_use]
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }

    /// Whether the failure is permanent.
    pub fn is_permanent(&self) -> bool {
        self.permanent
    }

    /// The status code of the response.
    pub fn status(&self) -> StatusCode {
        match (self.permanent, self.status) {
            (true, status) => status.unwrap_or(StatusCode::OK),
            (false, Some(status)) if !status.is_success() => status,
            (false, _) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The fixed text of the response body.
    pub fn body_text(&self) -> &'static str {
        if self.permanent {
            "event cannot be processed; not retrying"
        } else {
            "event processing failed; retry later"
        }
    }

    /// The error the handler gave.
    pub fn into_inner(self) -> BoxError {
        self.source
    }

    /// Logs the failure (`error` if permanent, `warn` if retryable) and
    /// builds the response: the status, the fixed text, and for a permanent
    /// failure the [`PermanentFailure`] extension that makes the layer commit
    /// the event.
    pub fn to_response(&self) -> Response<Full<Bytes>> {
        self.respond(None)
    }

    pub(crate) fn respond(&self, event: Option<&Verified>) -> Response<Full<Bytes>> {
        let event_id = event.map(Verified::id);
        let event_type = event.and_then(Verified::event_type);
        let status = self.status().as_u16();
        if self.permanent {
            tracing::error!(event_id, event_type, status, error = %self.source, "handler failed permanently; the event will not be retried");
        } else {
            tracing::warn!(event_id, event_type, status, error = %self.source, "handler failed; the event is released for the sender's retry");
        }
        let mut response = Response::new(Full::new(Bytes::from_static(self.body_text().as_bytes())));
        *response.status_mut() = self.status();
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if self.permanent {
            response
                .extensions_mut()
                .insert(PermanentFailure::new(self.source.to_string()));
        }
        response
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.permanent { "permanent" } else { "retryable" };
        write!(f, "{kind} handler failure: {}", self.source)
    }
}

impl std::error::Error for HandlerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// Any boxed error is retryable: when in doubt, let the sender try again.
impl From<BoxError> for HandlerError {
    fn from(error: BoxError) -> Self {
        Self::retryable(error)
    }
}

impl From<Infallible> for HandlerError {
    fn from(never: Infallible) -> Self {
        match never {}
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type Route<T, E> = Arc<dyn Fn(Event<T>) -> BoxFuture<Result<(), E>> + Send + Sync>;

/// A tower [`Service`] that routes verified events by type to async handlers.
///
/// Put it behind [`WebhookLayer`](crate::WebhookLayer); see the
/// [module docs](self) for the status of each outcome and an example.
/// Handlers take an [`Event<T>`] and return `Result<(), E>`, where `E`
/// converts into a [`HandlerError`] (which is what says retryable or
/// permanent); returning `HandlerError` itself is the simplest.
pub struct Dispatcher<T, E = HandlerError> {
    routes: Arc<HashMap<String, Route<T, E>>>,
    unknown_status: StatusCode,
}

impl<T, E> Dispatcher<T, E> {
    /// A dispatcher with no handlers yet.
    pub fn new() -> Self {
        Self {
            routes: Arc::new(HashMap::new()),
            unknown_status: StatusCode::OK,
        }
    }

    /// Calls `handler` for events of type `event_type`, replacing any handler
    /// registered for it before.
    #[must_use]
    pub fn on<F, Fut>(mut self, event_type: impl Into<String>, handler: F) -> Self
    where
        F: Fn(Event<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
    {
        let route: Route<T, E> = Arc::new(move |event| Box::pin(handler(event)));
        Arc::make_mut(&mut self.routes).insert(event_type.into(), route);
        self
    }

    /// The status for an event whose type has no handler (default `200`).
    ///
    /// Keep it `2xx`: anything else makes the layer release the event and
    /// the sender retry it again and again, though no retry can succeed.
    #[must_use]
    pub fn unknown_status(mut self, status: StatusCode) -> Self {
        self.unknown_status = status;
        self
    }

    /// The event types that have a handler.
    pub fn event_types(&self) -> impl Iterator<Item = &str> {
        self.routes.keys().map(String::as_str)
    }
}

impl<T, E> Default for Dispatcher<T, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, E> Clone for Dispatcher<T, E> {
    fn clone(&self) -> Self {
        Self {
            routes: Arc::clone(&self.routes),
            unknown_status: self.unknown_status,
        }
    }
}

impl<T, E> fmt::Debug for Dispatcher<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut types: Vec<_> = self.event_types().collect();
        types.sort_unstable();
        f.debug_struct("Dispatcher")
            .field("event_types", &types)
            .field("unknown_status", &self.unknown_status)
            .finish()
    }
}

/// Just the envelope's type, for schemes that do not read one.
#[derive(Deserialize)]
struct EnvelopeType {
    #[serde(rename = "type")]
    event_type: String,
}

impl<T, E, B> Service<Request<B>> for Dispatcher<T, E>
where
    T: DeserializeOwned + Send + 'static,
    E: Into<HandlerError> + Send + 'static,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = DispatchFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> DispatchFuture {
        let verified = match event::verified(request.extensions()) {
            Ok(verified) => verified.clone(),
            Err(rejection) => return DispatchFuture::ready(rejection.to_response()),
        };
        let event_type = match verified.event_type() {
            Some(event_type) => event_type.to_owned(),
            None => match event::decode::<EnvelopeType>(&verified) {
                Ok(envelope) => envelope.event_type,
                Err(rejection) => return DispatchFuture::ready(rejection.to_response()),
            },
        };
        let Some(route) = self.routes.get(&event_type) else {
            tracing::info!(
                event_id = verified.id(),
                event_type,
                status = self.unknown_status.as_u16(),
                "no handler for this event type; acknowledged"
            );
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = self.unknown_status;
            return DispatchFuture::ready(response);
        };
        let event = match event::decode::<Event<T>>(&verified) {
            Ok(event) => event,
            Err(rejection) => return DispatchFuture::ready(rejection.to_response()),
        };
        let handling = route(event);
        DispatchFuture {
            inner: Box::pin(async move {
                match handling.await {
                    Ok(()) => {
                        tracing::info!(event_id = verified.id(), event_type, "event handled");
                        Ok(Response::new(Full::new(Bytes::new())))
                    }
                    Err(error) => Ok(error.into().respond(Some(&verified))),
                }
            }),
        }
    }
}

/// The response future of [`Dispatcher`].
pub struct DispatchFuture {
    inner: BoxFuture<Result<Response<Full<Bytes>>, Infallible>>,
}

impl DispatchFuture {
    fn ready(response: Response<Full<Bytes>>) -> Self {
        Self {
            inner: Box::pin(ready(Ok(response))),
        }
    }
}

impl Future for DispatchFuture {
    type Output = Result<Response<Full<Bytes>>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl fmt::Debug for DispatchFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DispatchFuture").finish_non_exhaustive()
    }
}
