use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::Response;
use http_body_util::Full;
use tower_layer::Layer;

use super::WebhookService;
use crate::observe::{self, Observer};
use crate::replay::{LruGuard, ReplayGuard};
use crate::scheme::Scheme;
use crate::Rejection;

/// The default body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;
type RejectionResponse = Arc<dyn Fn(&Rejection) -> Response<Full<Bytes>> + Send + Sync>;

/// A [`Layer`] that receives webhooks: it bounds and buffers the body,
/// verifies the signature, drops replays, and settles the replay guard by the
/// inner service's outcome. See the [module docs](crate::layer) for the whole
/// request path.
///
/// ```
/// use std::time::Duration;
/// use tower_webhook::{scheme::Hmac, LruGuard, Secret, WebhookLayer};
///
/// let layer = WebhookLayer::new(Hmac::petstore(Secret::new("petstore secret")?))
///     .guard(LruGuard::new(50_000))
///     .body_limit(256 * 1024)
///     .deadline(Duration::from_secs(8));
/// # Ok::<(), tower_webhook::SecretError>(())
/// ```
pub struct WebhookLayer<Sch, G = LruGuard> {
    config: Config<Sch, G>,
}

/// Everything a service needs; every field is cheap to clone.
pub(crate) struct Config<Sch, G> {
    pub(crate) scheme: Arc<Sch>,
    pub(crate) guard: Arc<G>,
    pub(crate) body_limit: usize,
    pub(crate) body_timeout: Option<Duration>,
    pub(crate) deadline: Option<Duration>,
    pub(crate) clock: Clock,
    pub(crate) on_rejection: Option<RejectionResponse>,
    pub(crate) observe: observe::Settings,
}

impl<Sch, G> Config<Sch, G> {
    pub(crate) fn rejection_response(&self, rejection: &Rejection) -> Response<Full<Bytes>> {
        let mut response = match &self.on_rejection {
            Some(custom) => custom(rejection),
            None => rejection.to_response(),
        };
        response.extensions_mut().insert(rejection.clone());
        response
    }
}

impl<Sch: Scheme> WebhookLayer<Sch, LruGuard> {
    /// A layer verifying deliveries with `scheme`, with an in-memory
    /// [`LruGuard`] of the default capacity, a 1 MiB body limit and no deadline.
    pub fn new(scheme: Sch) -> Self {
        let scheme_name = scheme.name();
        Self {
            config: Config {
                scheme: Arc::new(scheme),
                guard: Arc::new(LruGuard::default()),
                body_limit: DEFAULT_BODY_LIMIT,
                body_timeout: None,
                deadline: None,
                clock: Arc::new(SystemTime::now),
                on_rejection: None,
                observe: observe::Settings {
                    scheme: scheme_name,
                    observer: None,
                },
            },
        }
    }
}

impl<Sch, G> WebhookLayer<Sch, G> {
    fn map(mut self, f: impl FnOnce(&mut Config<Sch, G>)) -> Self {
        f(&mut self.config);
        self
    }

    /// Uses `guard` to remember processed and in-flight events.
    ///
    /// Pass an `Arc` to keep a handle on the guard (an `Arc` of a guard is a
    /// guard too).
    #[must_use]
    pub fn guard<G2: ReplayGuard>(self, guard: G2) -> WebhookLayer<Sch, G2> {
        let config = self.config;
        WebhookLayer {
            config: Config {
                scheme: config.scheme,
                guard: Arc::new(guard),
                body_limit: config.body_limit,
                body_timeout: config.body_timeout,
                deadline: config.deadline,
                clock: config.clock,
                on_rejection: config.on_rejection,
                observe: config.observe,
            },
        }
    }

    /// The largest body accepted, in bytes (default 1 MiB); a larger one is
    /// answered `413`, from `Content-Length` before reading when it is given,
    /// otherwise the moment the limit is passed while reading.
    #[must_use]
    pub fn body_limit(self, bytes: usize) -> Self {
        self.map(|c| c.body_limit = bytes)
    }

    /// Answers `408 Request Timeout` when the body has not arrived in full
    /// within `limit`, without calling the inner service. hyper bounds the
    /// wait for headers, not for the body: without this, a client that
    /// declares a length and then stalls holds the request (and its memory,
    /// up to the body limit) for as long as it keeps the connection open.
    /// Off by default; a few seconds is plenty for a sender that has its
    /// whole body ready. Needs a tokio runtime with the time driver.
    #[must_use]
    pub fn body_timeout(self, limit: Duration) -> Self {
        self.map(|c| c.body_timeout = Some(limit))
    }

