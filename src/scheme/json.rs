//! Reads a few string fields out of a JSON body without building a `Value`.
//!
//! The layer needs the event id (and type) of every delivery whose scheme keeps
//! them in the body. Parsing the whole body into a `serde_json::Value` would
//! allocate a node per value; this walks the document with `serde`, borrows the
//! strings it finds from the body where it can, skips everything else, and
//! stops as soon as every field asked for is found (envelopes put `id` and
//! `type` before the large `data`, so most of the body is never looked at).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::rejection::Rejection;

/// The most distinct JSON body paths (id, type, handshake fields) a spec may read.
pub(crate) const MAX_BODY_FIELDS: usize = 8;

/// A dotted path into a JSON document, such as `id` or `event.type`: its
/// keys, and a searcher for each key in quotes (`"id"`), built once rather
/// than per body.
#[derive(Debug, Clone)]
pub(crate) struct Path {
    keys: Box<[Box<str>]>,
    finders: Box<[memchr::memmem::Finder<'static>]>,
}

impl std::ops::Deref for Path {
    type Target = [Box<str>];

    fn deref(&self) -> &[Box<str>] {
        &self.keys
    }
}

impl PartialEq for Path {
    fn eq(&self, other: &Self) -> bool {
        self.keys == other.keys
    }
}

impl Eq for Path {}

/// Parses `event.type` into a path.
pub(crate) fn path(dotted: &str) -> Path {
    let keys: Box<[Box<str>]> = dotted.split('.').map(Box::from).collect();
    let finders = keys
        .iter()
        .map(|key| memchr::memmem::Finder::new(format!("\"{key}\"").as_bytes()).into_owned())
        .collect();
    Path { keys, finders }
}

/// A key that appears twice in one object on the way to a field asked for:
/// the dotted path up to and including it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Duplicate(pub(crate) Box<str>);

impl From<Duplicate> for Rejection {
    fn from(Duplicate(path): Duplicate) -> Self {
        Self::DuplicateJsonKey { path }
    }
}

/// The string (or integer, as text) at each path; `None` where the body is not
/// JSON, the path is absent, or the value is of another type. A key repeated
/// on one of the paths (`{"id":"a","id":"b"}`, or `event` twice on the way to
/// `event.type`) is an error.
///
/// JSON parsers disagree on duplicate keys (`serde_json::Value` keeps the
/// last, this walk would see the first), so a body with one could be
/// deduplicated under one id while the handler reads another.
///
/// Why a visitor over serde_json's deserializer rather than a derived
/// struct with borrowed (`Cow<str>`) fields: the paths are the spec's
/// runtime data (`event.type`, `signature.token`), which a derive cannot
/// name, and the walk stops once every field is found when no key on a path
/// can repeat. `benches/json.rs` (criterion, this machine, shared CPU):
/// with `id` and `type` first, the walk takes 455 ns / 593 ns / 1.97 µs at
/// 256 B / 1 KiB / 16 KiB against 854 ns / 2.17 µs / 27.1 µs for
/// `serde_json::from_slice` into a derived `{ id, type }` (1.9×, 3.7×,
/// 13.7× faster); with `type` after a large `data` (Stripe's layout) it
/// reads the whole body too and is 1.1×, 1.6×, 1.3× slower (843 ns /
/// 2.68 µs / 40.5 µs against 740 ns / 1.69 µs / 30.1 µs).
pub(crate) fn find_unique<'a, const N: usize>(
    body: &'a [u8],
    paths: [Option<&Path>; N],
) -> Result<[Option<Cow<'a, str>>; N], Duplicate> {
    let mut out: [Option<Cow<'a, str>>; N] = std::array::from_fn(|_| None);
    let mut wanted = 0u32;
    for (i, p) in paths.iter().enumerate() {
        if p.is_some() {
            wanted |= 1 << i;
        }
    }
    if wanted == 0 {
        return Ok(out);
    }
    let mut duplicate = None;
    let mut de = serde_json::Deserializer::from_slice(body);
    // An error here is either malformed JSON (the fields found so far stand),
    // a duplicate key (reported below), or serde_json refusing the early
    // stop: once every field is found the walk returns without reading on,
    // and the map's unread rest is reported as a syntax error.
    let _ = (&mut de).deserialize_map(Walk {
        paths: &paths,
        mask: wanted,
        depth: 0,
        found: &mut out,
        wanted,
        strict: may_repeat(body, &paths),
        duplicate: &mut duplicate,
    });
    match duplicate {
        Some(path) => Err(path),
        None => Ok(out),
    }
}

/// Whether a key on `paths` might appear twice in `body`. Without a
/// backslash in the body every key is written as its own text, so a key
/// `k` that appears twice leaves `"k"` twice in the bytes; when no path
/// component does, the walk may stop as soon as everything is found.
fn may_repeat<const N: usize>(body: &[u8], paths: &[Option<&Path>; N]) -> bool {
    if memchr::memchr(b'\\', body).is_some() {
        return true;
    }
    paths
        .iter()
        .flatten()
        .flat_map(|p| p.finders.iter())
        .any(|quoted| {
            // Overlapping matches count: in `"k"k"` the middle quote ends
            // one `"k"` and begins the other.
            quoted
                .find(body)
                .is_some_and(|first| quoted.find(&body[first + 1..]).is_some())
        })
}

struct Walk<'p, 'o, 'a, const N: usize> {
    paths: &'p [Option<&'p Path>; N],
    /// Paths still matching at this depth.
    mask: u32,
    depth: usize,
    found: &'o mut [Option<Cow<'a, str>>; N],
    /// All paths asked for, to tell when everything is found.
    wanted: u32,
    /// Read every key on the paths, to catch a repeat, instead of stopping
    /// once everything is found.
    strict: bool,
    duplicate: &'o mut Option<Duplicate>,
}

