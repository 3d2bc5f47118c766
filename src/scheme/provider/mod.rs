//! The named providers, one file each: its declaration (or, for the few
//! that no [`Spec`](super::Spec) describes, its [`Scheme`](super::Scheme)),
//! its sourced docs and its unit tests. A provider builds on the engine's
//! public face and the shared readers, never on another provider.

mod bitbucket;
mod calendly;
mod coinbase;
#[cfg(feature = "ed25519")]
mod discord;
mod github;
mod gitlab;
mod hubspot;
mod intercom;
mod lemonsqueezy;
mod linear;
mod mailgun;
mod meta;
mod mux;
mod notion;
mod paddle;
mod pagerduty;
mod paystack;
mod petstore;
mod polar;
mod razorpay;
#[cfg(feature = "p256")]
mod sendgrid;
mod sentry;
mod shared;
mod shopify;
mod slack;
mod square;
mod standard;
mod stripe;
mod twilio;
mod twitch;
mod typeform;
mod vercel;
mod webflow;
mod workos;
mod zoom;

pub use self::bitbucket::Bitbucket;
pub use self::calendly::Calendly;
pub use self::coinbase::CoinbaseCommerce;
#[cfg(feature = "ed25519")]
pub use self::discord::{Discord, DiscordEndpoint};
pub use self::github::GitHub;
pub use self::gitlab::GitLab;
#[cfg(feature = "test-util")]
pub(crate) use self::gitlab::GitLabSender;
pub use self::hubspot::HubSpot;
pub use self::intercom::Intercom;
pub use self::lemonsqueezy::LemonSqueezy;
pub use self::linear::Linear;
pub use self::mailgun::Mailgun;
pub use self::meta::Meta;
pub use self::mux::Mux;
pub use self::notion::Notion;
pub use self::paddle::Paddle;
pub use self::pagerduty::PagerDuty;
pub use self::paystack::Paystack;
pub use self::polar::Polar;
pub use self::razorpay::Razorpay;
#[cfg(feature = "p256")]
pub use self::sendgrid::SendGrid;
pub use self::sentry::Sentry;
pub use self::shopify::Shopify;
pub use self::slack::Slack;
pub use self::square::Square;
pub use self::standard::{Clerk, Replicate, Resend, StandardWebhooks, Svix};
pub use self::stripe::Stripe;
pub use self::twilio::Twilio;
pub use self::twitch::Twitch;
pub use self::typeform::Typeform;
pub use self::vercel::Vercel;
pub use self::webflow::Webflow;
pub use self::workos::WorkOS;
pub use self::zoom::Zoom;
