//! Clerk's webhooks: Svix, so Standard Webhooks under `svix-*` headers.

/// Clerk: its webhooks are sent by Svix, `svix-id`, `svix-timestamp` and
/// `svix-signature: v1,<base64>`, the HMAC-SHA256 of `{svix-id}.{svix-timestamp}.{body}`
/// keyed with the base64 after `whsec_` of the endpoint's signing secret
/// (`CLERK_WEBHOOK_SIGNING_SECRET`): the same type as [`StandardWebhooks`](super::standard::StandardWebhooks),
/// which reads the `svix-*` names when no `webhook-*` header is present.
/// The timestamp is checked within 5 minutes either way
/// ([`tolerance`](super::standard::StandardWebhooks::tolerance) changes it). The
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
pub type Clerk = super::standard::StandardWebhooks;
