//! The [`Scheme`] trait: what verifying a delivery means, for the presets,
//! the [`Spec`](super::Spec) engine and any scheme of your own.

use std::sync::Arc;
use std::time::SystemTime;

use http::{HeaderMap, HeaderName};

use super::decode::Decoding;
use super::request::RequestParts;
use super::verdict::Verdict;
use crate::rejection::Rejection;

/// A webhook signature scheme.
///
/// Implementations must compare symmetric signatures in constant time, must
/// verify the raw bytes as received (never re-serialized JSON, never assuming
/// UTF-8), and should take the event id and type from signed content where
/// the scheme offers it. Errors are [`Rejection`]s with the status codes
/// documented there. Most providers need no implementation of their own: a
/// [`Spec`](crate::scheme::Spec) describes them.
pub trait Scheme: Send + Sync + 'static {
    /// Verifies one delivery as of `now`: an event, or a handshake the layer answers.
    ///
    /// # Errors
    ///
    /// A [`Rejection`] saying why the delivery is refused.
    fn verify(&self, request: RequestParts<'_>, body: &[u8], now: SystemTime) -> Result<Verdict, Rejection>;

    /// A cheap look at the headers before the body is read: refuses a
    /// request that [`verify`](Scheme::verify) would refuse whatever its
    /// body, so that such a request costs no buffering.
    ///
    /// The layer calls it first, before the body limit and the body timeout
    /// apply. Every preset checks only that its signature header is present
    /// ([`Rejection::MissingSignature`], `401`); keep an implementation as
    /// cheap (no parsing, no MAC) and never stricter than `verify`. The
    /// default accepts everything.
    ///
    /// # Errors
    ///
    /// A [`Rejection`] that answers the request without reading its body.
    fn precheck(&self, headers: &HeaderMap) -> Result<(), Rejection> {
        let _ = headers;
        Ok(())
    }

    /// The scheme's name: the `scheme` field of the delivery's span and label
    /// of its metrics (see [`observe`](crate::observe)). A constant, never
    /// computed from a request. The default is the type's name without its
    /// path (`GitHub`, `Spec`, `StandardWebhooks`);
    /// [`WebhookLayer::scheme_name`](crate::WebhookLayer::scheme_name) overrides it.
    fn name(&self) -> &'static str {
        type_label(std::any::type_name::<Self>())
    }

    /// Request headers that carry a credential rather than a signature
    /// (GitLab's legacy `X-Gitlab-Token`): whoever reads one can send any
    /// body under it. The layer drops them from everything it keeps or hands
    /// on again (dead letters, inbox records, the request a re-run sends);
    /// the live handler still sees the request as it came. The default is none.
    fn credential_headers(&self) -> &[HeaderName] {
        &[]
    }

    /// Query parameters that carry a credential, dropped from the kept
    /// request's URI as [`credential_headers`](Scheme::credential_headers)
    /// are from its headers. The default is none.
    fn credential_query(&self) -> &[&'static str] {
        &[]
    }

    /// [`verify`](Scheme::verify) as the layer calls it: a [`Spec`](crate::scheme::Spec) reads
    /// `clock` only if it checks a timestamp, and with `decoding` the
    /// verified body is decoded as the type
    /// [`WebhookLayer::decode_as`](crate::WebhookLayer::decode_as) names, the
    /// event id and type read on the way, instead of walking the body for
    /// them and leaving the decode to the extractor.
    ///
    /// Not for implementations outside this crate: `Decoding` cannot be
    /// named there. The default reads the clock once, calls `verify` and
    /// decodes nothing, so the [`Webhook<T>`](crate::extract::Webhook)
    /// extractor decodes as usual.
    #[doc(hidden)]
    fn verify_in_layer(
        &self,
        request: RequestParts<'_>,
        body: &[u8],
        clock: &dyn Fn() -> SystemTime,
        decoding: Option<&mut Decoding<'_>>,
    ) -> Result<Verdict, Rejection> {
        let _ = decoding;
        self.verify(request, body, clock())
    }
}

impl<T: Scheme + ?Sized> Scheme for Box<T> {
    verify_as!(|this, _headers| &**this);

    fn name(&self) -> &'static str {
        (**self).name()
    }
}

impl<T: Scheme + ?Sized> Scheme for Arc<T> {
    verify_as!(|this, _headers| &**this);

    fn name(&self) -> &'static str {
        (**self).name()
    }
}

/// The default [`Scheme::name`]: the type's own name,
/// without its path and generic arguments (`tower_webhook::scheme::GitHub`
/// → `GitHub`). A slice of the static type name, so still a closed set.
pub(crate) fn type_label(type_name: &'static str) -> &'static str {
    let path = type_name.split('<').next().unwrap_or(type_name);
    path.rsplit("::").next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_label_strips_path_and_generics() {
        assert_eq!(type_label("tower_webhook::scheme::GitHub"), "GitHub");
        assert_eq!(type_label("my::Scheme<other::Thing<u8>>"), "Scheme");
        assert_eq!(type_label("Plain"), "Plain");
    }
}
