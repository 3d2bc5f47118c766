//! The in-memory replay guard.

use std::future::{ready, Future};
use std::hash::{BuildHasher, RandomState};
use std::num::NonZeroUsize;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;
use lru::LruCache;
use siphasher::sip128::SipHasher13;

use super::{Begin, Claim, GuardError, ReplayGuard};

/// An in-memory [`ReplayGuard`]: the last `capacity` processed ids, forgotten
/// in least-recently-used order, plus a table of the ids in flight.
///
/// - Processed ids: the `capacity` (default 10 000) most recently used,
///   kept in an [`lru::LruCache`]. Committing an id uses it, and so does a
///   redelivery of it (answered as a duplicate); once `capacity` other ids
///   were used since, it is forgotten, and a redelivery of it would be
///   processed again (per shard: see [`LruGuard::new`]). Size the capacity
///   to cover the sender's retry window from the first delivery: at 100
///   events a minute and a retry window of a few hours, 10 000 is too small.
/// - In-flight ids: held until the request settles, or until the in-flight
///   timeout (default 60 s) passes, so that a stuck request cannot pin an id
///   forever. The guard reports this timeout
///   ([`ReplayGuard::claim_lifetime`]), and the layer bounds every
///   handler below it, so a handler still running cannot lose its claim to
///   a retry: raise the timeout for handlers that need longer.
///
/// Only verified deliveries reach the guard, so someone without the secret
/// cannot fill it. It dedupes within one process: replicas behind a load
/// balancer each have their own and need a shared guard instead.
///
/// The guard keeps a 128-bit keyed digest of each id rather than the id
/// itself, so an id's length costs nothing and no id is allocated: a full
/// guard of a million ids measured about 84 MB resident (`lru`'s node per
/// id, its links and its hash index; see `benches/guard.rs`). Two distinct
/// ids share a digest with a probability of about 2⁻¹²⁸.
///
/// Each call takes a mutex for a few hash-map operations and never across an
/// `.await`; the futures it returns are ready at once. So that requests on
/// different threads seldom wait for each other, a guard of 2 048 ids or more
/// is split by key hash into shards (up to 16, each with at least 1 024 ids),
/// each with its own tables and lock: see [`LruGuard::new`].
pub struct LruGuard {
    /// A power-of-two number of shards.
    shards: Box<[Mutex<State>]>,
    /// Digests the keys: SipHash-1-3 with its 128-bit output, under a
    /// random key of this guard's.
    keyer: SipHasher13,
    in_flight_timeout: Duration,
}

/// What the guard keeps of a key: the 128-bit output of SipHash-1-3 under the
/// guard's random key, in one pass over the key. SipHash is a keyed
/// pseudorandom function, so without the key nobody can aim for a collision,
/// and an accidental one among a million ids has a probability of about
/// 2⁻⁸⁹.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Digest(u64, u64);

/// A digest is uniformly spread already: its first half is its hash.
impl std::hash::Hash for Digest {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.0);
    }
}

/// Hashes a [`Digest`] to its first half, without mixing it again.
#[derive(Default)]
struct FirstHalf(u64);

impl std::hash::Hasher for FirstHalf {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is reached, from `Digest::hash`; anything else
        // still hashes, by folding its bytes in.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// The processed ids of a shard, least recently used first out.
type Done = LruCache<Digest, (), std::hash::BuildHasherDefault<FirstHalf>>;

struct State {
    done: Done,
    /// Hashed, like `done`, by the digest's first half: digests are
    /// uniformly spread already.
    in_flight: HashTable<InFlight>,
    /// The next claim token. A key always lives in the same shard, so tokens
    /// only need to be unique per shard.
    next_token: u64,
}

/// An id in flight: who holds it, since when.
struct InFlight {
    digest: Digest,
    claim: Claim,
    since: Instant,
}

impl InFlight {
    fn hash(&self) -> u64 {
        self.digest.0
    }
}

/// Counts, not contents: a guard holds up to thousands of event ids, which
/// have no place in a log line.
impl std::fmt::Debug for LruGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LruGuard")
            .field("shards", &self.shards.len())
            .field("done", &self.done_len())
            .field("in_flight", &self.in_flight_len())
            .field("in_flight_timeout", &self.in_flight_timeout)
            .finish()
    }
}

