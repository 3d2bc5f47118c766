//! Run with `cargo run --example send -- --secret SECRET`
//!
//! The sender's side of the article: signs one event and POSTs it, retrying
//! on a non-2xx answer or a connection error with the article's backoff (1
//! min, 5 min, 15 min, 1 h, 4 h; `--scale 0.001` turns that into seconds for
//! a demo). Each attempt is signed afresh, so a timestamp never goes stale.
//!
//! The default event is the source article's, in its exact shape and field
//! order; `--id evt_123 --created 1710331200` sends it byte for byte:
//! `{"id":"evt_123","type":"order.completed","created":1710331200,"data":{"orderId":"123","status":"completed","completedAt":"2024-01-01T12:00:00Z"}}`.
//!
//! With a provider `--scheme` and no `--type`/`--data`, that provider's
//! documented sample delivery (`tests/fixtures/samples/`, each file naming
//! its source) is sent instead, with its documented headers: github, stripe,
//! slack, shopify, standard, svix, typeform, pagerduty, coinbase, linear,
//! mailgun, paddle, razorpay, discord, sendgrid, clerk, square and hubspot.
//! The other schemes send the article's event.
//!
//! Every attempt is signed with [`Sign::sign_delivery`]: the signature
//! headers, and for the two schemes that carry signing in the body, the body
//! too. For `mailgun` the body's `signature` block (timestamp, the event id
//! as its token, and the HMAC) is written in, replacing the documented
//! sample's; for `linear` the body's `webhookTimestamp` is set to the time of
//! the attempt in milliseconds (Linear's receivers refuse one more than 60 s
//! off), so the sample's stale documented value is never sent.
//!
//! ```text
//! --url URL        where to POST        (default http://127.0.0.1:3000/webhooks)
//! --secret SECRET  signing secret       (default: $WEBHOOK_SECRET, whole)
//! --private-key K  for asymmetric schemes instead of --secret: `whsk_...` for
//!                  standard (signs v1a), hex of the Ed25519 seed for discord,
//!                  hex of the P-256 scalar for sendgrid
//! --public-url URL the URL the receiver's PUBLIC_URL names (twilio, square and hubspot sign it; default --url)
//! --scheme NAME    petstore | standard | svix | github | stripe | slack | shopify |
//!                  discord | sendgrid | twilio | zoom | twitch | paddle | clerk |
//!                  resend | replicate | polar | square | hubspot | intercom |
//!                  bitbucket | typeform | vercel | lemonsqueezy | meta | gitlab |
//!                  calendly | mux | pagerduty | razorpay | coinbase | linear |
//!                  mailgun  (default petstore)
//! --type TYPE      event type           (default order.completed; with a
//!                  provider --scheme and no --type/--data, that provider's
//!                  documented sample delivery is sent instead, see above)
//! --data JSON      the event's data     (default the article's
//!                  {"orderId":"123","status":"completed","completedAt":"2024-01-01T12:00:00Z"})
//! --id ID          event id             (default random, evt_...; sent where
//!                  the scheme carries the id in a header, and as Mailgun's token)
//! --created UNIX   the event's created  (default now)
//! --repeat N       send the same event N times, to see duplicates dropped (default 1)
//! --scale F        multiply every delay and the 10 s timeout by F (default 1)
//! ```

use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower_webhook::testing::{self, Sign};

/// The article's retry delays, before scaling.
const ARTICLE_DELAYS: [Duration; 5] = [
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(15 * 60),
    Duration::from_secs(60 * 60),
    Duration::from_secs(4 * 60 * 60),
];

/// The `data` of the source article's `order.completed` event, byte for byte.
pub const ARTICLE_DATA: &str =
    r#"{"orderId":"123","status":"completed","completedAt":"2024-01-01T12:00:00Z"}"#;

/// The article's request timeout, before scaling.
const ARTICLE_TIMEOUT: Duration = Duration::from_secs(10);

/// The shortest timeout a scale may give, so a demo's requests can finish.
const MIN_TIMEOUT: Duration = Duration::from_millis(250);

