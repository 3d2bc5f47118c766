//! The verified delivery handed to the inner service, the typed event
//! envelope, and why a verified payload may not fit the type a handler wants.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Extensions, Response, StatusCode};
use http_body_util::Full;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A request extension the layer adds to every delivery it forwards: which
/// event this is, and the exact bytes whose signature was verified.
///
/// Its presence proves the request went through the layer; the
/// [`Webhook`](crate::extract::Webhook) extractor refuses to work without it.
///
/// ```
/// use http::Request;
/// use tower_webhook::Verified;
///
/// fn handle<B>(request: &Request<B>) {
///     let verified = request.extensions().get::<Verified>().expect("behind WebhookLayer");
///     println!("{} {:?} ({} bytes)", verified.id(), verified.event_type(), verified.body().len());
/// }
/// ```
///
/// Cloning it is cheap (a reference count): the layer keeps one for a
/// possible dead letter, and the extractors hand one to the handler, without
/// copying the id, the type or the bytes.
#[derive(Clone)]
pub struct Verified {
    inner: Arc<Parts>,
}

/// An event id and, when there is one, its type, in one allocation (a
/// delivery's id and type are read together and dropped together).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct IdAndType {
    /// The id, then the type.
    text: String,
    id_len: usize,
    has_type: bool,
}

impl IdAndType {
    /// `id` alone, in its own allocation.
    pub(crate) fn new(id: String) -> Self {
        Self {
            id_len: id.len(),
            text: id,
            has_type: false,
        }
    }

    /// `id` and `event_type`, copied into one allocation.
    pub(crate) fn of(id: &str, event_type: Option<&str>) -> Self {
        let mut this = Self::new(String::with_capacity(id.len() + event_type.map_or(0, str::len)));
        this.refill(id, event_type);
        this
    }

    /// How many bytes the id and type may take without a new allocation.
    pub(crate) fn capacity(&self) -> usize {
        self.text.capacity()
    }

    /// Replaces the id and the type, in this allocation while they fit.
    pub(crate) fn refill(&mut self, id: &str, event_type: Option<&str>) {
        self.text.clear();
        self.text.push_str(id);
        self.id_len = id.len();
        self.set_type(event_type);
    }

    /// Replaces the type.
    pub(crate) fn set_type(&mut self, event_type: Option<&str>) {
        self.text.truncate(self.id_len);
        self.text.push_str(event_type.unwrap_or_default());
        self.has_type = event_type.is_some();
    }

    pub(crate) fn id(&self) -> &str {
        // `id_len` is where the id ends: a character boundary.
        self.text.get(..self.id_len).unwrap_or_default()
    }

    pub(crate) fn event_type(&self) -> Option<&str> {
        if self.has_type {
            self.text.get(self.id_len..)
        } else {
            None
        }
    }
}

impl fmt::Debug for IdAndType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdAndType")
            .field("id", &self.id())
            .field("event_type", &self.event_type())
            .finish()
    }
}

/// What a [`Verified`] shares between its clones.
struct Parts {
    /// The event id and type.
    id: IdAndType,
    timestamp: Option<i64>,
    body: Bytes,
    /// What the layer keeps for a dead letter (not shown by `Debug`: the
    /// headers may carry a sender's token).
    head: Option<RequestHead>,
    /// The payload, when the layer decoded it for the extractor
    /// ([`WebhookLayer::decode_as`](crate::WebhookLayer::decode_as)); the
    /// first extractor of its type takes it.
    decoded: Mutex<Option<Box<dyn Any + Send>>>,
}

/// The request line and headers a verified delivery arrived with, kept in
/// the same allocation as the rest of [`Verified`] so that a delivery the
/// handler marks can become a dead letter.
pub(crate) struct RequestHead {
    pub(crate) method: http::Method,
    pub(crate) uri: http::Uri,
    pub(crate) headers: http::HeaderMap,
}

/// Removes what must never be stored or handed on again from the headers a
/// delivery was verified with: the request's own credentials
/// (`Authorization`, `Proxy-Authorization`, `Cookie`). Every store of
/// deliveries (dead letters, the inbox) goes through this one function.
pub(crate) fn strip_credentials(headers: &mut http::HeaderMap) {
    use http::header::{AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION};
    for name in [AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE] {
        headers.remove(name);
    }
}

impl fmt::Debug for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("id", &self.id())
            .field("event_type", &self.event_type())
            .field("timestamp", &self.inner.timestamp)
            .field("body", &self.inner.body)
            .finish()
    }
}

