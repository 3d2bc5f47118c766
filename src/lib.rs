//! Receive webhooks safely: a tower layer that bounds and buffers the raw
//! body, verifies its HMAC-SHA256 signature in constant time (several secrets
//! at once, for rotation), drops replays, and answers so that the sender
//! retries exactly when it should.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod encoding;
mod event;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod extract;
pub mod handler;
pub mod layer;
mod rejection;
pub mod replay;
pub mod scheme;
mod secret;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod testing;

pub use self::event::{Event, EventRejection, PermanentFailure, Verified};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use self::extract::Webhook;
pub use self::handler::{Dispatcher, HandlerError};
pub use self::layer::{WebhookLayer, WebhookService};
pub use self::rejection::Rejection;
pub use self::replay::{Begin, Claim, GuardError, LruGuard, ReplayGuard};
pub use self::scheme::{Delivery, Scheme, MAX_ID_LEN};
pub use self::secret::{Secret, SecretError, Secrets};

/// A boxed error, as tower uses.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
