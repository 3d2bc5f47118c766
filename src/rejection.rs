//! [`Rejection`]: why the layer answered a delivery itself instead of
//! passing it on, and the HTTP response that goes with each reason.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use http::{Response, StatusCode};
use http_body_util::Full;

/// Why a delivery was refused before reaching the inner service.
///
/// Every variant documents its status code; the codes follow one rule: **4xx
/// for a delivery that will never succeed as sent, 409/503 for one that should
/// be retried**, so a sender's retry logic does the right thing.
///
/// The response body is a short fixed text (see [`Rejection::to_response`]); it
/// never says which secret or which byte failed, and every `401` shares one
/// text. The full reason is logged with `tracing` (at `warn` for the first of
/// its kind per [interval](crate::WebhookLayer::rejection_log_interval), at
/// `debug` otherwise) and the `Rejection` is put in the response's extensions,
/// so a user may map it to their own response with
/// [`WebhookLayer::on_rejection`](crate::WebhookLayer::on_rejection).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// `413 Payload Too Large`: the body is longer than the limit, told by
    /// `Content-Length` before reading or found while reading.
    BodyTooLarge {
        /// The configured limit, in bytes.
        limit: usize,
    },
    /// `400 Bad Request`: the request body could not be read (the client
    /// went away, or the transfer encoding was broken).
    BodyUnreadable,
    /// `408 Request Timeout`: the body did not arrive in full within the
    /// [body timeout](crate::WebhookLayer::body_timeout).
    BodyTimeout {
        /// The configured timeout.
        limit: Duration,
    },
    /// `400 Bad Request`: a header the scheme needs (an id, a timestamp) is missing.
    MissingHeader {
        /// The header's name.
        name: HeaderName,
    },
    /// `400 Bad Request`: a header the scheme needs is present but cannot
    /// be parsed (not UTF-8, not a number, repeated with different values).
    InvalidHeader {
        /// The header's name.
        name: HeaderName,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `400 Bad Request`: the signature is valid but the event id could not
    /// be read from where the scheme takes it (e.g. the body is not JSON or
    /// has no `id`).
    MissingEventId,
    /// `400 Bad Request`: the signature is valid but the JSON body repeats a
    /// key on the way to the event id or type (`{"id":"a","id":"b"}`, or
    /// `event` twice before `event.type`). Parsers disagree on which
    /// occurrence counts, so the replay key and what the handler reads
    /// could differ; such a body is refused rather than guessed at.
    DuplicateJsonKey {
        /// The repeated key, as a dotted path from the top (`id`, `event.type`).
        path: Box<str>,
    },
    /// `400 Bad Request`: the event id is longer than
    /// [`MAX_ID_LEN`](crate::MAX_ID_LEN) bytes, or empty.
    InvalidEventId {
        /// The id's length in bytes.
        len: usize,
    },
    /// `400 Bad Request`: the signature is valid and the request is a
    /// handshake (Slack's `url_verification`, Zoom's URL validation, Twitch's
    /// callback verification), but a field its answer needs is missing.
    MalformedHandshake {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `400 Bad Request`: the signature is valid but a field the scheme reads
    /// from the body (a body-sourced timestamp, such as Linear's
    /// `webhookTimestamp`) is missing or cannot be parsed.
    InvalidBodyField {
        /// The field's dotted path in the JSON body.
        path: Box<str>,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `401 Unauthorized`: the signature header is missing.
    MissingSignature {
        /// The header's name.
        name: HeaderName,
    },
    /// `401 Unauthorized`: the signature header holds no signature this
    /// scheme can read (wrong prefix, bad hex or base64, wrong length).
    MalformedSignature {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `401 Unauthorized`: no signature matches any configured secret.
    SignatureMismatch,
    /// `401 Unauthorized`: the signed timestamp is older than the tolerance.
    TimestampTooOld {
        /// How old it is, in seconds.
        age_secs: u64,
    },
    /// `401 Unauthorized`: the signed timestamp lies further in the future
    /// than the tolerance.
    TimestampTooNew {
        /// How far ahead it is, in seconds.
        ahead_secs: u64,
    },
    /// `409 Conflict` with `Retry-After`: another request is processing the
    /// same event right now. The sender should retry; by then the event is
    /// either done (the retry gets 200) or was released (the retry processes it).
    /// `Retry-After` is the guard's hint, at most 5 seconds.
    InFlight {
        /// When to retry.
        retry_after: Duration,
    },
    /// `503 Service Unavailable` with `Retry-After`: the inner service did not
    /// answer within its bound: the [deadline](crate::WebhookLayer::deadline),
    /// and in any case a little less than the replay guard's
    /// [claim lifetime](crate::ReplayGuard::claim_lifetime). It was cancelled
    /// and the event released, so a retry processes it.
    DeadlineExceeded {
        /// The deadline that passed.
        deadline: Duration,
    },
    /// `503 Service Unavailable` with `Retry-After`: the replay guard could
    /// not be asked (e.g. its store is unreachable). The handler was not
    /// called; the sender retries and nothing is lost.
    GuardUnavailable,
    /// `503 Service Unavailable` with `Retry-After`: as many deliveries as
    /// the [concurrency limit](crate::WebhookLayer::concurrency_limit) are
    /// in progress already (checked before the body is read, and again
    /// once the delivery is verified, when its handler's slot is taken), or
    /// as many unverified bodies as the
    /// [read limit](crate::WebhookLayer::concurrent_reads) are still
    /// arriving. The replay guard was not asked, the handler not called;
    /// the sender retries.
    Overloaded {
        /// The limit that was reached.
        limit: usize,
    },
    /// `503 Service Unavailable` with `Retry-After`: the receiver is shutting
    /// down ([`Shutdown::drain`](crate::layer::Shutdown::drain) has begun).
    /// Nothing was read or processed; the sender retries, to this process
    /// after its restart or to another replica.
    ShuttingDown,
    /// `503 Service Unavailable` with `Retry-After`: the handler marked the
    /// delivery as never processable, but the
    /// [dead-letter sink](crate::dead_letter::DeadLetterSink) could not keep
    /// it. The event was released, so the sender's retry tries again and the
    /// delivery is not lost.
    DeadLetterUnavailable,
    /// `503 Service Unavailable` with `Retry-After`: in
    /// [inbox mode](crate::inbox), the verified delivery could not be stored
    /// durably (the [inbox store](crate::inbox::InboxStore) failed). Nothing
    /// was acknowledged; the sender retries and nothing is lost.
    InboxUnavailable,
}

impl Rejection {
    /// The status code that answers this rejection.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::BodyUnreadable
            | Self::MissingHeader { .. }
            | Self::InvalidHeader { .. }
            | Self::MissingEventId
            | Self::DuplicateJsonKey { .. }
            | Self::InvalidEventId { .. }
            | Self::MalformedHandshake { .. }
            | Self::InvalidBodyField { .. } => StatusCode::BAD_REQUEST,
            Self::MissingSignature { .. }
            | Self::MalformedSignature { .. }
            | Self::SignatureMismatch
            | Self::TimestampTooOld { .. }
            | Self::TimestampTooNew { .. } => StatusCode::UNAUTHORIZED,
            Self::InFlight { .. } => StatusCode::CONFLICT,
            Self::DeadlineExceeded { .. }
            | Self::GuardUnavailable
            | Self::Overloaded { .. }
            | Self::ShuttingDown
            | Self::DeadLetterUnavailable
            | Self::InboxUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `Retry-After` this rejection asks for, if it invites a retry.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::InFlight { retry_after } => Some(*retry_after),
            Self::DeadlineExceeded { .. }
            | Self::GuardUnavailable
            | Self::Overloaded { .. }
            | Self::ShuttingDown
            | Self::DeadLetterUnavailable
            | Self::InboxUnavailable => Some(Duration::from_secs(1)),
            _ => None,
        }
    }

    /// The fixed text of the response body: short, and the same for every
    /// rejection of a kind, so it reveals nothing an attacker could use.
    ///
    /// Every `401` answers `invalid signature`, a stale or future timestamp
    /// included: a body of its own would let anyone read the server's clock
    /// and tolerance by probing with a few dozen requests. The reason stays in
    /// the log line and in the `Rejection` value.
    pub fn body_text(&self) -> &'static str {
        match self {
            Self::BodyTooLarge { .. } => "payload too large",
            Self::BodyUnreadable => "body could not be read",
            Self::BodyTimeout { .. } => "body not received in time",
            Self::MissingHeader { .. } | Self::InvalidHeader { .. } => "missing or invalid header",
            Self::MissingEventId | Self::InvalidEventId { .. } => "missing or invalid event id",
            Self::MalformedHandshake { .. } => "malformed handshake",
            Self::DuplicateJsonKey { .. } => "duplicate key in body",
            Self::InvalidBodyField { .. } => "missing or invalid body field",
            Self::MissingSignature { .. }
            | Self::MalformedSignature { .. }
            | Self::SignatureMismatch
            | Self::TimestampTooOld { .. }
            | Self::TimestampTooNew { .. } => "invalid signature",
            Self::InFlight { .. } => "event is being processed",
            Self::DeadlineExceeded { .. } => "handler timed out",
            Self::GuardUnavailable | Self::DeadLetterUnavailable | Self::InboxUnavailable => {
                "temporarily unavailable"
            }
            Self::Overloaded { .. } => "too many deliveries in progress",
            Self::ShuttingDown => "shutting down",
        }
    }

    /// The default response: the status, `Retry-After` where it applies, the
    /// fixed text as `text/plain`, and the `Rejection` in the extensions.
    pub fn to_response(&self) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::from_static(self.body_text().as_bytes())));
        *response.status_mut() = self.status();
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if let Some(after) = self.retry_after() {
            response
                .headers_mut()
                .insert(RETRY_AFTER, retry_after_value(after));
        }
        response.extensions_mut().insert(self.clone());
        response
    }
}

