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
