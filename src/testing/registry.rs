//! The preset registry: every preset of the crate described once (how to
//! build its scheme and its signer, its test keys, where its signature, id
//! and timestamp travel), for the crate's tests, fuzz targets and examples.

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName};

#[cfg(any(feature = "ed25519", feature = "p256"))]
use super::signer::{Signer, SigningKey};
#[cfg(feature = "p256")]
use crate::key::encoding::Encoding;
#[cfg(feature = "ed25519")]
use crate::key::public::Keys;
use crate::key::secret::Secret;
use crate::scheme::sign::Sign;
#[cfg(feature = "ed25519")]
use crate::scheme::spec::SignaturePolicy;
use crate::scheme::spec::{ConfigError, Spec};
use crate::scheme::verify::Scheme;
#[cfg(feature = "p256")]
use crate::scheme::SendGrid;
#[cfg(feature = "ed25519")]
use crate::scheme::{Discord, DiscordEndpoint};
use crate::scheme::{GitLabSender, StandardWebhooks};

/// Where a preset's event id comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdSource {
    /// A header.
    Header(&'static str),
    /// A field of the JSON body.
    Body(&'static str),
    /// The verified signature (`sig:<hex>`).
    Signature,
}

/// Where a preset's signature travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureSource {
    /// A header.
    Header(&'static str),
    /// A string field of the JSON body, at this dotted path (Mailgun's
    /// `signature.signature`), written by [`Sign::sign_body`].
    Body(&'static str),
}

/// Builds a preset's scheme from a key and the public URL.
type SchemeFn = fn(key: &str, public_url: &str) -> Result<BoxScheme, ConfigError>;

/// A signer, boxed.
pub type BoxSigner = Box<dyn Sign + Send + Sync>;

/// A scheme, boxed.
pub type BoxScheme = Box<dyn Scheme>;

/// One preset, described once for the tests, fuzz targets and examples: a
/// new provider is a declaration, one line in [`presets`], and its vectors.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct Preset {
    /// The name, as the `scheme` field of the shared vector files.
    pub name: &'static str,
    /// The scheme, from the verification key as the provider hands it out
    /// (a secret, or a public key) and the endpoint's public URL (used by
    /// URL-signed schemes only).
    pub scheme: fn(key: &str, public_url: &str) -> Result<BoxScheme, ConfigError>,
    /// A signer, from the sender's key (the secret, or a private key: hex of
    /// an Ed25519 seed or a P-256 scalar, or `whsk_`), and the public URL.
    pub signer: fn(key: &str, public_url: &str) -> Result<BoxSigner, ConfigError>,
    /// A matching (verification key, signing key) pair for tests.
    pub test_keys: fn() -> (String, String),
    /// A signing key of the same kind that does not match `test_keys`: a forger's.
    pub forger_key: &'static str,
    /// Where the signature travels: a header, or (Mailgun) the body.
    pub signature: SignatureSource,
    /// The timestamp header, if the timestamp has one of its own.
    pub timestamp_header: Option<&'static str>,
    /// Where the event id comes from.
    pub id: IdSource,
    /// Whether the id is covered by the signature.
    pub id_signed: bool,
    /// Whether the raw body bytes are signed as sent (Twilio signs decoded
    /// form parameters, so `+` and `%20` are the same to it; Mailgun signs
    /// only its signature block's timestamp and token, not the event data).
    pub body_signed_verbatim: bool,
    /// Whether the scheme signs the public URL.
    pub url_signed: bool,
}

impl std::fmt::Debug for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preset")
            .field("name", &self.name)
            .field("signature", &self.signature)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A preset by its name.
pub fn preset(name: &str) -> Option<&'static Preset> {
    presets().iter().find(|p| p.name == name)
}

