//! Run with `cargo run --example receiver`
//!
//! An axum server that receives the Petstore order events (`order.created`,
//! `order.completed`, `order.cancelled`) behind `WebhookLayer` and logs each.
//! Put it on the internet with `ngrok http 3000` to receive real webhooks.
//!
//! Environment (all optional):
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `PORT` | `3000` | port to listen on |
//! | `BIND` | `127.0.0.1` | address to listen on |
//! | `WEBHOOK_SECRET` | generated and printed | the secret, whole: commas and spaces are part of it |
//! | `WEBHOOK_SECRET_2`, `WEBHOOK_SECRET_3`, … | unset | further secrets accepted too (rotation); read up to the first missing number |
//! | `WEBHOOK_SCHEME` | `petstore` | `petstore`, `standard` or `svix` (Standard Webhooks: `whsec_...` secrets and `whpk_...` public keys, mixed, one per variable), `github`, `stripe`, `slack`, `shopify`, `discord` (the application's hex public key), `sendgrid` (the base64 DER verification key), `twilio` (the auth token), `zoom`, `twitch`, `paddle`, `clerk`, `resend`, `replicate` (Standard Webhooks / Svix, `whsec_...`), `polar` (the secret as Polar shows it, `polar_whs_...`), `square` (the signature key; needs `PUBLIC_URL`), `hubspot` (v3; the app's client secret; needs `PUBLIC_URL`), `intercom`, `bitbucket`, `typeform`, `vercel`, `lemonsqueezy`, `meta` (the App Secret), `gitlab` (the secret token, or the `whsec_...` signing token), `calendly`, `mux`, `pagerduty` and `coinbase` (both read the id from the body's `event.id`), `razorpay`, `linear` (the body's `webhookTimestamp` is its timestamp; `send` sets it when it signs), `mailgun` (the HTTP webhook signing key; the signature is in the JSON body and does not cover the event data; `send` writes it into the body), `workos`, `webflow`, `paystack` (the secret key), `notion` (the verification token), `sentry` (the integration's client secret). `send --scheme NAME` sends each a delivery it accepts: the provider's documented sample where there is one, else the article's event |
//! | `PUBLIC_URL` | none | the endpoint's public URL as the sender calls it, `scheme://host[:port]/path`; URL-signed schemes (`twilio`, `hubspot`, `square`: the notification URL exactly as configured at Square) sign it plus the request's query, and refuse to start without it |
//! | `META_VERIFY_TOKEN` | unset | with `WEBHOOK_SCHEME=meta`, answer Meta's unsigned verification `GET /webhooks?hub.mode=subscribe&hub.verify_token=..&hub.challenge=..` (`200` with the challenge when the token matches, else `403`); unset, such a GET is refused `401` |
//! | `MAX_BODY_BYTES` | `1048576` | larger bodies are answered `413`; at least 1 |
//! | `REPLAY_CAPACITY` | `10000` | how many processed event ids are remembered; at least 1 |
//! | `TOLERANCE_SECS` | each preset's own (5 min for most; `paddle` 5 s, `linear` 60 s, `twitch` 10 min) | timestamp tolerance, for schemes that sign one: when set, it replaces every timestamped preset's default; 1 to 3600 |
//! | `MAX_CONCURRENT_HANDLERS` | `1024` | deliveries in progress at once (bodies being read, handlers running, detached ones included); more are answered `503` with `Retry-After`; at least 1 |
//! | `HANDLER_DELAY_MS` | `0` | each handler waits this long *after* doing its work, to watch a sender that gives up waiting: the handler still finishes, and the retry is a duplicate (with a PostgreSQL inbox, the wait is between writing the order and committing it) |
//! | `RECENT_DELIVERIES` | `100` | how many deliveries `GET /deliveries` shows (synchronous mode; in inbox mode, how many records a page lists); at least 1 |
//! | `STANDARD_POLICY` | `any` | with `standard`/`svix`: `any` (one valid signature of any version), `require-v1a` (the Ed25519 `v1a` must verify: an HMAC `v1` alone, which anyone holding the shared secret can make, is refused), `require-both` (every version present in the keys must verify) |
//! | `ADMIN_ADDR` | `127.0.0.1:3001` | where `/metrics` and `/deliveries` are served: a second listener, never the webhook port; it refuses (`421`) a `Host` that is not this address or a loopback name (DNS rebinding). Keep it on loopback; port `0` picks a free one (logged) |
//! | `INBOX_URL` | unset | `sqlite:PATH` turns on **inbox mode**: every verified delivery is stored in the SQLite file at `PATH` (created if missing; relative to the working directory) and acknowledged `200 {"received":true}` at once; a worker runs the handler with retries. `postgres://USER[:PASSWORD]@HOST[:PORT]/DB` (needs `--features postgres`) stores them in that PostgreSQL database instead, shared by every replica given the same URL; the Petstore handler then records each order event in the table `orders` (created if missing) in the same transaction that marks its record done. Unset: the synchronous mode |
//! | `INBOX_MAX_ATTEMPTS` | `8` | inbox mode: the most attempts of one event before it is dead; 1 to 1000 |
//! | `INBOX_RETENTION_HOURS` | `168` | inbox mode: done and dead records, and the replay keys, are kept this long (purged hourly); 1 to 87600 |
//! | `INBOX_LEASE_SECS` | `30` | inbox mode: how long a record a worker took stays its own without a heartbeat, so how soon a record whose process died is taken over after a restart; 1 to 3600 |
//! | `INBOX_BACKOFF_MS` | `5000` | inbox mode: the delay after a first failed attempt (doubling, with jitter, up to 1 hour); 1 to 3600000 |
//! | `HANDLER_FAIL_PERCENT` | `0` | testing aid: each handler run fails with a retryable error with this probability (0 to 100), drawn per attempt |
//! | `HANDLER_PANIC_PERCENT` | `0` | testing aid: each handler run panics with this probability (0 to 100), drawn per attempt, after its `handled` line |
//! | `ALLOW_SHORT_SECRET` | unset | `1` lets a secret shorter than 16 bytes through, with a warning in the log: for the providers' test vectors (Twilio's `12345`) and senders whose users choose the secret (Razorpay). `0` or unset: refused |
//! | `RUST_LOG` | `info` | log filter |
//!
//! Every secret must hold at least 16 bytes of key material (for Standard
//! Webhooks / Svix, 16 bytes once the base64 after `whsec_` is decoded); a
//! shorter one (unless `ALLOW_SHORT_SECRET=1`), or a setting out of range,
//! stops the receiver at start-up with a one-line error. A client gets 10 seconds to send its request
//! headers ([`HEADER_READ_TIMEOUT`]) and 10 more for the body (the layer's
//! default body timeout); a connection that stalls is closed.
//!
//! Deliveries go to `POST /webhooks`, the only route on the webhook port
//! (the one to expose with ngrok); another method there is answered `405`.
//! A Petstore event whose body has no `type` takes it from
//! `X-Petstore-Event`; one with neither is a dead letter. Every event handed to the handler is
//! logged once per attempt, as `handled` with `event_type`, `event_id` and,
//! in inbox mode, `attempt`; rejections are logged by the layer with their
//! reason. Secrets are never logged.
//!
//! In inbox mode (`INBOX_URL`), a delivery is stored durably before it is
//! acknowledged, so the sender's timeout (GitHub 10 s, Shopify 5 s) no
//! longer bounds the handler and an event survives a crash: on restart with
//! the same `INBOX_URL`, records that were pending or taken by the dead
//! process (once their lease lapses) are processed.
//!
//! With `INBOX_URL=postgres://...`, run several receivers on one database
//! (different `PORT`s and `ADMIN_ADDR`s, or machines): each stores what it
//! receives, and their workers share all the stored records. An order
//! event's row in `orders` and its record's `done` mark commit together, so
//! the table holds exactly one row per processed event even when a replica
//! is killed mid-handler (its transaction is rolled back; another replica
//! takes the record over once its lease lapses):
//!
//! ```text
//! INBOX_URL=postgres://postgres@127.0.0.1:5432/shop cargo run --example receiver --features postgres
//! ```
//!
//! A verified delivery that can never be processed (JSON that does not fit
//! the Petstore's events, an order without an id) is a dead letter: logged
//! at `error` with its reason, kept in memory (the last 1000), and
//! acknowledged so the sender stops. On Ctrl-C or SIGTERM the receiver stops
//! accepting, lets the handlers in progress finish (up to 25 s), and logs how
//! many were drained.
//!
//! On the admin listener (`ADMIN_ADDR`, default `127.0.0.1:3001`), never on
//! the webhook port:
//!
//! - `GET /metrics`: Prometheus text (`webhook_deliveries_total`, the verify
//!   and handler time histograms, `webhook_handlers_running`);
//! - `GET /deliveries`: the last deliveries, newest first (time, scheme, id,
//!   type, outcome, status, reason, timings; never a body or a secret), as
//!   JSON when asked for `application/json`, as a page that refreshes itself
//!   when a browser asks for HTML. In inbox mode, the inbox instead: the
//!   counts per state and the newest records (state, attempts, next attempt,
//!   received and finished times, the reason of a dead one); `?state=dead`
//!   lists one state;
//! - `POST /deliveries/ID/requeue` (inbox mode): a dead record pending
//!   again, its attempts reset. Only the page's own origin may ask: the
//!   request must carry `Origin: http://ADMIN_ADDR` (as the page's button
//!   sends it) or `Sec-Fetch-Site: same-origin`; anything else is `403`.
//!
//! The admin listener answers `421 Misdirected Request` to a `Host` other
//! than its own address, `localhost` or a loopback IP, so a web page whose
//! name an attacker points at 127.0.0.1 cannot read it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, HOST, ORIGIN, VARY};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Extension;
use axum::Router;
use base64::Engine as _;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde::Deserialize;
use tower_webhook::dead_letter::MemoryDeadLetters;
use tower_webhook::extract::Webhook;
use tower_webhook::handler::HandlerError;
use tower_webhook::inbox::State as InboxState;
use tower_webhook::inbox::{
    Attempt, Backoff, InboxStore, InboxWorker, ListQuery, RecordId, Requeued, Retention, SqliteInbox,
};
use tower_webhook::inbox::{Counts, InboxError, Page, Purged};
#[cfg(feature = "postgres")]
use tower_webhook::inbox::{PostgresInbox, Settle, Settled};
use tower_webhook::layer::{Shutdown, DEFAULT_CONCURRENCY_LIMIT};
use tower_webhook::observe::{Metrics, RecentDeliveries};
use tower_webhook::scheme::{Bitbucket, GitLab, Intercom, LemonSqueezy, Meta, Typeform, Vercel};
use tower_webhook::scheme::{Calendly, CoinbaseCommerce, Linear, Mailgun, Mux, PagerDuty, Razorpay};
use tower_webhook::scheme::{
    Discord, DiscordEndpoint, GitHub, Paddle, Scheme, SendGrid, Shopify, SignaturePolicy, Slack, Spec,
    StandardWebhooks, Stripe, Twilio, Twitch, Zoom, MAX_TOLERANCE,
};
use tower_webhook::scheme::{HubSpot, Polar, Square};
use tower_webhook::scheme::{Notion, Paystack, Sentry, Webflow, WorkOS};
use tower_webhook::{Keys, LruGuard, PublicKey, Secret, SecretError, Secrets, Verified, WebhookLayer};

