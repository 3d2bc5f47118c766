//! [`PostgresInboxBuilder`]: where the inbox lives and how it connects.

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio::sync::{watch, Notify};
use tokio_postgres::tls::{MakeTlsConnect, NoTls, TlsConnect};
use tokio_postgres::Socket;

use super::batch::Settles;
use super::shared::{Shared, TimedOut};
use super::sql::Sql;
use super::{listen, PostgresInbox, DEFAULT_POOL_SIZE, DEFAULT_TIMEOUT};
use crate::inbox::store::InboxError;

/// Builds a [`PostgresInbox`]: see [`PostgresInbox::builder`].
#[must_use]
pub struct PostgresInboxBuilder<T = NoTls> {
    config: tokio_postgres::Config,
    tls: T,
    schema: String,
    prefix: String,
    pool_size: usize,
    timeout: Duration,
    create_tables: bool,
}

impl PostgresInboxBuilder {
    pub(super) fn new(config: tokio_postgres::Config) -> Self {
        Self {
            config,
            tls: NoTls,
            schema: "public".to_owned(),
            prefix: String::new(),
            pool_size: DEFAULT_POOL_SIZE,
            timeout: DEFAULT_TIMEOUT,
            create_tables: true,
        }
    }
}

impl<T> fmt::Debug for PostgresInboxBuilder<T> {
    /// The configuration's `Debug` hides the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresInboxBuilder")
            .field("config", &self.config)
            .field("schema", &self.schema)
            .field("table_prefix", &self.prefix)
            .field("pool_size", &self.pool_size)
            .field("timeout", &self.timeout)
            .field("create_tables", &self.create_tables)
            .finish_non_exhaustive()
    }
}

impl<T> PostgresInboxBuilder<T> {
    /// The schema the tables live in (default `public`); [`open`](Self::open)
    /// creates it if missing and [`create_tables`](Self::create_tables) is on.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// A prefix for the tables' names, so that several inboxes share a
    /// schema: `shop_` gives `shop_inbox_records` and `shop_inbox_keys`.
    pub fn table_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The most connections the store opens (default [`DEFAULT_POOL_SIZE`]),
    /// besides its one listening connection. Each running
    /// [`InboxTransaction`](super::InboxTransaction) holds one until it ends.
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// The bound on every store call, waiting for a connection included
    /// (default [`DEFAULT_TIMEOUT`]); also the connect timeout, unless the
    /// configuration sets one. A call past it fails with an [`InboxError`];
    /// its statement may still complete on the server, as after any lost
    /// answer (an enqueue's redelivery is then a duplicate, a settle is
    /// tried again and found settled).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether [`open`](Self::open) runs the [migration](PostgresInbox::migration_sql)
    /// (default `true`). Turn it off when the tables are created by your
    /// own migrations, or the store's role may not create them; `open` then
    /// checks that they exist.
    pub fn create_tables(mut self, create: bool) -> Self {
        self.create_tables = create;
        self
    }

    /// Connects through `tls` (for example `postgres-native-tls` or
    /// `tokio-postgres-rustls`) instead of in plain text.
    pub fn tls<U>(self, tls: U) -> PostgresInboxBuilder<U> {
        PostgresInboxBuilder {
            config: self.config,
            tls,
            schema: self.schema,
            prefix: self.prefix,
            pool_size: self.pool_size,
            timeout: self.timeout,
            create_tables: self.create_tables,
        }
    }

    /// Connects, creates the tables if they are missing (unless told not
    /// to), and starts listening for new work. Needs a Tokio runtime, which
    /// the listener runs on until the last clone of the store is dropped.
    ///
    /// # Errors
    ///
    /// When the schema or prefix is not a plain identifier (see
    /// [`PostgresInbox::migration_sql`]), the server cannot be reached within
    /// the timeout, or the migration fails (or, without it, the tables are
    /// missing).
    pub async fn open(self) -> Result<PostgresInbox, InboxError>
    where
        T: MakeTlsConnect<Socket> + Clone + Send + Sync + 'static,
        T::Stream: Send + Sync,
        T::TlsConnect: Send + Sync,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        let sql = Sql::new(&self.schema, &self.prefix).map_err(InboxError::new)?;
        let mut config = self.config;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(self.timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("tower-webhook inbox");
        }
        let manager = Manager::from_config(
            config.clone(),
            self.tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(self.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(self.timeout))
            .create_timeout(Some(self.timeout))
            .recycle_timeout(Some(self.timeout))
            .build()
            .map_err(InboxError::new)?;
        let prepare = async {
            let mut conn = pool.get().await.map_err(InboxError::new)?;
            if self.create_tables {
                let installed = conn
                    .query_one(&sql.installed, &[])
                    .await
                    .map_err(InboxError::new)?;
                if installed.get::<_, Option<bool>>(0) == Some(true) {
                    return Ok(());
                }
                // A replica that migrates while another serves can still
                // deadlock with it; the server then cancels one side, and
                // when it is this one, it tries again.
                let mut tries = 0;
                loop {
                    let tx = conn.transaction().await.map_err(InboxError::new)?;
                    let migrated = match tx.batch_execute(&sql.migration).await {
                        Ok(()) => tx.commit().await,
                        Err(error) => Err(error),
                    };
                    match migrated {
                        Err(error)
                            if tries < 3
                                && error.code()
                                    == Some(&tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED) =>
                        {
                            tries += 1;
                        }
                        migrated => break migrated.map_err(InboxError::new),
                    }
                }
            } else {
                // Preparing a statement checks that its tables exist.
                conn.prepare_cached(&sql.get)
                    .await
                    .map(drop)
                    .map_err(InboxError::new)
            }
        };
        tokio::time::timeout(self.timeout, prepare)
            .await
            .unwrap_or_else(|_| Err(InboxError::new(TimedOut(self.timeout))))?;
        let statements = Arc::new(AtomicU64::new(0));
        let settles = Settles::spawn(
            pool.clone(),
            sql.settle.clone(),
            self.timeout,
            Arc::clone(&statements),
        );
        let (wake, _) = watch::channel(0);
        let listener = listen::spawn(config, self.tls, sql.payload.clone(), wake.clone());
        let notify = Arc::new(Notify::new());
        let notifications = Arc::new(AtomicU64::new(0));
        let notifier = listen::notifier(
            pool.clone(),
            sql.notify.clone(),
            Arc::clone(&notify),
            Arc::clone(&notifications),
        );
        Ok(PostgresInbox {
            shared: Arc::new(Shared {
                pool,
                sql,
                timeout: self.timeout,
                wake,
                leased_at: AtomicU64::new(0),
                statements,
                settles,
                listener,
                notify,
                notifications,
                notifier,
            }),
        })
    }
}
