//! What the verifier reads from a request: the signatures of a header or
//! body value, the timestamp, the body's fields and the URL a sender signed.

use std::borrow::Cow;
use std::time::SystemTime;

use http::header::{HeaderMap, HeaderName};

use super::declare::Layout;
use super::rules::{TimestampRule, TsRule};
use super::Spec;
use crate::key::ring::{Candidates, Sig};
use crate::rejection::Rejection;
use crate::scheme::json::{self, Path, MAX_BODY_FIELDS};
use crate::scheme::request::{required_header, single_header, RequestParts};
use crate::scheme::timestamp::check_tolerance;

impl TimestampRule {
    /// The value of a timestamp read from header `name`; `400` naming it
    /// when it does not parse.
    pub(super) fn parse_header(&self, text: &str, name: &HeaderName) -> Result<i64, Rejection> {
        self.format
            .parse(text)
            .map_err(|reason| Rejection::InvalidHeader {
                name: name.clone(),
                reason,
            })
    }

    /// The value of a timestamp read from a body field (at the path `path`
    /// gives); `400` naming it when it does not parse.
    pub(super) fn parse_body(&self, text: &str, path: impl FnOnce() -> Box<str>) -> Result<i64, Rejection> {
        self.format
            .parse(text)
            .map_err(|reason| Rejection::InvalidBodyField { path: path(), reason })
    }
}

