//! Hostile input, property-tested: arbitrary headers (non-UTF-8 bytes,
//! repeats, huge values) and bodies never make a scheme or the layer panic,
//! never verify without the secret, and never reach the inner service.
//!
//! 64 cases per property by default; set `PROPTEST_CASES` for more, e.g.
//! `PROPTEST_CASES=20000 cargo test --release --test hostile`.

mod reliability_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Request, StatusCode};
use http_body_util::Full;
use proptest::prelude::*;
use reliability_support::{counting, layer, now, NOW};
use tower::ServiceExt;
use tower_webhook::scheme::Scheme;
use tower_webhook::testing::VerifyHeaders as _;
use tower_webhook::testing::{self, IdSource, Preset, Sign, SignatureSource};
use tower_webhook::LruGuard;

const LIMIT: usize = 1024;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    ProptestConfig::with_cases(cases)
}

/// The schemes under test: every preset of `testing::presets()`, and a
/// generic `Spec` recipe.
#[derive(Debug, Clone, Copy)]
enum Which {
    /// A generic `Spec`: `sha256=` prefix, base64, signed timestamp and id headers.
    Acme,
    /// A preset of the registry.
    Preset(&'static Preset),
}

/// Presets whose authenticator does not cover the body or the headers: a
/// token sent verbatim (GitLab's legacy `X-Gitlab-Token`).
const BODY_UNSIGNED: &[&str] = &["gitlab"];

/// Presets whose signature covers only these fields of the body, not the
/// rest of it: Mailgun signs its signature block's `timestamp` and `token`,
/// never `event-data` (whoever captured a delivery can attach any event data
/// to its signature; the token, the replay key, makes that serve once). A
/// body change is made to one of these fields instead; changing them, or the
/// signature itself, must still be refused.
const SIGNED_BODY_FIELDS: &[(&str, &[&str])] = &[("mailgun", &["signature.timestamp", "signature.token"])];

/// Presets that key a delivery twice: an unsigned id and the signature
/// (Twilio's idempotency token is unsigned).
const TWO_REPLAY_KEYS: &[&str] = &["twilio"];

/// The public URL URL-signed presets are configured with.
const PUBLIC_URL: &str = "https://hooks.example.com/webhooks";

impl Which {
    fn scheme(self) -> Box<dyn Scheme> {
        match self {
            Self::Acme => Box::new(reliability_support::acme("the secret")),
            Self::Preset(p) => (p.scheme)(&(p.test_keys)().0, PUBLIC_URL).unwrap(),
        }
    }

    fn signer(self, forger: bool) -> Box<dyn Sign> {
        match self {
            Self::Acme => Box::new(reliability_support::acme(if forger {
                "another secret"
            } else {
                "the secret"
            })),
            Self::Preset(p) => {
                let key = if forger {
                    p.forger_key.to_owned()
                } else {
                    (p.test_keys)().1
                };
                (p.signer)(&key, PUBLIC_URL).unwrap()
            }
        }
    }

    /// The body and headers a sender sends for `body`; `forger` signs with a
    /// key that does not match.
    fn sign_as(self, forger: bool, body: &[u8], id: &str, timestamp: i64) -> (Vec<u8>, HeaderMap) {
        let (body, headers) = self
            .signer(forger)
            .sign_delivery(Bytes::copy_from_slice(body), id, timestamp);
        (body.to_vec(), headers)
    }

    fn sign(self, body: &[u8], id: &str, timestamp: i64) -> (Vec<u8>, HeaderMap) {
        self.sign_as(false, body, id, timestamp)
    }

    /// How many replay keys a verified delivery takes in the guard.
    fn replay_keys(self) -> usize {
        match self {
            Self::Preset(p) if TWO_REPLAY_KEYS.contains(&p.name) => 2,
            _ => 1,
        }
    }

    fn signature(self) -> SignatureSource {
        match self {
            Self::Acme => SignatureSource::Header("x-acme-signature"),
            Self::Preset(p) => p.signature,
        }
    }