/// Signs as the inner signer, then renames headers (Svix's `svix-*` names).
struct Renamed(BoxSigner, &'static [(&'static str, &'static str)]);

impl Sign for Renamed {
    fn sign_body(&self, body: Bytes, id: &str, timestamp: i64) -> Bytes {
        self.0.sign_body(body, id, timestamp)
    }

    fn sign_headers(&self, body: &[u8], id: &str, timestamp: i64) -> HeaderMap {
        let mut headers = self.0.sign_headers(body, id, timestamp);
        for (from, to) in self.1 {
            if let Some(value) = headers.remove(*from) {
                headers.insert(HeaderName::from_static(to), value);
            }
        }
        headers
    }

    fn event_type_header(&self) -> Option<HeaderName> {
        self.0.event_type_header()
    }
}

fn secret(text: &str) -> Result<Secret, ConfigError> {
    Ok(Secret::new(text)?)
}

/// Every preset of the crate, once.
pub fn presets() -> &'static [Preset] {
    use crate::scheme::{Bitbucket, GitLab, Intercom, LemonSqueezy, Meta, Typeform, Vercel};
    use crate::scheme::{Calendly, CoinbaseCommerce, Linear, Mailgun, Mux, PagerDuty, Razorpay};
    use crate::scheme::{Clerk, HubSpot, Polar, Replicate, Resend, Square};
    use crate::scheme::{GitHub, Paddle, Shopify, Slack, Stripe, Twilio, Twitch, Zoom};
    use crate::scheme::{Notion, Paystack, Sentry, Webflow, WorkOS};
    macro_rules! hmac {
        ($name:literal, $ty:ident, $sig:literal, $ts:expr, $id:expr, $signed:literal) => {
            Preset {
                name: $name,
                scheme: |key, _| Ok(Box::new($ty::new(secret(key)?))),
                signer: |key, _| Ok(Box::new($ty::new(secret(key)?))),
                test_keys: || ("registry secret".into(), "registry secret".into()),
                forger_key: "another secret",
                signature: SignatureSource::Header($sig),
                timestamp_header: $ts,
                id: $id,
                id_signed: $signed,
                body_signed_verbatim: true,
                url_signed: false,
            }
        };
    }
    static PRESETS: std::sync::OnceLock<Vec<Preset>> = std::sync::OnceLock::new();
    PRESETS.get_or_init(|| {
        #[allow(unused_mut)]
        let mut all = vec![
            Preset {
                name: "petstore",
                scheme: |key, _| Ok(Box::new(Spec::petstore(secret(key)?))),
                signer: |key, _| Ok(Box::new(Spec::petstore(secret(key)?))),
                test_keys: || ("registry secret".into(), "registry secret".into()),
                forger_key: "another secret",
                signature: SignatureSource::Header("x-petstore-signature"),
                timestamp_header: None,
                id: IdSource::Body("id"),
                id_signed: true,
                body_signed_verbatim: true,
                url_signed: false,
            },
            Preset {
                name: "standard-webhooks",
                scheme: |key, _| Ok(Box::new(StandardWebhooks::new(StandardWebhooks::secret(key)?))),
                signer: |key, _| Ok(Box::new(StandardWebhooks::new(StandardWebhooks::secret(key)?))),
                test_keys: whsec_keys,
                forger_key: "whsec_YW5vdGhlciBzZWNyZXQ=",
                signature: SignatureSource::Header("webhook-signature"),
                timestamp_header: Some("webhook-timestamp"),
                id: IdSource::Header("webhook-id"),
                id_signed: true,
                body_signed_verbatim: true,
                url_signed: false,
            },
            Preset {
                name: "svix",
                scheme: |key, _| Ok(Box::new(StandardWebhooks::new(StandardWebhooks::secret(key)?))),
                signer: |key, _| svix_signer(key),
                test_keys: whsec_keys,
                forger_key: "whsec_YW5vdGhlciBzZWNyZXQ=",
                signature: SignatureSource::Header("svix-signature"),
                timestamp_header: Some("svix-timestamp"),
                id: IdSource::Header("svix-id"),
                id_signed: true,
                body_signed_verbatim: true,
                url_signed: false,
            },
            hmac!("github", GitHub, "x-hub-signature-256", None, IdSource::Header("x-github-delivery"), false),
            hmac!("stripe", Stripe, "stripe-signature", None, IdSource::Body("id"), true),
            hmac!("slack", Slack, "x-slack-signature", Some("x-slack-request-timestamp"), IdSource::Body("event_id"), true),
            hmac!("shopify", Shopify, "x-shopify-hmac-sha256", None, IdSource::Header("x-shopify-webhook-id"), false),
            hmac!("zoom", Zoom, "x-zm-signature", Some("x-zm-request-timestamp"), IdSource::Signature, true),
            hmac!(
                "twitch-eventsub",
                Twitch,
                "twitch-eventsub-message-signature",
                Some("twitch-eventsub-message-timestamp"),
                IdSource::Header("twitch-eventsub-message-id"),
                true
            ),
            hmac!("paddle-billing", Paddle, "paddle-signature", None, IdSource::Body("event_id"), true),
            hmac!("intercom", Intercom, "x-hub-signature", None, IdSource::Body("id"), true),
            hmac!("bitbucket", Bitbucket, "x-hub-signature", None, IdSource::Header("x-request-uuid"), false),
            hmac!("typeform", Typeform, "typeform-signature", None, IdSource::Body("event_id"), true),
            hmac!("vercel", Vercel, "x-vercel-signature", None, IdSource::Body("id"), true),
            hmac!("lemonsqueezy", LemonSqueezy, "x-signature", None, IdSource::Signature, true),
            hmac!("meta", Meta, "x-hub-signature-256", None, IdSource::Signature, true),
            Preset {
                name: "gitlab",
                scheme: |key, _| Ok(Box::new(GitLab::new(secret(key)?))),
                signer: |key, _| Ok(Box::new(GitLabSender(secret(key)?))),
                test_keys: || ("registry secret".into(), "registry secret".into()),
                forger_key: "another secret",
                signature: SignatureSource::Header("x-gitlab-token"),
                timestamp_header: None,
                id: IdSource::Header("idempotency-key"),
                id_signed: false,
                // A token, not a signature: the body is not covered at all.
                body_signed_verbatim: false,
                url_signed: false,
            },
            hmac!("calendly", Calendly, "calendly-webhook-signature", None, IdSource::Signature, true),
            hmac!("mux", Mux, "mux-signature", None, IdSource::Body("id"), true),
            hmac!("pagerduty-v3", PagerDuty, "x-pagerduty-signature", None, IdSource::Header("x-webhook-id"), false),
            hmac!("razorpay", Razorpay, "x-razorpay-signature", None, IdSource::Header("x-razorpay-event-id"), false),
            hmac!("coinbase-commerce", CoinbaseCommerce, "x-cc-webhook-signature", None, IdSource::Body("event.id"), true),
            // The timestamp is the body's `webhookTimestamp`, which
            // `sign_body` sets (a body that is not a JSON object cannot carry it).
            hmac!("linear", Linear, "linear-signature", None, IdSource::Header("linear-delivery"), false),
            hmac!("workos", WorkOS, "workos-signature", None, IdSource::Body("id"), true),
            hmac!("webflow", Webflow, "x-webflow-signature", Some("x-webflow-timestamp"), IdSource::Signature, true),
            hmac!("paystack", Paystack, "x-paystack-signature", None, IdSource::Signature, true),
            hmac!("notion", Notion, "x-notion-signature", None, IdSource::Body("id"), true),
            hmac!("sentry", Sentry, "sentry-hook-signature", None, IdSource::Header("request-id"), false),
            // The signature, its timestamp and the token (the id) are written
            // into the body by `sign_body`; `event-data` is not signed.
            Preset {
                name: "mailgun",
                scheme: |key, _| Ok(Box::new(Mailgun::new(secret(key)?))),
                signer: |key, _| Ok(Box::new(Mailgun::new(secret(key)?))),
                test_keys: || ("registry secret".into(), "registry secret".into()),
                forger_key: "another secret",
                signature: SignatureSource::Body("signature.signature"),
                timestamp_header: None,
                id: IdSource::Body("signature.token"),
                id_signed: true,
                body_signed_verbatim: false,
                url_signed: false,
            },
            Preset {
                name: "twilio",
                scheme: |key, url| Ok(Box::new(Twilio::new(secret(key)?, url)?)),
                signer: |key, url| Ok(Box::new(Twilio::new(secret(key)?, url)?)),
                test_keys: || ("12345".into(), "12345".into()),
                forger_key: "54321",
                signature: SignatureSource::Header("x-twilio-signature"),
                timestamp_header: None,
                // Unsigned; the signature is the second replay key.
                id: IdSource::Header("i-twilio-idempotency-token"),
                id_signed: false,
                body_signed_verbatim: false,
                url_signed: true,
            },
            // Clerk and Resend are Svix senders, under their own names.
            svix_named("clerk", |key, _| Ok(Box::new(Clerk::new(Clerk::secret(key)?)))),
            Preset {
                name: "hubspot-v3",
                scheme: |key, url| Ok(Box::new(HubSpot::new(secret(key)?, url)?)),
                signer: |key, url| Ok(Box::new(HubSpot::new(secret(key)?, url)?)),
                test_keys: || ("registry secret".into(), "registry secret".into()),
                forger_key: "another secret",
                signature: SignatureSource::Header("x-hubspot-signature-v3"),
                timestamp_header: Some("x-hubspot-request-timestamp"),
                id: IdSource::Signature,
                id_signed: true,
                body_signed_verbatim: true,
                url_signed: true,
            },
            Preset {
                name: "polar",
                scheme: |key, _| Ok(Box::new(Polar::new(Polar::secret(key)?))),
                signer: |key, _| Ok(Box::new(Polar::new(Polar::secret(key)?))),
                test_keys: || {
                    (
                        "polar_whs_registry secret".into(),
                        "polar_whs_registry secret".into(),
                    )
                },
                forger_key: "polar_whs_another secret",
                signature: SignatureSource::Header("webhook-signature"),
                timestamp_header: Some("webhook-timestamp"),
                id: IdSource::Header("webhook-id"),
                id_signed: true,
                body_signed_verbatim: true,
                url_signed: false,
            },
            Preset {
                name: "replicate",
                scheme: |key, _| Ok(Box::new(Replicate::new(Replicate::secret(key)?))),
                signer: |key, _| Ok(Box::new(Replicate::new(Replicate::secret(key)?))),
                test_keys: whsec_keys,
                forger_key: "whsec_YW5vdGhlciBzZWNyZXQ=",
                signature: SignatureSource::Header("webhook-signature"),
                timestamp_header: Some("webhook-timestamp"),
                id: IdSource::Header("webhook-id"),
                id_signed: true,
                body_signed_verbatim: true,
                url_signed: false,
            },
            svix_named("resend", |key, _| Ok(Box::new(Resend::new(Resend::secret(key)?)))),
            Preset {
                name: "square",
                scheme: |key, url| Ok(Box::new(Square::new(secret(key)?, url)?)),
                signer: |key, url| Ok(Box::new(Square::new(secret(key)?, url)?)),
                test_keys: || ("registry secret".into(), "registry secret".into()),
                forger_key: "another secret",
                signature: SignatureSource::Header("x-square-hmacsha256-signature"),
                timestamp_header: None,
                id: IdSource::Body("event_id"),
                id_signed: true,
                body_signed_verbatim: true,
                url_signed: true,
            },
        ];
        #[cfg(feature = "ed25519")]
        all.extend([
            Preset {
                name: "standard-webhooks-v1a",
                scheme: |key, _| {
                    let keys = Keys::from(StandardWebhooks::public_key(key)?);
                    Ok(Box::new(StandardWebhooks::with_keys(
                        keys,
                        SignaturePolicy::Any,
                    )?))
                },
                signer: |key, _| {
                    let key = SigningKey::whsk(key)?;
                    let spec = StandardWebhooks::builder().keys(key.public_key()).build()?;
                    Ok(Box::new(Signer::new(spec, key)))
                },
                test_keys: || {
                    (
                        "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=".into(),
                        "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg=="
                            .into(),
                    )
                },
                forger_key: "whsk_AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
                signature: SignatureSource::Header("webhook-signature"),
                timestamp_header: Some("webhook-timestamp"),
                id: IdSource::Header("webhook-id"),
                id_signed: true,
                body_signed_verbatim: true,
                url_signed: false,
            },
            Preset {
                name: "discord-ed25519",
                scheme: |key, _| {
                    let key = Discord::public_key(key)?;
                    Ok(Box::new(Discord::new(
                        key,
                        DiscordEndpoint::Interactions,
                    )?))
                },
                signer: |key, _| {
                    let key = SigningKey::ed25519_hex(key)?;
                    let scheme =
                        Discord::new(key.public_key(), DiscordEndpoint::Interactions)?;
                    Ok(Box::new(Signer::new(scheme, key)))
                },
                // RFC 8032 section 7.1, test 1.
                test_keys: || {
                    (
                        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a".into(),
                        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60".into(),
                    )
                },
                forger_key: "0101010101010101010101010101010101010101010101010101010101010101",
                signature: SignatureSource::Header("x-signature-ed25519"),
                timestamp_header: Some("x-signature-timestamp"),
                id: IdSource::Body("id"),
                id_signed: true,
                body_signed_verbatim: true,
                url_signed: false,
            },
        ]);
        #[cfg(feature = "p256")]
        all.push(Preset {
            name: "sendgrid-ecdsa",
            scheme: |key, _| {
                let key = SendGrid::public_key(key)?;
                Ok(Box::new(SendGrid::new(key)?))
            },
            signer: |key, _| {
                let key = SigningKey::p256_hex(key)?;
                let scheme = SendGrid::new(key.public_key())?;
                Ok(Box::new(Signer::new(scheme, key)))
            },
            test_keys: || {
                let scalar = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721";
                #[allow(irrefutable_let_patterns)] // without `ed25519`, `P256` is the only variant
                let SigningKey::P256(key) = SigningKey::p256_hex(scalar).expect("a valid scalar") else {
                    unreachable!("p256_hex makes P-256 keys")
                };
                let point = key.verifying_key().to_encoded_point(false);
                let mut der = hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").expect("hex");
                der.extend_from_slice(point.as_bytes());
                (Encoding::Base64.encode(&der), scalar.into())
            },
            forger_key: "0202020202020202020202020202020202020202020202020202020202020202",
            signature: SignatureSource::Header("x-twilio-email-event-webhook-signature"),
            timestamp_header: Some("x-twilio-email-event-webhook-timestamp"),
            id: IdSource::Signature,
            id_signed: true,
            body_signed_verbatim: true,
            url_signed: false,
        });
        all
    })
}

