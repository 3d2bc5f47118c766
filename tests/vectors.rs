//! Every case of the shared signature vectors (`signatures.json` and
//! `providers.json` of the workplace's `shared/vectors/`, committed under
//! `tests/fixtures/shared_vectors/`) whose scheme the crate supports, verified with the
//! vector's own clock. A verified handshake (Discord's PING) counts as valid.
//!
//! # The id rule
//!
//! The vectors test signature verification alone, and some omit the header
//! that carries the event id (GitHub's documented example has no
//! `X-GitHub-Delivery`). Those ids are not signed, so adding one cannot change
//! whether a signature verifies. For such a case this test checks two things:
//!
//! 1. as given, a `valid` case fails with exactly `MissingHeader` for the id
//!    header (the layer's rule: no id, `400`), and an `invalid` one fails;
//! 2. with a placeholder id header added, the case verifies or fails as
//!    `expect` says, so the signature check itself is exercised on every case.
//!
//! Some bodies lack the body field a scheme takes its id from (Paddle's
//! official vector is `{"data": ["1", "2"]}`). `MissingEventId` is only ever
//! returned after the signature verified, so for a `valid` case it counts as
//! verified (the layer then answers `400`, its documented rule).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use tower_webhook::scheme::{RequestParts, Scheme};
use tower_webhook::testing::VerifyHeaders as _;
use tower_webhook::testing::{self, IdSource};
use tower_webhook::Rejection;

/// Schemes in the file that the crate does not implement.
const UNSUPPORTED: &[&str] = &["hubspot-v1", "hubspot-v2"];

/// Presets whose authenticator does not cover the body (GitLab's legacy
/// token is compared, not computed): a changed body still verifies.
const BODY_UNSIGNED: &[&str] = &["gitlab"];

/// Presets whose signature covers a field of the body, not its bytes:
/// Mailgun signs only `signature.timestamp` and `signature.token` (its
/// `event-data` is not signed, see `mailgun-computed-event-data-unsigned`).
/// Their body change is made to this signed field instead.
const SIGNED_BODY_FIELD: &[(&str, &str)] = &[("mailgun", "/signature/token")];

/// Vector scheme names that are another preset's deliveries: the file names
/// Twilio's JSON deliveries (`bodySHA256`) apart; they are one preset.
const ALIASES: &[(&str, &str)] = &[("twilio-bodysha256", "twilio")];

/// Schemes the crate implements, from `testing::presets()` (and their
/// aliases): every one of their cases must run.
fn supported() -> Vec<&'static str> {
    let names = testing::presets().iter().map(|p| p.name);
    names.chain(ALIASES.iter().map(|(alias, _)| *alias)).collect()
}

fn registry_name(scheme: &str) -> &str {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == scheme)
        .map_or(scheme, |(_, name)| name)
}

#[derive(Debug, Deserialize)]
struct Case {
    id: String,
    scheme: String,
    /// The shared secret, or (for an asymmetric scheme in `signatures.json`)
    /// the public key.
    #[serde(default)]
    secret: String,
    /// `providers.json`'s asymmetric verification key.
    public_key: Option<String>,
    /// The URL the sender signed (Twilio).
    url: Option<String>,
    /// The URL the request arrived on, when it differs from `url`.
    request_url: Option<String>,
    /// Square's configured notification URL, the URL it signs.
    notification_url: Option<String>,
    headers: BTreeMap<String, String>,
    body: String,
    /// Unix seconds; absent for schemes without a timestamp.
    now: Option<u64>,
    /// The clock in unix milliseconds, where a case gives it so (HubSpot,
    /// Linear) and `now` is absent.
    now_ms: Option<u64>,
    /// The HTTP method, where the scheme signs it (default `POST`).
    method: Option<String>,
    expect: Expect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Expect {
    Valid,
    Invalid,
}

/// The shared vectors, as committed under `tests/fixtures/shared_vectors/`
/// (copied byte for byte from the workplace's `shared/vectors/`, so that
/// `cargo test` needs nothing beside the repository;
/// [`the_copy_of_the_shared_vectors_is_current`] compares them when that
/// directory is there).
fn vectors_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shared_vectors/signatures.json")
}