    /// The body fields the signature covers, for a scheme that signs some of
    /// the body's fields rather than the body.
    fn signed_body_fields(self) -> Option<&'static [&'static str]> {
        match self {
            Self::Preset(p) => SIGNED_BODY_FIELDS
                .iter()
                .find(|(name, _)| *name == p.name)
                .map(|(_, fields)| *fields),
            Self::Acme => None,
        }
    }

    fn timestamp_header(self) -> Option<&'static str> {
        match self {
            Self::Acme => Some("x-acme-timestamp"),
            Self::Preset(p) => p.timestamp_header,
        }
    }

    /// The id header, when it is signed (changing an unsigned one is not tampering).
    fn signed_id_header(self) -> Option<&'static str> {
        match self {
            Self::Acme => Some("x-acme-delivery"),
            Self::Preset(Preset {
                id: IdSource::Header(name),
                id_signed: true,
                ..
            }) => Some(name),
            Self::Preset(_) => None,
        }
    }

    fn body_signed_verbatim(self) -> bool {
        match self {
            Self::Acme => true,
            Self::Preset(p) => p.body_signed_verbatim,
        }
    }

    /// Whether the body is covered at all: GitLab's legacy token is compared,
    /// not computed over anything.
    fn body_authenticated(self) -> bool {
        !matches!(self, Self::Preset(p) if BODY_UNSIGNED.contains(&p.name))
    }

    /// The id a verified delivery of `id` has: the id itself, or for a
    /// scheme keyed on its signature, `None` (some `sig:` key).
    fn expected_id(self, id: &str) -> Option<String> {
        match self {
            Self::Preset(Preset {
                id: IdSource::Signature,
                ..
            }) => None,
            _ => Some(id.to_owned()),
        }
    }

    /// A body this scheme can take an id from. The `type` and `event` fields
    /// keep clear of every handshake trigger.
    fn body(self, id: &str, payload: &[u8]) -> Vec<u8> {
        match self {
            // The signature block is `sign_body`'s to write.
            _ if matches!(self.signature(), SignatureSource::Body(_)) => {
                serde_json::to_vec(&serde_json::json!({
                    "event-data": {"event": "e", "data": String::from_utf8_lossy(payload)},
                }))
                .unwrap()
            }
            // Linear's timestamp is in the body, in milliseconds.
            Self::Preset(Preset { name: "linear", .. }) => serde_json::to_vec(&serde_json::json!({
                "type": "Issue",
                "webhookTimestamp": NOW * 1000,
                "data": String::from_utf8_lossy(payload),
            }))
            .unwrap(),
            Self::Preset(Preset {
                id: IdSource::Body(field),
                ..
            }) if !field.contains('.') => {
                let data = serde_json::to_string(&String::from_utf8_lossy(payload)).unwrap();
                format!(r#"{{"{field}":"{id}","type":"order.created","event":"e","data":{data}}}"#)
                    .into_bytes()
            }
            // A dotted path (`event.id`) is nested objects; its first key
            // takes the place of the plain fields of the same name.
            Self::Preset(Preset {
                id: IdSource::Body(field),
                ..
            }) => {
                let mut value = serde_json::json!(id);
                for key in field.rsplit('.') {
                    value = serde_json::json!({ key: value });
                }
                let mut body = serde_json::json!({
                    "type": "order.created",
                    "event": "e",
                    "data": String::from_utf8_lossy(payload),
                });
                let (first, nested) = value.as_object().unwrap().iter().next().unwrap();
                body[first] = nested.clone();
                serde_json::to_vec(&body).unwrap()
            }
            _ => payload.to_vec(),
        }
    }
}

fn which() -> impl Strategy<Value = Which> {
    let mut all = vec![Which::Acme];
    all.extend(testing::presets().iter().map(Which::Preset));
    prop::sample::select(all)
}