/// A Standard Webhooks signer under Svix's `svix-*` names.
fn svix_signer(key: &str) -> Result<BoxSigner, ConfigError> {
    let inner: BoxSigner = Box::new(StandardWebhooks::new(StandardWebhooks::secret(key)?));
    Ok(Box::new(Renamed(
        inner,
        &[
            ("webhook-id", "svix-id"),
            ("webhook-timestamp", "svix-timestamp"),
            ("webhook-signature", "svix-signature"),
        ],
    )))
}

/// The Standard Webhooks reference secret, as both halves of a test key pair.
fn whsec_keys() -> (String, String) {
    let key = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned();
    (key.clone(), key)
}

/// A Svix sender under a provider's name (Clerk, Resend): Standard Webhooks
/// signed under the `svix-*` headers.
fn svix_named(name: &'static str, scheme: SchemeFn) -> Preset {
    Preset {
        name,
        scheme,
        signer: |key, _| svix_signer(key),
        test_keys: whsec_keys,
        forger_key: "whsec_YW5vdGhlciBzZWNyZXQ=",
        signature: SignatureSource::Header("svix-signature"),
        timestamp_header: Some("svix-timestamp"),
        id: IdSource::Header("svix-id"),
        id_signed: true,
        body_signed_verbatim: true,
        url_signed: false,
    }
}
