//! [`Metrics`]: the delivery metrics, through the `metrics` facade.

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit};

use super::{Observer, Report};

/// An [`Observer`] that records every delivery through the
/// [`metrics`](https://docs.rs/metrics) facade, for whatever recorder is
/// installed (Prometheus, StatsD, OpenTelemetry, ...):
///
/// | metric | type | labels | what |
/// |---|---|---|---|
/// | `webhook_deliveries_total` | counter | `scheme`, `outcome` | deliveries by how they ended |
/// | `webhook_verify_duration_seconds` | histogram | `scheme` | signature verification, for every delivery whose body was read |
/// | `webhook_handler_duration_seconds` | histogram | `scheme`, `outcome` | the handler, for every delivery that reached it |
/// | `webhook_handlers_running` | gauge | `scheme` | handlers running now |
///
/// `outcome` is an [`Outcome`](super::Outcome) label and `scheme` the layer's
/// `&'static str` scheme name: the label values are a closed set, never a
/// header value or an event id.
///
/// ```
/// use tower_webhook::{observe::Metrics, scheme::GitHub, Secret, WebhookLayer};
///
/// // Install the recorder first (e.g. `PrometheusBuilder::new().install_recorder()`),
/// // then describe the metrics to it.
/// Metrics::describe();
/// let layer = WebhookLayer::new(GitHub::new(Secret::new("github secret")?))
///     .scheme_name("github")
///     .observer(Metrics::new());
/// # Ok::<(), tower_webhook::SecretError>(())
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Metrics {}

impl Metrics {
    /// The counter of deliveries, by `scheme` and `outcome`.
    pub const DELIVERIES_TOTAL: &'static str = "webhook_deliveries_total";
    /// The histogram of verification times in seconds, by `scheme`.
    pub const VERIFY_DURATION_SECONDS: &'static str = "webhook_verify_duration_seconds";
    /// The histogram of handler times in seconds, by `scheme` and `outcome`.
    pub const HANDLER_DURATION_SECONDS: &'static str = "webhook_handler_duration_seconds";
    /// The gauge of handlers running, by `scheme`.
    pub const HANDLERS_RUNNING: &'static str = "webhook_handlers_running";

    /// An observer recording to the installed recorder.
    pub fn new() -> Self {
        Self {}
    }

    /// Describes the four metrics (help text and unit) to the installed
    /// recorder, for exporters that show them (Prometheus' `# HELP`). Call it
    /// once after installing the recorder; recording works without it.
    pub fn describe() {
        describe_counter!(
            Self::DELIVERIES_TOTAL,
            Unit::Count,
            "Webhook deliveries received, by scheme and outcome."
        );
        describe_histogram!(
            Self::VERIFY_DURATION_SECONDS,
            Unit::Seconds,
            "Time spent verifying webhook signatures."
        );
        describe_histogram!(
            Self::HANDLER_DURATION_SECONDS,
            Unit::Seconds,
            "Time webhook handlers took, by outcome."
        );
        describe_gauge!(
            Self::HANDLERS_RUNNING,
            Unit::Count,
            "Webhook handlers running now."
        );
    }
}

impl Observer for Metrics {
    fn handler_started(&self, scheme: &'static str) {
        gauge!(Self::HANDLERS_RUNNING, "scheme" => scheme).increment(1.0);
    }

    fn delivery(&self, report: &Report<'_>) {
        let scheme = report.scheme;
        let outcome = report.outcome.label();
        counter!(Self::DELIVERIES_TOTAL, "scheme" => scheme, "outcome" => outcome).increment(1);
        if let Some(verify) = report.timings.verify {
            histogram!(Self::VERIFY_DURATION_SECONDS, "scheme" => scheme).record(verify.as_secs_f64());
        }
        if let Some(handler) = report.timings.handler {
            histogram!(Self::HANDLER_DURATION_SECONDS, "scheme" => scheme, "outcome" => outcome)
                .record(handler.as_secs_f64());
            gauge!(Self::HANDLERS_RUNNING, "scheme" => scheme).decrement(1.0);
        }
    }
}
