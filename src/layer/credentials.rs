//! A scheme's declared credentials, taken out of what the layer keeps of a
//! request.

use crate::scheme::url::form_decode;

/// Removes a scheme's declared credentials
/// ([`Scheme::credential_headers`](crate::scheme::Scheme::credential_headers),
/// [`Scheme::credential_query`](crate::scheme::Scheme::credential_query))
/// from a request head the layer keeps: a dead letter, an inbox record, and
/// so the request a re-run sends, never hold them.
pub(crate) fn strip_declared(
    headers: &mut http::HeaderMap,
    uri: &mut http::Uri,
    names: &[http::HeaderName],
    query: &[&str],
) {
    for name in names {
        headers.remove(name);
    }
    let Some(old) = uri.query().filter(|_| !query.is_empty()) else {
        return;
    };
    // Compared decoded, as the sender's parser reads the names.
    let kept: Vec<&str> = old
        .split('&')
        .filter(|part| {
            let name = part.split('=').next().unwrap_or_default();
            let name = form_decode(name.as_bytes());
            !query.iter().any(|q| q.as_bytes() == name)
        })
        .collect();
    let path = uri.path();
    let path_and_query = if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    };
    let mut parts = std::mem::take(uri).into_parts();
    // The kept parts came from a valid query, so they still form one.
    parts.path_and_query = http::uri::PathAndQuery::try_from(path_and_query).ok();
    *uri = http::Uri::from_parts(parts).unwrap_or_default();
}

#[cfg(test)]
mod tests {
    use super::strip_declared;

    #[test]
    fn strip_declared_drops_credential_headers_and_query_parameters() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-token", "secret".parse().unwrap());
        headers.insert("x-kept", "yes".parse().unwrap());
        let mut uri: http::Uri = "/in?a=1&to%6Ben=secret&b=2&token".parse().unwrap();
        let names = [http::HeaderName::from_static("x-token")];
        strip_declared(&mut headers, &mut uri, &names, &["token"]);
        assert_eq!(headers.len(), 1);
        assert_eq!(uri, "/in?a=1&b=2");
        let mut uri: http::Uri = "https://h/in?token=x".parse().unwrap();
        strip_declared(&mut headers, &mut uri, &[], &["token"]);
        assert_eq!(uri, "https://h/in");
    }
}
