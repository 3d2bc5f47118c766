//! The Redis-backed replay guard, for receivers running as several replicas.
//!
//! Everything a user needs to know is on [`RedisGuard`], since this module is
//! private and its type is re-exported from [`replay`](crate::replay).

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::sync::LazyLock;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, RedisResult, Script};

use super::{Begin, Claim, GuardError, ReplayGuard};

/// A [`ReplayGuard`] in Redis, shared by every replica that points at the same
/// server and key prefix. Enabled by the `redis` feature.
///
/// [`LruGuard`](crate::LruGuard) dedupes within one process; behind a load
/// balancer, two replicas would each process a redelivered event. This guard
/// keeps the state in Redis instead, with the same contract:
///
/// | Redis key `<prefix>\xff<event id>` | [`begin`](ReplayGuard::begin) answers |
/// |---|---|
/// | absent | [`Begin::Fresh`]; the key now holds `inflight:<token>` with a TTL of the in-flight timeout |
/// | `inflight:<token>` | [`Begin::InFlight`], `retry_after` = the key's remaining TTL |
/// | `done` | [`Begin::Done`] |
///
/// Each call is one atomic Redis operation, so two replicas asking at once never
/// both get `Fresh`:
///
/// - **begin** is a small Lua script: `GET`, then `SET … PX <in-flight timeout>`
///   if the key is absent, or `PTTL` if it is in flight. The token is a random
///   `u64` from the thread-local CSPRNG, so replicas need no coordination.
/// - **commit** is `SET <key> done PX <retention>`, whoever holds the key.
///   Like [`LruGuard`](crate::LruGuard), a commit records the event as
///   processed even when the claim's in-flight entry had expired and another
///   request took the event over: the event *was* processed, and the other
///   request's run cannot be stopped anyway; marking it done keeps a third run
///   from happening if that other request then fails and releases.
/// - **release** is a compare-and-delete in Lua: the key is deleted only if it
///   still holds this request's `inflight:<token>`, so a slow request whose
///   entry expired cannot erase the claim of the request that took over, nor a
///   `done` mark.
/// - **a timed-out begin** may still have run on the server (the answer was
///   late, not the command), leaving an in-flight key that no request owns:
///   every retry would get `409` until the in-flight timeout. So when `begin`
///   times out, the guard sends the same compare-and-delete with the token it
///   had chosen, bounded by the call timeout too, before answering the error
///   (`503`). It is best effort: it removes only that token's key, never
///   another request's claim or a `done` mark, and when it fails as well the
///   in-flight timeout frees the id as before. The failing request then takes
///   up to twice the call timeout.
///
/// # Retention and the sender's retry window
///
/// A `done` mark lives for the [retention](RedisGuard::retention) (default
/// 24 h); after that a redelivery of the event is processed again. Choose a
/// retention at least as long as the sender's retry window: Stripe retries for
/// up to 3 days, so with the default 24 h a late Stripe redelivery would get
/// through; use `Duration::from_secs(3 * 24 * 3600)` or more there. Svix
/// (Standard Webhooks) retries for about 28 hours, Shopify for 4 hours; GitHub
/// does not retry on its own. Each remembered event costs Redis roughly 100
/// bytes plus the key's length, for the retention period.
///
/// # In-flight timeout
///
/// An in-flight key expires after the [in-flight
/// timeout](RedisGuard::in_flight_timeout) (default 60 s), so a replica that
/// crashed mid-request cannot pin an event forever. The guard reports it
/// ([`ReplayGuard::claim_lifetime`]) and the layer bounds every handler
/// below it, so a handler still running cannot lose its claim to a retry
/// on another replica: raise the timeout for handlers that need longer.
///
/// # When Redis is unavailable
///
/// Every Redis call is bounded by the [call timeout](RedisGuard::call_timeout)
/// (default 2 s): an unreachable, failing or hung Redis becomes a
/// [`GuardError`], and the layer answers `503` with `Retry-After` without
/// calling the inner service. The sender retries later and nothing is lost;
/// the connection manager reconnects in the background, so the retries are
/// processed once Redis is back. This is the default, and the right choice
/// when processing an event twice is worse than processing it late.
///
/// [`fail_open(true)`](RedisGuard::fail_open) trades that the other way: when
/// Redis cannot be asked, `begin` logs at `error` and answers `Fresh`, and the
/// event is processed without replay protection (commit and release are
/// attempted and, failing, logged by the layer). Choose it only when the
/// handler is idempotent on its own, or a duplicate costs less than a delay:
/// while Redis is down, every redelivery and every concurrent duplicate is
/// processed.
///
/// # Several receivers on one Redis
///
/// Keys start with the [key prefix](RedisGuard::key_prefix) (default
/// `tower-webhook:`). Give each receiver its own prefix, such as
/// `tower-webhook:stripe:`, so that two senders' event ids cannot collide;
/// replicas of one receiver share theirs.
///
/// The key is the prefix, the byte `0xFF`, then the id. `0xFF` never occurs
/// in UTF-8 text, so neither a prefix nor an id can contain it, and a key
/// splits into its prefix and its id in exactly one way: overlapping prefixes
/// (`tower-webhook:` and `tower-webhook:stripe:`) cannot collide, whatever
/// the ids. (Without it, the id `stripe:evt_1` under the first prefix was the
/// same key as `evt_1` under the second.) In `redis-cli` the byte shows as
/// `\xff`: `SCAN 0 MATCH "tower-webhook:\xff*"`.
///
/// # Example
///
/// A guard over a lazily connecting manager (nothing is sent until the first
/// delivery), in front of a handler:
///
/// ```
/// use std::time::Duration;
/// use redis::aio::{ConnectionManager, ConnectionManagerConfig};
/// use tower_webhook::replay::RedisGuard;
/// use tower_webhook::{scheme::Spec, Secret, WebhookLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let client = redis::Client::open("redis://:password@127.0.0.1:6379/")?;
/// let manager = ConnectionManager::new_lazy_with_config(client, ConnectionManagerConfig::new())?;
/// let guard = RedisGuard::from_connection_manager(manager)
///     .key_prefix("tower-webhook:petstore:")
///     .retention(Duration::from_secs(3 * 24 * 3600))
///     .in_flight_timeout(Duration::from_secs(30));
/// // The password never shows in `Debug`.
/// assert!(!format!("{guard:?}").contains("password"));
///
/// let layer = WebhookLayer::new(Spec::petstore(Secret::new("petstore secret")?))
///     .guard(guard)
///     .deadline(Duration::from_secs(10));
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
///
/// Connecting at start-up, so that a wrong address fails there (this one
/// needs a running server):
///
/// ```no_run
/// use tower_webhook::replay::RedisGuard;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let url = std::env::var("REDIS_URL")?;
/// let guard = RedisGuard::open(&url).await?.key_prefix("tower-webhook:petstore:");
/// # let _ = guard;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisGuard {
    connection: ConnectionManager,
    key_prefix: String,
    in_flight_timeout: Duration,
    retention: Duration,
    call_timeout: Duration,
    fail_open: bool,
}

