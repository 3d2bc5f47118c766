//! The layer's side of observation: one delivery's [`Track`] through the
//! request (its span, its step timings, its outcome) and the [`Report`] it
//! hands the observer once. Private to the crate; the public vocabulary
//! (`Observer`, `Report`, `Outcome`, `Timings`) is in the module root.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Response, StatusCode};
use tracing::field::Empty;
use tracing::Span;

use super::{micros, Observer, Outcome, Report, Timings};
use crate::{Rejection, Verified};

/// The layer's observation settings, part of its config.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) scheme: &'static str,
    pub(crate) observer: Option<Arc<dyn Observer>>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("scheme", &self.scheme)
            .field("observer", &self.observer.as_ref().map(|_| ".."))
            .finish()
    }
}

/// A request's future and the span it runs in, which the response future
/// enters on every poll.
pub(crate) struct Spanned<F> {
    pub(crate) span: Span,
    pub(crate) future: F,
}

impl<F> Spanned<F> {
    pub(crate) fn new(span: Span, future: F) -> Self {
        Self { span, future }
    }
}

/// One delivery's observation, carried through the request: the span's
/// timings and, with an observer, what the [`Report`] needs.
///
/// `None` when neither a subscriber wants the span nor an observer is set:
/// one pointer in the request's future, no clock read, no allocation.
pub(crate) struct Track(Option<Box<Active>>);

struct Active {
    span: Span,
    observer: Option<Arc<dyn Observer>>,
    scheme: &'static str,
    start: Instant,
    last: Instant,
    handler_start: Option<Instant>,
    timings: Timings,
    outcome: Option<Outcome>,
    /// The verified delivery, for the span and the observer's report
    /// (shared, not copied).
    verified: Option<Verified>,
    body: Option<Bytes>,
    reported: bool,
}

impl Track {
    /// Opens the delivery's span; the response future enters the returned
    /// copy on every poll ([`Spanned`]).
    pub(crate) fn start(settings: &Settings) -> (Self, Span) {
        let span = tracing::info_span!(
            "webhook",
            scheme = settings.scheme,
            event_id = Empty,
            event_type = Empty,
            outcome = Empty,
            status = Empty,
            body_read_us = Empty,
            verify_us = Empty,
            guard_us = Empty,
            handler_us = Empty,
        );
        if span.is_disabled() && settings.observer.is_none() {
            return (Self(None), span);
        }
        let now = Instant::now();
        let active = Active {
            span: span.clone(),
            observer: settings.observer.clone(),
            scheme: settings.scheme,
            start: now,
            last: now,
            handler_start: None,
            timings: Timings::default(),
            outcome: None,
            verified: None,
            body: None,
            reported: false,
        };
        (Self(Some(Box::new(active))), span)
    }

    /// Steps 1 and 2 are over: the body is read.
    pub(crate) fn body_read(&mut self, body: &Bytes) {
        if let Some(active) = &mut self.0 {
            let took = active.lap();
            // Recorded with the guard's answer, in one call: each record
            // costs a subscriber round trip.
            active.timings.body_read = Some(took);
            if active.observer.as_ref().is_some_and(|o| o.wants_body()) {
                active.body = Some(body.clone());
            }
        }
    }

    /// Step 3 is over: the signature verified.
    pub(crate) fn verified(&mut self, delivery: &Verified) {
        if let Some(active) = &mut self.0 {
            active.timings.verify = Some(active.lap());
            // Recorded with the guard's time, once it answers: each record
            // costs a subscriber round trip (with `fmt`, formatting).
            active.verified = Some(delivery.clone());
        }
    }

    /// Step 4 is over: the event is held, and the handler is called next.
    pub(crate) fn claimed(&mut self) {
        if let Some(active) = &mut self.0 {
            active.record_verified_and_guard();
            active.handler_start = Some(active.last);
            if let Some(observer) = &active.observer {
                observer.handler_started(active.scheme);
            }
        }
    }

    /// Step 5 is over: the handler answered (or failed) with `outcome`.
    pub(crate) fn handled(&mut self, outcome: Outcome) {
        if let Some(active) = &mut self.0 {
            active.outcome = Some(outcome);
            active.end_handler(Instant::now());
        }
    }

    /// The layer refused the delivery while reading or verifying it, with this
    /// response, which carries the [`Rejection`] in its extensions.
    pub(crate) fn rejected<B>(&mut self, response: Response<B>) -> Response<B> {
        if let Some(active) = &mut self.0 {
            // The step that refused it: reading the body, or verifying it.
            let took = active.lap();
            let records = active.records();
            if active.timings.body_read.is_none() {
                active.timings.body_read = Some(took);
                if records {
                    active.span.record("body_read_us", micros(took));
                }
            } else if active.timings.verify.is_none() {
                active.timings.verify = Some(took);
                if records {
                    tracing::record_all!(
                        active.span,
                        body_read_us = active.timings.body_read.map(micros),
                        verify_us = micros(took),
                    );
                }
            }
            let rejection = response.extensions().get::<Rejection>();
            let outcome = rejection.map_or(Outcome::HandlerFailed, Outcome::from);
            active.report(outcome, Some(response.status()), rejection);
        }
        response
    }