impl Spec {
    /// The timestamp the request carries outside the body: its text as
    /// signed, its value, and the header it came from (`header`, the
    /// signature header, for a keyed list's entry).
    pub(super) fn timestamp_text<'h, 's: 'h>(
        &'s self,
        headers: &'h HeaderMap,
        header: &'s HeaderName,
        entry: Option<&'h str>,
    ) -> Result<Option<(&'h str, i64, &'h HeaderName)>, Rejection> {
        let Some(rule) = &self.timestamp else {
            return Ok(None);
        };
        let (text, name) = match &rule.source {
            TsRule::Header(name) => (required_header(headers, name)?, name),
            TsRule::Entry(_) => (
                entry.ok_or(Rejection::InvalidHeader {
                    name: header.clone(),
                    reason: "no timestamp entry",
                })?,
                header,
            ),
            TsRule::Body(_) => return Ok(None),
        };
        Ok(Some((text, rule.parse_header(text, name)?, name)))
    }

    /// Decodes one signature of version `index` into `out`; one that does
    /// not decode cannot match, and is skipped, as the providers' libraries
    /// skip it, leaving the others to decide.
    #[inline]
    pub(super) fn push(&self, out: &mut Candidates, index: usize, text: &str) -> Result<(), Rejection> {
        let version = &self.versions[index];
        if let Some(sig) = Sig::decode(index as u8, version.algorithm, version.encoding, text) {
            out.push(sig).map_err(|_| Rejection::MalformedSignature {
                reason: "too many signatures",
            })?;
        }
        Ok(())
    }

    /// The signatures of one list value, entries split on `separators`.
    #[inline]
    pub(super) fn list_entries(
        &self,
        separators: &[char],
        value: &str,
        out: &mut Candidates,
    ) -> Result<(), Rejection> {
        let mut each = |item: &str| -> Result<(), Rejection> {
            if item.is_empty() {
                return Ok(());
            }
            // The longest label that prefixes the entry: with "" and
            // "sha256=" both declared, "sha256=<hex>" is the latter's,
            // whatever order they were declared in.
            if let Some((index, text)) = self
                .versions
                .iter()
                .enumerate()
                .filter_map(|(i, v)| strip_label(item, &v.label).map(|t| (i, t)))
                .min_by_key(|(_, text)| text.len())
            {
                self.push(out, index, text)?;
            }
            Ok(())
        };
        // One-character splits, nested: each finds its separator with
        // memchr, where a set of characters is matched char by char.
        match separators {
            [one] => value.split(*one).try_for_each(&mut each),
            [a, b] => value.split(*a).flat_map(|v| v.split(*b)).try_for_each(&mut each),
            _ => value.split(separators).try_for_each(&mut each),
        }
    }

    /// The signatures of one versioned list value: `<version><sep><signature>`
    /// entries split on `entry`.
    pub(super) fn versioned_entries(
        &self,
        entry: char,
        sep: char,
        value: &str,
        out: &mut Candidates,
    ) -> Result<(), Rejection> {
        for item in value.split(entry).filter(|e| !e.is_empty()) {
            let Some((label, text)) = item.split_once(sep) else {
                continue;
            };
            if let Some(index) = self.versions.iter().position(|v| *v.label == *label) {
                self.push(out, index, text)?;
            }
        }
        Ok(())
    }

    /// Reads every signature from `header`; for a keyed list, also the
    /// timestamp entry.
    pub(super) fn candidates<'h>(
        &self,
        headers: &'h HeaderMap,
        header: &HeaderName,
        out: &mut Candidates,
    ) -> Result<Option<&'h str>, Rejection> {
        match &self.layout {
            Layout::Keyed { entry, kv } => {
                let value = single_header(headers, header)?
                    .ok_or_else(|| Rejection::MissingSignature { name: header.clone() })?;
                let ts_key = match &self.timestamp {
                    Some(TimestampRule {
                        source: TsRule::Entry(key),
                        ..
                    }) => Some(&**key),
                    _ => None,
                };
                let mut timestamp = None;
                // Optional whitespace around an entry, as in HTTP lists:
                // WorkOS sends `t=…, v1=…`, Stripe `t=…,v1=…`.
                let items = value.split(*entry).map(|e| e.trim_matches([' ', '\t']));
                for item in items.filter(|e| !e.is_empty()) {
                    let (key, text) = item.split_once(*kv).ok_or(Rejection::MalformedSignature {
                        reason: "entry without a key",
                    })?;
                    if Some(key) == ts_key {
                        if timestamp.is_some() {
                            return Err(Rejection::InvalidHeader {
                                name: header.clone(),
                                reason: "timestamp entry repeated",
                            });
                        }
                        timestamp = Some(text);
                    } else if let Some(index) = self.versions.iter().position(|v| *v.label == *key) {
                        self.push(out, index, text)?;
                    }
                }
                Ok(timestamp)
            }
            Layout::List(separators) => {
                for value in signature_values(headers, header)? {
                    self.list_entries(separators, value, out)?;
                }
                Ok(None)
            }
            Layout::Versioned { entry, sep } => {
                for value in signature_values(headers, header)? {
                    self.versioned_entries(*entry, *sep, value, out)?;
                }
                Ok(None)
            }
        }
    }

    /// A timestamp read from the (verified) body, checked against the tolerance.
    pub(super) fn body_timestamp(
        &self,
        fields: &[Option<Cow<'_, str>>; MAX_BODY_FIELDS],
        clock: &dyn Fn() -> SystemTime,
    ) -> Result<Option<i64>, Rejection> {
        let Some(
            rule @ TimestampRule {
                source: TsRule::Body(i),
                ..
            },
        ) = &self.timestamp
        else {
            return Ok(None);
        };
        let text = fields[*i].as_deref().ok_or_else(|| Rejection::InvalidBodyField {
            path: self.path(*i),
            reason: "the timestamp is missing",
        })?;
        let value = rule.parse_body(text, || self.path(*i))?;
        check_tolerance(value, clock(), rule.tolerance, rule.two_sided)?;
        Ok(Some(value))
    }

    /// Body field `i`'s dotted path, for a rejection.
    pub(super) fn path(&self, i: usize) -> Box<str> {
        self.body_paths[i].join(".").into_boxed_str()
    }

    /// The URL the sender signed: the configured public base plus the
    /// request's query, or (trusted) the forwarded headers.
    pub(super) fn url(&self, request: &RequestParts<'_>) -> Result<String, Rejection> {
        let query = request.uri.query().map(|q| format!("?{q}")).unwrap_or_default();
        if let Some(base) = &self.url.base {
            return Ok(format!("{base}{query}"));
        }
        // One value each, or `400`: in a list (`client, proxy`) or a repeated
        // header, the leftmost value is whatever the client sent, and which
        // one the proxy added cannot be told without knowing the hops.
        let forwarded = |name: &'static str| -> Result<Option<&str>, Rejection> {
            let name = HeaderName::from_static(name);
            match single_header(request.headers, &name)? {
                Some(value) if value.contains(',') => Err(Rejection::InvalidHeader {
                    name,
                    reason: "several values: the trusted proxy must set exactly one",
                }),
                value => Ok(value.map(str::trim)),
            }
        };
        let proto = forwarded("x-forwarded-proto")?.unwrap_or("https");
        let host = match forwarded("x-forwarded-host")? {
            Some(host) => Some(host),
            None => match request.uri.authority() {
                Some(authority) => Some(authority.as_str()),
                None => forwarded("host")?,
            },
        }
        .ok_or(Rejection::MissingHeader {
            name: http::header::HOST,
        })?;
        Ok(format!("{proto}://{host}{}", request.uri.path()) + &query)
    }
}

