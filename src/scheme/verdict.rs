//! What a scheme answers: a [`Verdict`], either an event ([`VerifiedEvent`]) or a
//! handshake [`Reply`] the layer sends itself.

use std::fmt;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use http::{Response, StatusCode};

use crate::event::{IdAndType, RequestHead, Verified};
use crate::rejection::Rejection;
pub use crate::rejection::MAX_ID_LEN;

/// What a verified request is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// An event, for the replay guard and the inner service.
    Event(VerifiedEvent),
    /// A handshake the layer answers itself, without the replay guard or
    /// the inner service (Slack's `url_verification`, Discord's PING, ...).
    Reply(Reply),
}

impl Verdict {
    /// The event, if this is one.
    pub fn event(&self) -> Option<&VerifiedEvent> {
        match self {
            Self::Event(d) => Some(d),
            Self::Reply(_) => None,
        }
    }

    /// The handshake answer, if this is one.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Self::Reply(r) => Some(r),
            Self::Event(_) => None,
        }
    }
}

/// The layer's own answer to a verified handshake: a status, an optional
/// content type and a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    status: StatusCode,
    content_type: Option<&'static str>,
    body: Bytes,
}

impl Reply {
    /// An answer with this status, content type and body.
    pub fn new(status: StatusCode, content_type: Option<&'static str>, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            content_type,
            body: body.into(),
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The content type, if the answer has a body worth typing.
    pub fn content_type(&self) -> Option<&'static str> {
        self.content_type
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The HTTP response.
    pub fn into_response<B: From<Bytes>>(self) -> Response<B> {
        let mut response = Response::new(B::from(self.body));
        *response.status_mut() = self.status;
        if let Some(content_type) = self.content_type {
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            // An echo (Meta's `hub.challenge`, Twitch's challenge) is the
            // sender's text: never let a browser sniff it into HTML.
            response
                .headers_mut()
                .insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        }
        response
    }
}

/// What a verified delivery is: its event id (the replay key), and the event
/// type and timestamp where the scheme has them.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedEvent {
    id: IdAndType,
    timestamp: Option<i64>,
    replay_key: Option<String>,
}

impl fmt::Debug for VerifiedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedEvent")
            .field("id", &self.id())
            .field("event_type", &self.event_type())
            .field("timestamp", &self.timestamp)
            .field("replay_key", &self.replay_key)
            .finish()
    }
}

impl VerifiedEvent {
    /// A delivery of the event `id`.
    ///
    /// # Errors
    ///
    /// [`Rejection::InvalidEventId`] when the id is empty or longer than
    /// [`MAX_ID_LEN`] bytes.
    pub fn new(id: impl Into<String>) -> Result<Self, Rejection> {
        let id = id.into();
        check_id(&id)?;
        Ok(Self::of(IdAndType::new(id)))
    }

    /// A delivery of the event `id` of type `event_type`, both copied into
    /// one allocation.
    pub(crate) fn with_id_and_type(id: &str, event_type: Option<&str>) -> Result<Self, Rejection> {
        check_id(id)?;
        Ok(Self::of(IdAndType::of(id, event_type)))
    }

    fn of(id: IdAndType) -> Self {
        Self {
            id,
            timestamp: None,
            replay_key: None,
        }
    }

    /// Sets the event type.
    #[must_use]
    pub fn with_event_type(mut self, event_type: Option<String>) -> Self {
        self.id.set_type(event_type.as_deref());
        self
    }

    /// Sets the signed timestamp (unix seconds).
    #[must_use]
    pub fn with_timestamp(mut self, timestamp: Option<i64>) -> Self {
        self.timestamp = timestamp;
        self
    }

    /// Adds a second replay key besides the id: the layer drops the delivery
    /// if either was processed. A scheme whose id header is not signed may
    /// opt in to the signature itself
    /// ([`SpecBuilder::dedupe_on_signature`](crate::scheme::SpecBuilder::dedupe_on_signature)), so that resending a captured
    /// delivery with a fresh id is still caught.
    #[must_use]
    pub fn with_replay_key(mut self, key: String) -> Self {
        self.replay_key = Some(key);
        self
    }

    /// The event id.
    pub fn id(&self) -> &str {
        self.id.id()
    }

    /// The event type, when the scheme knows it.
    pub fn event_type(&self) -> Option<&str> {
        self.id.event_type()
    }

    /// The signed timestamp in unix seconds, when the scheme has one.
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// The keys the replay guard is asked about: the id, then the extra key if any.
    pub fn replay_keys(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id()).chain(self.replay_key.as_deref())
    }

    /// The [`Verified`](crate::Verified) extension for `body` (keeping the
    /// request's `head` for a dead letter, and the payload if the layer
    /// decoded it), and the
    /// scheme's replay key besides the id, if it has one.
    pub(crate) fn into_verified(
        self,
        body: Bytes,
        head: RequestHead,
        decoded: Option<Box<dyn std::any::Any + Send>>,
    ) -> (Verified, Option<String>) {
        let verified = Verified::with_head(self.id, self.timestamp, body, Some(head), decoded);
        (verified, self.replay_key)
    }
}

/// An event id must be 1 to [`MAX_ID_LEN`] bytes long.
fn check_id(id: &str) -> Result<(), Rejection> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(Rejection::InvalidEventId { len: id.len() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_length_capped() {
        assert!(VerifiedEvent::new("a".repeat(MAX_ID_LEN)).is_ok());
        assert_eq!(
            VerifiedEvent::new("a".repeat(MAX_ID_LEN + 1)),
            Err(Rejection::InvalidEventId { len: MAX_ID_LEN + 1 })
        );
        assert_eq!(VerifiedEvent::new(""), Err(Rejection::InvalidEventId { len: 0 }));
    }
}
