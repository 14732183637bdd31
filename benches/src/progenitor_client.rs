//! The client progenitor generates (in `build.rs`) for `getTicket` and `getTicketsList`.

#![allow(
    missing_docs,
    unreachable_pub,
    unused,
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    rust_2018_idioms
)]

include!(concat!(env!("OUT_DIR"), "/progenitor_tickets.rs"));

/// What progenitor rejected in the whole spec (Markdown), written by `build.rs`.
pub const REPORT: &str = include_str!(concat!(env!("OUT_DIR"), "/progenitor_report.md"));