/// The command line.
#[derive(Clone)]
pub struct Options {
    /// Where to POST.
    pub url: Uri,
    /// The signing secret.
    pub secret: String,
    /// Scheme name, as accepted by [`signer`].
    pub scheme: String,
    /// The URL the scheme signs, for URL-signed schemes.
    pub public_url: String,
    /// The event type.
    pub event_type: String,
    /// The event's data, as JSON text, sent exactly as given.
    pub data: String,
    /// The event id.
    pub id: String,
    /// The event's `created`, unix seconds.
    pub created: i64,
    /// How many times to send the same event.
    pub repeat: u32,
    /// Factor for every delay and the timeout.
    pub scale: f64,
    /// For a provider scheme sent without `--type`/`--data`: that provider's
    /// documented sample delivery, sent instead of the article's envelope.
    pub sample: Option<Sample>,
}

/// A provider's documented sample delivery (`tests/fixtures/samples/`): the
/// raw body and the headers it comes with besides the signature.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The raw body, exactly as documented.
    pub body: String,
    /// The provider's other headers (event type, delivery id, ...).
    pub headers: Vec<(String, String)>,
}

impl Sample {
    /// The sample for a provider scheme; `None` for the Petstore, whose
    /// default is the article's event.
    pub fn for_scheme(scheme: &str) -> Option<Self> {
        let file = match scheme {
            "github" => include_str!("../tests/fixtures/samples/github_ping.json"),
            "stripe" => include_str!("../tests/fixtures/samples/stripe_setup_intent_created.json"),
            "slack" => include_str!("../tests/fixtures/samples/slack_event_callback.json"),
            "shopify" => include_str!("../tests/fixtures/samples/shopify_products_update.json"),
            "standard" => include_str!("../tests/fixtures/samples/standard_webhooks.json"),
            "svix" => include_str!("../tests/fixtures/samples/svix.json"),
            "typeform" => include_str!("../tests/fixtures/samples/typeform_form_response.json"),
            "pagerduty" => include_str!("../tests/fixtures/samples/pagerduty_incident_priority_updated.json"),
            "coinbase" => include_str!("../tests/fixtures/samples/coinbase_charge_created.json"),
            // `webhookTimestamp` is set to the signing time by `sign_body`.
            "linear" => include_str!("../tests/fixtures/samples/linear_comment_create.json"),
            // The signature block is written by `sign_body`.
            "mailgun" => include_str!("../tests/fixtures/samples/mailgun_delivered.json"),
            "paddle" => include_str!("../tests/fixtures/samples/paddle_customer_created.json"),
            "razorpay" => include_str!("../tests/fixtures/samples/razorpay_payment_captured.json"),
            "discord" => include_str!("../tests/fixtures/samples/discord_slash_command.json"),
            "sendgrid" => include_str!("../tests/fixtures/samples/sendgrid_dropped.json"),
            "clerk" => include_str!("../tests/fixtures/samples/clerk_user_created.json"),
            "square" => include_str!("../tests/fixtures/samples/square_test_notification.json"),
            "hubspot" => include_str!("../tests/fixtures/samples/hubspot_contact_creation.json"),
            _ => return None,
        };
        let file: serde_json::Value = serde_json::from_str(file).expect("the sample files are JSON");
        let headers = file["headers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, value)| (name.clone(), value.as_str().unwrap_or_default().to_owned()))
            .collect();
        Some(Self {
            body: file["body"].as_str().unwrap_or_default().to_owned(),
            headers,
        })
    }
}

/// A signer that also sends a sample's documented headers (the signature
/// and id headers the scheme sets win over the sample's).
struct WithHeaders {
    signer: Box<dyn Sign + Send + Sync>,
    headers: HeaderMap,
}

impl Sign for WithHeaders {
    fn sign_body(&self, body: Bytes, id: &str, timestamp: i64) -> Bytes {
        self.signer.sign_body(body, id, timestamp)
    }