/// The receiver's configuration; see the table in the file's docs.
#[derive(Clone)]
pub struct Config {
    /// Address to listen on.
    pub bind: IpAddr,
    /// Port to listen on.
    pub port: u16,
    /// Scheme name, as accepted by [`scheme`].
    pub scheme: String,
    /// One or more secrets, all accepted.
    pub secrets: Vec<String>,
    /// Whether the secret was generated because none was configured.
    pub generated_secret: bool,
    /// The body limit in bytes.
    pub max_body_bytes: usize,
    /// How many processed event ids the replay guard remembers.
    pub replay_capacity: usize,
    /// Timestamp tolerance (`TOLERANCE_SECS`); unset, each preset keeps its own.
    pub tolerance: Option<Duration>,
    /// Deliveries in progress at once before the layer answers `503`.
    pub max_concurrent_handlers: usize,
    /// How long each handler waits after doing its work.
    pub handler_delay: Duration,
    /// How many deliveries `GET /deliveries` shows.
    pub recent_deliveries: usize,
    /// The endpoint's public URL, for URL-signed schemes.
    pub public_url: Option<String>,
    /// Meta's verify token: when set, `WEBHOOK_SCHEME=meta` answers Meta's
    /// unsigned `GET ?hub.mode=subscribe&hub.verify_token=..&hub.challenge=..`.
    pub meta_verify_token: Option<String>,
    /// `STANDARD_POLICY`: which Standard Webhooks versions must verify
    /// (`any`, `require-v1a`, `require-both`); `None` is `any`.
    pub standard_policy: Option<String>,
    /// Where `/metrics` and `/deliveries` are served (`ADMIN_ADDR`).
    pub admin_addr: SocketAddr,
    /// Inbox mode's settings (`INBOX_URL` and the rest); `None`: synchronous.
    pub inbox: Option<InboxConfig>,
    /// `HANDLER_FAIL_PERCENT`: the chance of a retryable failure per run.
    pub handler_fail_percent: u8,
    /// `HANDLER_PANIC_PERCENT`: the chance of a panic per run.
    pub handler_panic_percent: u8,
    /// `ALLOW_SHORT_SECRET=1`: secrets under [`Secret::MIN_LEN`] bytes are
    /// accepted, with a warning.
    pub allow_short_secret: bool,
}

/// What to do with a secret shorter than [`Secret::MIN_LEN`] bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShortSecrets {
    /// Refuse it: the default, since a short key can be guessed.
    Refuse,
    /// Accept it and log a warning naming its variable (`ALLOW_SHORT_SECRET=1`).
    Warn,
    /// Accept it silently: the configuration was checked, and warned about, already.
    Accept,
}

/// Inbox mode's settings.
#[derive(Debug, Clone)]
pub struct InboxConfig {
    /// Where the inbox lives (`INBOX_URL`).
    pub url: InboxUrl,
    /// `INBOX_MAX_ATTEMPTS`.
    pub max_attempts: u32,
    /// `INBOX_RETENTION_HOURS`.
    pub retention: Duration,
    /// `INBOX_LEASE_SECS`.
    pub lease: Duration,
    /// `INBOX_BACKOFF_MS`.
    pub backoff: Duration,
}

impl InboxConfig {
    /// Inbox mode's settings from `var`, when `INBOX_URL` is set.
    fn from_lookup(var: &impl Fn(&str) -> Result<Option<String>, String>) -> Result<Option<Self>, String> {
        let Some(url) = var("INBOX_URL")? else {
            return Ok(None);
        };
        Ok(Some(Self {
            url: InboxUrl::parse(&url)?,
            max_attempts: in_range(var, "INBOX_MAX_ATTEMPTS", 8, 1..=1000)?,
            retention: Duration::from_secs(3600 * in_range(var, "INBOX_RETENTION_HOURS", 168, 1..=87_600)?),
            lease: Duration::from_secs(in_range(var, "INBOX_LEASE_SECS", 30, 1..=3600)?),
            backoff: Duration::from_millis(in_range(var, "INBOX_BACKOFF_MS", 5000, 1..=3_600_000)?),
        }))
    }
}

/// Where the inbox lives: `INBOX_URL`.
#[derive(Clone)]
pub enum InboxUrl {
    /// `sqlite:PATH`: the SQLite file at `PATH`.
    Sqlite(std::path::PathBuf),
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DB` (or `postgresql://`): a
    /// PostgreSQL database, shared by every replica; needs the `postgres`
    /// feature. Its `Debug` and `Display` hide the password.
    Postgres(String),
}

impl InboxUrl {
    /// `INBOX_URL`'s value, checked.
    fn parse(url: &str) -> Result<Self, String> {
        if let Some(path) = url.strip_prefix("sqlite:") {
            if !path.is_empty() {
                return Ok(Self::Sqlite(path.into()));
            }
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let shown = Self::Postgres(url.to_owned()).to_string();
            #[cfg(feature = "postgres")]
            {
                // The parser's errors never quote the password.
                let parsed = url.parse::<tower_webhook::inbox::tokio_postgres::Config>();
                return match parsed {
                    Ok(config) if config.get_dbname().is_some() && !config.get_hosts().is_empty() => {
                        Ok(Self::Postgres(url.to_owned()))
                    }
                    Ok(_) => Err(format!(
                        "INBOX_URL={shown} is invalid: it must name a host and a database, \
                         postgres://USER[:PASSWORD]@HOST[:PORT]/DB"
                    )),
                    Err(error) => Err(format!("INBOX_URL={shown} is invalid: {error}")),
                };
            }
            #[cfg(not(feature = "postgres"))]
            return Err(format!(
                "INBOX_URL={shown} needs the PostgreSQL inbox: \
                 cargo run --example receiver --features postgres"
            ));
        }
        Err(format!(
            "INBOX_URL={url:?} is invalid: it must be sqlite:PATH or postgres://USER[:PASSWORD]@HOST[:PORT]/DB"
        ))
    }
}

impl fmt::Display for InboxUrl {
    /// The URL with its password, if any, replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            Self::Postgres(url) => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
                // Parameters may carry a password too (`?password=...`).
                let (rest, query) = match rest.split_once('?') {
                    Some((rest, _)) => (rest, "?..."),
                    None => (rest, ""),
                };
                // The user info ends at the last `@` before the path.
                let authority_end = rest.find('/').unwrap_or(rest.len());
                match rest[..authority_end].rfind('@') {
                    Some(at) => {
                        let user = rest[..at].split(':').next().unwrap_or_default();
                        let hidden = if rest[..at].contains(':') { ":***" } else { "" };
                        write!(f, "{scheme}://{user}{hidden}{}{query}", &rest[at..])
                    }
                    None => write!(f, "{scheme}://{rest}{query}"),
                }
            }
        }
    }
}

impl fmt::Debug for InboxUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

impl Config {
    /// Reads the configuration from the environment.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| match std::env::var(name) {
            Ok(value) => Ok(Some(value)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(format!("{name} is not valid UTF-8")),
        })
    }

    /// Reads the configuration through `var` (the environment, or a test's map).
    pub fn from_lookup(var: impl Fn(&str) -> Result<Option<String>, String>) -> Result<Self, String> {
        let scheme = var("WEBHOOK_SCHEME")?.unwrap_or_else(|| "petstore".to_owned());
        let (secrets, generated_secret) = match secrets_from(&var)? {
            secrets if secrets.is_empty() && matches!(scheme.as_str(), "discord" | "sendgrid") => {
                return Err(format!(
                    "WEBHOOK_SCHEME={scheme} verifies with the sender's public key: set WEBHOOK_SECRET to it"
                ))
            }
            secrets if secrets.is_empty() => (vec![generate_secret(&scheme)], true),
            secrets => (secrets, false),
        };
        let config = Self {
            bind: number(&var, "BIND", IpAddr::V4(Ipv4Addr::LOCALHOST))?,
            port: number(&var, "PORT", 3000)?,
            scheme,
            secrets,
            generated_secret,
            max_body_bytes: in_range(&var, "MAX_BODY_BYTES", 1024 * 1024, 1..=usize::MAX)?,
            replay_capacity: in_range(
                &var,
                "REPLAY_CAPACITY",
                LruGuard::DEFAULT_CAPACITY,
                1..=usize::MAX,
            )?,
            tolerance: match var("TOLERANCE_SECS")? {
                None => None,
                Some(_) => Some(Duration::from_secs(in_range(
                    &var,
                    "TOLERANCE_SECS",
                    300,
                    1..=MAX_TOLERANCE.as_secs(),
                )?)),
            },
            max_concurrent_handlers: in_range(
                &var,
                "MAX_CONCURRENT_HANDLERS",
                DEFAULT_CONCURRENCY_LIMIT,
                1..=usize::MAX,
            )?,
            handler_delay: Duration::from_millis(number(&var, "HANDLER_DELAY_MS", 0)?),
            recent_deliveries: in_range(&var, "RECENT_DELIVERIES", 100, 1..=usize::MAX)?,
            public_url: var("PUBLIC_URL")?,
            meta_verify_token: var("META_VERIFY_TOKEN")?,
            standard_policy: var("STANDARD_POLICY")?,
            admin_addr: number(&var, "ADMIN_ADDR", SocketAddr::from(([127, 0, 0, 1], 3001)))?,
            inbox: InboxConfig::from_lookup(&var)?,
            handler_fail_percent: in_range(&var, "HANDLER_FAIL_PERCENT", 0, 0..=100)?,
            handler_panic_percent: in_range(&var, "HANDLER_PANIC_PERCENT", 0, 0..=100)?,
            allow_short_secret: match var("ALLOW_SHORT_SECRET")?.as_deref().map(str::trim) {
                None | Some("" | "0") => false,
                Some("1") => true,
                Some(other) => {
                    return Err(format!(
                        "ALLOW_SHORT_SECRET={other:?} is invalid: it must be 1 or 0"
                    ))
                }
            },
        };
        // Refuse an unknown scheme or a bad secret now, not at the first
        // delivery; warn here, once, about a short secret let through.
        scheme_checked(
            &config.scheme,
            &config.secrets,
            config.tolerance,
            config.public_url.as_deref(),
            if config.allow_short_secret {
                ShortSecrets::Warn
            } else {
                ShortSecrets::Refuse
            },
        )?;
        if let Some(token) = &config.meta_verify_token {
            meta_with_verify_token(&config.secrets, token)?;
        }
        if let Some(policy) = &config.standard_policy {
            standard_with_policy(&config.scheme, &config.secrets, config.tolerance, policy)?;
        }
        Ok(config)
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("port", &self.port)
            .field("scheme", &self.scheme)
            .field("secrets", &format_args!("<{} redacted>", self.secrets.len()))
            .field("max_body_bytes", &self.max_body_bytes)
            .field("replay_capacity", &self.replay_capacity)
            .field("tolerance", &self.tolerance)
            .field("max_concurrent_handlers", &self.max_concurrent_handlers)
            .field("handler_delay", &self.handler_delay)
            .field("recent_deliveries", &self.recent_deliveries)
            .field("public_url", &self.public_url)
            .field(
                "meta_verify_token",
                &self.meta_verify_token.as_ref().map(|_| "<redacted>"),
            )
            .field("admin_addr", &self.admin_addr)
            .field("inbox", &self.inbox)
            .field("handler_fail_percent", &self.handler_fail_percent)
            .field("handler_panic_percent", &self.handler_panic_percent)
            .field("allow_short_secret", &self.allow_short_secret)
            .finish()
    }
}

