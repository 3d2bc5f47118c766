//! Mux's webhook signatures.

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{FieldSource, Spec, SpecBuilder};
use crate::scheme::timestamp::TimestampFormat;

preset! {
    /// Mux's scheme: `Mux-Signature: t=<unix>,v1=<hex>[,v1=...]`, the
    /// HMAC-SHA256 of `{t}.{body}` keyed with the endpoint's signing secret,
    /// as written.
    ///
    /// - **Signatures**: every `v1` entry is a candidate; unknown keys are ignored.
    /// - **Timestamp**: `t`, signed; refused further than the
    ///   [tolerance](Mux::tolerance) from now (default 5 minutes, Mux's SDK
    ///   default). Mux's SDKs only refuse old timestamps; a timestamp from the
    ///   future is refused here too.
    /// - **Id, the replay key**: the body's `id`, the event's id, signed.
    ///   Mux documents no dedup key explicitly; the event id is the one every
    ///   delivery of an event shares (UNCONFIRMED that a retry keeps it).
    /// - **Type**: the body's `type` (`video.asset.ready`, ...), signed.
    /// - **Handshake**: none.
    ///
    /// Source: mux.com/docs/core/verify-webhook-signatures;
    /// muxinc/mux-node-sdk@89eff08 `src/resources/webhooks/webhooks.ts`;
    /// muxinc/mux-elixir@eb73687 `lib/mux/webhooks.ex`. The example is
    /// mux-elixir's own test vector.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime, UNIX_EPOCH};
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{Mux, RequestParts, Scheme};
    /// use tower_webhook::{Rejection, Secret};
    ///
    /// let mux = Mux::new(Secret::new("SuperSecret123")?);
    /// let mut headers = HeaderMap::new();
    /// headers.insert(
    ///     "mux-signature",
    ///     "t=1565125718,v1=854ece4c22acef7c66b57d4e504153bc512595e8e9c772ece2a68150548c19a7".parse()?,
    /// );
    /// let now = UNIX_EPOCH + Duration::from_secs(1565125718);
    ///
    /// // The vector's body has no `id`: verified, then refused with `400`.
    /// let verdict = mux.verify(RequestParts::post(&headers), br#"{"test":"body"}"#, now);
    /// assert_eq!(verdict, Err(Rejection::MissingEventId));
    /// let tampered = mux.verify(RequestParts::post(&headers), br#"{"test":"body!"}"#, now);
    /// assert_eq!(tampered, Err(Rejection::SignatureMismatch));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    Mux, timestamp
}

impl Mux {
    /// Mux's scheme, accepting a signature by any of `secrets`.
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration().keys(secrets.into()).build().expect(PRESET);
        Self { spec }
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("Mux")
            .signature_header("mux-signature")
            .keyed_list(',', '=')
            .version("v1", Algorithm::HmacSha256, Encoding::Hex)
            .timestamp_entry("t", TimestampFormat::UnixSeconds)
            .signed_content("{timestamp}.{body}")
            .id(FieldSource::body("id"))
            .event_type(FieldSource::body("type"))
    }
}
