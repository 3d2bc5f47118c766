//! See what the receiver is doing: one `tracing` span per delivery, an
//! [`Observer`] hook told every delivery's [`Outcome`] and [`Timings`], and two
//! observers built on it: [`Metrics`] (feature `metrics`) and
//! [`RecentDeliveries`].
//!
//! # The span
//!
//! Every request that enters [`WebhookLayer`](crate::WebhookLayer) opens one
//! span, `webhook`, at level `INFO`, and every step of the delivery runs
//! inside it, the inner service (your handler) included: the handler's own log
//! lines carry the delivery's fields. Rejections, duplicates and handler
//! failures are the layer's log events inside the span (a rejection's event
//! carries its `reason`). The fields:
//!
//! | field | when it is set |
//! |---|---|
//! | `scheme` | at once: the scheme's [name](crate::Scheme::name) or [`WebhookLayer::scheme_name`](crate::WebhookLayer::scheme_name) |
//! | `event_id`, `event_type` | once the signature verified and the replay guard answered, as the scheme reports them (nothing from a request that failed verification) |
//! | `body_read_us`, `verify_us` | with `event_id`, or when reading or verifying refused the request; in microseconds |
//! | `guard_us` | with `event_id`: the replay guard's answer, in microseconds |
//! | `handler_us` | at the end, with `outcome`, in microseconds |
//! | `outcome` | at the end: [`Outcome::label`] |
//! | `status` | at the end: the response's status code, when there is one |
//!
//! The span's target is `tower_webhook::observe`: a filter that keeps it
//! while quieting the rest of the crate is
//! `RUST_LOG=info,tower_webhook=warn,tower_webhook::observe=info`. With no
//! subscriber interested in the span, and no observer, the layer reads no
//! clock and allocates nothing for it.
//!
//! ```
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_webhook::{scheme::Spec, testing, Secret, WebhookLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let scheme = Spec::petstore(Secret::new("petstore secret")?);
//! let service = ServiceBuilder::new()
//!     .layer(WebhookLayer::new(scheme.clone()).scheme_name("petstore"))
//!     .service(service_fn(|_request: Request<Full<Bytes>>| async {
//!         // Logged as `webhook{scheme="petstore" event_id="evt_1" event_type="order.created" ...}: charging`.
//!         tracing::info!("charging");
//!         Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
//!     }));
//! let body = r#"{"id":"evt_1","type":"order.created","created":1700000000,"data":{}}"#;
//! let request = testing::signed_request::<Full<Bytes>>(&scheme, body, "evt_1");
//! assert_eq!(service.oneshot(request).await?.status(), StatusCode::OK);
//! # Ok(())
//! # }
//! ```
//!
//! ## One trace per delivery in OpenTelemetry
//!
//! Bridge `tracing` to OpenTelemetry with the `tracing-opentelemetry` crate
//! and every delivery becomes one trace (a root span, unless the server opened
//! one around the request), with the handler's spans and events nested in it:
//!
//! ```text
//! use opentelemetry::trace::TracerProvider as _;
//! use tracing_subscriber::prelude::*;
//!
//! let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
//!     .with_batch_exporter(opentelemetry_otlp::SpanExporter::builder().with_tonic().build()?)
//!     .build();
//! tracing_subscriber::registry()
//!     .with(tracing_subscriber::EnvFilter::new("info"))
//!     .with(tracing_subscriber::fmt::layer())
//!     .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("webhooks")))
//!     .init();
//! // Serve the router with `WebhookLayer` as usual: each delivery is exported
//! // as a span `webhook` with the fields above as attributes.
//! ```
//!
//! (Not compiled here, so the crate does not depend on OpenTelemetry; the
//! span is an ordinary `tracing` span, nothing in it is specific to a
//! subscriber.)
//!
//! # The observer hook
//!
//! An [`Observer`] set with [`WebhookLayer::observer`](crate::WebhookLayer::observer)
//! is told once per delivery how it ended, with its timings, whatever the
//! outcome: processed, duplicate, in flight, each rejection reason, the
//! handler failing, panicking or running past the deadline, and the response
//! future being dropped. Several observers are a tuple.
//!
//! ```
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::sync::Arc;
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_webhook::observe::{Observer, Outcome, Report};
//! use tower_webhook::{scheme::Spec, Secret, WebhookLayer};
//!
//! #[derive(Default)]
//! struct Forged(AtomicUsize);
//!
//! impl Observer for Forged {
//!     fn delivery(&self, report: &Report<'_>) {
//!         if report.outcome == Outcome::SignatureMismatch {
//!             self.0.fetch_add(1, Ordering::Relaxed);
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let forged = Arc::new(Forged::default());
//! let service = ServiceBuilder::new()
//!     .layer(WebhookLayer::new(Spec::petstore(Secret::new("petstore secret")?)).observer(Arc::clone(&forged)))
//!     .service(service_fn(|_request: Request<Full<Bytes>>| async {
//!         Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
//!     }));
//! let request = Request::post("/webhooks")
//!     .header("x-petstore-signature", "00".repeat(32))
//!     .body(Full::new(Bytes::from_static(br#"{"id":"evt_1"}"#)))?;
//! assert_eq!(service.oneshot(request).await?.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(forged.0.load(Ordering::Relaxed), 1);
//! # Ok(())
//! # }
//! ```
//!
//! The observer is called on the request's task, synchronously: keep it
//! short and never block in it (hand anything slow to a channel).
//!
//! # Metrics (feature `metrics`)
//!
//! [`Metrics`] records through the [`metrics`](https://docs.rs/metrics) facade,
//! so any exporter works (`metrics-exporter-prometheus` for a `/metrics`
//! endpoint; `examples/receiver.rs` serves one):
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `webhook_deliveries_total` | counter | `scheme`, `outcome` |
//! | `webhook_verify_duration_seconds` | histogram | `scheme` |
//! | `webhook_handler_duration_seconds` | histogram | `scheme`, `outcome` |
//! | `webhook_handlers_running` | gauge | `scheme` |
//!
//! Label values come from closed sets only: `scheme` is a `&'static str`
//! fixed when the layer is built, `outcome` one of [`Outcome::ALL`]'s labels.
//! Nothing taken from a request (a header value, an event id) ever becomes a
//! label, so a hostile sender cannot grow the number of series.
//!
//! # Recent deliveries
//!
//! [`RecentDeliveries`] keeps the last N deliveries in memory (metadata only,
//! unless bodies are asked for), serializable for a JSON endpoint.

#[cfg(feature = "metrics")]
mod metrics;
mod recent;
mod track;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;

#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub use self::metrics::Metrics;
pub use self::recent::{DeliveryRecord, RecentDeliveries};
pub(crate) use self::track::{Settings, Spanned, Track};
use crate::Rejection;

macro_rules! outcomes {
    ($( $(#[$doc:meta])* $variant:ident => $label:literal, )*) => {
        /// How one delivery ended: what an [`Observer`] is told, the `outcome`
        /// field of the delivery's span, and the `outcome` label of the
        /// metrics.
        ///
        /// The labels are a closed set of `&'static str` ([`Outcome::ALL`]);
        /// new variants may be added in a minor release.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Outcome {
            $( $(#[$doc])* $variant, )*
        }

        impl Outcome {
            /// Every outcome, in declaration order.
            pub const ALL: &'static [Outcome] = &[$(Outcome::$variant),*];

            /// The outcome's label: lowercase `snake_case`, stable.
            pub const fn label(self) -> &'static str {
                match self {
                    $( Outcome::$variant => $label, )*
                }
            }
        }
    };
}

outcomes! {
    /// The handler answered 2xx; the event is recorded as processed.
    Processed => "processed",
    /// The delivery was marked never processable (the extractor's or the
    /// `Dispatcher`'s 400/422, `HandlerError::permanent`, a `PermanentFailure`
    /// extension) and stored in the [dead-letter sink](crate::dead_letter):
    /// recorded as processed and acknowledged.
    DeadLettered => "dead_lettered",
    /// The dead-letter sink failed to store a marked delivery: `503`, the
    /// event was released for the sender's retry.
    DeadLetterUnavailable => "dead_letter_unavailable",
    /// The event was processed already (in [inbox mode](crate::inbox): the
    /// inbox knows it, in any state): acknowledged with `200`, handler not called.
    Duplicate => "duplicate",
    /// [Inbox mode](crate::inbox): the delivery was stored durably and
    /// acknowledged; a worker runs the handler.
    Enqueued => "enqueued",
    /// [Inbox mode](crate::inbox): the inbox store failed: `503`, nothing
    /// acknowledged ([`Rejection::InboxUnavailable`]).
    InboxUnavailable => "inbox_unavailable",
    /// The event is being processed by another request: `409`.
    InFlight => "in_flight",
    /// A verified handshake the layer answered itself (Slack's `url_verification`).
    Handshake => "handshake",
    /// The handler answered non-2xx, or the inner service returned an error;
    /// the event was released for the sender's retry.
    HandlerFailed => "handler_failed",
    /// The handler panicked: `500`, the event was released.
    HandlerPanicked => "handler_panicked",
    /// The handler was still running at the [deadline](crate::WebhookLayer::deadline):
    /// `503`, the event was released.
    HandlerDeadline => "handler_deadline",
    /// The delivery ended before its outcome: the response future was dropped
    /// (with [`cancel_on_disconnect`](crate::WebhookLayer::cancel_on_disconnect),
    /// or before the event was claimed), or a [drain](crate::layer::Shutdown::drain)
    /// cancelled the handler at its timeout; any held event was released.
    Cancelled => "cancelled",
    /// More deliveries were in progress than the
    /// [concurrency limit](crate::WebhookLayer::concurrency_limit): `503`,
    /// nothing read ([`Rejection::Overloaded`]).
    Shed => "shed",
    /// The receiver is shutting down: `503`, nothing read ([`Rejection::ShuttingDown`]).
    ShuttingDown => "shutting_down",
    /// The replay guard could not be asked: `503`.
    GuardUnavailable => "guard_unavailable",
    /// [`Rejection::BodyTooLarge`]: `413`.
    BodyTooLarge => "body_too_large",
    /// [`Rejection::BodyUnreadable`]: `400`.
    BodyUnreadable => "body_unreadable",
    /// [`Rejection::BodyTimeout`]: `408`.
    BodyTimeout => "body_timeout",
    /// [`Rejection::MissingHeader`]: `400`.
    MissingHeader => "missing_header",
    /// [`Rejection::InvalidHeader`]: `400`.
    InvalidHeader => "invalid_header",
    /// [`Rejection::MissingEventId`]: `400`.
    MissingEventId => "missing_event_id",
    /// [`Rejection::DuplicateJsonKey`]: `400`.
    DuplicateJsonKey => "duplicate_json_key",
    /// [`Rejection::MalformedHandshake`]: `400`.
    MalformedHandshake => "malformed_handshake",
    /// [`Rejection::InvalidEventId`]: `400`.
    InvalidEventId => "invalid_event_id",
    /// [`Rejection::InvalidBodyField`]: `400`.
    InvalidBodyField => "invalid_body_field",
    /// [`Rejection::MissingSignature`]: `401`.
    MissingSignature => "missing_signature",
    /// [`Rejection::MalformedSignature`]: `401`.
    MalformedSignature => "malformed_signature",
    /// [`Rejection::SignatureMismatch`]: `401`.
    SignatureMismatch => "signature_mismatch",
    /// [`Rejection::TimestampTooOld`]: `401`.
    TimestampTooOld => "timestamp_too_old",
    /// [`Rejection::TimestampTooNew`]: `401`.
    TimestampTooNew => "timestamp_too_new",
}

impl Outcome {
    /// Whether the layer refused the delivery before calling the handler
    /// (a rejection, an event in flight, the guard unavailable, shed).
    pub const fn is_rejection(self) -> bool {
        !matches!(
            self,
            Outcome::Processed
                | Outcome::DeadLettered
                | Outcome::Duplicate
                | Outcome::Enqueued
                | Outcome::Handshake
                | Outcome::HandlerFailed
                | Outcome::HandlerPanicked
                | Outcome::HandlerDeadline
                | Outcome::DeadLetterUnavailable
                | Outcome::Cancelled
        )
    }
}

impl From<&Rejection> for Outcome {
    fn from(rejection: &Rejection) -> Self {
        // Exhaustive on purpose: a new `Rejection` gets its own outcome.
        match rejection {
            Rejection::BodyTooLarge { .. } => Outcome::BodyTooLarge,
            Rejection::BodyUnreadable => Outcome::BodyUnreadable,
            Rejection::BodyTimeout { .. } => Outcome::BodyTimeout,
            Rejection::MissingHeader { .. } => Outcome::MissingHeader,
            Rejection::InvalidHeader { .. } => Outcome::InvalidHeader,
            Rejection::MissingEventId => Outcome::MissingEventId,
            Rejection::InvalidEventId { .. } => Outcome::InvalidEventId,
            Rejection::MissingSignature { .. } => Outcome::MissingSignature,
            Rejection::MalformedSignature { .. } => Outcome::MalformedSignature,
            Rejection::SignatureMismatch => Outcome::SignatureMismatch,
            Rejection::TimestampTooOld { .. } => Outcome::TimestampTooOld,
            Rejection::TimestampTooNew { .. } => Outcome::TimestampTooNew,
            Rejection::InFlight { .. } => Outcome::InFlight,
            Rejection::DeadlineExceeded { .. } => Outcome::HandlerDeadline,
            Rejection::GuardUnavailable => Outcome::GuardUnavailable,
            Rejection::DuplicateJsonKey { .. } => Outcome::DuplicateJsonKey,
            Rejection::MalformedHandshake { .. } => Outcome::MalformedHandshake,
            Rejection::InvalidBodyField { .. } => Outcome::InvalidBodyField,
            Rejection::Overloaded { .. } => Outcome::Shed,
            Rejection::ShuttingDown => Outcome::ShuttingDown,
            Rejection::DeadLetterUnavailable => Outcome::DeadLetterUnavailable,
            Rejection::InboxUnavailable => Outcome::InboxUnavailable,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl serde::Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.label())
    }
}

/// How long each step of a delivery took. A step that did not run is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timings {
    /// Reading the body (step 1 and 2).
    pub body_read: Option<Duration>,
    /// Verifying the signature (step 3).
    pub verify: Option<Duration>,
    /// Asking the replay guard (step 4).
    pub guard: Option<Duration>,
    /// The handler, from the call to its answer (step 5). `Some` exactly when
    /// [`Observer::handler_started`] was called for this delivery.
    pub handler: Option<Duration>,
    /// From the request entering the layer to its outcome.
    pub total: Duration,
}

/// One delivery's end, as told to an [`Observer`].
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct Report<'a> {
    /// The scheme's name (a `&'static str` fixed when the layer was built).
    pub scheme: &'static str,
    /// How the delivery ended.
    pub outcome: Outcome,
    /// The response's status code; `None` when the inner service returned an
    /// error or the response future was dropped.
    pub status: Option<StatusCode>,
    /// The event id, once the signature verified.
    pub event_id: Option<&'a str>,
    /// The event type, once the signature verified, when the scheme knows it.
    pub event_type: Option<&'a str>,
    /// The rejection, when the layer refused the delivery.
    pub rejection: Option<&'a Rejection>,
    /// How long each step took.
    pub timings: Timings,
    /// The raw body as read, only when an observer asked for bodies
    /// ([`Observer::wants_body`]) and the body was read.
    pub body: Option<&'a [u8]>,
    /// [Inbox mode](crate::inbox): which attempt of the event this report
    /// is about, counted from 1, when an
    /// [`InboxWorker`](crate::inbox::InboxWorker) ran the handler; `None`
    /// for what the layer itself answered.
    pub attempt: Option<u32>,
    /// [Inbox mode](crate::inbox): after a failed attempt, how long until
    /// the next one. A failure with `attempt` set and no `retry_in` left
    /// the record dead.
    pub retry_in: Option<Duration>,
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Report")
            .field("scheme", &self.scheme)
            .field("outcome", &self.outcome)
            .field("status", &self.status)
            .field("event_id", &self.event_id)
            .field("event_type", &self.event_type)
            .field("rejection", &self.rejection)
            .field("timings", &self.timings)
            .field("body_len", &self.body.map(<[u8]>::len))
            .field("attempt", &self.attempt)
            .field("retry_in", &self.retry_in)
            .finish()
    }
}

