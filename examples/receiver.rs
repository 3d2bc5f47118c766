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
//! | `WEBHOOK_SECRET` | generated and printed | the secret; several separated by commas are all accepted (rotation) |
//! | `WEBHOOK_SCHEME` | `petstore` | `petstore`, `standard` or `svix` (Standard Webhooks, `whsec_...` secrets), `github`, `stripe`, `slack`, `shopify` |
//! | `MAX_BODY_BYTES` | `1048576` | larger bodies are answered `413` |
//! | `REPLAY_CAPACITY` | `10000` | how many processed event ids are remembered |
//! | `TOLERANCE_SECS` | `300` | timestamp tolerance, for schemes that sign one |
//! | `MAX_CONCURRENT_HANDLERS` | `1024` | deliveries in progress at once (bodies being read, handlers running, detached ones included); more are answered `503` with `Retry-After` |
//! | `HANDLER_DELAY_MS` | `0` | each handler waits this long *after* doing its work, to watch a sender that gives up waiting: the handler still finishes, and the retry is a duplicate |
//! | `RUST_LOG` | `info` | log filter |
//!
//! Deliveries go to `POST /webhooks`. Every event handed to the handler is
//! logged once, as `handled` with `event_type` and `event_id`; rejections are
//! logged by the layer with their reason. Secrets are never logged.
//!
//! A verified delivery that can never be processed (JSON that does not fit
//! the Petstore's events, an order without an id) is a dead letter: logged
//! at `error` with its reason, kept in memory (the last 1000), and
//! acknowledged so the sender stops. On Ctrl-C or SIGTERM the receiver stops
//! accepting, lets the handlers in progress finish (up to 25 s), and logs how
//! many were drained.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use base64::Engine as _;
use serde::Deserialize;
use tower_webhook::dead_letter::MemoryDeadLetters;
use tower_webhook::extract::Webhook;
use tower_webhook::handler::HandlerError;
use tower_webhook::layer::{Shutdown, DEFAULT_CONCURRENCY_LIMIT};
use tower_webhook::scheme::{GitHub, Hmac, Scheme, Shopify, Slack, StandardWebhooks, Stripe};
use tower_webhook::{LruGuard, Secret, SecretError, Secrets, Verified, WebhookLayer};

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
    /// Timestamp tolerance.
    pub tolerance: Duration,
    /// Deliveries in progress at once before the layer answers `503`.
    pub max_concurrent_handlers: usize,
    /// How long each handler waits after doing its work.
    pub handler_delay: Duration,
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
        let (secrets, generated_secret) = match var("WEBHOOK_SECRET")? {
            Some(list) => (split_secrets(&list)?, false),
            None => (vec![generate_secret(&scheme)], true),
        };
        let config = Self {
            bind: number(&var, "BIND", IpAddr::V4(Ipv4Addr::LOCALHOST))?,
            port: number(&var, "PORT", 3000)?,
            scheme,
            secrets,
            generated_secret,
            max_body_bytes: number(&var, "MAX_BODY_BYTES", 1024 * 1024)?,
            replay_capacity: number(&var, "REPLAY_CAPACITY", LruGuard::DEFAULT_CAPACITY)?,
            tolerance: Duration::from_secs(number(&var, "TOLERANCE_SECS", 300)?),
            max_concurrent_handlers: number(&var, "MAX_CONCURRENT_HANDLERS", DEFAULT_CONCURRENCY_LIMIT)?,
            handler_delay: Duration::from_millis(number(&var, "HANDLER_DELAY_MS", 0)?),
        };
        if config.max_concurrent_handlers == 0 {
            return Err("MAX_CONCURRENT_HANDLERS=0 would refuse every delivery".to_owned());
        }
        // Refuse an unknown scheme or a bad secret now, not at the first delivery.
        self::scheme(&config.scheme, &config.secrets, config.tolerance)?;
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

fn split_secrets(list: &str) -> Result<Vec<String>, String> {
    let secrets: Vec<String> = list.split(',').map(|s| s.trim().to_owned()).collect();
    if secrets.iter().any(String::is_empty) {
        return Err("WEBHOOK_SECRET is empty or holds an empty secret between commas".to_owned());
    }
    Ok(secrets)
}

