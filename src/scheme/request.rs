//! What a scheme reads of a request besides the body: [`RequestParts`], and
//! the header readers every scheme shares.

use http::header::{HeaderMap, HeaderName};
use http::{Method, Uri};

use crate::rejection::Rejection;

/// What a scheme sees of a request: its method, URI and headers. The body
/// is passed beside it, as the exact bytes received.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The request method.
    pub method: &'a Method,
    /// The request URI as received (behind a proxy, usually only path and query).
    pub uri: &'a Uri,
    /// The request headers.
    pub headers: &'a HeaderMap,
}

impl<'a> RequestParts<'a> {
    /// A `POST /` with these headers: for tests and for schemes that only read headers.
    pub fn post(headers: &'a HeaderMap) -> Self {
        static ROOT: std::sync::OnceLock<Uri> = std::sync::OnceLock::new();
        Self {
            method: &Method::POST,
            uri: ROOT.get_or_init(|| Uri::from_static("/")),
            headers,
        }
    }
}

impl<'a> From<&'a http::request::Parts> for RequestParts<'a> {
    fn from(parts: &'a http::request::Parts) -> Self {
        Self {
            method: &parts.method,
            uri: &parts.uri,
            headers: &parts.headers,
        }
    }
}

/// The one value of a header that must not repeat.
///
/// Absent: `Ok(None)`. Repeated with the same value: that value. Repeated
/// with different values, or not visible ASCII: `400`.
pub(crate) fn single_header<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'h str>, Rejection> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.any(|other| other != first) {
        return Err(Rejection::InvalidHeader {
            name: name.clone(),
            reason: "repeated with different values",
        });
    }
    first.to_str().map(Some).map_err(|_| Rejection::InvalidHeader {
        name: name.clone(),
        reason: "not visible ASCII",
    })
}

/// Like [`single_header`], but absent is `400` too.
pub(crate) fn required_header<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Result<&'h str, Rejection> {
    single_header(headers, name)?.ok_or_else(|| Rejection::MissingHeader { name: name.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_headers_must_agree() {
        let name = HeaderName::from_static("webhook-id");
        let mut headers = HeaderMap::new();
        headers.append(&name, "a".parse().unwrap());
        headers.append(&name, "a".parse().unwrap());
        assert_eq!(single_header(&headers, &name), Ok(Some("a")));
        headers.append(&name, "b".parse().unwrap());
        assert!(single_header(&headers, &name).is_err());
        let mut headers = HeaderMap::new();
        headers.insert(&name, http::HeaderValue::from_bytes(b"\xff").unwrap());
        assert!(single_header(&headers, &name).is_err());
    }
}