/// Told how every delivery through a [`WebhookLayer`](crate::WebhookLayer)
/// ends; set with [`WebhookLayer::observer`](crate::WebhookLayer::observer).
///
/// Called on the request's task, synchronously, exactly once per delivery
/// ([`delivery`](Observer::delivery)), plus once when its handler starts.
/// Implementations must not block. A tuple of observers is an observer that
/// tells each in turn.
pub trait Observer: Send + Sync + 'static {
    /// A delivery passed every check and its handler is about to be called.
    /// Its [`Report`] will have [`Timings::handler`] set.
    fn handler_started(&self, scheme: &'static str) {
        let _ = scheme;
    }

    /// A delivery ended.
    fn delivery(&self, report: &Report<'_>);

    /// Whether [`Report::body`] should carry the raw body. Off by default: the
    /// layer then keeps no reference to the body for the observer.
    fn wants_body(&self) -> bool {
        false
    }
}

impl<O: Observer + ?Sized> Observer for Arc<O> {
    fn handler_started(&self, scheme: &'static str) {
        (**self).handler_started(scheme);
    }
    fn delivery(&self, report: &Report<'_>) {
        (**self).delivery(report);
    }
    fn wants_body(&self) -> bool {
        (**self).wants_body()
    }
}

impl<O: Observer + ?Sized> Observer for Box<O> {
    fn handler_started(&self, scheme: &'static str) {
        (**self).handler_started(scheme);
    }
    fn delivery(&self, report: &Report<'_>) {
        (**self).delivery(report);
    }
    fn wants_body(&self) -> bool {
        (**self).wants_body()
    }
}

