//! One parse for [`WebhookLayer::decode_as`](crate::WebhookLayer::decode_as):
//! the handler's type decoded from the verified body, with the scheme's
//! top-level body fields (the event id and type) read on the way.
//!
//! Without it, the layer walks the body for the id and type
//! ([`json::find_unique`](super::json::find_unique)), and the
//! [`Webhook<T>`](crate::extract::Webhook) extractor parses the same bytes
//! again. With it, the layer decodes `T` once, through a deserializer that
//! passes every call on to `serde_json` unchanged and notes, as they go by,
//! the top-level keys and the values under the keys the scheme asked for.
//!
//! What the handler gets is exactly what `serde_json::from_slice::<T>` gives:
//! the wrappers forward each call to the same method of `serde_json`'s
//! deserializer, with one exception. A value the scheme asked for that `T`
//! skips (`deserialize_ignored_any`) is read with `deserialize_any`, so that
//! its text is seen, and `T` is then handed `visit_unit`, as `serde_json`
//! does after skipping a value.
//!
//! The fields read on the way replace the walk only when they are certain to
//! be the walk's answer: every asked-for path is a top-level key, the body is
//! one JSON object that `T` decoded entirely, no asked-for key appears twice,
//! and each asked-for value was seen as a string or an integer. Anything else
//! (a key repeated, an id that is an object, a nested path, a `T` that reads
//! the object as an enum) leaves the fields unread, and the layer walks the
//! body as before, which also gives the same refusals (a repeated key is
//! still `400`). When `T` does not decode, nothing is kept: the walk runs, and
//! the extractor decodes again and refuses as it always does.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, IgnoredAny, MapAccess, SeqAccess,
    Visitor,
};

use serde::Deserialize as _;

use super::json::Path;
use super::json::MAX_BODY_FIELDS;

/// The values at a scheme's body paths, in the order of its paths.
pub(crate) type Fields<'b> = [Option<Cow<'b, str>>; MAX_BODY_FIELDS];

/// Decodes a verified body as some type, reading the fields at `paths` on the
/// way where it can (see the [module docs](self)).
pub(crate) trait Decode: Send + Sync + 'static {
    /// The decoded value, and the fields when they are certain; `None` when
    /// the body does not decode.
    fn decode<'b>(&self, body: &'b [u8], paths: &[Path])
        -> Option<(Box<dyn Any + Send>, Option<Fields<'b>>)>;

    /// The type's name, for `Debug`.
    fn type_name(&self) -> &'static str;
}

/// Decodes as `T`.
pub(crate) struct As<T>(PhantomData<fn() -> T>);

impl<T> As<T> {
    pub(crate) fn new() -> Self {
        Self(PhantomData)
    }
}

impl<T: DeserializeOwned + Send + 'static> Decode for As<T> {
    fn decode<'b>(
        &self,
        body: &'b [u8],
        paths: &[Path],
    ) -> Option<(Box<dyn Any + Send>, Option<Fields<'b>>)> {
        let mut de = serde_json::Deserializer::from_slice(body);
        let Some(mut state) = State::new(paths) else {
            // A nested path: decode as `from_slice` does, and let the walk read the fields.
            let value = T::deserialize(&mut de).ok()?;
            de.end().ok()?;
            return Some((Box::new(value), None));
        };
        let value = T::deserialize(Tap {
            de: &mut de,
            state: &mut state,
            kind: Kind::Top,
        })
        .ok()?;
        de.end().ok()?;
        let fields = (state.object && !state.unsure).then_some(state.found);
        Some((Box::new(value), fields))
    }

    fn type_name(&self) -> &'static str {
        std::any::type_name::<T>()
    }
}

/// The layer's side of [`Scheme::verify_in_layer`](super::Scheme::verify_in_layer):
/// the decoder to use, and what it decoded.
///
/// Not part of the public API: its name cannot be reached from outside the
/// crate, so only the crate's schemes can read the body through it.
pub struct Decoding<'d> {
    decoder: &'d dyn Decode,
    value: Option<Box<dyn Any + Send>>,
}

