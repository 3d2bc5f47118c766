//! Twitch EventSub's webhook signatures and its handshakes.

use std::time::Duration;

use http::StatusCode;

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{FieldSource, Handshake, Spec, SpecBuilder};
use crate::scheme::timestamp::TimestampFormat;

const MESSAGE_TYPE: &str = "twitch-eventsub-message-type";

preset! {
    /// Twitch EventSub: `Twitch-Eventsub-Message-Signature: sha256=<hex>`, the
    /// HMAC-SHA256 of `{Message-Id}{Message-Timestamp}{body}` (no separators)
    /// keyed with the subscription's `secret`.
    ///
    /// - **Timestamp**: `Twitch-Eventsub-Message-Timestamp`, RFC 3339 with
    ///   nanoseconds, signed **exactly as sent**; refused when more than 10
    ///   minutes from now (Twitch's rule for old messages, applied both ways).
    /// - **Id**: `Twitch-Eventsub-Message-Id`, signed; Twitch keeps it on a resend.
    /// - **Type**: the body's `subscription.type` (`channel.follow`, ...).
    /// - **`webhook_callback_verification`** (by `Twitch-Eventsub-Message-Type`)
    ///   is answered by the layer: `200` `text/plain` with the body's
    ///   `challenge` (absent: `400`). **`revocation`** is acknowledged with
    ///   `204` by the layer, without calling your handler.
    /// - **The message type header is not signed.** Whoever holds a captured
    ///   notification can resend it (within the tolerance, under its signed
    ///   id) labelled `revocation`, which the layer acknowledges without
    ///   calling the handler, or `webhook_callback_verification`, which
    ///   echoes the body's `challenge` if it has one. The id is then spent only
    ///   if the handler ran: a relabelled capture never consumes a real
    ///   notification's id. Handlers must not trust the header; the body's
    ///   `subscription.type` is signed.
    ///
    /// Source: dev.twitch.tv/docs/eventsub/handling-webhook-events;
    /// twitchdev/twitch-cli `forward_event.go`, `subscription_verify.go`.
    ///
    /// ```
    /// use tower_webhook::scheme::Twitch;
    /// use tower_webhook::Secret;
    ///
    /// let twitch = Twitch::new(Secret::new("thisIsATwitchEventSubSecret123")?);
    /// # let _ = twitch;
    /// # Ok::<(), tower_webhook::SecretError>(())
    /// ```
    Twitch, timestamp
}

impl Twitch {
    /// Twitch EventSub's scheme, accepting a signature by any of `secrets`.
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration().keys(secrets.into()).build().expect(PRESET);
        Self { spec }
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("Twitch")
            .signature_header("twitch-eventsub-message-signature")
            .version("sha256=", Algorithm::HmacSha256, Encoding::Hex)
            .timestamp_header("twitch-eventsub-message-timestamp", TimestampFormat::Rfc3339)
            .tolerance(Duration::from_secs(600))
            .id(FieldSource::header("twitch-eventsub-message-id"))
            .event_type(FieldSource::body("subscription.type"))
            .signed_content("{id}{timestamp}{body}")
            .handshake(
                Handshake::when_header(MESSAGE_TYPE, "webhook_callback_verification").echo_text("challenge"),
            )
            .handshake(Handshake::when_header(MESSAGE_TYPE, "revocation").answer(
                StatusCode::NO_CONTENT,
                None,
                b"",
            ))
    }
}