/// The value of a key whose event was processed.
const DONE: &str = "done";

/// `KEYS[1]` the event's key, `ARGV[1]` `inflight:<token>`, `ARGV[2]` the
/// in-flight timeout in ms. Answers `{0, 0}` Fresh, `{1, 0}` Done, or
/// `{2, pttl}` in flight.
static BEGIN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local value = redis.call('GET', KEYS[1])
if not value then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {0, 0}
end
if value == 'done' then
  return {1, 0}
end
return {2, redis.call('PTTL', KEYS[1])}
",
    )
});

/// `KEYS[1]` the event's key, `ARGV[1]` `inflight:<token>`: deletes the key
/// only if it still holds that token.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
",
    )
});

/// The connection manager's configuration for this crate's Redis stores
/// (the replay guard and the dead-letter sink), which bound every call
/// themselves: the manager's own response timeout (500 ms by default) would
/// cut each call short of the store's call timeout, so it is off.
pub(crate) fn manager_config(connect_timeout: Duration) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(connect_timeout))
        .set_response_timeout(None)
        .set_max_delay(Duration::from_secs(1))
}

impl RedisGuard {
    /// The default key prefix.
    pub const DEFAULT_KEY_PREFIX: &'static str = "tower-webhook:";

    /// The default time after which an in-flight event is given up.
    pub const DEFAULT_IN_FLIGHT_TIMEOUT: Duration = Duration::from_secs(60);

