//! The verifier: `impl Scheme for Spec`, one loop for every declaration.

use std::borrow::Cow;
use std::time::SystemTime;

use http::header::{HeaderMap, HeaderName};
use http::StatusCode;
use serde::de::IgnoredAny;

use super::declare::{Layout, SignaturePolicy};
use super::read::body_fields;
use super::rules::{
    AnswerRule, HandshakeRule, Part, SignatureRule, Src, TimestampRule, TriggerRule, TsRule, MAX_PARTS,
};
use super::Spec;
use crate::key::algorithm::Algorithm;
use crate::key::ring::{Candidates, Matched, Sig, MAX_SIGNATURES};
use crate::rejection::Rejection;
use crate::scheme::decode::Decoding;
use crate::scheme::json::MAX_BODY_FIELDS;
use crate::scheme::request::{required_header, single_header, RequestParts};
use crate::scheme::timestamp::check_tolerance;
use crate::scheme::verdict::{Reply, Verdict, VerifiedEvent};
use crate::scheme::verify::Scheme;

impl Spec {
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
            // An asymmetric check costs 50-500 µs of CPU per signature and
            // key: an unkeyed sender could make one request cost a
            // signature list's worth. A rotation needs a signature per key;
            // more than one beyond that is no sender's, and refused unchecked.
            let asymmetric = !matches!(version.algorithm, Algorithm::HmacSha256 | Algorithm::HmacSha1);
            if asymmetric && n > self.keys.count(version.algorithm) + 1 {
                return Err(Rejection::MalformedSignature {
                    reason: "more asymmetric signatures than keys + 1",
                });
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

/// Where a signed value came from, for the rejection that names it.
#[derive(Clone, Copy)]
enum Origin<'a> {
    Header(&'a HeaderName),
    /// A body field, by its index into the body paths.
    Body(usize),
}

impl Scheme for Spec {
    /// The name given to [`Spec::builder`] (a preset's: `"GitHub"`).
    fn name(&self) -> &'static str {
        self.name
    }

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
    #[inline]
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
    // The `#[inline]`s on the steps of this path (here and in read.rs,
    // key/ring.rs) let it inline across the files' codegen units, as it
    // did when the engine was one file: 50-70 instructions a delivery.
    #[inline]
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
        let id_header = self.id_header_value(headers)?;
        if !keyed {
            self.candidates(headers, header, &mut candidates)?;
        }
        let matched = self.verify_content(
            &request,
            &candidates,
            body,
            id_header.map(|(value, name)| (value, Origin::Header(name))),
            timestamp.map(|(text, _, name)| (text, Origin::Header(name))),
        )?;
        // The clock is read only after the MAC: were the tolerance checked
        // first, a missing id's `400` against a stale timestamp's `401`
        // would tell an unkeyed prober the server's clock.
        if let (Some(rule), Some((_, value, _))) = (&self.timestamp, timestamp) {
            check_tolerance(value, clock(), rule.tolerance, rule.two_sided)?;
        }

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
        // Every field the signature covers is there before any is parsed.
        let text = signed(field)?;
        let body_timestamp = match &self.timestamp {
            Some(TimestampRule {
                source: TsRule::Body(i),
                ..
            }) => Some((*i, signed(*i)?)),
            _ => None,
        };
        let id_header = self.id_header_value(headers)?;
        let id = match (&self.id[..], id_header) {
            ([Src::Body(i)], _) if self.content.contains(&Part::Id) => Some((signed(*i)?, Origin::Body(*i))),
            (_, Some((value, name))) => Some((value, Origin::Header(name))),
            _ => None,
        };
        let timestamp = match (&self.timestamp, body_timestamp) {
            (Some(rule), Some((i, text))) => {
                Some((text, rule.parse_body(text, || self.path(i))?, Origin::Body(i)))
            }
            (
                Some(
                    rule @ TimestampRule {
                        source: TsRule::Header(name),
                        ..
                    },
                ),
                _,
            ) => {
                let text = required_header(headers, name)?;
                Some((text, rule.parse_header(text, name)?, Origin::Header(name)))
            }
            // A timestamp entry is refused when built: it is a keyed list's.
            _ => None,
        };
        let mut candidates = Candidates::new();
        match &self.layout {
            Layout::List(separators) => self.list_entries(separators, text, &mut candidates)?,
            Layout::Versioned { entry, sep } => {
                self.versioned_entries(*entry, *sep, text, &mut candidates)?
            }
            // Refused when built: a keyed list's timestamp entry is a header's.
            Layout::Keyed { .. } => {}
        }
        let matched = self.verify_content(
            &request,
            &candidates,
            &[],
            id,
            timestamp.map(|(text, _, origin)| (text, origin)),
        )?;
        // After the MAC, as in `verify_headers`: nothing before it reads the clock.
        if let (Some(rule), Some((_, value, _))) = (&self.timestamp, timestamp) {
            check_tolerance(value, clock(), rule.tolerance, rule.two_sided)?;
        }
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

    /// The signed content built from `body`, `id`, `timestamp` and the
    /// request, verified against the candidates: the match, or `401`.
    #[inline]
    fn verify_content(
        &self,
        request: &RequestParts<'_>,
        candidates: &Candidates,
        body: &[u8],
        id: Option<(&str, Origin<'_>)>,
        timestamp: Option<(&str, Origin<'_>)>,
    ) -> Result<Matched, Rejection> {
        let sigs = candidates.all();
        if sigs.is_empty() {
            return Err(Rejection::MalformedSignature {
                reason: "no signature in the expected format",
            });
        }
        let url = if self.signs_url {
            self.url(request)?
        } else {
            String::new()
        };
        let mut parts: [&[u8]; MAX_PARTS] = [&[]; MAX_PARTS];
        let n = self.build_parts(&mut parts, body, id, timestamp, request.method.as_str(), &url)?;
        self.check(sigs, &parts[..n])
    }

    /// The id when it is read from headers only: its absence is a `400`
    /// before any crypto.
    #[inline]
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
    #[inline]
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
