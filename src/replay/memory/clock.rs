//! The processed ids of one [`LruGuard`](super::LruGuard) shard: a fixed
//! number of digests, forgotten in approximately least-recently-used order
//! (the CLOCK algorithm), in flat arrays.
//!
//! `lru::LruCache` keeps each entry in a node of its own, linked to its
//! neighbours, and indexes the nodes by pointer: on a full cache, every
//! insertion touches the evicted node, its neighbour and two hash buckets,
//! and a guard of a million ids spreads them over about 80 MB. Here the
//! digests sit in one array (`slots`, written in turn by the clock hand) and
//! the index is a table of `u32` positions into it, hashed by the digest's
//! first half: a lookup reads one bucket group and, on a tag match, one slot;
//! an insertion on a full shard reads the slot under the hand (the next one
//! in memory) and one more bucket group, where the evicted id was indexed.
//! That is two reads at places no cache has seen lately per delivery, the
//! least an exactly sized cache can do (the new id's place, and the evicted
//! one's). A million ids take about 30 MB.
//!
//! CLOCK: each slot has a "used" bit, set when its id goes in and when a
//! lookup finds it again (a duplicate). To make room, the hand sweeps
//! forward: a slot with the bit set is cleared and passed over, and the first
//! slot without it is reused. So an id stays until the hand has passed it
//! twice, once to clear its bit and once to take its slot. On the lap
//! between those two passes, every other slot the hand reaches was used since
//! the hand last passed it, and so since the id went in: it is either taken
//! (an insertion) or found with its bit set (an insertion or a duplicate).
//! Hence the guarantee: an id is forgotten only after at least
//! `capacity - 1` other ids went in or were found again after it went in,
//! the most an LRU of `capacity` ids keeps it for with no duplicates; with
//! no duplicates at all the order is exactly first in, first out. A
//! duplicate keeps its id longer when the hand has cleared its bit since it
//! went in (it then needs two more passes), but not when the bit is still
//! set from its insertion: unlike an exact LRU, a duplicate does not always
//! restart the count.
//!
//! The hand reads the bits 64 at a time: a lap over a shard whose every bit
//! is set (it happens once per lap when nothing is found again) clears them a
//! word at a time.

use hashbrown::HashTable;

use super::Digest;

/// The processed ids of one shard.
pub(super) struct Clock {
    /// The digests, in the order the hand reaches them; grows to `capacity`,
    /// then each slot is reused in turn.
    slots: Vec<Digest>,
    /// One "used" bit per slot, 64 to a word (grows with `slots`).
    used: Vec<u64>,
    /// Positions in `slots`, hashed by `Digest::0`.
    index: HashTable<u32>,
    /// The slot the hand looks at next, once `slots` is full.
    hand: usize,
    capacity: usize,
}