/// A SipHash key drawn from the standard library's per-process randomness
/// (`RandomState`, seeded by the operating system): two of its outputs, which
/// are as unpredictable as its own key.
fn random_keyer() -> SipHasher13 {
    let random = RandomState::new();
    SipHasher13::new_with_keys(random.hash_one(0u8), random.hash_one(1u8))
}

/// The most shards a guard is split into.
const MAX_SHARDS: usize = 16;

/// The fewest ids a shard remembers.
const MIN_SHARD_CAPACITY: usize = 1024;

/// `value`, or `default` (with a `warn`) when `value` is zero: for settings
/// whose zero switches replay protection off.
pub(crate) fn nonzero(value: Duration, default: Duration, what: &'static str) -> Duration {
    if value.is_zero() {
        tracing::warn!(
            setting = what,
            ?default,
            "zero would switch replay protection off; using the default"
        );
        default
    } else {
        value
    }
}

impl LruGuard {
    /// The default number of processed ids remembered.
    pub const DEFAULT_CAPACITY: usize = 10_000;

    /// The default time after which an in-flight id is given up.
    pub const DEFAULT_IN_FLIGHT_TIMEOUT: Duration = Duration::from_secs(60);

    /// A guard remembering the last `capacity` processed ids.
    ///
    /// A capacity of 0 is taken as 1, and logged at `warn`: a guard that
    /// remembers one id dedupes nothing but back-to-back redeliveries.
    /// Below 2 048 the guard is one table of `capacity` ids.
    /// From 2 048 on it is split by key hash into up to 16 shards (a power of
    /// two, at least 1 024 ids each), each of `capacity / shards` ids
    /// (rounded up), so the capacity is approximate: each shard forgets its
    /// own oldest id when it is full, which may happen a little before the
    /// whole guard holds `capacity` ids, as keys do not spread perfectly
    /// evenly. The default 10 000 is 8 shards of 1 250.
    pub fn new(capacity: usize) -> Self {
        if capacity == 0 {
            tracing::warn!("replay guard capacity of 0 taken as 1: it remembers one processed id");
        }
        let capacity = capacity.max(1);
        let shards = 1 << (capacity / MIN_SHARD_CAPACITY).clamp(1, MAX_SHARDS).ilog2();
        let per_shard = NonZeroUsize::new(capacity.div_ceil(shards)).unwrap_or(NonZeroUsize::MIN);
        Self {
            shards: (0..shards)
                .map(|_| {
                    Mutex::new(State {
                        done: Done::with_hasher(per_shard, Default::default()),
                        in_flight: HashTable::new(),
                        next_token: 1,
                    })
                })
                .collect(),
            keyer: random_keyer(),
            in_flight_timeout: Self::DEFAULT_IN_FLIGHT_TIMEOUT,
        }
    }

    /// How long an id may stay in flight before another request may take it
    /// over (default 60 s). Zero would let concurrent duplicates all through;
    /// it is taken as the default, and logged at `warn`.
    #[must_use]
    pub fn in_flight_timeout(mut self, timeout: Duration) -> Self {
        self.in_flight_timeout = nonzero(timeout, Self::DEFAULT_IN_FLIGHT_TIMEOUT, "in-flight timeout");
        self
    }