    /// The default time a processed event is remembered: 24 hours.
    pub const DEFAULT_RETENTION: Duration = Duration::from_secs(24 * 3600);

    /// The default bound on each Redis call.
    pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(2);

    /// Connects to the server of `client` and returns a guard with the
    /// defaults, or the connection error (after at most
    /// [`DEFAULT_CALL_TIMEOUT`](Self::DEFAULT_CALL_TIMEOUT)).
    ///
    /// The connection manager reconnects on its own after a failure, with
    /// back-off between attempts capped at one second, and has no response
    /// timeout of its own: the [call timeout](Self::call_timeout) bounds
    /// each call. For other settings
    /// (TLS, RESP3, retries), build a [`ConnectionManager`] yourself and use
    /// [`from_connection_manager`](Self::from_connection_manager).
    pub async fn new(client: Client) -> Result<Self, GuardError> {
        let config = manager_config(Self::DEFAULT_CALL_TIMEOUT);
        let connect = ConnectionManager::new_with_config(client, config);
        let manager = bounded(Self::DEFAULT_CALL_TIMEOUT, "connect", connect).await?;
        Ok(Self::from_connection_manager(manager))
    }

    /// Like [`new`](Self::new), with a client for `url` (such as
    /// `redis://127.0.0.1:6379/` or `rediss://user:password@host/0`).
    pub async fn open(url: &str) -> Result<Self, GuardError> {
        Self::new(Client::open(url).map_err(GuardError::new)?).await
    }

    /// A guard over an existing connection manager, with the defaults. Needs
    /// no round trip: a lazily connecting manager connects on the first call.
    pub fn from_connection_manager(connection: ConnectionManager) -> Self {
        Self {
            connection,
            key_prefix: Self::DEFAULT_KEY_PREFIX.to_owned(),
            in_flight_timeout: Self::DEFAULT_IN_FLIGHT_TIMEOUT,
            retention: Self::DEFAULT_RETENTION,
            call_timeout: Self::DEFAULT_CALL_TIMEOUT,
            fail_open: false,
        }
    }

    /// What every key starts with (default `tower-webhook:`), so that several
    /// receivers can share one Redis.
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// How long an event may stay in flight before another request may take
    /// it over (default 60 s). Keep it longer than the layer's deadline. Zero
    /// is taken as the default, and logged at `warn`.
    #[must_use]
    pub fn in_flight_timeout(mut self, timeout: Duration) -> Self {
        self.in_flight_timeout =
            super::memory::nonzero(timeout, Self::DEFAULT_IN_FLIGHT_TIMEOUT, "in-flight timeout");
        self
    }

    /// How long a processed event is remembered (default 24 h). Choose at
    /// least the sender's retry window (Stripe: 3 days); see the type docs.
    /// Zero would forget every event at once; it is taken as the default, and
    /// logged at `warn`.
    #[must_use]
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = super::memory::nonzero(retention, Self::DEFAULT_RETENTION, "retention");
        self
    }

    /// The longest a single Redis call may take before it counts as a failure
    /// (default 2 s), so that a hung Redis answers `503` instead of holding
    /// the request.
    #[must_use]
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// When Redis cannot be asked, process the event anyway (`true`) instead
    /// of answering `503` (`false`, the default). See "When Redis is
    /// unavailable" in the type docs before turning this on.
    #[must_use]
    pub fn fail_open(mut self, fail_open: bool) -> Self {
        self.fail_open = fail_open;
        self
    }

    /// The Redis key of `key`: see "Several receivers on one Redis".
    fn redis_key(&self, key: &str) -> Vec<u8> {
        let mut redis_key = Vec::with_capacity(self.key_prefix.len() + 1 + key.len());
        redis_key.extend_from_slice(self.key_prefix.as_bytes());
        // 0xFF is never part of UTF-8, so it cannot occur in the prefix or
        // the id: the key splits into them in one way only.
        redis_key.push(KEY_SEPARATOR);
        redis_key.extend_from_slice(key.as_bytes());
        redis_key
    }

    async fn try_begin(&self, key: &str, claim: Claim) -> Result<Begin, GuardError> {
        let mut connection = self.connection.clone();
        let mut invocation = BEGIN.key(self.redis_key(key));
        invocation
            .arg(in_flight_value(claim))
            .arg(millis(self.in_flight_timeout));
        let answer = bounded(
            self.call_timeout,
            "begin",
            invocation.invoke_async(&mut connection),
        )
        .await;
        let (code, pttl): (u8, i64) = match answer {
            Ok(answer) => answer,
            Err(error) => {
                if is_timeout(&error) {
                    self.undo_begin(key, claim).await;
                }
                return Err(error);
            }
        };
        Ok(match code {
            0 => Begin::Fresh(claim),
            1 => Begin::Done,
            // A key without a TTL (set by hand) is held for a full timeout.
            _ => Begin::InFlight {
                retry_after: u64::try_from(pttl).map_or(self.in_flight_timeout, Duration::from_millis),
            },
        })
    }
}