macro_rules! tuple_observer {
    ($($name:ident)+) => {
        #[allow(non_snake_case)]
        impl<$($name: Observer),+> Observer for ($($name,)+) {
            fn handler_started(&self, scheme: &'static str) {
                let ($($name,)+) = self;
                $($name.handler_started(scheme);)+
            }
            fn delivery(&self, report: &Report<'_>) {
                let ($($name,)+) = self;
                $($name.delivery(report);)+
            }
            fn wants_body(&self) -> bool {
                let ($($name,)+) = self;
                false $(|| $name.wants_body())+
            }
        }
    };
}

tuple_observer!(A B);
tuple_observer!(A B C);
tuple_observer!(A B C D);

pub(crate) fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_distinct_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for outcome in Outcome::ALL {
            let label = outcome.label();
            assert!(seen.insert(label), "{label} twice");
            assert!(
                label.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{label}"
            );
        }
        assert_eq!(seen.len(), Outcome::ALL.len());
    }

    #[test]
    fn every_rejection_maps_to_a_rejection_outcome_except_the_deadline() {
        let rejections = [
            Rejection::BodyTooLarge { limit: 1 },
            Rejection::BodyUnreadable,
            Rejection::BodyTimeout {
                limit: Duration::from_secs(1),
            },
            Rejection::MissingEventId,
            Rejection::InvalidEventId { len: 0 },
            Rejection::SignatureMismatch,
            Rejection::TimestampTooOld { age_secs: 1 },
            Rejection::TimestampTooNew { ahead_secs: 1 },
            Rejection::InFlight {
                retry_after: Duration::from_secs(1),
            },
            Rejection::GuardUnavailable,
        ];
        for rejection in &rejections {
            assert!(Outcome::from(rejection).is_rejection(), "{rejection:?}");
        }
        let deadline = Rejection::DeadlineExceeded {
            deadline: Duration::from_secs(1),
        };
        assert_eq!(Outcome::from(&deadline), Outcome::HandlerDeadline);
        assert!(!Outcome::HandlerDeadline.is_rejection());
    }
}