/// The signature's encoded tag in a signature header value: its byte range
/// and alphabet (the last run after `,` `=` `;` or a space, padding excluded).
fn tag(value: &str) -> (usize, usize, &'static str) {
    const BASE64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const HEX: &str = "0123456789abcdef";
    let end = value.trim_end_matches('=').len();
    let start = value[..end].rfind([',', '=', ';', ' ']).map_or(0, |i| i + 1);
    let tag = &value[start..end];
    let alphabet = if tag.bytes().all(|b| b.is_ascii_hexdigit()) && tag.len().is_multiple_of(2) {
        HEX
    } else {
        BASE64
    };
    (start, end, alphabet)
}

/// Header names the schemes read, and others.
fn header_name() -> impl Strategy<Value = HeaderName> {
    let mut names = vec![
        "x-petstore-signature",
        "x-petstore-event",
        "x-acme-signature",
        "x-acme-timestamp",
        "x-acme-delivery",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "svix-id",
        "svix-timestamp",
        "svix-signature",
        "content-length",
        "content-type",
    ];
    for p in testing::presets() {
        if let SignatureSource::Header(name) = p.signature {
            names.push(name);
        }
        names.extend(p.timestamp_header);
        if let IdSource::Header(name) = p.id {
            names.push(name);
        }
    }
    let known = prop::sample::select(names).prop_map(HeaderName::from_static);
    let other = "[a-z][a-z0-9-]{0,20}".prop_map(|name| HeaderName::try_from(name).unwrap());
    prop_oneof![4 => known, 1 => other]
}

/// Header values: arbitrary bytes (non-UTF-8 included), near-valid
/// timestamps, signatures and lists of them, and now and then a huge one.
fn header_value() -> impl Strategy<Value = HeaderValue> {
    let byte = prop_oneof![Just(b'\t'), 0x20u8..0x7f, 0x80u8..=0xff];
    let bytes = prop::collection::vec(byte, 0..80).prop_map(|b| HeaderValue::from_bytes(&b).unwrap());
    fn text(s: String) -> HeaderValue {
        HeaderValue::try_from(s).unwrap()
    }
    prop_oneof![
        4 => bytes,
        2 => (NOW - 400..NOW + 400).prop_map(HeaderValue::from),
        1 => any::<i64>().prop_map(HeaderValue::from),
        1 => "-?[0-9]{15,30}".prop_map(text),
        2 => "(sha256=)?[0-9a-fA-F]{62,66}".prop_map(text),
        2 => "(v1,|sha256=)?[A-Za-z0-9+/]{42,44}={0,2}".prop_map(text),
        1 => "((v1|v1a|v2),[A-Za-z0-9+/=]{0,90}[ ,]{1,2}){1,20}".prop_map(text),
        1 => "((t|ts|v1|h1|v0)=[0-9a-f]{0,70}[;,]){1,20}".prop_map(text),
        1 => "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,12})?([Zz]|[+-][0-9]{2}:[0-9]{2})?".prop_map(text),
        1 => "MEUCI[A-Za-z0-9+/]{60,96}={0,2}".prop_map(text),
        1 => "[0-9a-f]{126,130}".prop_map(text),
        1 => (1usize..100_000).prop_map(|n| text("A".repeat(n))),
    ]
}

fn headers() -> impl Strategy<Value = HeaderMap> {
    prop::collection::vec((header_name(), header_value()), 0..12).prop_map(|pairs| {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(name, value);
        }
        headers
    })
}

/// Arbitrary bytes, or an envelope with an arbitrary id, sometimes over `LIMIT`.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..600),
        2 => ("[ -~]{0,300}", prop::collection::vec(any::<u8>(), 0..200))
            .prop_map(|(id, data)| Which::Preset(testing::preset("petstore").unwrap()).body(&id.replace(['"', '\\'], "_"), &data)),
        1 => prop::collection::vec(any::<u8>(), LIMIT - 10..LIMIT + 200),
    ]
}

/// An event id a sender could send in a header.
fn event_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,64}"
}

