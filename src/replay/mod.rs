//! Replay protection: remember which events were processed, and which are
//! being processed right now.
//!
//! The layer asks a [`ReplayGuard`] about every verified delivery before the
//! inner service sees it:
//!
//! - [`Begin::Fresh`]: nobody has this event; the guard marks it in flight and
//!   hands back a [`Claim`]. The layer forwards the delivery, then **commits**
//!   the claim when the inner service answered 2xx (or marked the delivery a
//!   [dead letter](crate::dead_letter) that was stored), or **releases** it on
//!   anything else (non-2xx, an error, a panic, the handler's bound, a
//!   drain's timeout), so the sender's retry is processed. The handler's
//!   bound stays below [`ReplayGuard::claim_lifetime`], so a claim does not
//!   lapse while its handler runs.
//! - [`Begin::InFlight`]: another request holds this event; answered `409`
//!   with `Retry-After`.
//! - [`Begin::Done`]: already processed; answered `200` without calling the
//!   inner service.
//!
//! [`LruGuard`] keeps this in memory, which dedupes within one process only.
//! Receivers running as several replicas need a shared store: `RedisGuard`
//! (feature `redis`) keeps the same state in Redis; for another store,
//! implement this trait over it (compare-and-delete on release, so a slow
//! request whose in-flight entry expired cannot erase another request's claim).

mod memory;
#[cfg(feature = "redis")]
pub(crate) mod redis;

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::time::Duration;

pub use self::memory::LruGuard;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::RedisGuard;

/// The answer of [`ReplayGuard::begin`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// The event is new; it is now in flight, held by this claim.
    Fresh(Claim),
    /// Another request is processing the event.
    InFlight {
        /// A hint for the sender, sent as `Retry-After`.
        retry_after: Duration,
    },
    /// The event was processed already.
    Done,
}

/// Proof that one request holds an event in flight.
///
/// A guard gives each [`Begin::Fresh`] a token of its own, and
/// [`commit`](ReplayGuard::commit) and [`release`](ReplayGuard::release) act
/// only while the event is still held by that token: if the in-flight entry
/// expired and another request took the event over, the first request's
/// release leaves the second's claim alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Claim(u64);

impl Claim {
    /// A claim with this token; guards choose tokens that do not repeat.
    pub fn new(token: u64) -> Self {
        Self(token)
    }

    /// The token.
    pub fn token(&self) -> u64 {
        self.0
    }
}

/// Remembers which events were processed and which are in flight.
///
/// All methods are async so that a guard can live in a shared store; the
/// futures are `Send`, and implementations must not hold a lock across an
/// `.await`. Keys are event ids (at most [`MAX_ID_LEN`](crate::MAX_ID_LEN)
/// bytes) or other replay keys a scheme derives.
pub trait ReplayGuard: Send + Sync + 'static {
    /// Marks `key` in flight if nobody has it.
    fn begin(&self, key: &str) -> impl Future<Output = Result<Begin, GuardError>> + Send;

    /// Marks `key` processed, if `claim` still holds it.
    fn commit(&self, key: &str, claim: Claim) -> impl Future<Output = Result<(), GuardError>> + Send;

    /// Forgets `key`, if `claim` still holds it, so a retry is processed.
    fn release(&self, key: &str, claim: Claim) -> impl Future<Output = Result<(), GuardError>> + Send;

    /// How long a claim holds its event before another request may take the
    /// event over, or `None` if claims never expire by time (the default).
    ///
    /// The layer bounds every handler below it (see
    /// [`WebhookLayer::deadline`](crate::WebhookLayer::deadline)), so that a
    /// slow handler's claim cannot expire while it still runs and let a
    /// retry run the event a second time. A guard whose claims expire must
    /// report it here.
    fn claim_lifetime(&self) -> Option<Duration> {
        None
    }
}

/// A replay guard could not be asked (its store is unreachable, say).
///
/// The layer answers `503` with `Retry-After` and does not call the inner
/// service: the sender retries and nothing is lost.
#[derive(Debug)]
pub struct GuardError {
    source: Box<dyn StdError + Send + Sync>,
}

impl GuardError {
    /// Wraps the store's error.
    pub fn new(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            source: source.into(),
        }
    }
}

impl fmt::Display for GuardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("replay guard unavailable")
    }
}

impl StdError for GuardError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

impl<G: ReplayGuard + ?Sized> ReplayGuard for std::sync::Arc<G> {
    fn begin(&self, key: &str) -> impl Future<Output = Result<Begin, GuardError>> + Send {
        (**self).begin(key)
    }

    fn commit(&self, key: &str, claim: Claim) -> impl Future<Output = Result<(), GuardError>> + Send {
        (**self).commit(key, claim)
    }

    fn release(&self, key: &str, claim: Claim) -> impl Future<Output = Result<(), GuardError>> + Send {
        (**self).release(key, claim)
    }

    fn claim_lifetime(&self) -> Option<Duration> {
        (**self).claim_lifetime()
    }
}
