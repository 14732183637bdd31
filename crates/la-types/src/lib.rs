//! # la-types
//!
//! The few models of the LiveAgent REST API v3 that several domain crates share (such as
//! `OkResponse`, `Count` and `Agent`). Each domain crate re-exports the ones it uses from its own
//! `models` module, so you rarely need this crate directly. The code under `src/generated/` is
//! generated from the spec by `la-codegen`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod generated;

pub use generated::*;