    fn sign_headers(&self, body: &[u8], id: &str, timestamp: i64) -> HeaderMap {
        let mut headers = self.headers.clone();
        headers.extend(self.signer.sign_headers(body, id, timestamp));
        headers
    }

    fn event_type_header(&self) -> Option<HeaderName> {
        self.signer.event_type_header()
    }
}

impl Options {
    /// Parses `--flag value` and `--flag=value` pairs; the secret falls back
    /// to `env_secret` (`$WEBHOOK_SECRET` as it is: one secret, never split
    /// or trimmed, as the receiver reads it).
    pub fn parse(args: impl IntoIterator<Item = String>, env_secret: Option<String>) -> Result<Self, String> {
        let mut url = "http://127.0.0.1:3000/webhooks".to_owned();
        let mut secret = env_secret.filter(|s| !s.is_empty());
        let mut scheme = "petstore".to_owned();
        let mut own_event = false;
        let mut event_type = "order.completed".to_owned();
        let mut data = ARTICLE_DATA.to_owned();
        let mut id = format!("evt_{}", hex::encode(rand::random::<[u8; 8]>()));
        let mut created = testing::now().to_string();
        let mut repeat = "1".to_owned();
        let mut scale = "1".to_owned();
        let mut public_url = None;

        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.to_owned())),
                _ => (arg, None),
            };
            own_event |= matches!(flag.as_str(), "--type" | "--data");
            let slot = match flag.as_str() {
                "--url" => &mut url,
                "--secret" | "--private-key" => secret.insert(String::new()),
                "--public-url" => public_url.insert(String::new()),
                "--scheme" => &mut scheme,
                "--type" => &mut event_type,
                "--data" => &mut data,
                "--id" => &mut id,
                "--created" => &mut created,
                "--repeat" => &mut repeat,
                "--scale" => &mut scale,
                "--help" | "-h" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown argument {other:?}\n\n{USAGE}")),
            };
            *slot = match inline {
                Some(value) => value,
                None => args.next().ok_or_else(|| format!("{flag} needs a value"))?,
            };
        }

        let url: Uri = url.parse().map_err(|error| format!("--url {url:?}: {error}"))?;
        if url.scheme_str() != Some("http") {
            return Err(format!("--url {url}: only http:// URLs (a local receiver)"));
        }
        let secret = secret
            .filter(|s| !s.is_empty())
            .ok_or("no secret: pass --secret or set WEBHOOK_SECRET")?;
        serde_json::from_str::<serde::de::IgnoredAny>(&data)
            .map_err(|error| format!("--data is not JSON: {error}"))?;
        let created = created
            .parse()
            .map_err(|error| format!("--created {created:?}: {error}"))?;
        let repeat = repeat
            .parse()
            .map_err(|error| format!("--repeat {repeat:?}: {error}"))?;
        let scale: f64 = scale
            .parse()
            .map_err(|error| format!("--scale {scale:?}: {error}"))?;
        if !(scale.is_finite() && scale > 0.0) {
            return Err(format!("--scale {scale}: must be a positive number"));
        }
        let public_url = public_url.unwrap_or_else(|| url.to_string());
        // Refuse a bad scheme or secret before sending anything.
        signer_at(&scheme, &secret, &public_url)?;
        Ok(Self {
            url,
            secret,
            public_url,
            event_type,
            data,
            id,
            created,
            repeat,
            scale,
            sample: if own_event {
                None
            } else {
                Sample::for_scheme(&scheme)
            },
            scheme,
        })
    }

    /// The signer `main` sends with: [`signer_at`] for `--scheme`, also
    /// sending the sample's documented headers.
    pub fn signer(&self) -> Result<Box<dyn Sign + Send + Sync>, String> {
        let mut headers = HeaderMap::new();
        for (name, value) in self.sample.iter().flat_map(|s| &s.headers) {
            if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
                headers.insert(name, value);
            }
        }
        Ok(Box::new(WithHeaders {
            signer: signer_at(&self.scheme, &self.secret, &self.public_url)?,
            headers,
        }))
    }

    /// The event body: the provider's sample, or the article's envelope
    /// `{id, type, created, data}`, compact and in the article's field
    /// order, with `data` exactly as given.
    pub fn body(&self) -> Bytes {
        if let Some(sample) = &self.sample {
            return Bytes::from(sample.body.clone());
        }
        let text = |value: &str| serde_json::to_string(value).expect("a string serializes");
        format!(
            r#"{{"id":{},"type":{},"created":{},"data":{}}}"#,
            text(&self.id),
            text(&self.event_type),
            self.created,
            self.data
        )
        .into()
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("scheme", &self.scheme)
            .field("public_url", &self.public_url)
            .field("event_type", &self.event_type)
            .field("data", &self.data)
            .field("id", &self.id)
            .field("created", &self.created)
            .field("repeat", &self.repeat)
            .field("scale", &self.scale)
            .field("sample", &self.sample.is_some())
            .finish()
    }
}

