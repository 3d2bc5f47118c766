//! The verifier: `impl Scheme for Spec`, one loop for every declaration.

use std::borrow::Cow;
use std::time::SystemTime;

use http::header::{HeaderMap, HeaderName};
use http::StatusCode;
use serde::de::IgnoredAny;

use super::declare::{Layout, SignaturePolicy};
use super::rules::{
    AnswerRule, HandshakeRule, Part, SignatureRule, Src, TimestampRule, TriggerRule, TsRule, MAX_PARTS,
};
use super::Spec;
use crate::key::ring::{Candidates, Matched, Sig, MAX_SIGNATURES};
use crate::rejection::Rejection;
use crate::scheme::decode::Decoding;
use crate::scheme::json::{self, Path, MAX_BODY_FIELDS};
use crate::scheme::request::{required_header, single_header, RequestParts};
use crate::scheme::timestamp::check_tolerance;
use crate::scheme::verdict::{Reply, Verdict, VerifiedEvent};
use crate::scheme::verify::Scheme;

impl Spec {
    /// The timestamp the request carries outside the body: its text as
    /// signed, its value, and the header it came from (`header`, the
    /// signature header, for a keyed list's entry).
    fn timestamp_text<'h, 's: 'h>(
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
        let value = rule
            .format
            .parse(text)
            .map_err(|reason| Rejection::InvalidHeader {
                name: name.clone(),
                reason,
            })?;
        Ok(Some((text, value, name)))
    }

    /// Decodes one signature of version `index` into `out`; one that does
    /// not decode cannot match, and is skipped, as the providers' libraries
    /// skip it, leaving the others to decide.
    fn push(&self, out: &mut Candidates, index: usize, text: &str) -> Result<(), Rejection> {
        let version = &self.versions[index];
        if let Some(sig) = Sig::decode(index as u8, version.algorithm, version.encoding, text) {
            out.push(sig).map_err(|_| Rejection::MalformedSignature {
                reason: "too many signatures",
            })?;
        }
        Ok(())
    }

    /// The signatures of one list value, entries split on `separators`.
    fn list_entries(&self, separators: &[char], value: &str, out: &mut Candidates) -> Result<(), Rejection> {
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
    fn versioned_entries(
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
    fn candidates<'h>(
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
                for item in value.split(*entry).filter(|e| !e.is_empty()) {
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
    fn body_timestamp(
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
        let value = rule
            .format
            .parse(text)
            .map_err(|reason| Rejection::InvalidBodyField {
                path: self.path(*i),
                reason,
            })?;
        check_tolerance(value, clock(), rule.tolerance, rule.two_sided)?;
        Ok(Some(value))
    }

    /// Body field `i`'s dotted path, for a rejection.
    fn path(&self, i: usize) -> Box<str> {
        self.body_paths[i].join(".").into_boxed_str()
    }

    /// The URL the sender signed: the configured public base plus the
    /// request's query, or (trusted) the forwarded headers.
    fn url(&self, request: &RequestParts<'_>) -> Result<String, Rejection> {
        let query = request.uri.query().map(|q| format!("?{q}")).unwrap_or_default();
        if let Some(base) = &self.url.base {
            return Ok(format!("{base}{query}"));
        }
        let forwarded = |name: &'static str| {
            single_header(request.headers, &HeaderName::from_static(name))
                .ok()
                .flatten()
                .map(|v| v.split(',').next().unwrap_or(v).trim())
        };
        let proto = forwarded("x-forwarded-proto").unwrap_or("https");
        let host = forwarded("x-forwarded-host")
            .or_else(|| request.uri.authority().map(|a| a.as_str()))
            .or_else(|| forwarded("host"))
            .ok_or(Rejection::MissingHeader {
                name: http::header::HOST,
            })?;
        Ok(format!("{proto}://{host}{}", request.uri.path()) + &query)
    }

    /// The signed content's parts, in `out`; a value placed next to a
    /// literal must not contain it (`400`, naming where the value came from).
    fn build_parts<'a>(
        &'a self,
        out: &mut [&'a [u8]; MAX_PARTS],
        body: &'a [u8],
        id: Option<(&'a str, Origin<'a>)>,
        timestamp: Option<(&'a str, Origin<'a>)>,
        method: &'a str,
        url: &'a str,
    ) -> Result<usize, Rejection> {
        let mut len = 0;
        for (i, part) in self.content.iter().enumerate() {
            let (bytes, checked): (&'a [u8], Option<(&str, Origin<'a>)>) = match part {
                Part::Literal(text) => (text.as_bytes(), None),
                Part::Body => (body, None),
                Part::Timestamp => (timestamp.map_or(&b""[..], |t| t.0.as_bytes()), timestamp),
                Part::Id => (id.map_or(&b""[..], |t| t.0.as_bytes()), id),
                Part::Method => (method.as_bytes(), None),
                Part::Url => (url.as_bytes(), None),
            };
            if let Some((value, origin)) = checked {
                let neighbours = [i.checked_sub(1), Some(i + 1)];
                for n in neighbours.into_iter().flatten() {
                    if let Some(Part::Literal(lit)) = self.content.get(n) {
                        // A one-byte literal (the usual `.` or `:`) is a memchr.
                        let found = match lit.as_bytes() {
                            [byte] => value.as_bytes().contains(byte),
                            _ => value.contains(&**lit),
                        };
                        if found {
                            let reason = "contains the signed content's separator";
                            return Err(match origin {
                                Origin::Header(name) => Rejection::InvalidHeader {
                                    name: name.clone(),
                                    reason,
                                },
                                Origin::Body(field) => Rejection::InvalidBodyField {
                                    path: self.path(field),
                                    reason,
                                },
                            });
                        }
                    }
                }
            }
            out[len] = bytes;
            len += 1;
        }
        Ok(len)
    }

    /// Verifies the signatures against the content; the match, or `401`.
    fn check(&self, sigs: &[Sig], parts: &[&[u8]]) -> Result<Matched, Rejection> {
        let mut first = None;
        let mut verified = 0u32;
        for (index, version) in self.versions.iter().enumerate() {
            let mut mine: [&Sig; MAX_SIGNATURES] = [&sigs[0]; MAX_SIGNATURES];
            let mut n = 0;
            for sig in sigs.iter().filter(|s| usize::from(s.version) == index) {
                mine[n] = sig;
                n += 1;
            }
            if n == 0 {
                continue;
            }
            if let Some(m) = self.keys.verify(version.algorithm, parts, &mine[..n]) {
                verified |= 1 << index;
                first.get_or_insert(m);
                if self.policy == SignaturePolicy::Any {
                    break;
                }
            }
        }
        let satisfied = match &self.policy {
            SignaturePolicy::Any => verified != 0,
            SignaturePolicy::Require(label) => self
                .versions
                .iter()
                .position(|v| *v.label == **label)
                .is_some_and(|i| verified & (1 << i) != 0),
            SignaturePolicy::All => verified.count_ones() as usize == self.versions.len(),
        };
        match first {
            Some(m) if satisfied => Ok(m),
            _ => Err(Rejection::SignatureMismatch),
        }
    }

    fn answer(
        &self,
        rule: &HandshakeRule,
        fields: &[Option<Cow<'_, str>>; MAX_BODY_FIELDS],
        matched: &Matched,
    ) -> Result<Reply, Rejection> {
        let field = |i: usize| {
            fields[i].as_deref().ok_or(Rejection::MalformedHandshake {
                reason: "a field the answer needs is missing",
            })
        };
        Ok(match &rule.answer {
            AnswerRule::Fixed(reply) => reply.clone(),
            AnswerRule::EchoJson(i, key) => {
                let mut map = serde_json::Map::new();
                map.insert((*key).to_owned(), field(*i)?.into());
                Reply::new(
                    StatusCode::OK,
                    Some("application/json"),
                    serde_json::Value::Object(map).to_string(),
                )
            }
            AnswerRule::EchoText(i) => Reply::new(StatusCode::OK, Some("text/plain"), field(*i)?.to_owned()),
            AnswerRule::HmacToken(i) => {
                let plain = field(*i)?;
                let token = self.keys.hmac256(matched.key, &[plain.as_bytes()]).ok_or(
                    Rejection::MalformedHandshake {
                        reason: "the request was not verified with an HMAC-SHA256 secret",
                    },
                )?;
                let reply = serde_json::json!({ "plainToken": plain, "encryptedToken": hex::encode(token) });
                Reply::new(StatusCode::OK, Some("application/json"), reply.to_string())
            }
        })
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
fn body_fields<'a>(
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
fn signature_values<'h>(
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
fn strip_label<'i>(item: &'i str, label: &str) -> Option<&'i str> {
    if label.is_empty() {
        Some(item)
    } else {
        item.strip_prefix(label)
    }
}

/// Where a signed value came from, for the rejection that names it.
#[derive(Clone, Copy)]
enum Origin<'a> {
    Header(&'a HeaderName),
    /// A body field, by its index into the body paths.
    Body(usize),
}

impl Scheme for Spec {
    fn verify(&self, request: RequestParts<'_>, body: &[u8], now: SystemTime) -> Result<Verdict, Rejection> {
        self.verify_in_layer(request, body, &|| now, None)
    }

    /// Refuses a request without the signature header, unread; a spec whose
    /// signatures are in the body lets every request through to `verify`.
    fn precheck(&self, headers: &HeaderMap) -> Result<(), Rejection> {
        match &self.pick(headers).signature {
            SignatureRule::Header(name) if !headers.contains_key(name) => {
                Err(Rejection::MissingSignature { name: name.clone() })
            }
            _ => Ok(()),
        }
    }

    /// The body's fields are read while `decoding` decodes it, when it can,
    /// instead of by a walk of their own; `clock` is read only where a
    /// timestamp is checked against it.
    fn verify_in_layer(
        &self,
        request: RequestParts<'_>,
        body: &[u8],
        clock: &dyn Fn() -> SystemTime,
        decoding: Option<&mut Decoding<'_>>,
    ) -> Result<Verdict, Rejection> {
        let spec = self.pick(request.headers);
        match &spec.signature {
            SignatureRule::Header(header) => spec.verify_headers(request, header, body, clock, decoding),
            // The fields are read before the signature, so no decoding can
            // share their walk: the extractor decodes the payload.
            SignatureRule::Body { field, payload } => spec.verify_body(request, *field, payload, body, clock),
        }
    }
}

impl Spec {
    /// This spec, or its alternate when the delivery carries none of the
    /// declared header names and some of the alternate ones.
    fn pick(&self, headers: &HeaderMap) -> &Self {
        match &self.alternate {
            Some(alternate)
                if !alternate.declared.iter().any(|name| headers.contains_key(name))
                    && alternate.names.iter().any(|name| headers.contains_key(name)) =>
            {
                &alternate.spec
            }
            _ => self,
        }
    }

    /// Verifies signatures carried in `header`.
    fn verify_headers(
        &self,
        request: RequestParts<'_>,
        header: &HeaderName,
        body: &[u8],
        clock: &dyn Fn() -> SystemTime,
        decoding: Option<&mut Decoding<'_>>,
    ) -> Result<Verdict, Rejection> {
        let headers = request.headers;
        // A keyed list holds the timestamp, so it is read first; otherwise
        // the timestamp and id headers are, then the signatures.
        let mut candidates = Candidates::new();
        let keyed = matches!(self.layout, Layout::Keyed { .. });
        let entry = if keyed {
            self.candidates(headers, header, &mut candidates)?
        } else {
            None
        };
        let timestamp = self.timestamp_text(headers, header, entry)?;
        if let (Some(rule), Some((_, value, _))) = (&self.timestamp, timestamp) {
            check_tolerance(value, clock(), rule.tolerance, rule.two_sided)?;
        }
        let id_header = self.id_header_value(headers)?;
        if !keyed {
            self.candidates(headers, header, &mut candidates)?;
        }
        let sigs = candidates.all();
        if sigs.is_empty() {
            return Err(Rejection::MalformedSignature {
                reason: "no signature in the expected format",
            });
        }
        let url = if self.signs_url {
            self.url(&request)?
        } else {
            String::new()
        };
        let mut parts: [&[u8]; MAX_PARTS] = [&[]; MAX_PARTS];
        let n = self.build_parts(
            &mut parts,
            body,
            id_header.map(|(value, name)| (value, Origin::Header(name))),
            timestamp.map(|(text, _, name)| (text, Origin::Header(name))),
            request.method.as_str(),
            &url,
        )?;
        let matched = self.check(sigs, &parts[..n])?;

        // Verified: only now is the body worth reading.
        let fields = match decoding.and_then(|decoding| decoding.fields(body, &self.body_paths)) {
            Some(fields) => fields,
            None => body_fields(body, &self.body_paths)?,
        };
        let body_timestamp = self.body_timestamp(&fields, clock)?;
        let timestamp = timestamp.map(|t| t.1).or(body_timestamp);
        self.event(headers, &fields, id_header, timestamp, &matched)
    }

    /// Verifies signatures carried in body field `field`, as Mailgun's: the
    /// fields are read first, since the signature is among them, and those
    /// the template signs (the timestamp, the id) must be there too; the
    /// unsigned rest, at `payload`, must still be one JSON document.
    fn verify_body(
        &self,
        request: RequestParts<'_>,
        field: usize,
        payload: &str,
        body: &[u8],
        clock: &dyn Fn() -> SystemTime,
    ) -> Result<Verdict, Rejection> {
        let headers = request.headers;
        let fields = body_fields(body, &self.body_paths)?;
        let signed = |i: usize| {
            fields[i].as_deref().ok_or(Rejection::MalformedSignature {
                reason: "a field the signature covers is missing from the body",
            })
        };
        let text = signed(field)?;
        let timestamp = match &self.timestamp {
            Some(
                rule @ TimestampRule {
                    source: TsRule::Body(i),
                    ..
                },
            ) => {
                let text = signed(*i)?;
                let value = rule
                    .format
                    .parse(text)
                    .map_err(|reason| Rejection::InvalidBodyField {
                        path: self.path(*i),
                        reason,
                    })?;
                Some((text, value, Origin::Body(*i)))
            }
            Some(
                rule @ TimestampRule {
                    source: TsRule::Header(name),
                    ..
                },
            ) => {
                let text = required_header(headers, name)?;
                let value = rule
                    .format
                    .parse(text)
                    .map_err(|reason| Rejection::InvalidHeader {
                        name: name.clone(),
                        reason,
                    })?;
                Some((text, value, Origin::Header(name)))
            }
            // A timestamp entry is refused when built: it is a keyed list's.
            Some(TimestampRule {
                source: TsRule::Entry(_),
                ..
            })
            | None => None,
        };
        let id_header = self.id_header_value(headers)?;
        let id = match (&self.id[..], id_header) {
            ([Src::Body(i)], _) if self.content.contains(&Part::Id) => Some((signed(*i)?, Origin::Body(*i))),
            (_, Some((value, name))) => Some((value, Origin::Header(name))),
            _ => None,
        };
        if let (Some(rule), Some((_, value, _))) = (&self.timestamp, timestamp) {
            check_tolerance(value, clock(), rule.tolerance, rule.two_sided)?;
        }
        let mut candidates = Candidates::new();
        match &self.layout {
            Layout::List(separators) => self.list_entries(separators, text, &mut candidates)?,
            Layout::Versioned { entry, sep } => {
                self.versioned_entries(*entry, *sep, text, &mut candidates)?
            }
            // Refused when built: a keyed list's timestamp entry is a header's.
            Layout::Keyed { .. } => {}
        }
        let sigs = candidates.all();
        if sigs.is_empty() {
            return Err(Rejection::MalformedSignature {
                reason: "no signature in the expected format",
            });
        }
        let url = if self.signs_url {
            self.url(&request)?
        } else {
            String::new()
        };
        let mut parts: [&[u8]; MAX_PARTS] = [&[]; MAX_PARTS];
        let n = self.build_parts(
            &mut parts,
            &[],
            id,
            timestamp.map(|(text, _, origin)| (text, origin)),
            request.method.as_str(),
            &url,
        )?;
        let matched = self.check(sigs, &parts[..n])?;
        // The walk stopped once it had the fields: read the rest, which no
        // signature vouches for, to the end.
        if serde_json::from_slice::<IgnoredAny>(body).is_err() {
            return Err(Rejection::InvalidBodyField {
                path: payload.into(),
                reason: "the body is not one JSON document",
            });
        }
        self.event(headers, &fields, id_header, timestamp.map(|t| t.1), &matched)
    }

    /// The id when it is read from headers only: its absence is a `400`
    /// before any crypto.
    fn id_header_value<'h>(
        &'h self,
        headers: &'h HeaderMap,
    ) -> Result<Option<(&'h str, &'h HeaderName)>, Rejection> {
        let Some(Src::Header(first)) = self.id.first() else {
            return Ok(None);
        };
        for src in self.id.iter() {
            if let Src::Header(name) = src {
                if let Some(value) = single_header(headers, name)? {
                    return Ok(Some((value, name)));
                }
            }
        }
        if self.id.iter().all(|s| matches!(s, Src::Header(_))) {
            return Err(Rejection::MissingHeader { name: first.clone() });
        }
        Ok(None)
    }

    /// A verified delivery's answer: a handshake's reply, or the event with
    /// its id, type and timestamp.
    fn event(
        &self,
        headers: &HeaderMap,
        fields: &[Option<Cow<'_, str>>; MAX_BODY_FIELDS],
        id_header: Option<(&str, &HeaderName)>,
        timestamp: Option<i64>,
        matched: &Matched,
    ) -> Result<Verdict, Rejection> {
        for rule in self.handshakes.iter() {
            let hit = match &rule.trigger {
                TriggerRule::Body(i, equals) => fields[*i].as_deref() == Some(&**equals),
                TriggerRule::Header(name, equals) => {
                    single_header(headers, name).ok().flatten() == Some(&**equals)
                }
            };
            if hit {
                return self.answer(rule, fields, matched).map(Verdict::Reply);
            }
        }

        let signature_key = || format!("sig:{}", hex::encode(matched.canonical()));
        let mut id: Option<Cow<'_, str>> = None;
        for src in self.id.iter() {
            id = match src {
                Src::Header(_) => id_header.map(|(v, _)| Cow::Borrowed(v)),
                Src::Body(i) => fields[*i].as_deref().map(Cow::Borrowed),
                Src::Signature => Some(Cow::Owned(signature_key())),
            };
            if id.is_some() {
                break;
            }
        }
        let id = id.ok_or(Rejection::MissingEventId)?;
        let mut event_type = None;
        for src in self.event_type.iter() {
            event_type = match src {
                Src::Header(name) => single_header(headers, name).ok().flatten(),
                Src::Body(i) => fields[*i].as_deref(),
                Src::Signature => None,
            };
            if event_type.is_some() {
                break;
            }
        }
        let mut delivery = VerifiedEvent::with_id_and_type(&id, event_type)?.with_timestamp(timestamp);
        if self.dedupe_on_signature && !self.id.iter().any(|s| matches!(s, Src::Signature)) {
            delivery = delivery.with_replay_key(signature_key());
        }
        Ok(Verdict::Event(delivery))
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
