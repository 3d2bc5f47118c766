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
//! | `WEBHOOK_SCHEME` | `petstore` | `petstore`, `standard` or `svix` (Standard Webhooks: `whsec_...` secrets and `whpk_...` public keys, mixed), `github`, `stripe`, `slack`, `shopify`, `discord` (the application's hex public key), `sendgrid` (the base64 DER verification key), `twilio` (the auth token), `zoom`, `twitch`, `paddle` |
//! | `PUBLIC_URL` | none | the endpoint's public URL as the sender calls it, `scheme://host[:port]/path`; URL-signed schemes (`twilio`) sign it plus the request's query, and refuse to start without it |
//! | `MAX_BODY_BYTES` | `1048576` | larger bodies are answered `413` |
//! | `REPLAY_CAPACITY` | `10000` | how many processed event ids are remembered |
//! | `TOLERANCE_SECS` | `300` | timestamp tolerance, for schemes that sign one |
//! | `RUST_LOG` | `info` | log filter |
//!
//! Deliveries go to `POST /webhooks`. Every event handed to the handler is
//! logged once, as `handled` with `event_type` and `event_id`; rejections are
//! logged by the layer with their reason. Secrets are never logged.

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
use tower_webhook::extract::Webhook;
use tower_webhook::handler::HandlerError;
use tower_webhook::scheme::{
    Discord, DiscordEndpoint, GitHub, Hmac, Paddle, Policy, Scheme, SendGrid, Shopify, Slack,
    StandardWebhooks, Stripe, Twilio, Twitch, Zoom,
};
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
    /// Timestamp tolerance.
    pub tolerance: Duration,
    /// The endpoint's public URL, for URL-signed schemes.
    pub public_url: Option<String>,
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
            None if matches!(scheme.as_str(), "discord" | "sendgrid") => {
                return Err(format!(
                    "WEBHOOK_SCHEME={scheme} verifies with the sender's public key: set WEBHOOK_SECRET to it"
                ))
            }
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
            public_url: var("PUBLIC_URL")?,
        };
        // Refuse an unknown scheme or a bad secret now, not at the first delivery.
        scheme_at(
            &config.scheme,
            &config.secrets,
            config.tolerance,
            config.public_url.as_deref(),
        )?;
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
            .field("public_url", &self.public_url)
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
pub const SCHEMES: &str =
    "petstore, standard, svix, github, stripe, slack, shopify, discord, sendgrid, twilio, zoom, twitch, paddle";

/// The verification scheme by name, for schemes that do not sign the URL.
pub fn scheme(name: &str, secrets: &[String], tolerance: Duration) -> Result<Box<dyn Scheme>, String> {
    scheme_at(name, secrets, tolerance, None)
}