    /// How many processed ids are remembered now.
    pub fn done_len(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).done.len()).sum()
    }

    /// How many ids are in flight now (expired entries included until they
    /// are taken over).
    pub fn in_flight_len(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).in_flight.len()).sum()
    }

    /// Whether `key` is remembered as processed.
    pub fn is_done(&self, key: &str) -> bool {
        let digest = self.digest(key);
        self.lock(digest).done.contains(&digest)
    }

    fn digest(&self, key: &str) -> Digest {
        let hash = self.keyer.hash(key.as_bytes());
        Digest(hash.h1, hash.h2)
    }

    /// The shard of `digest`, locked.
    fn lock(&self, digest: Digest) -> MutexGuard<'_, State> {
        // The shard count is a power of two; the mask keeps the low bits.
        let index = digest.1 as usize & (self.shards.len() - 1);
        lock(&self.shards[index])
    }

    fn begin_now(&self, key: &str, now: Instant) -> Begin {
        let digest = self.digest(key);
        let mut state = self.lock(digest);
        // A redelivery uses the id, as a commit does.
        if state.done.get(&digest).is_some() {
            return Begin::Done;
        }
        let claim = Claim::new(state.next_token);
        state.next_token += 1;
        let fresh = InFlight {
            digest,
            claim,
            since: now,
        };
        match state
            .in_flight
            .entry(digest.0, |held| held.digest == digest, InFlight::hash)
        {
            Entry::Vacant(entry) => {
                entry.insert(fresh);
            }
            Entry::Occupied(mut entry) => {
                let held = now.saturating_duration_since(entry.get().since);
                if held < self.in_flight_timeout {
                    return Begin::InFlight {
                        retry_after: self.in_flight_timeout - held,
                    };
                }
                tracing::warn!(
                    event_id = key,
                    ?held,
                    "in-flight entry expired; another request takes the event over"
                );
                *entry.get_mut() = fresh;
            }
        }
        Begin::Fresh(claim)
    }

    /// Ends `claim`'s hold on `key`. A commit records the id as processed
    /// even when the claim had expired (the event was processed all the same);
    /// the in-flight entry is removed only if `claim` still holds it.
    fn settle(&self, key: &str, claim: Claim, commit: bool) {
        let digest = self.digest(key);
        let mut state = self.lock(digest);
        // Only the claim that holds the entry settles it: another request's
        // claim may hold it now, if this one's expired and was taken over.
        if let Ok(entry) = state
            .in_flight
            .find_entry(digest.0, |held| held.digest == digest && held.claim == claim)
        {
            entry.remove();
        }
        if commit {
            state.done.put(digest, ());
        }
    }
}

