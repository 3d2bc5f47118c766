//! The verified delivery handed to the inner service, and the typed event envelope.

use bytes::Bytes;
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
#[derive(Debug, Clone)]
pub struct Verified {
    id: String,
    event_type: Option<String>,
    timestamp: Option<i64>,
    body: Bytes,
}

impl Verified {
    pub(crate) fn new(id: String, event_type: Option<String>, timestamp: Option<i64>, body: Bytes) -> Self {
        Self {
            id,
            event_type,
            timestamp,
            body,
        }
    }

    /// The event id, as the scheme read it (a header or the body).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The event type, when the scheme knows it.
    pub fn event_type(&self) -> Option<&str> {
        self.event_type.as_deref()
    }

    /// The signed timestamp in unix seconds, when the scheme has one.
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// The raw body whose signature was verified (shared, not copied).
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

/// The event envelope of the source article: `{"id", "type", "created", "data"}`.
///
/// `T` is the type of `data`; use `serde_json::Value` to take any.
///
/// ```
/// use tower_webhook::Event;
///
/// #[derive(serde::Deserialize)]
/// struct Order { order_id: String }
///
/// let event: Event<Order> = serde_json::from_str(
///     r#"{"id":"evt_1","type":"order.created","created":1700000000,"data":{"order_id":"ord_9"}}"#,
/// )?;
/// assert_eq!(event.event_type, "order.created");
/// assert_eq!(event.data.order_id, "ord_9");
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
/// never succeed (bad data, a deleted order): the layer then **commits** the
/// event whatever the status, so a redelivery is dropped as a duplicate
/// instead of failing again. Without it, a non-2xx response releases the
/// event for the sender's retry.
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
