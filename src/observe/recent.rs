//! [`RecentDeliveries`]: the last deliveries, in memory, for a debug page.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;

use super::{Observer, Outcome, Report, Timings};
use crate::event::IdAndType;

/// An [`Observer`] that keeps the last `capacity` deliveries in memory, newest
/// first, for a page that shows what arrived (`examples/receiver.rs` serves
/// it as `GET /deliveries`).
///
/// It keeps metadata only: the time, scheme, event id and type (once
/// verified), outcome, status, the rejection's reason and the step timings.
/// Bodies are kept only with [`keep_bodies`](Self::keep_bodies). Headers are
/// never kept, so neither are signatures: an id that is a signature
/// (`sig:<MAC>`) is kept as `sig#` and 16 hex digits of its SHA-256, and a
/// `401` as its kind only (the outcome's label, such as
/// `timestamp_too_old`, never the timestamp's age, which would tell the
/// server's clock). Secrets are never seen by an observer at all. The memory is bounded: `capacity` records, each body cut
/// to the configured length.
///
/// Clones share the same records.
///
/// ```
/// use std::convert::Infallible;
/// use bytes::Bytes;
/// use http::{Request, Response};
/// use http_body_util::Full;
/// use tower::{service_fn, ServiceBuilder, ServiceExt};
/// use tower_webhook::observe::{Outcome, RecentDeliveries};
/// use tower_webhook::{scheme::Spec, testing, Secret, WebhookLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let recent = RecentDeliveries::new(100);
/// let scheme = Spec::petstore(Secret::new("petstore secret")?);
/// let service = ServiceBuilder::new()
///     .layer(WebhookLayer::new(scheme.clone()).observer(recent.clone()))
///     .service(service_fn(|_request: Request<Full<Bytes>>| async {
///         Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
///     }));
/// let body = r#"{"id":"evt_1","type":"order.created","created":1700000000,"data":{}}"#;
/// service.oneshot(testing::signed_request::<Full<Bytes>>(&scheme, body, "evt_1")).await?;
///
/// let last = &recent.snapshot()[0];
/// assert_eq!(last.event_id.as_deref(), Some("evt_1"));
/// assert_eq!(last.outcome, Outcome::Processed);
/// assert!(last.body.is_none());
/// // `{"received_at_ms":...,"scheme":"Petstore","event_id":"evt_1","outcome":"processed",...}`
/// let json = serde_json::to_string(&recent.snapshot())?;
/// assert!(json.contains(r#""outcome":"processed""#));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RecentDeliveries {
    records: Arc<Mutex<VecDeque<Kept>>>,
    capacity: usize,
    body_limit: Option<usize>,
}

impl RecentDeliveries {
    /// Keeps the last `capacity` deliveries (none with `0`).
    pub fn new(capacity: usize) -> Self {
        Self {
            records: Arc::new(Mutex::new(VecDeque::with_capacity(capacity.min(1024)))),
            capacity,
            body_limit: None,
        }
    }

    /// Also keeps each delivery's body, its first `limit` bytes (as UTF-8,
    /// invalid sequences replaced). Off by default. A body is whatever the
    /// sender sent, signed or not, so turn this on only where the page is not
    /// public and the payloads may be kept in memory.
    #[must_use]
    pub fn keep_bodies(mut self, limit: usize) -> Self {
        self.body_limit = Some(limit);
        self
    }

    /// How many deliveries are kept at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The deliveries kept, newest first.
    pub fn snapshot(&self) -> Vec<DeliveryRecord> {
        self.lock().iter().rev().map(Kept::record).collect()
    }