impl<'d> Decoding<'d> {
    pub(crate) fn new(decoder: &'d dyn Decode) -> Self {
        Self { decoder, value: None }
    }

    /// Decodes `body`, keeping the value; the fields at `paths` when they
    /// are certain (else the caller walks the body for them).
    ///
    /// A `Deserialize` that panics counts as a body that does not decode:
    /// the extractor then decodes it again, in the handler, where the panic
    /// is a handler panic as it is without `decode_as`.
    pub(crate) fn fields<'b>(&mut self, body: &'b [u8], paths: &[Path]) -> Option<Fields<'b>> {
        let decoded = std::panic::catch_unwind(AssertUnwindSafe(|| self.decoder.decode(body, paths)));
        let (value, fields) = decoded.ok()??;
        self.value = Some(value);
        fields
    }

    /// The decoded value, if the scheme decoded the body.
    pub(crate) fn into_value(self) -> Option<Box<dyn Any + Send>> {
        self.value
    }
}

impl fmt::Debug for Decoding<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoding")
            .field("type", &self.decoder.type_name())
            .field("decoded", &self.value.is_some())
            .finish()
    }
}

/// What the wrappers note while `T` decodes.
struct State<'p, 'b> {
    /// The top-level key of each path.
    keys: [&'p str; MAX_BODY_FIELDS],
    n: usize,
    found: Fields<'b>,
    /// The paths whose key was seen.
    seen: u32,
    /// The paths whose value comes next.
    pending: u32,
    /// Set by a key's or a value's visit, to tell that it was seen.
    noted: bool,
    /// The top-level value was an object, read through [`Map`].
    object: bool,
    /// Something was not seen as the walk would see it: walk instead.
    unsure: bool,
}

impl<'p> State<'p, '_> {
    /// `None` when a path is not a single top-level key.
    fn new(paths: &'p [Path]) -> Option<Self> {
        let mut keys = [""; MAX_BODY_FIELDS];
        if paths.len() > MAX_BODY_FIELDS {
            return None;
        }
        for (slot, path) in keys.iter_mut().zip(paths) {
            match &**path {
                [key] => *slot = &**key,
                _ => return None,
            }
        }
        Some(Self {
            keys,
            n: paths.len(),
            found: Default::default(),
            seen: 0,
            pending: 0,
            noted: false,
            object: false,
            unsure: false,
        })
    }

    fn key(&mut self, key: &str) {
        self.noted = true;
        if key.starts_with(SERDE_JSON_PRIVATE) {
            // One of `serde_json`'s made-up maps, not the body's object.
            self.unsure = true;
        }
        let mut paths = 0u32;
        for (i, wanted) in self.keys[..self.n].iter().enumerate() {
            if *wanted == key {
                paths |= 1 << i;
            }
        }
        if paths & self.seen != 0 {
            // Repeated: the walk refuses it, with the path.
            self.unsure = true;
        }
        self.seen |= paths;
        self.pending = paths;
    }
}

impl<'b> State<'_, 'b> {
    fn value(&mut self, paths: u32, text: Cow<'b, str>) {
        self.noted = true;
        for (i, slot) in self.found.iter_mut().enumerate() {
            if paths & (1 << i) != 0 {
                *slot = Some(text.clone());
            }
        }
    }
}

/// Where a wrapped deserializer or visitor is.
#[derive(Clone, Copy)]
enum Kind {
    /// The document itself.
    Top,
    /// A key of the top-level object.
    Key,
    /// The value of the top-level keys of these paths.
    Value(u32),
}

/// A deserializer passed on to `de`, its visitor wrapped in a [`Spy`].
struct Tap<'s, 'p, 'b, D> {
    de: D,
    state: &'s mut State<'p, 'b>,
    kind: Kind,
}

/// A visitor passed on to `inner`, noting what it is shown.
struct Spy<'s, 'p, 'b, V> {
    inner: V,
    state: &'s mut State<'p, 'b>,
    kind: Kind,
}

