//! Shared support for the system tests: a simulator and a client pointed at it.

#![forbid(unsafe_code)]

pub mod reliability;

use std::time::Duration;

pub use la_mock::Simulator;
use liveagent::{Client, ClientBuilder};

/// A simulator with `tickets` seeded tickets and no rate limit; panics when it cannot start.
#[allow(clippy::panic)]
pub async fn simulator(tickets: usize) -> Simulator {
    match Simulator::builder()
        .tickets(tickets)
        .no_rate_limit()
        .start()
        .await
    {
        Ok(sim) => sim,
        Err(error) => panic!("a simulator with {tickets} tickets: {error}"),
    }
}

/// A client builder aimed at `sim` with its API key, short timeouts, and no client-side rate
/// limit (tests that exercise the limiter set their own).
pub fn builder_for(sim: &Simulator) -> ClientBuilder {
    Client::builder()
        .base_url(sim.base_url())
        .api_key(sim.api_key())
        .attempt_timeout(Duration::from_secs(10))
        .total_timeout(Duration::from_secs(60))
        .no_rate_limit()
}

/// A client for `sim` with the defaults of [`builder_for`]; panics when it cannot be built.
#[allow(clippy::panic)]
pub fn client_for(sim: &Simulator) -> Client {
    match builder_for(sim).build() {
        Ok(client) => client,
        Err(error) => panic!("a client for the simulator: {error}"),
    }
}
