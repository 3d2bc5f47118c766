//! Stripe's webhook signatures.

use std::fmt;
use std::time::{Duration, SystemTime};

use http::header::{HeaderMap, HeaderName};

use super::json::{self, Path};
use super::{
    check_tolerance, parse_timestamp, single_header, Candidates, Delivery, Encoding, Scheme,
    DEFAULT_TOLERANCE,
};
use crate::{Rejection, Secrets};

const SIGNATURE: HeaderName = HeaderName::from_static("stripe-signature");

/// Stripe's scheme: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`,
/// the HMAC-SHA256 of `"{t}.{body}"`.
///
/// - **Key**: the whole signing secret **as written**, `whsec_` included, as
///   bytes: `Secret::new("whsec_...")`. (Standard Webhooks, which uses the
///   same prefix, base64-decodes what follows it instead; don't mix them up.)
/// - **Signatures**: every `v1` entry is a candidate and any one matching any
///   secret passes; Stripe sends two while you roll a secret. `v0` entries
///   (test-mode legacy) and unknown keys are ignored.
/// - **Timestamp**: `t`, signed, refused further than the
///   [tolerance](Stripe::tolerance) (default 5 minutes) from now in either
///   direction. Stripe's own libraries only refuse old timestamps; a
///   timestamp from the future is refused here too.
/// - **Id and type**: the body's `id` (`evt_...`) and `type`
///   (`payment_intent.succeeded`, ...), both covered by the signature. A
///   verified body without an `id` is refused with `400`.
/// - **Replay key**: the event `id`, as Stripe documents: "guard against
///   duplicated event receipts by logging the event IDs you've processed"
///   (<https://docs.stripe.com/webhooks#handle-duplicate-events>). Stripe
///   signs every retry afresh (a new `t`), so the signature could never serve
///   as the key; the id stays the same.
///
/// Which answer a malformed header gets:
///
/// | header | rejection | status |
/// |---|---|---|
/// | absent | [`MissingSignature`](Rejection::MissingSignature) | 401 |
/// | repeated with different values | [`InvalidHeader`](Rejection::InvalidHeader) | 400 |
/// | no `t`, `t` repeated, `t` not an integer | [`InvalidHeader`](Rejection::InvalidHeader) | 400 |
/// | an entry without `=`, no readable `v1`, more than 16 `v1` | [`MalformedSignature`](Rejection::MalformedSignature) | 401 |
/// | `t` outside the tolerance | [`TimestampTooOld`](Rejection::TimestampTooOld) / [`TimestampTooNew`](Rejection::TimestampTooNew) | 401 |
/// | no `v1` matches | [`SignatureMismatch`](Rejection::SignatureMismatch) | 401 |
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use http::HeaderMap;
/// use tower_webhook::scheme::{Scheme, Stripe};
/// use tower_webhook::Secret;
///
/// let stripe = Stripe::new(Secret::new("whsec_test_secret")?);
/// let body = "{\n  \"id\": \"evt_test_webhook\",\n  \"object\": \"event\"\n}";
/// let mut headers = HeaderMap::new();
/// headers.insert(
///     "stripe-signature",
///     "t=1700000000,v1=4f1cd7feda9826e746b7d482c4badebb657398df1099e1046364f6196a230150".parse()?,
/// );
/// let now = UNIX_EPOCH + Duration::from_secs(1700000005);
///
/// let delivery = stripe.verify(&headers, body.as_bytes(), now)?;
/// assert_eq!(delivery.id(), "evt_test_webhook");
/// assert_eq!(delivery.timestamp(), Some(1700000000));
///
/// // Six minutes later the same delivery is stale.
/// let later = now + Duration::from_secs(360);
/// assert_eq!(stripe.verify(&headers, body.as_bytes(), later).unwrap_err().status(), 401);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Stripe {
    secrets: Secrets,
    tolerance: Duration,
    id: Path,
    event_type: Path,
}

impl Stripe {
    /// Stripe's scheme, accepting a signature by any of `secrets`, each the
    /// whole `whsec_...` string (`Secret::new("whsec_...")`).
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        Self {
            secrets: secrets.into(),
            tolerance: DEFAULT_TOLERANCE,
            id: json::path("id"),
            event_type: json::path("type"),
        }
    }

    /// How far `t` may be from now, in either direction (default 5 minutes,
    /// as Stripe's libraries), at most
    /// [`MAX_TOLERANCE`](super::MAX_TOLERANCE) (1 hour; more is taken as
    /// that, and logged at `warn`).
    #[must_use]
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = super::bounded_tolerance(tolerance);
        self
    }

    /// The `Stripe-Signature` value Stripe would send with `body` at unix
    /// time `timestamp`, signed with the first secret.
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        let timestamp = timestamp.to_string();
        let tag = self.secrets.sign(&[timestamp.as_bytes(), b".", body]);
        format!("t={timestamp},v1={}", Encoding::Hex.encode(&tag))
    }
}

