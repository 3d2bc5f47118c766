//! Standard Webhooks, and the senders that send it under their own names:
//! Svix (`svix-*` headers), Clerk and Resend (through Svix), Replicate.

use crate::key::encoding::decode_base64;
use crate::key::error::SecretError;
use crate::key::public::{Keys, PublicKey};
use crate::key::secret::{Secret, Secrets};
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{ConfigError, SignaturePolicy, SpecBuilder};

use super::shared::{standard_webhooks, whsec, SVIX_NAMES};

preset! {
    /// The [Standard Webhooks](https://www.standardwebhooks.com/) scheme, which
    /// Svix also sends under `svix-*` header names.
    ///
    /// - `webhook-id`: the event id, signed, and the replay key: the spec calls it
    ///   the idempotency key, the same "no matter how many times a webhook that
    ///   has failed is retried"
    ///   (<https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md>);
    ///   Svix says the same of `svix-id`
    ///   (<https://docs.svix.com/receiving/verifying-payloads/how>);
    /// - `webhook-timestamp`: unix seconds, signed, checked against the
    ///   [tolerance](StandardWebhooks::tolerance) in both directions (default 5 minutes);
    /// - `webhook-signature`: a space-separated list of `v1,<base64 HMAC-SHA256>`
    ///   and (feature `ed25519`) `v1a,<base64 Ed25519>` entries, which may be
    ///   mixed; by default any entry verifying under any key passes (see
    ///   [`SignaturePolicy`] to require `v1a`, or both).
    ///
    /// The signed content is `{id}.{timestamp}.{body}`. A `v1` key is the base64
    /// decoding of what follows `whsec_` ([`StandardWebhooks::secret`]); a `v1a`
    /// key is the sender's Ed25519 public key `whpk_...`
    /// ([`StandardWebhooks::public_key`]). Public keys come from your
    /// configuration, never from the request. When no `webhook-*` header is
    /// present, the `svix-*` names are read instead.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_webhook::scheme::StandardWebhooks;
    ///
    /// let scheme = StandardWebhooks::new(StandardWebhooks::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?)
    ///     .tolerance(Duration::from_secs(120));
    /// # Ok::<(), tower_webhook::SecretError>(())
    /// ```
    StandardWebhooks, timestamp
}

impl StandardWebhooks {
    /// The scheme, accepting `v1` signatures by any of `secrets`.
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let keys = Keys::from(secrets.into());
        Self::with_keys(keys, SignaturePolicy::Any).expect(PRESET)
    }

    /// The scheme with any mix of `whsec_` secrets and `whpk_` public keys
    /// (parse them with [`StandardWebhooks::key`]) and a [`SignaturePolicy`]:
    /// [`SignaturePolicy::Any`], `SignaturePolicy::Require("v1a".into())` or [`SignaturePolicy::All`].
    ///
    /// # Errors
    ///
    /// [`ConfigError::NoUsableKey`] when `keys` is empty, and
    /// [`ConfigError::UnsatisfiablePolicy`] when the policy requires a
    /// version no key verifies.
    pub fn with_keys(keys: impl Into<Keys>, policy: SignaturePolicy) -> Result<Self, ConfigError> {
        let spec = Self::declaration().keys(keys).policy(policy).build()?;
        Ok(Self { spec })
    }

    fn declaration() -> SpecBuilder {
        standard_webhooks("StandardWebhooks").alternate_headers(&SVIX_NAMES)
    }

    /// Parses a Standard Webhooks secret: `whsec_` followed by base64, padded
    /// or not, with or without set trailing bits (the prefix may be left out,
    /// as the reference libraries allow, unless the text then decodes to an
    /// Ed25519 public key).
    ///
    /// # Errors
    ///
    /// [`SecretError::InvalidBase64`] or [`SecretError::Empty`];
    /// [`SecretError::LooksLikePublicKey`] for prefix-less text that decodes
    /// to an Ed25519 point or SubjectPublicKeyInfo (a `whpk_` key missing
    /// its prefix would otherwise be an HMAC secret anyone can sign with).
    pub fn secret(text: &str) -> Result<Secret, SecretError> {
        whsec(text)
    }

    /// Parses a `v1a` public key: `whpk_` followed by the base64 of the
    /// 32-byte Ed25519 key (or of the 44-byte DER SubjectPublicKeyInfo some
    /// senders use).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidKey`] without the `whpk_` prefix, for text that
    /// is not base64, or for any other key; [`ConfigError::AlgorithmDisabled`]
    /// without the `ed25519` feature.
    pub fn public_key(text: &str) -> Result<PublicKey, ConfigError> {
        let encoded = text.trim().strip_prefix("whpk_").ok_or(ConfigError::InvalidKey {
            reason: "a Standard Webhooks public key starts with `whpk_`",
        })?;
        let bytes = decode_base64(encoded).map_err(|_| ConfigError::InvalidKey { reason: "not base64" })?;
        Ok(PublicKey::ed25519(&bytes)?)
    }

    /// Parses either kind of key: `whpk_...` as a public key, anything else
    /// as a secret ([`StandardWebhooks::secret`], which refuses prefix-less
    /// text that decodes to an Ed25519 public key).
    ///
    /// # Errors
    ///
    /// As [`StandardWebhooks::public_key`] and [`StandardWebhooks::secret`].
    pub fn key(text: &str) -> Result<Keys, ConfigError> {
        if text.trim().starts_with("whpk_") {
            Ok(Self::public_key(text)?.into())
        } else {
            Ok(Self::secret(text)?.into())
        }
    }
}

