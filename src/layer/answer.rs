//! The layer's answers: the handler's response passed on, and the layer's
//! own (duplicate, dead letter, refusal, inbox acknowledgement), each
//! logged with its reason.

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode};
use http_body_util::Full;

use super::body::ResponseBody;
use super::layer::Config;
use crate::{PermanentFailure, Rejection};

/// The answer to a delivery whose event was processed already.
pub(crate) const DUPLICATE_BODY: &str = r#"{"duplicate":true}"#;

/// The body that acknowledges a stored delivery.
pub(super) const INBOX_ACK_BODY: &str = r#"{"received":true}"#;

/// An inbox acknowledgement: `status`, and `body` as JSON (none for `204`).
pub(super) fn inbox_ack<B>(status: StatusCode, body: &'static str) -> Response<ResponseBody<B>> {
    let body = if status == StatusCode::NO_CONTENT {
        ""
    } else {
        body
    };
    let mut response = Response::new(ResponseBody::own(Full::new(Bytes::from_static(body.as_bytes()))));
    *response.status_mut() = status;
    if !body.is_empty() {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    response
}

/// The answer to a delivery kept as a dead letter.
pub(super) fn dead_lettered<Sch, G, B>(config: &Config<Sch, G>, reason: &str) -> Response<ResponseBody<B>> {
    let mut response = Response::new(ResponseBody::own(Full::new(Bytes::from_static(
        b"event cannot be processed; kept as a dead letter",
    ))));
    *response.status_mut() = config.delivery.dead_letter_status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response.extensions_mut().insert(PermanentFailure::new(reason));
    response
}

pub(super) fn internal_error<B>() -> Response<ResponseBody<B>> {
    let mut response = Response::new(ResponseBody::own(Full::new(Bytes::from_static(
        b"internal error",
    ))));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

/// The layer's answer to a refused delivery, logged.
pub(super) fn reject<Sch, G, B>(
    config: &Config<Sch, G>,
    rejection: &Rejection,
    event_id: Option<&str>,
) -> Response<ResponseBody<B>> {
    config.rejection_log.log(rejection, event_id);
    config.rejection_response(rejection).map(ResponseBody::own)
}

pub(super) fn duplicate<B>() -> Response<ResponseBody<B>> {
    let mut response = Response::new(ResponseBody::own(Full::new(Bytes::from_static(
        DUPLICATE_BODY.as_bytes(),
    ))));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