/// What `which`'s sender sends, with the signature replaced by
/// `signatures`: the signature header's values, or (a signature in the body)
/// the body field, set to the first value as text or removed when there is none.
fn forged(
    which: Which,
    body: &[u8],
    id: &str,
    timestamp: i64,
    signatures: &[HeaderValue],
) -> (Vec<u8>, HeaderMap) {
    let (mut body, mut headers) = which.sign(body, id, timestamp);
    match which.signature() {
        SignatureSource::Header(name) => {
            headers.remove(name);
            for signature in signatures {
                headers.append(name, signature.clone());
            }
        }
        SignatureSource::Body(path) => {
            let first = signatures
                .first()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            edit_body_field(&mut body, path, |value| match first {
                Some(text) => *value = serde_json::Value::String(text),
                None => *value = serde_json::Value::Null,
            });
        }
        _ => unreachable!("a new signature source"),
    }
    (body, headers)
}

/// Edits the JSON value at the dotted `path` of `body`, when `body` is JSON
/// and has it (the body is re-serialized: the schemes that sign fields of
/// the body, not its bytes, read values only).
fn edit_body_field(body: &mut Vec<u8>, path: &str, edit: impl FnOnce(&mut serde_json::Value)) {
    let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    let pointer = format!("/{}", path.replace('.', "/"));
    if let Some(value) = json.pointer_mut(&pointer) {
        edit(value);
        *body = serde_json::to_vec(&json).unwrap();
    }
}

/// Replaces the character at `at` (modulo its length) of the string at
/// `path` of `body` by another one of `alphabet`, chosen by `with`.
fn replace_body_char(body: &mut Vec<u8>, path: &str, at: usize, with: usize, alphabet: &str) {
    edit_body_field(body, path, |value| {
        let text = value.as_str().expect("a signed string field").to_owned();
        let at = at % text.len();
        let original = text.as_bytes()[at];
        let candidates: Vec<u8> = alphabet
            .bytes()
            .filter(|c| !c.eq_ignore_ascii_case(&original))
            .collect();
        let mut bytes = text.into_bytes();
        bytes[at] = candidates[with % candidates.len()];
        *value = serde_json::Value::String(String::from_utf8(bytes).unwrap());
    });
}

/// `extra`'s headers added to `headers`, repeats kept.
fn merged(mut headers: HeaderMap, extra: &HeaderMap) -> HeaderMap {
    for (name, value) in extra {
        headers.append(name, value.clone());
    }
    headers
}

/// One change of one byte to a signed delivery.
#[derive(Debug, Clone)]
enum Mutation {
    /// XOR a body byte with a non-zero mask.
    Body { at: usize, mask: u8 },
    /// Replace a character of the signature's tag by another of its alphabet.
    Signature { at: usize, with: usize },
    /// Replace a digit of the timestamp by another digit.
    Timestamp { at: usize, with: u8 },
    /// Replace a character of the id header by another visible character.
    Id { at: usize, with: u8 },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Mutation::Body { at, mask }),
        (any::<usize>(), any::<usize>()).prop_map(|(at, with)| Mutation::Signature { at, with }),
        (any::<usize>(), 0u8..10).prop_map(|(at, with)| Mutation::Timestamp { at, with }),
        (any::<usize>(), 0x21u8..0x7f).prop_map(|(at, with)| Mutation::Id { at, with }),
    ]
}

/// Replaces the character at `at` of header `name`'s value by `with`.
fn replace_char(headers: &mut HeaderMap, name: &str, at: usize, with: u8) {
    let mut bytes = headers[name].as_bytes().to_vec();
    bytes[at] = with;
    headers.insert(
        HeaderName::try_from(name).unwrap(),
        HeaderValue::from_bytes(&bytes).unwrap(),
    );
}