fn lock(shard: &Mutex<State>) -> MutexGuard<'_, State> {
    // Nothing done under the lock can panic halfway (no user code runs
    // there; an allocation failure aborts), so the tables are consistent and
    // poisoning is ignored.
    shard.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Default for LruGuard {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl ReplayGuard for LruGuard {
    fn begin(&self, key: &str) -> impl Future<Output = Result<Begin, GuardError>> + Send {
        ready(Ok(self.begin_now(key, Instant::now())))
    }

    fn commit(&self, key: &str, claim: Claim) -> impl Future<Output = Result<(), GuardError>> + Send {
        self.settle(key, claim, true);
        ready(Ok(()))
    }

    fn release(&self, key: &str, claim: Claim) -> impl Future<Output = Result<(), GuardError>> + Send {
        self.settle(key, claim, false);
        ready(Ok(()))
    }

    fn claim_lifetime(&self) -> Option<Duration> {
        Some(self.in_flight_timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh(begin: Begin) -> Claim {
        match begin {
            Begin::Fresh(claim) => claim,
            other => panic!("expected Fresh, got {other:?}"),
        }
    }

    #[test]
    fn zero_in_flight_timeout_is_taken_as_the_default() {
        let guard = LruGuard::new(10).in_flight_timeout(Duration::ZERO);
        assert_eq!(guard.in_flight_timeout, LruGuard::DEFAULT_IN_FLIGHT_TIMEOUT);
    }

    #[test]
    fn commit_then_done_and_release_then_fresh() {
        let guard = LruGuard::new(10);
        let now = Instant::now();
        let a = fresh(guard.begin_now("a", now));
        assert!(matches!(guard.begin_now("a", now), Begin::InFlight { .. }));
        guard.settle("a", a, true);
        assert_eq!(guard.begin_now("a", now), Begin::Done);

        let b = fresh(guard.begin_now("b", now));
        guard.settle("b", b, false);
        assert_eq!(guard.in_flight_len(), 0);
        fresh(guard.begin_now("b", now));
    }

    #[test]
    fn forgets_the_least_recently_used_id_past_capacity() {
        let guard = LruGuard::new(2);
        let now = Instant::now();
        for key in ["a", "b", "c"] {
            let claim = fresh(guard.begin_now(key, now));
            guard.settle(key, claim, true);
        }
        assert_eq!(guard.done_len(), 2);
        assert!(!guard.is_done("a"));
        assert!(guard.is_done("b") && guard.is_done("c"));
    }

    fn commit(guard: &LruGuard, key: &str) {
        let claim = fresh(guard.begin_now(key, Instant::now()));
        guard.settle(key, claim, true);
    }

    /// A redelivery uses the id: it is kept past ids committed after it
    /// that nobody resent.
    #[test]
    fn a_redelivered_id_is_kept_past_a_newer_one_nobody_resent() {
        let guard = LruGuard::new(3);
        for key in ["a", "b", "c", "d"] {
            commit(&guard, key);
        }
        assert!(!guard.is_done("a"), "the oldest made room for d");
        assert_eq!(
            guard.begin_now("b", Instant::now()),
            Begin::Done,
            "the redelivery"
        );
        commit(&guard, "e");
        assert!(guard.is_done("b"), "seen again: kept");
        assert!(!guard.is_done("c"), "c goes instead, though it came after b");
        assert!(guard.is_done("d") && guard.is_done("e"));
    }

    #[test]
    fn a_committed_id_is_remembered_however_many_others_were_redelivered_before() {
        // With every older id just redelivered, the next two commits must
        // not push out the first of them.
        let guard = LruGuard::new(3);
        for key in ["a", "b", "c"] {
            commit(&guard, key);
        }
        for key in ["b", "c"] {
            assert_eq!(guard.begin_now(key, Instant::now()), Begin::Done);
        }
        commit(&guard, "d");
        commit(&guard, "e");
        assert_eq!(guard.begin_now("d", Instant::now()), Begin::Done);
    }

    #[test]
    fn small_guards_are_one_table_and_large_ones_are_sharded() {
        assert_eq!(LruGuard::new(0).shards.len(), 1);
        assert_eq!(LruGuard::new(2_047).shards.len(), 1);
        assert_eq!(LruGuard::new(2_048).shards.len(), 2);
        assert_eq!(LruGuard::default().shards.len(), 8);
        assert_eq!(LruGuard::new(40_000).shards.len(), MAX_SHARDS);
    }

    #[test]
    fn sharded_guard_remembers_about_its_capacity_and_forgets_the_oldest() {
        let guard = LruGuard::new(4_096);
        let now = Instant::now();
        for i in 0..6_000 {
            let key = format!("evt_{i}");
            let claim = fresh(guard.begin_now(&key, now));
            guard.settle(&key, claim, true);
        }
        // Each of the 4 shards holds at most 1 024 ids; with 6 000 ids
        // spread by hash, every shard is full.
        assert_eq!(guard.done_len(), 4_096);
        assert!(guard.is_done("evt_5999"));
        assert!(!guard.is_done("evt_0"));
        assert_eq!(guard.begin_now("evt_5999", now), Begin::Done);
        assert_eq!(guard.in_flight_len(), 0);
    }

    #[test]
    fn expired_in_flight_entry_is_taken_over_and_the_stale_claim_cannot_release_it() {
        let guard = LruGuard::new(10).in_flight_timeout(Duration::from_secs(5));
        let start = Instant::now();
        let first = fresh(guard.begin_now("a", start));
        match guard.begin_now("a", start + Duration::from_secs(2)) {
            Begin::InFlight { retry_after } => assert_eq!(retry_after, Duration::from_secs(3)),
            other => panic!("{other:?}"),
        }
        let second = fresh(guard.begin_now("a", start + Duration::from_secs(5)));
        assert_ne!(first, second);
        // The first request finally fails: its release must not free the id
        // the second request holds.
        guard.settle("a", first, false);
        assert!(matches!(
            guard.begin_now("a", start + Duration::from_secs(6)),
            Begin::InFlight { .. }
        ));
        guard.settle("a", second, true);
        assert_eq!(guard.begin_now("a", start), Begin::Done);
    }

    #[test]
    fn debug_shows_counts_not_event_ids() {
        let guard = LruGuard::new(10);
        let claim = fresh(guard.begin_now("evt_private_1", Instant::now()));
        guard.settle("evt_private_1", claim, true);
        let shown = format!("{guard:?}");
        assert!(shown.contains("done: 1"), "{shown}");
        assert!(!shown.contains("evt_private_1"), "{shown}");
    }

    #[test]
    fn digests_are_keyed_per_guard_and_spread_over_both_halves() {
        let (a, b) = (LruGuard::new(10), LruGuard::new(10));
        assert_eq!(
            a.digest("evt_1"),
            a.digest("evt_1"),
            "a guard digests a key the same way each time"
        );
        assert_ne!(
            a.digest("evt_1"),
            b.digest("evt_1"),
            "each guard has a key of its own"
        );
        let digests: std::collections::HashSet<(u64, u64)> = (0..1_000)
            .map(|n| a.digest(&format!("evt_{n}")))
            .map(|d| (d.0, d.1))
            .collect();
        assert_eq!(digests.len(), 1_000);
        // Both halves are used (one indexes the table, the other picks the
        // shard), so neither may be constant or equal to the other.
        let halves = |pick: fn(&(u64, u64)) -> u64| {
            digests
                .iter()
                .map(pick)
                .collect::<std::collections::HashSet<_>>()
                .len()
        };
        assert_eq!(halves(|d| d.0), 1_000);
        assert_eq!(halves(|d| d.1), 1_000);
        assert!(digests.iter().all(|d| d.0 != d.1));
        // The shard index (the low bits of the second half) takes every
        // value of a 16-shard guard.
        let shards: std::collections::HashSet<u64> = digests.iter().map(|d| d.1 & 15).collect();
        assert_eq!(shards.len(), 16);
    }

    /// An exact LRU of digests: the most recently used last.
    struct Model {
        used: std::collections::VecDeque<String>,
        capacity: usize,
    }

    impl Model {
        fn touch(&mut self, key: &str) -> bool {
            let Some(at) = self.used.iter().position(|held| held == key) else {
                return false;
            };
            let key = self.used.remove(at).expect("found");
            self.used.push_back(key);
            true
        }

        fn commit(&mut self, key: &str) {
            if !self.touch(key) {
                if self.used.len() == self.capacity {
                    self.used.pop_front();
                }
                self.used.push_back(key.to_owned());
            }
        }
    }

    proptest::proptest! {
        /// Any sequence of commits, redeliveries and lookups leaves a
        /// one-shard guard remembering exactly what an exact LRU of the
        /// same capacity remembers: a redelivery answered `Done` uses the
        /// id, a lookup (`is_done`) does not.
        #[test]
        fn remembers_exactly_what_an_lru_remembers(
            capacity in 1usize..40,
            ops in proptest::collection::vec((0u8..3, 0u32..120), 0..500),
        ) {
            let guard = LruGuard::new(capacity);
            let mut model = Model { used: Default::default(), capacity };
            let now = Instant::now();
            for (op, n) in ops {
                let key = format!("evt_{n}");
                match op {
                    0 => match guard.begin_now(&key, now) {
                        Begin::Fresh(claim) => {
                            proptest::prop_assert!(!model.used.contains(&key));
                            guard.settle(&key, claim, true);
                            model.commit(&key);
                        }
                        Begin::Done => proptest::prop_assert!(model.touch(&key)),
                        other => proptest::prop_assert!(false, "{:?}", other),
                    },
                    1 => match guard.begin_now(&key, now) {
                        // Not remembered: the request fails, its claim goes back.
                        Begin::Fresh(claim) => {
                            guard.settle(&key, claim, false);
                            proptest::prop_assert!(!model.used.contains(&key));
                        }
                        Begin::Done => proptest::prop_assert!(model.touch(&key)),
                        other => proptest::prop_assert!(false, "{:?}", other),
                    },
                    _ => proptest::prop_assert_eq!(guard.is_done(&key), model.used.contains(&key)),
                }
                proptest::prop_assert_eq!(guard.done_len(), model.used.len());
            }
        }
    }
}
