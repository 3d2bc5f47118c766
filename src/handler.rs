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
//! extension the layer added (not the body, so any body type works), picks
//! the handler registered for the event's type, decodes the payload as the
//! type that handler takes, and calls it.
//!
//! A handler takes any [`DeserializeOwned`]
//! payload type, and optionally the [`Verified`] delivery after it (see
//! [`Handler`]): the article's envelope [`Event<T>`](crate::Event), a
//! provider's own payload (GitHub's, Stripe's), or `serde_json::Value`. Each
//! event type may take a type of its own.
//!
//! | outcome | status | event |
//! |---|---|---|
//! | handler returns `Ok(())` | `200` | committed |
//! | handler returns a retryable error | `500` | released: the sender retries |
//! | handler returns a permanent error | the layer's dead-letter status (default `200`) | a dead letter, committed: the sender stops |
//! | no handler for the type | `200` (see [`unknown_status`](Dispatcher::unknown_status)), logged | committed |
//! | payload not JSON | the dead-letter status (the `Dispatcher`'s own answer is `400`) | a dead letter, committed |
//! | payload JSON but not the handler's type | the dead-letter status (the `Dispatcher`'s own answer is `422`) | a dead letter, committed |
//! | no `Verified` extension (not behind the layer) | `500` naming `WebhookLayer` | handler never called |
//!
//! The table is behind the layer: a permanent error and a payload that is
//! not JSON or does not fit the handler's type are
//! [dead letters](crate::dead_letter), stored, committed, and answered with
//! the layer's dead-letter status (default `200`). The `Dispatcher`'s own
//! answers, which the layer replaces, carry `PermanentFailure`.
//!
//! The handler is chosen by the type the scheme read ([`Verified::event_type`]:
//! GitHub's `X-GitHub-Event`, Shopify's `X-Shopify-Topic`, the body's `type`
//! for the Petstore and Stripe), or, for schemes that do not read one
//! (Standard Webhooks), by the payload's top-level `type`. The type is looked
//! up before the payload is decoded, so an unknown type whose payload has
//! another shape is still acknowledged rather than answered `422`.
//!
//! The source article's Petstore events, in their envelope:
//!
//! ```
//! use bytes::Bytes;
//! use http::StatusCode;
//! use http_body_util::Full;
//! use tower::{ServiceBuilder, ServiceExt};
//! use tower_webhook::handler::{Dispatcher, HandlerError};
//! use tower_webhook::{scheme::Spec, testing, Event, Secret, WebhookLayer};
//!
//! /// `data` of the article's order events.
//! #[derive(serde::Deserialize)]
//! #[serde(rename_all = "camelCase")]
//! struct Order {
//!     order_id: String,
//!     status: String,
//!     completed_at: Option<String>,
//! }
//!
//! async fn order_completed(event: Event<Order>) -> Result<(), HandlerError> {
//!     if event.data.order_id.is_empty() {
//!         // Will never validate: acknowledge it so the sender stops retrying.
//!         return Err(HandlerError::permanent("order without an id"));
//!     }
//!     println!("order {} {} at {:?}", event.data.order_id, event.data.status, event.data.completed_at);
//!     Ok(())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let scheme = Spec::petstore(Secret::new("petstore secret")?);
//! let sign = |body: &str, id: &str| testing::signed_request::<Full<Bytes>>(&scheme, body.to_owned(), id);
//! // The article's event, byte for byte.
//! let completed = sign(
//!     r#"{"id":"evt_123","type":"order.completed","created":1710331200,"data":{"orderId":"123","status":"completed","completedAt":"2024-01-01T12:00:00Z"}}"#,
//!     "evt_123",
//! );
//! let unknown = sign(r#"{"id":"evt_2","type":"pet.adopted","data":{"pet":"Rex"}}"#, "evt_2");
//!
//! let service = ServiceBuilder::new()
//!     .layer(WebhookLayer::new(scheme.clone()))
//!     .service(Dispatcher::new().on("order.completed", order_completed));
//!
//! assert_eq!(service.clone().oneshot(completed).await?.status(), StatusCode::OK);
//! assert_eq!(service.oneshot(unknown).await?.status(), StatusCode::OK);
//! # Ok(())
//! # }
//! ```
//!
//! GitHub and Stripe payloads, each in its provider's own shape. GitHub's
//! delivery id travels in a header, so the handler takes the [`Verified`]
//! delivery too:
//!
//! ```
//! use bytes::Bytes;
//! use http::StatusCode;
//! use http_body_util::Full;
//! use tower::{ServiceBuilder, ServiceExt};
//! use tower_webhook::handler::{Dispatcher, HandlerError};
//! use tower_webhook::scheme::{GitHub, Stripe};
//! use tower_webhook::{testing, Secret, Verified, WebhookLayer};
//!
//! /// The fields of GitHub's `push` payload this handler needs.
//! #[derive(serde::Deserialize)]
//! struct Push {
//!     #[serde(rename = "ref")]
//!     git_ref: String,
//!     after: String,
//! }
//!
//! async fn on_push(push: Push, verified: Verified) -> Result<(), HandlerError> {
//!     // `verified.id()` is `X-GitHub-Delivery`.
//!     println!("{}: {} is now {}", verified.id(), push.git_ref, push.after);
//!     Ok(())
//! }
//!
//! /// A Stripe event: `{"id":"evt_..","object":"event","type":..,"data":{"object":{..}}}`.
//! #[derive(serde::Deserialize)]
//! struct StripeEvent<T> {
//!     id: String,
//!     data: StripeData<T>,
//! }
//!
//! #[derive(serde::Deserialize)]
//! struct StripeData<T> {
//!     object: T,
//! }
//!
//! #[derive(serde::Deserialize)]
//! struct PaymentIntent {
//!     id: String,
//!     amount: u64,
//!     currency: String,
//! }
//!
//! async fn payment_succeeded(event: StripeEvent<PaymentIntent>) -> Result<(), HandlerError> {
//!     let intent = event.data.object;
//!     println!("{}: {} received {} {}", event.id, intent.id, intent.amount, intent.currency);
//!     Ok(())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let github = GitHub::new(Secret::new("github secret")?);
//! let mut push = testing::signed_request::<Full<Bytes>>(
//!     &github,
//!     r#"{"ref":"refs/heads/main","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","after":"0000000000000000000000000000000000000000","repository":{"full_name":"octo-org/octo-repo"}}"#,
//!     "72d3162e-cc78-11e3-81ab-4c9367dc0958",
//! );
//! push.headers_mut().insert("x-github-event", "push".parse()?);
//! let github = ServiceBuilder::new()
//!     .layer(WebhookLayer::new(github))
//!     .service(Dispatcher::new().on("push", on_push));
//! assert_eq!(github.oneshot(push).await?.status(), StatusCode::OK);
//!
//! let stripe = Stripe::new(Secret::new("whsec_test_secret")?);
//! let paid = testing::signed_request::<Full<Bytes>>(
//!     &stripe,
//!     r#"{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","object":"payment_intent","amount":2000,"currency":"usd"}}}"#,
//!     "unused: Stripe's id is in the body",
//! );
//! let stripe = ServiceBuilder::new()
//!     .layer(WebhookLayer::new(stripe))
//!     .service(Dispatcher::new().on("payment_intent.succeeded", payment_succeeded));
//! assert_eq!(stripe.oneshot(paid).await?.status(), StatusCode::OK);
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

