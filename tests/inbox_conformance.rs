//! One conformance suite for every `InboxStore`: the in-memory `MemoryInbox`
//! and the SQLite file store (feature `sqlite`, on for the crate's own
//! tests). The cases live in `tower_webhook::testing::inbox`, for users'
//! own stores too.

use tower_webhook::inbox::MemoryInbox;

async fn memory() -> MemoryInbox {
    MemoryInbox::new()
}

tower_webhook::inbox_conformance!(memory_inbox, memory);