const USAGE: &str =
    "usage: cargo run --example send -- [--url URL] [--secret SECRET | --private-key KEY] [--public-url URL] \
[--scheme petstore|standard|svix|github|stripe|slack|shopify|discord|sendgrid|twilio|zoom|twitch|paddle|clerk|resend|replicate|polar|square|hubspot|\
intercom|bitbucket|typeform|vercel|lemonsqueezy|meta|gitlab|\
calendly|mux|pagerduty|razorpay|coinbase|linear|mailgun] \
[--type TYPE] [--data JSON] [--id ID] [--created UNIX] [--repeat N] [--scale F]";

/// The schemes `--scheme` accepts.
pub const SCHEMES: &str =
    "petstore, standard, svix, github, stripe, slack, shopify, discord, sendgrid, twilio, zoom, twitch, paddle, clerk, resend, replicate, polar, square, hubspot, \
intercom, bitbucket, typeform, vercel, lemonsqueezy, meta, gitlab, \
calendly, mux, pagerduty, razorpay, coinbase, linear, mailgun, \
workos, webflow, paystack, notion, sentry";

/// A signer by scheme name, for schemes that do not sign the URL.
pub fn signer(name: &str, secret: &str) -> Result<Box<dyn Sign + Send + Sync>, String> {
    signer_at(name, secret, "http://127.0.0.1:3000/webhooks")
}

/// A signer by scheme name, from the `testing` registry: `key` is the
/// secret, or the private key of an asymmetric scheme; `public_url` is what
/// a URL-signed scheme signs.
pub fn signer_at(name: &str, key: &str, public_url: &str) -> Result<Box<dyn Sign + Send + Sync>, String> {
    let registry_name = match name {
        "standard" if key.trim().starts_with("whsk_") => "standard-webhooks-v1a",
        "standard" => "standard-webhooks",
        "discord" => "discord-ed25519",
        "sendgrid" => "sendgrid-ecdsa",
        "twitch" => "twitch-eventsub",
        "paddle" => "paddle-billing",
        "hubspot" => "hubspot-v3",
        "pagerduty" => "pagerduty-v3",
        "coinbase" => "coinbase-commerce",
        other => other,
    };
    let preset = testing::preset(registry_name)
        .ok_or_else(|| format!("--scheme {name:?} is not a known scheme ({SCHEMES})"))?;
    (preset.signer)(key, public_url).map_err(|error| format!("--secret/--private-key: {error}"))
}

/// When to try again, and how long to wait for an answer.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The delay before each retry; its length is the number of retries.
    pub retries: Vec<Duration>,
    /// How long one attempt may take.
    pub timeout: Duration,
}

impl Schedule {
    /// The article's schedule, every duration multiplied by `scale` (the
    /// timeout no shorter than 250 ms).
    pub fn article(scale: f64) -> Self {
        Self {
            retries: ARTICLE_DELAYS.iter().map(|d| d.mul_f64(scale)).collect(),
            timeout: ARTICLE_TIMEOUT.mul_f64(scale).max(MIN_TIMEOUT),
        }
    }
}

