//! Discord's Ed25519 request signatures (feature `ed25519`), for interactions
//! endpoints and webhook-event endpoints, and their PING handshakes.

use http::StatusCode;

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::public::{Keys, PublicKey};
use crate::scheme::spec::{ConfigError, FieldSource, Handshake, Spec, SpecBuilder};
use crate::scheme::timestamp::TimestampFormat;

/// Which kind of Discord endpoint this is: they answer PING differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiscordEndpoint {
    /// The Interactions Endpoint URL: PING (`{"type":1}`) is answered `200`
    /// `{"type":1}`; the id is the interaction's `id`, the type its `type`.
    Interactions,
    /// The Webhook Events URL: PING (`{"type":0}`) is answered `204`; events
    /// carry no delivery id, so the id is the verified signature, and the
    /// type is `event.type`.
    WebhookEvents,
}

preset! {
    /// Discord's scheme: `X-Signature-Ed25519: <hex>`, the Ed25519 signature
    /// of `{X-Signature-Timestamp}{body}` (no separator) under the
    /// application's public key (the Developer Portal's hex **Public Key**).
    ///
    /// - **A bad signature is `401`**: Discord probes endpoints with invalid
    ///   signatures and removes those that accept them.
    /// - **Timestamp**: unix seconds, signed. Discord documents no tolerance;
    ///   this preset refuses more than 5 minutes either way
    ///   ([tolerance](Discord::tolerance)).
    /// - **PING** is answered by the layer after verification, see [`DiscordEndpoint`].
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{Discord, DiscordEndpoint, RequestParts, Scheme};
    ///
    /// // RFC 8032 test key 1 as the application's public key.
    /// let key = Discord::public_key("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")?;
    /// let discord = Discord::new(key, DiscordEndpoint::Interactions)?;
    /// let mut headers = HeaderMap::new();
    /// headers.insert("x-signature-timestamp", "1700000000".parse()?);
    /// headers.insert("x-signature-ed25519", "c4e8224a1c4a097c7ebad665c4fe938a2d938c9da8bbccc645da7ade677c338f7d1241a25449e9d62ca6201486e7db0ec0b76e3ef765fc1ebf2aa725cf390a0b".parse()?);
    /// let body = br#"{"type":1,"id":"1111","application_id":"2222","token":"tok","version":1}"#;
    /// let now = UNIX_EPOCH + Duration::from_secs(1700000000);
    ///
    /// let verdict = discord.verify(RequestParts::post(&headers), body, now)?;
    /// assert_eq!(&verdict.reply().unwrap().body()[..], br#"{"type":1}"#);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    Discord, timestamp
}

impl Discord {
    /// Discord's scheme for this kind of endpoint, verifying with any of
    /// `keys` (one application's public key, or several).
    ///
    /// # Errors
    ///
    /// [`ConfigError::NoUsableKey`] when no Ed25519 public key is given.
    pub fn new(keys: impl Into<Keys>, endpoint: DiscordEndpoint) -> Result<Self, ConfigError> {
        let spec = Self::for_endpoint(endpoint).keys(keys).build()?;
        Ok(Self { spec })
    }

    /// Parses the application's public key: 64 hex digits.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKey`] when it is not 32 bytes of hex naming an Ed25519 point.
    pub fn public_key(hex: &str) -> Result<PublicKey, ConfigError> {
        Ok(PublicKey::ed25519_hex(hex)?)
    }

    fn declaration() -> SpecBuilder {
        Self::for_endpoint(DiscordEndpoint::Interactions)
    }

    /// The declaration for one kind of endpoint, without keys.
    pub fn for_endpoint(endpoint: DiscordEndpoint) -> SpecBuilder {
        let base = Spec::builder("Discord")
            .signature_header("x-signature-ed25519")
            .version("", Algorithm::Ed25519, Encoding::Hex)
            .timestamp_header("x-signature-timestamp", TimestampFormat::UnixSeconds)
            .signed_content("{timestamp}{body}");
        match endpoint {
            DiscordEndpoint::Interactions => base
                .id(FieldSource::body("id"))
                .event_type(FieldSource::body("type"))
                .handshake(Handshake::when_body("type", "1").answer(
                    StatusCode::OK,
                    Some("application/json"),
                    br#"{"type":1}"#,
                )),
            DiscordEndpoint::WebhookEvents => base
                .id(FieldSource::signature())
                .event_type(FieldSource::body("event.type"))
                .handshake(Handshake::when_body("type", "0").answer(StatusCode::NO_CONTENT, None, b"")),
        }
    }
}
