//! The processed ids of one [`LruGuard`](super::LruGuard) shard: a fixed
//! number of digests, forgotten in approximately least-recently-used order
//! (the CLOCK algorithm), in two flat arrays.
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
//! CLOCK: each slot has a "seen again" bit, set when a lookup finds its id
//! (a duplicate). To make room, the hand sweeps forward: a slot with the bit
//! set is cleared and passed over (its id gets a second round), the first
//! slot without it is reused. So an id is forgotten after about
//! `capacity` newer ones, and one that keeps being redelivered is kept, as in
//! an LRU; unlike an exact LRU, an id seen again is kept for one more round
//! of the hand rather than moved to the front.

use hashbrown::HashTable;

use super::Digest;

/// The processed ids of one shard.
pub(super) struct Clock {
    /// The digests, in the order the hand reaches them; grows to `capacity`,
    /// then each slot is reused in turn.
    slots: Vec<Digest>,
    /// One "seen again" bit per slot.
    seen: Vec<u64>,
    /// Positions in `slots`, hashed by `Digest::0`.
    index: HashTable<u32>,
    /// The slot the hand looks at next, once `slots` is full.
    hand: usize,
    capacity: usize,
}

impl Clock {
    /// Room for `capacity` digests (at least 1, at most `u32::MAX`).
    pub(super) fn new(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, u32::MAX as usize);
        Self {
            slots: Vec::new(),
            seen: vec![0; capacity.div_ceil(64)],
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

    /// Whether it holds `digest`; if it does, `digest` is kept for another
    /// round of the hand.
    pub(super) fn check(&mut self, digest: Digest) -> bool {
        match self.position(digest) {
            Some(at) => {
                self.seen[at / 64] |= 1 << (at % 64);
                true
            }
            None => false,
        }
    }

    /// Remembers `digest`, forgetting one older digest if it is full.
    pub(super) fn insert(&mut self, digest: Digest) {
        if self.check(digest) {
            return;
        }
        let at = if self.slots.len() < self.capacity {
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
        let slots = &self.slots;
        // `at` < `capacity` <= `u32::MAX`.
        let position = u32::try_from(at).unwrap_or(u32::MAX);
        self.index
            .insert_unique(digest.0, position, |&p| slots[p as usize].0);
    }

    /// Moves the hand to the first slot not seen again (clearing the bits of
    /// those it passes) and returns it; the hand then points past it.
    fn sweep(&mut self) -> usize {
        loop {
            let at = self.hand;
            self.hand = (self.hand + 1) % self.capacity;
            let (word, bit) = (at / 64, 1u64 << (at % 64));
            if self.seen[word] & bit == 0 {
                return at;
            }
            self.seen[word] &= !bit;
        }
    }
}

#[cfg(test)]
mod tests {
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
        for n in 0..3 {
            clock.insert(d(n));
        }
        assert!(clock.check(d(0)), "a duplicate of the oldest");
        clock.insert(d(3));
        assert!(clock.contains(d(0)), "kept: it was seen again");
        assert!(!clock.contains(d(1)), "the oldest not seen again goes instead");
        // Its bit was cleared by the pass: without another duplicate, it goes
        // when the hand comes round.
        clock.insert(d(4));
        clock.insert(d(5));
        assert!(!clock.contains(d(0)));
        assert!(clock.contains(d(3)) && clock.contains(d(4)) && clock.contains(d(5)));
    }

    #[test]
    fn contains_does_not_count_as_seen_again() {
        let mut clock = Clock::new(2);
        clock.insert(d(0));
        clock.insert(d(1));
        assert!(clock.contains(d(0)));
        clock.insert(d(2));
        assert!(!clock.contains(d(0)));
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
        assert_eq!((0..4).filter(|&n| clock.contains(d(n))).count(), 3);
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

    /// The same algorithm written plainly: a list of slots and a linear search.
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
                self.slots.push((digest, false));
                return;
            }
            loop {
                let at = self.hand;
                self.hand = (self.hand + 1) % self.capacity;
                if std::mem::take(&mut self.slots[at].1) {
                    continue;
                }
                self.slots[at] = (digest, false);
                return;
            }
        }
    }

    proptest::proptest! {
        /// Any sequence of inserts, sightings and lookups, over few enough
        /// ids that they repeat and collide in their first half, leaves the
        /// clock holding exactly what the plain model holds.
        #[test]
        fn agrees_with_a_plain_model(
            capacity in 1usize..9,
            ops in proptest::collection::vec((0u8..3, 0u64..24), 0..300),
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
            for n in 0..24 {
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
