//! The PostgreSQL server the inbox tests use: `POSTGRES_TEST_URL`
//! (`.ci/run` starts a server and sets it). Each store gets a schema of its
//! own, `tower_webhook_test_*`, so tests never meet; point the variable at a
//! scratch database, since the schemas are left behind.

#![allow(dead_code)]

use std::io::Write;
use std::sync::Once;
use std::time::Duration;

use tower_webhook::inbox::PostgresInbox;

/// The variable that names the server.
pub const URL_VAR: &str = "POSTGRES_TEST_URL";

/// The server's URL, or `None` after saying once (on stderr, which the
/// test harness does not capture) that the tests are skipped.
pub fn url() -> Option<String> {
    static NOTE: Once = Once::new();
    let url = std::env::var(URL_VAR).ok().filter(|url| !url.is_empty());
    if url.is_none() {
        NOTE.call_once(|| {
            let _ = writeln!(
                std::io::stderr(),
                "note: {URL_VAR} is not set: skipping the PostgreSQL inbox tests \
                 (e.g. {URL_VAR}=postgres://postgres@127.0.0.1:5432/postgres; .ci/run starts a server)"
            );
        });
    }
    url
}

/// Whether the tests can run: see [`url`].
pub fn available() -> bool {
    url().is_some()
}

/// A schema no other test uses.
pub fn fresh_schema() -> String {
    format!("tower_webhook_test_{:016x}", rand::random::<u64>())
}

/// The inbox in `schema` of the test server, created if missing.
pub async fn open(schema: &str) -> PostgresInbox {
    let url = url().expect("POSTGRES_TEST_URL is set");
    let config = url.parse().expect("POSTGRES_TEST_URL parses");
    tokio::time::timeout(
        Duration::from_secs(20),
        PostgresInbox::builder(config).schema(schema).pool_size(8).open(),
    )
    .await
    .expect("the inbox opened within 20 s")
    .unwrap_or_else(|error| panic!("opening the inbox at {URL_VAR} failed: {error:?}"))
}

/// A new, empty inbox.
pub async fn fresh() -> PostgresInbox {
    open(&fresh_schema()).await
}

/// The same inbox, closed and opened again.
pub async fn reopen(store: PostgresInbox) -> PostgresInbox {
    let schema = store.schema().to_owned();
    drop(store);
    open(&schema).await
}

pub mod cluster;

/// A plain connection to the test server, for looking inside the tables
/// and holding transactions the store must wait for.
pub async fn raw_client(url: &str) -> tower_webhook::inbox::tokio_postgres::Client {
    use tower_webhook::inbox::tokio_postgres;
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("a plain connection to the test server");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}
