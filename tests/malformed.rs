//! Malformed deliveries, table-driven: each row is one request, the status the
//! layer must answer, and whether the inner service may see it.
//!
//! Rows are built per [`Preset`] (a scheme plus how its sender signs), taken
//! from `testing`'s registry: a new preset gets every generic row that its
//! registry facts allow (see [`generic_presets`]), and rows of its own in
//! [`specific_rows`] or `new_parser_rows`. Requests that `http`'s types cannot
//! express (a lying `Content-Length`, a truncated chunked body) go over a real
//! socket to 127.0.0.1 in a second table.

mod reliability_support;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, CONTENT_LENGTH};
use http::{Request, Response, StatusCode};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full};
use reliability_support::{Frames, NOW};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;
use tower_webhook::layer::ResponseBody;
use tower_webhook::scheme::{
    Algorithm, Encoding, FieldSource, Scheme, Spec, StandardWebhooks, TimestampFormat,
};
use tower_webhook::testing::{self, IdSource, Sign, SignatureSource};
use tower_webhook::{BoxError, LruGuard, Secret, SecretError, WebhookLayer, MAX_ID_LEN};

/// The body limit of every layer here.
const LIMIT: usize = 4096;
const ID: &str = "evt_1";

type Body = UnsyncBoxBody<Bytes, BoxError>;

/// Builds a scheme.
type SchemeFn = Arc<dyn Fn() -> Box<dyn Scheme> + Send + Sync>;

/// Signs `body` for event `id` at `timestamp`: the headers a sender sends.
type SignFn = Arc<dyn Fn(&[u8], &str, i64) -> HeaderMap + Send + Sync>;

/// A scheme and its sender.
struct Preset {
    name: &'static str,
    scheme: SchemeFn,
    /// The headers its sender sends with `body` for event `id` at `timestamp`.
    sign: SignFn,
    signature: &'static str,
    /// Where the event id travels, when it is a header.
    id_header: Option<&'static str>,
    /// The id header is outside the signed content (GitHub, Shopify), so
    /// changing it after signing cannot be detected.
    unsigned_id: bool,
    /// The signature header also carries the timestamp.
    timestamp_in_signature: bool,
}

/// The public URL the registry's URL-signed presets are built with.
const PRESET_URL: &str = "https://example.com/webhooks";

/// A preset of `testing`'s registry with its test keys.
fn registered(name: &str) -> Preset {
    let preset = testing::preset(name).unwrap_or_else(|| panic!("{name} is in the registry"));
    from_registry(preset)
}

fn from_registry(preset: &'static testing::Preset) -> Preset {
    let (verify_key, sign_key) = (preset.test_keys)();
    let signer: Arc<testing::BoxSigner> = Arc::new((preset.signer)(&sign_key, PRESET_URL).unwrap());
    let SignatureSource::Header(signature) = preset.signature else {
        panic!("{}: signed in the body", preset.name)
    };
    Preset {
        name: preset.name,
        scheme: Arc::new(move || (preset.scheme)(&verify_key, PRESET_URL).unwrap()),
        sign: Arc::new(move |body, id, ts| signer.sign_headers(body, id, ts)),
        signature,
        id_header: match preset.id {
            IdSource::Header(name) => Some(name),
            _ => None,
        },
        unsigned_id: !preset.id_signed,
        timestamp_in_signature: TIMESTAMP_IN_SIGNATURE_HEADER.contains(&preset.name),
    }
}

/// The Petstore spec the raw-socket rows sign and verify with.
fn petstore() -> Spec {
    Spec::petstore(Secret::new("petstore secret").unwrap())
}

/// A generic `Spec` with a prefix, base64, a signed timestamp and a signed
/// id header: the engine's own words, which no preset uses all at once.
fn acme() -> Preset {
    let spec = || reliability_support::acme("acme secret");
    Preset {
        name: "hmac prefix+base64+timestamp",
        scheme: Arc::new(move || Box::new(spec())),
        sign: Arc::new(move |body, id, ts| spec().sign_headers(body, id, ts)),
        signature: "x-acme-signature",
        id_header: Some("x-acme-delivery"),
        unsigned_id: false,
        timestamp_in_signature: false,
    }
}

/// Every preset of the registry that the generic rows describe: signed in a
/// header over the body as sent, keyed on the body's `id` or on a header, not
/// on the URL. The others (signatures in the body, signed URLs, other id
/// fields, a timestamp in the body) get rows of their own in
/// `new_parser_rows`, as do the exceptions named in [`GENERIC_EXCEPTIONS`].
fn generic_presets() -> Vec<Preset> {
    let fits = |p: &&testing::Preset| {
        matches!(p.signature, SignatureSource::Header(_))
            && p.body_signed_verbatim
            && !p.url_signed
            && matches!(p.id, IdSource::Header(_) | IdSource::Body("id"))
            && !GENERIC_EXCEPTIONS.iter().any(|(name, _)| *name == p.name)
    };
    let mut presets = vec![acme()];
    presets.extend(testing::presets().iter().filter(fits).map(from_registry));
    presets
}

/// Presets that fit the generic rows' facts but not their envelope, and why;
/// each has rows of its own.
const GENERIC_EXCEPTIONS: &[(&str, &str)] = &[(
    "linear",
    "its signed timestamp is the body's `webhookTimestamp`, which the generic envelope lacks",
)];

/// Presets whose signature header also carries the signed timestamp
/// (`t=..,v1=..`): a signature header that is empty, not UTF-8 or repeated
/// with different values leaves no timestamp to read, which is framing
/// (`400`), not a failed signature (`401`).
const TIMESTAMP_IN_SIGNATURE_HEADER: &[&str] = &["stripe", "mux", "workos"];

