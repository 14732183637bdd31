//! # la-reports
//!
//! The LiveAgent REST API v3 for Rust: grid reports: tickets, chats, calls, agents, departments, tags, SLA logs, event logs and time reports.
//!
//! Part of the `liveagent-rs` SDK. This crate stands on [`la_core`] alone: it adds its
//! operations to [`la_core::Client`] through [`ClientExt`], one handle per API tag, one module per
//! handle. Every operation returns a request builder: required parameters are arguments,
//! optional ones are methods, and `.send().await` performs the call through the client's
//! middleware stack (rate limit, retries, timeouts, tracing). List operations also offer
//! `.stream()` and `.pages()`.
//!
//! Use it alone (this is the same for every domain crate):
//!
//! ```no_run
//! use la_reports::ClientExt as _;
//!
//! # async fn run() -> Result<(), la_core::Error> {
//! let client = la_core::Client::builder()
//!     .account("acme")
//!     .api_key("your-api-key")
//!     .build()?;
//! let rows = client.grid().get_tickets_grid_list().per_page(100).send().await?;
//! # Ok(())
//! # }
//! ```
//!
//! or through the `liveagent` crate with its `reports` feature. The models are in
//! [`models`]; the code under `src/generated/` is generated from the spec by `la-codegen`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod generated;

pub use generated::*;
