//! # la-core
//!
//! The foundation of the LiveAgent REST API v3 SDK: the [`Client`] with its tower middleware
//! stack (tracing, timeouts, retries, client-side rate limiting, authentication, transport),
//! the sans-IO [`Request`] description every operation is built from, the [`Error`] type,
//! [`pagination`] and [`filters`].
//!
//! The operations themselves live in the domain crates (`la-tickets`, `la-calls`, ...), which
//! stand on this crate alone; the `liveagent` crate gathers them behind cargo features.
//!
//! ```no_run
//! use la_core::{Client, Method, Request};
//!
//! # async fn run() -> Result<(), la_core::Error> {
//! let client = Client::builder().account("acme").api_key("your-api-key").build()?;
//! // Any operation can be sent as a plain request; the domain crates do this for you, typed.
//! let ticket: serde_json::Value = client
//!     .execute(Request::new(Method::GET, "/tickets/{ticketId}").path_param("ticketId", "abc")?)
//!     .await?;
//! println!("{}", ticket["subject"]);
//! # Ok(()) }
//! ```
//!
//! ## Cargo features
//!
//! - `rustls` (default): TLS through rustls, with its default crypto provider (`aws-lc-rs`).
//! - `rustls-ring` (with `default-features = false`): TLS through rustls with the `ring` crypto
//!   provider: a shorter build, without the CMake (and, on Windows, NASM) that `aws-lc-rs` needs.
//!   The default reqwest client installs ring as the process's rustls provider, unless the
//!   application installed one first.
//! - `native-tls`: TLS through the platform's library (OpenSSL on Linux).
//! - `redis-limiter`: `stack::redis_limiter::RedisLimiter`, a rate limiter whose state lives in
//!   Redis, so that many processes using one API key share one limit (and
//!   `ClientBuilder::redis_limiter`, to turn it on in one line).
//! - `test-util`: [`testing::ScriptedTransport`], a transport that answers canned responses in
//!   order and records the requests, for the unit tests of code that uses the SDK.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod body;
mod call;
pub mod client;
pub mod de;
pub mod error;
pub mod filters;
mod json_path;
pub mod pagination;
pub mod request;
pub mod response;
pub mod stack;
#[cfg(feature = "test-util")]
pub mod testing;

pub use body::Body;
pub use client::{BaseUrl, BoxService, Client, ClientBuilder};
pub use error::{BoxError, Error, RequestContext, Result, TimeoutKind, TransportKind};
pub use filters::{Filters, Operator};
pub use http::{Method, StatusCode};
pub use pagination::{Page, PageStyle, PageToken, PaginationErrorKind};
pub use request::{FilePart, Idempotency, Multipart, Request};
pub use stack::auth::ApiKey;
pub use stack::rate_limit::{Limiter, RateLimit, RateLimitMode};
#[cfg(feature = "redis-limiter")]
pub use stack::redis_limiter::{RedisFailure, RedisLimiter};
pub use stack::retry::{RetryBudgetConfig, RetryConfig};

/// Re-exports the domain crates use, so that they depend on `la-core` alone.
#[doc(hidden)]
pub mod __private {
    pub use futures_core::Stream;
    pub use serde;
    pub use serde_json;
}
