//! The Redis-backed dead-letter sink, for receivers running as several
//! replicas. Everything a user needs to know is on [`RedisDeadLetters`].

use std::fmt;
use std::future::Future;
use std::time::Duration;

use ::redis::aio::ConnectionManager;
use ::redis::{Client, RedisResult};

use super::{DeadLetter, DeadLetterError, DeadLetterSink};

/// A [`DeadLetterSink`] keeping letters in one Redis list, shared by every
/// replica that points at the same server and key. Enabled by the `redis`
/// feature.
///
/// Each letter is one [JSON line](DeadLetter::to_json_line), appended with
/// `RPUSH` and the list trimmed to its [`max_len`](Self::max_len) newest
/// letters in the same atomic transaction. Every call is bounded by the call
/// timeout (default 2 s): when Redis does not answer, the store fails and the
/// layer releases the event with `503`, so the sender retries and nothing is
/// lost. Read the letters back with [`letters`](Self::letters).
///
/// ```no_run
/// use tower_webhook::dead_letter::RedisDeadLetters;
/// use tower_webhook::{scheme::Spec, Secret, WebhookLayer};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let sink = RedisDeadLetters::open("redis://127.0.0.1:6379/", "orders:dead-letters").await?;
/// let layer = WebhookLayer::new(Spec::petstore(Secret::new("petstore secret")?)).dead_letters(sink);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisDeadLetters {
    connection: ConnectionManager,
    key: String,
    max_len: usize,
    call_timeout: Duration,
}

impl RedisDeadLetters {
    /// The default number of letters the list keeps.
    pub const DEFAULT_MAX_LEN: usize = 10_000;

    /// The default bound on each Redis call.
    pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(2);

    /// Connects to the server of `client` (within the default call timeout)
    /// and keeps letters in the list `key`.
    ///
    /// # Errors
    ///
    /// When the connection fails or times out.
    pub async fn new(client: Client, key: impl Into<String>) -> Result<Self, DeadLetterError> {
        let config = crate::replay::redis::manager_config(Self::DEFAULT_CALL_TIMEOUT);
        let connect = ConnectionManager::new_with_config(client, config);
        let manager = bounded(Self::DEFAULT_CALL_TIMEOUT, connect).await?;
        Ok(Self::from_connection_manager(manager, key))
    }

    /// Like [`new`](Self::new), with a client for `url`.
    ///
    /// # Errors
    ///
    /// When the URL is invalid, or the connection fails or times out.
    pub async fn open(url: &str, key: impl Into<String>) -> Result<Self, DeadLetterError> {
        Self::new(Client::open(url).map_err(DeadLetterError::new)?, key).await
    }

    /// A sink over an existing connection manager, keeping letters in `key`.
    pub fn from_connection_manager(connection: ConnectionManager, key: impl Into<String>) -> Self {
        Self {
            connection,
            key: key.into(),
            max_len: Self::DEFAULT_MAX_LEN,
            call_timeout: Self::DEFAULT_CALL_TIMEOUT,
        }
    }

    /// How many of the newest letters the list keeps (default 10 000, at
    /// least 1); older ones are trimmed away.
    #[must_use]
    pub fn max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len.max(1);
        self
    }

    /// The bound on each Redis call (default 2 s).
    #[must_use]
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// The letters in the list, oldest first.
    ///
    /// # Errors
    ///
    /// When Redis cannot be asked, or an entry is not a dead letter.
    pub async fn letters(&self) -> Result<Vec<DeadLetter>, DeadLetterError> {
        let mut connection = self.connection.clone();
        let mut range = ::redis::cmd("LRANGE");
        range.arg(&self.key).arg(0).arg(-1);
        let lines: Vec<String> = bounded(self.call_timeout, range.query_async(&mut connection)).await?;
        lines
            .iter()
            .map(|line| DeadLetter::from_json_line(line))
            .collect()
    }
}

impl DeadLetterSink for RedisDeadLetters {
    async fn store(&self, letter: DeadLetter) -> Result<(), DeadLetterError> {
        let mut connection = self.connection.clone();
        let seen = format!("{}:fingerprint:{}", self.key, hex::encode(letter.fingerprint()));
        let keep = i64::try_from(self.max_len).unwrap_or(i64::MAX);
        let mut call = STORE.prepare_invoke();
        call.key(&self.key)
            .key(&seen)
            .arg(letter.to_json_line())
            .arg(keep)
            .arg(FINGERPRINT_SECS);
        let pushed: i64 = bounded(self.call_timeout, call.invoke_async(&mut connection)).await?;
        if pushed == 0 {
            tracing::debug!(
                event_id = letter.id(),
                "dead letter with the same body kept already"
            );
        }
        Ok(())
    }
}

/// How long a stored letter's body keeps a resend of it out: a week.
const FINGERPRINT_SECS: u64 = 7 * 24 * 3600;

/// One letter per body, in one atomic step: the body's fingerprint is
/// claimed and the letter pushed (and the list trimmed) together, or neither,
/// so a crash or a lost connection between the two cannot mark a body kept
/// whose letter was never stored (the sender's retry would then be
/// acknowledged with nothing kept). `1` when pushed, `0` when the body was
/// kept already.
static STORE: std::sync::LazyLock<::redis::Script> = std::sync::LazyLock::new(|| {
    ::redis::Script::new(
        r"
        if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[3]) then
            redis.call('RPUSH', KEYS[1], ARGV[1])
            redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
            return 1
        end
        return 0
        ",
    )
});

async fn bounded<T>(
    timeout: Duration,
    call: impl Future<Output = RedisResult<T>>,
) -> Result<T, DeadLetterError> {
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => result.map_err(DeadLetterError::new),
        Err(_elapsed) => Err(DeadLetterError::new(format!(
            "Redis did not answer within {timeout:?}"
        ))),
    }
}

impl fmt::Debug for RedisDeadLetters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisDeadLetters")
            .field("key", &self.key)
            .field("max_len", &self.max_len)
            .field("call_timeout", &self.call_timeout)
            .finish_non_exhaustive()
    }
}