/// `shared/vectors/` beside the repository, as CI lays it out, or from a
/// nested checkout (a git worktree) the nearest one above.
fn shared_vectors_dir() -> Option<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .skip(1)
        .map(|dir| dir.join("shared/vectors"))
        .find(|dir| dir.join("signatures.json").exists())
}

#[test]
fn the_copy_of_the_shared_vectors_is_current() {
    let Some(shared) = shared_vectors_dir() else {
        println!("note: no shared/vectors beside the repository; the committed copy is used as is");
        return;
    };
    for name in ["signatures.json", "providers.json"] {
        let copy = std::fs::read(vectors_path().with_file_name(name)).expect("the committed copy");
        let original = std::fs::read(shared.join(name)).expect("the shared file");
        assert!(
            copy == original,
            "tests/fixtures/shared_vectors/{name} differs from {}: copy it again",
            shared.join(name).display()
        );
    }
}

fn load() -> Vec<Case> {
    let signatures = vectors_path();
    let providers = signatures.with_file_name("providers.json");
    let mut cases = Vec::new();
    for path in [signatures, providers] {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let more: Vec<Case> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        cases.extend(more);
    }
    cases.extend(fixture_vectors());
    cases
}

/// The crate's own vectors, `tests/fixtures/providers/<preset>.json` (same
/// shape), for presets whose provider publishes none: made with the
/// provider's SDK where one signs, else as its docs say, as each file's `how`
/// and each case's `source` say.
fn fixture_vectors() -> Vec<Case> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/providers"));
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".json")
        })
        .collect();
    paths.sort();
    let mut cases = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // A list of cases, or `{"how": "...", "cases": [...]}`.
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum File {
            Cases(Vec<Case>),
            Described { cases: Vec<Case> },
        }
        let more = match serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())) {
            File::Cases(cases) | File::Described { cases } => cases,
        };
        cases.extend(more);
    }
    cases
}

impl Case {
    /// The receiver's public URL (no query) and the request's path and
    /// query, from `request_url` where given, else `url`.
    fn arrived_on(&self) -> (&str, String) {
        let full = self
            .request_url
            .as_deref()
            .or(self.url.as_deref())
            .or(self.notification_url.as_deref())
            .unwrap_or("https://example.com/");
        let (base, query) = full.split_once('?').map_or((full, None), |(b, q)| (b, Some(q)));
        let after_scheme = base.find("://").map_or(0, |i| i + 3);
        let path = base[after_scheme..]
            .find('/')
            .map_or("/", |i| &base[after_scheme + i..]);
        let uri = match query {
            Some(q) => format!("{path}?{q}"),
            None => path.to_owned(),
        };
        (base, uri)
    }

    /// Verifies the case's request as given.
    fn verify(&self, scheme: &dyn Scheme, headers: &HeaderMap, body: &[u8]) -> Result<(), Rejection> {
        let (_, uri) = self.arrived_on();
        let uri: http::Uri = uri.parse().expect("a request URI");
        let method: http::Method = self
            .method
            .as_deref()
            .unwrap_or("POST")
            .parse()
            .expect("a method");
        let request = RequestParts {
            method: &method,
            uri: &uri,
            headers,
        };
        scheme.verify(request, body, self.now()).map(|_| ())
    }

    /// The verification key as text: `public_key` where given, else `secret`.
    fn key(&self) -> &str {
        self.public_key.as_deref().unwrap_or(&self.secret)
    }