/// A variable parsed as a `T`, or `default` when it is unset.
fn number<T>(
    var: &impl Fn(&str) -> Result<Option<String>, String>,
    name: &str,
    default: T,
) -> Result<T, String>
where
    T: std::str::FromStr,
    T::Err: fmt::Display,
{
    match var(name)? {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse()
            .map_err(|error| format!("{name}={text:?} is invalid: {error}")),
    }
}

/// [`number`], refused outside `range` (a zero capacity or body limit, or
/// a tolerance that would accept a 1970 timestamp, switch protection off).
fn in_range<T>(
    var: &impl Fn(&str) -> Result<Option<String>, String>,
    name: &str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + fmt::Display,
    T::Err: fmt::Display,
{
    let value = number(var, name, default)?;
    if !range.contains(&value) {
        return Err(format!(
            "{name}={value} is out of range: it must be between {} and {}",
            range.start(),
            range.end()
        ));
    }
    Ok(value)
}

/// The variable holding the `n`th secret: `WEBHOOK_SECRET`, then
/// `WEBHOOK_SECRET_2`, `WEBHOOK_SECRET_3`, …
pub fn secret_var(n: usize) -> String {
    match n {
        1 => "WEBHOOK_SECRET".to_owned(),
        n => format!("WEBHOOK_SECRET_{n}"),
    }
}

/// The secrets in the environment: see [`secrets_from`].
pub fn secrets_from_env() -> Result<Vec<String>, String> {
    secrets_from(&|name: &str| match std::env::var(name) {
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!("{name} is not valid UTF-8")),
    })
}

/// Every secret configured through `var`: `WEBHOOK_SECRET` as it is (never
/// split, never trimmed, so no part of a secret can become a secret of its
/// own), then `WEBHOOK_SECRET_2`, `WEBHOOK_SECRET_3`, … up to the first that
/// is unset. None when `WEBHOOK_SECRET` is unset; an error for an empty one,
/// or for `WEBHOOK_SECRET_2` without `WEBHOOK_SECRET`.
pub fn secrets_from(var: &impl Fn(&str) -> Result<Option<String>, String>) -> Result<Vec<String>, String> {
    let mut secrets = Vec::new();
    for n in 1.. {
        let name = secret_var(n);
        match var(&name)? {
            Some(secret) if secret.is_empty() => return Err(format!("{name} is set but empty")),
            Some(secret) => secrets.push(secret),
            None if n == 1 && var(&secret_var(2))?.is_some() => {
                return Err("WEBHOOK_SECRET_2 is set but WEBHOOK_SECRET is not".to_owned());
            }
            None => break,
        }
    }
    Ok(secrets)
}

/// A fresh random secret in the scheme's own form: `whsec_` and base64 for
/// Standard Webhooks and Svix, `whsec_` and hex for Stripe, 32 hex digits
/// for Slack, hex otherwise. Each holds at least 16 random bytes.
fn generate_secret(scheme: &str) -> String {
    let bytes: [u8; 24] = rand::random();
    match scheme {
        "standard" | "svix" => format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ),
        "clerk" | "resend" | "replicate" => format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ),
        "stripe" => format!("whsec_{}", hex::encode(bytes)),
        "slack" => hex::encode(&bytes[..16]),
        _ => hex::encode(bytes),
    }
}

/// The schemes `WEBHOOK_SCHEME` accepts.
pub const SCHEMES: &str =
    "petstore, standard, svix, github, stripe, slack, shopify, discord, sendgrid, twilio, zoom, twitch, paddle, clerk, resend, replicate, polar, square, hubspot, \
intercom, bitbucket, typeform, vercel, lemonsqueezy, meta, gitlab, \
calendly, mux, pagerduty, razorpay, coinbase, linear, mailgun, \
workos, webflow, paystack, notion, sentry";

/// The verification scheme by name, for schemes that do not sign the URL.
pub fn scheme(
    name: &str,
    secrets: &[String],
    tolerance: impl Into<Option<Duration>>,
) -> Result<Box<dyn Scheme>, String> {
    scheme_at(name, secrets, tolerance, None)
}

/// The verification scheme by name, with the endpoint's public URL; secrets
/// shorter than 16 bytes are refused.
pub fn scheme_at(
    name: &str,
    secrets: &[String],
    tolerance: impl Into<Option<Duration>>,
    public_url: Option<&str>,
) -> Result<Box<dyn Scheme>, String> {
    scheme_checked(name, secrets, tolerance, public_url, ShortSecrets::Refuse)
}

/// The verification scheme by name, with the endpoint's public URL and the
/// treatment of short secrets: the one place to add a provider preset.
///
/// `tolerance` (`TOLERANCE_SECS`), when given, replaces the default of every
/// timestamped preset; without it each keeps its own (5 minutes for most;
/// Paddle 5 s, Linear 60 s, Twitch 10 minutes).
pub fn scheme_checked(
    name: &str,
    secrets: &[String],
    tolerance: impl Into<Option<Duration>>,
    public_url: Option<&str>,
    short: ShortSecrets,
) -> Result<Box<dyn Scheme>, String> {
    let tolerance: Option<Duration> = tolerance.into();
    // A timestamped preset with `TOLERANCE_SECS` applied, if it is set.
    macro_rules! tolerant {
        ($scheme:expr) => {{
            let scheme = $scheme;
            match tolerance {
                Some(tolerance) => scheme.tolerance(tolerance),
                None => scheme,
            }
        }};
    }
    let config = |error: tower_webhook::scheme::ConfigError| format!("WEBHOOK_SECRET: {error}");
    let public_keys = |parse: fn(&str) -> Result<PublicKey, tower_webhook::scheme::ConfigError>| {
        secrets
            .iter()
            .map(|s| parse(s).map(Keys::from))
            .collect::<Result<Keys, _>>()
            .map_err(config)
    };
    // The n-th secret (from 1), parsed and at least 16 bytes of key
    // material unless `short` lets it through.
    let secret = |n: usize, text: &str, parse: fn(&str) -> Result<Secret, SecretError>| {
        let name = secret_var(n);
        let key = parse(text).map_err(|error| format!("{name}: {error}"))?;
        if key.len() < Secret::MIN_LEN {
            match short {
                ShortSecrets::Refuse => {
                    return Err(format!(
                        "{name} holds {} bytes of key material; at least {} are required \
                         (ALLOW_SHORT_SECRET=1 accepts it, for test vectors)",
                        key.len(),
                        Secret::MIN_LEN
                    ))
                }
                ShortSecrets::Warn => tracing::warn!(
                    variable = name,
                    bytes = key.len(),
                    min_bytes = Secret::MIN_LEN,
                    "short secret accepted because ALLOW_SHORT_SECRET=1: a short key can be guessed; \
                     use it only for test vectors"
                ),
                ShortSecrets::Accept => {}
            }
        }
        Ok(key)
    };
    let keys = |parse: fn(&str) -> Result<Secret, SecretError>| {
        let keys = (secrets.iter().enumerate())
            .map(|(n, text)| secret(n + 1, text, parse))
            .collect::<Result<Vec<_>, String>>()?;
        Secrets::try_from_iter(keys).map_err(|error| format!("WEBHOOK_SECRET: {error}"))
    };
    match name {
        "petstore" => Ok(Box::new(Spec::petstore(keys(|s| Secret::new(s))?))),
        "github" => Ok(Box::new(GitHub::new(keys(|s| Secret::new(s))?))),
        "stripe" => Ok(Box::new(tolerant!(Stripe::new(keys(|s| Secret::new(s))?)))),
        "slack" => Ok(Box::new(tolerant!(Slack::new(keys(|s| Secret::new(s))?)))),
        "shopify" => Ok(Box::new(Shopify::new(keys(|s| Secret::new(s))?))),
        "standard" | "svix" => {
            // `whsec_` secrets must hold 16 bytes once decoded; `whpk_` keys
            // are public and checked by their parser.
            for (n, text) in secrets.iter().enumerate() {
                if !text.trim_start().starts_with("whpk_") {
                    secret(n + 1, text, StandardWebhooks::secret)?;
                }
            }
            let keys = secrets
                .iter()
                .map(|s| StandardWebhooks::key(s))
                .collect::<Result<Keys, _>>()
                .map_err(config)?;
            let scheme = StandardWebhooks::with_keys(keys, SignaturePolicy::Any).map_err(config)?;
            Ok(Box::new(tolerant!(scheme)))
        }
        "discord" => Ok(Box::new(tolerant!(Discord::new(
            public_keys(Discord::public_key)?,
            DiscordEndpoint::Interactions
        )
        .map_err(config)?))),
        "sendgrid" => Ok(Box::new(tolerant!(SendGrid::new(public_keys(
            SendGrid::public_key
        )?)
        .map_err(config)?))),
        "twilio" => {
            let url = public_url
                .ok_or("WEBHOOK_SCHEME=twilio signs the public URL: set PUBLIC_URL=https://host/path")?;
            let scheme = Twilio::new(keys(|s| Secret::new(s))?, url)
                .map_err(|e| format!("PUBLIC_URL={url:?}: {e}"))?;
            Ok(Box::new(scheme))
        }
        "zoom" => Ok(Box::new(tolerant!(Zoom::new(keys(|s| Secret::new(s))?)))),
        "twitch" => Ok(Box::new(tolerant!(Twitch::new(keys(|s| Secret::new(s))?)))),
        "paddle" => Ok(Box::new(tolerant!(Paddle::new(keys(|s| Secret::new(s))?)))),
        "calendly" => Ok(Box::new(tolerant!(Calendly::new(keys(|s| Secret::new(s))?)))),
        "mux" => Ok(Box::new(tolerant!(Mux::new(keys(|s| Secret::new(s))?)))),
        "pagerduty" => Ok(Box::new(PagerDuty::new(keys(|s| Secret::new(s))?))),
        "razorpay" => Ok(Box::new(Razorpay::new(keys(|s| Secret::new(s))?))),
        "coinbase" => Ok(Box::new(CoinbaseCommerce::new(keys(|s| Secret::new(s))?))),
        "linear" => Ok(Box::new(tolerant!(Linear::new(keys(|s| Secret::new(s))?)))),
        "mailgun" => Ok(Box::new(tolerant!(Mailgun::new(keys(|s| Secret::new(s))?)))),
        "clerk" | "resend" | "replicate" => Ok(Box::new(tolerant!(StandardWebhooks::new(keys(
            StandardWebhooks::secret
        )?)))),
        "polar" => Ok(Box::new(tolerant!(Polar::new(keys(Polar::secret)?)))),
        "square" => {
            let url = public_url.ok_or(
                "WEBHOOK_SCHEME=square signs the notification URL: set PUBLIC_URL to it exactly as configured at Square",
            )?;
            let scheme = Square::new(keys(|s| Secret::new(s))?, url)
                .map_err(|e| format!("PUBLIC_URL={url:?}: {e}"))?;
            Ok(Box::new(scheme))
        }
        "hubspot" => {
            let url = public_url
                .ok_or("WEBHOOK_SCHEME=hubspot signs the public URL: set PUBLIC_URL=https://host/path")?;
            let scheme = HubSpot::new(keys(|s| Secret::new(s))?, url)
                .map_err(|e| format!("PUBLIC_URL={url:?}: {e}"))?;
            Ok(Box::new(tolerant!(scheme)))
        }
        "intercom" => Ok(Box::new(Intercom::new(keys(|s| Secret::new(s))?))),
        "bitbucket" => Ok(Box::new(Bitbucket::new(keys(|s| Secret::new(s))?))),
        "typeform" => Ok(Box::new(Typeform::new(keys(|s| Secret::new(s))?))),
        "vercel" => Ok(Box::new(Vercel::new(keys(|s| Secret::new(s))?))),
        "lemonsqueezy" => Ok(Box::new(LemonSqueezy::new(keys(|s| Secret::new(s))?))),
        "meta" => Ok(Box::new(Meta::new(keys(|s| Secret::new(s))?))),
        "workos" => Ok(Box::new(tolerant!(WorkOS::new(keys(|s| Secret::new(s))?)))),
        "webflow" => Ok(Box::new(tolerant!(Webflow::new(keys(|s| Secret::new(s))?)))),
        "paystack" => Ok(Box::new(Paystack::new(keys(|s| Secret::new(s))?))),
        "notion" => Ok(Box::new(Notion::new(keys(|s| Secret::new(s))?))),
        "sentry" => Ok(Box::new(Sentry::new(keys(|s| Secret::new(s))?))),
        // A `whsec_` secret is GitLab's signing token; anything else its legacy secret token.
        "gitlab" if secrets.iter().all(|s| s.trim_start().starts_with("whsec_")) => {
            Ok(Box::new(match tolerance {
                Some(tolerance) => {
                    GitLab::signing_token(keys(GitLab::signing_secret)?).with_tolerance(tolerance)
                }
                None => GitLab::signing_token(keys(GitLab::signing_secret)?),
            }))
        }
        "gitlab" if secrets.iter().any(|s| s.trim_start().starts_with("whsec_")) => Err(
            "WEBHOOK_SCHEME=gitlab: either every secret is a signing token (whsec_...) or none is".to_owned(),
        ),
        "gitlab" => Ok(Box::new(GitLab::new(keys(|s| Secret::new(s))?))),
        other => Err(format!(
            "WEBHOOK_SCHEME={other:?} is not a known scheme ({SCHEMES})"
        )),
    }
}

