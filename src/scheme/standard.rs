//! Standard Webhooks (and Svix, which uses the same scheme under `svix-*` headers).

use std::fmt;
use std::time::{Duration, SystemTime};

use http::header::{HeaderMap, HeaderName};

use super::{
    check_tolerance, parse_timestamp, required_header, signature_values, Candidates, Delivery, Encoding,
    Scheme, DEFAULT_TOLERANCE,
};
use crate::{Rejection, Secret, SecretError, Secrets};

/// One family of header names.
struct Names {
    id: HeaderName,
    timestamp: HeaderName,
    signature: HeaderName,
}

static WEBHOOK: Names = Names {
    id: HeaderName::from_static("webhook-id"),
    timestamp: HeaderName::from_static("webhook-timestamp"),
    signature: HeaderName::from_static("webhook-signature"),
};

static SVIX: Names = Names {
    id: HeaderName::from_static("svix-id"),
    timestamp: HeaderName::from_static("svix-timestamp"),
    signature: HeaderName::from_static("svix-signature"),
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
///   entries; any entry matching any secret passes; other versions (such as
///   the asymmetric `v1a`) are ignored.
///
/// The signed content is `{id}.{timestamp}.{body}`, the key the base64
/// decoding of what follows `whsec_` in the secret ([`StandardWebhooks::secret`]).
/// When no `webhook-*` header is present, the `svix-*` names are read instead.
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
    secrets: Secrets,
    tolerance: Duration,
}

impl StandardWebhooks {
    /// The scheme, accepting any of `secrets`.
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        Self {
            secrets: secrets.into(),
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// Parses a Standard Webhooks secret: `whsec_` followed by standard
    /// base64, padded or not (the prefix may be left out): the Python and
    /// JavaScript reference libraries accept all of these, and some senders
    /// hand out unpadded secrets.
    ///
    /// # Errors
    ///
    /// [`SecretError::InvalidBase64`] or [`SecretError::Empty`].
    pub fn secret(text: &str) -> Result<Secret, SecretError> {
        let text = text.trim();
        Secret::from_base64(text.strip_prefix("whsec_").unwrap_or(text))
    }

    /// How far the signed timestamp may be from now, in either direction
    /// (default 5 minutes), at most [`MAX_TOLERANCE`](super::MAX_TOLERANCE)
    /// (1 hour; more is taken as that, and logged at `warn`).
    #[must_use]
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = super::bounded_tolerance(tolerance);
        self
    }

    /// The `webhook-signature` value a sender would send, signed with the first secret.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let timestamp = timestamp.to_string();
        let tag = self
            .secrets
            .sign(&[id.as_bytes(), b".", timestamp.as_bytes(), b".", body]);
        format!("v1,{}", Encoding::Base64.encode(&tag))
    }
}

impl Scheme for StandardWebhooks {
    /// Either family's signature header is present (which family counts is
    /// decided in `verify`).
    fn precheck(&self, headers: &HeaderMap) -> Result<(), Rejection> {
        if headers.contains_key(&WEBHOOK.signature) || headers.contains_key(&SVIX.signature) {
            return Ok(());
        }
        Err(Rejection::MissingSignature {
            name: names(headers).signature.clone(),
        })
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Result<Delivery, Rejection> {
        // Svix's names only when no Standard Webhooks header is present at
        // all, and some Svix header is (a Svix delivery missing its signature
        // is then refused for that, 401, not for a missing `webhook-id`).
        let names = names(headers);

        let id = required_header(headers, &names.id)?;
        let timestamp_text = required_header(headers, &names.timestamp)?;
        let timestamp = parse_timestamp(timestamp_text, &names.timestamp)?;
        check_tolerance(timestamp, now, self.tolerance)?;

        let mut candidates = Candidates::new();
        for value in signature_values(headers, &names.signature)? {
            for entry in value.split(' ').filter(|e| !e.is_empty()) {
                if let Some(tag) = entry.strip_prefix("v1,").and_then(|s| Encoding::Base64.decode(s)) {
                    candidates.push(tag)?;
                }
            }
        }
        let candidates = candidates.get("no v1 signature")?;
        self.secrets
            .matching_tag(
                &[id.as_bytes(), b".", timestamp_text.as_bytes(), b".", body],
                candidates,
            )
            .ok_or(Rejection::SignatureMismatch)?;

        Ok(Delivery::new(id)?.with_timestamp(Some(timestamp)))
    }
}

/// Svix's names only when no Standard Webhooks header is present at all, and
/// some Svix header is.
fn names(headers: &HeaderMap) -> &'static Names {
    if [&WEBHOOK.id, &WEBHOOK.timestamp, &WEBHOOK.signature]
        .iter()
        .all(|n| !headers.contains_key(*n))
        && [&SVIX.id, &SVIX.timestamp, &SVIX.signature]
            .iter()
            .any(|n| headers.contains_key(*n))
    {
        &SVIX
    } else {
        &WEBHOOK
    }
}

impl fmt::Debug for StandardWebhooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StandardWebhooks")
            .field("secrets", &self.secrets)
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    /// Computed with the Python reference library (`standardwebhooks` on
    /// PyPI, `Webhook(secret).sign("msg_unpadded", 1710331200, body)`), which
    /// gives this signature for the padded and the unpadded secret alike.
    const PADDED: &str = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const UNPADDED: &str = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    const SIGNATURE: &str = "v1,XZqhzOfAiLaXgT/adOSWGSKx8X5mwTQ5UhecWXkHrp4=";
    const BODY: &[u8] = br#"{"type":"contact.created"}"#;

    #[test]
    fn accepts_secrets_with_and_without_base64_padding() {
        let mut headers = HeaderMap::new();
        headers.insert("webhook-id", "msg_unpadded".parse().unwrap());
        headers.insert("webhook-timestamp", "1710331200".parse().unwrap());
        headers.insert("webhook-signature", SIGNATURE.parse().unwrap());
        let now = UNIX_EPOCH + Duration::from_secs(1710331200);
        for secret in [PADDED, UNPADDED] {
            let scheme = StandardWebhooks::new(StandardWebhooks::secret(secret).unwrap());
            assert_eq!(
                scheme.sign("msg_unpadded", 1710331200, BODY),
                SIGNATURE,
                "{secret}"
            );
            let delivery = scheme.verify(&headers, BODY, now).unwrap();
            assert_eq!(delivery.id(), "msg_unpadded", "{secret}");
        }
    }
}