    /// The instant to verify at. SendGrid's official vectors carry no clock
    /// (SendGrid documents no tolerance): they are verified at their own
    /// timestamp. Schemes without a timestamp ignore the clock.
    fn now(&self) -> SystemTime {
        let own = self
            .headers
            .get("X-Twilio-Email-Event-Webhook-Timestamp")
            .and_then(|t| t.parse().ok());
        if let (None, Some(ms)) = (self.now, self.now_ms) {
            return UNIX_EPOCH + Duration::from_millis(ms);
        }
        UNIX_EPOCH + Duration::from_secs(self.now.or(own).unwrap_or(1_700_000_000))
    }
}

/// Presets whose id header, when absent, gives way to a signed body field
/// (PagerDuty: `X-Webhook-Id`, else `event.id`).
/// Twilio's `I-Twilio-Idempotency-Token`, when absent, gives way to the
/// verified signature.
const ID_HEADER_FALLS_BACK_TO_BODY: &[&str] = &["pagerduty-v3", "twilio"];

/// Presets configured with the URL as entered at the provider, its query
/// included (Twilio pins the request's query to it); the `bodySHA256` part
/// is Twilio's addition, not the configuration's.
const PUBLIC_URL_WITH_QUERY: &[&str] = &["twilio"];

/// The scheme under test, and the header its unsigned event id comes from.
fn scheme(case: &Case) -> (Box<dyn Scheme>, Option<&'static str>) {
    let preset = testing::preset(registry_name(&case.scheme)).expect("a supported scheme is in the registry");
    let (base, uri) = case.arrived_on();
    let public_url = match uri.split_once('?') {
        Some((_, query)) if PUBLIC_URL_WITH_QUERY.contains(&preset.name) => {
            let query: Vec<&str> = query
                .split('&')
                .filter(|p| !p.starts_with("bodySHA256="))
                .collect();
            match query.join("&") {
                query if query.is_empty() => base.to_owned(),
                query => format!("{base}?{query}"),
            }
        }
        _ => base.to_owned(),
    };
    let scheme = (preset.scheme)(case.key(), &public_url)
        .unwrap_or_else(|e| panic!("{}: the vector's key does not build the scheme: {e}", case.id));
    let id_header = match preset.id {
        IdSource::Header(name) if !preset.id_signed => Some(name),
        _ => None,
    };
    (scheme, id_header)
}

fn headers(case: &Case) -> HeaderMap {
    case.headers
        .iter()
        .map(|(name, value)| {
            (
                HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
                HeaderValue::from_bytes(value.as_bytes()).expect("a header value"),
            )
        })
        .collect()
}

/// Runs one case; `Err` describes how it disagreed with `expect`.
fn run(case: &Case) -> Result<(), String> {
    let (scheme, id_header) = scheme(case);
    let mut headers = headers(case);
    let body = case.body.as_bytes();

    if let Some(name) = id_header.filter(|name| !headers.contains_key(*name)) {
        let as_given = case.verify(&*scheme, &headers, body);
        let missing_id = Err(Rejection::MissingHeader {
            name: HeaderName::from_static(name),
        });
        let falls_back = ID_HEADER_FALLS_BACK_TO_BODY.contains(&registry_name(&case.scheme));
        match case.expect {
            // Keyed on the signed body field instead.
            Expect::Valid if falls_back => {
                if let Err(rejection) = &as_given {
                    return Err(format!("without {name}: {rejection:?}, expected the body's id"));
                }
            }
            Expect::Valid if as_given != missing_id => {
                return Err(format!("without {name}: {as_given:?}, expected {missing_id:?}"));
            }
            Expect::Invalid if as_given.is_ok() => return Err(format!("without {name}: accepted")),
            _ => {}
        }
        headers.insert(name, HeaderValue::from_static("vector-placeholder-id"));
    }

    let outcome: Result<(), Rejection> = case.verify(&*scheme, &headers, body);
    match (case.expect, &outcome) {
        (Expect::Valid, Ok(_) | Err(Rejection::MissingEventId)) => Ok(()),
        (Expect::Invalid, Err(rejection)) if *rejection != Rejection::MissingEventId => Ok(()),
        _ => Err(format!("expected {:?}, got {outcome:?}", case.expect)),
    }
}