impl<'s, 'p, 'b, D> Tap<'s, 'p, 'b, D> {
    fn spy<V>(state: &'s mut State<'p, 'b>, kind: Kind, inner: V) -> Spy<'s, 'p, 'b, V> {
        Spy { inner, state, kind }
    }
}

macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method<V: Visitor<'b>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
                self.de.$method($($arg,)* Self::spy(self.state, self.kind, visitor))
            }
        )*
    };
}

impl<'b, D: Deserializer<'b>> Deserializer<'b> for Tap<'_, '_, 'b, D> {
    type Error = D::Error;

    forward! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
    }

    fn deserialize_ignored_any<V: Visitor<'b>>(self, visitor: V) -> Result<V::Value, D::Error> {
        match self.kind {
            // `T` skips a value the scheme wants: read it, then tell `T`
            // what `serde_json` tells it after skipping one.
            Kind::Value(_) => self
                .de
                .deserialize_any(Self::spy(self.state, self.kind, Skip(visitor))),
            // `T` skipping the whole document leaves the fields to the walk.
            Kind::Top => {
                self.state.unsure = true;
                self.de
                    .deserialize_ignored_any(Self::spy(self.state, self.kind, visitor))
            }
            // A key is read as a string whatever is asked.
            Kind::Key => self
                .de
                .deserialize_ignored_any(Self::spy(self.state, self.kind, visitor)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'b>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        if name.starts_with(SERDE_JSON_PRIVATE) {
            // `serde_json`'s own tokens (`RawValue`): it skips the value and
            // shows `T` a made-up map instead, whose keys are not the body's.
            self.state.unsure = true;
        }
        self.de
            .deserialize_newtype_struct(name, Self::spy(self.state, self.kind, visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.de.is_human_readable()
    }
}

/// The prefix of the names `serde_json` gives its private tokens (a
/// `RawValue`, an arbitrary-precision `Number`), which it hands to visitors
/// as one-entry maps.
const SERDE_JSON_PRIVATE: &str = "$serde_json::private::";

impl<'s, 'p, 'b, V> Spy<'s, 'p, 'b, V> {
    /// Shown something that is not how the walk reads a key or a field.
    fn other(&mut self) {
        if !matches!(self.kind, Kind::Top) {
            self.state.unsure = true;
        }
    }

    fn text(&mut self, text: Cow<'b, str>) {
        match self.kind {
            Kind::Top => {}
            Kind::Key => self.state.key(&text),
            Kind::Value(paths) => self.state.value(paths, text),
        }
    }

    fn integer(&mut self, text: impl fmt::Display) {
        match self.kind {
            Kind::Top => {}
            Kind::Key => self.state.unsure = true,
            Kind::Value(paths) => self.state.value(paths, Cow::Owned(text.to_string())),
        }
    }
}

macro_rules! pass {
    ($($method:ident($($arg:ident: $ty:ty),*) => $note:ident;)*) => {
        $(
            fn $method<E: de::Error>(mut self, $($arg: $ty),*) -> Result<V::Value, E> {
                pass!(@note self $note $($arg)*);
                self.inner.$method($($arg),*)
            }
        )*
    };
    (@note $self:ident other $($arg:ident)*) => { $self.other() };
    (@note $self:ident integer $arg:ident) => { $self.integer($arg) };
}

impl<'b, V: Visitor<'b>> Visitor<'b> for Spy<'_, '_, 'b, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    pass! {
        visit_bool(v: bool) => other;
        visit_i8(v: i8) => other;
        visit_i16(v: i16) => other;
        visit_i32(v: i32) => other;
        visit_i64(v: i64) => integer;
        visit_i128(v: i128) => other;
        visit_u8(v: u8) => other;
        visit_u16(v: u16) => other;
        visit_u32(v: u32) => other;
        visit_u64(v: u64) => integer;
        visit_u128(v: u128) => other;
        visit_f32(v: f32) => other;
        visit_f64(v: f64) => other;
        visit_char(v: char) => other;
        visit_bytes(v: &[u8]) => other;
        visit_borrowed_bytes(v: &'b [u8]) => other;
        visit_byte_buf(v: Vec<u8>) => other;
        visit_none() => other;
        visit_unit() => other;
    }

    fn visit_str<E: de::Error>(mut self, v: &str) -> Result<V::Value, E> {
        if !matches!(self.kind, Kind::Top) {
            self.text(Cow::Owned(v.to_owned()));
        }
        self.inner.visit_str(v)
    }

    fn visit_borrowed_str<E: de::Error>(mut self, v: &'b str) -> Result<V::Value, E> {
        self.text(Cow::Borrowed(v));
        self.inner.visit_borrowed_str(v)
    }

    fn visit_string<E: de::Error>(mut self, v: String) -> Result<V::Value, E> {
        if !matches!(self.kind, Kind::Top) {
            self.text(Cow::Owned(v.clone()));
        }
        self.inner.visit_string(v)
    }

    fn visit_some<D: Deserializer<'b>>(self, de: D) -> Result<V::Value, D::Error> {
        self.inner.visit_some(Tap {
            de,
            state: self.state,
            kind: self.kind,
        })
    }

    fn visit_newtype_struct<D: Deserializer<'b>>(self, de: D) -> Result<V::Value, D::Error> {
        self.inner.visit_newtype_struct(Tap {
            de,
            state: self.state,
            kind: self.kind,
        })
    }

    fn visit_seq<A: SeqAccess<'b>>(mut self, seq: A) -> Result<V::Value, A::Error> {
        self.other();
        self.inner.visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'b>>(mut self, map: A) -> Result<V::Value, A::Error> {
        match self.kind {
            Kind::Top => {
                self.state.object = true;
                self.inner.visit_map(Map {
                    map,
                    state: self.state,
                })
            }
            Kind::Key | Kind::Value(_) => {
                self.other();
                self.inner.visit_map(map)
            }
        }
    }

    fn visit_enum<A: EnumAccess<'b>>(self, data: A) -> Result<V::Value, A::Error> {
        // The object read as an enum, or a key or a field as one: its keys
        // or its text go by unseen.
        self.state.unsure = true;
        self.inner.visit_enum(data)
    }
}

