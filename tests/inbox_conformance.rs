//! One conformance suite for every `InboxStore`: the in-memory `MemoryInbox`,
//! the SQLite file store (feature `sqlite`, on for the crate's own tests)
//! and, with the `postgres` feature, `PostgresInbox` on the server at
//! `POSTGRES_TEST_URL` (skipped with a note when unset). The cases live in `tower_webhook::testing::inbox`, for users'
//! own stores too.

use tower_webhook::inbox::MemoryInbox;

async fn memory() -> MemoryInbox {
    MemoryInbox::new()
}

tower_webhook::inbox_conformance!(memory_inbox, memory);

#[cfg(feature = "sqlite")]
mod sqlite {
    use std::path::PathBuf;

    use tower_webhook::inbox::SqliteInbox;

    /// A fresh file per test, under the target directory's scratch space.
    fn path() -> PathBuf {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("inbox-conformance");
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(format!("{:016x}.sqlite3", rand::random::<u64>()))
    }

    pub async fn store() -> SqliteInbox {
        SqliteInbox::open(path()).unwrap()
    }

    pub async fn reopen(store: SqliteInbox) -> SqliteInbox {
        let path = store.path().to_owned();
        drop(store);
        SqliteInbox::open(path).unwrap()
    }
}

#[cfg(feature = "sqlite")]
tower_webhook::inbox_conformance!(sqlite_inbox, sqlite::store, reopen = sqlite::reopen);

// With the `postgres` feature, against the server at `POSTGRES_TEST_URL`
// (skipped with a note when it is unset; `.ci/run` starts one).
#[cfg(feature = "postgres")]
mod postgres_support;

#[cfg(feature = "postgres")]
tower_webhook::inbox_conformance!(
    postgres_inbox,
    postgres_support::fresh,
    reopen = postgres_support::reopen,
    skip_unless = postgres_support::available
);
