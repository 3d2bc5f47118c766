//! The durable inbox: verify, store, acknowledge at once, then process with
//! retries.
//!
//! (Module docs are completed with the layer's inbox mode and the worker.)

mod encode;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
mod store;

pub use self::memory::MemoryInbox;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use self::postgres::{
    InboxTransaction, PostgresInbox, PostgresInboxBuilder, Settlement, DEFAULT_POOL_SIZE, DEFAULT_TIMEOUT,
};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use self::sqlite::{SqliteInbox, WriteStats};
pub(crate) use self::store::ErasedInbox;
pub use self::store::{
    Counts, Enqueued, Entry, Heartbeat, InboxError, InboxStore, Incoming, LeaseToken, Leased, ListQuery,
    Page, Purged, Record, RecordId, Requeued, Retention, Settle, Settled, State,
};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
/// The `rusqlite` crate [`SqliteInbox::settle_with`] hands its connection from.
pub use rusqlite;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
/// The `tokio-postgres` crate an [`InboxTransaction`] runs on.
pub use tokio_postgres;