impl Verified {
    pub(crate) fn new(id: &str, event_type: Option<&str>, timestamp: Option<i64>, body: Bytes) -> Self {
        Self::with_head(IdAndType::of(id, event_type), timestamp, body, None, None)
    }

    pub(crate) fn with_head(
        id: IdAndType,
        timestamp: Option<i64>,
        body: Bytes,
        head: Option<RequestHead>,
        decoded: Option<Box<dyn Any + Send>>,
    ) -> Self {
        Self {
            inner: Arc::new(Parts {
                id,
                timestamp,
                body,
                head,
                decoded: Mutex::new(decoded),
            }),
        }
    }

    /// The payload the layer decoded, if it is a `T` and no extractor took
    /// it yet.
    fn take_decoded<T: 'static>(&self) -> Option<T> {
        let mut slot = self.inner.decoded.lock().unwrap_or_else(PoisonError::into_inner);
        if !slot.as_ref().is_some_and(|value| value.is::<T>()) {
            return None;
        }
        slot.take()?.downcast::<T>().ok().map(|value| *value)
    }

    /// The request line and headers the layer kept, if it did.
    pub(crate) fn head(&self) -> Option<&RequestHead> {
        self.inner.head.as_ref()
    }

    /// The event id, as the scheme read it (a header or the body).
    pub fn id(&self) -> &str {
        self.inner.id.id()
    }

    /// The event type, when the scheme knows it.
    pub fn event_type(&self) -> Option<&str> {
        self.inner.id.event_type()
    }

    /// The signed timestamp in unix seconds, when the scheme has one.
    pub fn timestamp(&self) -> Option<i64> {
        self.inner.timestamp
    }

    /// The raw body whose signature was verified (shared, not copied).
    pub fn body(&self) -> &Bytes {
        &self.inner.body
    }

    /// Deserializes the verified body as JSON.
    ///
    /// ```
    /// # use tower_webhook::{Event, Verified};
    /// fn order_id(verified: &Verified) -> Option<String> {
    ///     let event: Event<serde_json::Value> = verified.json().ok()?;
    ///     event.data["orderId"].as_str().map(str::to_owned)
    /// }
    /// ```
    ///
    /// # Errors
    ///
    /// [`EventRejection::NotJson`] (`400`) when the body is not JSON, and
    /// [`EventRejection::InvalidData`] (`422`) when it is JSON that does not
    /// fit `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, EventRejection> {
        serde_json::from_slice(&self.inner.body).map_err(|error| {
            if error.is_data() {
                EventRejection::InvalidData(error)
            } else {
                EventRejection::NotJson(error)
            }
        })
    }
}

/// Why a handler did not get the typed event it asked for: the request was
/// never verified, or the verified payload does not fit the type.
///
/// Both the [`Webhook`](crate::extract::Webhook) extractor and the
/// [`Dispatcher`](crate::handler::Dispatcher) answer with it, and log it at
/// `warn` with its reason. Like axum's `JsonRejection`, every variant
/// documents its status code; the response body is a short fixed text
/// ([`EventRejection::body_text`]) and the detail goes to the log.
///
/// None of these is worth retrying. Behind the layer, a verified payload that
/// is not JSON or does not fit the type becomes a
/// [dead letter](crate::dead_letter): stored, committed and acknowledged, so
/// the sender stops.
#[derive(Debug)]
#[non_exhaustive]
pub enum EventRejection {
    /// `500 Internal Server Error`: the request has no [`Verified`]
    /// extension, so the route is not behind [`WebhookLayer`](crate::WebhookLayer).
    /// This is a wiring mistake; the payload is never handed on unverified.
    MissingLayer,
    /// `400 Bad Request`: the verified payload is not JSON (a syntax error,
    /// or it ends early).
    NotJson(serde_json::Error),
    /// `422 Unprocessable Entity`: the verified payload is JSON but does not
    /// fit the type asked for (a missing field, a wrong type), as with axum's `Json`.
    InvalidData(serde_json::Error),
}

impl EventRejection {
    /// The status code that answers this rejection.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingLayer => StatusCode::INTERNAL_SERVER_ERROR,
            Self::NotJson(_) => StatusCode::BAD_REQUEST,
            Self::InvalidData(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    /// The fixed text of the response body.
    pub fn body_text(&self) -> &'static str {
        match self {
            Self::MissingLayer => "webhook route is not behind WebhookLayer",
            Self::NotJson(_) => "payload is not valid JSON",
            Self::InvalidData(_) => "payload does not fit the expected event",
        }
    }