/// Standard Webhooks with the `STANDARD_POLICY` given: `any`, `require-v1a`
/// (the Ed25519 `v1a` signature must verify, so a holder of an HMAC secret
/// cannot sign alone) or `require-both` (every version the keys hold).
pub fn standard_with_policy(
    scheme: &str,
    secrets: &[String],
    tolerance: Option<Duration>,
    policy: &str,
) -> Result<Box<dyn Scheme>, String> {
    let policy = match policy {
        "any" => SignaturePolicy::Any,
        "require-v1a" => SignaturePolicy::Require("v1a".into()),
        "require-both" => SignaturePolicy::All,
        other => {
            return Err(format!(
                "STANDARD_POLICY={other:?}: one of any, require-v1a, require-both"
            ))
        }
    };
    if !matches!(scheme, "standard" | "svix") {
        return Err(format!(
            "STANDARD_POLICY applies to WEBHOOK_SCHEME=standard or svix, not {scheme}"
        ));
    }
    let keys = secrets
        .iter()
        .map(|s| StandardWebhooks::key(s))
        .collect::<Result<Keys, _>>()
        .map_err(|error| format!("WEBHOOK_SECRET: {error}"))?;
    let scheme =
        StandardWebhooks::with_keys(keys, policy).map_err(|error| format!("STANDARD_POLICY: {error}"))?;
    Ok(Box::new(match tolerance {
        Some(tolerance) => scheme.tolerance(tolerance),
        None => scheme,
    }))
}

/// Meta's scheme with its verify token, which enables the answer to Meta's
/// unsigned GET verification request.
pub fn meta_with_verify_token(secrets: &[String], token: &str) -> Result<Box<dyn Scheme>, String> {
    let token = Secret::new(token).map_err(|error| format!("META_VERIFY_TOKEN: {error}"))?;
    let keys = secrets
        .iter()
        .map(|s| Secret::new(s).map_err(|error| format!("WEBHOOK_SECRET: {error}")))
        .collect::<Result<Vec<_>, String>>()?;
    let keys = Secrets::try_from_iter(keys).map_err(|error| format!("WEBHOOK_SECRET: {error}"))?;
    Ok(Box::new(Meta::new(keys).verify_token(token)))
}

/// The scheme's name as a `&'static str`, for the `scheme` label of the
/// metrics: one of a fixed set, never the text of the variable itself.
pub fn scheme_label(name: &str) -> &'static str {
    SCHEMES
        .split(", ")
        .find(|known| *known == name)
        .unwrap_or("other")
}

/// What the handlers have seen.
#[derive(Debug, Default)]
pub struct Stats {
    /// Events handed to a handler, whatever the outcome.
    pub handled: AtomicU64,
    /// Events processed successfully (unknown types not counted).
    pub processed: AtomicU64,
    /// The next this many events fail with a retryable error, to simulate an
    /// outage and watch the sender retry (the end-to-end test sets it).
    pub fail_next: AtomicU32,
    /// How long each handler waits after doing its work (`HANDLER_DELAY_MS`).
    pub handler_delay: Duration,
    /// `HANDLER_FAIL_PERCENT`.
    pub fail_percent: u8,
    /// `HANDLER_PANIC_PERCENT`.
    pub panic_percent: u8,
    /// The ids of the last [`IGNORED_KEPT`] events of a type the handler
    /// ignores, for the recent-deliveries page.
    pub ignored: std::sync::Mutex<std::collections::VecDeque<String>>,
    /// With a PostgreSQL inbox: where the Petstore handler records orders.
    #[cfg(feature = "postgres")]
    pub orders: Option<Orders>,
}

/// How many ignored event ids [`Stats::ignored`] keeps.
const IGNORED_KEPT: usize = 1000;

impl Stats {
    /// `HANDLER_DELAY_MS`: the work is done and logged, the answer waits.
    async fn after_work(&self) {
        if !self.handler_delay.is_zero() {
            tokio::time::sleep(self.handler_delay).await;
        }
    }

    fn outage(&self) -> Result<(), HandlerError> {
        if self.fail_percent > 0 && rand::random_range(0..100u8) < self.fail_percent {
            return Err(HandlerError::retryable(
                "simulated failure (HANDLER_FAIL_PERCENT)",
            ));
        }
        match self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        {
            Ok(_) => Err(HandlerError::retryable("simulated outage")),
            Err(_) => Ok(()),
        }
    }

    /// `HANDLER_PANIC_PERCENT`: whether this run panics (after its `handled` line).
    fn draw_panic(&self) -> bool {
        self.panic_percent > 0 && rand::random_range(0..100u8) < self.panic_percent
    }
}

/// The receiver: its routers, and handles on its replay guard, stats, dead
/// letters, inbox and shutdown.
#[derive(Debug)]
pub struct Receiver {
    /// `POST /webhooks` behind the layer: the webhook port's only route.
    pub router: Router,
    /// `/metrics` and `/deliveries`, for the admin listener only.
    pub admin: Router,
    /// The replay guard the layer uses (synchronous mode).
    pub guard: Arc<LruGuard>,
    /// What the handlers have seen.
    pub stats: Arc<Stats>,
    /// Verified deliveries that can never be processed (synchronous mode).
    pub dead_letters: Arc<MemoryDeadLetters>,
    /// Stops taking deliveries and waits for the ones in progress.
    pub shutdown: Shutdown,
    /// Inbox mode: the store, and the worker to spawn.
    pub inbox: Option<Inbox>,
}

/// Inbox mode's parts.
#[derive(Debug)]
pub struct Inbox {
    /// The store: SQLite or PostgreSQL.
    pub store: Arc<InboxBackend>,
    /// The worker running the handlers on the stored deliveries; not yet started.
    pub worker: InboxWorker<Body, Router>,
    /// How long done and dead records and the replay keys are kept.
    pub retention: Duration,
}

/// The inbox's store, whichever `INBOX_URL` names.
#[derive(Debug)]
pub enum InboxBackend {
    /// `sqlite:PATH`.
    Sqlite(Arc<SqliteInbox>),
    /// `postgres://...`.
    #[cfg(feature = "postgres")]
    Postgres(PostgresInbox),
}

impl InboxBackend {
    /// `layer` storing its deliveries in this inbox.
    fn attach<S, G>(&self, layer: WebhookLayer<S, G>) -> WebhookLayer<S, G> {
        match self {
            Self::Sqlite(store) => layer.inbox(Arc::clone(store)),
            #[cfg(feature = "postgres")]
            Self::Postgres(store) => layer.inbox(store.clone()),
        }
    }

    /// How many handlers the worker runs at once: 32 (the worker's
    /// default), but with PostgreSQL half the store's pool, since each
    /// handler holds a connection for its transaction: the other half stays
    /// free for enqueues, leases and settles, so that slow handlers never
    /// hold up acknowledgements.
    fn handlers(&self) -> usize {
        match self {
            Self::Sqlite(_) => 32,
            #[cfg(feature = "postgres")]
            Self::Postgres(_) => tower_webhook::inbox::DEFAULT_POOL_SIZE / 2,
        }
    }

    /// The PostgreSQL store, if it is one.
    #[cfg(feature = "postgres")]
    pub fn postgres(&self) -> Option<&PostgresInbox> {
        match self {
            Self::Postgres(store) => Some(store),
            Self::Sqlite(_) => None,
        }
    }

    /// The records per state.
    pub async fn counts(&self) -> Result<Counts, InboxError> {
        match self {
            Self::Sqlite(store) => store.counts().await,
            #[cfg(feature = "postgres")]
            Self::Postgres(store) => store.counts().await,
        }
    }

    async fn list(&self, query: ListQuery) -> Result<Page, InboxError> {
        match self {
            Self::Sqlite(store) => store.list(query).await,
            #[cfg(feature = "postgres")]
            Self::Postgres(store) => store.list(query).await,
        }
    }

    async fn requeue(&self, id: RecordId) -> Result<Requeued, InboxError> {
        match self {
            Self::Sqlite(store) => store.requeue(id).await,
            #[cfg(feature = "postgres")]
            Self::Postgres(store) => store.requeue(id).await,
        }
    }

    async fn purge(&self, retention: Retention) -> Result<Purged, InboxError> {
        match self {
            Self::Sqlite(store) => store.purge(retention).await,
            #[cfg(feature = "postgres")]
            Self::Postgres(store) => store.purge(retention).await,
        }
    }

    /// SQLite: the transactions committed so far (each one sync of the log).
    pub fn transactions(&self) -> Option<u64> {
        match self {
            Self::Sqlite(store) => Some(store.write_stats().transactions),
            #[cfg(feature = "postgres")]
            Self::Postgres(_) => None,
        }
    }

    /// PostgreSQL: the statements the store sent so far, each a round trip.
    pub fn statements(&self) -> Option<u64> {
        match self {
            Self::Sqlite(_) => None,
            #[cfg(feature = "postgres")]
            Self::Postgres(store) => Some(store.statements()),
        }
    }
}

/// The SQLite inbox at `path`.
fn open_sqlite(path: &std::path::Path) -> Result<Arc<SqliteInbox>, String> {
    SqliteInbox::open(path)
        .map(Arc::new)
        .map_err(|error| format!("INBOX_URL=sqlite:{}: {}", path.display(), error_chain(&error)))
}