/// Svix's name for [`StandardWebhooks`]: Svix sends the same scheme, under
/// `svix-id`, `svix-timestamp` and `svix-signature`, which `StandardWebhooks`
/// reads when no `webhook-*` header is present. The secret is Svix's
/// `whsec_...` string, parsed with [`Svix::secret`](StandardWebhooks::secret).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use http::HeaderMap;
/// use tower_webhook::scheme::{RequestParts, Scheme, Svix};
///
/// let svix = Svix::new(Svix::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
/// let mut headers = HeaderMap::new();
/// headers.insert("svix-id", "msg_p5jXN8AQM9LWM0D4loKWxJek".parse()?);
/// headers.insert("svix-timestamp", "1614265330".parse()?);
/// headers.insert("svix-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".parse()?);
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1614265330);
///
/// let verdict = svix.verify(RequestParts::post(&headers), br#"{"test": 2432232314}"#, now)?;
/// assert_eq!(verdict.event().unwrap().id(), "msg_p5jXN8AQM9LWM0D4loKWxJek");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type Svix = StandardWebhooks;

/// Clerk: its webhooks are sent by Svix, `svix-id`, `svix-timestamp` and
/// `svix-signature: v1,<base64>`, the HMAC-SHA256 of `{svix-id}.{svix-timestamp}.{body}`
/// keyed with the base64 after `whsec_` of the endpoint's signing secret
/// (`CLERK_WEBHOOK_SIGNING_SECRET`): the same type as [`StandardWebhooks`],
/// which reads the `svix-*` names when no `webhook-*` header is present.
/// The timestamp is checked within 5 minutes either way
/// ([`tolerance`](StandardWebhooks::tolerance) changes it). The
/// replay key is `svix-id`, signed, and the same on every retry of a
/// message (<https://docs.svix.com/receiving/verifying-payloads/how>). Clerk
/// puts the event type in the body's `type`, which the layer does not read
/// (`Verified::event_type` is `None`: read it in the handler); no handshake.
///
/// Source: <https://clerk.com/docs/reference/backend/verify-webhook>
/// (`verifyWebhook` maps `svix-*` to `webhook-*` and calls `standardwebhooks`).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use http::HeaderMap;
/// use tower_webhook::scheme::{Clerk, RequestParts, Scheme};
///
/// // The Standard Webhooks reference vector, under Svix's names.
/// let clerk = Clerk::new(Clerk::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
/// let mut headers = HeaderMap::new();
/// headers.insert("svix-id", "msg_p5jXN8AQM9LWM0D4loKWxJek".parse()?);
/// headers.insert("svix-timestamp", "1614265330".parse()?);
/// headers.insert("svix-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".parse()?);
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1614265330);
///
/// let verdict = clerk.verify(RequestParts::post(&headers), br#"{"test": 2432232314}"#, now)?;
/// assert_eq!(verdict.event().unwrap().id(), "msg_p5jXN8AQM9LWM0D4loKWxJek");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type Clerk = StandardWebhooks;

/// Resend: its webhooks are sent by Svix, `svix-id`, `svix-timestamp` and
/// `svix-signature: v1,<base64>`, the HMAC-SHA256 of `{svix-id}.{svix-timestamp}.{body}`
/// keyed with the base64 after `whsec_` of the webhook's signing secret: the
/// same type as [`StandardWebhooks`], which reads the
/// `svix-*` names when no `webhook-*` header is present. The timestamp is
/// checked within 5 minutes either way. The replay key is `svix-id`, signed,
/// the same on every retry (<https://docs.svix.com/receiving/verifying-payloads/how>);
/// Resend puts the event type in the body's `type`, which the layer does not
/// read (`Verified::event_type` is `None`: read it in the handler, from the
/// typed body); no handshake.
///
/// Source: <https://resend.com/docs/webhooks/verify-webhooks-requests>
/// (verification with the `svix` library over the three `svix-*` headers).
///
/// ```
/// use tower_webhook::scheme::Resend;
///
/// let resend = Resend::new(Resend::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
/// # let _ = resend;
/// # Ok::<(), tower_webhook::SecretError>(())
/// ```
pub type Resend = StandardWebhooks;

