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

/// A dotted path into a JSON document, such as `id` or `event.type`.
pub(crate) type Path = Box<[Box<str>]>;

/// Parses `event.type` into a path.
pub(crate) fn path(dotted: &str) -> Path {
    dotted.split('.').map(Box::from).collect()
}

/// The string (or integer, as text) at each path; `None` where the body is not
/// JSON, the path is absent, or the value is of another type. Where a key
/// repeats, the first occurrence wins.
pub(crate) fn find<'a, const N: usize>(
    body: &'a [u8],
    paths: [Option<&Path>; N],
) -> [Option<Cow<'a, str>>; N] {
    let mut out: [Option<Cow<'a, str>>; N] = std::array::from_fn(|_| None);
    let mut wanted = 0u32;
    for (i, p) in paths.iter().enumerate() {
        if p.is_some() {
            wanted |= 1 << i;
        }
    }
    if wanted == 0 {
        return out;
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    // An error here is either malformed JSON (the fields found so far stand)
    // or serde_json refusing the early stop: once every field is found the
    // walk returns without reading on, and the map's unread rest is reported
    // as a syntax error.
    let _ = (&mut de).deserialize_map(Walk {
        paths: &paths,
        mask: wanted,
        depth: 0,
        found: &mut out,
        wanted,
    });
    out
}

struct Walk<'p, 'o, 'a, const N: usize> {
    paths: &'p [Option<&'p Path>; N],
    /// Paths still matching at this depth.
    mask: u32,
    depth: usize,
    found: &'o mut [Option<Cow<'a, str>>; N],
    /// All paths asked for, to tell when everything is found.
    wanted: u32,
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
        } = self;
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
            };
            if walk.all_found() {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn two<'a>(body: &'a str, a: &str, b: &str) -> [Option<Cow<'a, str>>; 2] {
        let (a, b) = (path(a), path(b));
        find(body.as_bytes(), [Some(&a), Some(&b)])
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

    #[test]
    fn first_occurrence_wins_and_garbage_gives_none() {
        let [id, _] = two(r#"{"id":"first","id":"second"}"#, "id", "type");
        assert_eq!(id.as_deref(), Some("first"));
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
}