#[test]
fn every_supported_vector_verifies_as_expected() {
    let cases = load();
    let supported = supported();
    for name in UNSUPPORTED {
        assert!(
            !supported.contains(name),
            "{name} is supported: take it off UNSUPPORTED"
        );
    }
    let mut in_file: BTreeMap<&str, usize> = BTreeMap::new();
    let mut ran: BTreeMap<&str, usize> = BTreeMap::new();
    let mut skipped = 0;
    let mut failures = Vec::new();

    for case in &cases {
        *in_file.entry(case.scheme.as_str()).or_default() += 1;
        if supported.contains(&case.scheme.as_str()) {
            *ran.entry(case.scheme.as_str()).or_default() += 1;
            if let Err(why) = run(case) {
                failures.push(format!("{}: {why}", case.id));
            }
        } else {
            // A scheme nobody listed fails loudly instead of being skipped.
            assert!(
                UNSUPPORTED.contains(&case.scheme.as_str()),
                "{}: unknown scheme {:?}",
                case.id,
                case.scheme
            );
            skipped += 1;
        }
    }

    for scheme in &supported {
        println!(
            "{scheme}: ran {} of {}",
            ran.get(scheme).copied().unwrap_or(0),
            in_file.get(scheme).copied().unwrap_or(0)
        );
    }
    println!("skipped (unsupported schemes): {skipped}");

    assert!(
        failures.is_empty(),
        "vectors disagreeing:\n{}",
        failures.join("\n")
    );
    // Every preset of the registry has vectors, in the shared files or in
    // `tests/fixtures/providers/*.json`, and all of them ran.
    for scheme in &supported {
        let expected = in_file.get(scheme).copied().unwrap_or(0);
        assert!(expected > 0, "no {scheme} vectors in the file");
        assert_eq!(
            ran.get(scheme).copied().unwrap_or(0),
            expected,
            "{scheme} cases run"
        );
    }
    assert_eq!(ran.values().sum::<usize>() + skipped, cases.len());
}

#[test]
fn valid_vectors_fail_once_the_body_changes() {
    // Guards against a verifier that accepts everything: every valid case of
    // a supported scheme must turn invalid when one body byte is appended
    // (or, where only some body fields are signed, one of those changes).
    let mut checked = 0;
    let supported = supported();
    for case in load().iter().filter(|c| supported.contains(&c.scheme.as_str())) {
        if case.expect != Expect::Valid || BODY_UNSIGNED.contains(&case.scheme.as_str()) {
            continue;
        }
        let (scheme, id_header) = scheme(case);
        let mut headers = headers(case);
        if let Some(name) = id_header {
            headers
                .entry(name)
                .or_insert(HeaderValue::from_static("vector-placeholder-id"));
        }
        let mut body = case.body.clone().into_bytes();
        match SIGNED_BODY_FIELD.iter().find(|(name, _)| *name == case.scheme) {
            Some((_, pointer)) => {
                let mut json: serde_json::Value = serde_json::from_slice(&body).expect("a JSON body");
                let field = json.pointer_mut(pointer).expect("the signed field");
                *field = format!("{}x", field.as_str().expect("a string")).into();
                body = serde_json::to_vec(&json).unwrap();
            }
            None => body.push(b' '),
        }
        assert_eq!(
            case.verify(&*scheme, &headers, &body),
            Err(Rejection::SignatureMismatch),
            "{}",
            case.id
        );
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn vectors_ignore_the_wall_clock() {
    // The injected `now` is what counts: the first Stripe vector is stale today.
    let case = load()
        .into_iter()
        .find(|c| c.scheme == "stripe" && c.expect == Expect::Valid)
        .expect("a valid Stripe vector");
    let (scheme, _) = scheme(&case);
    assert!(matches!(
        scheme.verify_headers(&headers(&case), case.body.as_bytes(), SystemTime::now()),
        Err(Rejection::TimestampTooOld { .. })
    ));
}
