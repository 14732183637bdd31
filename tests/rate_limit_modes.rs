//! The client's default limiter against a simulator that counts requests in each of the three
//! usual ways (a token bucket, a sliding window, fixed windows): hundreds of concurrent tasks,
//! and not one 429 from the server.
//!
//! The limit is LiveAgent's 180 per minute scaled to 100 per second, so each test takes about
//! three seconds. The client is configured with the simulator's N and W and a jitter margin of
//! 200 ms (a fifth of the window, where the default would be 50 ms): the stated tolerance for
//! how much the delay between the client's limiter and the simulator's check may vary on a
//! fully loaded machine.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use la_mock::{RateLimit as ServerLimit, RateLimitAlgorithm, Simulator};
use liveagent::RateLimit;
use liveagent::prelude::*;
use liveagent_tests::builder_for;

const KEY: &str = "test-api-key-0123456789";
const TASKS: usize = 250;
const LIMIT: u32 = 100;
const WINDOW: Duration = Duration::from_secs(1);
const MARGIN: Duration = Duration::from_millis(200);

/// Runs `TASKS` concurrent `ping` calls through one client (and its clones) against a
/// simulator counting with `algorithm`; asserts that every call succeeded and the server
/// answered no 429.
async fn no_429_from_a_server_counting_with(algorithm: RateLimitAlgorithm) {
    let sim = Simulator::builder()
        .tickets(3)
        .api_key(KEY)
        .rate_limit(ServerLimit::new(LIMIT, WINDOW).with_algorithm(algorithm))
        .start()
        .await
        .unwrap();
    let limit = RateLimit::new(LIMIT, WINDOW).unwrap().jitter_margin(MARGIN);
    let client = builder_for(&sim).rate_limit(limit).build().unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.default_api().ping().send().await })
        })
        .collect();
    let mut errors = Vec::new();
    for task in tasks {
        if let Err(error) = task.await.unwrap() {
            errors.push(error.to_string());
        }
    }
    let took = started.elapsed();
    let counts = sim.counters().operation("ping");
    println!(
        "{algorithm}: {TASKS} calls in {took:.2?}, {} answered, {} 429s from the server, {} errors",
        counts.handled,
        counts.rate_limited,
        errors.len()
    );
    assert_eq!(
        counts.rate_limited, 0,
        "{algorithm}: the server answered 429"
    );
    assert!(errors.is_empty(), "{algorithm}: {errors:?}");
    assert_eq!(counts.received, TASKS as u64, "{algorithm}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_429_from_a_token_bucket_server() {
    no_429_from_a_server_counting_with(RateLimitAlgorithm::Gcra).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_429_from_a_sliding_window_server() {
    no_429_from_a_server_counting_with(RateLimitAlgorithm::Sliding).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_429_from_a_fixed_window_server() {
    no_429_from_a_server_counting_with(RateLimitAlgorithm::Fixed).await;
}
