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
use tower_webhook::scheme::{Hmac, Scheme, StandardWebhooks};
use tower_webhook::testing::Sign;
use tower_webhook::testing::VerifyHeaders as _;
use tower_webhook::{LruGuard, Secret};

const LIMIT: usize = 1024;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    ProptestConfig::with_cases(cases)
}

/// The schemes under test.
#[derive(Debug, Clone, Copy)]
enum Which {
    /// `Hmac::petstore`: hex, no prefix, id in the body.
    Petstore,
    /// A generic `Hmac`: `sha256=` prefix, base64, signed timestamp and id headers.
    Acme,
    /// `StandardWebhooks`.
    Standard,
}

impl Which {
    fn hmac(self, secret: &str) -> Option<Hmac> {
        match self {
            Self::Petstore => Some(Hmac::petstore(Secret::new(secret).unwrap())),
            Self::Acme => Some(reliability_support::acme(secret)),
            Self::Standard => None,
        }
    }

    fn standard(secret: &str) -> StandardWebhooks {
        StandardWebhooks::new(Secret::new(secret).unwrap())
    }

    fn scheme(self) -> Box<dyn Scheme> {
        match self.hmac("the secret") {
            Some(hmac) => Box::new(hmac),
            None => Box::new(Self::standard("the secret")),
        }
    }

    /// The headers a sender holding `secret` sends.
    fn sign_with(self, secret: &str, body: &[u8], id: &str, timestamp: i64) -> HeaderMap {
        match self.hmac(secret) {
            Some(hmac) => hmac.sign_headers(body, id, timestamp),
            None => Self::standard(secret).sign_headers(body, id, timestamp),
        }
    }

    fn sign(self, body: &[u8], id: &str, timestamp: i64) -> HeaderMap {
        self.sign_with("the secret", body, id, timestamp)
    }

    fn signature_header(self) -> &'static str {
        match self {
            Self::Petstore => "x-petstore-signature",
            Self::Acme => "x-acme-signature",
            Self::Standard => "webhook-signature",
        }
    }

    /// Where the tag starts in the signature header, and its alphabet.
    fn tag(self) -> (usize, &'static str) {
        const BASE64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        match self {
            Self::Petstore => (0, "0123456789abcdef"),
            Self::Acme => ("sha256=".len(), BASE64),
            Self::Standard => ("v1,".len(), BASE64),
        }
    }

    fn timestamp_header(self) -> Option<&'static str> {
        match self {
            Self::Petstore => None,
            Self::Acme => Some("x-acme-timestamp"),
            Self::Standard => Some("webhook-timestamp"),
        }
    }

    fn id_header(self) -> Option<&'static str> {
        match self {
            Self::Petstore => None,
            Self::Acme => Some("x-acme-delivery"),
            Self::Standard => Some("webhook-id"),
        }
    }

    /// A body this scheme can take an id from.
    fn body(self, id: &str, payload: &[u8]) -> Vec<u8> {
        match self {
            Self::Petstore => {
                let data = serde_json::to_string(&String::from_utf8_lossy(payload)).unwrap();
                format!(r#"{{"id":"{id}","type":"order.created","data":{data}}}"#).into_bytes()
            }
            Self::Acme | Self::Standard => payload.to_vec(),
        }
    }
}

fn which() -> impl Strategy<Value = Which> {
    prop_oneof![Just(Which::Petstore), Just(Which::Acme), Just(Which::Standard)]
}

/// Header names the schemes read, and others.
fn header_name() -> impl Strategy<Value = HeaderName> {
    let known = prop::sample::select(vec![
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
    ])
    .prop_map(HeaderName::from_static);
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
        1 => "((v1|v1a|v2),[A-Za-z0-9+/=]{0,50}[ ,]{1,2}){1,20}".prop_map(text),
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
            .prop_map(|(id, data)| Which::Petstore.body(&id.replace(['"', '\\'], "_"), &data)),
        1 => prop::collection::vec(any::<u8>(), LIMIT - 10..LIMIT + 200),
    ]
}

/// An event id a sender could send in a header.
fn event_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,64}"
}

/// What `which`'s sender sends, with the signature header's values replaced by `signatures`.
fn forged(which: Which, body: &[u8], id: &str, timestamp: i64, signatures: &[HeaderValue]) -> HeaderMap {
    let mut headers = which.sign(body, id, timestamp);
    headers.remove(which.signature_header());
    for signature in signatures {
        headers.append(which.signature_header(), signature.clone());
    }
    headers
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
    match mutation {
        Mutation::Body { at, mask } => change_body(body, at, mask),
        Mutation::Signature { at, with } => {
            let name = which.signature_header();
            let (start, alphabet) = which.tag();
            let value = headers[name].to_str().unwrap().to_owned();
            let tag_len = value.trim_end_matches('=').len() - start;
            let at = start + at % tag_len;
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
        Mutation::Id { at, with } => match which.id_header() {
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
        skew in -300i64..=300,
        extra in headers(),
    ) {
        let body = which.body(&id, &payload);
        let forged = which.sign_with("another secret", &body, &id, NOW + skew);
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
        skew in -300i64..=300,
        signatures in prop::collection::vec(header_value(), 0..20),
    ) {
        let body = which.body(&id, &payload);
        let headers = forged(which, &body, &id, NOW + skew, &signatures);
        prop_assert!(which.scheme().verify_headers(&headers, &body, now()).is_err());
    }

    /// A valid delivery verifies; changed by one byte in its body, signature,
    /// timestamp or id, it does not.
    #[test]
    fn a_one_byte_change_to_a_signed_delivery_is_rejected(
        which in which(),
        id in event_id(),
        payload in prop::collection::vec(any::<u8>(), 0..300),
        skew in -300i64..=300,
        mutation in mutation(),
    ) {
        let mut body = which.body(&id, &payload);
        let mut headers = which.sign(&body, &id, NOW + skew);
        let scheme = which.scheme();
        let delivery = scheme.verify_headers(&headers, &body, now());
        prop_assert_eq!(delivery.map(|d| d.id().to_owned()), Ok(id.clone()));
        mutate(which, &mut headers, &mut body, mutation.clone());
        let mutated = scheme.verify_headers(&headers, &body, now());
        prop_assert!(mutated.is_err(), "{:?} still verifies: {:?}", mutation, mutated);
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().build().unwrap())
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
        let headers = match framing {
            Framing::None => headers,
            Framing::Forged => merged(forged(which, &body, &id, NOW, &signatures), &headers),
            Framing::Signed => merged(which.sign(&body, &id, NOW), &headers),
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
        prop_assert_eq!(guard.done_len(), calls);
        prop_assert_eq!(guard.in_flight_len(), 0);
        if framing != Framing::Signed {
            prop_assert_ne!(status, StatusCode::OK);
        }
    }
}
