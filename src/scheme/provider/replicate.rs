//! Replicate's webhooks: Standard Webhooks under `webhook-*` headers.

/// Replicate: `webhook-id`, `webhook-timestamp` and
/// `webhook-signature: v1,<base64>[ v1,<base64>...]`, the HMAC-SHA256 of
/// `{webhook-id}.{webhook-timestamp}.{body}` keyed with the base64 after
/// `whsec_` of the account's signing secret (`GET /v1/webhooks/default/secret`):
/// the same type as [`StandardWebhooks`](super::standard::StandardWebhooks). The
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
pub type Replicate = super::standard::StandardWebhooks;