/// `Retry-After` in whole seconds, rounded up, at least 1.
pub(crate) fn retry_after_value(after: Duration) -> HeaderValue {
    let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
    HeaderValue::from(secs.max(1))
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BodyTooLarge { limit } => write!(f, "body is larger than the limit of {limit} bytes"),
            Self::BodyUnreadable => f.write_str("request body could not be read"),
            Self::BodyTimeout { limit } => write!(f, "request body not received within {limit:?}"),
            Self::MissingHeader { name } => write!(f, "required header `{name}` is missing"),
            Self::InvalidHeader { name, reason } => write!(f, "header `{name}` is invalid: {reason}"),
            Self::MissingEventId => f.write_str("event id could not be read from the delivery"),
            Self::DuplicateJsonKey { path } => write!(
                f,
                "the body repeats the key `{path}`, on the path the event id or type is read from"
            ),
            Self::InvalidEventId { len } => write!(
                f,
                "event id of {len} bytes is empty or longer than {} bytes",
                crate::MAX_ID_LEN
            ),
            Self::MalformedHandshake { reason } => write!(f, "handshake is malformed: {reason}"),
            Self::InvalidBodyField { path, reason } => write!(f, "body field `{path}` is invalid: {reason}"),
            Self::MissingSignature { name } => write!(f, "signature header `{name}` is missing"),
            Self::MalformedSignature { reason } => write!(f, "signature header is malformed: {reason}"),
            Self::SignatureMismatch => f.write_str("no signature matches any configured secret"),
            Self::TimestampTooOld { age_secs } => {
                write!(f, "timestamp is {age_secs} s old, beyond the tolerance")
            }
            Self::TimestampTooNew { ahead_secs } => {
                write!(
                    f,
                    "timestamp is {ahead_secs} s in the future, beyond the tolerance"
                )
            }
            Self::InFlight { .. } => f.write_str("the same event is being processed by another request"),
            Self::DeadlineExceeded { deadline } => {
                write!(f, "the inner service did not answer within {deadline:?}")
            }
            Self::GuardUnavailable => f.write_str("the replay guard is unavailable"),
            Self::Overloaded { limit } => {
                write!(f, "{limit} deliveries are in progress, the concurrency limit")
            }
            Self::ShuttingDown => f.write_str("the receiver is shutting down"),
            Self::DeadLetterUnavailable => {
                f.write_str("the dead-letter sink could not keep a delivery that cannot be processed")
            }
            Self::InboxUnavailable => f.write_str("the inbox store could not keep the delivery"),
        }
    }
}