/// The parts of a `Stripe-Signature` header.
struct Header<'h> {
    /// `t` as written: the signed content holds it verbatim.
    timestamp: &'h str,
    signatures: Candidates,
}

/// Splits `t=...,v1=...,v0=...` without allocating; see the table on [`Stripe`].
fn parse(value: &str) -> Result<Header<'_>, Rejection> {
    let invalid = |reason| Rejection::InvalidHeader {
        name: SIGNATURE,
        reason,
    };
    let mut timestamp = None;
    let mut signatures = Candidates::new();
    for entry in value.split(',').filter(|e| !e.is_empty()) {
        let (key, value) = entry.split_once('=').ok_or(Rejection::MalformedSignature {
            reason: "entry without `=`",
        })?;
        match key {
            "t" if timestamp.is_some() => return Err(invalid("`t` repeated")),
            "t" => timestamp = Some(value),
            // A `v1` that is not 32 bytes of hex cannot match; skip it, as
            // Stripe's libraries do, and let the others decide.
            "v1" => {
                if let Some(tag) = Encoding::Hex.decode(value) {
                    signatures.push(tag)?;
                }
            }
            _ => {}
        }
    }
    Ok(Header {
        timestamp: timestamp.ok_or_else(|| invalid("no `t` timestamp"))?,
        signatures,
    })
}

impl Scheme for Stripe {
    fn precheck(&self, headers: &HeaderMap) -> Result<(), Rejection> {
        super::signature_present(headers, &SIGNATURE)
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Result<Delivery, Rejection> {
        let value =
            single_header(headers, &SIGNATURE)?.ok_or(Rejection::MissingSignature { name: SIGNATURE })?;
        let header = parse(value)?;
        let timestamp = parse_timestamp(header.timestamp, &SIGNATURE)?;
        check_tolerance(timestamp, now, self.tolerance)?;
        let candidates = header.signatures.get("no v1 signature")?;
        self.secrets
            .matching_tag(&[header.timestamp.as_bytes(), b".", body], candidates)
            .ok_or(Rejection::SignatureMismatch)?;

        // Verified: only now is the body worth reading.
        let [id, event_type] = json::find_unique(body, [Some(&self.id), Some(&self.event_type)])?;
        let id = id.ok_or(Rejection::MissingEventId)?;
        Ok(Delivery::new(id)?
            .with_event_type(event_type.map(|t| t.into_owned()))
            .with_timestamp(Some(timestamp)))
    }
}

impl fmt::Debug for Stripe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stripe")
            .field("secrets", &self.secrets)
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;

    #[test]
    fn parses_every_v1_and_ignores_v0_and_unknown_keys() {
        let a = "aa".repeat(32);
        let b = "bb".repeat(32);
        let value = format!("t=12,v0={a},v1={a},scheme=x,v1={b},v1=zz");
        let header = parse(&value).unwrap();
        assert_eq!(header.timestamp, "12");
        assert_eq!(header.signatures.get("none").unwrap(), &[[0xaa; 32], [0xbb; 32]]);
    }

    #[test]
    fn timestamp_problems_are_bad_requests() {
        let v1 = format!("v1={}", "aa".repeat(32));
        for (value, reason) in [
            (v1.clone(), "no `t` timestamp"),
            (format!("t=1,t=1,{v1}"), "`t` repeated"),
        ] {
            assert_eq!(
                parse(&value).err(),
                Some(Rejection::InvalidHeader {
                    name: SIGNATURE,
                    reason
                }),
                "{value}"
            );
        }
    }

    #[test]
    fn entries_without_equals_sign_are_malformed_signatures() {
        assert!(matches!(
            parse("v1,t=1"),
            Err(Rejection::MalformedSignature { .. })
        ));
    }

    #[test]
    fn more_than_sixteen_signatures_are_refused() {
        let many = format!("t=1{}", format!(",v1={}", "aa".repeat(32)).repeat(17));
        assert!(matches!(parse(&many), Err(Rejection::MalformedSignature { .. })));
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let shown = format!("{:?}", Stripe::new(Secret::new("whsec_do_not_show").unwrap()));
        assert!(!shown.contains("do_not_show"), "{shown}");
    }
}
