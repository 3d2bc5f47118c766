//! Signature schemes: how a sender signs a delivery, and how to verify it.
//!
//! A [`Scheme`] sees the request's method, URI and headers ([`RequestParts`])
//! and its raw body, verifies every signature the delivery carries under every
//! configured key (HMAC-SHA256, -SHA1 and -SHA512 compared in constant time;
//! Ed25519 and ECDSA P-256 behind features), checks the timestamp where the
//! scheme has one, and answers with a [`Verdict`]: an event ([`VerifiedEvent`]) or
//! a handshake [`Reply`] the layer sends itself. It is synchronous, knows
//! nothing of tower or axum, and takes the clock as an argument, so it can be
//! tested at any instant:
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use http::HeaderMap;
//! use tower_webhook::scheme::{RequestParts, Scheme, StandardWebhooks};
//!
//! // The official Standard Webhooks test vector.
//! let scheme = StandardWebhooks::new(StandardWebhooks::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
//! let mut headers = HeaderMap::new();
//! headers.insert("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek".parse()?);
//! headers.insert("webhook-timestamp", "1614265330".parse()?);
//! headers.insert("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".parse()?);
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1614265330);
//!
//! let verdict = scheme.verify(RequestParts::post(&headers), br#"{"test": 2432232314}"#, now)?;
//! let delivery = verdict.event().expect("an event, not a handshake");
//! assert_eq!(delivery.id(), "msg_p5jXN8AQM9LWM0D4loKWxJek");
//! assert_eq!(delivery.timestamp(), Some(1614265330));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Every provider is data: a [`Spec`] says where the signatures are, which
//! [`Algorithm`] each version uses, what is signed (a template of
//! `{timestamp}`, `{id}`, `{body}`, `{method}`, `{url}` and literals), where
//! the timestamp, id and type are, and which [`Handshake`]s the layer answers.
//! One verification loop serves them all. Named presets:
//!
//! - [`Spec::petstore`], the source article's format; [`Spec`]'s docs carry
//!   a recipe for providers without a preset;
//! - [`StandardWebhooks`], also Svix's `svix-*` headers ([`Svix`] is the same
//!   type), with `v1a` Ed25519 signatures under feature `ed25519`;
//! - [`GitHub`], [`Stripe`], [`Slack`], [`Shopify`], [`Paddle`], [`Zoom`], [`Twitch`];
//! - [`Clerk`], [`Resend`] and [`Replicate`] (the [`StandardWebhooks`] type
//!   under their names), [`Polar`] (Standard Webhooks keyed with the secret's
//!   own bytes), [`Square`] and [`HubSpot`] (v3), which sign a public URL;
//! - [`Discord`] (feature `ed25519`) and [`SendGrid`] (feature `p256`);
//! - [`Intercom`], [`Bitbucket`], [`Typeform`], [`Vercel`], [`LemonSqueezy`];
//! - [`Meta`] (with Meta's unsigned GET verification request) and [`GitLab`]
//!   (its legacy secret token, compared in constant time; its signing token
//!   is Standard Webhooks), hand-written beside the engine;
//! - [`Twilio`], which signs sorted form parameters, hand-written behind the same trait;
//! - [`Calendly`], [`Mux`] (`t=..,v1=..`), [`PagerDuty`] (v3), [`Razorpay`], [`CoinbaseCommerce`];
//! - [`Linear`], whose timestamp is in the (signed) body;
//! - [`Mailgun`], whose signature is in the body ([`SpecBuilder::signature_body`])
//!   and covers only a timestamp and token;
//! - [`WorkOS`] (`t=<ms>, v1=..`), [`Webflow`] (`{timestamp}:{body}`, milliseconds),
//!   [`Paystack`] (HMAC-SHA512 of the body), [`Notion`] (`sha256=`, its unsigned
//!   verification request refused), [`Sentry`] (integration platform, unsigned
//!   `Request-ID`).
//!
//! [`Scheme`] stays the escape hatch for a sender no [`Spec`] can describe.
//!
//! # Providers
//!
//! Each preset is one line: `WebhookLayer::new(GitHub::new(Secret::new(secret)?))`. Every preset accepts several keys at once during a rotation (`Secrets::new(old).with(new)`, or `Keys` for public keys), and where the scheme has a timestamp it is checked in both directions unless noted. Ed25519 presets need the `ed25519` feature, P-256 ones the `p256` feature.
//!
//! | provider | signature header | algorithm | signed content | key | id | type | tolerance | handshake (answered by the layer) |
//! |---|---|---|---|---|---|---|---|---|
//! | GitHub (`GitHub`) | `X-Hub-Signature-256: sha256=<hex>` (legacy sha1 `X-Hub-Signature` never accepted) | HMAC-SHA256 | raw body | secret as written | `X-GitHub-Delivery` (unsigned), [GitHub's replay key](https://docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-webhooks#use-the-x-github-delivery-header) | `X-GitHub-Event` (unsigned) | none: no timestamp | none |
//! | Stripe (`Stripe`) | `Stripe-Signature: t=<unix>,v1=<hex>[,v1=...]` (any `v1` matching passes; `v0` ignored) | HMAC-SHA256 | `{t}.{body}` | the whole `whsec_...` string as bytes | body `id` (signed), [Stripe's duplicate key](https://docs.stripe.com/webhooks#handle-duplicate-events) | body `type` | 5 min, configurable | none |
//! | Slack (`Slack`) | `X-Slack-Signature: v0=<hex>` | HMAC-SHA256 | `v0:{X-Slack-Request-Timestamp}:{body}` | signing secret as written | body `event_id` (signed), [the Events API's unique id](https://api.slack.com/apis/events-api#callback-field); else the verified MAC (`sig:<hex>`; slash commands, interactivity, which have no id) | body `event.type`, else `type` | 5 min, configurable | `url_verification`: `200` `{"challenge":...}` |
//! | Shopify (`Shopify`) | `X-Shopify-Hmac-Sha256: <base64>` | HMAC-SHA256 | raw body | client secret as written | `X-Shopify-Webhook-Id` (unsigned), [Shopify's duplicate key](https://shopify.dev/docs/apps/build/webhooks/verify-deliveries); `Shopify::keyed_by_event_id` keys on `X-Shopify-Event-Id` to process an event once across several subscriptions | `X-Shopify-Topic` (unsigned) | none: no timestamp | none |
//! | Standard Webhooks (`StandardWebhooks`), Svix (`Svix`, same type) | `webhook-signature` / `svix-signature: v1,<base64> v1a,<base64> ...` | HMAC-SHA256 (`v1`), Ed25519 (`v1a`); policy any / require `v1a` / require both | `{id}.{timestamp}.{body}` | `whsec_` + base64 (padded or not); `whpk_` + base64 of the 32-byte public key (or 44-byte DER SPKI) | `webhook-id` / `svix-id` (signed), [the spec's idempotency key](https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md#webhook-metadata) | payload `type`, read by the `Dispatcher` / your type | 5 min, configurable | none |
//! | Discord (`Discord`) | `X-Signature-Ed25519: <hex>` | Ed25519 | `{X-Signature-Timestamp}{body}` | the application's hex public key | interactions: body `id`; webhook events: the signature | body `type` / `event.type` | 5 min (none documented), configurable | PING: `200` `{"type":1}` (interactions), `204` (webhook events); bad signature `401` |
//! | SendGrid (`SendGrid`) | `X-Twilio-Email-Event-Webhook-Signature: <base64 DER>` | ECDSA P-256/SHA-256 (high-S accepted) | `{timestamp}{body}` | base64 DER verification key | the signature (low-S form) | none (a batch) | 5 min (none documented), configurable | none |
//! | Twilio (`Twilio`) | `X-Twilio-Signature: <base64>` | HMAC-SHA1 | public URL (its query pinned to the configured one), then sorted form params (at most 1,000); JSON (`Content-Type: application/json` only): URL with `bodySHA256` (checked too) | auth token | `I-Twilio-Idempotency-Token` (unsigned), else the signature; the signature is always a second replay key | none | none: no timestamp | none |
//! | Zoom (`Zoom`) | `x-zm-signature: v0=<hex>` | HMAC-SHA256 | `v0:{x-zm-request-timestamp}:{body}` | secret token | the signature | body `event` | 5 min (UNCONFIRMED), configurable | `endpoint.url_validation`: `200` `{"plainToken","encryptedToken"}` |
//! | Twitch EventSub (`Twitch`) | `Twitch-Eventsub-Message-Signature: sha256=<hex>` | HMAC-SHA256 | `{Message-Id}{Message-Timestamp}{body}` (RFC 3339 signed verbatim) | subscription secret | `Twitch-Eventsub-Message-Id` (signed) | body `subscription.type` | 10 min | `webhook_callback_verification`: `200` challenge as `text/plain`; `revocation`: `204` |
//! | Paddle Billing (`Paddle`) | `Paddle-Signature: ts=<unix>;h1=<hex>[;h1=...]` (any `h1` matching passes; `h2` and unknown keys ignored) | HMAC-SHA256 | `{ts}:{body}` | endpoint secret key (`pdl_ntfset_...`) as written | body `event_id` (signed) | body `event_type` | 5 s, past only (Paddle's SDK), configurable: `Paddle::tolerance` | none |
//! | Clerk (`Clerk`), Resend (`Resend`): Svix, the `StandardWebhooks` type | `svix-signature: v1,<base64> ...` | HMAC-SHA256 | `{svix-id}.{svix-timestamp}.{body}` | `whsec_` + base64 | `svix-id` (signed) | body `type`, not read by the layer (`Verified::event_type` is `None`) | 5 min, configurable | none |
//! | Replicate (`Replicate`, the `StandardWebhooks` type) | `webhook-signature: v1,<base64> ...` | HMAC-SHA256 | `{webhook-id}.{webhook-timestamp}.{body}` | `whsec_` + base64 | `webhook-id` (signed) | none (body `status`) | 5 min, configurable | none |
//! | Polar (`Polar`) | `webhook-signature: v1,<base64> ...` | HMAC-SHA256 | `{webhook-id}.{webhook-timestamp}.{body}` | the secret's own UTF-8 bytes (`polar_whs_...`, **not** base64-decoded); a `whsec_` + base64 secret also under its decoding, as polar-sdk does | `webhook-id` (signed) | body `type`, not read by the layer (`Verified::event_type` is `None`) | 5 min, configurable | none |
//! | Square (`Square`) | `x-square-hmacsha256-signature: <base64>` | HMAC-SHA256 | the notification URL as configured at Square (+ the request's query), then the body | signature key as written | body `event_id` (signed) | body `type` | none: no timestamp | none |
//! | HubSpot v3 (`HubSpot`) | `X-HubSpot-Signature-v3: <base64>` (legacy v1/v2 `X-HubSpot-Signature` not read) | HMAC-SHA256 | `{method}{public URL + query as received}{body}{X-HubSpot-Request-Timestamp}` (percent-escapes not decoded, as all four official SDKs; the docs' decoding list UNCONFIRMED) | app client secret as written | the signature (`sig:<hex>`): the body is an array of events, each with its own `eventId` | none (per event `subscriptionType`) | 5 min, milliseconds, configurable | none |
//! | Intercom (`Intercom`) | `X-Hub-Signature: sha1=<hex>` | HMAC-SHA1 | raw body | app client secret as written (UNCONFIRMED for the current Developer Hub; v1: the `hub_secret`) | body `id` (signed; whether a retry keeps it UNCONFIRMED); `ping` (`"id": null`): the signature | body `topic` | none: no timestamp | none (`ping` reaches the handler) |
//! | Bitbucket Cloud (`Bitbucket`) | `X-Hub-Signature: sha256=<hex>` (only when the webhook has a secret; `sha256=` hex is shown only for Data Center) | HMAC-SHA256 | raw body | webhook secret as written | `X-Request-UUID` (unsigned; whether a retry keeps it is UNCONFIRMED); never `X-Hook-UUID`, the webhook's own UUID | `X-Event-Key` (unsigned) | none: no timestamp | none |
//! | Typeform (`Typeform`) | `Typeform-Signature: sha256=<base64>` | HMAC-SHA256 | raw body | webhook secret as written | body `event_id` (signed; whether a retry keeps it UNCONFIRMED) | body `event_type` | none: no timestamp | none |
//! | Vercel (`Vercel`) | `x-vercel-signature: <hex>` | HMAC-SHA1 | raw body | integration Client Secret / account webhook secret | body `id` (signed; whether a retry keeps it UNCONFIRMED); Vercel retries for up to 24 h | body `type` | none: no timestamp | none |
//! | Lemon Squeezy (`LemonSqueezy`) | `X-Signature: <hex>` | HMAC-SHA256 | raw body | signing secret as written | none documented: the signature (`sig:<hex>`; a retry resends the same bytes) | body `meta.event_name` (signed), else `X-Event-Name` (unsigned) | none: no timestamp | none |
//! | Meta: Facebook, Instagram, Messenger, WhatsApp (`Meta`) | `X-Hub-Signature-256: sha256=<hex>` (legacy sha1 never read) | HMAC-SHA256 | raw body (as received: Meta signs its escaped-unicode JSON) | App Secret | none documented: the signature (`sig:<hex>`; that a retry resends the same bytes is UNCONFIRMED); Meta retries for 36 h (WhatsApp: 7 days), so the guard must remember keys that long | body `object` | none: no timestamp | with `Meta::verify_token`: the **unsigned** `GET ?hub.mode=subscribe&hub.verify_token=..&hub.challenge=..`: `200` challenge as `text/plain` when the token matches (constant time), else `403` |
//! | GitLab (`GitLab`) | legacy: `X-Gitlab-Token: <token>`, **not a signature** (compared in constant time); `GitLab::signing_token`: `webhook-signature: v1,<base64>` (GitLab 19.0+) | legacy: token equality; signing token: Standard Webhooks v1 HMAC-SHA256 | legacy: nothing (the body is not covered); signing token: `{webhook-id}.{webhook-timestamp}.{body}` | legacy: the secret token; signing token: `whsec_` + base64 | `Idempotency-Key` (unsigned; kept on retries and resends), else `X-Gitlab-Event-UUID` (probably new on each retry); signing token: `webhook-id` (signed, = `Idempotency-Key`) | `X-Gitlab-Event` (unsigned) | legacy: none; signing token: 5 min (GitLab's own UNCONFIRMED), configurable | none |
//! | Calendly (`Calendly`) | `Calendly-Webhook-Signature: t=<unix>,v1=<hex>` | HMAC-SHA256 | `{t}.{body}` | webhook signing key as written | the signature (Calendly sends no id; whether a retry is signed afresh UNCONFIRMED) | body `event` | 5 min (Calendly's window UNCONFIRMED), configurable | none |
//! | Mux (`Mux`) | `Mux-Signature: t=<unix>,v1=<hex>[,v1=...]` | HMAC-SHA256 | `{t}.{body}` | endpoint signing secret as written | body `id` (signed) | body `type` | 5 min (Mux's SDK: past only; here both ways), configurable | none |
//! | PagerDuty v3 (`PagerDuty`) | `X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]` (one per secret during rotation) | HMAC-SHA256 | raw body | subscription secret as its ASCII bytes (looks like base64, **not** decoded) | `X-Webhook-Id` (unsigned; PagerDuty's documented dedup key, repeated on every attempt), else body `event.id` (signed); `PagerDuty::keyed_by_event_id`: `event.id` | body `event.event_type` | none: no timestamp | none |
//! | Razorpay (`Razorpay`) | `X-Razorpay-Signature: <hex>` | HMAC-SHA256 | raw body | webhook secret (not the API key secret); keep both during a change: retries stay signed with the old one, Dashboard replays with the current one | `x-razorpay-event-id` (unsigned), Razorpay's documented dedup key | body `event` | none: no timestamp | none |
//! | Coinbase Commerce (`CoinbaseCommerce`) | `X-CC-Webhook-Signature: <hex>` | HMAC-SHA256 | raw body | shared secret as written | body `event.id` (signed) | body `event.type` | none: no timestamp | none |
//! | Linear (`Linear`) | `Linear-Signature: <hex>` | HMAC-SHA256 | raw body | signing secret as written | `Linear-Delivery` (unsigned; "uniquely identifying this payload", whether a retry keeps it UNCONFIRMED) | body `type` | body `webhookTimestamp` (ms, signed), required as by `@linear/sdk` 98.0.0; the unsigned `linear-timestamp` header is never read: 60 s both ways, configurable | none |
//! | Mailgun (`Mailgun`) | none: body `signature.{timestamp,token,signature}` (JSON webhooks; legacy form fields and `parent-signature` not read) | HMAC-SHA256 | `{timestamp}{token}` only: **the event data is not signed** | HTTP webhook signing key | `signature.token` (signed; Mailgun's advice: refuse a token seen before), so a captured signature serves once | `event-data.event` (unsigned) | 5 min (none documented), configurable | none (`testing`'s signer writes the signature block into the body) |
//! | WorkOS (`WorkOS`) | `WorkOS-Signature: t=<unix ms>, v1=<hex>` | HMAC-SHA256 | `{t}.{body}` | webhook secret as written | body `id` (signed) | body `event` | 3 min (the SDKs' default), both ways, configurable | none |
//! | Webflow (`Webflow`) | `x-webflow-signature: <hex>` | HMAC-SHA256 | `{x-webflow-timestamp}:{body}` | OAuth client secret or the webhook's secret, as written | none documented: the signature (`sig:<hex>`) | body `triggerType` | 5 min, milliseconds, configurable | none |
//! | Paystack (`Paystack`) | `x-paystack-signature: <hex>` | HMAC-SHA512 | raw body | secret key (`sk_...`) as written | none documented: the signature (`sig:<hex>`; a retry resends the same bytes) | body `event` | none: no timestamp | none |
//! | Notion (`Notion`) | `X-Notion-Signature: sha256=<hex>` | HMAC-SHA256 | raw body | the subscription's verification token | body `id` (signed) | body `type` | none checked (the body's `timestamp` is the event's time) | none: the unsigned verification request (`{"verification_token":...}`) is refused `401`; capture the token outside the layer |
//! | Sentry (`Sentry`) | `Sentry-Hook-Signature: <hex>` | HMAC-SHA256 | raw body | integration client secret as written | `Request-ID` (unsigned) | `Sentry-Hook-Resource` (unsigned) | none: `Sentry-Hook-Timestamp` is not signed | none |
//!
//! Handshakes are answered only after the signature verifies; the handler is not called, and a handshake missing the field its answer needs is `400`. A delivery missing its id header is refused with `400`; a missing, malformed or non-matching signature, or a timestamp outside the tolerance, with `401`. The replay guard keys on the event id alone: where the id comes from an unsigned header (GitHub, Shopify), whoever captured a delivery can resend it under a fresh id. `dedupe_on_signature(true)` on the preset's `builder()` also keys on the signature and catches that, at the price of dropping distinct events with byte-identical bodies, so it is off by default. See "Unsigned ids and types" under [Security considerations](crate#security-considerations) for what a captured delivery allows under each dedup choice, and don't let an unsigned event type alone decide what a handler trusts. The Petstore (`Spec::petstore`) reads `id` and `type` from the signed body, with `X-Petstore-Event` only as a fallback for the type.
//!
//! ## Another provider: a `Spec`, without writing a `Scheme`
//!
//! A provider is data: a `scheme::Spec` says where the signatures are (in a header, or a body field as Mailgun's; a list with prefixes, a keyed list like `t=..,v1=..`, or a versioned list like `v1,.. v1a,..`), the algorithm and encoding of each version, the signed content as a template of `{timestamp}`, `{id}`, `{body}`, `{method}`, `{url}` and literals, where the timestamp is (unix seconds or milliseconds, RFC 3339; tolerance, one- or two-sided), where the id and type come from, and any handshake. `build()` validates the whole and returns a `ConfigError` rather than panicking; an ambiguous template such as `{id}{body}` is refused. An HMAC provider:
//!
//! ```rust
//! use std::time::Duration;
//! use tower_webhook::scheme::{Algorithm, Encoding, FieldSource, Spec, TimestampFormat};
//! use tower_webhook::Secret;
//!
//! let acme = Spec::builder("acme")
//!     .signature_header("x-acme-signature")
//!     .version("sha256=", Algorithm::HmacSha256, Encoding::Base64)
//!     .timestamp_header("x-acme-timestamp", TimestampFormat::UnixSeconds)
//!     .tolerance(Duration::from_secs(300))
//!     .id(FieldSource::header("x-acme-delivery"))
//!     .event_type(FieldSource::body("event.kind"))
//!     .signed_content("{timestamp}.{id}.{body}")
//!     .keys(Secret::new("acme secret")?)
//!     .build()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! An Ed25519 provider (feature `ed25519`) is the same declaration with another algorithm and a public key:
//!
//! ```rust
//! # #[cfg(feature = "ed25519")] {
//! use tower_webhook::scheme::{Algorithm, Encoding, FieldSource, Spec, TimestampFormat};
//! use tower_webhook::PublicKey;
//!
//! let widgets = Spec::builder("widgets")
//!     .signature_header("x-widgets-signature")
//!     .version("", Algorithm::Ed25519, Encoding::Hex)
//!     .timestamp_header("x-widgets-timestamp", TimestampFormat::UnixSeconds)
//!     .id(FieldSource::body("id"))
//!     .signed_content("{timestamp}.{body}")
//!     .keys(PublicKey::ed25519_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")?)
//!     .build()?;
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! URL-signed templates (`{url}`) need the endpoint's public URL as the sender calls it (`.public_url("https://hooks.example.com/in")`; the request's query is appended), because a TLS-terminating proxy changes the scheme and host; `.trust_forwarded_headers(true)` reads `X-Forwarded-Proto`/`X-Forwarded-Host` instead, which trusts the proxy to set them. A sender no `Spec` can describe is still a `Scheme` of your own (Twilio's is one).

#[macro_use]
pub(crate) mod macros;

pub(crate) mod decode;
pub(crate) mod json;
mod provider;
pub(crate) mod request;
#[cfg(feature = "test-util")]
pub(crate) mod sign;
pub(crate) mod spec;
pub(crate) mod timestamp;
pub(crate) mod url;
pub(crate) mod verdict;
pub(crate) mod verify;

pub use self::provider::*;
pub use self::request::RequestParts;
pub use self::spec::{
    ConfigError, FieldSource, Handshake, SignaturePolicy, Spec, SpecBuilder, TemplateError, MAX_VERSIONS,
};
pub use self::timestamp::{TimestampFormat, DEFAULT_TOLERANCE, MAX_TOLERANCE};
pub use self::verdict::{Reply, Verdict, VerifiedEvent, MAX_ID_LEN};
pub use self::verify::Scheme;
pub use crate::key::{Algorithm, Encoding};
