//! # la-reliability
//!
//! Test support behind `RELIABILITY.md` at the root of the workspace:
//!
//! - [`rows`]: the figures a reliability test records (one JSON line per row under
//!   `target/reliability/`), and the rendering of those rows into the detailed report
//!   `target/reliability/REPORT.md`;
//! - [`decode`]: the property that every generated model's decoder must hold on arbitrary
//!   bytes and on malformed, schema-shaped JSON (no panic, and every error is an
//!   `Error::Decode` carrying the JSON path of the bad value). The generated
//!   `tests/decode_fuzz.rs` of each domain crate runs it on every model.
//!
//! Not published: only tests depend on it.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod decode;
pub mod rows;

pub use rows::{Merge, Row};