#[cfg(doc)]
use crate::event::Event;
use crate::event::{self, EventRejection, PermanentFailure, Verified};
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

/// An async function the [`Dispatcher`] can call with a verified event.
///
/// Implemented for every `Fn(T) -> Future` and `Fn(T, Verified) -> Future`
/// whose future returns `Result<(), E>`, where `T` is any
/// [`DeserializeOwned`] type: the article's envelope [`Event<T>`], a
/// provider's own payload type (a GitHub `push`, a Stripe event), or
/// `serde_json::Value`. The [`Verified`] argument carries what the scheme
/// read outside the body (the event id, the type, the signed timestamp),
/// which is how a handler for GitHub, whose id travels in a header, learns
/// the delivery id. `Args` only tells the two shapes apart; you never name it.
pub trait Handler<Args, E>: Send + Sync + 'static {
    /// Decodes the payload the handler takes and starts it.
    ///
    /// # Errors
    ///
    /// The [`EventRejection`] when the payload is not JSON or does not fit.
    fn call(&self, verified: &Verified) -> Result<BoxFuture<Result<(), E>>, EventRejection>;
}

impl<F, Fut, T, E> Handler<(T,), E> for F
where
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    T: DeserializeOwned + 'static,
{
    fn call(&self, verified: &Verified) -> Result<BoxFuture<Result<(), E>>, EventRejection> {
        let event = event::decode::<T>(verified)?;
        Ok(Box::pin(self(event)))
    }
}