/// The event envelope every sender here sends.
fn envelope(id: &str) -> Vec<u8> {
    format!(r#"{{"id":"{id}","type":"order.created","created":{NOW},"data":{{"orderId":"ord_1","status":"created"}}}}"#)
        .into_bytes()
}

/// A request with exactly these headers and body.
fn request(headers: HeaderMap, body: impl Into<Bytes>) -> Request<Full<Bytes>> {
    let mut request = Request::post("/webhooks").body(Full::new(body.into())).unwrap();
    *request.headers_mut() = headers;
    request
}

/// What `preset`'s sender sends for event `id`: the envelope, signed at `NOW`.
fn delivery(preset: &Preset, id: &str) -> Request<Full<Bytes>> {
    let body = envelope(id);
    request((preset.sign)(&body, id, NOW), body)
}

/// `delivery(preset, ID)` with its headers edited.
fn edited(preset: &Preset, edit: impl FnOnce(&mut HeaderMap)) -> Request<Full<Bytes>> {
    let mut request = delivery(preset, ID);
    edit(request.headers_mut());
    request
}

fn value(text: &str) -> HeaderValue {
    HeaderValue::try_from(text).unwrap()
}

fn signature(preset: &Preset, headers: &HeaderMap) -> String {
    headers[preset.signature].to_str().unwrap().to_owned()
}

/// The valid signature with one character of its tag replaced by another
/// digit valid in both hex and base64: the right length and alphabet, the
/// wrong value.
fn wrong_signature(valid: &str) -> String {
    let at = valid.len() / 2;
    let replacement = if &valid[at..=at] == "0" { "1" } else { "0" };
    format!("{}{replacement}{}", &valid[..at], &valid[at + 1..])
}

/// One malformed (or, as a control, well-formed) request.
struct Row {
    name: String,
    scheme: SchemeFn,
    request: Request<Body>,
    status: StatusCode,
    reaches_inner: bool,
    /// How many keys a processed delivery leaves in the guard.
    replay_keys: usize,
}

fn row(preset: &Preset, what: &str, request: Request<Full<Bytes>>, status: u16) -> Row {
    Row {
        name: format!("{}: {what}", preset.name),
        scheme: Arc::clone(&preset.scheme),
        request: request.map(|body| body.map_err(|never| match never {}).boxed_unsync()),
        status: StatusCode::from_u16(status).unwrap(),
        reaches_inner: status == 200,
        // The documented event id alone; signature keys are opt-in.
        replay_keys: 1,
    }
}

/// Rows every scheme must answer alike.
fn generic_rows(p: &Preset) -> Vec<Row> {
    let sig = p.signature;
    // A failed signature, or no timestamp to read (see `TIMESTAMP_IN_SIGNATURE_HEADER`).
    let unreadable = if p.timestamp_in_signature { 400 } else { 401 };
    let long_id = |len: usize| {
        let id = "i".repeat(len);
        let body = envelope(&id);
        request((p.sign)(&body, &id, NOW), body)
    };
    let over_limit = {
        let body = format!(r#"{{"id":"{ID}","pad":"{}"}}"#, "x".repeat(LIMIT)).into_bytes();
        let mut request = request((p.sign)(&body, ID, NOW), body.clone());
        request.headers_mut().insert(CONTENT_LENGTH, body.len().into());
        request
    };
    let mut rows = vec![
        row(p, "valid delivery (control)", delivery(p, ID), 200),
        row(
            p,
            "signature header missing",
            edited(p, |h| {
                h.remove(sig);
            }),
            401,
        ),
        row(
            p,
            "signature header empty",
            edited(p, |h| {
                h.insert(sig, value(""));
            }),
            unreadable,
        ),
        row(
            p,
            "signature of the right length and alphabet but wrong",
            edited(p, |h| {
                let wrong = wrong_signature(&signature(p, h));
                h.insert(sig, value(&wrong));
            }),
            401,
        ),
        row(
            p,
            "two signature headers, different values, both wrong",
            edited(p, |h| {
                let wrong = wrong_signature(&signature(p, h));
                h.insert(sig, value(&wrong));
                h.append(sig, value(&wrong.replace('0', "2")));
            }),
            unreadable,
        ),
        // Documented: any signature matching any secret passes (rotation), so
        // an extra wrong one does not hide the valid one.
        row(
            p,
            "two signature headers, one valid and one wrong",
            edited(p, |h| {
                let wrong = wrong_signature(&signature(p, h));
                h.append(sig, value(&wrong));
            }),
            if p.timestamp_in_signature { 400 } else { 200 },
        ),
        row(
            p,
            "seventeen signatures, the valid one last",
            edited(p, |h| {
                let valid = signature(p, h);
                let wrong = wrong_signature(&valid);
                h.remove(sig);
                for _ in 0..17 {
                    h.append(sig, value(&wrong));
                }
                h.append(sig, value(&valid));
            }),
            unreadable,
        ),
        row(
            p,
            "signature header not UTF-8",
            edited(p, |h| {
                h.insert(sig, HeaderValue::from_bytes(b"\xff\xfe\x80").unwrap());
            }),
            unreadable,
        ),
        row(
            p,
            "signature header of 64 KiB",
            edited(p, |h| {
                h.insert(sig, value(&"a".repeat(64 * 1024)));
            }),
            401,
        ),
        row(
            p,
            "body changed by one byte after signing",
            {
                let request = delivery(p, ID);
                let (parts, _) = request.into_parts();
                let mut body = envelope(ID);
                *body.last_mut().unwrap() = b' ';
                Request::from_parts(parts, Full::new(Bytes::from(body)))
            },
            401,
        ),
        row(p, "event id over 1 KiB, correctly signed", long_id(1025), 400),
        row(
            p,
            "event id one byte over MAX_ID_LEN, correctly signed",
            long_id(MAX_ID_LEN + 1),
            400,
        ),
        row(
            p,
            "event id of exactly MAX_ID_LEN (control)",
            long_id(MAX_ID_LEN),
            200,
        ),
        row(
            p,
            "body over the limit, declared by Content-Length",
            over_limit,
            413,
        ),
    ];
    // A correctly signed body over the limit, streamed in chunks with no
    // Content-Length: refused while reading.
    let body = format!(r#"{{"id":"{ID}","pad":"{}"}}"#, "x".repeat(LIMIT)).into_bytes();
    let headers = (p.sign)(&body, ID, NOW);
    let chunks = body.chunks(1000).map(Bytes::copy_from_slice);
    let mut chunked = Request::post("/webhooks")
        .body(
            Frames::chunked(chunks)
                .map_err(|never| match never {})
                .boxed_unsync(),
        )
        .unwrap();
    *chunked.headers_mut() = headers;
    rows.push(Row {
        name: format!("{}: chunked body over the limit without Content-Length", p.name),
        scheme: Arc::clone(&p.scheme),
        request: chunked,
        status: StatusCode::PAYLOAD_TOO_LARGE,
        reaches_inner: false,
        replay_keys: 1,
    });
    if let Some(id_header) = p.id_header {
        rows.extend([
            row(
                p,
                "id header missing",
                edited(p, |h| {
                    h.remove(id_header);
                }),
                400,
            ),
            row(
                p,
                "id header not UTF-8",
                edited(p, |h| {
                    h.insert(id_header, HeaderValue::from_bytes(b"evt_\xff").unwrap());
                }),
                400,
            ),
            row(
                p,
                "id header repeated with different values",
                edited(p, |h| {
                    h.append(id_header, value("evt_2"));
                }),
                400,
            ),
            row(
                p,
                "id header repeated with the same value",
                edited(p, |h| {
                    h.append(id_header, value(ID));
                }),
                200,
            ),
            // Documented on GitHub and Shopify: their id header is not
            // signed, so it cannot be checked (`dedupe_on_signature`, an
            // opt-in, catches a resend under a fresh id).
            row(
                p,
                "id header changed after signing",
                edited(p, |h| {
                    h.insert(id_header, value("evt_2"));
                }),
                if p.unsigned_id { 200 } else { 401 },
            ),
        ]);
    }
    rows
}

/// Rows that only make sense for one scheme.
fn specific_rows() -> Vec<Row> {
    let p = &registered("petstore");
    let signed_body = |p: &Preset, body: &[u8]| request((p.sign)(body, ID, NOW), body.to_vec());
    let signed_at = |p: &Preset, timestamp: i64| {
        let body = envelope(ID);
        request((p.sign)(&body, ID, timestamp), body)
    };
    let mut rows = vec![
        // Documented on `Encoding::Hex`: both cases spell the same bytes.
        row(
            p,
            "upper-case hex signature (accepted)",
            edited(p, |h| {
                let upper = signature(p, h).to_uppercase();
                h.insert(p.signature, value(&upper));
            }),
            200,
        ),
        row(
            p,
            "a `sha256=` prefix the scheme does not use",
            edited(p, |h| {
                let prefixed = format!("sha256={}", signature(p, h));
                h.insert(p.signature, value(&prefixed));
            }),
            401,
        ),
        row(
            p,
            "hex signature one byte short",
            edited(p, |h| {
                let short = signature(p, h)[..62].to_owned();
                h.insert(p.signature, value(&short));
            }),
            401,
        ),
        row(
            p,
            "64 characters that are not hex",
            edited(p, |h| {
                h.insert(p.signature, value(&"zz".repeat(32)));
            }),
            401,
        ),
        row(
            p,
            "valid signature and junk in one comma-separated value",
            edited(p, |h| {
                let list = format!("{},junk", signature(p, h));
                h.insert(p.signature, value(&list));
            }),
            200,
        ),
        row(
            p,
            "empty body, correctly signed (no id)",
            signed_body(p, b""),
            400,
        ),
        row(
            p,
            "body not JSON, correctly signed",
            signed_body(p, b"\xff\x00not json"),
            400,
        ),
        row(
            p,
            "JSON body without an id, correctly signed",
            signed_body(p, br#"{"type":"x"}"#),
            400,
        ),
        row(
            p,
            "id is an object, correctly signed",
            signed_body(p, br#"{"id":{"a":1}}"#),
            400,
        ),
        row(
            p,
            "id is an empty string, correctly signed",
            signed_body(p, br#"{"id":""}"#),
            400,
        ),
        row(
            p,
            "id is an integer (accepted)",
            signed_body(p, br#"{"id":42}"#),
            200,
        ),
        // The walk would read one id, `serde_json::Value` the other.
        row(
            p,
            "id key repeated, correctly signed",
            signed_body(p, br#"{"id":"a","id":"b"}"#),
            400,
        ),
        row(
            p,
            "type key repeated after the id, correctly signed",
            signed_body(
                p,
                br#"{"id":"a","type":"order.created","data":{},"type":"order.cancelled"}"#,
            ),
            400,
        ),
        row(
            p,
            "id key repeated in an escaped spelling, correctly signed",
            signed_body(p, br#"{"id":"a","type":"t","i\u0064":"b"}"#),
            400,
        ),
        row(
            p,
            "keys repeated inside data only (accepted)",
            signed_body(p, br#"{"id":"a","type":"t","data":{"id":1,"id":2}}"#),
            200,
        ),
    ];

    let p = &acme();
    let ts = "x-acme-timestamp";
    rows.extend([
        // Documented on `Encoding::Base64`: padding is optional.
        row(
            p,
            "base64 signature without padding (accepted)",
            edited(p, |h| {
                let bare = signature(p, h).trim_end_matches('=').to_owned();
                h.insert(p.signature, value(&bare));
            }),
            200,
        ),
        row(
            p,
            "base64 signature upper-cased",
            edited(p, |h| {
                let valid = signature(p, h);
                let upper = format!("sha256={}", valid["sha256=".len()..].to_uppercase());
                assert_ne!(upper, valid);
                h.insert(p.signature, value(&upper));
            }),
            401,
        ),
        row(
            p,
            "signature without its prefix",
            edited(p, |h| {
                let bare = signature(p, h)["sha256=".len()..].to_owned();
                h.insert(p.signature, value(&bare));
            }),
            401,
        ),
        row(
            p,
            "hex where base64 is expected",
            edited(p, |h| {
                h.insert(p.signature, value(&format!("sha256={}", "ab".repeat(32))));
            }),
            401,
        ),
        row(
            p,
            "timestamp header missing",
            edited(p, |h| {
                h.remove(ts);
            }),
            400,
        ),
        row(
            p,
            "timestamp not an integer",
            edited(p, |h| {
                h.insert(ts, value("17e8"));
            }),
            400,
        ),
        row(
            p,
            "timestamp with a leading +",
            edited(p, |h| {
                h.insert(ts, value("+1700000000"));
            }),
            400,
        ),
        row(
            p,
            "timestamp overflowing i64",
            edited(p, |h| {
                h.insert(ts, value("9223372036854775808"));
            }),
            400,
        ),
        row(
            p,
            "timestamp repeated with different values",
            edited(p, |h| {
                h.append(ts, value(&(NOW + 1).to_string()));
            }),
            400,
        ),
        row(
            p,
            "timestamp changed after signing, still within tolerance",
            edited(p, |h| {
                h.insert(ts, value(&(NOW + 1).to_string()));
            }),
            401,
        ),
        row(p, "negative timestamp, correctly signed", signed_at(p, -1), 401),
        row(
            p,
            "timestamp 301 s old, correctly signed",
            signed_at(p, NOW - 301),
            401,
        ),
        row(
            p,
            "timestamp 301 s ahead, correctly signed",
            signed_at(p, NOW + 301),
            401,
        ),
        row(
            p,
            "timestamp 300 s old (control: tolerance is inclusive)",
            signed_at(p, NOW - 300),
            200,
        ),
        row(
            p,
            "empty body, correctly signed (id in a header)",
            signed_body(p, b""),
            200,
        ),
    ]);

    for p in [&registered("standard-webhooks"), &registered("svix")] {
        let ts: &str = if p.name == "svix" {
            "svix-timestamp"
        } else {
            "webhook-timestamp"
        };
        rows.extend([
            row(
                p,
                "base64 signature without padding (accepted)",
                edited(p, |h| {
                    let bare = signature(p, h).trim_end_matches('=').to_owned();
                    h.insert(p.signature, value(&bare));
                }),
                200,
            ),
            row(
                p,
                "timestamp overflowing i64",
                edited(p, |h| {
                    h.insert(ts, value("99999999999999999999"));
                }),
                400,
            ),
            row(
                p,
                "timestamp header missing",
                edited(p, |h| {
                    h.remove(ts);
                }),
                400,
            ),
            row(p, "negative timestamp, correctly signed", signed_at(p, -NOW), 401),
            row(
                p,
                "i64::MIN timestamp, correctly signed",
                signed_at(p, i64::MIN),
                401,
            ),
        ]);
    }
    let p = &registered("standard-webhooks");
    rows.extend([
        row(
            p,
            "only a v2 signature",
            edited(p, |h| {
                let v2 = signature(p, h).replacen("v1,", "v2,", 1);
                h.insert(p.signature, value(&v2));
            }),
            401,
        ),
        row(
            p,
            "`v1=` instead of `v1,`",
            edited(p, |h| {
                let eq = signature(p, h).replacen("v1,", "v1=", 1);
                h.insert(p.signature, value(&eq));
            }),
            401,
        ),
        row(
            p,
            "a v1a entry, a wrong v1 and the valid v1, space-separated",
            edited(p, |h| {
                let valid = signature(p, h);
                let list = format!("v1a,AAAA {} {valid}", wrong_signature(&valid));
                h.insert(p.signature, value(&list));
            }),
            200,
        ),
        row(p, "empty body, correctly signed", signed_body(p, b""), 200),
        row(
            p,
            "body neither JSON nor UTF-8, correctly signed",
            signed_body(p, b"\xff\xfe\x00"),
            200,
        ),
    ]);
    let p = &registered("svix");
    rows.push(row(
        p,
        // The webhook-* family is read, and its signature header is absent:
        // refused before the body is read.
        "svix headers plus a webhook-id header (webhook-* names win)",
        edited(p, |h| {
            h.insert("webhook-id", value(ID));
        }),
        401,
    ));
    let (st, sl) = (&registered("stripe"), &registered("slack"));
    let stripe_header = |h: &HeaderMap| signature(st, h);
    rows.extend([
        row(st, "valid delivery (control)", delivery(st, ID), 200),
        row(st, "stale: signed 301 s ago", signed_at(st, NOW - 301), 401),
        row(st, "future: signed 301 s ahead", signed_at(st, NOW + 301), 401),
        row(
            st,
            "Stripe-Signature repeated with different values",
            edited(st, |h| {
                let wrong = wrong_signature(&stripe_header(h));
                h.append(st.signature, value(&wrong));
            }),
            400,
        ),
        row(
            st,
            "no t= element",
            edited(st, |h| {
                let v1 = stripe_header(h).split(',').nth(1).unwrap().to_owned();
                h.insert(st.signature, value(&v1));
            }),
            400,
        ),
        row(
            st,
            "t= that overflows i64",
            edited(st, |h| {
                let v1 = stripe_header(h).split(',').nth(1).unwrap().to_owned();
                h.insert(st.signature, value(&format!("t=99999999999999999999,{v1}")));
            }),
            400,
        ),
        row(
            st,
            "only a v0 signature",
            edited(st, |h| {
                let v0 = stripe_header(h).replace("v1=", "v0=");
                h.insert(st.signature, value(&v0));
            }),
            401,
        ),
        row(
            st,
            "two v1 signatures, the valid one second (rotation)",
            edited(st, |h| {
                let valid = stripe_header(h);
                let (t, v1) = valid.split_once(',').unwrap();
                let wrong = wrong_signature(v1);
                h.insert(st.signature, value(&format!("{t},{wrong},{v1}")));
            }),
            200,
        ),
        row(
            st,
            "id key repeated, correctly signed",
            signed_body(st, br#"{"id":"evt_a","type":"x","id":"evt_b"}"#),
            400,
        ),
        row(sl, "valid delivery (control)", delivery(sl, ID), 200),
        row(
            sl,
            "event.type repeated inside event, correctly signed",
            signed_body(
                sl,
                br#"{"type":"event_callback","event_id":"Ev1","event":{"type":"message","type":"app_mention"}}"#,
            ),
            400,
        ),
        row(
            sl,
            "event object repeated, correctly signed",
            signed_body(
                sl,
                br#"{"type":"event_callback","event_id":"Ev1","event":{"type":"message"},"event":{"type":"app_mention"}}"#,
            ),
            400,
        ),
        row(
            sl,
            "event_id repeated, correctly signed",
            signed_body(sl, br#"{"type":"event_callback","event_id":"Ev1","event_id":"Ev2"}"#),
            400,
        ),
        row(sl, "stale: signed 301 s ago", signed_at(sl, NOW - 301), 401),
        row(
            sl,
            "X-Slack-Request-Timestamp missing",
            edited(sl, |h| {
                h.remove("x-slack-request-timestamp");
            }),
            400,
        ),
        row(
            sl,
            "negative timestamp",
            edited(sl, |h| {
                h.insert("x-slack-request-timestamp", value("-1"));
            }),
            401,
        ),
        row(
            sl,
            "signature without the v0= prefix",
            edited(sl, |h| {
                let bare = signature(sl, h).trim_start_matches("v0=").to_owned();
                h.insert(sl.signature, value(&bare));
            }),
            401,
        ),
        row(
            sl,
            "event_id over MAX_ID_LEN, correctly signed",
            {
                let body = format!(
                    r#"{{"type":"event_callback","event_id":"{}"}}"#,
                    "e".repeat(MAX_ID_LEN + 1)
                );
                signed_body(sl, body.as_bytes())
            },
            400,
        ),
    ]);
    rows
}

/// The layer every test here uses: `LIMIT`, the clock at `NOW`, and `guard`.
fn layer(scheme: Box<dyn Scheme>, guard: &Arc<LruGuard>) -> WebhookLayer<Box<dyn Scheme>, Arc<LruGuard>> {
    reliability_support::layer(scheme, LIMIT, guard)
}

/// `layer(scheme, guard)` over a service that counts its calls and answers 200.
fn counting<B>(
    scheme: Box<dyn Scheme>,
    guard: &Arc<LruGuard>,
    calls: &Arc<AtomicUsize>,
) -> impl tower::Service<Request<B>, Response = Response<ResponseBody<Full<Bytes>>>, Error = Infallible> + Clone
where
    B: http_body::Body + Send + 'static,
    B::Data: bytes::Buf,
    B::Error: Into<BoxError>,
{
    reliability_support::counting(layer(scheme, guard), calls)
}

#[tokio::test]
async fn malformed_deliveries_get_their_documented_status_and_never_reach_the_handler() {
    let rows: Vec<Row> = generic_presets()
        .iter()
        .flat_map(generic_rows)
        .chain(specific_rows())
        .collect();
    let total = rows.len();
    let rejected = rows.iter().filter(|r| !r.reaches_inner).count();
    let mut failures = Vec::new();
    for row in rows {
        let calls = Arc::new(AtomicUsize::new(0));
        let guard = Arc::new(LruGuard::new(100));
        let service = counting((row.scheme)(), &guard, &calls);
        let status = service.oneshot(row.request).await.unwrap().status();
        let calls = calls.load(Ordering::SeqCst);
        let expected_calls = usize::from(row.reaches_inner);
        if status != row.status
            || calls != expected_calls
            || guard.done_len() != expected_calls * row.replay_keys
            || guard.in_flight_len() != 0
        {
            failures.push(format!(
                "{}: got {status} with {calls} handler call(s), guard done {} / in flight {}; \
                 expected {} with {expected_calls}",
                row.name,
                guard.done_len(),
                guard.in_flight_len(),
                row.status,
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(rejected >= 40, "only {rejected} malformed rows");
    println!("{total} rows, {rejected} of them refused");
}

#[test]
fn whsec_secret_that_is_not_base64_is_a_configuration_error() {
    assert_eq!(
        StandardWebhooks::secret("whsec_not*base64!").unwrap_err(),
        SecretError::InvalidBase64
    );
    assert_eq!(
        StandardWebhooks::secret("whsec_MfKQ9r8G=KYqr").unwrap_err(),
        SecretError::InvalidBase64
    );
    assert_eq!(
        StandardWebhooks::secret("whsec_").unwrap_err(),
        SecretError::Empty
    );
    assert!(StandardWebhooks::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
}

/// A request written byte for byte to a real socket, for what `http`'s types
/// cannot express.
struct RawRow {
    name: &'static str,
    bytes: Vec<u8>,
    /// Shut the write half after sending, as a client that gives up does.
    close_write: bool,
    /// The status of the first response.
    status: u16,
    reaches_inner: bool,
}

/// A Petstore request head with these extra header lines.
fn head(lines: &[String]) -> Vec<u8> {
    let mut head =
        String::from("POST /webhooks HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n");
    for line in lines {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("connection: close\r\n\r\n");
    head.into_bytes()
}

fn chunked(body: &[u8], chunk: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in body.chunks(chunk) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

fn raw_rows() -> Vec<RawRow> {
    let signed = |body: &[u8]| {
        format!(
            "x-petstore-signature: {}",
            petstore().signature_value(body, "", 0)
        )
    };
    let with_body = |mut head: Vec<u8>, body: &[u8]| {
        head.extend_from_slice(body);
        head
    };
    let body = envelope(ID);
    let sig = signed(&body);
    let chunked_body = envelope("evt_chunked");
    let big = format!(r#"{{"id":"{ID}","pad":"{}"}}"#, "x".repeat(LIMIT)).into_bytes();
    let mut truncated = head(&[sig.clone(), "transfer-encoding: chunked".into()]);
    truncated.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
    truncated.extend_from_slice(&body[..body.len() / 2]);
    let mut non_utf8 =
        b"POST /webhooks HTTP/1.1\r\nhost: 127.0.0.1\r\nx-petstore-signature: \xff\xfe\xfd\r\n".to_vec();
    non_utf8
        .extend_from_slice(format!("content-length: {}\r\nconnection: close\r\n\r\n", body.len()).as_bytes());
    non_utf8.extend_from_slice(&body);
    vec![
        RawRow {
            name: "valid delivery with Content-Length (control)",
            bytes: with_body(
                head(&[sig.clone(), format!("content-length: {}", body.len())]),
                &body,
            ),
            close_write: false,
            status: 200,
            reaches_inner: true,
        },
        RawRow {
            name: "valid delivery in 7-byte chunks (control)",
            bytes: with_body(
                head(&[signed(&chunked_body), "transfer-encoding: chunked".into()]),
                &chunked(&chunked_body, 7),
            ),
            close_write: false,
            status: 200,
            reaches_inner: true,
        },
        RawRow {
            name: "Content-Length larger than the body, then the client stops sending",
            bytes: with_body(
                head(&[sig.clone(), format!("content-length: {}", body.len() + 100)]),
                &body,
            ),
            close_write: true,
            status: 400,
            reaches_inner: false,
        },
        RawRow {
            name: "Content-Length smaller than the body",
            bytes: with_body(
                head(&[sig.clone(), format!("content-length: {}", body.len() - 10)]),
                &body,
            ),
            close_write: false,
            status: 401,
            reaches_inner: false,
        },
        RawRow {
            name: "chunked body cut off mid-chunk",
            bytes: truncated,
            close_write: true,
            status: 400,
            reaches_inner: false,
        },
        RawRow {
            name: "chunked body over the limit without Content-Length",
            bytes: with_body(
                head(&[signed(&big), "transfer-encoding: chunked".into()]),
                &chunked(&big, 512),
            ),
            close_write: false,
            status: 413,
            reaches_inner: false,
        },
        RawRow {
            name: "Content-Length over the limit, no body sent at all",
            bytes: head(&[signed(&big), format!("content-length: {}", LIMIT + 1)]),
            close_write: false,
            status: 413,
            reaches_inner: false,
        },
        RawRow {
            name: "two Content-Length headers that disagree",
            bytes: with_body(
                head(&[
                    sig.clone(),
                    format!("content-length: {}", body.len()),
                    "content-length: 1".into(),
                ]),
                &body,
            ),
            close_write: false,
            status: 400,
            reaches_inner: false,
        },
        RawRow {
            name: "signature header of raw non-UTF-8 bytes",
            bytes: non_utf8,
            close_write: false,
            status: 401,
            reaches_inner: false,
        },
        RawRow {
            name: "a 1 MiB header",
            bytes: with_body(
                head(&[
                    sig,
                    format!("x-junk: {}", "j".repeat(1 << 20)),
                    format!("content-length: {}", body.len()),
                ]),
                &body,
            ),
            close_write: false,
            status: 431,
            reaches_inner: false,
        },
    ]
}

/// Sends `bytes`, then reads until the server closes; the status of the first
/// response, if there is one.
async fn exchange(addr: std::net::SocketAddr, bytes: &[u8], close_write: bool) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may answer (and close) before reading everything we send.
    let _ = stream.write_all(bytes).await;
    if close_write {
        let _ = stream.shutdown().await;
    }
    let mut response = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    assert!(
        read.is_ok(),
        "the server neither answered nor closed the connection"
    );
    let text = String::from_utf8_lossy(&response);
    text.strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .map(|code| code.parse().unwrap())
}

#[tokio::test]
async fn framing_lies_over_a_real_socket_never_reach_the_handler() {
    let calls = Arc::new(AtomicUsize::new(0));
    let guard = Arc::new(LruGuard::new(100));
    let counted = Arc::clone(&calls);
    let app = axum::Router::new()
        .route(
            "/webhooks",
            axum::routing::post(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async { StatusCode::OK }
            }),
        )
        .layer(layer(Box::new(petstore()), &guard));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut failures = Vec::new();
    for row in raw_rows() {
        let before = calls.load(Ordering::SeqCst);
        let status = exchange(addr, &row.bytes, row.close_write).await;
        let reached = calls.load(Ordering::SeqCst) - before;
        if status != Some(row.status) || reached != usize::from(row.reaches_inner) {
            failures.push(format!(
                "{}: got {status:?} with {reached} handler call(s); expected {} with {}",
                row.name,
                row.status,
                usize::from(row.reaches_inner)
            ));
        }
    }
    server.abort();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn unsigned_and_forged_deliveries_never_grow_the_replay_guard() {
    for preset in &generic_presets() {
        let guard = Arc::new(LruGuard::new(100_000));
        let calls = Arc::new(AtomicUsize::new(0));
        let service = counting((preset.scheme)(), &guard, &calls);
        for n in 0..2_000 {
            let id = format!("evt_attack_{n}");
            let mut request = delivery(preset, &id);
            let headers = request.headers_mut();
            if n % 2 == 0 {
                headers.remove(preset.signature);
            } else {
                let forged = wrong_signature(&signature(preset, headers));
                headers.insert(preset.signature, value(&forged));
            }
            let status = service.clone().oneshot(request).await.unwrap().status();
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{}: {id}", preset.name);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 0, "{}", preset.name);
        assert_eq!(
            (guard.done_len(), guard.in_flight_len()),
            (0, 0),
            "{}",
            preset.name
        );
    }
}

#[tokio::test]
async fn ids_over_max_id_len_are_refused_even_when_correctly_signed() {
    for preset in &generic_presets() {
        let guard = Arc::new(LruGuard::new(100_000));
        let calls = Arc::new(AtomicUsize::new(0));
        let service = counting((preset.scheme)(), &guard, &calls);
        for n in 0..500 {
            let id = format!("{n:0>width$}", width = MAX_ID_LEN + 1 + n);
            let status = service
                .clone()
                .oneshot(delivery(preset, &id))
                .await
                .unwrap()
                .status();
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "{}: id of {} bytes",
                preset.name,
                id.len()
            );
        }
        assert_eq!(calls.load(Ordering::SeqCst), 0, "{}", preset.name);
        assert_eq!(
            (guard.done_len(), guard.in_flight_len()),
            (0, 0),
            "{}",
            preset.name
        );
    }
}

#[tokio::test]
async fn captured_delivery_resent_under_fresh_unsigned_ids_is_dropped_with_dedupe_on_signature() {
    // The id travels in a header outside the signed content, so whoever
    // captured one delivery can resend it under any id.
    let acme = || {
        Spec::builder("acme")
            .signature_header("x-acme-signature")
            .version("", Algorithm::HmacSha256, Encoding::Hex)
            .timestamp_header("x-acme-timestamp", TimestampFormat::UnixSeconds)
            .tolerance(Duration::from_secs(300))
            .id(FieldSource::header("x-acme-delivery"))
            .signed_content("{timestamp}.{body}")
            .keys(Secret::new("acme secret").unwrap())
    };
    let scheme = || -> Box<dyn Scheme> { Box::new(acme().dedupe_on_signature(true).build().unwrap()) };
    let sender = acme().build().unwrap();
    let guard = Arc::new(LruGuard::new(100_000));
    let calls = Arc::new(AtomicUsize::new(0));
    let service = counting(scheme(), &guard, &calls);
    let body = envelope(ID);
    let captured = sender.sign_headers(&body, ID, NOW);
    let first = service
        .clone()
        .oneshot(request(captured.clone(), body.clone()))
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);

    for n in 0..1_000 {
        let mut headers = captured.clone();
        headers.insert("x-acme-delivery", value(&format!("evt_replay_{n}")));
        let response = service
            .clone()
            .oneshot(request(headers, body.clone()))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let text = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&text[..], br#"{"duplicate":true}"#);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // The first delivery's id and its signature; none of the replayed ids.
    assert_eq!((guard.done_len(), guard.in_flight_len()), (2, 0));
}

/// One request to a registry preset, edited after signing.
struct NewRow {
    preset: &'static str,
    what: &'static str,
    /// The headers and body as signed at `NOW`, edited.
    edit: fn(&mut HeaderMap, &mut Vec<u8>),
    status: u16,
}

fn set(headers: &mut HeaderMap, name: &'static str, text: &str) {
    headers.insert(name, HeaderValue::from_bytes(text.as_bytes()).unwrap());
}

fn set_bytes(headers: &mut HeaderMap, name: &'static str, bytes: &[u8]) {
    headers.insert(name, HeaderValue::from_bytes(bytes).unwrap());
}

/// The malformed-request table of the parsers the engine added: keyed lists
/// (`ts=..;h1=..`), RFC 3339 timestamps, Ed25519 hex and base64 signatures,
/// DER ECDSA signatures, form bodies and `bodySHA256`.
fn new_parser_rows() -> Vec<NewRow> {
    let ok = |_: &mut HeaderMap, _: &mut Vec<u8>| {};
    vec![
        // Paddle: a keyed list with `;` and the timestamp inside.
        NewRow {
            preset: "paddle-billing",
            what: "valid (control)",
            edit: ok,
            status: 200,
        },
        NewRow {
            preset: "paddle-billing",
            what: "no ts",
            edit: |h, _| {
                let v = h["paddle-signature"]
                    .to_str()
                    .unwrap()
                    .split(';')
                    .nth(1)
                    .unwrap()
                    .to_owned();
                set(h, "paddle-signature", &v)
            },
            status: 400,
        },
        NewRow {
            preset: "paddle-billing",
            what: "ts repeated",
            edit: |h, _| {
                let v = format!("ts={NOW};{}", h["paddle-signature"].to_str().unwrap());
                set(h, "paddle-signature", &v)
            },
            status: 400,
        },
        NewRow {
            preset: "paddle-billing",
            what: "ts not an integer",
            edit: |h, _| {
                let v = h["paddle-signature"].to_str().unwrap().replacen("ts=", "ts=x", 1);
                set(h, "paddle-signature", &v)
            },
            status: 400,
        },
        NewRow {
            preset: "paddle-billing",
            what: "an entry without =",
            edit: |h, _| {
                let v = format!("{};h1", h["paddle-signature"].to_str().unwrap());
                set(h, "paddle-signature", &v)
            },
            status: 401,
        },
        NewRow {
            preset: "paddle-billing",
            what: "only unknown keys",
            edit: |h, _| set(h, "paddle-signature", &format!("ts={NOW};h2={}", "ab".repeat(32))),
            status: 401,
        },
        NewRow {
            preset: "paddle-billing",
            what: "h1 not hex",
            edit: |h, _| set(h, "paddle-signature", &format!("ts={NOW};h1={}", "zz".repeat(32))),
            status: 401,
        },
        NewRow {
            preset: "paddle-billing",
            what: "ts six seconds old",
            edit: |h, _| {
                let v = h["paddle-signature"].to_str().unwrap().replacen(
                    &NOW.to_string(),
                    &(NOW - 6).to_string(),
                    1,
                );
                set(h, "paddle-signature", &v)
            },
            status: 401,
        },
        NewRow {
            preset: "paddle-billing",
            what: "repeated with different values",
            edit: |h, _| {
                h.append("paddle-signature", HeaderValue::from_static("ts=1;h1=00"));
            },
            status: 400,
        },
        // Twitch: RFC 3339, signed verbatim.
        NewRow {
            preset: "twitch-eventsub",
            what: "valid (control)",
            edit: ok,
            status: 200,
        },
        NewRow {
            preset: "twitch-eventsub",
            what: "timestamp not RFC 3339",
            edit: |h, _| set(h, "twitch-eventsub-message-timestamp", "yesterday"),
            status: 400,
        },
        NewRow {
            preset: "twitch-eventsub",
            what: "month 13",
            edit: |h, _| {
                set(
                    h,
                    "twitch-eventsub-message-timestamp",
                    "2023-13-14T22:13:20.000000000Z",
                )
            },
            status: 400,
        },
        NewRow {
            preset: "twitch-eventsub",
            what: "leap second",
            edit: |h, _| set(h, "twitch-eventsub-message-timestamp", "2023-11-14T22:13:60Z"),
            status: 400,
        },
        NewRow {
            preset: "twitch-eventsub",
            what: "no offset",
            edit: |h, _| set(h, "twitch-eventsub-message-timestamp", "2023-11-14T22:13:20"),
            status: 400,
        },
        NewRow {
            preset: "twitch-eventsub",
            what: "not visible ASCII",
            edit: |h, _| {
                set_bytes(
                    h,
                    "twitch-eventsub-message-timestamp",
                    b"2023-11-14T22:13:20\xffZ",
                )
            },
            status: 400,
        },
        NewRow {
            preset: "twitch-eventsub",
            what: "same instant, written differently",
            edit: |h, _| {
                let v = h["twitch-eventsub-message-timestamp"]
                    .to_str()
                    .unwrap()
                    .replace(".000000000Z", "Z");
                set(h, "twitch-eventsub-message-timestamp", &v)
            },
            status: 401,
        },
        NewRow {
            preset: "twitch-eventsub",
            what: "eleven minutes old",
            edit: |h, _| set(h, "twitch-eventsub-message-timestamp", "2023-11-14T22:02:19Z"),
            status: 401,
        },
        NewRow {
            preset: "twitch-eventsub",
            what: "no message id",
            edit: |h, _| {
                h.remove("twitch-eventsub-message-id");
            },
            status: 400,
        },
        // Discord: Ed25519, hex.
        NewRow {
            preset: "discord-ed25519",
            what: "valid (control)",
            edit: ok,
            status: 200,
        },
        NewRow {
            preset: "discord-ed25519",
            what: "signature one hex digit short",
            edit: |h, _| {
                let v = h["x-signature-ed25519"].to_str().unwrap()[1..].to_owned();
                set(h, "x-signature-ed25519", &v)
            },
            status: 401,
        },
        NewRow {
            preset: "discord-ed25519",
            what: "signature not hex",
            edit: |h, _| set(h, "x-signature-ed25519", &"zz".repeat(64)),
            status: 401,
        },
        NewRow {
            preset: "discord-ed25519",
            what: "all-zero signature",
            edit: |h, _| set(h, "x-signature-ed25519", &"00".repeat(64)),
            status: 401,
        },
        NewRow {
            preset: "discord-ed25519",
            what: "non-canonical s (s + l)",
            edit: |h, _| {
                // s + l, where l is the group order: verifies under lax
                // verification, refused by strict.
                let mut sig = hex_decode(h["x-signature-ed25519"].to_str().unwrap());
                let l: [u8; 32] = [
                    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
                    0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
                ];
                let mut carry = 0u16;
                for i in 0..32 {
                    let sum = u16::from(sig[32 + i]) + u16::from(l[i]) + carry;
                    sig[32 + i] = sum as u8;
                    carry = sum >> 8;
                }
                set(h, "x-signature-ed25519", &hex_encode(&sig));
            },
            status: 401,
        },
        NewRow {
            preset: "discord-ed25519",
            what: "timestamp not an integer",
            edit: |h, _| set(h, "x-signature-timestamp", "soon"),
            status: 400,
        },
        NewRow {
            preset: "discord-ed25519",
            what: "no timestamp",
            edit: |h, _| {
                h.remove("x-signature-timestamp");
            },
            status: 400,
        },
        NewRow {
            preset: "discord-ed25519",
            what: "no signature",
            edit: |h, _| {
                h.remove("x-signature-ed25519");
            },
            status: 401,
        },
        // Standard Webhooks v1a: Ed25519, base64.
        NewRow {
            preset: "standard-webhooks-v1a",
            what: "valid (control)",
            edit: ok,
            status: 200,
        },
        NewRow {
            preset: "standard-webhooks-v1a",
            what: "v1a of 63 bytes",
            edit: |h, _| set(h, "webhook-signature", &format!("v1a,{}", b64(&[7; 63]))),
            status: 401,
        },
        NewRow {
            preset: "standard-webhooks-v1a",
            what: "v1a empty",
            edit: |h, _| set(h, "webhook-signature", "v1a,"),
            status: 401,
        },
        NewRow {
            preset: "standard-webhooks-v1a",
            what: "v1a not base64",
            edit: |h, _| set(h, "webhook-signature", &format!("v1a,{}", "!".repeat(88))),
            status: 401,
        },
        NewRow {
            preset: "standard-webhooks-v1a",
            what: "v1a all zero",
            edit: |h, _| set(h, "webhook-signature", &format!("v1a,{}", b64(&[0; 64]))),
            status: 401,
        },
        NewRow {
            preset: "standard-webhooks-v1a",
            what: "v1 only (no secret configured)",
            edit: |h, _| set(h, "webhook-signature", &format!("v1,{}", b64(&[1; 32]))),
            status: 401,
        },
        // SendGrid: DER ECDSA in base64.
        NewRow {
            preset: "sendgrid-ecdsa",
            what: "valid (control)",
            edit: ok,
            status: 200,
        },
        NewRow {
            preset: "sendgrid-ecdsa",
            what: "truncated DER",
            edit: |h, _| {
                let der = b64_decode(h["x-twilio-email-event-webhook-signature"].to_str().unwrap());
                set(
                    h,
                    "x-twilio-email-event-webhook-signature",
                    &b64(&der[..der.len() - 1]),
                )
            },
            status: 401,
        },
        NewRow {
            preset: "sendgrid-ecdsa",
            what: "DER of another length",
            edit: |h, _| {
                let mut der = b64_decode(h["x-twilio-email-event-webhook-signature"].to_str().unwrap());
                der[1] ^= 1;
                set(h, "x-twilio-email-event-webhook-signature", &b64(&der))
            },
            status: 401,
        },
        NewRow {
            preset: "sendgrid-ecdsa",
            what: "not base64",
            edit: |h, _| set(h, "x-twilio-email-event-webhook-signature", "MEUCI%%%"),
            status: 401,
        },
        NewRow {
            preset: "sendgrid-ecdsa",
            what: "64 zero bytes (r = s = 0)",
            edit: |h, _| set(h, "x-twilio-email-event-webhook-signature", &b64(&[0; 64])),
            status: 401,
        },
        NewRow {
            preset: "sendgrid-ecdsa",
            what: "longer than any DER signature",
            edit: |h, _| set(h, "x-twilio-email-event-webhook-signature", &b64(&[0x30; 80])),
            status: 401,
        },
        NewRow {
            preset: "sendgrid-ecdsa",
            what: "body changed",
            edit: |_, b| b.push(b'\n'),
            status: 401,
        },
        // Twilio: form bodies.
        NewRow {
            preset: "twilio",
            what: "valid (control)",
            edit: ok,
            status: 200,
        },
        NewRow {
            preset: "twilio",
            what: "a parameter added",
            edit: |_, b| b.extend_from_slice(b"&Digits=1"),
            status: 401,
        },
        NewRow {
            preset: "twilio",
            what: "broken percent escapes",
            edit: |_, b| b.extend_from_slice(b"&x=%zz%4"),
            status: 401,
        },
        NewRow {
            preset: "twilio",
            what: "signature not base64",
            edit: |h, _| set(h, "x-twilio-signature", "***"),
            status: 401,
        },
        NewRow {
            preset: "twilio",
            what: "signature of SHA-256 length",
            edit: |h, _| set(h, "x-twilio-signature", &b64(&[1; 32])),
            status: 401,
        },
        NewRow {
            preset: "twilio",
            what: "no signature",
            edit: |h, _| {
                h.remove("x-twilio-signature");
            },
            status: 401,
        },
        NewRow {
            preset: "twilio",
            what: "signature repeated with different values",
            edit: |h, _| {
                h.append("x-twilio-signature", HeaderValue::from_static("AAAA"));
            },
            status: 400,
        },
        // Linear: the timestamp is a body field, read once the signature verified.
        NewRow {
            preset: "linear",
            what: "valid (control)",
            edit: ok,
            status: 200,
        },
        NewRow {
            preset: "linear",
            what: "webhookTimestamp 61 s old, re-signed",
            edit: |h, b| linear_resigned(h, b, &((NOW - 61) * 1000).to_string()),
            status: 401,
        },
        NewRow {
            preset: "linear",
            what: "webhookTimestamp 61 s ahead, re-signed",
            edit: |h, b| linear_resigned(h, b, &((NOW + 61) * 1000).to_string()),
            status: 401,
        },
        NewRow {
            preset: "linear",
            what: "webhookTimestamp not a number, re-signed",
            edit: |h, b| linear_resigned(h, b, r#""soon""#),
            status: 400,
        },
        NewRow {
            preset: "linear",
            what: "webhookTimestamp a float, re-signed",
            edit: |h, b| linear_resigned(h, b, "1700000000000.5"),
            status: 400,
        },
        NewRow {
            preset: "linear",
            what: "webhookTimestamp absent, re-signed",
            edit: |h, b| {
                *b = br#"{"type":"Issue"}"#.to_vec();
                set(h, "linear-signature", &registry_hmac(b));
            },
            status: 400,
        },
        NewRow {
            preset: "linear",
            what: "webhookTimestamp changed, not re-signed",
            edit: |_, b| *b = linear_body(&((NOW - 1) * 1000).to_string()),
            status: 401,
        },
        NewRow {
            preset: "linear",
            what: "no Linear-Delivery",
            edit: |h, _| {
                h.remove("linear-delivery");
            },
            status: 400,
        },
        // Mailgun: the signature, its timestamp and the token are in the body.
        NewRow {
            preset: "mailgun",
            what: "valid (control)",
            edit: ok,
            status: 200,
        },
        NewRow {
            preset: "mailgun",
            what: "event-data changed after signing: not signed, so accepted (the token still serves once)",
            edit: |_, b| replace_once(b, r#""event":"delivered""#, r#""event":"failed""#),
            status: 200,
        },
        NewRow {
            preset: "mailgun",
            what: "token changed after signing",
            edit: |_, b| replace_once(b, r#""token":"evt_1""#, r#""token":"evt_2""#),
            status: 401,
        },
        NewRow {
            preset: "mailgun",
            what: "timestamp changed after signing",
            edit: |_, b| replace_once(b, r#""timestamp":"1700000000""#, r#""timestamp":"1700000001""#),
            status: 401,
        },
        NewRow {
            preset: "mailgun",
            what: "signature not hex",
            edit: |_, b| {
                let text = String::from_utf8(b.clone()).unwrap();
                let at = text.find(r#""signature":""#).unwrap() + r#""signature":""#.len();
                b[at] = b'z';
            },
            status: 401,
        },
        NewRow {
            preset: "mailgun",
            what: "no signature block",
            edit: |_, b| *b = MAILGUN_EVENT.as_bytes().to_vec(),
            status: 401,
        },
        NewRow {
            preset: "mailgun",
            what: "body not JSON",
            edit: |_, b| *b = b"signature=deadbeef".to_vec(),
            status: 401,
        },
        NewRow {
            preset: "mailgun",
            what: "timestamp not a number",
            edit: |_, b| replace_once(b, r#""timestamp":"1700000000""#, r#""timestamp":"soon""#),
            status: 400,
        },
        NewRow {
            preset: "mailgun",
            what: "token repeated",
            edit: |_, b| replace_once(b, r#""token":"evt_1""#, r#""token":"evt_1","token":"evt_2""#),
            status: 400,
        },
        NewRow {
            preset: "mailgun",
            what: "timestamp 301 s old, re-signed",
            edit: |_, b| *b = mailgun_signed(NOW - 301),
            status: 401,
        },
        NewRow {
            preset: "mailgun",
            what: "timestamp 301 s ahead, re-signed",
            edit: |_, b| *b = mailgun_signed(NOW + 301),
            status: 401,
        },
        NewRow {
            preset: "mailgun",
            what: "re-signed at NOW (control for the two above)",
            edit: |_, b| *b = mailgun_signed(NOW),
            status: 200,
        },
    ]
}

/// The event data every Mailgun row sends (`sign_body` adds the signature block).
const MAILGUN_EVENT: &str = r#"{"event-data":{"event":"delivered","id":"CPgfbmQMTCKtHW6uIWtuVe"}}"#;

/// `body` with `from` replaced by `to` once (it must be there).
fn replace_once(body: &mut Vec<u8>, from: &str, to: &str) {
    let text = String::from_utf8(body.clone()).unwrap();
    assert_eq!(text.matches(from).count(), 1, "{from} in {text}");
    *body = text.replacen(from, to, 1).into_bytes();
}

/// A Mailgun body signed as of unix time `timestamp` with the registry's
/// test secret, for token `ID`.
fn mailgun_signed(timestamp: i64) -> Vec<u8> {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"registry secret").unwrap();
    mac.update(format!("{timestamp}{ID}").as_bytes());
    let signature = hex_encode(&mac.finalize().into_bytes());
    format!(
        r#"{{"signature":{{"timestamp":"{timestamp}","token":"{ID}","signature":"{signature}"}},"event-data":{{"event":"delivered"}}}}"#
    )
    .into_bytes()
}

/// A Linear body with this `webhookTimestamp` (JSON text).
fn linear_body(timestamp: &str) -> Vec<u8> {
    format!(r#"{{"type":"Issue","action":"create","webhookTimestamp":{timestamp}}}"#).into_bytes()
}

/// The hex HMAC-SHA256 of `body` under the registry's test secret.
fn registry_hmac(body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"registry secret").unwrap();
    mac.update(body);
    hex_encode(&mac.finalize().into_bytes())
}

/// Replaces the body by one with this timestamp, signed as Linear would.
fn linear_resigned(headers: &mut HeaderMap, body: &mut Vec<u8>, timestamp: &str) {
    *body = linear_body(timestamp);
    set(headers, "linear-signature", &registry_hmac(body));
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn b64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn new_parsers_answer_malformed_input_with_their_status_and_never_reach_the_handler() {
    const URL: &str = "https://hooks.example.com/webhooks";
    let mut failures = Vec::new();
    let rows = new_parser_rows();
    for row in &rows {
        let preset = tower_webhook::testing::preset(row.preset).unwrap();
        let (key, signing) = (preset.test_keys)();
        let body_of = |id: &str| match row.preset {
            "twilio" => b"CallSid=CA1&Caller=%2B14158675309&Digits=1234".to_vec(),
            "sendgrid-ecdsa" => b"[{\"event\":\"delivered\",\"sg_event_id\":\"e1\"}]\r\n".to_vec(),
            "linear" => linear_body(&(NOW * 1000).to_string()),
            "mailgun" => MAILGUN_EVENT.as_bytes().to_vec(),
            _ => format!(r#"{{"id":"{id}","event_id":"{id}","type":2,"subscription":{{"type":"x"}}}}"#)
                .into_bytes(),
        };
        let signer = (preset.signer)(&signing, URL).unwrap();
        let (body, mut headers) = signer.sign_delivery(body_of(ID).into(), ID, NOW);
        let mut body = body.to_vec();
        (row.edit)(&mut headers, &mut body);
        let calls = Arc::new(AtomicUsize::new(0));
        let guard = Arc::new(LruGuard::new(100));
        let service = counting((preset.scheme)(&key, URL).unwrap(), &guard, &calls);
        let mut request = Request::post("/webhooks")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        *request.headers_mut() = headers;
        let status = service.oneshot(request).await.unwrap().status();
        let calls = calls.load(Ordering::SeqCst);
        if status.as_u16() != row.status || calls != usize::from(row.status == 200) {
            failures.push(format!(
                "{}: {}: got {status} with {calls} call(s), expected {}",
                row.preset, row.what, row.status
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}
