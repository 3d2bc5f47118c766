//! Every provider preset by subject: one module per provider, holding its
//! vectors (official, SDK-made, computed), its sample deliveries and its
//! behaviour, each through the preset registry where it can be.

mod notion;
mod paystack;
mod sentry;
mod webflow;
mod workos;

mod support {
    use std::collections::BTreeMap;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use http::header::{HeaderMap, HeaderName, HeaderValue};
    use tower_webhook::scheme::Scheme;
    use tower_webhook::testing::{self, VerifyHeaders as _};
    use tower_webhook::{Rejection, VerifiedEvent};

    /// The instant unit tests sign and verify at.
    pub const T: i64 = 1_700_000_000;

    pub fn at(secs: i64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs.try_into().unwrap())
    }

    /// A fixture file under `tests/fixtures/providers/`: how it was made, and
    /// its deliveries.
    #[derive(serde::Deserialize)]
    pub struct Fixture {
        pub how: String,
        pub cases: Vec<Case>,
    }

    /// One delivery as the provider (or its SDK) signed it.
    #[derive(serde::Deserialize)]
    pub struct Case {
        pub id: String,
        pub scheme: String,
        pub secret: String,
        pub headers: BTreeMap<String, String>,
        pub body: String,
        pub now: Option<i64>,
        pub expect_id: String,
        pub expect_type: Option<String>,
    }

    impl Case {
        /// The registry's scheme for this case, keyed with its secret.
        pub fn scheme(&self) -> Box<dyn Scheme> {
            let preset = testing::preset(&self.scheme).unwrap_or_else(|| panic!("{}: no preset", self.id));
            (preset.scheme)(&self.secret, "https://example.com/").unwrap()
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

        pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<VerifiedEvent, Rejection> {
            self.scheme().verify_headers(headers, body, self.now())
        }
    }

    pub fn fixture(text: &str) -> Fixture {
        let fixture: Fixture = serde_json::from_str(text).unwrap();
        assert!(!fixture.how.is_empty(), "a fixture says how it was made");
        fixture
    }

    /// Each case verifies with its id and type, and fails once its body
    /// changes by one trailing byte; returns how many cases ran.
    pub fn sdk_cases_verify_and_fail_once_changed(text: &str) -> usize {
        let fixture = fixture(text);
        for case in &fixture.cases {
            let headers = case.headers();
            let delivery = case.verify(&headers, case.body.as_bytes());
            let delivery = delivery.unwrap_or_else(|e| panic!("{}: {e:?}", case.id));
            assert_eq!(delivery.id(), case.expect_id, "{}", case.id);
            assert_eq!(delivery.event_type(), case.expect_type.as_deref(), "{}", case.id);
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
}
