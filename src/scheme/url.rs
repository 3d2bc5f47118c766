//! URLs a sender signs: the endpoint's configured public URL, split into its
//! parts ([`PublicUrl`]), and `application/x-www-form-urlencoded` decoding
//! ([`form_decode`]) of the parameters signed with it or sent in a query.

use super::spec::ConfigError;

/// A configured public URL, `http(s)://host[:port][/path]` without a query
/// or fragment: the URL a sender signs, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PublicUrl<'a> {
    /// `https://` or `http://`.
    pub(crate) scheme: &'static str,
    /// The host as written (an IPv6 address keeps its brackets).
    pub(crate) host: &'a str,
    pub(crate) port: Option<u16>,
    /// From the first `/` on; empty when the URL has no path.
    pub(crate) path: &'a str,
}

impl<'a> PublicUrl<'a> {
    /// # Errors
    ///
    /// [`ConfigError::InvalidPublicUrl`] for anything else.
    pub(crate) fn parse(url: &'a str) -> Result<Self, ConfigError> {
        let (scheme, rest) = if let Some(rest) = url.strip_prefix("https://") {
            ("https://", rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            ("http://", rest)
        } else {
            return Err(ConfigError::InvalidPublicUrl);
        };
        if rest.contains(['?', '#', ' ']) {
            return Err(ConfigError::InvalidPublicUrl);
        }
        http::Uri::try_from(url).map_err(|_| ConfigError::InvalidPublicUrl)?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        // An IPv6 host keeps its brackets, and its colons are not the port's.
        let host_end = match authority.strip_prefix('[') {
            Some(inner) => inner
                .find(']')
                .map(|i| i + 2)
                .ok_or(ConfigError::InvalidPublicUrl)?,
            None => authority.find(':').unwrap_or(authority.len()),
        };
        let (host, port) = authority.split_at(host_end);
        let port = match port {
            "" => None,
            port => Some(
                port.strip_prefix(':')
                    .and_then(|p| p.parse().ok())
                    .ok_or(ConfigError::InvalidPublicUrl)?,
            ),
        };
        if host.is_empty() {
            return Err(ConfigError::InvalidPublicUrl);
        }
        Ok(Self {
            scheme,
            host,
            port,
            path,
        })
    }
}

/// `application/x-www-form-urlencoded` decoding of one name or value: `+` is
/// a space and `%XX` a byte; a malformed escape is kept as written, as the
/// SDKs' decoders do.
///
/// The escapes are decoded by `percent-encoding`, the decoder
/// `form_urlencoded` runs after the same `+` replacement. The result stays
/// bytes: `form_urlencoded::parse` hands back UTF-8, with an escape that is
/// not (`%FF`) turned into U+FFFD, which would change the bytes signed.
pub(crate) fn form_decode(text: &[u8]) -> Vec<u8> {
    let spaced: Vec<u8> = text.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
    percent_encoding::percent_decode(&spaced).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_split_into_scheme_host_port_and_path() {
        let parse = |url| PublicUrl::parse(url).map(|u| (u.scheme, u.host, u.port, u.path));
        assert_eq!(
            parse("https://example.com"),
            Ok(("https://", "example.com", None, ""))
        );
        assert_eq!(
            parse("http://example.com:8080/hooks/in"),
            Ok(("http://", "example.com", Some(8080), "/hooks/in"))
        );
        assert_eq!(parse("https://[::1]"), Ok(("https://", "[::1]", None, "")));
        assert_eq!(
            parse("https://[::1]:8443/hooks"),
            Ok(("https://", "[::1]", Some(8443), "/hooks"))
        );
        for bad in [
            "example.com/hooks",
            "ftp://example.com/",
            "https://",
            "https:///hooks",
            "https://example.com/hooks?x=1",
            "https://example.com/#top",
            "https://exa mple.com/",
            "https://example.com:port/",
        ] {
            assert_eq!(parse(bad), Err(ConfigError::InvalidPublicUrl), "{bad}");
        }
    }

    #[test]
    fn form_decoding_keeps_bytes_that_are_not_utf8() {
        assert_eq!(form_decode(b"a+b%2Bc%zz%4"), b"a b+c%zz%4");
        assert_eq!(form_decode(b"%FF%e2%9C%93+"), b"\xff\xe2\x9c\x93 ");
        assert_eq!(form_decode(b"\xff%"), b"\xff%");
        // `+` is a space before escapes are read, as Python's `unquote_plus`
        // has it (`%+1` is `% 1`, not the byte 1).
        assert_eq!(form_decode(b"%+1"), b"% 1");
    }
}