    /// How many deliveries are kept now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Kept>> {
        // A panic while holding the lock leaves whole records behind: keep going.
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Observer for RecentDeliveries {
    fn delivery(&self, report: &Report<'_>) {
        if self.capacity == 0 {
            return;
        }
        let now = SystemTime::now();
        let body = match (self.body_limit, report.body) {
            (Some(limit), Some(body)) => {
                let cut = &body[..body.len().min(limit)];
                Some(Body {
                    text: String::from_utf8_lossy(cut).into_owned(),
                    truncated: cut.len() < body.len(),
                })
            }
            _ => None,
        };
        // A `401` is kept as its kind only: its full reason carries the
        // timestamp's age, which would show the server's clock to whoever
        // reads the page.
        let reason = report.rejection.map(|rejection| {
            if rejection.status() == http::StatusCode::UNAUTHORIZED {
                report.outcome.label().to_owned()
            } else {
                rejection.to_string()
            }
        });
        // A `sig:<MAC>` id is kept as a short hash: the page must not hand
        // out a verified signature.
        let hashed;
        let event_id = match report.event_id {
            Some(id) if id.starts_with("sig:") => {
                use sha2::Digest as _;
                let digest = hex::encode(sha2::Sha256::digest(id.as_bytes()));
                hashed = format!("sig#{}", &digest[..16]);
                Some(hashed.as_str())
            }
            other => other,
        };
        let mut records = self.lock();
        // Once full, the oldest record's id buffer takes the new id and type:
        // no allocation for them, as ids of one sender are alike in length.
        let oldest = if records.len() >= self.capacity {
            records.pop_front().and_then(|kept| kept.id)
        } else {
            None
        };
        let id = (event_id.is_some() || report.event_type.is_some()).then(|| {
            let (id, event_type) = (event_id.unwrap_or_default(), report.event_type);
            let needed = id.len() + event_type.map_or(0, str::len);
            match oldest {
                // Not a buffer much larger than needed: one long type must
                // not keep its memory in the ring once its record is gone.
                Some(mut kept) if kept.capacity() <= 2 * needed + 64 => {
                    kept.refill(id, event_type);
                    kept
                }
                _ => IdAndType::of(id, event_type),
            }
        });
        records.push_back(Kept {
            received_at: now.checked_sub(report.timings.total).unwrap_or(now),
            scheme: report.scheme,
            id,
            outcome: report.outcome,
            status: report.status.map(|s| s.as_u16()),
            reason,
            timings: report.timings,
            body,
        });
    }

    fn wants_body(&self) -> bool {
        self.body_limit.is_some()
    }
}

/// A record as kept: what [`DeliveryRecord`] shows, with the event id and
/// type in one allocation.
struct Kept {
    received_at: SystemTime,
    scheme: &'static str,
    /// The event id and type; an empty id stands for none (an event id is
    /// never empty: see [`Delivery::new`](crate::Delivery::new)).
    id: Option<IdAndType>,
    outcome: Outcome,
    status: Option<u16>,
    reason: Option<String>,
    timings: Timings,
    body: Option<Body>,
}

impl Kept {
    fn record(&self) -> DeliveryRecord {
        DeliveryRecord {
            received_at: self.received_at,
            scheme: self.scheme,
            event_id: self
                .id
                .as_ref()
                .map(IdAndType::id)
                .filter(|id| !id.is_empty())
                .map(str::to_owned),
            event_type: self
                .id
                .as_ref()
                .and_then(IdAndType::event_type)
                .map(str::to_owned),
            outcome: self.outcome,
            status: self.status,
            reason: self.reason.clone(),
            timings: self.timings,
            body: self.body.as_ref().map(|b| b.text.clone()),
            body_truncated: self.body.as_ref().is_some_and(|b| b.truncated),
        }
    }
}

struct Body {
    text: String,
    truncated: bool,
}

impl fmt::Debug for RecentDeliveries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecentDeliveries")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .field("body_limit", &self.body_limit)
            .finish()
    }
}

/// One delivery as [`RecentDeliveries`] keeps it.
///
/// Serialized (for a JSON endpoint) with the time as `received_at_ms` (unix
/// milliseconds), the outcome as its [label](Outcome::label), the timings in
/// microseconds (`body_read_us`, `verify_us`, `guard_us`, `handler_us`,
/// `total_us`; `null` for a step that did not run), and `body` only when
/// bodies are kept.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryRecord {
    /// When the request entered the layer.
    pub received_at: SystemTime,
    /// The scheme's name.
    pub scheme: &'static str,
    /// The event id, once the signature verified.
    pub event_id: Option<String>,
    /// The event type, once the signature verified, when the scheme knows it.
    pub event_type: Option<String>,
    /// How the delivery ended.
    pub outcome: Outcome,
    /// The response's status code, when there was a response.
    pub status: Option<u16>,
    /// Why the layer refused it (the [`Rejection`](crate::Rejection)'s text,
    /// which never holds a secret or a signature).
    pub reason: Option<String>,
    /// How long each step took.
    pub timings: Timings,
    /// The body's first bytes, only with [`RecentDeliveries::keep_bodies`].
    pub body: Option<String>,
    /// Whether `body` was cut to the limit.
    pub body_truncated: bool,
}

impl fmt::Debug for DeliveryRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryRecord")
            .field("received_at", &self.received_at)
            .field("scheme", &self.scheme)
            .field("event_id", &self.event_id)
            .field("event_type", &self.event_type)
            .field("outcome", &self.outcome)
            .field("status", &self.status)
            .field("reason", &self.reason)
            .field("timings", &self.timings)
            .field("body_len", &self.body.as_ref().map(String::len))
            .finish()
    }
}

