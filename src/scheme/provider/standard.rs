//! Standard Webhooks (and Svix, which uses the same scheme under `svix-*` headers).

use std::fmt;
use std::time::Duration;

use http::header::{HeaderMap, HeaderName};

use crate::key::encoding::decode_base64;
use crate::key::{Algorithm, Encoding, Keys, PublicKey, Secret, SecretError, Secrets};
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{ConfigError, Field, Policy, Spec, SpecBuilder};
use crate::scheme::timestamp::TimestampFormat;
use crate::scheme::verify::Scheme;

/// One family of header names.
struct Names {
    id: &'static str,
    timestamp: &'static str,
    signature: &'static str,
}

const WEBHOOK: Names = Names {
    id: "webhook-id",
    timestamp: "webhook-timestamp",
    signature: "webhook-signature",
};

const SVIX: Names = Names {
    id: "svix-id",
    timestamp: "svix-timestamp",
    signature: "svix-signature",
};

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
///   [`Policy`] to require `v1a`, or both).
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
#[derive(Clone)]
pub struct StandardWebhooks {
    webhook: Spec,
    svix: Spec,
}

impl StandardWebhooks {
    /// The scheme, accepting `v1` signatures by any of `secrets`.
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let keys = Keys::from(secrets.into());
        Self::with_keys(keys, Policy::Any).expect(PRESET)
    }

    /// The scheme with any mix of `whsec_` secrets and `whpk_` public keys
    /// (parse them with [`StandardWebhooks::key`]) and a [`Policy`]:
    /// [`Policy::Any`], `Policy::Require("v1a".into())` or [`Policy::All`].
    ///
    /// # Errors
    ///
    /// [`ConfigError::NoUsableKey`] when `keys` is empty, and
    /// [`ConfigError::UnsatisfiablePolicy`] when the policy requires a
    /// version no key verifies.
    pub fn with_keys(keys: impl Into<Keys>, policy: Policy) -> Result<Self, ConfigError> {
        let keys = keys.into();
        Ok(Self {
            webhook: Self::spec(&WEBHOOK)
                .keys(keys.clone())
                .policy(policy.clone())
                .build()?,
            svix: Self::spec(&SVIX).keys(keys).policy(policy).build()?,
        })
    }

    /// The declaration under the `webhook-*` names, without keys.
    pub fn builder() -> SpecBuilder {
        Self::spec(&WEBHOOK)
    }

    fn spec(names: &Names) -> SpecBuilder {
        let builder = Spec::builder()
            .signature_header(names.signature)
            .versioned_list(' ', ',')
            .version("v1", Algorithm::HmacSha256, Encoding::Base64)
            .timestamp_header(names.timestamp, TimestampFormat::UnixSeconds)
            .id(Field::header(names.id))
            .no_event_type()
            .signed_content("{id}.{timestamp}.{body}");
        if Algorithm::Ed25519.is_enabled() {
            builder.version("v1a", Algorithm::Ed25519, Encoding::Base64)
        } else {
            builder
        }
    }

    /// Parses a Standard Webhooks secret: `whsec_` followed by base64, padded
    /// or not (the prefix may be left out, as the reference libraries allow).
    ///
    /// # Errors
    ///
    /// [`SecretError::InvalidBase64`] or [`SecretError::Empty`].
    pub fn secret(text: &str) -> Result<Secret, SecretError> {
        let text = text.trim();
        Secret::from_base64(text.strip_prefix("whsec_").unwrap_or(text))
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
    /// as a secret.
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

    /// How far the signed timestamp may be from now, in either direction.
    #[must_use]
    pub fn tolerance(self, tolerance: Duration) -> Self {
        Self {
            webhook: self.webhook.with_tolerance(tolerance),
            svix: self.svix.with_tolerance(tolerance),
        }
    }

    /// Svix's names only when no Standard Webhooks header is present at all,
    /// and some Svix header is (a Svix delivery missing its signature is then
    /// refused for that, 401, not for a missing `webhook-id`).
    fn pick(&self, headers: &HeaderMap) -> &Spec {
        const WEBHOOK_NAMES: [HeaderName; 3] = [
            HeaderName::from_static(WEBHOOK.id),
            HeaderName::from_static(WEBHOOK.timestamp),
            HeaderName::from_static(WEBHOOK.signature),
        ];
        const SVIX_NAMES: [HeaderName; 3] = [
            HeaderName::from_static(SVIX.id),
            HeaderName::from_static(SVIX.timestamp),
            HeaderName::from_static(SVIX.signature),
        ];
        let has = |names: &[HeaderName; 3]| names.iter().any(|n| headers.contains_key(n));
        if !has(&WEBHOOK_NAMES) && has(&SVIX_NAMES) {
            &self.svix
        } else {
            &self.webhook
        }
    }
}

impl Scheme for StandardWebhooks {
    verify_as!(|this, headers| this.pick(headers));
}

#[cfg(feature = "test-util")]
impl crate::scheme::sign::Sign for StandardWebhooks {
    fn sign_headers(&self, body: &[u8], id: &str, timestamp: i64) -> HeaderMap {
        crate::scheme::sign::Sign::sign_headers(&self.webhook, body, id, timestamp)
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

impl fmt::Debug for StandardWebhooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StandardWebhooks").field(&self.webhook).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(StandardWebhooks::with_keys(secret(), Policy::Any).is_ok());
        assert_eq!(
            StandardWebhooks::with_keys(secret(), Policy::Require("v1a".into())).err(),
            Some(ConfigError::UnsatisfiablePolicy)
        );
        assert_eq!(
            StandardWebhooks::with_keys(secret(), Policy::All).err(),
            Some(ConfigError::UnsatisfiablePolicy)
        );
        assert_eq!(
            StandardWebhooks::with_keys(Keys::new(), Policy::Any).err(),
            Some(ConfigError::NoUsableKey)
        );
    }
}
