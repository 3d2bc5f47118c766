//! [`Backoff`]: how long a worker waits before the next attempt.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Exponential backoff with jitter: the delay after attempt `n` is
/// `first × 2^(n-1)`, at most `max`, then drawn uniformly from its upper
/// half, so that records that failed together (a downstream outage) do not
/// come back together.
///
/// The default: 5 s after the first attempt, doubling up to 1 hour
/// (5 s, 10 s, 20 s, …, 320 s after the seventh: about 10 minutes over the
/// default 8 attempts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    max: Duration,
}

impl Backoff {
    /// The default backoff (5 s, doubling, at most 1 hour).
    pub const DEFAULT: Backoff = Backoff {
        first: Duration::from_secs(5),
        max: Duration::from_secs(3600),
    };

    /// `first` after the first attempt, doubling, at most `max` (and at
    /// least `first`).
    pub fn new(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max: max.max(first),
        }
    }

    /// The delay before the attempt after attempt `attempt` (from 1), before jitter.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.first.saturating_mul(1 << doublings).min(self.max)
    }

    /// The delay before the attempt after attempt `attempt`, with jitter:
    /// between half of [`ceiling`](Self::ceiling) and all of it.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let half = ceiling / 2;
        // Jitter needs spread, not secrecy: std's per-process random hasher keys.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(attempt);
        let spread = u64::try_from((ceiling - half).as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(hasher.finish() % spread.saturating_add(1))
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_maximum_and_jitters_within_the_upper_half() {
        let backoff = Backoff::new(Duration::from_secs(5), Duration::from_secs(60));
        let ceilings: Vec<_> = (1..=6).map(|n| backoff.ceiling(n).as_secs()).collect();
        assert_eq!(ceilings, [5, 10, 20, 40, 60, 60]);
        assert_eq!(backoff.ceiling(u32::MAX), Duration::from_secs(60));
        let delays: std::collections::HashSet<_> = (0..50).map(|_| backoff.delay(3)).collect();
        assert!(delays
            .iter()
            .all(|d| (Duration::from_secs(10)..=Duration::from_secs(20)).contains(d)));
        assert!(delays.len() > 1, "no jitter: {delays:?}");
        assert_eq!(
            Backoff::new(Duration::ZERO, Duration::ZERO).delay(4),
            Duration::ZERO
        );
    }
}