/// The verification scheme by name, with the endpoint's public URL: the one
/// place to add a provider preset.
pub fn scheme_at(
    name: &str,
    secrets: &[String],
    tolerance: Duration,
    public_url: Option<&str>,
) -> Result<Box<dyn Scheme>, String> {
    let config = |error: tower_webhook::scheme::ConfigError| format!("WEBHOOK_SECRET: {error}");
    let public_keys = |parse: fn(&str) -> Result<PublicKey, tower_webhook::scheme::ConfigError>| {
        secrets
            .iter()
            .map(|s| parse(s).map(Keys::from))
            .collect::<Result<Keys, _>>()
            .map_err(config)
    };
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
        "github" => Ok(Box::new(GitHub::new(keys(|s| Secret::new(s))?))),
        "stripe" => Ok(Box::new(
            Stripe::new(keys(|s| Secret::new(s))?).tolerance(tolerance),
        )),
        "slack" => Ok(Box::new(
            Slack::new(keys(|s| Secret::new(s))?).tolerance(tolerance),
        )),
        "shopify" => Ok(Box::new(Shopify::new(keys(|s| Secret::new(s))?))),
        "standard" | "svix" => {
            let keys = secrets
                .iter()
                .map(|s| StandardWebhooks::key(s))
                .collect::<Result<Keys, _>>()
                .map_err(config)?;
            let scheme = StandardWebhooks::with_keys(keys, Policy::Any).map_err(config)?;
            Ok(Box::new(scheme.tolerance(tolerance)))
        }
        "discord" => Ok(Box::new(
            Discord::new(public_keys(Discord::public_key)?, DiscordEndpoint::Interactions)
                .map_err(config)?
                .tolerance(tolerance),
        )),
        "sendgrid" => Ok(Box::new(
            SendGrid::new(public_keys(SendGrid::public_key)?)
                .map_err(config)?
                .tolerance(tolerance),
        )),
        "twilio" => {
            let url = public_url
                .ok_or("WEBHOOK_SCHEME=twilio signs the public URL: set PUBLIC_URL=https://host/path")?;
            let scheme = Twilio::new(keys(|s| Secret::new(s))?, url)
                .map_err(|e| format!("PUBLIC_URL={url:?}: {e}"))?;
            Ok(Box::new(scheme))
        }
        "zoom" => Ok(Box::new(
            Zoom::new(keys(|s| Secret::new(s))?).tolerance(tolerance),
        )),
        "twitch" => Ok(Box::new(Twitch::new(keys(|s| Secret::new(s))?))),
        "paddle" => Ok(Box::new(Paddle::new(keys(|s| Secret::new(s))?))),
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
}

impl Stats {
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

/// The receiver: its router, and handles on its replay guard and stats.
#[derive(Debug)]
pub struct Receiver {
    /// `POST /webhooks` behind the layer.
    pub router: Router,
    /// The replay guard the layer uses.
    pub guard: Arc<LruGuard>,
    /// What the handlers have seen.
    pub stats: Arc<Stats>,
}

/// Builds the receiver for `config`.
pub fn receiver(config: &Config) -> Result<Receiver, String> {
    let guard = Arc::new(LruGuard::new(config.replay_capacity));
    let stats = Arc::new(Stats::default());
    let layer = WebhookLayer::new(scheme_at(
        &config.scheme,
        &config.secrets,
        config.tolerance,
        config.public_url.as_deref(),
    )?)
    .guard(Arc::clone(&guard))
    .body_limit(config.max_body_bytes)
    // A sender has its whole body ready: a stalled upload is not one.
    .body_timeout(Duration::from_secs(10));
    let handler = match config.scheme.as_str() {
        "petstore" => post(petstore),
        // Twilio posts form-encoded parameters, not JSON.
        "twilio" => post(form),
        _ => post(raw),
    };
    let router = Router::new()
        .route("/webhooks", handler)
        .route_layer(layer)
        .with_state(Arc::clone(&stats));
    Ok(Receiver { router, guard, stats })
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
    settle(
        &stats,
        &verified,
        verified.event_type(),
        order.as_deref(),
        outcome,
    )
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
    settle(&stats, &verified, event_type, None, outcome)
}

/// A form-encoded delivery (Twilio): the verified bytes as they are.
async fn form(
    State(stats): State<Arc<Stats>>,
    axum::Extension(verified): axum::Extension<Verified>,
) -> Result<(), HandlerError> {
    let outcome = stats.outage().map(|()| true);
    settle(&stats, &verified, verified.event_type(), None, outcome)
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
    let Receiver { router, guard, stats } = receiver(&config)?;
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
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            if let Err(error) = tokio::signal::ctrl_c().await {
                tracing::error!(%error, "cannot listen for Ctrl-C; stop the process another way");
                std::future::pending::<()>().await;
            }
        })
        .await
        .map_err(|error| format!("server failed: {error}"))?;
    tracing::info!(
        handled = stats.handled.load(Ordering::Relaxed),
        processed = stats.processed.load(Ordering::Relaxed),
        remembered = guard.done_len(),
        "shut down"
    );
    Ok(())
}