/// A fresh random secret in the form the scheme expects.
fn generate_secret(scheme: &str) -> String {
    let bytes: [u8; 24] = rand::random();
    match scheme {
        "standard" => format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ),
        _ => hex::encode(bytes),
    }
}

/// The schemes `WEBHOOK_SCHEME` accepts.
pub const SCHEMES: &str = "petstore, standard, svix, github, stripe, slack, shopify";

/// The verification scheme by name: the one place to add a provider preset.
pub fn scheme(name: &str, secrets: &[String], tolerance: Duration) -> Result<Box<dyn Scheme>, String> {
    let keys = |parse: fn(&str) -> Result<Secret, SecretError>| {
        secrets
            .iter()
            .map(|s| parse(s))
            .collect::<Result<Vec<_>, _>>()
            .and_then(Secrets::try_from_iter)
            .map_err(|error| format!("WEBHOOK_SECRET: {error}"))
    };
    match name {
        "petstore" => Ok(Box::new(Hmac::petstore(keys(|s| Secret::new(s))?))),
        "standard" | "svix" => Ok(Box::new(
            StandardWebhooks::new(keys(StandardWebhooks::secret)?).tolerance(tolerance),
        )),
        "github" => Ok(Box::new(GitHub::new(keys(|s| Secret::new(s))?))),
        "stripe" => Ok(Box::new(
            Stripe::new(keys(|s| Secret::new(s))?).tolerance(tolerance),
        )),
        "slack" => Ok(Box::new(
            Slack::new(keys(|s| Secret::new(s))?).tolerance(tolerance),
        )),
        "shopify" => Ok(Box::new(Shopify::new(keys(|s| Secret::new(s))?))),
        other => Err(format!(
            "WEBHOOK_SCHEME={other:?} is not a known scheme ({SCHEMES})"
        )),
    }
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
}

impl Stats {
    /// `HANDLER_DELAY_MS`: the work is done and logged, the answer waits.
    async fn after_work(&self) {
        if !self.handler_delay.is_zero() {
            tokio::time::sleep(self.handler_delay).await;
        }
    }

    fn outage(&self) -> Result<(), HandlerError> {
        match self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        {
            Ok(_) => Err(HandlerError::retryable("simulated outage")),
            Err(_) => Ok(()),
        }
    }
}

/// The receiver: its router, and handles on its replay guard, stats, dead
/// letters and shutdown.
#[derive(Debug)]
pub struct Receiver {
    /// `POST /webhooks` behind the layer.
    pub router: Router,
    /// The replay guard the layer uses.
    pub guard: Arc<LruGuard>,
    /// What the handlers have seen.
    pub stats: Arc<Stats>,
    /// Verified deliveries that can never be processed.
    pub dead_letters: Arc<MemoryDeadLetters>,
    /// Stops taking deliveries and waits for the ones in progress.
    pub shutdown: Shutdown,
}

/// Builds the receiver for `config`.
pub fn receiver(config: &Config) -> Result<Receiver, String> {
    let guard = Arc::new(LruGuard::new(config.replay_capacity));
    let stats = Arc::new(Stats {
        handler_delay: config.handler_delay,
        ..Stats::default()
    });
    let dead_letters = Arc::new(MemoryDeadLetters::default());
    let layer = WebhookLayer::new(scheme(&config.scheme, &config.secrets, config.tolerance)?)
        .guard(Arc::clone(&guard))
        .body_limit(config.max_body_bytes)
        // A sender has its whole body ready: a stalled upload is not one.
        .body_timeout(Duration::from_secs(10))
        .concurrency_limit(config.max_concurrent_handlers)
        .dead_letters(Arc::clone(&dead_letters));
    let shutdown = layer.shutdown_handle();
    let handler = if config.scheme == "petstore" {
        post(petstore)
    } else {
        post(raw)
    };
    let router = Router::new()
        .route("/webhooks", handler)
        .route_layer(layer)
        .with_state(Arc::clone(&stats));
    Ok(Receiver {
        router,
        guard,
        stats,
        dead_letters,
        shutdown,
    })
}

/// An order, as the Petstore sends it in `data`.
#[derive(Debug, Deserialize)]
struct Order {
    order_id: String,
}

