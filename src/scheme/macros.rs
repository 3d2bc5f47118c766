//! The crate's two declaration macros: [`verify_as!`] passes a scheme's
//! verifying methods on to another scheme, and [`preset!`] declares a named
//! provider over a [`Spec`](super::Spec); beside them, what a preset's
//! constructor says if its own declaration fails to build.

/// The verifying methods of a [`Scheme`] that verifies as another one:
/// `verify`, `verify_in_layer`, `precheck` and the credential lists, each passed on to the scheme
/// `$inner` names, an expression of `$this` (the scheme) and `$headers` (the
/// request's headers). Written once, so that no wrapper forgets one (a
/// missing `verify_in_layer` silently turns `decode_as` off).
macro_rules! verify_as {
    (|$this:ident, $headers:ident| $inner:expr) => {
        fn verify(
            &self,
            request: $crate::scheme::request::RequestParts<'_>,
            body: &[u8],
            now: std::time::SystemTime,
        ) -> Result<$crate::scheme::verdict::Verdict, $crate::rejection::Rejection> {
            let ($this, $headers) = (self, request.headers);
            $crate::scheme::verify::Scheme::verify($inner, request, body, now)
        }

        fn verify_in_layer(
            &self,
            request: $crate::scheme::request::RequestParts<'_>,
            body: &[u8],
            clock: &dyn Fn() -> std::time::SystemTime,
            decoding: Option<&mut $crate::scheme::decode::Decoding<'_>>,
        ) -> Result<$crate::scheme::verdict::Verdict, $crate::rejection::Rejection> {
            let ($this, $headers) = (self, request.headers);
            $crate::scheme::verify::Scheme::verify_in_layer($inner, request, body, clock, decoding)
        }

        fn precheck(&self, headers: &http::HeaderMap) -> Result<(), $crate::rejection::Rejection> {
            let ($this, $headers) = (self, headers);
            $crate::scheme::verify::Scheme::precheck($inner, $headers)
        }

        fn credential_headers(&self) -> &[http::HeaderName] {
            let ($this, $headers) = (self, ());
            $crate::scheme::verify::Scheme::credential_headers($inner)
        }

        fn credential_query(&self) -> &[&'static str] {
            let ($this, $headers) = (self, ());
            $crate::scheme::verify::Scheme::credential_query($inner)
        }
    };
}

/// Declares a named preset: a type over a [`Spec`](super::Spec), with its
/// docs, `Scheme`, `Debug` (which never shows keys), `builder()`, `spec()`,
/// the conversion into its `Spec`, its sender's half (feature `test-util`)
/// and, with `timestamp`, a `tolerance` setter. The preset's file writes
/// `fn declaration()` and `new`.
///
/// `preset!(@face Name)` is the part for a preset whose type holds more than
/// its spec, or verifies more than it (Meta's verification request): the
/// type has a `spec` field and writes its own `Scheme` and `Debug`.
macro_rules! preset {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            spec: $crate::scheme::spec::Spec,
        }

        preset!(@face $name);

        impl $crate::scheme::verify::Scheme for $name {
            verify_as!(|this, _headers| &this.spec);
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.spec).finish()
            }
        }
    };
    ($(#[$doc:meta])* $name:ident, timestamp) => {
        preset!($(#[$doc])* $name);

        impl $name {
            /// How far the signed timestamp may be from now (the preset's
            /// default is in its docs: 5 minutes unless they say otherwise).
            #[must_use]
            pub fn tolerance(self, tolerance: std::time::Duration) -> Self {
                Self {
                    spec: self.spec.with_tolerance(tolerance),
                }
            }
        }
    };
    (@face $name:ident) => {
        impl $name {
            /// This preset's declaration, without keys: add keys (and change
            /// what you need), then [`build`]($crate::scheme::SpecBuilder::build)
            /// a [`Spec`]($crate::scheme::Spec).
            pub fn builder() -> $crate::scheme::spec::SpecBuilder {
                Self::declaration()
            }

            /// The spec this preset verifies with.
            pub fn spec(&self) -> &$crate::scheme::spec::Spec {
                &self.spec
            }
        }

        impl From<$name> for $crate::scheme::spec::Spec {
            fn from(preset: $name) -> Self {
                preset.spec
            }
        }

        #[cfg(feature = "test-util")]
        impl $crate::scheme::sign::Sign for $name {
            fn sign_headers(&self, body: &[u8], id: &str, timestamp: i64) -> http::HeaderMap {
                $crate::scheme::sign::Sign::sign_headers(&self.spec, body, id, timestamp)
            }

            fn sign_body(&self, body: bytes::Bytes, id: &str, timestamp: i64) -> bytes::Bytes {
                $crate::scheme::sign::Sign::sign_body(&self.spec, body, id, timestamp)
            }

            fn event_type_header(&self) -> Option<http::HeaderName> {
                $crate::scheme::sign::Sign::event_type_header(&self.spec)
            }
        }
    };
}

/// What a preset's `new` says when its own declaration does not build: a bug
/// in this crate, which each preset's tests rule out.
pub(crate) const PRESET: &str = "a preset's declaration builds with any non-empty secrets";
