//! [`Metrics`]: the delivery metrics, through the `metrics` facade.

use std::fmt;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use metrics::{
    counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Counter, Gauge,
    Histogram, Unit,
};

use super::{Observer, Outcome, Report};

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
/// Each series is registered with the recorder the first time it is used and
/// its handle kept, so a delivery costs a few atomic operations rather than a
/// lookup by name per metric: install the recorder before the first delivery.
/// Clones share the handles.
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
#[derive(Clone, Default)]
pub struct Metrics {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    /// The first scheme's handles, read without a lock: a `Metrics` usually
    /// serves one layer, so this is every delivery's path.
    first: OnceLock<Handles>,
    /// The handles of every other scheme.
    others: RwLock<Vec<Arc<Handles>>>,
}

/// One scheme's series, registered on first use.
struct Handles {
    scheme: &'static str,
    deliveries: [OnceLock<Counter>; Outcome::ALL.len()],
    verify: OnceLock<Histogram>,
    handler: [OnceLock<Histogram>; Outcome::ALL.len()],
    running: OnceLock<Gauge>,
}

impl Handles {
    fn new(scheme: &'static str) -> Self {
        Self {
            scheme,
            deliveries: std::array::from_fn(|_| OnceLock::new()),
            verify: OnceLock::new(),
            handler: std::array::from_fn(|_| OnceLock::new()),
            running: OnceLock::new(),
        }
    }

    fn running(&self) -> &Gauge {
        self.running
            .get_or_init(|| gauge!(Metrics::HANDLERS_RUNNING, "scheme" => self.scheme))
    }
}

/// The position of `outcome` in [`Outcome::ALL`] (its declaration order).
fn slot(outcome: Outcome) -> usize {
    outcome as usize
}

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
        Self::default()
    }

    /// Runs `use_them` with the handles of `scheme`, made on first use.
    fn with_handles<R>(&self, scheme: &'static str, use_them: impl FnOnce(&Handles) -> R) -> R {
        let first = self.shared.first.get_or_init(|| Handles::new(scheme));
        // The same `&'static str` every time, as a rule: its address settles it.
        if std::ptr::eq(first.scheme, scheme) || first.scheme == scheme {
            return use_them(first);
        }
        let find = |schemes: &[Arc<Handles>]| schemes.iter().find(|h| h.scheme == scheme).cloned();
        let others = &self.shared.others;
        // The scheme names are `&'static str`s fixed at build time: a short list.
        let found = find(&others.read().unwrap_or_else(PoisonError::into_inner));
        let handles = found.unwrap_or_else(|| {
            let mut schemes = others.write().unwrap_or_else(PoisonError::into_inner);
            find(&schemes).unwrap_or_else(|| {
                let handles = Arc::new(Handles::new(scheme));
                schemes.push(Arc::clone(&handles));
                handles
            })
        });
        use_them(&handles)
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
        self.with_handles(scheme, |handles| handles.running().increment(1.0));
    }

    fn delivery(&self, report: &Report<'_>) {
        self.with_handles(report.scheme, |handles| record(handles, report));
    }
}

/// One delivery's counter, histograms and gauge change.
fn record(handles: &Handles, report: &Report<'_>) {
    let (scheme, outcome) = (report.scheme, report.outcome.label());
    handles.deliveries[slot(report.outcome)]
        .get_or_init(|| counter!(Metrics::DELIVERIES_TOTAL, "scheme" => scheme, "outcome" => outcome))
        .increment(1);
    if let Some(verify) = report.timings.verify {
        handles
            .verify
            .get_or_init(|| histogram!(Metrics::VERIFY_DURATION_SECONDS, "scheme" => scheme))
            .record(verify.as_secs_f64());
    }
    if let Some(handler) = report.timings.handler {
        handles.handler[slot(report.outcome)]
            .get_or_init(
                || histogram!(Metrics::HANDLER_DURATION_SECONDS, "scheme" => scheme, "outcome" => outcome),
            )
            .record(handler.as_secs_f64());
        handles.running().decrement(1.0);
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let others = self.shared.others.read().unwrap_or_else(PoisonError::into_inner);
        let first = self.shared.first.get().map(|h| h.scheme);
        let names: Vec<&str> = first.into_iter().chain(others.iter().map(|h| h.scheme)).collect();
        f.debug_struct("Metrics").field("schemes", &names).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_per_scheme_and_debug_lists_each_scheme_once() {
        let metrics = Metrics::new();
        let mut seen = Vec::new();
        for scheme in ["first", "second", "first", "third", "second"] {
            metrics.with_handles(scheme, |handles| seen.push(handles.scheme));
        }
        assert_eq!(seen, ["first", "second", "first", "third", "second"]);
        assert_eq!(
            format!("{metrics:?}"),
            r#"Metrics { schemes: ["first", "second", "third"] }"#
        );
    }

    #[test]
    fn every_outcome_has_its_own_slot() {
        for (position, outcome) in Outcome::ALL.iter().enumerate() {
            assert_eq!(slot(*outcome), position, "{outcome}");
        }
    }
}
