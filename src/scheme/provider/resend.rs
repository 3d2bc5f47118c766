//! Resend's webhooks: Svix, so Standard Webhooks under `svix-*` headers.

/// Resend: its webhooks are sent by Svix, `svix-id`, `svix-timestamp` and
/// `svix-signature: v1,<base64>`, the HMAC-SHA256 of `{svix-id}.{svix-timestamp}.{body}`
/// keyed with the base64 after `whsec_` of the webhook's signing secret: the
/// same type as [`StandardWebhooks`](super::standard::StandardWebhooks), which reads the
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
pub type Resend = super::standard::StandardWebhooks;
