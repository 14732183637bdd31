//! # liveagent
//!
//! The LiveAgent help-desk REST API v3 for Rust: all 255 operations, typed, over a tower
//! middleware stack that authenticates, stays under the rate limit, retries what is safe to
//! retry, times out, and traces.
//!
//! ```no_run
//! use liveagent::prelude::*;
//!
//! # async fn run() -> Result<(), liveagent::Error> {
//! let client = Client::builder().account("acme").api_key("your-api-key").build()?;
//! let open = client
//!     .tickets()
//!     .get_tickets_list()
//!     .filters(Filters::conditions().eq("status", "C"))
//!     .per_page(50)
//!     .send()
//!     .await?;
//! println!("{} open tickets", open.len());
//! # Ok(())
//! # }
//! ```
//!
//! ## Cargo features
//!
//! Each domain is a feature, so a program compiles only what it uses:
//!
//! | feature | crate | operations |
//! |---|---|---|
//! | `tickets` (default) | [`tickets`] (`la-tickets`) | tickets, messages, tags, filters, SLAs, canned messages, predefined answers, files, chats (39) |
//! | `calls` | `calls` (`la-calls`) | calls, devices, phone numbers, phones, extensions, agent phones (63) |
//! | `contacts` | `contacts` (`la-contacts`) | contacts, companies, groups, contact phones, page visits (23) |
//! | `agents` | `agents` (`la-agents`) | agents, departments, users (17) |
//! | `billing` | `billing` (`la-billing`) | subscriptions, billing, invoices, variations (27) |
//! | `account` | `account` (`la-account`) | API keys, bans, custom buttons, search index, settings, token, hosting, countries, queue, ping (32) |
//! | `integrations` | `integrations` (`la-integrations`) | Slack, Viber, mail accounts (17) |
//! | `reports` | `reports` (`la-reports`) | grid reports (20) |
//! | `microservices` | `microservices` (`la-microservices`) | principal resolution, names, Gmail accounts (17, shapes inferred) |
//! | `full` | all of the above | 255 |
//! | `rustls` (default) / `rustls-ring` / `native-tls` | `la-core` | the TLS implementation (`rustls-ring`: rustls with the `ring` provider instead of `aws-lc-rs`, a shorter build) |
//! | `redis-limiter` | `la-core` | `RedisLimiter` and `ClientBuilder::redis_limiter`: one rate limit shared through Redis by every process that uses the API key |
//!
//! The defaults are `rustls` and `tickets`. With `default-features = false`, enable a TLS
//! feature too.
//!
//! ## Layout
//!
//! [`Client`] and everything about transport, errors, pagination and filters come from
//! `la-core` and are re-exported here. Each domain is re-exported as a module named like its
//! feature; inside it, one module per API tag holds that tag's handle and request builders, and
//! `models` holds the types. [`prelude`] brings the client, the filters and every enabled
//! domain's `ClientExt` (the trait that adds `client.tickets()`, `client.calls()`, ...) into
//! scope.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use la_core::{
    ApiKey, BaseUrl, Body, BoxError, BoxService, Client, ClientBuilder, Error, FilePart, Filters,
    Idempotency, Limiter, Method, Multipart, Operator, Page, PageStyle, PageToken,
    PaginationErrorKind, RateLimit, RateLimitMode, Request, RequestContext, Result,
    RetryBudgetConfig, RetryConfig, StatusCode, TimeoutKind, TransportKind,
};
#[cfg(feature = "redis-limiter")]
pub use la_core::{RedisFailure, RedisLimiter};
pub use la_core::{body, client, de, error, filters, pagination, request, response, stack};

/// The README's examples, compiled as doctests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// Test support for your own tests (the `test-util` feature).
///
/// - [`ScriptedTransport`](testing::ScriptedTransport): a transport for
///   [`Client::from_service`](crate::Client::from_service) that answers canned
///   [`Answer`](testing::Answer)s in order and records every request; no server runs (see
///   [`la_core::testing`]).
/// - [`Simulator`](testing::Simulator): the whole LiveAgent API on 127.0.0.1, seeded, with
///   faults, rate limits and request counters; the `la-mock` crate is
///   [`testing::simulator`].
#[cfg(feature = "test-util")]
pub mod testing {
    pub use la_core::testing::{Answer, RecordedRequest, ScriptedTransport};
    /// The simulator crate, `la-mock`: its builder, faults, rate limits, counters and records.
    pub use la_mock as simulator;
    pub use la_mock::Simulator;
}

#[cfg(feature = "account")]
pub use la_account as account;
#[cfg(feature = "agents")]
pub use la_agents as agents;
#[cfg(feature = "billing")]
pub use la_billing as billing;
#[cfg(feature = "calls")]
pub use la_calls as calls;
#[cfg(feature = "contacts")]
pub use la_contacts as contacts;
#[cfg(feature = "integrations")]
pub use la_integrations as integrations;
#[cfg(feature = "microservices")]
pub use la_microservices as microservices;
#[cfg(feature = "reports")]
pub use la_reports as reports;
#[cfg(feature = "tickets")]
pub use la_tickets as tickets;

/// The client, the filters, and the `ClientExt` trait of every enabled domain.
pub mod prelude {
    pub use la_core::{Client, Error, Filters, Operator, PageStyle};

    #[cfg(feature = "account")]
    pub use la_account::ClientExt as _;
    #[cfg(feature = "agents")]
    pub use la_agents::ClientExt as _;
    #[cfg(feature = "billing")]
    pub use la_billing::ClientExt as _;
    #[cfg(feature = "calls")]
    pub use la_calls::ClientExt as _;
    #[cfg(feature = "contacts")]
    pub use la_contacts::ClientExt as _;
    #[cfg(feature = "integrations")]
    pub use la_integrations::ClientExt as _;
    #[cfg(feature = "microservices")]
    pub use la_microservices::ClientExt as _;
    #[cfg(feature = "reports")]
    pub use la_reports::ClientExt as _;
    #[cfg(feature = "tickets")]
    pub use la_tickets::ClientExt as _;
}