/// One attempt: its number (1 is the first try) and the status or the error.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// 1 for the first try, 2 for the first retry, …
    pub number: usize,
    /// The answer's status and body, or why there was none.
    pub outcome: Result<(StatusCode, Bytes), String>,
}

/// An HTTP/1 client for plain `http://` URLs.
pub fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Sends the event `id` with `body`, signed afresh for every attempt (by
/// [`Sign::sign_delivery`]: the headers, and for Mailgun and Linear the
/// signature block or `webhookTimestamp` in the body), until
/// an attempt gets a 2xx or the schedule runs out. `on_attempt` sees each
/// attempt. Returns the successful status, or the last failure.
pub async fn deliver(
    client: &Client<HttpConnector, Full<Bytes>>,
    signer: &(dyn Sign + Sync),
    url: &Uri,
    id: &str,
    body: &Bytes,
    schedule: &Schedule,
    mut on_attempt: impl FnMut(&Attempt),
) -> Result<StatusCode, String> {
    let mut delays = schedule.retries.iter();
    for number in 1.. {
        let outcome = attempt(client, signer, url, id, body, schedule.timeout).await;
        let attempt = Attempt { number, outcome };
        on_attempt(&attempt);
        let failure = match attempt.outcome {
            Ok((status, _)) if status.is_success() => return Ok(status),
            Ok((status, _)) => format!("answered {status}"),
            Err(error) => error,
        };
        match delays.next() {
            Some(delay) => tokio::time::sleep(*delay).await,
            None => return Err(format!("gave up after {number} attempts: {failure}")),
        }
    }
    unreachable!("the loop returns")
}

async fn attempt(
    client: &Client<HttpConnector, Full<Bytes>>,
    signer: &(dyn Sign + Sync),
    url: &Uri,
    id: &str,
    body: &Bytes,
    timeout: Duration,
) -> Result<(StatusCode, Bytes), String> {
    // Signed afresh: a scheme that carries its signature or timestamp in the
    // body (Mailgun, Linear) writes this attempt's into it.
    let (body, signed) = signer.sign_delivery(body.clone(), id, testing::now());
    let mut request = Request::post(url.clone())
        .body(Full::new(body))
        .map_err(|error| error.to_string())?;
    request
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    request.headers_mut().extend(signed);
    let exchange = async {
        let response = client.request(request).await.map_err(|error| chain(&error))?;
        let status = response.status();
        // Only a short answer is expected; don't read an unbounded one.
        let body = Limited::new(response.into_body(), 64 * 1024)
            .collect()
            .await
            .map_err(|error| format!("reading the answer: {error}"))?
            .to_bytes();
        Ok((status, body))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("no answer within {timeout:?}"))?
}

/// An error with its sources: hyper's own message alone says little.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1), std::env::var("WEBHOOK_SECRET").ok()) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("send: {error}");
            return ExitCode::FAILURE;
        }
    };
    let signer = options.signer().expect("checked by Options::parse");
    let schedule = Schedule::article(options.scale);
    let client = client();
    let body = options.body();
    match &options.sample {
        Some(_) => println!(
            "{}'s documented sample delivery (id {} where the scheme carries it in a header) to {}, {} time(s)",
            options.scheme, options.id, options.url, options.repeat
        ),
        None => println!(
            "event {} ({}) to {}, {} time(s)",
            options.id, options.event_type, options.url, options.repeat
        ),
    }
    let mut failed = false;
    for delivery in 1..=options.repeat {
        let result = deliver(
            &client,
            &*signer,
            &options.url,
            &options.id,
            &body,
            &schedule,
            |attempt| match &attempt.outcome {
                Ok((status, body)) => println!(
                    "delivery {delivery}, attempt {}: {status} {}",
                    attempt.number,
                    String::from_utf8_lossy(body)
                ),
                Err(error) => println!("delivery {delivery}, attempt {}: {error}", attempt.number),
            },
        )
        .await;
        match result {
            Ok(_) => {}
            Err(error) => {
                println!("delivery {delivery}: {error}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
