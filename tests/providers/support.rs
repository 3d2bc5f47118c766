//! What the provider modules share: the fixture files of
//! `tests/fixtures/providers/` (one per preset, the shape tests/vectors.rs
//! reads too) and their checks.

use std::collections::BTreeMap;
use std::time::SystemTime;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use tower_webhook::scheme::{RequestParts, Scheme};
use tower_webhook::testing::{self, VerifyHeaders as _};
use tower_webhook::{Rejection, VerifiedEvent};

use crate::{at, T};

/// A fixture file: how it was made, and its deliveries.
#[derive(serde::Deserialize)]
pub struct Fixture {
    pub how: String,
    pub cases: Vec<Case>,
}

/// One delivery as the provider (or its SDK) signed it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Case {
    pub id: String,
    pub scheme: String,
    pub secret: String,
    /// The receiver's public URL (URL-signed schemes).
    pub url: Option<String>,
    /// The HTTP method (default POST).
    pub method: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub body: String,
    pub now: Option<i64>,
    /// `valid` or `invalid`, as the provider's SDK (or docs) say.
    pub expect: String,
    pub expect_id: Option<String>,
    pub expect_type: Option<String>,
}

impl Case {
    /// The registry's scheme for this case, keyed with its secret and URL.
    pub fn scheme(&self) -> Box<dyn Scheme> {
        let preset = testing::preset(&self.scheme).unwrap_or_else(|| panic!("{}: no preset", self.id));
        (preset.scheme)(&self.secret, self.base_url()).unwrap_or_else(|e| panic!("{}: {e}", self.id))
    }

    fn base_url(&self) -> &str {
        let full = self.url.as_deref().unwrap_or("https://example.com/hooks");
        full.split_once('?').map_or(full, |(base, _)| base)
    }

    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            headers.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    pub fn now(&self) -> SystemTime {
        at(self.now.unwrap_or(T))
    }

    /// Verifies the case's request (its method and URL, `headers`, `body`)
    /// with the scheme of the registry, as of the case's clock.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<VerifiedEvent, Rejection> {
        let scheme = self.scheme();
        let full = self.url.as_deref().unwrap_or("https://example.com/hooks");
        let (base, query) = full.split_once('?').map_or((full, None), |(b, q)| (b, Some(q)));
        let path = base.splitn(4, '/').nth(3).unwrap_or("");
        let uri: http::Uri = match query {
            Some(q) => format!("/{path}?{q}"),
            None => format!("/{path}"),
        }
        .parse()
        .unwrap();
        let method: http::Method = self.method.as_deref().unwrap_or("POST").parse().unwrap();
        if self.url.is_none() && self.method.is_none() {
            return scheme.verify_headers(headers, body, self.now());
        }
        let request = RequestParts {
            method: &method,
            uri: &uri,
            headers,
        };
        let verdict = scheme.verify(request, body, self.now())?;
        Ok(verdict.event().expect("an event").clone())
    }
}

pub fn fixture(text: &str) -> Fixture {
    let fixture: Fixture = serde_json::from_str(text).unwrap();
    assert!(!fixture.how.is_empty(), "a fixture says how it was made");
    fixture
}

/// Each valid case verifies with its id (and type, where given), and fails
/// once its body changes by one trailing byte; returns how many cases ran.
pub fn sdk_cases_verify_and_fail_once_changed(text: &str) -> usize {
    let fixture = fixture(text);
    for case in &fixture.cases {
        assert_eq!(case.expect, "valid", "{}", case.id);
        let headers = case.headers();
        let delivery = case.verify(&headers, case.body.as_bytes());
        let delivery = delivery.unwrap_or_else(|e| panic!("{}: {e:?}", case.id));
        let expect_id = case.expect_id.as_deref().expect("expect_id");
        assert_eq!(delivery.id(), expect_id, "{}", case.id);
        if let Some(expected) = &case.expect_type {
            assert_eq!(delivery.event_type(), Some(expected.as_str()), "{}", case.id);
        }
        let changed = format!("{} ", case.body);
        assert_eq!(
            case.verify(&headers, changed.as_bytes()),
            Err(Rejection::SignatureMismatch),
            "{}",
            case.id
        );
    }
    fixture.cases.len()
}

/// Each case verifies, or is refused as a signature mismatch, as its SDK
/// said; a preset with SDK vectors has at least two (one of each).
pub fn sdk_signed_deliveries_verify_as_the_sdks_say(text: &str) {
    let cases = fixture(text).cases;
    assert!(cases.len() >= 2, "{}: no SDK vectors", cases[0].scheme);
    for case in &cases {
        let outcome = case.verify(&case.headers(), case.body.as_bytes());
        match case.expect.as_str() {
            "valid" => assert!(outcome.is_ok(), "{}: {outcome:?}", case.id),
            "invalid" => assert_eq!(outcome, Err(Rejection::SignatureMismatch), "{}", case.id),
            other => panic!("{}: expect {other:?}", case.id),
        }
    }
}

/// Each valid case fails under the registry's forger key and, for a
/// timestamped preset, an hour after its clock.
pub fn sdk_signed_deliveries_fail_under_another_key_or_an_hour_later(text: &str) {
    for case in fixture(text).cases.iter().filter(|c| c.expect == "valid") {
        let preset = testing::preset(&case.scheme).unwrap();
        let forged = Case {
            secret: preset.forger_key.into(),
            ..case.clone()
        };
        assert_eq!(
            forged.verify(&case.headers(), case.body.as_bytes()),
            Err(Rejection::SignatureMismatch),
            "{}",
            case.id
        );
        if preset.timestamp_header.is_some() {
            let late = Case {
                now: Some(case.now.expect("a timestamped case has a clock") + 3600),
                ..case.clone()
            };
            assert!(
                matches!(
                    late.verify(&case.headers(), case.body.as_bytes()),
                    Err(Rejection::TimestampTooOld { .. })
                ),
                "{}",
                case.id
            );
        }
    }
}