/// Applies `mutation` so that the delivery is no longer the one signed; a
/// mutation that does not apply to the scheme (no timestamp, no id header)
/// falls back to changing the body. Empty bodies get a byte appended.
fn mutate(which: Which, headers: &mut HeaderMap, body: &mut Vec<u8>, mutation: Mutation) {
    let change_body = |body: &mut Vec<u8>, at: usize, mask: u8| match body.len() {
        0 => body.push(mask),
        len => body[at % len] ^= mask,
    };
    // Only the token authenticates such a delivery: every change goes to it.
    let mutation = match mutation {
        Mutation::Body { at, .. } | Mutation::Timestamp { at, .. } | Mutation::Id { at, .. }
            if !which.body_authenticated() =>
        {
            Mutation::Signature { at, with: at / 7 }
        }
        other => other,
    };
    // The signature in the body: tampered with there.
    if let (SignatureSource::Body(path), Mutation::Signature { at, with }) = (which.signature(), &mutation) {
        replace_body_char(body, path, *at, *with, "0123456789abcdef");
        return;
    }
    // Only some fields of the body are signed: every other change goes to one of them.
    if let Some(fields) = which.signed_body_fields() {
        let (at, with) = match mutation {
            Mutation::Body { at, mask } => (at, usize::from(mask)),
            Mutation::Timestamp { at, with } | Mutation::Id { at, with } => (at, usize::from(with)),
            Mutation::Signature { .. } => unreachable!("handled above"),
        };
        let field = fields[at % fields.len()];
        replace_body_char(
            body,
            field,
            at / fields.len(),
            with,
            "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        );
        return;
    }
    match mutation {
        Mutation::Body { at, mask } if which.body_signed_verbatim() => change_body(body, at, mask),
        Mutation::Body { at, .. } | Mutation::Signature { at, .. } => {
            let with = match mutation {
                Mutation::Signature { with, .. } => with,
                _ => at / 7,
            };
            let SignatureSource::Header(name) = which.signature() else {
                unreachable!("a signature in the body is changed above")
            };
            let value = headers[name].to_str().unwrap().to_owned();
            let (start, end, alphabet) = tag(&value);
            let at = start + at % (end - start);
            let original = value.as_bytes()[at];
            // Hex digits spell the same byte in either case.
            let hex = alphabet.len() == 16;
            let candidates: Vec<u8> = alphabet
                .bytes()
                .filter(|c| {
                    if hex {
                        !c.eq_ignore_ascii_case(&original)
                    } else {
                        *c != original
                    }
                })
                .collect();
            replace_char(headers, name, at, candidates[with % candidates.len()]);
        }
        Mutation::Timestamp { at, with } => match which.timestamp_header() {
            Some(name) => {
                let value = headers[name].as_bytes().to_vec();
                let at = at % value.len();
                let digit = if b'0' + with == value[at] {
                    b'0' + (with + 1) % 10
                } else {
                    b'0' + with
                };
                replace_char(headers, name, at, digit);
            }
            None => change_body(body, at, with | 1),
        },
        Mutation::Id { at, with } => match which.signed_id_header() {
            Some(name) => {
                let value = headers[name].as_bytes().to_vec();
                let at = at % value.len();
                let with = if with == value[at] {
                    if with == b'a' {
                        b'b'
                    } else {
                        b'a'
                    }
                } else {
                    with
                };
                replace_char(headers, name, at, with);
            }
            None => change_body(body, at, with),
        },
    }
}

proptest! {
    #![proptest_config(config())]

    /// Whatever the headers and body, `verify` answers, and without the
    /// secret the answer is never `Ok`.
    #[test]
    fn arbitrary_headers_and_bodies_never_verify(which in which(), headers in headers(), body in body()) {
        prop_assert!(which.scheme().verify_headers(&headers, &body, now()).is_err());
    }

    /// A well-formed delivery signed with another secret, mixed with
    /// arbitrary headers (repeats of the signature headers included), never
    /// verifies.
    #[test]
    fn deliveries_signed_with_another_secret_never_verify(
        which in which(),
        id in event_id(),
        payload in prop::collection::vec(any::<u8>(), 0..300),
        skew in -5i64..=0,
        extra in headers(),
    ) {
        let (body, forged) = which.sign_as(true, &which.body(&id, &payload), &id, NOW + skew);
        prop_assert!(which.scheme().verify_headers(&forged, &body, now()).is_err());
        prop_assert!(which.scheme().verify_headers(&merged(forged, &extra), &body, now()).is_err());
    }

    /// A delivery framed as its sender frames it (id, timestamp) but whose
    /// signature header holds arbitrary values (none, several, huge,
    /// non-UTF-8, near-valid encodings) never verifies.
    #[test]
    fn arbitrary_signature_values_on_a_well_framed_delivery_never_verify(
        which in which(),
        id in event_id(),
        payload in prop::collection::vec(any::<u8>(), 0..300),
        skew in -5i64..=0,
        signatures in prop::collection::vec(header_value(), 0..20),
    ) {
        let (body, headers) = forged(which, &which.body(&id, &payload), &id, NOW + skew, &signatures);
        prop_assert!(which.scheme().verify_headers(&headers, &body, now()).is_err());
    }

    /// A valid delivery verifies; changed by one byte in its body, signature,
    /// timestamp or id, it does not.
    #[test]
    fn a_one_byte_change_to_a_signed_delivery_is_rejected(
        which in which(),
        id in event_id(),
        payload in prop::collection::vec(any::<u8>(), 0..300),
        skew in -5i64..=0,
        mutation in mutation(),
    ) {
        let (mut body, mut headers) = which.sign(&which.body(&id, &payload), &id, NOW + skew);
        let scheme = which.scheme();
        let delivery = scheme.verify_headers(&headers, &body, now()).map(|d| d.id().to_owned());
        match which.expected_id(&id) {
            Some(expected) => prop_assert_eq!(delivery, Ok(expected)),
            None => prop_assert!(delivery.as_deref().is_ok_and(|d| d.starts_with("sig:")), "{:?}", delivery),
        }
        mutate(which, &mut headers, &mut body, mutation.clone());
        let mutated = scheme.verify_headers(&headers, &body, now());
        prop_assert!(mutated.is_err(), "{:?} still verifies: {:?}", mutation, mutated);
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    })
}