impl RedisGuard {
    /// After a timed-out `begin`: deletes the in-flight key it may have set
    /// on the server anyway, if it still holds `claim`'s token.
    async fn undo_begin(&self, key: &str, claim: Claim) {
        match self.release(key, claim).await {
            Ok(()) => tracing::debug!(event_id = key, "timed-out begin undone on the server"),
            Err(error) => tracing::warn!(
                event_id = key,
                %error,
                source = ?error.source(),
                "could not undo a timed-out begin; the in-flight timeout frees the event"
            ),
        }
    }
}

impl ReplayGuard for RedisGuard {
    async fn begin(&self, key: &str) -> Result<Begin, GuardError> {
        let claim = Claim::new(rand::random());
        match self.try_begin(key, claim).await {
            Err(error) if self.fail_open => {
                tracing::error!(
                    event_id = key,
                    %error,
                    source = ?error.source(),
                    "Redis replay guard failed open: processing the event without replay protection"
                );
                Ok(Begin::Fresh(claim))
            }
            answer => answer,
        }
    }

    /// Sets the key to `done` whoever holds it: see the type docs for why a
    /// stale claim still records the event.
    async fn commit(&self, key: &str, _claim: Claim) -> Result<(), GuardError> {
        let mut connection = self.connection.clone();
        let mut set = ::redis::cmd("SET");
        set.arg(self.redis_key(key))
            .arg(DONE)
            .arg("PX")
            .arg(millis(self.retention));
        bounded(
            self.call_timeout,
            "commit",
            set.query_async::<()>(&mut connection),
        )
        .await
    }

    async fn release(&self, key: &str, claim: Claim) -> Result<(), GuardError> {
        let mut connection = self.connection.clone();
        let mut invocation = RELEASE.key(self.redis_key(key));
        invocation.arg(in_flight_value(claim));
        bounded(
            self.call_timeout,
            "release",
            invocation.invoke_async::<i64>(&mut connection),
        )
        .await
        .map(drop)
    }

    fn claim_lifetime(&self) -> Option<Duration> {
        Some(self.in_flight_timeout)
    }
}

/// Between the prefix and the id in every key: a byte UTF-8 never contains.
const KEY_SEPARATOR: u8 = 0xFF;

/// Whether `error` is a timeout, the guard's or the connection's: the
/// command may have run on the server anyway.
fn is_timeout(error: &GuardError) -> bool {
    error.source().is_some_and(|source| {
        source.is::<TimedOut>()
            || source
                .downcast_ref::<::redis::RedisError>()
                .is_some_and(::redis::RedisError::is_timeout)
    })
}

/// The in-flight value for `claim`.
fn in_flight_value(claim: Claim) -> String {
    format!("inflight:{}", claim.token())
}

/// `duration` in whole milliseconds, at least 1 (Redis refuses `PX 0`).
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Runs one Redis call, turning its error or a timeout into a [`GuardError`].
async fn bounded<T>(
    timeout: Duration,
    operation: &'static str,
    call: impl Future<Output = RedisResult<T>>,
) -> Result<T, GuardError> {
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => result.map_err(GuardError::new),
        Err(_elapsed) => Err(GuardError::new(TimedOut { operation, timeout })),
    }
}

/// A Redis call that did not answer within the call timeout.
#[derive(Debug)]
struct TimedOut {
    operation: &'static str,
    timeout: Duration,
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Redis did not answer `{}` within {:?}",
            self.operation, self.timeout
        )
    }
}

impl StdError for TimedOut {}