/// Opens the inbox `config` names, if any; with PostgreSQL, also creates
/// the example's `orders` table if it is missing.
pub async fn open_inbox(config: &Config) -> Result<Option<Arc<InboxBackend>>, String> {
    match config.inbox.as_ref().map(|inbox| &inbox.url) {
        None => Ok(None),
        Some(InboxUrl::Sqlite(path)) => Ok(Some(Arc::new(InboxBackend::Sqlite(open_sqlite(path)?)))),
        #[cfg(feature = "postgres")]
        Some(url @ InboxUrl::Postgres(text)) => {
            let store = PostgresInbox::connect(text)
                .await
                .map_err(|error| format!("INBOX_URL={url}: {}", error_chain(&error)))?;
            Orders::create_table(text)
                .await
                .map_err(|error| format!("INBOX_URL={url}: cannot create the orders table: {error}"))?;
            Ok(Some(Arc::new(InboxBackend::Postgres(store))))
        }
        // Refused by the configuration already.
        #[cfg(not(feature = "postgres"))]
        Some(url @ InboxUrl::Postgres(_)) => Err(format!("INBOX_URL={url} needs the postgres feature")),
    }
}

/// An error and its sources, on one line.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(next) = source {
        text.push_str(": ");
        text.push_str(&next.to_string());
        source = next.source();
    }
    text
}

/// With a PostgreSQL inbox, the Petstore handler records each order event
/// in the table `orders` **in the same transaction** that marks its record
/// done: a row per processed event, never two, whatever crashes, retries
/// or lost leases (a second row for an event would break the primary key).
#[cfg(feature = "postgres")]
#[derive(Debug, Clone)]
pub struct Orders {
    inbox: PostgresInbox,
    /// Who wrote the row: `BIND:PORT pid PID`, to tell replicas apart.
    handled_by: String,
}

#[cfg(feature = "postgres")]
impl Orders {
    /// The table, in the inbox's schema.
    const TABLE: &'static str = "CREATE TABLE IF NOT EXISTS orders (
    event_id text PRIMARY KEY,
    order_id text NOT NULL,
    status text NOT NULL,
    record_id bigint NOT NULL,
    attempt integer NOT NULL,
    handled_by text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
)";

    /// Creates the table if it is missing, on a connection of its own; the
    /// lock keeps replicas that start together from creating it at once.
    async fn create_table(url: &str) -> Result<(), String> {
        use tower_webhook::inbox::tokio_postgres;
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .map_err(|error| error_chain(&error))?;
        let connection = tokio::spawn(connection);
        let sql = format!(
            "BEGIN; SELECT pg_advisory_xact_lock(hashtext('tower-webhook example orders')); {}; COMMIT",
            Self::TABLE
        );
        let created = client.batch_execute(&sql).await;
        drop(client);
        let _ = connection.await;
        created.map_err(|error| error_chain(&error))
    }

    /// Records `order` for the event of `attempt` and marks its record
    /// done, in one transaction; panics before the commit when
    /// `HANDLER_PANIC_PERCENT` draws it (the transaction is then rolled back).
    async fn record(
        &self,
        stats: &Stats,
        verified: &Verified,
        attempt: Attempt,
        order: &Order,
    ) -> Result<(), HandlerError> {
        let settlement = self.inbox.settlement(attempt.id, attempt.token);
        let outcome = async {
            let tx = settlement.begin().await.map_err(|error| error_chain(&error))?;
            let insert = tx
                .prepare_cached(
                    "INSERT INTO orders (event_id, order_id, status, record_id, attempt, handled_by) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .await
                .map_err(|error| error_chain(&error))?;
            let number = i32::try_from(attempt.number).unwrap_or(i32::MAX);
            tx.execute(
                &insert,
                &[
                    &verified.id(),
                    &order.order_id,
                    &order.status,
                    &attempt.id.get(),
                    &number,
                    &self.handled_by,
                ],
            )
            .await
            .map_err(|error| error_chain(&error))?;
            // The work is written but not committed: a wait here (or a
            // crash) shows that nothing of it is kept without the settle.
            stats.after_work().await;
            Ok::<_, String>(tx)
        }
        .await;
        let panicking = stats.draw_panic();
        let (result, outcome) = match outcome {
            _ if panicking => ("simulated panic", Ok(())),
            Ok(tx) => match tx.commit(Settle::Done).await {
                Ok(Settled::Applied) => ("processed", Ok(())),
                // Another worker holds the record now: it records the order.
                Ok(Settled::Stale) => ("lease lost", Ok(())),
                Err(error) => ("retryable failure", Err(error_chain(&error))),
            },
            Err(error) => ("retryable failure", Err(error)),
        };
        stats.handled.fetch_add(1, Ordering::Relaxed);
        if result == "processed" {
            stats.processed.fetch_add(1, Ordering::Relaxed);
        }
        tracing::info!(
            event_type = verified.event_type().unwrap_or("-"),
            event_id = verified.id(),
            attempt = attempt.number,
            record = attempt.id.get(),
            order_id = order.order_id.as_str(),
            order_status = order.status.as_str(),
            error = outcome.as_ref().err(),
            result,
            "handled"
        );
        if panicking {
            panic!("simulated panic (HANDLER_PANIC_PERCENT)");
        }
        outcome.map_err(|error| HandlerError::retryable(format!("orders: {error}")))
    }
}

/// Builds the receiver for `config`, opening its SQLite inbox if it has one
/// (a PostgreSQL inbox opens asynchronously: [`open_inbox`], then
/// [`receiver_with_inbox`]).
pub fn receiver(config: &Config) -> Result<Receiver, String> {
    let store = match config.inbox.as_ref().map(|inbox| &inbox.url) {
        Some(InboxUrl::Sqlite(path)) => Some(Arc::new(InboxBackend::Sqlite(open_sqlite(path)?))),
        Some(url @ InboxUrl::Postgres(_)) => {
            return Err(format!(
                "INBOX_URL={url}: a PostgreSQL inbox opens asynchronously (open_inbox)"
            ))
        }
        None => None,
    };
    receiver_with_inbox(config, store)
}

/// Builds the receiver for `config` on `store`, the inbox [`open_inbox`]
/// opened (`None`: the synchronous mode).
pub fn receiver_with_inbox(config: &Config, store: Option<Arc<InboxBackend>>) -> Result<Receiver, String> {
    let guard = Arc::new(LruGuard::new(config.replay_capacity));
    let stats = Arc::new(Stats {
        handler_delay: config.handler_delay,
        fail_percent: config.handler_fail_percent,
        panic_percent: config.handler_panic_percent,
        #[cfg(feature = "postgres")]
        orders: store
            .as_deref()
            .and_then(InboxBackend::postgres)
            .map(|inbox| Orders {
                inbox: inbox.clone(),
                handled_by: format!("{}:{} pid {}", config.bind, config.port, std::process::id()),
            }),
        ..Stats::default()
    });
    let dead_letters = Arc::new(MemoryDeadLetters::default());
    let prometheus = prometheus()?;
    let recent = RecentDeliveries::new(config.recent_deliveries);
    let layer = WebhookLayer::new(match (config.scheme.as_str(), &config.meta_verify_token) {
        ("meta", Some(token)) => meta_with_verify_token(&config.secrets, token)?,
        ("standard" | "svix", _) if config.standard_policy.is_some() => standard_with_policy(
            &config.scheme,
            &config.secrets,
            config.tolerance,
            config.standard_policy.as_deref().unwrap_or("any"),
        )?,
        // `Config::from_lookup` refused, or warned about, a short secret.
        _ => scheme_checked(
            &config.scheme,
            &config.secrets,
            config.tolerance,
            config.public_url.as_deref(),
            if config.allow_short_secret {
                ShortSecrets::Accept
            } else {
                ShortSecrets::Refuse
            },
        )?,
    })
    .scheme_name(scheme_label(&config.scheme))
    .observer((Metrics::new(), recent.clone()))
    .guard(Arc::clone(&guard))
    .body_limit(config.max_body_bytes)
    // A sender has its whole body ready: a stalled upload is not one.
    .body_timeout(Duration::from_secs(10))
    .concurrency_limit(config.max_concurrent_handlers)
    .dead_letters(Arc::clone(&dead_letters));
    let layer = match &store {
        Some(store) => store.attach(layer),
        None => layer,
    };
    let (layer, handler) = match config.scheme.as_str() {
        // The Petstore handler takes a `Webhook<PetstoreEvent>`: the layer
        // parses each payload into one as it reads the id and type, and the
        // extractor takes it, so the body is parsed once.
        "petstore" => (layer.decode_as::<PetstoreEvent>(), post(petstore)),
        // Twilio posts form-encoded parameters, not JSON.
        "twilio" => (layer, post(form)),
        // Meta's verification request is a GET, answered by the layer.
        "meta" => (layer, post(raw).get(raw)),
        _ => (layer, post(raw)),
    };
    let shutdown = layer.shutdown_handle();
    // The handlers alone: what the inbox worker runs on stored deliveries.
    let handlers = Router::new()
        .route("/webhooks", handler.clone())
        .with_state(Arc::clone(&stats));
    // The layer wraps the routed methods only: another method is answered
    // `405 Method Not Allowed` (with `Allow`), not `401` for its missing signature.
    let router = Router::new()
        .route("/webhooks", handler.route_layer(layer.clone()))
        .with_state(Arc::clone(&stats));
    let inbox = match (store, &config.inbox) {
        (Some(store), Some(settings)) => Some(Inbox {
            worker: InboxWorker::new(&layer, handlers)
                .map_err(|error| error.to_string())?
                .max_attempts(settings.max_attempts)
                .lease_time(settings.lease)
                .backoff(Backoff::new(settings.backoff, Duration::from_secs(3600)))
                .concurrency(store.handlers()),
            store,
            retention: settings.retention,
        }),
        _ => None,
    };
    let pages = Pages {
        recent,
        inbox: inbox.as_ref().map(|inbox| Arc::clone(&inbox.store)),
        page_size: config.recent_deliveries.min(1000),
        stats: Arc::clone(&stats),
        dead_letters: Arc::clone(&dead_letters),
    };
    let admin = Router::new()
        .route("/metrics", get(move || std::future::ready(prometheus.render())))
        .route("/deliveries", get(deliveries))
        .route("/deliveries/{id}/requeue", post(requeue))
        .with_state(Arc::new(pages))
        .layer(axum::middleware::from_fn_with_state(
            config.admin_addr,
            admin_host_only,
        ));
    Ok(Receiver {
        router,
        admin,
        guard,
        stats,
        dead_letters,
        shutdown,
        inbox,
    })
}

/// What the admin pages read.
struct Pages {
    recent: RecentDeliveries,
    inbox: Option<Arc<InboxBackend>>,
    page_size: usize,
    /// For the events the handler ignored (shown `ignored`, not `processed`).
    stats: Arc<Stats>,
    /// For a dead letter's reason, which the layer's report does not carry.
    dead_letters: Arc<MemoryDeadLetters>,
}

/// Whether `host` (a `Host` header's value) names the admin listener: its
/// own address, `localhost`, or a loopback IP, with any port.
pub fn admin_host_allowed(host: &str, admin: SocketAddr) -> bool {
    let name = match host.strip_prefix('[') {
        // `[::1]:3001`
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    };
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match name.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback() || ip == admin.ip(),
        Err(_) => false,
    }
}