impl Clock {
    /// Room for `capacity` digests (at least 1; past `u32::MAX`, taken as
    /// `u32::MAX`). Nothing is allocated until digests go in.
    pub(super) fn new(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, u32::MAX as usize);
        Self {
            slots: Vec::new(),
            used: Vec::new(),
            index: HashTable::new(),
            hand: 0,
            capacity,
        }
    }

    /// How many digests it holds.
    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The position of `digest`, if it holds it.
    fn position(&self, digest: Digest) -> Option<usize> {
        let slots = &self.slots;
        self.index
            .find(digest.0, |&at| slots[at as usize] == digest)
            .map(|&at| at as usize)
    }

    /// Whether it holds `digest`, without counting it as seen again.
    pub(super) fn contains(&self, digest: Digest) -> bool {
        self.position(digest).is_some()
    }

    /// Whether it holds `digest`; if it does, `digest` counts as used.
    pub(super) fn check(&mut self, digest: Digest) -> bool {
        match self.position(digest) {
            Some(at) => {
                self.mark(at);
                true
            }
            None => false,
        }
    }

    fn mark(&mut self, at: usize) {
        self.used[at / 64] |= 1 << (at % 64);
    }

    /// Remembers `digest`, forgetting one older digest if it is full.
    pub(super) fn insert(&mut self, digest: Digest) {
        if self.check(digest) {
            return;
        }
        let at = if self.slots.len() < self.capacity {
            if self.slots.len().is_multiple_of(64) {
                self.used.push(0);
            }
            self.slots.push(digest);
            self.slots.len() - 1
        } else {
            let at = self.sweep();
            let old = std::mem::replace(&mut self.slots[at], digest);
            // Found by position: no digest is compared.
            if let Ok(entry) = self.index.find_entry(old.0, |&p| p as usize == at) {
                entry.remove();
            }
            at
        };
        self.mark(at);
        let slots = &self.slots;
        // `at` < `capacity` <= `u32::MAX`.
        let position = u32::try_from(at).unwrap_or(u32::MAX);
        self.index
            .insert_unique(digest.0, position, |&p| slots[p as usize].0);
    }

    /// Moves the hand to the first slot not used since it last passed
    /// (clearing the bits of the used ones it passes) and returns it; the
    /// hand then points past it. Called on a full shard only.
    fn sweep(&mut self) -> usize {
        loop {
            let (word, bit) = (self.hand / 64, self.hand % 64);
            // The bits of this word from the hand on, within the capacity.
            let valid = (self.capacity - word * 64).min(64);
            let below_end = if valid == 64 { u64::MAX } else { (1 << valid) - 1 };
            let ahead = below_end & !((1 << bit) - 1);
            let unused = !self.used[word] & ahead;
            if unused != 0 {
                let found = unused.trailing_zeros() as usize;
                // Clear the used bits passed on the way to it.
                self.used[word] &= !(ahead & ((1 << found) - 1));
                let at = word * 64 + found;
                self.hand = (at + 1) % self.capacity;
                return at;
            }
            self.used[word] &= !ahead;
            self.hand = (word * 64 + valid) % self.capacity;
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::strategy::Strategy as _;

    use super::*;

    fn d(n: u64) -> Digest {
        // Spread like real digests, with a distinct second half.
        Digest(n.wrapping_mul(0x9E37_79B9_7F4A_7C15), n)
    }

    #[test]
    fn remembers_up_to_capacity_then_forgets_the_oldest() {
        let mut clock = Clock::new(3);
        for n in 0..3 {
            clock.insert(d(n));
        }
        assert_eq!(clock.len(), 3);
        assert!((0..3).all(|n| clock.contains(d(n))));
        clock.insert(d(3));
        assert_eq!(clock.len(), 3);
        assert!(!clock.contains(d(0)), "the oldest goes first");
        assert!(clock.contains(d(1)) && clock.contains(d(2)) && clock.contains(d(3)));
        clock.insert(d(4));
        assert!(!clock.contains(d(1)));
    }

    #[test]
    fn an_id_seen_again_gets_another_round() {
        let mut clock = Clock::new(3);
        for n in 0..4 {
            clock.insert(d(n));
        }
        // 0 went (the oldest); the hand has cleared 1 and 2 on its way.
        assert!(clock.check(d(1)), "a duplicate of 1");
        clock.insert(d(4));
        assert!(clock.contains(d(1)), "kept: it was seen again");
        assert!(!clock.contains(d(2)), "2 goes instead, though it came later");
        // Its bit was cleared by the pass: without another duplicate, it goes
        // when the hand comes round.
        clock.insert(d(5));
        assert!(!clock.contains(d(1)));
        assert!(clock.contains(d(3)) && clock.contains(d(4)) && clock.contains(d(5)));
    }

    #[test]
    fn contains_does_not_count_as_seen_again() {
        let mut clock = Clock::new(3);
        for n in 0..4 {
            clock.insert(d(n));
        }
        assert!(clock.contains(d(1)));
        clock.insert(d(4));
        assert!(!clock.contains(d(1)), "a `check` would have kept it");
    }

    #[test]
    fn a_new_id_outlives_the_ids_found_again_before_it_came() {
        // Every other slot used just before it goes in: the hand's next lap
        // clears them, and the new id still has its own bit.
        let mut clock = Clock::new(3);
        for n in 0..3 {
            clock.insert(d(n));
        }
        assert!(clock.check(d(1)) && clock.check(d(2)));
        clock.insert(d(3));
        clock.insert(d(4));
        assert!(clock.contains(d(3)), "forgotten after one newer id");
        assert!(clock.contains(d(4)));
    }

    #[test]
    fn inserting_a_held_digest_keeps_one_copy() {
        let mut clock = Clock::new(4);
        clock.insert(d(7));
        clock.insert(d(7));
        assert_eq!(clock.len(), 1);
    }

    #[test]
    fn every_slot_seen_again_still_makes_room() {
        let mut clock = Clock::new(4);
        for n in 0..4 {
            clock.insert(d(n));
            assert!(clock.check(d(n)));
        }
        clock.insert(d(4));
        assert_eq!(clock.len(), 4);
        assert!(clock.contains(d(4)));
        assert!(!clock.contains(d(0)), "after a full lap, the oldest goes");
        assert!((1..4).all(|n| clock.contains(d(n))));
    }

    #[test]
    fn digests_equal_in_their_first_half_stay_apart() {
        let mut clock = Clock::new(8);
        let (a, b) = (Digest(42, 1), Digest(42, 2));
        clock.insert(a);
        assert!(clock.contains(a));
        assert!(!clock.contains(b));
        clock.insert(b);
        assert!(clock.contains(a) && clock.contains(b));
        assert_eq!(clock.len(), 2);
    }

    /// The same algorithm written plainly: a list of slots, a linear search,
    /// and a hand that moves one slot at a time.
    struct Model {
        slots: Vec<(Digest, bool)>,
        hand: usize,
        capacity: usize,
    }

    impl Model {
        fn find(&self, digest: Digest) -> Option<usize> {
            self.slots.iter().position(|(held, _)| *held == digest)
        }

        fn check(&mut self, digest: Digest) -> bool {
            let found = self.find(digest);
            if let Some(at) = found {
                self.slots[at].1 = true;
            }
            found.is_some()
        }

        fn insert(&mut self, digest: Digest) {
            if self.check(digest) {
                return;
            }
            if self.slots.len() < self.capacity {
                self.slots.push((digest, true));
                return;
            }
            loop {
                let at = self.hand;
                self.hand = (self.hand + 1) % self.capacity;
                if std::mem::take(&mut self.slots[at].1) {
                    continue;
                }
                self.slots[at] = (digest, true);
                return;
            }
        }
    }

    proptest::proptest! {
        /// However the bits stand when an id goes in, it stays until at
        /// least `capacity - 1` other ids went in or were found again after
        /// it: the commit that would push it out earlier never comes.
        #[test]
        fn a_new_id_stays_for_capacity_minus_one_other_uses(
            capacity in 1usize..70,
            before in proptest::collection::vec((proptest::bool::ANY, 0u64..200), 0..400),
            after in proptest::collection::vec((proptest::bool::ANY, 0u64..200), 0..400),
        ) {
            let mut clock = Clock::new(capacity);
            for (found_again, n) in before {
                if found_again {
                    clock.check(d(n));
                } else {
                    clock.insert(d(n));
                }
            }
            let newcomer = d(1_000);
            clock.insert(newcomer);
            // The other ids used since the newcomer went in; `before`'s ids
            // come back among them, found again or inserted anew.
            let mut used_since = std::collections::HashSet::new();
            for (found_again, n) in after {
                if found_again {
                    if clock.check(d(n)) {
                        used_since.insert(n);
                    }
                } else {
                    let others = used_since.len();
                    clock.insert(d(n));
                    used_since.insert(n);
                    if others < capacity - 1 {
                        proptest::prop_assert!(
                            clock.contains(newcomer),
                            "gone after {} other ids were used",
                            others
                        );
                    }
                }
            }
        }

        /// With no id found again, the clock forgets exactly what an LRU of
        /// the same capacity forgets.
        #[test]
        fn without_duplicates_it_forgets_what_an_lru_forgets(
            capacity in 1usize..70,
            count in 0u64..400,
        ) {
            let mut clock = Clock::new(capacity);
            let mut lru = lru::LruCache::new(std::num::NonZeroUsize::new(capacity).unwrap());
            for n in 0..count {
                clock.insert(d(n));
                lru.put(n, ());
                proptest::prop_assert_eq!(clock.len(), lru.len());
            }
            for n in 0..count {
                proptest::prop_assert_eq!(clock.contains(d(n)), lru.contains(&n), "id {}", n);
            }
        }

        /// Any sequence of inserts, sightings and lookups, over ids that
        /// repeat and collide in their first half, leaves the clock holding
        /// exactly what the plain model holds, with the same bits and hand.
        #[test]
        fn agrees_with_a_plain_model(
            (capacity, ops) in proptest::prop_oneof![1usize..9, 60usize..140].prop_flat_map(|capacity| {
                // Ids from three times as many as fit: they repeat, and the
                // shard fills and turns over; past 64 slots, the hand crosses
                // words of bits.
                let ids = 0..capacity as u64 * 3;
                (proptest::strategy::Just(capacity), proptest::collection::vec((0u8..3, ids), 0..600))
            }),
        ) {
            let mut clock = Clock::new(capacity);
            let mut model = Model { slots: Vec::new(), hand: 0, capacity };
            // First halves repeat every 6 ids: equal halves, distinct digests.
            let digest = |n: u64| Digest(n % 6, n);
            for (op, n) in ops {
                let digest = digest(n);
                match op {
                    0 => {
                        clock.insert(digest);
                        model.insert(digest);
                    }
                    1 => proptest::prop_assert_eq!(clock.check(digest), model.check(digest)),
                    _ => proptest::prop_assert_eq!(clock.contains(digest), model.find(digest).is_some()),
                }
                proptest::prop_assert_eq!(clock.len(), model.slots.len());
                proptest::prop_assert_eq!(clock.index.len(), model.slots.len());
            }
            for n in 0..capacity as u64 * 3 {
                proptest::prop_assert_eq!(clock.contains(digest(n)), model.find(digest(n)).is_some(), "id {}", n);
            }
        }
    }

    #[test]
    fn many_rounds_keep_the_index_and_the_slots_in_step() {
        let capacity = 1_000;
        let mut clock = Clock::new(capacity);
        for n in 0..10_000u64 {
            clock.insert(d(n));
            if n % 7 == 0 {
                clock.check(d(n / 2));
            }
        }
        assert_eq!(clock.len(), capacity);
        assert_eq!(clock.index.len(), capacity);
        let held = (0..10_000u64).filter(|&n| clock.contains(d(n))).count();
        assert_eq!(held, capacity);
        // The newest ids are all there.
        assert!((9_900..10_000).all(|n| clock.contains(d(n))));
    }
}