impl fmt::Debug for RedisGuard {
    // The connection manager's `Debug` shows the client's address; leave it
    // out altogether, so that nothing about the server's credentials is ever
    // printed whatever the redis crate's own redaction does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisGuard")
            .field("key_prefix", &self.key_prefix)
            .field("in_flight_timeout", &self.in_flight_timeout)
            .field("retention", &self.retention)
            .field("call_timeout", &self.call_timeout)
            .field("fail_open", &self.fail_open)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A lazy guard for a server at `127.0.0.1:port`, with a short call timeout.
    fn guard_at(port: u16) -> RedisGuard {
        let client = Client::open(format!("redis://:hunter2@127.0.0.1:{port}/")).unwrap();
        let manager =
            ConnectionManager::new_lazy_with_config(client, ConnectionManagerConfig::new()).unwrap();
        RedisGuard::from_connection_manager(manager).call_timeout(Duration::from_millis(300))
    }

    /// A port on 127.0.0.1 that nothing listens on (it was free a moment ago).
    async fn closed_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    }

    /// Bounds a test step, so that a bug hangs nothing.
    async fn within<T>(future: impl Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(10), future)
            .await
            .expect("the guard answered within 10 s")
    }

    #[tokio::test]
    async fn debug_never_shows_the_url_or_its_password() {
        let guard = guard_at(6379).key_prefix("receiver-a:");
        let debug = format!("{guard:?}");
        assert!(debug.contains("receiver-a:"), "{debug}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!debug.contains("127.0.0.1"), "{debug}");
    }

    #[tokio::test]
    async fn unreachable_redis_is_a_guard_error_for_every_call() {
        let guard = guard_at(closed_port().await);
        assert!(within(guard.begin("evt_1")).await.is_err());
        assert!(within(guard.commit("evt_1", Claim::new(1))).await.is_err());
        assert!(within(guard.release("evt_1", Claim::new(1))).await.is_err());
    }

    #[tokio::test]
    async fn hung_redis_is_a_guard_error_after_the_call_timeout() {
        // Accepts connections and never answers.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accept = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let error = within(guard_at(port).begin("evt_1")).await.unwrap_err();
        let source = error.source().expect("a source").to_string();
        assert!(source.contains("did not answer `begin`"), "{source}");
        accept.abort();
    }

    #[tokio::test]
    async fn fail_open_answers_fresh_when_redis_is_unreachable() {
        let guard = guard_at(closed_port().await).fail_open(true);
        let first = within(guard.begin("evt_1")).await.unwrap();
        let second = within(guard.begin("evt_1")).await.unwrap();
        // Without Redis nothing dedupes: both deliveries are processed, each
        // under a claim of its own.
        match (first, second) {
            (Begin::Fresh(a), Begin::Fresh(b)) => assert_ne!(a, b),
            other => panic!("expected two Fresh answers, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn keys_split_into_prefix_and_id_in_one_way_only() {
        let short = guard_at(6379).key_prefix("tower-webhook:");
        let long = guard_at(6379).key_prefix("tower-webhook:stripe:");
        assert_ne!(short.redis_key("stripe:evt_1"), long.redis_key("evt_1"));
        assert_eq!(long.redis_key("evt_1"), b"tower-webhook:stripe:\xffevt_1");
        // Whatever the prefix and id, the separator is the only 0xFF.
        for (prefix, id) in [("", "x"), ("p\u{ff}", "\u{ff}"), ("a:", "b:c")] {
            let key = guard_at(6379).key_prefix(prefix).redis_key(id);
            assert_eq!(
                key.iter().filter(|&&b| b == KEY_SEPARATOR).count(),
                1,
                "{prefix:?} {id:?}"
            );
        }
    }

    #[tokio::test]
    async fn zero_retention_and_in_flight_timeout_are_taken_as_the_defaults() {
        let guard = guard_at(6379)
            .retention(Duration::ZERO)
            .in_flight_timeout(Duration::ZERO);
        assert_eq!(guard.retention, RedisGuard::DEFAULT_RETENTION);
        assert_eq!(guard.in_flight_timeout, RedisGuard::DEFAULT_IN_FLIGHT_TIMEOUT);
    }

    #[test]
    fn millis_never_asks_redis_for_a_zero_ttl() {
        assert_eq!(millis(Duration::ZERO), 1);
        assert_eq!(millis(Duration::from_micros(1500)), 1);
        assert_eq!(millis(Duration::from_secs(2)), 2000);
    }
}