    /// Answers `503` with `Retry-After` when the inner service has not
    /// answered within `deadline`, cancels it, and releases the event, so a
    /// slow handler does not outlive the sender's own timeout (GitHub 10 s,
    /// Shopify 5 s, Svix 15 s) with nobody hearing about its outcome. Off by
    /// default. Needs a tokio runtime with the time driver.
    #[must_use]
    pub fn deadline(self, deadline: Duration) -> Self {
        self.map(|c| c.deadline = Some(deadline))
    }

    /// The clock timestamps are checked against (default [`SystemTime::now`]);
    /// for tests.
    #[must_use]
    pub fn clock(self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.map(|c| c.clock = Arc::new(clock))
    }

    /// Builds the response for a rejection instead of the default short text.
    /// The [`Rejection`] is put in the response's extensions either way.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http_body_util::Full;
    /// use tower_webhook::{scheme::Hmac, Secret, WebhookLayer};
    ///
    /// let layer = WebhookLayer::new(Hmac::petstore(Secret::new("s")?)).on_rejection(|rejection| {
    ///     let body = format!(r#"{{"error":"{}"}}"#, rejection.body_text());
    ///     http::Response::builder()
    ///         .status(rejection.status())
    ///         .header("content-type", "application/json")
    ///         .body(Full::new(Bytes::from(body)))
    ///         .unwrap()
    /// });
    /// # Ok::<(), tower_webhook::SecretError>(())
    /// ```
    #[must_use]
    pub fn on_rejection(
        self,
        respond: impl Fn(&Rejection) -> Response<Full<Bytes>> + Send + Sync + 'static,
    ) -> Self {
        self.map(|c| c.on_rejection = Some(Arc::new(respond)))
    }

    /// Tells `observer` how every delivery ends, with its timings (see
    /// [`observe`](crate::observe)); replaces any observer set before. Pass a
    /// tuple for several, e.g. `(Metrics::new(), recent.clone())`. Without
    /// one, the layer reads no clock and allocates nothing for observing.
    #[must_use]
    pub fn observer(self, observer: impl Observer) -> Self {
        self.map(|c| c.observe.observer = Some(Arc::new(observer)))
    }

    /// The scheme's name in the delivery's span, in each [`Report`](crate::observe::Report)
    /// and as the `scheme` label of the metrics (default: [`Scheme::name`]).
    /// A `&'static str`, so a closed set: give each layer a fixed name such as
    /// `"github"`, never one made from a request.
    #[must_use]
    pub fn scheme_name(self, name: &'static str) -> Self {
        self.map(|c| c.observe.scheme = name)
    }

    /// The replay guard, shared by every service this layer makes.
    pub fn replay_guard(&self) -> &Arc<G> {
        &self.config.guard
    }
}

impl<Sch, G> Clone for WebhookLayer<Sch, G> {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
        }
    }
}

impl<Sch, G> Clone for Config<Sch, G> {
    fn clone(&self) -> Self {
        Self {
            scheme: Arc::clone(&self.scheme),
            guard: Arc::clone(&self.guard),
            body_limit: self.body_limit,
            body_timeout: self.body_timeout,
            deadline: self.deadline,
            clock: Arc::clone(&self.clock),
            on_rejection: self.on_rejection.clone(),
            observe: self.observe.clone(),
        }
    }
}

impl<S, Sch, G> Layer<S> for WebhookLayer<Sch, G> {
    type Service = WebhookService<S, Sch, G>;

    fn layer(&self, inner: S) -> Self::Service {
        WebhookService {
            inner,
            config: Arc::new(self.config.clone()),
        }
    }
}

impl<Sch: fmt::Debug, G: fmt::Debug> fmt::Debug for WebhookLayer<Sch, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.config.fmt(f)
    }
}

impl<Sch: fmt::Debug, G: fmt::Debug> fmt::Debug for Config<Sch, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookLayer")
            .field("scheme", &self.scheme)
            .field("guard", &self.guard)
            .field("body_limit", &self.body_limit)
            .field("body_timeout", &self.body_timeout)
            .field("deadline", &self.deadline)
            .field("on_rejection", &self.on_rejection.as_ref().map(|_| ".."))
            .field("observe", &self.observe)
            .finish_non_exhaustive()
    }
}