    /// The response: the status and the fixed text as `text/plain`. For a
    /// payload that is not JSON or does not fit the type, which no retry can
    /// change, also the [`PermanentFailure`] extension: behind the layer the
    /// delivery becomes a [dead letter](crate::dead_letter).
    pub fn to_response(&self) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::from_static(self.body_text().as_bytes())));
        *response.status_mut() = self.status();
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if matches!(self, Self::NotJson(_) | Self::InvalidData(_)) {
            response
                .extensions_mut()
                .insert(PermanentFailure::new(self.to_string()));
        }
        response
    }

    fn log(&self, verified: Option<&Verified>) {
        tracing::warn!(
            status = self.status().as_u16(),
            reason = %self,
            event_id = verified.map(Verified::id),
            event_type = verified.and_then(Verified::event_type),
            "webhook event rejected"
        );
    }
}

impl fmt::Display for EventRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingLayer => {
                f.write_str("the request has no `Verified` extension: the route is not behind `WebhookLayer`")
            }
            Self::NotJson(error) => write!(f, "the verified payload is not JSON: {error}"),
            Self::InvalidData(error) => {
                write!(f, "the verified payload does not fit the expected type: {error}")
            }
        }
    }
}

impl std::error::Error for EventRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::MissingLayer => None,
            Self::NotJson(error) | Self::InvalidData(error) => Some(error),
        }
    }
}

/// The request's [`Verified`] extension, or [`EventRejection::MissingLayer`] (logged).
pub(crate) fn verified(extensions: &Extensions) -> Result<&Verified, EventRejection> {
    extensions.get::<Verified>().ok_or_else(|| {
        let rejection = EventRejection::MissingLayer;
        rejection.log(None);
        rejection
    })
}

/// The verified payload as a `T`, or the rejection (logged). The one decoding
/// path of the extractor and the dispatcher, so both answer alike.
///
/// A `T` the layer already decoded ([`WebhookLayer::decode_as`]) is taken
/// instead of parsing the body again: it is what `serde_json::from_slice`
/// gives for the same bytes.
///
/// [`WebhookLayer::decode_as`]: crate::WebhookLayer::decode_as
pub(crate) fn decode<T: DeserializeOwned + 'static>(verified: &Verified) -> Result<T, EventRejection> {
    if let Some(event) = verified.take_decoded::<T>() {
        return Ok(event);
    }
    verified
        .json()
        .inspect_err(|rejection| rejection.log(Some(verified)))
}