/// The body's fields at `paths` (at most [`MAX_BODY_FIELDS`]), in one walk
/// sized to the number asked for: the walk checks every path at every key.
///
/// # Errors
///
/// [`Rejection::DuplicateJsonKey`] (`400`) when a key repeats on one of the
/// paths: parsers disagree on which occurrence counts, so the replay key could
/// differ from what the handler reads.
#[inline]
pub(super) fn body_fields<'a>(
    body: &'a [u8],
    paths: &[Path],
) -> Result<[Option<Cow<'a, str>>; MAX_BODY_FIELDS], Rejection> {
    fn walk<'a, const N: usize>(
        body: &'a [u8],
        paths: &[Path],
    ) -> Result<[Option<Cow<'a, str>>; MAX_BODY_FIELDS], Rejection> {
        let found = json::find_unique::<N>(body, std::array::from_fn(|i| paths.get(i)))?;
        let mut out: [Option<Cow<'a, str>>; MAX_BODY_FIELDS] = Default::default();
        for (slot, value) in out.iter_mut().zip(found) {
            *slot = value;
        }
        Ok(out)
    }
    match paths.len() {
        0 => Ok(Default::default()),
        1 => walk::<1>(body, paths),
        2 => walk::<2>(body, paths),
        3 => walk::<3>(body, paths),
        4 => walk::<4>(body, paths),
        _ => walk::<MAX_BODY_FIELDS>(body, paths),
    }
}

/// Every value of the signature header as text; `401` when there is none.
/// Values that are not visible ASCII cannot hold a signature and are skipped.
pub(super) fn signature_values<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> Result<impl Iterator<Item = &'h str>, Rejection> {
    let mut values = headers.get_all(name).iter().peekable();
    if values.peek().is_none() {
        return Err(Rejection::MissingSignature { name: name.clone() });
    }
    Ok(values.filter_map(|v| v.to_str().ok()))
}

/// `item` without the version label in front, if it starts with it.
///
/// An empty label (Petstore's bare hex) matches without a comparison:
/// `str::strip_prefix("")` calls `memcmp` for zero bytes at the empty
/// string's dangling address (`0x1`), and glibc's AVX-512 `memcmp` still
/// issues a masked load there. On an AMD EPYC that took 77 ns a call
/// against 1.2 ns from a mapped address (most likely a fault-suppression
/// assist), about 2% of a delivery in `benches/profile.rs`.
pub(super) fn strip_label<'i>(item: &'i str, label: &str) -> Option<&'i str> {
    if label.is_empty() {
        Some(item)
    } else {
        item.strip_prefix(label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_label_is_strip_prefix() {
        for (item, label) in [
            ("abc", ""),
            ("", ""),
            ("sha256=ab", "sha256="),
            ("sha1=ab", "sha256="),
            ("v1", "v1"),
        ] {
            assert_eq!(
                strip_label(item, label),
                item.strip_prefix(label),
                "{item:?} {label:?}"
            );
        }
    }
}