impl std::error::Error for Rejection {}

impl<B> From<Rejection> for Response<B>
where
    B: From<Bytes>,
{
    fn from(rejection: Rejection) -> Self {
        rejection
            .to_response()
            .map(|_| B::from(Bytes::from_static(rejection.body_text().as_bytes())))
    }
}

#[cfg(feature = "axum")]
impl axum_core::response::IntoResponse for Rejection {
    fn into_response(self) -> axum_core::response::Response {
        Response::from(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_value(Duration::from_millis(1)), "1");
        assert_eq!(retry_after_value(Duration::ZERO), "1");
        assert_eq!(retry_after_value(Duration::from_millis(2001)), "3");
        assert_eq!(retry_after_value(Duration::from_secs(60)), "60");
    }

    #[test]
    fn in_flight_response_carries_retry_after_and_the_reason() {
        let rejection = Rejection::InFlight {
            retry_after: Duration::from_secs(5),
        };
        let response = rejection.to_response();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        assert_eq!(response.headers()[RETRY_AFTER], "5");
        assert_eq!(response.extensions().get::<Rejection>(), Some(&rejection));
    }

    #[test]
    fn signature_failures_share_one_body() {
        let texts: Vec<_> = [
            Rejection::SignatureMismatch,
            Rejection::MalformedSignature { reason: "bad hex" },
            Rejection::MissingSignature {
                name: HeaderName::from_static("x-signature"),
            },
            // A body of their own would tell the server's clock and tolerance.
            Rejection::TimestampTooOld { age_secs: 301 },
            Rejection::TimestampTooNew { ahead_secs: 301 },
        ]
        .iter()
        .map(|r| (r.status(), r.body_text()))
        .collect();
        assert!(texts
            .iter()
            .all(|t| *t == (StatusCode::UNAUTHORIZED, "invalid signature")));
    }
}