impl<const N: usize> Walk<'_, '_, '_, N> {
    fn all_found(&self) -> bool {
        (0..N).all(|i| self.wanted & (1 << i) == 0 || self.found[i].is_some())
    }
}

impl<'de, const N: usize> DeserializeSeed<'de> for Walk<'_, '_, 'de, N> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for Walk<'_, '_, 'de, N> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Walk {
            paths,
            mask,
            depth,
            found,
            wanted,
            strict,
            duplicate,
        } = self;
        // The paths whose key at this depth was seen in this object.
        let mut seen = 0u32;
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            let mut leaf = 0u32;
            let mut deeper = 0u32;
            for (i, p) in paths.iter().enumerate() {
                let Some(p) = p else { continue };
                if mask & (1 << i) == 0 || p.get(depth).map(|s| &**s) != Some(&*key) {
                    continue;
                }
                if p.len() == depth + 1 {
                    leaf |= 1 << i;
                } else {
                    deeper |= 1 << i;
                }
            }
            if (leaf | deeper) & seen != 0 {
                let i = ((leaf | deeper) & seen).trailing_zeros() as usize;
                let path = paths[i].map_or_else(String::new, |p| p[..=depth].join("."));
                *duplicate = Some(Duplicate(path.into()));
                return Err(de::Error::custom("duplicate key"));
            }
            seen |= leaf | deeper;
            if leaf != 0 {
                let value = map.next_value::<Leaf<'de>>()?.0;
                for (i, slot) in found.iter_mut().enumerate() {
                    if leaf & (1 << i) != 0 && slot.is_none() {
                        *slot = value.clone();
                    }
                }
            } else if deeper != 0 {
                map.next_value_seed(Walk {
                    paths,
                    mask: deeper,
                    depth: depth + 1,
                    found: &mut *found,
                    wanted,
                    strict,
                    duplicate: &mut *duplicate,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
            let walk = Walk {
                paths,
                mask,
                depth,
                found: &mut *found,
                wanted,
                strict,
                duplicate: &mut *duplicate,
            };
            if !strict && walk.all_found() {
                // Stop here. Returning `Ok` rather than a custom error saves
                // formatting and parsing an error message (serde_json looks
                // for a position in every custom message): about a third of
                // this walk's cost on a typical envelope.
                return Ok(());
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// A string borrowed from the input where it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// A leaf value: a string, an integer as its decimal text, or `None` for
/// anything else (which is consumed and ignored).
struct Leaf<'a>(Option<Cow<'a, str>>);

impl<'de> de::Deserialize<'de> for Leaf<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Leaf<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Leaf<'de>, E> {
                Ok(Leaf(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Leaf<'de>, E> {
                Ok(Leaf(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Leaf<'de>, E> {
                Ok(Leaf(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Leaf<'de>, E> {
                Ok(Leaf(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Leaf<'de>, E> {
                Ok(Leaf(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Leaf<'de>, E> {
                Ok(Leaf(None))
            }
            fn visit_unit<E>(self) -> Result<Leaf<'de>, E> {
                Ok(Leaf(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Leaf<'de>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Leaf(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Leaf<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Leaf(None))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `body`, a JSON object, with its top-level member `key` set to the JSON
/// text `value`, for a signer that writes what its scheme carries in the body
/// (Mailgun's `signature` block, Linear's `webhookTimestamp`). The first
/// member of that name has its value replaced; without one the member is
/// inserted first. Every other byte is kept as it is. `None` when `body` is
/// not a JSON object.
///
/// Keys are compared as written: a key spelt with escapes is not matched, so
/// the member is inserted beside it and the verifier refuses the repeat.
#[cfg(feature = "test-util")]
pub(crate) fn with_member(body: &[u8], key: &str, value: &str) -> Option<Vec<u8>> {
    // From here on the scanner may assume well-formed JSON.
    serde_json::from_slice::<IgnoredAny>(body).ok()?;
    let open = skip_whitespace(body, 0);
    if body.get(open) != Some(&b'{') {
        return None;
    }
    let mut at = skip_whitespace(body, open + 1);
    let mut empty = true;
    let mut found = None;
    while body.get(at) == Some(&b'"') {
        empty = false;
        let name_end = end_of_string(body, at)?;
        let name = &body[at + 1..name_end - 1];
        let value_start = skip_whitespace(body, skip_whitespace(body, name_end) + 1);
        let value_end = end_of_value(body, value_start)?;
        if found.is_none() && name == key.as_bytes() {
            found = Some(value_start..value_end);
        }
        at = skip_whitespace(body, value_end);
        if body.get(at) == Some(&b',') {
            at = skip_whitespace(body, at + 1);
        }
    }
    let mut out = Vec::with_capacity(body.len() + key.len() + value.len() + 4);
    match found {
        Some(range) => {
            out.extend_from_slice(&body[..range.start]);
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(&body[range.end..]);
        }
        None => {
            out.extend_from_slice(&body[..=open]);
            out.extend_from_slice(serde_json::to_string(key).ok()?.as_bytes());
            out.push(b':');
            out.extend_from_slice(value.as_bytes());
            if !empty {
                out.push(b',');
            }
            out.extend_from_slice(&body[open + 1..]);
        }
    }
    Some(out)
}

#[cfg(feature = "test-util")]
fn skip_whitespace(body: &[u8], mut at: usize) -> usize {
    while matches!(body.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// Just past the closing quote of the string opening at `at`.
#[cfg(feature = "test-util")]
fn end_of_string(body: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    while let Some(&b) = body.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Just past the (well-formed) value starting at `at`.
#[cfg(feature = "test-util")]
fn end_of_value(body: &[u8], at: usize) -> Option<usize> {
    match body.get(at)? {
        b'"' => end_of_string(body, at),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = at;
            while let Some(&b) = body.get(i) {
                match b {
                    b'"' => {
                        i = end_of_string(body, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            None
        }
        _ => {
            let end = (at..body.len())
                .find(|&i| matches!(body[i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(body.len());
            Some(end)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two<'a>(body: &'a str, a: &str, b: &str) -> [Option<Cow<'a, str>>; 2] {
        let (a, b) = (path(a), path(b));
        // A duplicate key reads as nothing found, as the callers refuse it.
        find_unique(body.as_bytes(), [Some(&a), Some(&b)]).unwrap_or([None, None])
    }

    #[test]
    fn finds_top_level_fields_borrowed() {
        let [id, ty] = two(
            r#"{"id":"evt_1","type":"order.created","data":{"id":"inner"}}"#,
            "id",
            "type",
        );
        assert_eq!(id.as_deref(), Some("evt_1"));
        assert_eq!(ty.as_deref(), Some("order.created"));
        assert!(matches!(id, Some(Cow::Borrowed(_))));
    }

    #[test]
    fn finds_nested_fields_and_skips_other_values() {
        let body = r#"{"token":"x","list":[1,{"a":2}],"n":null,"event":{"kind":true,"type":"message"},"event_id":"Ev1"}"#;
        let [id, ty] = two(body, "event_id", "event.type");
        assert_eq!(id.as_deref(), Some("Ev1"));
        assert_eq!(ty.as_deref(), Some("message"));
    }

    #[test]
    fn integers_become_text_and_other_types_are_absent() {
        let [id, ty] = two(r#"{"id":42,"type":{"x":1}}"#, "id", "type");
        assert_eq!(id.as_deref(), Some("42"));
        assert_eq!(ty, None);
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let [id, _] = two(r#"{"i\u0064":"a\"b"}"#, "id", "type");
        assert_eq!(id.as_deref(), Some("a\"b"));
    }

    fn unique<'a>(body: &'a str, a: &str, b: &str) -> Result<[Option<Cow<'a, str>>; 2], Duplicate> {
        let (a, b) = (path(a), path(b));
        find_unique(body.as_bytes(), [Some(&a), Some(&b)])
    }

    #[test]
    fn a_repeated_key_on_a_path_is_refused_wherever_it_is() {
        for (body, repeated) in [
            (r#"{"id":"a","id":"b"}"#, "id"),
            (r#"{"id":"a","type":"t","id":"b"}"#, "id"),
            (r#"{"id":"a","type":"t","data":{},"id":"a"}"#, "id"),
            (r#"{"type":"t","id":"a","type":"u"}"#, "type"),
            // An escape spells the same key.
            (r#"{"id":"a","type":"t","i\u0064":"b"}"#, "id"),
            (r#"{"id":"a","type":"t","id":{"x":1}}"#, "id"),
        ] {
            assert_eq!(
                unique(body, "id", "type"),
                Err(Duplicate(repeated.into())),
                "{body}"
            );
            let [id, ty] = two(body, "id", "type");
            assert_eq!((id, ty), (None, None), "{body}");
        }
        // Nested: Slack's `event.type`, with the key or its parent repeated.
        for (body, repeated) in [
            (
                r#"{"event":{"type":"a","type":"b"},"event_id":"E1"}"#,
                "event.type",
            ),
            (
                r#"{"event":{"type":"a"},"event_id":"E1","event":{"type":"b"}}"#,
                "event",
            ),
            (r#"{"event":{"type":"a"},"event_id":"E1","event":{}}"#, "event"),
            (
                r#"{"event_id":"E1","event":{"type":"a"},"event_id":"E2"}"#,
                "event_id",
            ),
        ] {
            assert_eq!(
                unique(body, "event_id", "event.type"),
                Err(Duplicate(repeated.into())),
                "{body}"
            );
        }
    }

    #[test]
    fn only_a_key_twice_in_quotes_or_a_backslash_makes_the_walk_read_on() {
        let (id, ty) = (path("id"), path("type"));
        let repeats = |body: &str| may_repeat(body.as_bytes(), &[Some(&id), Some(&ty)]);
        assert!(!repeats(
            r#"{"id":"a","type":"t","data":{"orderId":"x","paid":"idle","types":1}}"#
        ));
        // A value spelt like a key counts too: the walk then reads on.
        assert!(repeats(r#"{"id":"a","note":"id"}"#));
        assert!(repeats(r#"{"id":"a","type":"t","data":{"id":"b"}}"#));
        assert!(repeats(r#"{"type":"t","id":"a","type":"u"}"#));
        assert!(repeats(r#"{"id":"a","x":"\u0041"}"#));
        // One quote closing a `"id"` and opening the next.
        assert!(repeats(r#"{"x":"id"id"}"#));
        assert!(!repeats(r#"{"x":"id"}"#));
    }

    #[test]
    fn repeats_off_the_paths_are_fine() {
        let body = r#"{"id":"a","type":"t","data":{"id":"inner","id":"again"},"x":1,"x":2}"#;
        let [id, ty] = unique(body, "id", "type").unwrap();
        assert_eq!((id.as_deref(), ty.as_deref()), (Some("a"), Some("t")));
        // The string "id" as a value is not a key.
        let [id, _] = unique(r#"{"id":"a","note":"id"}"#, "id", "type").unwrap();
        assert_eq!(id.as_deref(), Some("a"));
    }

    #[test]
    fn garbage_gives_none() {
        for body in ["", "not json", "[1,2]", "{\"id\":", "\"id\""] {
            let [id, ty] = two(body, "id", "type");
            assert_eq!((id, ty), (None, None), "{body}");
        }
    }

    #[test]
    fn stops_reading_once_everything_is_found() {
        // The tail is not JSON; it is never reached.
        let [id, ty] = two(r#"{"id":"a","type":"b", this is not json"#, "id", "type");
        assert_eq!((id.as_deref(), ty.as_deref()), (Some("a"), Some("b")));
    }

    #[cfg(feature = "test-util")]
    #[test]
    fn with_member_replaces_the_first_top_level_member_or_inserts_it_first() {
        let set = |body: &str| {
            with_member(body.as_bytes(), "ts", r#"{"v":1}"#).map(|b| String::from_utf8(b).unwrap())
        };
        // Replaced in place; nested and string look-alikes are left alone.
        assert_eq!(
            set("{ \"a\": {\"ts\": 0}, \"ts\" :  7 ,\n\"b\":\"\\\"ts\\\"\"}").as_deref(),
            Some("{ \"a\": {\"ts\": 0}, \"ts\" :  {\"v\":1} ,\n\"b\":\"\\\"ts\\\"\"}")
        );
        assert_eq!(
            set(r#"{"ts":[1,{"x":"}"}],"z":null}"#).as_deref(),
            Some(r#"{"ts":{"v":1},"z":null}"#)
        );
        // Inserted first, the rest byte for byte.
        assert_eq!(
            set("{\n  \"a\": 1\n}").as_deref(),
            Some("{\"ts\":{\"v\":1},\n  \"a\": 1\n}")
        );
        assert_eq!(set(" {} ").as_deref(), Some(r#" {"ts":{"v":1}} "#));
        // Only the first of a repeated key.
        assert_eq!(
            set(r#"{"ts":1,"ts":2}"#).as_deref(),
            Some(r#"{"ts":{"v":1},"ts":2}"#)
        );
        for not_an_object in ["", "[]", "\"ts\"", "{\"ts\":", "{} x", "not json"] {
            assert_eq!(set(not_an_object), None, "{not_an_object:?}");
        }
    }
}