impl<F, Fut, T, E> Handler<(T, Verified), E> for F
where
    F: Fn(T, Verified) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    T: DeserializeOwned + 'static,
{
    fn call(&self, verified: &Verified) -> Result<BoxFuture<Result<(), E>>, EventRejection> {
        let event = event::decode::<T>(verified)?;
        Ok(Box::pin(self(event, verified.clone())))
    }
}

type Route<E> = Arc<dyn Fn(&Verified) -> Result<BoxFuture<Result<(), E>>, EventRejection> + Send + Sync>;

/// A tower [`Service`] that routes verified events by type to async handlers.
///
/// Put it behind [`WebhookLayer`](crate::WebhookLayer); see the
/// [module docs](self) for the status of each outcome and examples. Each
/// handler takes the payload type it wants (any [`DeserializeOwned`] type,
/// decoded for that handler alone) and optionally the [`Verified`] delivery
/// (see [`Handler`]), and returns `Result<(), E>`, where `E` converts into a
/// [`HandlerError`] (which is what says retryable or permanent); returning
/// `HandlerError` itself is the simplest.
pub struct Dispatcher<E = HandlerError> {
    routes: Arc<HashMap<String, Route<E>>>,
    unknown_status: StatusCode,
}

impl<E> Dispatcher<E> {
    /// A dispatcher with no handlers yet.
    pub fn new() -> Self {
        Self {
            routes: Arc::new(HashMap::new()),
            unknown_status: StatusCode::OK,
        }
    }

    /// Calls `handler` for events of type `event_type`, replacing any handler
    /// registered for it before. The payload is decoded as the type the
    /// handler takes only once the type matched, so each event type can have
    /// a payload type of its own.
    #[must_use]
    pub fn on<Args, H>(mut self, event_type: impl Into<String>, handler: H) -> Self
    where
        H: Handler<Args, E>,
    {
        let route: Route<E> = Arc::new(move |verified| handler.call(verified));
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

impl<E> Default for Dispatcher<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Clone for Dispatcher<E> {
    fn clone(&self) -> Self {
        Self {
            routes: Arc::clone(&self.routes),
            unknown_status: self.unknown_status,
        }
    }
}

impl<E> fmt::Debug for Dispatcher<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut types: Vec<_> = self.event_types().collect();
        types.sort_unstable();
        f.debug_struct("Dispatcher")
            .field("event_types", &types)
            .field("unknown_status", &self.unknown_status)
            .finish()
    }
}

/// Just the payload's top-level `type`, for schemes that do not read one.
#[derive(Deserialize)]
struct EnvelopeType {
    #[serde(rename = "type")]
    event_type: String,
}

impl<E, B> Service<Request<B>> for Dispatcher<E>
where
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
        // The type the scheme read, else the envelope's (only then copied).
        let from_body = match verified.event_type() {
            Some(_) => None,
            None => match event::decode::<EnvelopeType>(&verified) {
                Ok(envelope) => Some(envelope.event_type),
                Err(rejection) => return DispatchFuture::ready(rejection.to_response()),
            },
        };
        let event_type = from_body.as_deref().or(verified.event_type()).unwrap_or_default();
        let Some(route) = self.routes.get(event_type) else {
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
        let handling = match route(&verified) {
            Ok(handling) => handling,
            Err(rejection) => return DispatchFuture::ready(rejection.to_response()),
        };
        DispatchFuture {
            inner: Box::pin(async move {
                match handling.await {
                    Ok(()) => {
                        let event_type = from_body.as_deref().or(verified.event_type());
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