/// The top-level object's entries, each key and each asked-for value wrapped.
struct Map<'s, 'p, 'b, A> {
    map: A,
    state: &'s mut State<'p, 'b>,
}

/// A seed whose deserializer is wrapped in a [`Tap`].
struct Seed<'s, 'p, 'b, S> {
    seed: S,
    state: &'s mut State<'p, 'b>,
    kind: Kind,
}

impl<'b, S: DeserializeSeed<'b>> DeserializeSeed<'b> for Seed<'_, '_, 'b, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'b>>(self, de: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Tap {
            de,
            state: self.state,
            kind: self.kind,
        })
    }
}

impl<'b, A: MapAccess<'b>> MapAccess<'b> for Map<'_, '_, 'b, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'b>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        self.state.pending = 0;
        self.state.noted = false;
        let key = self.map.next_key_seed(Seed {
            seed,
            state: &mut *self.state,
            kind: Kind::Key,
        })?;
        if key.is_some() && !self.state.noted {
            self.state.unsure = true;
        }
        Ok(key)
    }

    fn next_value_seed<S: DeserializeSeed<'b>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        let paths = std::mem::take(&mut self.state.pending);
        if paths == 0 {
            return self.map.next_value_seed(seed);
        }
        self.state.noted = false;
        let value = self.map.next_value_seed(Seed {
            seed,
            state: &mut *self.state,
            kind: Kind::Value(paths),
        })?;
        if !self.state.noted {
            self.state.unsure = true;
        }
        Ok(value)
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// The visitor of a value `T` skips: whatever it is shown, it consumes it
/// and tells `T` `visit_unit`, as `serde_json`'s `deserialize_ignored_any` does.
struct Skip<V>(V);

macro_rules! skip {
    ($($method:ident($ty:ty);)*) => {
        $(
            fn $method<E: de::Error>(self, _: $ty) -> Result<V::Value, E> {
                self.0.visit_unit()
            }
        )*
    };
}