/// The Petstore's events. Unknown types are caught, so they are acknowledged
/// instead of refused and retried.
#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
enum PetstoreEvent {
    #[serde(rename = "order.created")]
    OrderCreated { data: Order },
    #[serde(rename = "order.completed")]
    OrderCompleted { data: Order },
    #[serde(rename = "order.cancelled")]
    OrderCancelled { data: Order },
    #[serde(other)]
    Unknown,
}

async fn petstore(
    State(stats): State<Arc<Stats>>,
    Webhook { event, verified }: Webhook<PetstoreEvent>,
) -> Result<(), HandlerError> {
    let (order, outcome) = match event {
        PetstoreEvent::OrderCreated { data }
        | PetstoreEvent::OrderCompleted { data }
        | PetstoreEvent::OrderCancelled { data } => {
            let outcome = if data.order_id.is_empty() {
                // Will never validate: acknowledge so the sender stops retrying.
                Err(HandlerError::permanent("order event without an order_id"))
            } else {
                stats.outage()
            };
            (Some(data.order_id), outcome.map(|()| true))
        }
        PetstoreEvent::Unknown => (None, Ok(false)),
    };
    let outcome = settle(
        &stats,
        &verified,
        verified.event_type(),
        order.as_deref(),
        outcome,
    );
    stats.after_work().await;
    outcome
}

/// Any other scheme: every verified delivery as raw JSON.
async fn raw(
    State(stats): State<Arc<Stats>>,
    Webhook { event, verified }: Webhook<serde_json::Value>,
) -> Result<(), HandlerError> {
    // Standard Webhooks carries the type in the payload, not in a header.
    let event_type = verified
        .event_type()
        .or_else(|| event.get("type").and_then(|t| t.as_str()));
    let outcome = stats.outage().map(|()| true);
    let outcome = settle(&stats, &verified, event_type, None, outcome);
    stats.after_work().await;
    outcome
}

/// Counts and logs one handled event: the one `handled` line.
fn settle(
    stats: &Stats,
    verified: &Verified,
    event_type: Option<&str>,
    order_id: Option<&str>,
    outcome: Result<bool, HandlerError>,
) -> Result<(), HandlerError> {
    stats.handled.fetch_add(1, Ordering::Relaxed);
    let result = match &outcome {
        Ok(true) => {
            stats.processed.fetch_add(1, Ordering::Relaxed);
            "processed"
        }
        Ok(false) => "ignored (unknown type)",
        Err(error) if error.is_permanent() => "permanent failure",
        Err(_) => "retryable failure",
    };
    tracing::info!(
        event_type = event_type.unwrap_or("-"),
        event_id = verified.id(),
        order_id,
        result,
        "handled"
    );
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

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
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
        guard,
        stats,
        dead_letters,
        shutdown,
    } = receiver(&config)?;
    let addr = SocketAddr::new(config.bind, config.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|error| format!("cannot listen on {addr}: {error}"))?;
    let addr = listener.local_addr().map_err(|error| error.to_string())?;
    tracing::info!(
        %addr,
        scheme = config.scheme,
        secrets = config.secrets.len(),
        max_body_bytes = config.max_body_bytes,
        replay_capacity = config.replay_capacity,
        max_concurrent_handlers = config.max_concurrent_handlers,
        handler_delay_ms = config.handler_delay.as_millis(),
        "receiving webhooks on POST /webhooks"
    );
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
    // On Ctrl-C or SIGTERM: the server stops accepting connections, and the
    // layer refuses new deliveries on open ones and waits for those in
    // progress (handlers whose sender went away included).
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let draining = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            shutdown_signal().await;
            let _ = stop.send(());
            shutdown.drain(DRAIN_TIMEOUT).await
        }
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await
        .map_err(|error| format!("server failed: {error}"))?;
    let drained = draining.await.map_err(|error| format!("drain failed: {error}"))?;
    tracing::info!(
        drained = drained.completed,
        cancelled = drained.cancelled,
        handled = stats.handled.load(Ordering::Relaxed),
        processed = stats.processed.load(Ordering::Relaxed),
        dead_letters = dead_letters.len(),
        remembered = guard.done_len(),
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