/// What the layer test puts under its arbitrary headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// Nothing.
    None,
    /// A sender's id and timestamp headers, arbitrary signature values.
    Forged,
    /// A valid signature.
    Signed,
}

proptest! {
    #![proptest_config(config())]

    /// The whole layer, given arbitrary headers and a body, on top of nothing,
    /// of a forged delivery or of a validly signed one: it answers one of its
    /// documented statuses, and calls the inner service only for a delivery
    /// carrying a valid signature.
    #[test]
    fn the_layer_answers_a_documented_status_and_needs_a_valid_signature(
        which in which(),
        framing in prop_oneof![Just(Framing::None), Just(Framing::Forged), Just(Framing::Signed)],
        id in event_id(),
        signatures in prop::collection::vec(header_value(), 0..4),
        headers in headers(),
        body in body(),
    ) {
        let (body, headers) = match framing {
            Framing::None => (body, headers),
            Framing::Forged => {
                let (body, forged) = forged(which, &body, &id, NOW, &signatures);
                (body, merged(forged, &headers))
            }
            Framing::Signed => {
                let (body, signed) = which.sign(&body, &id, NOW);
                (body, merged(signed, &headers))
            }
        };
        let mut request = Request::post("/webhooks").body(Full::new(Bytes::from(body))).unwrap();
        *request.headers_mut() = headers;
        let calls = Arc::new(AtomicUsize::new(0));
        let guard = Arc::new(LruGuard::new(16));
        let service = counting(layer(which.scheme(), LIMIT, &guard), &calls);
        let status = runtime().block_on(service.oneshot(request)).unwrap().status();
        let calls = calls.load(Ordering::SeqCst);

        let documented = [StatusCode::OK, StatusCode::BAD_REQUEST, StatusCode::UNAUTHORIZED, StatusCode::PAYLOAD_TOO_LARGE];
        prop_assert!(documented.contains(&status), "{}", status);
        prop_assert_eq!(calls, usize::from(status == StatusCode::OK));
        prop_assert_eq!(guard.done_len(), calls * which.replay_keys());
        prop_assert_eq!(guard.in_flight_len(), 0);
        if framing != Framing::Signed {
            prop_assert_ne!(status, StatusCode::OK);
        }
    }
}