/// Replicate: `webhook-id`, `webhook-timestamp` and
/// `webhook-signature: v1,<base64>[ v1,<base64>...]`, the HMAC-SHA256 of
/// `{webhook-id}.{webhook-timestamp}.{body}` keyed with the base64 after
/// `whsec_` of the account's signing secret (`GET /v1/webhooks/default/secret`):
/// the same type as [`StandardWebhooks`]. The
/// timestamp is checked within 5 minutes either way (the Standard Webhooks
/// default; Replicate's page states no window). The replay key is
/// `webhook-id`, signed: "unique across all messages but will be the same
/// when a webhook is being resent". A prediction sends several deliveries
/// (`start`, `output`, `logs`, `completed`), each with its own id. The body is the prediction (its
/// `status` says what happened); there is no `type`, and no handshake.
///
/// Source: <https://replicate.com/docs/topics/webhooks/verify-webhook>.
///
/// ```
/// use tower_webhook::scheme::Replicate;
///
/// let replicate = Replicate::new(Replicate::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
/// # let _ = replicate;
/// # Ok::<(), tower_webhook::SecretError>(())
/// ```
pub type Replicate = StandardWebhooks;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::encoding::Encoding;

    #[test]
    fn accepts_secrets_with_and_without_padding() {
        let padded = StandardWebhooks::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        // A 31-byte key: its padded base64 ends in `=`.
        let key = Encoding::Base64.encode(&[9u8; 31]);
        assert!(key.ends_with('='));
        let a = StandardWebhooks::secret(&format!("whsec_{key}")).unwrap();
        let b = StandardWebhooks::secret(&format!("whsec_{}", key.trim_end_matches('='))).unwrap();
        assert_eq!(a.expose(), b.expose());
        assert_eq!(padded.expose().len(), 24);
    }

    /// The Standard Webhooks test suite's unpadded secret whose last character
    /// carries set trailing bits, with the signature its Python SDK
    /// (`standardwebhooks` 1.3.0) makes:
    /// `Webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS").sign(id, 1614265330, body)`.
    #[test]
    fn accepts_the_sdk_suites_unpadded_secret_with_trailing_bits() {
        use crate::scheme::request::RequestParts;
        use crate::scheme::verify::Scheme;
        use std::time::{Duration, UNIX_EPOCH};

        let secret = StandardWebhooks::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS").unwrap();
        assert_eq!(secret.len(), 23);
        let scheme = StandardWebhooks::new(secret);
        let mut headers = http::HeaderMap::new();
        headers.insert("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek".parse().unwrap());
        headers.insert("webhook-timestamp", "1614265330".parse().unwrap());
        headers.insert(
            "webhook-signature",
            "v1,LVOXivKoo4FWasi/IaHvzhE/u+7/cu2AME+zS/nXqzk=".parse().unwrap(),
        );
        let now = UNIX_EPOCH + Duration::from_secs(1_614_265_330);
        let body = br#"{"test": 2432232314}"#;
        assert!(scheme.verify(RequestParts::post(&headers), body, now).is_ok());
        assert!(scheme.verify(RequestParts::post(&headers), b"{}", now).is_err());
    }

    #[test]
    fn public_keys_need_their_prefix_and_a_valid_key() {
        for bad in [
            "",
            "whpk_",
            "whpk_!!!!",
            "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
            "whpk_AAAA",
        ] {
            assert!(
                matches!(
                    StandardWebhooks::public_key(bad),
                    Err(ConfigError::InvalidKey { .. } | ConfigError::AlgorithmDisabled { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[cfg(feature = "ed25519")]
    #[test]
    fn policies_need_keys_for_what_they_require() {
        let secret = || Keys::from(Secret::new("k").unwrap());
        assert!(StandardWebhooks::with_keys(secret(), SignaturePolicy::Any).is_ok());
        assert_eq!(
            StandardWebhooks::with_keys(secret(), SignaturePolicy::Require("v1a".into())).err(),
            Some(ConfigError::UnsatisfiablePolicy)
        );
        assert_eq!(
            StandardWebhooks::with_keys(secret(), SignaturePolicy::All).err(),
            Some(ConfigError::UnsatisfiablePolicy)
        );
        assert_eq!(
            StandardWebhooks::with_keys(Keys::new(), SignaturePolicy::Any).err(),
            Some(ConfigError::NoUsableKey)
        );
    }
}