impl<'b, V: Visitor<'b>> Visitor<'b> for Skip<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    skip! {
        visit_bool(bool);
        visit_i64(i64);
        visit_i128(i128);
        visit_u64(u64);
        visit_u128(u128);
        visit_f64(f64);
        visit_char(char);
        visit_str(&str);
        visit_borrowed_str(&'b str);
        visit_string(String);
        visit_bytes(&[u8]);
        visit_borrowed_bytes(&'b [u8]);
        visit_byte_buf(Vec<u8>);
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit()
    }

    fn visit_some<D: Deserializer<'b>>(self, de: D) -> Result<V::Value, D::Error> {
        IgnoredAny::deserialize(de)?;
        self.0.visit_unit()
    }

    fn visit_newtype_struct<D: Deserializer<'b>>(self, de: D) -> Result<V::Value, D::Error> {
        IgnoredAny::deserialize(de)?;
        self.0.visit_unit()
    }

    fn visit_seq<A: SeqAccess<'b>>(self, seq: A) -> Result<V::Value, A::Error> {
        IgnoredAny.visit_seq(seq)?;
        self.0.visit_unit()
    }

    fn visit_map<A: MapAccess<'b>>(self, map: A) -> Result<V::Value, A::Error> {
        IgnoredAny.visit_map(map)?;
        self.0.visit_unit()
    }

    fn visit_enum<A: EnumAccess<'b>>(self, data: A) -> Result<V::Value, A::Error> {
        IgnoredAny.visit_enum(data)?;
        self.0.visit_unit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::json;
    use proptest::prelude::*;

    fn paths(dotted: &[&str]) -> Vec<Path> {
        dotted.iter().map(|p| json::path(p)).collect()
    }

    /// The fields, decoding as `T`, or why there are none.
    fn read<T: DeserializeOwned + Send + 'static>(
        body: &str,
        dotted: &[&str],
    ) -> Option<Option<Vec<Option<String>>>> {
        let paths = paths(dotted);
        let (_, fields) = As::<T>::new().decode(body.as_bytes(), &paths)?;
        Some(fields.map(|f| {
            f[..paths.len()]
                .iter()
                .map(|v| v.as_deref().map(str::to_owned))
                .collect()
        }))
    }

    fn walk(body: &str, dotted: &[&str]) -> Result<Vec<Option<String>>, json::Duplicate> {
        let paths = paths(dotted);
        let found =
            json::find_unique::<MAX_BODY_FIELDS>(body.as_bytes(), std::array::from_fn(|i| paths.get(i)))?;
        Ok(found[..paths.len()]
            .iter()
            .map(|v| v.as_deref().map(str::to_owned))
            .collect())
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Envelope {
        id: String,
        #[serde(rename = "type")]
        kind: String,
        data: serde_json::Value,
    }

    /// Reads only `data`: `id` and `type` are skipped as unknown fields.
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct DataOnly {
        data: serde_json::Value,
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(tag = "type")]
    enum Tagged {
        #[serde(rename = "order.completed")]
        Completed { id: String, data: serde_json::Value },
        #[serde(other)]
        Other,
    }

    const ARTICLE: &str = r#"{"id":"evt_123","type":"order.completed","created":1710331200,"data":{"orderId":"123","status":"completed","completedAt":"2024-01-01T12:00:00Z"}}"#;

    #[test]
    fn reads_the_articles_id_and_type_whatever_the_type_reads() {
        let want = Some(Some(vec![
            Some("evt_123".to_owned()),
            Some("order.completed".to_owned()),
        ]));
        assert_eq!(read::<Envelope>(ARTICLE, &["id", "type"]), want);
        assert_eq!(read::<DataOnly>(ARTICLE, &["id", "type"]), want);
        assert_eq!(read::<Tagged>(ARTICLE, &["id", "type"]), want);
        assert_eq!(read::<serde_json::Value>(ARTICLE, &["id", "type"]), want);
        assert_eq!(
            read::<crate::event::Event<serde_json::Value>>(ARTICLE, &["id", "type"]),
            want
        );
    }

    #[test]
    fn decodes_what_from_slice_decodes() {
        let paths = paths(&["id", "type"]);
        for body in [
            ARTICLE,
            r#"{"id":"e\u0031","type":"order.completed","data":{"id":"inner"}}"#,
            r#"{"type":"order.completed","data":[1,2],"id":"e2"}"#,
        ] {
            let (value, _) = As::<Envelope>::new().decode(body.as_bytes(), &paths).unwrap();
            let value = *value.downcast::<Envelope>().unwrap();
            assert_eq!(value, serde_json::from_str::<Envelope>(body).unwrap());
            let (value, _) = As::<DataOnly>::new().decode(body.as_bytes(), &paths).unwrap();
            assert_eq!(
                *value.downcast::<DataOnly>().unwrap(),
                serde_json::from_str::<DataOnly>(body).unwrap()
            );
        }
    }

    #[test]
    fn leaves_to_the_walk_what_it_cannot_be_sure_of() {
        let dotted = ["id", "type"];
        // A repeated key: the walk refuses it.
        assert_eq!(
            read::<serde_json::Value>(r#"{"id":"a","id":"b","type":"t"}"#, &dotted),
            Some(None)
        );
        assert_eq!(
            read::<DataOnly>(r#"{"id":"a","type":"t","id":"b","data":1}"#, &dotted),
            Some(None)
        );
        // An id that is not a string or an integer.
        assert_eq!(
            read::<serde_json::Value>(r#"{"id":{"a":1},"type":"t"}"#, &dotted),
            Some(None)
        );
        assert_eq!(
            read::<serde_json::Value>(r#"{"id":null,"type":"t"}"#, &dotted),
            Some(None)
        );
        assert_eq!(
            read::<serde_json::Value>(r#"{"id":1.5,"type":"t"}"#, &dotted),
            Some(None)
        );
        // A nested path.
        assert_eq!(
            read::<serde_json::Value>(ARTICLE, &["id", "data.orderId"]),
            Some(None)
        );
        // A document that is not an object.
        assert_eq!(read::<serde_json::Value>(r#"["id","type"]"#, &dotted), Some(None));
        // The whole document skipped.
        assert_eq!(read::<IgnoredAny>(ARTICLE, &dotted), Some(None));
    }

    #[test]
    fn leaves_a_raw_value_to_the_walk() {
        use serde_json::value::RawValue;
        let dotted = ["id", "type"];
        // `serde_json` shows `T` a made-up map for a `RawValue`, without the
        // body's keys.
        assert_eq!(read::<Box<RawValue>>(ARTICLE, &dotted), Some(None));
        assert_eq!(read::<Option<Box<RawValue>>>(ARTICLE, &dotted), Some(None));
        let paths = paths(&dotted);
        let (value, _) = As::<Box<RawValue>>::new()
            .decode(ARTICLE.as_bytes(), &paths)
            .unwrap();
        assert_eq!(value.downcast::<Box<RawValue>>().unwrap().get(), ARTICLE);
        // As a field's value, it is a value the walk reads otherwise.
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct RawId {
            id: Box<RawValue>,
        }
        assert_eq!(read::<RawId>(r#"{"id":"evt_1","type":"t"}"#, &dotted), Some(None));
        // A key of the body spelt like one of `serde_json`'s tokens.
        assert_eq!(
            read::<std::collections::HashMap<String, String>>(
                r#"{"$serde_json::private::RawValue":"x","id":"a"}"#,
                &dotted
            ),
            Some(None)
        );
    }

    #[test]
    fn keeps_nothing_when_the_type_does_not_decode() {
        let dotted = ["id", "type"];
        assert_eq!(read::<Envelope>(r#"{"id":"a","type":"t"}"#, &dotted), None);
        assert_eq!(read::<Envelope>(&format!("{ARTICLE} trailing"), &dotted), None);
        assert_eq!(
            read::<serde_json::Value>(r#"{"id":"a","type":"t""#, &dotted),
            None
        );
    }

    #[test]
    fn reads_integers_as_the_walk_does() {
        let body = r#"{"id":12345,"type":"t","data":0}"#;
        assert_eq!(
            read::<DataOnly>(body, &["id", "type"]),
            Some(Some(vec![Some("12345".to_owned()), Some("t".to_owned())]))
        );
        assert_eq!(
            read::<DataOnly>(r#"{"id":-7,"data":0}"#, &["id"]),
            Some(Some(vec![Some("-7".to_owned())]))
        );
        // A type that reads the id as a number gets the same.
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct Numbered {
            id: u64,
        }
        assert_eq!(
            read::<Numbered>(r#"{"id":12345}"#, &["id"]),
            Some(Some(vec![Some("12345".to_owned())]))
        );
    }

    /// A JSON value of a few shapes, with keys from a small set so that
    /// repeats and the asked-for keys come up often.
    fn value(depth: u32) -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            (-1e6f64..1e6).prop_map(serde_json::Value::from),
            "[a-z\"\\\\/é\u{1F600}\n]{0,6}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(depth, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::vec((key(), inner), 0..4)
                    .prop_map(|entries| serde_json::Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("id".to_owned()),
            Just("type".to_owned()),
            Just("data".to_owned()),
            "[a-z]{1,3}"
        ]
    }

    /// A string or an integer: what an id or a type is.
    fn scalar() -> impl Strategy<Value = serde_json::Value> {
        prop_oneof![
            "[a-z_0-9\"\\\\/é\u{1F600}]{1,8}".prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
        ]
    }

    /// An object's text written by hand, so that keys may repeat and may be
    /// spelt with escapes (`serde_json::Value` would merge repeats). Most
    /// values are strings or integers, as ids and types are.
    fn object() -> impl Strategy<Value = String> {
        let entry = (key(), any::<bool>(), prop_oneof![4 => scalar(), 1 => value(2)]);
        prop::collection::vec(entry, 0..6).prop_map(|entries| {
            let members: Vec<String> = entries
                .into_iter()
                .map(|(key, escaped, value)| {
                    let key = if escaped {
                        key.chars().map(|c| format!("\\u{:04x}", c as u32)).collect()
                    } else {
                        key
                    };
                    format!("\"{key}\":{value}")
                })
                .collect();
            format!("{{{}}}", members.join(","))
        })
    }

    proptest! {
        /// Whenever the decode reads the fields, they are the walk's; and a
        /// body the walk refuses is never read.
        #[test]
        fn the_fields_read_while_decoding_are_the_walks(body in object()) {
            let dotted = ["id", "type"];
            let walked = walk(&body, &dotted);
            for read in [
                read::<serde_json::Value>(&body, &dotted),
                read::<DataOnly>(&body, &dotted),
                read::<Tagged>(&body, &dotted),
                read::<std::collections::HashMap<String, IgnoredAny>>(&body, &dotted),
            ] {
                if let Some(Some(fields)) = read {
                    prop_assert_eq!(Ok(fields), walked.clone(), "body {}", body);
                }
            }
            // `serde_json::Value` decodes any object.
            prop_assert!(read::<serde_json::Value>(&body, &dotted).is_some());
        }

        /// The value is `from_slice`'s, skipped fields included.
        #[test]
        fn the_value_is_from_slices(body in object()) {
            let paths = paths(&["id", "type"]);
            let decoded = As::<serde_json::Value>::new().decode(body.as_bytes(), &paths).map(|(v, _)| *v.downcast::<serde_json::Value>().unwrap());
            prop_assert_eq!(decoded, serde_json::from_str::<serde_json::Value>(&body).ok());
            let decoded = As::<DataOnly>::new().decode(body.as_bytes(), &paths).map(|(v, _)| *v.downcast::<DataOnly>().unwrap());
            prop_assert_eq!(decoded, serde_json::from_str::<DataOnly>(&body).ok());
        }
    }
}
