//! The durable inbox: verify, store, acknowledge at once, then process with
//! retries.
//!
//! (Module docs are completed with the layer's inbox mode and the worker.)

mod backoff;
mod encode;
mod memory;
#[cfg(feature = "sqlite")]
mod sqlite;
mod store;
mod worker;

pub use self::backoff::Backoff;
pub use self::memory::MemoryInbox;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use self::sqlite::{SqliteInbox, WriteStats};
pub(crate) use self::store::ErasedInbox;
pub use self::store::{
    Counts, Enqueued, Entry, Heartbeat, InboxError, InboxStore, Incoming, LeaseToken, Leased, ListQuery,
    Page, Purged, Record, RecordId, Requeued, Retention, Settle, Settled, State,
};
pub use self::worker::{
    Attempt, InboxWorker, NotInboxMode, WorkerDrained, WorkerHandle, DEFAULT_HANDLER_BOUND, DEFAULT_LEASE,
    DEFAULT_MAX_AGE, DEFAULT_MAX_ATTEMPTS,
};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
/// The `rusqlite` crate [`SqliteInbox::settle_with`] hands its connection from.
pub use rusqlite;
