//! Deliveries signed or checked with the providers' own SDKs
//! (`tests/fixtures/sdk_vectors_c.json`, written by `scripts/sdk_vectors_c.py`,
//! which records each package@version in the case's `source`), verified
//! through the `testing` registry at the vector's own clock.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use http::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use tower_webhook::scheme::RequestParts;
use tower_webhook::testing;
use tower_webhook::Rejection;

#[derive(Debug, Clone, Deserialize)]
struct Case {
    id: String,
    scheme: String,
    secret: String,
    /// The receiver's public URL (URL-signed schemes).
    url: Option<String>,
    /// The HTTP method (default POST).
    method: Option<String>,
    headers: BTreeMap<String, String>,
    body: String,
    now: u64,
    expect: String,
}

fn cases() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sdk_vectors_c.json");
    let text = std::fs::read_to_string(path).expect("the SDK vectors");
    serde_json::from_str(&text).expect("valid SDK vectors")
}

fn verify(case: &Case, body: &[u8]) -> Result<String, Rejection> {
    let preset = testing::preset(&case.scheme).unwrap_or_else(|| panic!("{}: not in the registry", case.id));
    let full = case.url.as_deref().unwrap_or("https://example.com/hooks");
    let (base, query) = full.split_once('?').map_or((full, None), |(b, q)| (b, Some(q)));
    let scheme = (preset.scheme)(&case.secret, base).unwrap_or_else(|e| panic!("{}: {e}", case.id));
    let headers: HeaderMap = case
        .headers
        .iter()
        .map(|(k, v)| {
            (
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            )
        })
        .collect();
    let path = base.splitn(4, '/').nth(3).unwrap_or("");
    let uri: http::Uri = match query {
        Some(q) => format!("/{path}?{q}"),
        None => format!("/{path}"),
    }
    .parse()
    .unwrap();
    let method: http::Method = case.method.as_deref().unwrap_or("POST").parse().unwrap();
    let request = RequestParts {
        method: &method,
        uri: &uri,
        headers: &headers,
    };
    let now = UNIX_EPOCH + Duration::from_secs(case.now);
    let verdict = scheme.verify(request, body, now)?;
    Ok(verdict.event().expect("an event").id().to_owned())
}

#[test]
fn sdk_signed_deliveries_verify_as_the_sdks_say() {
    let cases = cases();
    let mut seen = BTreeMap::<&str, usize>::new();
    for case in &cases {
        let outcome = verify(case, case.body.as_bytes());
        match case.expect.as_str() {
            "valid" => assert!(outcome.is_ok(), "{}: {outcome:?}", case.id),
            "invalid" => assert_eq!(outcome, Err(Rejection::SignatureMismatch), "{}", case.id),
            other => panic!("{}: expect {other:?}", case.id),
        }
        *seen.entry(case.scheme.as_str()).or_default() += 1;
    }
    for scheme in ["clerk", "hubspot-v3", "polar", "replicate", "resend", "square"] {
        assert!(
            seen.get(scheme).copied().unwrap_or(0) >= 2,
            "{scheme}: no SDK vectors"
        );
    }
}

#[test]
fn sdk_signed_deliveries_fail_under_another_key_or_an_hour_later() {
    for case in cases().iter().filter(|c| c.expect == "valid") {
        let forged = Case {
            secret: testing::preset(&case.scheme).unwrap().forger_key.into(),
            ..case.clone()
        };
        assert_eq!(
            verify(&forged, case.body.as_bytes()),
            Err(Rejection::SignatureMismatch),
            "{}",
            case.id
        );
        let timestamped = testing::preset(&case.scheme).unwrap().timestamp_header.is_some();
        if timestamped {
            let late = Case {
                now: case.now + 3600,
                ..case.clone()
            };
            assert!(
                matches!(
                    verify(&late, case.body.as_bytes()),
                    Err(Rejection::TimestampTooOld { .. })
                ),
                "{}",
                case.id
            );
        }
    }
}