/// Refuses a request to the admin listener whose `Host` is not its own (a
/// browser led there by a rebound DNS name sends the attacker's name).
async fn admin_host_only(
    State(admin): State<SocketAddr>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let host = request.headers().get(HOST).and_then(|host| host.to_str().ok());
    if !host.is_some_and(|host| admin_host_allowed(host, admin)) {
        tracing::warn!(host = ?host, "admin request for another host refused");
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "this listener serves only its own address\n",
        )
            .into_response();
    }
    next.run(request).await
}

/// Whether a state-changing request comes from the admin page itself: its
/// `Origin` names the host the request was sent to, or the browser says
/// `Sec-Fetch-Site: same-origin`. A request with neither (no browser sends
/// a `POST` without `Origin`) is refused too.
pub fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site == "same-origin";
    }
    let (Some(origin), Some(host)) = (headers.get(ORIGIN), headers.get(HOST)) else {
        return false;
    };
    let (Ok(origin), Ok(host)) = (origin.to_str(), host.to_str()) else {
        return false;
    };
    origin
        .strip_prefix("http://")
        .is_some_and(|origin_host| origin_host.eq_ignore_ascii_case(host))
}

/// The process's Prometheus recorder, installed on first use (a process has
/// one global recorder; the tests build several receivers).
fn prometheus() -> Result<PrometheusHandle, String> {
    static HANDLE: std::sync::OnceLock<Result<PrometheusHandle, String>> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            // Seconds, from 100 µs (a verification) to 10 s (a slow handler).
            let buckets = [
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                5.0, 10.0,
            ];
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_duration_seconds".to_owned()), &buckets)
                .and_then(PrometheusBuilder::install_recorder)
                .map_err(|error| format!("cannot install the Prometheus recorder: {error}"))?;
            Metrics::describe();
            Ok(handle)
        })
        .clone()
}

