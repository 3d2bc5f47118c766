//! The default dead-letter sink: the last letters, in memory.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::sync::{Mutex, MutexGuard};

use super::{DeadLetter, DeadLetterError, DeadLetterSink};

/// The default [`DeadLetterSink`]: the last `capacity` letters in memory.
/// (The layer logs every dead letter at `error` with its id, type and
/// reason, whatever the sink.)
///
/// Memory does not survive a restart: it is for seeing dead letters in the
/// log and in tests. Use [`FileDeadLetters`](super::FileDeadLetters) or a sink of your own to keep them.
pub struct MemoryDeadLetters {
    capacity: usize,
    letters: Mutex<VecDeque<DeadLetter>>,
}

impl MemoryDeadLetters {
    /// The default number of letters kept.
    pub const DEFAULT_CAPACITY: usize = 1000;

    /// Keeps the last `capacity` letters (at least 1); an older one is
    /// forgotten, with a `warn` log line.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            letters: Mutex::new(VecDeque::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<DeadLetter>> {
        // Every operation is a single push or pop: poisoning leaves it consistent.
        self.letters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The letters kept, oldest first.
    pub fn letters(&self) -> Vec<DeadLetter> {
        self.lock().iter().cloned().collect()
    }

    /// Takes the letters kept, oldest first, leaving none.
    pub fn take(&self) -> Vec<DeadLetter> {
        self.lock().drain(..).collect()
    }

    /// How many letters are kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no letter is kept.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

impl Default for MemoryDeadLetters {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl DeadLetterSink for MemoryDeadLetters {
    fn store(&self, letter: DeadLetter) -> impl Future<Output = Result<(), DeadLetterError>> + Send {
        let mut letters = self.lock();
        // One letter per body: a resent capture does not push others out.
        if letters.iter().any(|kept| kept.body() == letter.body()) {
            tracing::debug!(
                event_id = letter.id,
                "dead letter with the same body kept already"
            );
            return std::future::ready(Ok(()));
        }
        if letters.len() == self.capacity {
            if let Some(oldest) = letters.pop_front() {
                tracing::warn!(event_id = oldest.id, "oldest in-memory dead letter forgotten");
            }
        }
        letters.push_back(letter);
        std::future::ready(Ok(()))
    }
}

/// Counts, not contents.
impl fmt::Debug for MemoryDeadLetters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryDeadLetters")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dead_letter::tests::letter;

    #[tokio::test]
    async fn memory_sink_keeps_the_last_capacity_letters() {
        let sink = MemoryDeadLetters::new(2);
        for n in 0..3 {
            let mut distinct = letter();
            distinct.body = bytes::Bytes::from(format!("{{\"n\":{n}}}"));
            sink.store(distinct).await.unwrap();
        }
        assert_eq!(sink.len(), 2);
        assert_eq!(sink.take().len(), 2);
        assert!(sink.is_empty());
    }

    #[tokio::test]
    async fn a_body_kept_already_is_not_kept_twice() {
        let sink = MemoryDeadLetters::new(2);
        for _ in 0..3 {
            sink.store(letter()).await.unwrap();
        }
        assert_eq!(sink.len(), 1);
    }
}