impl Serialize for DeliveryRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let micros = |d: Option<Duration>| d.map(super::micros);
        let received_at_ms = self
            .received_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let fields = if self.body.is_some() { 14 } else { 12 };
        let mut record = serializer.serialize_struct("DeliveryRecord", fields)?;
        record.serialize_field("received_at_ms", &received_at_ms)?;
        record.serialize_field("scheme", self.scheme)?;
        record.serialize_field("event_id", &self.event_id)?;
        record.serialize_field("event_type", &self.event_type)?;
        record.serialize_field("outcome", &self.outcome)?;
        record.serialize_field("status", &self.status)?;
        record.serialize_field("reason", &self.reason)?;
        record.serialize_field("body_read_us", &micros(self.timings.body_read))?;
        record.serialize_field("verify_us", &micros(self.timings.verify))?;
        record.serialize_field("guard_us", &micros(self.timings.guard))?;
        record.serialize_field("handler_us", &micros(self.timings.handler))?;
        record.serialize_field("total_us", &micros(Some(self.timings.total)))?;
        if let Some(body) = &self.body {
            record.serialize_field("body", body)?;
            record.serialize_field("body_truncated", &self.body_truncated)?;
        }
        record.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(outcome: Outcome, body: Option<&[u8]>) -> Report<'_> {
        Report {
            scheme: "test",
            outcome,
            status: Some(http::StatusCode::OK),
            event_id: Some("evt"),
            event_type: None,
            rejection: None,
            timings: Timings::default(),
            body,
            attempt: None,
            retry_in: None,
        }
    }

    #[test]
    fn keeps_the_last_capacity_records_newest_first() {
        let recent = RecentDeliveries::new(2);
        for outcome in [Outcome::Processed, Outcome::Duplicate, Outcome::InFlight] {
            recent.delivery(&report(outcome, None));
        }
        let outcomes: Vec<_> = recent.snapshot().iter().map(|r| r.outcome).collect();
        assert_eq!(outcomes, [Outcome::InFlight, Outcome::Duplicate]);
    }

    #[test]
    fn a_full_ring_keeps_each_new_id_and_type_whole() {
        let recent = RecentDeliveries::new(2);
        let deliveries = [
            (Some("evt_a_rather_long_id"), Some("order.created")),
            (Some("e"), None),
            (None, None),
            (Some("evt_b"), Some("a.type.longer.than.any.before")),
            (Some("evt_c_even_longer_than_the_first_one"), Some("")),
            (None, Some("a type without an id")),
            (Some("evt_d"), Some(&*"t".repeat(10_000))),
            (Some("evt_e"), Some("short")),
        ];
        for (n, (event_id, event_type)) in deliveries.into_iter().enumerate() {
            recent.delivery(&Report {
                event_id,
                event_type,
                ..report(Outcome::Processed, None)
            });
            let shown: Vec<_> = recent
                .snapshot()
                .into_iter()
                .map(|r| (r.event_id, r.event_type))
                .collect();
            let owned =
                |(id, ty): (Option<&str>, Option<&str>)| (id.map(str::to_owned), ty.map(str::to_owned));
            let expected: Vec<_> = deliveries[n.saturating_sub(1)..=n]
                .iter()
                .rev()
                .copied()
                .map(owned)
                .collect();
            assert_eq!(shown, expected, "after delivery {n}");
        }
    }

    #[test]
    fn a_long_type_leaves_no_large_buffer_behind() {
        let recent = RecentDeliveries::new(2);
        let long = "t".repeat(100_000);
        for event_type in [&*long, "a", "b", "c"] {
            recent.delivery(&Report {
                event_type: Some(event_type),
                ..report(Outcome::Processed, None)
            });
        }
        let largest = recent
            .lock()
            .iter()
            .filter_map(|kept| kept.id.as_ref().map(IdAndType::capacity))
            .max();
        assert!(largest.is_some_and(|bytes| bytes < 1_000), "{largest:?}");
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let recent = RecentDeliveries::new(0);
        recent.delivery(&report(Outcome::Processed, None));
        assert!(recent.is_empty());
    }

    #[test]
    fn bodies_are_cut_to_the_limit_and_only_when_asked() {
        let plain = RecentDeliveries::new(1);
        assert!(!plain.wants_body());
        plain.delivery(&report(Outcome::Processed, Some(b"hello world")));
        assert_eq!(plain.snapshot()[0].body, None);
        let json = serde_json::to_string(&plain.snapshot()[0]).unwrap();
        assert!(!json.contains("body\""), "{json}");

        let bodies = RecentDeliveries::new(1).keep_bodies(5);
        assert!(bodies.wants_body());
        bodies.delivery(&report(Outcome::Processed, Some(b"hello world")));
        let record = &bodies.snapshot()[0];
        assert_eq!(record.body.as_deref(), Some("hello"));
        assert!(record.body_truncated);
    }
}
