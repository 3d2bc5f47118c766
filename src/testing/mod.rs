//! Build correctly signed requests for every scheme, to test your own handlers.
//!
//! Enabled by the `test-util` feature. Every signer implements [`Sign`]:
//! the signature headers, and for the schemes that carry signing in the body
//! (Mailgun's signature block, Linear's `webhookTimestamp`) the body as the
//! sender would send it; [`signed_request`] does both for `POST /webhooks`,
//! and [`SignedRequest`] for any path, with the event type header the sender
//! writes (GitHub's `X-GitHub-Event`).
//!
//! ```
//! use http::StatusCode;
//! use http_body_util::Full;
//! use bytes::Bytes;
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_webhook::{scheme::Spec, testing, Secret, WebhookLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let scheme = Spec::petstore(Secret::new("test secret")?);
//! let request = testing::signed_request::<Full<Bytes>>(
//!     &scheme,
//!     r#"{"id":"evt_1","type":"order.created","created":0,"data":{}}"#,
//!     "evt_1",
//! );
//! let service = ServiceBuilder::new()
//!     .layer(WebhookLayer::new(scheme))
//!     .service(service_fn(|_req: http::Request<Full<Bytes>>| async {
//!         Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::new())))
//!     }));
//! assert_eq!(service.oneshot(request).await?.status(), StatusCode::OK);
//! # Ok(())
//! # }
//! ```
//!
//! Beside the signers: the [preset registry](presets) the crate's own tests,
//! fuzz targets and examples run over, and the
//! [replay-guard conformance suite](replay_guard) for your own guard.

/// The inbox-store conformance suite, for your own
/// [`InboxStore`](crate::inbox::InboxStore): see the module.
pub mod inbox;
mod json;
mod registry;
pub mod replay_guard;
mod request;
mod signer;

pub use self::json::JsonFields;
pub use self::registry::{preset, presets, BoxScheme, BoxSigner, IdSource, Preset, SignatureSource};
pub use self::request::{now, signed_request, signed_request_at, SignedRequest, VerifyHeaders};
pub use self::signer::{Signer, SigningKey};
pub use crate::scheme::sign::{Message, Sign};
