//! The durable inbox: verify, store, acknowledge at once, then process with
//! retries.
//!
//! (Module docs are completed with the layer's inbox mode and the worker.)

mod memory;
mod store;

pub use self::memory::MemoryInbox;
pub(crate) use self::store::ErasedInbox;
pub use self::store::{
    Counts, Enqueued, Entry, Heartbeat, InboxError, InboxStore, Incoming, LeaseToken, Leased, ListQuery,
    Page, Purged, Record, RecordId, Requeued, Retention, Settle, Settled, State,
};
