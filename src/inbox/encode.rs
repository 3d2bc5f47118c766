//! Headers as one byte string, for stores that keep them in a column: every
//! name and value byte for byte (values need not be UTF-8), repeated
//! headers in order.
//!
//! The format: a version byte (`1`), then per header the name's length as a
//! `u32` little-endian, the name, the value's length the same way, and the
//! value.

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;

const VERSION: u8 = 1;

/// `headers` as bytes.
pub(crate) fn encode_headers(headers: &HeaderMap) -> Vec<u8> {
    let len = headers
        .iter()
        .map(|(name, value)| 8 + name.as_str().len() + value.len())
        .sum::<usize>();
    let mut out = Vec::with_capacity(1 + len);
    out.push(VERSION);
    for (name, value) in headers {
        for part in [name.as_str().as_bytes(), value.as_bytes()] {
            // A header is far below 4 GiB: hyper refuses anything near it.
            out.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_le_bytes());
            out.extend_from_slice(part);
        }
    }
    out
}

/// The headers [`encode_headers`] wrote, or why `bytes` are not such headers.
pub(crate) fn decode_headers(bytes: &[u8]) -> Result<HeaderMap, &'static str> {
    let (&version, mut rest) = bytes.split_first().ok_or("empty header column")?;
    if version != VERSION {
        return Err("unknown header encoding");
    }
    let take = |rest: &mut &[u8]| -> Result<Vec<u8>, &'static str> {
        let (len, tail) = rest.split_first_chunk::<4>().ok_or("truncated header column")?;
        let len = u32::from_le_bytes(*len) as usize;
        if tail.len() < len {
            return Err("truncated header column");
        }
        let (part, tail) = tail.split_at(len);
        *rest = tail;
        Ok(part.to_vec())
    };
    let mut headers = HeaderMap::new();
    while !rest.is_empty() {
        let name = HeaderName::from_bytes(&take(&mut rest)?).map_err(|_| "invalid header name")?;
        let value = HeaderValue::from_bytes(&take(&mut rest)?).map_err(|_| "invalid header value")?;
        headers.append(name, value);
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_byte_for_byte_in_order() {
        let mut headers = HeaderMap::new();
        headers.append("x-a", HeaderValue::from_static("1"));
        headers.append("x-a", HeaderValue::from_static("2"));
        headers.insert("x-latin1", HeaderValue::from_bytes(b"caf\xe9\xff").unwrap());
        headers.insert("x-empty", HeaderValue::from_static(""));
        let decoded = decode_headers(&encode_headers(&headers)).unwrap();
        assert_eq!(decoded, headers);
        let values: Vec<_> = decoded.get_all("x-a").iter().collect();
        assert_eq!(values, ["1", "2"]);
        assert_eq!(
            decode_headers(&encode_headers(&HeaderMap::new())).unwrap(),
            HeaderMap::new()
        );
    }

    #[test]
    fn refuses_what_it_did_not_write() {
        let bytes = encode_headers(&HeaderMap::from_iter([(
            HeaderName::from_static("x-a"),
            HeaderValue::from_static("value"),
        )]));
        assert!(decode_headers(&bytes[..bytes.len() - 1]).is_err());
        assert!(decode_headers(&[]).is_err());
        assert!(decode_headers(&[2]).is_err());
        let mut bad_name = bytes.clone();
        bad_name[5] = b' ';
        assert!(decode_headers(&bad_name).is_err());
    }
}