/// `GET /deliveries`: the page for a browser, JSON for anyone else; the
/// recent deliveries, or in inbox mode the inbox.
async fn deliveries(
    State(pages): State<Arc<Pages>>,
    Query(query): Query<DeliveriesQuery>,
    headers: HeaderMap,
) -> Response {
    let html = prefers_html(&headers);
    let mut response = match (&pages.inbox, html) {
        (None, true) => (
            [(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))],
            DELIVERIES_PAGE,
        )
            .into_response(),
        (None, false) => axum::Json(recent_json(&pages)).into_response(),
        (Some(_), true) => (
            [(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))],
            INBOX_PAGE,
        )
            .into_response(),
        (Some(store), false) => match inbox_json(store, &query, pages.page_size).await {
            Ok(json) => axum::Json(json).into_response(),
            Err(error) => {
                tracing::error!(%error, "inbox could not be read");
                (StatusCode::SERVICE_UNAVAILABLE, "inbox unavailable\n").into_response()
            }
        },
    };
    let headers = response.headers_mut();
    headers.insert(VARY, HeaderValue::from_static("accept"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The recent deliveries as JSON, with what the example knows beyond the
/// layer's report: a dead letter's reason (the sink has it), and `ignored`
/// for an event of a type the handler ignores (2xx, so `processed` to the
/// layer).
fn recent_json(pages: &Pages) -> Vec<serde_json::Value> {
    let letters = pages.dead_letters.letters();
    let ignored = pages
        .stats
        .ignored
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    pages
        .recent
        .snapshot()
        .iter()
        .map(|record| {
            let mut json = serde_json::to_value(record).unwrap_or_default();
            let id = json["event_id"].as_str().map(str::to_owned);
            match (json["outcome"].as_str(), id) {
                (Some("dead_lettered"), Some(id)) if json["reason"].is_null() => {
                    if let Some(letter) = letters.iter().rev().find(|letter| letter.id() == id) {
                        json["reason"] = letter.reason().into();
                    }
                }
                (Some("processed"), Some(id)) if ignored.contains(&id) => {
                    json["outcome"] = "ignored".into();
                    json["reason"] = "type not handled by this receiver".into();
                }
                _ => {}
            }
            json
        })
        .collect()
}

/// `GET /deliveries?state=dead&before=ID` in inbox mode.
#[derive(Debug, Default, Deserialize)]
struct DeliveriesQuery {
    state: Option<String>,
    before: Option<i64>,
}

/// The inbox as JSON: the counts per state and one page of records.
async fn inbox_json(
    store: &InboxBackend,
    query: &DeliveriesQuery,
    page_size: usize,
) -> Result<serde_json::Value, tower_webhook::inbox::InboxError> {
    let mut list = ListQuery::newest(page_size);
    if let Some(state) = query.state.as_deref().and_then(InboxState::from_label) {
        list = list.state(state);
    }
    if let Some(before) = query.before {
        list = list.before(RecordId::new(before));
    }
    let counts = store.counts().await?;
    let page = store.list(list).await?;
    let ms = |time: std::time::SystemTime| {
        time.duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as u64)
    };
    let records: Vec<serde_json::Value> = page
        .entries
        .iter()
        .map(|entry| {
            serde_json::json!({
                "id": entry.id.get(),
                "scheme": entry.scheme,
                "event_id": entry.event_id,
                "event_type": entry.event_type,
                "state": entry.state.label(),
                "attempts": entry.attempts,
                "received_at_ms": ms(entry.received_at),
                "next_attempt_at_ms": entry.next_attempt_at.map(ms),
                "finished_at_ms": entry.finished_at.map(ms),
                "reason": entry.last_error,
            })
        })
        .collect();
    Ok(serde_json::json!({
        "counts": counts,
        "records": records,
        "next": page.next.map(RecordId::get),
    }))
}

/// `POST /deliveries/ID/requeue`: a dead record pending again, asked by the
/// admin page only.
async fn requeue(State(pages): State<Arc<Pages>>, Path(id): Path<i64>, headers: HeaderMap) -> Response {
    if !same_origin(&headers) {
        tracing::warn!(record = id, "requeue refused: not from the admin page's origin");
        return (StatusCode::FORBIDDEN, "requeue only from the admin page\n").into_response();
    }
    let Some(store) = &pages.inbox else {
        return (StatusCode::NOT_FOUND, "no inbox: INBOX_URL is not set\n").into_response();
    };
    match store.requeue(RecordId::new(id)).await {
        Ok(Requeued::Requeued) => {
            tracing::info!(record = id, "dead record requeued from the admin page");
            (StatusCode::OK, "requeued\n").into_response()
        }
        Ok(Requeued::NotDead(state)) => (
            StatusCode::CONFLICT,
            format!("record {id} is {state}, not dead\n"),
        )
            .into_response(),
        Ok(Requeued::NotFound) => (StatusCode::NOT_FOUND, format!("no record {id}\n")).into_response(),
        Err(error) => {
            tracing::error!(%error, record = id, "requeue failed");
            (StatusCode::SERVICE_UNAVAILABLE, "inbox unavailable\n").into_response()
        }
    }
}

/// Whether `Accept` ranks `text/html` above `application/json` (a browser's
/// `text/html,...,*/*;q=0.8` does; `curl`'s `*/*` and a missing header get JSON).
pub fn prefers_html(headers: &HeaderMap) -> bool {
    let mut html = 0.0_f32;
    let mut json = 0.0_f32;
    for value in headers.get_all(ACCEPT) {
        let Ok(value) = value.to_str() else { continue };
        for range in value.split(',') {
            let mut params = range.split(';');
            let media = params.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = params
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match media.as_str() {
                "text/html" | "application/xhtml+xml" => html = html.max(q),
                "application/json" => json = json.max(q),
                _ => {}
            }
        }
    }
    html > json
}

/// The admin pages' common head: their title, and the start of their style
/// (each page adds its rows' colours and closes it).
macro_rules! page_head {
    ($title:literal) => {
        concat!(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
            $title,
            "</title>\n<style>\n",
            r#"  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1f2328; }
  h1 { font-size: 1.25rem; margin: 0 0 .25rem; }
  p { margin: 0 0 1rem; color: #57606a; }
  table { border-collapse: collapse; width: 100%; table-layout: fixed; }
  th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #d0d7de; overflow-wrap: anywhere; vertical-align: top; }
  th { background: #f6f8fa; position: sticky; top: 0; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  td.mono { font-family: ui-monospace, monospace; }
  col.narrow { width: 6.5rem; }
  col.wide { width: 24%; }
"#
        )
    };
}

/// The recent-deliveries page: self-contained (no external script, style or
/// font), it asks `/deliveries` for JSON every two seconds and fills the
/// table with `textContent`, so nothing a sender put in an id or a type is
/// ever parsed as HTML.
const DELIVERIES_PAGE: &str = concat!(
    page_head!("Recent webhook deliveries"),
    r#"  tr.ok { background: #dafbe1; }
  tr.ignored { background: #eaeef2; }
  tr.info { background: #ddf4ff; }
  tr.retry { background: #fff8c5; }
  tr.fail { background: #ffebe9; }
  tr.reject { background: #ffd8d3; }
</style>
</head>
<body>
<h1>Recent webhook deliveries</h1>
<p id="status">Loading&hellip;</p>
<table>
  <colgroup>
    <col class="narrow"><col class="narrow"><col><col><col class="narrow"><col class="narrow"><col class="wide">
    <col class="narrow"><col class="narrow"><col class="narrow">
  </colgroup>
  <thead><tr>
    <th>time</th><th>scheme</th><th>event id</th><th>type</th><th>outcome</th><th>status</th><th>reason</th>
    <th>verify µs</th><th>handler µs</th><th>total µs</th>
  </tr></thead>
  <tbody id="rows"></tbody>
</table>
<script>
  const classes = {
    processed: "ok", ignored: "ignored", permanent_failure: "fail", dead_lettered: "fail", duplicate: "info", handshake: "info",
    in_flight: "retry", shed: "retry", guard_unavailable: "retry", handler_deadline: "retry", cancelled: "retry",
    handler_failed: "fail", handler_panicked: "fail",
  };
  function cell(row, text, kind) {
    const td = row.insertCell();
    td.textContent = text === null || text === undefined ? "" : String(text);
    if (kind) td.className = kind;
  }
  async function refresh() {
    try {
      const response = await fetch(location.pathname, { headers: { Accept: "application/json" }, cache: "no-store" });
      const deliveries = await response.json();
      const rows = document.getElementById("rows");
      rows.replaceChildren();
      for (const d of deliveries) {
        const row = rows.insertRow();
        row.className = classes[d.outcome] || "reject";
        cell(row, new Date(d.received_at_ms).toLocaleTimeString());
        cell(row, d.scheme);
        cell(row, d.event_id, "mono");
        cell(row, d.event_type, "mono");
        cell(row, d.outcome);
        cell(row, d.status, "num");
        cell(row, d.reason);
        cell(row, d.verify_us, "num");
        cell(row, d.handler_us, "num");
        cell(row, d.total_us, "num");
      }
      document.getElementById("status").textContent =
        deliveries.length + " most recent, newest first; refreshed " + new Date().toLocaleTimeString();
    } catch (error) {
      document.getElementById("status").textContent = "Cannot load deliveries: " + error;
    }
  }
  refresh();
  setInterval(refresh, 2000);
</script>
</body>
</html>
"#
);

/// The inbox page: self-contained like [`DELIVERIES_PAGE`], filled with
/// `textContent` from `/deliveries` as JSON every two seconds. A dead
/// record's button requeues it with a `POST` from this page's own origin.
const INBOX_PAGE: &str = concat!(
    page_head!("Webhook inbox"),
    r#"  tr.done { background: #dafbe1; }
  tr.pending, tr.running { background: #ddf4ff; }
  tr.retrying { background: #fff8c5; }
  tr.dead { background: #ffebe9; }
</style>
</head>
<body>
<h1>Webhook inbox</h1>
<p id="status">Loading&hellip;</p>
<table>
  <thead><tr>
    <th>#</th><th>received</th><th>event id</th><th>type</th><th>state</th><th>attempts</th>
    <th>next attempt</th><th>finished</th><th>reason</th><th></th>
  </tr></thead>
  <tbody id="rows"></tbody>
</table>
<script>
  function time(ms) { return ms === null || ms === undefined ? "" : new Date(ms).toLocaleTimeString(); }
  function cell(row, text, kind) {
    const td = row.insertCell();
    td.textContent = text === null || text === undefined ? "" : String(text);
    if (kind) td.className = kind;
    return td;
  }
  async function requeue(id) {
    const response = await fetch(location.pathname + "/" + id + "/requeue", { method: "POST" });
    document.getElementById("status").textContent = "requeue " + id + ": " + (await response.text());
    refresh();
  }
  async function refresh() {
    try {
      const response = await fetch(location.pathname + location.search, { headers: { Accept: "application/json" }, cache: "no-store" });
      const inbox = await response.json();
      const rows = document.getElementById("rows");
      rows.replaceChildren();
      for (const r of inbox.records) {
        const row = rows.insertRow();
        row.className = r.state;
        cell(row, r.id, "num");
        cell(row, time(r.received_at_ms));
        cell(row, r.event_id, "mono");
        cell(row, r.event_type, "mono");
        cell(row, r.state);
        cell(row, r.attempts, "num");
        cell(row, r.state === "done" || r.state === "dead" ? "" : time(r.next_attempt_at_ms));
        cell(row, time(r.finished_at_ms));
        cell(row, r.reason);
        const action = cell(row, "");
        if (r.state === "dead") {
          const button = document.createElement("button");
          button.textContent = "requeue";
          button.addEventListener("click", () => requeue(r.id));
          action.appendChild(button);
        }
      }
      const c = inbox.counts;
      document.getElementById("status").textContent =
        `pending ${c.pending}, running ${c.running}, retrying ${c.retrying}, done ${c.done}, dead ${c.dead}; ` +
        `newest first; refreshed ${new Date().toLocaleTimeString()}`;
    } catch (error) {
      document.getElementById("status").textContent = "Cannot load the inbox: " + error;
    }
  }
  refresh();
  setInterval(refresh, 2000);
</script>
</body>
</html>
"#
);

/// An order, as the Petstore sends it in `data`: the source article's
/// `{"orderId":"123","status":"completed","completedAt":"2024-01-01T12:00:00Z"}`.
/// `completedAt` is only on `order.completed`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Order {
    order_id: String,
    status: String,
    #[serde(default)]
    completed_at: Option<String>,
}

/// The Petstore's events. Unknown types are caught, so they are acknowledged
/// instead of refused and retried.
///
/// The same shape as `#[serde(tag = "type")]` with a `#[serde(other)]`
/// catch-all, deserialized by hand: serde's internally tagged enums buffer
/// the whole object (every key and string copied) before they look at the
/// tag. This reads `type`, then `data` straight into an [`Order`]; only a
/// body that puts `data` before `type` is buffered, as a `serde_json::Value`.
#[derive(Debug)]
enum PetstoreEvent {
    OrderCreated {
        data: Order,
    },
    OrderCompleted {
        data: Order,
    },
    OrderCancelled {
        data: Order,
    },
    Unknown,
    /// No `type` in the body: the handler takes the type the layer read
    /// from `X-Petstore-Event`, and the `data` kept as it was.
    Untyped {
        data: Option<serde_json::Value>,
    },
}

/// The envelope's fields the receiver reads; any other is skipped.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum EnvelopeField {
    Type,
    Data,
    #[serde(other)]
    Other,
}

/// The event types, as `type` names them.
#[derive(Clone, Copy, Deserialize)]
#[serde(field_identifier)]
enum EventKind {
    #[serde(rename = "order.created")]
    OrderCreated,
    #[serde(rename = "order.completed")]
    OrderCompleted,
    #[serde(rename = "order.cancelled")]
    OrderCancelled,
    #[serde(other)]
    Unknown,
}

impl PetstoreEvent {
    /// The event a body without `type` is, given the type the layer read
    /// from `X-Petstore-Event` (its fallback for the type).
    fn typed(event_type: Option<&str>, data: Option<serde_json::Value>) -> Result<Self, HandlerError> {
        let event: fn(Order) -> PetstoreEvent = match event_type {
            Some("order.created") => |data| PetstoreEvent::OrderCreated { data },
            Some("order.completed") => |data| PetstoreEvent::OrderCompleted { data },
            Some("order.cancelled") => |data| PetstoreEvent::OrderCancelled { data },
            Some(_) => return Ok(PetstoreEvent::Unknown),
            None => {
                return Err(HandlerError::permanent(
                    "no event type: the body has no `type` and there is no X-Petstore-Event header",
                ))
            }
        };
        let data = data.ok_or_else(|| HandlerError::permanent("missing field `data`"))?;
        Order::deserialize(data)
            .map(event)
            .map_err(|error| HandlerError::permanent(format!("data: {error}")))
    }
}

impl<'de> Deserialize<'de> for PetstoreEvent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(PetstoreEventVisitor)
    }
}

struct PetstoreEventVisitor;

impl<'de> serde::de::Visitor<'de> for PetstoreEventVisitor {
    type Value = PetstoreEvent;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Petstore event: an object with a `type`")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<PetstoreEvent, A::Error> {
        use serde::de::{Error, IgnoredAny};
        let mut kind = None;
        let mut data: Option<Order> = None;
        // `data` met before `type`: kept until the type says what it is.
        let mut early: Option<serde_json::Value> = None;
        let mut seen_data = false;
        while let Some(field) = map.next_key::<EnvelopeField>()? {
            match field {
                EnvelopeField::Type if kind.is_some() => return Err(Error::duplicate_field("type")),
                EnvelopeField::Type => kind = Some(map.next_value::<EventKind>()?),
                EnvelopeField::Data if seen_data => return Err(Error::duplicate_field("data")),
                EnvelopeField::Data => {
                    seen_data = true;
                    match kind {
                        Some(EventKind::Unknown) => {
                            map.next_value::<IgnoredAny>()?;
                        }
                        Some(_) => data = Some(map.next_value()?),
                        None => early = Some(map.next_value()?),
                    }
                }
                EnvelopeField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let Some(kind) = kind else {
            return Ok(PetstoreEvent::Untyped { data: early });
        };
        let event: fn(Order) -> PetstoreEvent = match kind {
            EventKind::OrderCreated => |data| PetstoreEvent::OrderCreated { data },
            EventKind::OrderCompleted => |data| PetstoreEvent::OrderCompleted { data },
            EventKind::OrderCancelled => |data| PetstoreEvent::OrderCancelled { data },
            EventKind::Unknown => return Ok(PetstoreEvent::Unknown),
        };
        match (data, early) {
            (Some(data), _) => Ok(event(data)),
            (None, Some(early)) => Order::deserialize(early).map(event).map_err(Error::custom),
            (None, None) => Err(Error::missing_field("data")),
        }
    }
}

async fn petstore(
    State(stats): State<Arc<Stats>>,
    attempt: Option<Extension<Attempt>>,
    Webhook { event, verified }: Webhook<PetstoreEvent>,
) -> Result<(), HandlerError> {
    // A body without `type` takes the one the layer read from `X-Petstore-Event`.
    let event = match event {
        PetstoreEvent::Untyped { data } => PetstoreEvent::typed(verified.event_type(), data),
        event => Ok(event),
    };
    let (order, outcome) = match event {
        Ok(
            PetstoreEvent::OrderCreated { data }
            | PetstoreEvent::OrderCompleted { data }
            | PetstoreEvent::OrderCancelled { data },
        ) => {
            let outcome = if data.order_id.is_empty() {
                // Will never validate: acknowledge so the sender stops retrying.
                Err(HandlerError::permanent("order event without an orderId"))
            } else {
                stats.outage()
            };
            // A PostgreSQL inbox: the order is recorded with the settle.
            #[cfg(feature = "postgres")]
            if let (Ok(()), Some(orders), Some(Extension(attempt))) = (&outcome, &stats.orders, attempt) {
                return orders.record(&stats, &verified, attempt, &data).await;
            }
            (Some(data), outcome.map(|()| true))
        }
        Ok(PetstoreEvent::Unknown | PetstoreEvent::Untyped { .. }) => (None, Ok(false)),
        Err(error) => (None, Err(error)),
    };
    let outcome = settle(
        &stats,
        &verified,
        attempt,
        verified.event_type(),
        order.as_ref(),
        outcome,
    );
    stats.after_work().await;
    outcome
}

/// Any other scheme: every verified delivery, whatever its payload. Not
/// every sender sends JSON: Slack's slash commands and interactivity are
/// form-encoded, so the bytes are taken as they are and only looked into
/// for a `type` when they are JSON.
async fn raw(
    State(stats): State<Arc<Stats>>,
    attempt: Option<Extension<Attempt>>,
    Extension(verified): Extension<Verified>,
) -> Result<(), HandlerError> {
    // Standard Webhooks carries the type in the payload, not in a header.
    let payload_type = || {
        #[derive(Deserialize)]
        struct Typed {
            #[serde(rename = "type")]
            event_type: String,
        }
        serde_json::from_slice::<Typed>(verified.body())
            .ok()
            .map(|t| t.event_type)
    };
    let event_type = verified.event_type().map(str::to_owned).or_else(payload_type);
    let outcome = stats.outage().map(|()| true);
    let outcome = settle(&stats, &verified, attempt, event_type.as_deref(), None, outcome);
    stats.after_work().await;
    outcome
}

/// A form-encoded delivery (Twilio): the verified bytes as they are.
async fn form(
    State(stats): State<Arc<Stats>>,
    attempt: Option<Extension<Attempt>>,
    axum::Extension(verified): axum::Extension<Verified>,
) -> Result<(), HandlerError> {
    let outcome = stats.outage().map(|()| true);
    settle(&stats, &verified, attempt, verified.event_type(), None, outcome)
}

/// Counts and logs one handled event: the one `handled` line per attempt
/// (then panics, if `HANDLER_PANIC_PERCENT` draws it).
fn settle(
    stats: &Stats,
    verified: &Verified,
    attempt: Option<Extension<Attempt>>,
    event_type: Option<&str>,
    order: Option<&Order>,
    outcome: Result<bool, HandlerError>,
) -> Result<(), HandlerError> {
    stats.handled.fetch_add(1, Ordering::Relaxed);
    let panicking = stats.draw_panic();
    let result = match &outcome {
        _ if panicking => "simulated panic",
        Ok(true) => {
            stats.processed.fetch_add(1, Ordering::Relaxed);
            "processed"
        }
        Ok(false) => {
            let mut ignored = stats
                .ignored
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if ignored.len() >= IGNORED_KEPT {
                ignored.pop_front();
            }
            ignored.push_back(verified.id().to_owned());
            "ignored (unknown type)"
        }
        Err(error) if error.is_permanent() => "permanent failure",
        Err(_) => "retryable failure",
    };
    tracing::info!(
        event_type = event_type.unwrap_or("-"),
        event_id = verified.id(),
        attempt = attempt.map(|Extension(attempt)| attempt.number),
        order_id = order.map(|o| o.order_id.as_str()),
        order_status = order.map(|o| o.status.as_str()),
        completed_at = order.and_then(|o| o.completed_at.as_deref()),
        result,
        "handled"
    );
    if panicking {
        panic!("simulated panic (HANDLER_PANIC_PERCENT)");
    }
    outcome.map(|_| ())
}

/// `http://host:port/webhooks` for a local sender.
fn local_url(addr: SocketAddr) -> String {
    let host = match addr.ip() {
        ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/webhooks", SocketAddr::new(host, addr.port()))
}

#[path = "support/serve.rs"]
mod serve_support;
pub use serve_support::{serve, HEADER_READ_TIMEOUT};

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: a log file or a pipe gets plain text (and
    // the per-line escape codes cost formatting time under load).
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout())
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("receiver: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let config = Config::from_env()?;
    let Receiver {
        router,
        admin,
        guard,
        stats,
        dead_letters,
        shutdown,
        inbox,
    } = receiver_with_inbox(&config, open_inbox(&config).await?)?;
    let addr = SocketAddr::new(config.bind, config.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|error| format!("cannot listen on {addr}: {error}"))?;
    let addr = listener.local_addr().map_err(|error| error.to_string())?;
    let admin_listener = tokio::net::TcpListener::bind(config.admin_addr)
        .await
        .map_err(|error| format!("ADMIN_ADDR={}: cannot listen: {error}", config.admin_addr))?;
    let admin_addr = admin_listener.local_addr().map_err(|error| error.to_string())?;
    tracing::info!(
        %addr,
        scheme = config.scheme,
        secrets = config.secrets.len(),
        max_body_bytes = config.max_body_bytes,
        replay_capacity = config.replay_capacity,
        max_concurrent_handlers = config.max_concurrent_handlers,
        handler_delay_ms = config.handler_delay.as_millis(),
        inbox = config.inbox.as_ref().map(|inbox| inbox.url.to_string()),
        "receiving webhooks on POST /webhooks"
    );
    tracing::info!(
        %admin_addr,
        metrics = format!("http://{admin_addr}/metrics"),
        deliveries = format!("http://{admin_addr}/deliveries"),
        "watching"
    );
    // Bounds the exporter's memory between scrapes.
    if let Ok(prometheus) = prometheus() {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                prometheus.run_upkeep();
            }
        });
    }
    // Inbox mode: the worker, and an hourly purge of what is past retention.
    let (worker, store) = match inbox {
        Some(Inbox {
            store,
            worker,
            retention,
        }) => {
            let purging = Arc::clone(&store);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(3600));
                loop {
                    tick.tick().await;
                    match purging.purge(Retention::both(retention)).await {
                        Ok(purged) => {
                            tracing::info!(records = purged.records, keys = purged.keys, "inbox purged")
                        }
                        Err(error) => tracing::error!(%error, "inbox purge failed"),
                    }
                }
            });
            let counts = store.counts().await.map_err(|error| error.to_string())?;
            tracing::info!(
                pending = counts.pending,
                running = counts.running,
                retrying = counts.retrying,
                done = counts.done,
                dead = counts.dead,
                "inbox opened; its worker starts"
            );
            (Some(worker.spawn()), Some(store))
        }
        None => (None, None),
    };
    if config.generated_secret {
        // Printed for the person at the terminal, never logged.
        let secret = &config.secrets[0];
        println!("No WEBHOOK_SECRET set; generated one for this run:\n\n    {secret}\n");
        println!("Send a signed test event from another terminal:\n");
        println!(
            "    cargo run --example send -- --url {} --secret '{secret}' --scheme {}\n",
            local_url(addr),
            config.scheme
        );
    }
    // On Ctrl-C or SIGTERM: both servers stop accepting connections, the
    // layer refuses new deliveries on open ones and waits for those in
    // progress (handlers whose sender went away included), and the inbox
    // worker finishes or releases what it runs.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let draining = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            shutdown_signal().await;
            let _ = stop.send(true);
            shutdown.drain(DRAIN_TIMEOUT).await
        }
    });
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let admin_server = tokio::spawn(serve(
        admin_listener,
        admin,
        HEADER_READ_TIMEOUT,
        until_stopped(stopped.clone()),
    ));
    serve(listener, router, HEADER_READ_TIMEOUT, until_stopped(stopped)).await?;
    let drained = draining.await.map_err(|error| format!("drain failed: {error}"))?;
    let worker = match worker {
        Some(worker) => Some(worker.drain(DRAIN_TIMEOUT).await),
        None => None,
    };
    let _ = admin_server.await;
    tracing::info!(
        drained = drained.completed,
        cancelled = drained.cancelled,
        worker_completed = worker.map(|w| w.completed),
        worker_released = worker.map(|w| w.released),
        handled = stats.handled.load(Ordering::Relaxed),
        processed = stats.processed.load(Ordering::Relaxed),
        dead_letters = dead_letters.len(),
        remembered = guard.done_len(),
        inbox_transactions = store.as_ref().and_then(|store| store.transactions()),
        inbox_statements = store.as_ref().and_then(|store| store.statements()),
        "shut down"
    );
    Ok(())
}