    /// The replay guard answered for the layer: a rejection (in flight, guard
    /// unavailable) or, without one, the duplicate's acknowledgement.
    pub(crate) fn refused<B>(&mut self, response: Response<B>) -> Response<B> {
        if let Some(active) = &mut self.0 {
            active.record_verified_and_guard();
            let rejection = response.extensions().get::<Rejection>();
            let outcome = rejection.map_or(Outcome::Duplicate, Outcome::from);
            active.report(outcome, Some(response.status()), rejection);
        }
        response
    }

    /// [Inbox mode](crate::inbox): the store answered for the layer: the
    /// delivery was stored ([`Outcome::Enqueued`]), is a duplicate, or the
    /// store failed (the response's rejection).
    pub(crate) fn stored<B>(&mut self, response: Response<B>, accepted: bool) -> Response<B> {
        if !accepted {
            return self.refused(response);
        }
        if let Some(active) = &mut self.0 {
            active.record_verified_and_guard();
            active.report(Outcome::Enqueued, Some(response.status()), None);
        }
        response
    }

    /// The layer answered the delivery itself with `outcome` (a handshake).
    pub(crate) fn answered<B>(&mut self, outcome: Outcome, response: Response<B>) -> Response<B> {
        if let Some(active) = &mut self.0 {
            active.report(outcome, Some(response.status()), None);
        }
        response
    }

    /// Step 6 is over: reports the outcome [`handled`](Self::handled) noted,
    /// with the status of the answer.
    pub(crate) fn respond<B, E>(&mut self, answer: Result<Response<B>, E>) -> Result<Response<B>, E> {
        if let Some(active) = &mut self.0 {
            let outcome = active.outcome.unwrap_or(Outcome::HandlerFailed);
            match &answer {
                Ok(response) => {
                    let rejection = response.extensions().get::<Rejection>();
                    active.report(outcome, Some(response.status()), rejection);
                }
                Err(_) => active.report(outcome, None, None),
            }
        }
        answer
    }
}

impl Active {
    /// Whether recording into the span can reach anyone. A disabled span
    /// under a subscriber that does not want it records nothing, but its
    /// fields' value set would still be built, a lookup by name per field.
    /// With no subscriber set at all, tracing hands records to the `log`
    /// crate, so they are kept.
    fn records(&self) -> bool {
        !self.span.is_disabled() || !tracing::dispatcher::has_been_set()
    }

    /// The time since the last step ended.
    fn lap(&mut self) -> Duration {
        let now = Instant::now();
        let took = now.duration_since(self.last);
        self.last = now;
        took
    }

    /// Ends the guard's step and records it in the span with the verified
    /// delivery's fields and the earlier steps' times, in one call.
    fn record_verified_and_guard(&mut self) {
        let took = self.lap();
        self.timings.guard = Some(took);
        if !self.records() {
            return;
        }
        let verified = self.verified.as_ref();
        tracing::record_all!(
            self.span,
            body_read_us = self.timings.body_read.map(micros),
            verify_us = self.timings.verify.map(micros),
            guard_us = micros(took),
            event_id = verified.map(Verified::id),
            event_type = verified.and_then(Verified::event_type),
        );
    }

    /// Notes the handler's time; [`report`](Self::report) records it.
    fn end_handler(&mut self, now: Instant) {
        if let Some(start) = self.handler_start.take() {
            self.timings.handler = Some(now.duration_since(start));
        }
    }

    fn report(&mut self, outcome: Outcome, status: Option<StatusCode>, rejection: Option<&Rejection>) {
        if self.reported {
            return;
        }
        self.reported = true;
        let now = Instant::now();
        // A handler cut short (the future dropped) still ran until now.
        self.end_handler(now);
        self.timings.total = now.duration_since(self.start);
        if self.records() {
            tracing::record_all!(
                self.span,
                handler_us = self.timings.handler.map(micros),
                outcome = outcome.label(),
                status = status.map(|status| status.as_u16()),
            );
        }
        if let Some(observer) = &self.observer {
            observer.delivery(&Report {
                scheme: self.scheme,
                outcome,
                status,
                event_id: self.verified.as_ref().map(Verified::id),
                event_type: self.verified.as_ref().and_then(Verified::event_type),
                rejection,
                timings: self.timings,
                body: self.body.as_deref(),
                attempt: None,
                retry_in: None,
            });
        }
    }
}

impl Drop for Track {
    fn drop(&mut self) {
        // What keeps "exactly once per delivery" true when the response
        // future is dropped mid-way, and the running-handlers gauge balanced.
        if let Some(active) = &mut self.0 {
            if !active.reported {
                active.report(Outcome::Cancelled, None, None);
            }
        }
    }
}
