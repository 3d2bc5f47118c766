//! Rejection log lines, rate-limited so that a flood of forged requests
//! cannot decide how much the receiver logs.
//!
//! Per kind of rejection and per interval, the first rejection is logged at
//! `warn`, carrying how many of that kind were held back since the previous
//! `warn` line; every other one is logged at `debug`. The state is a pair of
//! atomics per kind: no lock on the request path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::Rejection;

/// The default interval: at most one `warn` line per kind of rejection
/// every 10 seconds.
pub const DEFAULT_REJECTION_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// How many kinds are counted apart: one per [`Rejection`] variant (the
/// match in [`kind`] is exhaustive, so a new variant must be given its own),
/// and one for handshakes the scheme refused itself ([`REFUSED_HANDSHAKE`]).
const KINDS: usize = 23;

/// The slot of a handshake the scheme answered with a refusal (Meta's
/// unsigned verification GET with a wrong token): no `Rejection`, but as
/// cheap to send in a flood.
const REFUSED_HANDSHAKE: usize = 22;

/// Which counter a rejection goes to.
fn kind(rejection: &Rejection) -> usize {
    match rejection {
        Rejection::BodyTooLarge { .. } => 0,
        Rejection::BodyUnreadable => 1,
        Rejection::BodyTimeout { .. } => 2,
        Rejection::MissingHeader { .. } => 3,
        Rejection::InvalidHeader { .. } => 4,
        Rejection::MissingEventId => 5,
        Rejection::DuplicateJsonKey { .. } => 6,
        Rejection::InvalidEventId { .. } => 7,
        Rejection::MissingSignature { .. } => 8,
        Rejection::MalformedSignature { .. } => 9,
        Rejection::SignatureMismatch => 10,
        Rejection::TimestampTooOld { .. } => 11,
        Rejection::TimestampTooNew { .. } => 12,
        Rejection::InFlight { .. } => 13,
        Rejection::DeadlineExceeded { .. } => 14,
        Rejection::GuardUnavailable => 15,
        Rejection::MalformedHandshake { .. } => 16,
        Rejection::InvalidBodyField { .. } => 17,
        Rejection::Overloaded { .. } => 18,
        Rejection::ShuttingDown => 19,
        Rejection::DeadLetterUnavailable => 20,
        Rejection::InboxUnavailable => 21,
    }
}

/// One kind's state.
#[derive(Debug, Default)]
struct Slot {
    /// One more than the interval number of the last `warn` line (0: none yet).
    warned: AtomicU64,
    /// Rejections logged at `debug` only since that line.
    held_back: AtomicU64,
}

/// What to do with one rejection.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// Log at `warn`, saying how many were held back before it.
    Warn { held_back: u64 },
    /// Log at `debug` only.
    Debug,
}

/// The rate limiter every service of one layer shares.
#[derive(Debug)]
pub(crate) struct RejectionLog {
    start: Instant,
    /// In milliseconds; 0 logs every rejection at `warn`.
    interval_ms: u64,
    slots: [Slot; KINDS],
}

impl RejectionLog {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            start: Instant::now(),
            interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
            slots: Default::default(),
        }
    }

    pub(crate) fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms)
    }

    /// Logs `rejection` at the level its kind's budget allows.
    pub(crate) fn log(&self, rejection: &Rejection, event_id: Option<&str>) {
        let elapsed = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let status = rejection.status().as_u16();
        match self.decide(kind(rejection), elapsed) {
            Line::Warn { held_back: 0 } => {
                tracing::warn!(status, reason = %rejection, event_id, "webhook rejected");
            }
            Line::Warn { held_back } => tracing::warn!(
                status,
                reason = %rejection,
                event_id,
                held_back,
                "webhook rejected; {held_back} more of this kind since the last such line were logged at debug only"
            ),
            Line::Debug => {
                tracing::debug!(status, reason = %rejection, event_id, "webhook rejected");
            }
        }
    }

    /// Logs a handshake the scheme refused with `status`, under its own budget.
    pub(crate) fn log_refused_handshake(&self, status: http::StatusCode) {
        let elapsed = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let status = status.as_u16();
        match self.decide(REFUSED_HANDSHAKE, elapsed) {
            Line::Warn { held_back } => tracing::warn!(
                status,
                held_back,
                "handshake refused by the scheme; {held_back} more since the last such line were logged at debug only"
            ),
            Line::Debug => tracing::debug!(status, "handshake refused by the scheme"),
        }
    }

    /// The decision for a rejection of `kind` at `elapsed_ms` since start.
    pub(crate) fn decide(&self, kind: usize, elapsed_ms: u64) -> Line {
        let slot = &self.slots[kind.min(KINDS - 1)];
        if self.interval_ms == 0 {
            return Line::Warn { held_back: 0 };
        }
        let window = elapsed_ms / self.interval_ms + 1;
        let warned = slot.warned.load(Ordering::Relaxed);
        // One request per kind and window wins the exchange and writes the
        // `warn` line; the others count themselves as held back.
        if warned < window
            && slot
                .warned
                .compare_exchange(warned, window, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Line::Warn {
                held_back: slot.held_back.swap(0, Ordering::Relaxed),
            };
        }
        slot.held_back.fetch_add(1, Ordering::Relaxed);
        Line::Debug
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_of_a_kind_per_interval_warns_with_the_count_held_back() {
        let log = RejectionLog::new(Duration::from_secs(10));
        assert_eq!(log.decide(10, 0), Line::Warn { held_back: 0 });
        for ms in 1..=1000 {
            assert_eq!(log.decide(10, ms), Line::Debug);
        }
        // Another kind has its own budget.
        assert_eq!(log.decide(8, 5), Line::Warn { held_back: 0 });
        assert_eq!(log.decide(10, 9_999), Line::Debug);
        // The next interval: one warn line, carrying the 1001 held back.
        assert_eq!(log.decide(10, 10_000), Line::Warn { held_back: 1001 });
        assert_eq!(log.decide(10, 10_001), Line::Debug);
        // An interval without any: the next warns at once.
        assert_eq!(log.decide(10, 35_000), Line::Warn { held_back: 1 });
    }

    #[test]
    fn a_zero_interval_warns_every_time() {
        let log = RejectionLog::new(Duration::ZERO);
        for ms in [0, 0, 1] {
            assert_eq!(log.decide(10, ms), Line::Warn { held_back: 0 });
        }
    }

    #[test]
    fn every_kind_has_a_slot_of_its_own() {
        assert_ne!(
            kind(&Rejection::SignatureMismatch),
            kind(&Rejection::TimestampTooOld { age_secs: 1 })
        );
        // A burst of shed requests must not hold back the line of a guard
        // outage, nor any other kind's.
        let kinds = [
            Rejection::GuardUnavailable,
            Rejection::MalformedHandshake { reason: "r" },
            Rejection::InvalidBodyField {
                path: "p".into(),
                reason: "r",
            },
            Rejection::Overloaded { limit: 1 },
            Rejection::ShuttingDown,
            Rejection::DeadLetterUnavailable,
            Rejection::InboxUnavailable,
        ]
        .map(|rejection| kind(&rejection));
        for (i, a) in kinds.iter().enumerate() {
            assert!(*a < KINDS);
            assert!(kinds[i + 1..].iter().all(|b| b != a), "{kinds:?}");
        }
    }
}