/// How long a shutdown waits for the handlers in progress.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(25);

/// Resolves on Ctrl-C, or SIGTERM (what a container runtime sends).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C; stop the process another way");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: no new connections; draining the deliveries in progress");
}

#[cfg(test)]
mod petstore_event_tests {
    use super::{Order, PetstoreEvent};

    fn parse(json: &str) -> Result<PetstoreEvent, serde_json::Error> {
        serde_json::from_str(json)
    }

    fn order(event: PetstoreEvent) -> Option<Order> {
        match event {
            PetstoreEvent::OrderCreated { data }
            | PetstoreEvent::OrderCompleted { data }
            | PetstoreEvent::OrderCancelled { data } => Some(data),
            PetstoreEvent::Unknown | PetstoreEvent::Untyped { .. } => None,
        }
    }

    #[test]
    fn reads_the_article_shape_in_either_order() {
        let article = r#"{"id":"evt_123","type":"order.completed","created":1710331200,"data":{"orderId":"123","status":"completed","completedAt":"2024-01-01T12:00:00Z"}}"#;
        let event = parse(article).unwrap();
        assert!(matches!(event, PetstoreEvent::OrderCompleted { .. }));
        let data = order(event).unwrap();
        assert_eq!(
            (data.order_id.as_str(), data.status.as_str()),
            ("123", "completed")
        );
        assert_eq!(data.completed_at.as_deref(), Some("2024-01-01T12:00:00Z"));

        let data_first = r#"{"data":{"orderId":"9","status":"cancelled"},"id":"e","type":"order.cancelled"}"#;
        let event = parse(data_first).unwrap();
        assert!(matches!(event, PetstoreEvent::OrderCancelled { .. }));
        assert_eq!(order(event).unwrap().order_id, "9");
        let created = parse(r#"{"type":"order.created","data":{"orderId":"1","status":"created"}}"#).unwrap();
        assert!(matches!(created, PetstoreEvent::OrderCreated { .. }));
    }

    #[test]
    fn an_unknown_type_is_caught_whatever_its_data() {
        for json in [
            r#"{"id":"e2","type":"pet.adopted","data":{"pet":"Rex"}}"#,
            r#"{"id":"e2","data":[1,2],"type":"pet.adopted"}"#,
            r#"{"type":"pet.adopted"}"#,
        ] {
            assert!(matches!(parse(json).unwrap(), PetstoreEvent::Unknown), "{json}");
        }
    }

    #[test]
    fn a_body_without_type_takes_the_headers_type() {
        let body = r#"{"id":"no type","data":{"orderId":"1","status":"created"}}"#;
        let PetstoreEvent::Untyped { data } = parse(body).unwrap() else {
            panic!("{body} is untyped");
        };
        let event = PetstoreEvent::typed(Some("order.created"), data.clone()).unwrap();
        assert_eq!(order(event).unwrap().order_id, "1");
        assert!(matches!(
            PetstoreEvent::typed(Some("pet.adopted"), data.clone()),
            Ok(PetstoreEvent::Unknown)
        ));
        assert!(PetstoreEvent::typed(None, data).unwrap_err().is_permanent());
        assert!(PetstoreEvent::typed(Some("order.created"), None)
            .unwrap_err()
            .is_permanent());
    }

    #[test]
    fn a_known_type_with_the_wrong_data_is_a_data_error() {
        for json in [
            r#"{"type":"order.created","data":{"orderId":7,"status":"created"}}"#,
            r#"{"data":{"status":"created"},"type":"order.created"}"#,
            r#"{"type":"order.created"}"#,
            r#"{"type":"order.created","type":"pet.adopted","data":{"orderId":"1","status":"created"}}"#,
            r#"["type","order.created"]"#,
        ] {
            let error = parse(json).map(order).unwrap_err();
            assert!(error.is_data(), "{json}: {error}");
        }
    }
}

#[cfg(test)]
mod inbox_url_tests {
    #[test]
    fn shows_a_postgres_url_without_its_password() {
        let url = super::InboxUrl::Postgres("postgres://shop:s3cr3t-pw@db.internal:5433/shop".to_owned());
        assert_eq!(url.to_string(), "postgres://shop:***@db.internal:5433/shop");
        assert!(!format!("{url:?}").contains("s3cr3t"));
        let query = super::InboxUrl::Postgres("postgresql://shop@db/shop?password=s3cr3t".to_owned());
        assert_eq!(query.to_string(), "postgresql://shop@db/shop?...");
        let bare = super::InboxUrl::Postgres("postgres://db/shop".to_owned());
        assert_eq!(bare.to_string(), "postgres://db/shop");
    }

    #[test]
    fn refuses_an_inbox_url_of_no_known_kind() {
        for bad in ["sqlite:", "mysql://db/shop", "inbox.sqlite3", ""] {
            let error = super::InboxUrl::parse(bad).unwrap_err();
            assert!(error.contains("sqlite:PATH or postgres://"), "{bad}: {error}");
        }
        assert!(matches!(
            super::InboxUrl::parse("sqlite:in.db"),
            Ok(super::InboxUrl::Sqlite(_))
        ));
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn reads_a_postgres_url_and_refuses_one_without_a_database() {
        assert!(matches!(
            super::InboxUrl::parse("postgres://postgres:pw@127.0.0.1:5432/shop"),
            Ok(super::InboxUrl::Postgres(_))
        ));
        let error = super::InboxUrl::parse("postgres://postgres:pw@127.0.0.1:5432").unwrap_err();
        assert!(error.contains("must name a host and a database"), "{error}");
        assert!(!error.contains("pw@"), "{error}");
    }

    #[cfg(not(feature = "postgres"))]
    #[test]
    fn a_postgres_url_without_the_feature_says_how_to_get_it() {
        let error = super::InboxUrl::parse("postgres://postgres:pw@127.0.0.1/shop").unwrap_err();
        assert!(error.contains("--features postgres"), "{error}");
        assert!(!error.contains("pw@"), "{error}");
    }
}