/// The event envelope of the source article: `{"id", "type", "created", "data"}`.
///
/// `T` is the type of `data`; use `serde_json::Value` to take any. Only the
/// article's Petstore (and senders that copy its shape) wrap events this way:
/// GitHub, Stripe, Slack and Shopify each send a payload of their own, which
/// you deserialize into a type of that shape instead (see
/// [`Dispatcher`](crate::handler::Dispatcher) for GitHub and Stripe handlers).
///
/// ```
/// use tower_webhook::Event;
///
/// #[derive(serde::Deserialize)]
/// #[serde(rename_all = "camelCase")]
/// struct Order { order_id: String, status: String, completed_at: Option<String> }
///
/// // The source article's event, byte for byte.
/// let event: Event<Order> = serde_json::from_str(
///     r#"{"id":"evt_123","type":"order.completed","created":1710331200,"data":{"orderId":"123","status":"completed","completedAt":"2024-01-01T12:00:00Z"}}"#,
/// )?;
/// assert_eq!((event.id.as_str(), event.event_type.as_str(), event.created), ("evt_123", "order.completed", 1710331200));
/// assert_eq!((event.data.order_id.as_str(), event.data.status.as_str()), ("123", "completed"));
/// assert_eq!(event.data.completed_at.as_deref(), Some("2024-01-01T12:00:00Z"));
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// # Your own enum of event types
///
/// When each type has its own payload, a tagged enum reads the same envelope
/// (other fields such as `id` and `created` are ignored; take the id from
/// [`Verified::id`]). Give it a catch-all `#[serde(other)]` variant: a sender
/// may start sending a type you do not know yet, and it must be acknowledged
/// with `2xx` rather than refused with `422`, or the sender retries it for
/// days.
///
/// Tag it internally (`#[serde(tag = "type")]`, each variant holding its
/// `data`): serde's catch-all works there whatever the payload of the unknown
/// type. With adjacent tagging (`tag = "type", content = "data"`) serde
/// accepts `#[serde(other)]` only for events without `data`, so an unknown
/// type with a payload would be refused.
///
/// ```
/// #[derive(serde::Deserialize)]
/// #[serde(rename_all = "camelCase")]
/// struct Order { order_id: String, status: String }
///
/// #[derive(serde::Deserialize)]
/// #[serde(tag = "type")]
/// enum PetstoreEvent {
///     #[serde(rename = "order.created")]
///     OrderCreated { data: Order },
///     #[serde(rename = "order.cancelled")]
///     OrderCancelled { data: Order },
///     #[serde(other)]
///     Unknown,
/// }
///
/// let known: PetstoreEvent = serde_json::from_str(
///     r#"{"id":"evt_1","type":"order.created","created":1700000000,"data":{"orderId":"ord_9","status":"created"}}"#,
/// )?;
/// assert!(matches!(known, PetstoreEvent::OrderCreated { data } if data.order_id == "ord_9" && data.status == "created"));
///
/// // A type added later by the sender: caught, whatever its payload.
/// let new_type: PetstoreEvent = serde_json::from_str(
///     r#"{"id":"evt_2","type":"pet.adopted","created":1700000000,"data":{"pet":"Rex"}}"#,
/// )?;
/// assert!(matches!(new_type, PetstoreEvent::Unknown));
///
/// // A known type with a payload that does not fit is still an error (422),
/// // never silently taken for an unknown type.
/// let bad = serde_json::from_str::<PetstoreEvent>(
///     r#"{"id":"evt_3","type":"order.created","data":{"orderId":7,"status":"created"}}"#,
/// );
/// assert!(bad.is_err_and(|error| error.is_data()));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event<T> {
    /// The event id: the same on every redelivery of the event.
    pub id: String,
    /// The event type, such as `order.created`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the event happened, in unix seconds.
    #[serde(default)]
    pub created: i64,
    /// The event's payload.
    pub data: T,
}

/// A response extension by which the inner service says that the event can
/// never succeed (bad data, a deleted order): the layer then keeps the
/// delivery as a [dead letter](crate::dead_letter), **commits** the event
/// whatever the status, and answers with its
/// [dead-letter status](crate::WebhookLayer::dead_letter_status) (default
/// `200`), so a redelivery is dropped as a duplicate instead of failing
/// again. Without it, a non-2xx response releases the event for the
/// sender's retry.
///
/// Set it on any response to mark its delivery:
/// `response.extensions_mut().insert(PermanentFailure::new("why"))`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermanentFailure {
    reason: String,
}

impl PermanentFailure {
    /// A permanent failure for this reason (logged; never sent to the sender).
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    /// Why the event can never succeed.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

#[cfg(test)]
mod tests {
    use super::IdAndType;

    #[test]
    fn id_and_type_read_back_apart() {
        let both = IdAndType::of("evt_é1", Some("order.créé"));
        assert_eq!((both.id(), both.event_type()), ("evt_é1", Some("order.créé")));
        let alone = IdAndType::of("evt_2", None);
        assert_eq!((alone.id(), alone.event_type()), ("evt_2", None));
        // An empty type is a type, not its absence.
        let empty = IdAndType::of("evt_3", Some(""));
        assert_eq!(empty.event_type(), Some(""));
        assert_ne!(empty, IdAndType::of("evt_3", None));
        assert_ne!(alone, IdAndType::of("evt_", Some("2")));
    }

    #[test]
    fn setting_the_type_replaces_it() {
        let mut id = IdAndType::new("evt_1".to_owned());
        assert_eq!(id.event_type(), None);
        id.set_type(Some("a.long.type"));
        assert_eq!((id.id(), id.event_type()), ("evt_1", Some("a.long.type")));
        id.set_type(Some("b"));
        assert_eq!((id.id(), id.event_type()), ("evt_1", Some("b")));
        id.set_type(None);
        assert_eq!((id.id(), id.event_type()), ("evt_1", None));
        assert_eq!(id, IdAndType::of("evt_1", None));
        id.refill("evt_longer_than_before", Some("t"));
        assert_eq!(id, IdAndType::of("evt_longer_than_before", Some("t")));
        id.refill("e", None);
        assert_eq!(id, IdAndType::of("e", None));
    }
}
