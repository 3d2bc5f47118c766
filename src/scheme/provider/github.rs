//! GitHub's webhook signatures.

use crate::key::algorithm::Algorithm;
use crate::key::encoding::Encoding;
use crate::key::secret::Secrets;
use crate::scheme::macros::PRESET;
use crate::scheme::spec::{FieldSource, Spec, SpecBuilder};

preset! {
    /// GitHub's scheme: `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of
    /// the raw body keyed with the webhook secret as written (its UTF-8 bytes,
    /// no decoding).
    ///
    /// - **Id, the replay key**: `X-GitHub-Delivery`, the delivery's GUID
    ///   (absent: `400`). GitHub's docs name it as the key against replays: each
    ///   event has its own, and a redelivery of that event keeps it
    ///   (<https://docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-webhooks#use-the-x-github-delivery-header>).
    ///   The replay guard keys on it alone, so two distinct events with
    ///   byte-identical bodies (two `ping`s, two `star` `deleted` by one user)
    ///   are both processed. GitHub shares one GUID among the deliveries of
    ///   one event to several hooks: an endpoint registered on two hooks (a
    ///   repository's and its organization's) processes the event once.
    /// - **Type**: `X-GitHub-Event` (`push`, `issues`, `ping`, ...).
    /// - **No timestamp**: GitHub signs the body alone, so a captured delivery
    ///   stays valid forever. The replay guard is the only protection, and it
    ///   forgets: size it to cover how long you care.
    /// - **Legacy `X-Hub-Signature`** (HMAC-SHA1), which GitHub still sends beside
    ///   the SHA-256 one, is never read: a delivery carrying only that header is
    ///   refused with `401`.
    ///
    /// # Unsigned headers
    ///
    /// Neither `X-GitHub-Delivery` nor `X-GitHub-Event` is covered by the
    /// signature. Whoever captured one delivery (its body and signature) can:
    ///
    /// - **resend it under a fresh delivery id**: by default it is processed
    ///   again, as a new event. `GitHub::builder().dedupe_on_signature(true)`
    ///   drops such a resend, at the price of also dropping distinct events
    ///   whose bodies are identical; the default keeps every real event;
    /// - **resend it under the id of another event that is still pending**:
    ///   if that captured delivery is processed first, the pending event's id
    ///   is marked done and GitHub's real delivery of it is acknowledged as a
    ///   duplicate without being processed;
    /// - **rewrite `X-GitHub-Event`**: the handler sees the body under another
    ///   event name. **The event type is unauthenticated**: when it matters,
    ///   check that the body fits the event (a `push` payload has `ref`,
    ///   `commits`, ...) rather than trusting the header alone.
    ///
    /// All three need a captured delivery, that is, read access to the traffic
    /// or to a log of bodies and signatures: keep TLS on the whole way. See
    /// "Unsigned ids and types" in the README's Security considerations.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use http::HeaderMap;
    /// use tower_webhook::scheme::{GitHub, RequestParts, Scheme};
    /// use tower_webhook::Secret;
    ///
    /// // GitHub's documented example.
    /// let github = GitHub::new(Secret::new("It's a Secret to Everybody")?);
    /// let mut headers = HeaderMap::new();
    /// headers.insert(
    ///     "x-hub-signature-256",
    ///     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17".parse()?,
    /// );
    /// headers.insert("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958".parse()?);
    /// headers.insert("x-github-event", "ping".parse()?);
    ///
    /// let verdict = github.verify(RequestParts::post(&headers), b"Hello, World!", SystemTime::now())?;
    /// let delivery = verdict.event().unwrap();
    /// assert_eq!(delivery.id(), "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    /// assert_eq!(delivery.event_type(), Some("ping"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    GitHub
}

impl GitHub {
    /// GitHub's scheme, accepting a signature by any of `secrets` (configure
    /// the old and the new secret while rotating).
    pub fn new(secrets: impl Into<Secrets>) -> Self {
        let spec = Self::declaration().keys(secrets.into()).build().expect(PRESET);
        Self { spec }
    }

    fn declaration() -> SpecBuilder {
        Spec::builder("GitHub")
            .signature_header("x-hub-signature-256")
            .version("sha256=", Algorithm::HmacSha256, Encoding::Hex)
            .id(FieldSource::header("x-github-delivery"))
            .event_type(FieldSource::header("x-github-event"))
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use http::HeaderMap;

    use super::*;
    use crate::key::secret::Secret;
    use crate::rejection::Rejection;
    use crate::scheme::request::RequestParts;
    use crate::scheme::verify::Scheme;

    const BODY: &[u8] = b"Hello, World!";
    const SIGNATURE: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn github() -> GitHub {
        GitHub::new(Secret::new("It's a Secret to Everybody").unwrap())
    }

    fn headers(signature: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-hub-signature-256", signature.parse().unwrap());
        headers.insert("x-github-delivery", "d-1".parse().unwrap());
        headers
    }

    #[test]
    fn keys_the_replay_guard_on_the_delivery_id_only_by_default() {
        let verdict = github()
            .verify(RequestParts::post(&headers(SIGNATURE)), BODY, SystemTime::now())
            .unwrap();
        let keys: Vec<_> = verdict.event().unwrap().replay_keys().collect();
        assert_eq!(keys, ["d-1"]);
    }

    #[test]
    fn dedupes_on_the_signature_when_asked() {
        let spec = GitHub::builder()
            .dedupe_on_signature(true)
            .keys(Secret::new("It's a Secret to Everybody").unwrap())
            .build()
            .unwrap();
        let verdict = spec
            .verify(RequestParts::post(&headers(SIGNATURE)), BODY, SystemTime::now())
            .unwrap();
        let keys: Vec<_> = verdict.event().unwrap().replay_keys().collect();
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert_eq!(keys[0], "d-1");
        assert!(keys[1].contains(&SIGNATURE["sha256=".len()..]), "{keys:?}");
    }

    #[test]
    fn refuses_a_delivery_signed_only_with_legacy_sha1() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-hub-signature",
            "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59".parse().unwrap(),
        );
        headers.insert("x-github-delivery", "d-1".parse().unwrap());
        assert!(matches!(
            github().verify(RequestParts::post(&headers), BODY, SystemTime::now()),
            Err(Rejection::MissingSignature { .. })
        ));
        assert!(github().precheck(&headers).is_err());
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let shown = format!("{:?}", github());
        assert!(shown.starts_with("GitHub"), "{shown}");
        assert!(!shown.contains("Everybody"), "{shown}");
    }
}
