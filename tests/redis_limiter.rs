#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The shared rate limiter across processes: 4 worker processes × 8 clients, one API key, one
//! Redis, one simulator enforcing the same rate. Together they must stay within the token
//! bucket's budget, get no 429 from the server, and still use a fair share of the allowed rate.
//!
//! It must hold on a fully loaded machine: the budget is an upper bound however late anyone
//! runs, so it is checked strictly; the rate actually used depends on the scheduler, so its
//! lower bound ([`MIN_UTILISATION`]) only catches processes that hold one another back.
//!
//! Needs `redis-server` (skipped with a message when it cannot be found, unless
//! `LIVEAGENT_REQUIRE_REDIS=1` is set, as `.ci/run` does).

#[path = "../crates/la-core/tests/support/redis_server.rs"]
mod redis_server;

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use la_mock::Simulator;
use redis_server::RedisServer;

const PROCESSES: usize = 4;
const CLIENTS_PER_PROCESS: usize = 8;
/// LiveAgent's 180 per minute, scaled up and shortened so the test takes seconds.
const REQUESTS: u32 = 40;
const WINDOW: Duration = Duration::from_secs(1);
const CLIENT_BURST: u32 = 5;
/// The server allows the same rate; its larger bucket absorbs the jitter between a token being
/// taken in Redis and the request arriving (scheduling, four processes on two cores).
const SERVER_BURST: u32 = 10;
const RUN: Duration = Duration::from_secs(4);
/// The share of the budget the processes must use at least: low enough for a machine whose
/// cores are all busy with something else (idle, runs use about 98%), high enough that a token
/// taken twice or a limiter that serialised the processes would fail.
const MIN_UTILISATION: f64 = 0.6;

fn unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros()
        .try_into()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_sharing_one_key_hold_the_combined_rate() {
    let Some(redis) = RedisServer::start("processes_sharing_one_key_hold_the_combined_rate") else {
        return;
    };
    let sim = Simulator::builder()
        .rate_limit(la_mock::RateLimit::new(REQUESTS, WINDOW).with_burst(SERVER_BURST))
        .start()
        .await
        .unwrap();

    // Every worker starts sending at the same wall-clock instant, after its clients are built.
    let start_at_us = unix_us() + 2_500_000;
    let workers: Vec<_> = (0..PROCESSES)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_limiter-worker"))
                .env("LIVEAGENT_API_KEY", sim.api_key())
                .args(["--base-url", sim.base_url()])
                .args(["--redis-url", &redis.url()])
                .args(["--clients", &CLIENTS_PER_PROCESS.to_string()])
                .args(["--requests", &REQUESTS.to_string()])
                .args(["--window-ms", &WINDOW.as_millis().to_string()])
                .args(["--burst", &CLIENT_BURST.to_string()])
                .args(["--start-at-us", &start_at_us.to_string()])
                .args(["--run-ms", &RUN.as_millis().to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut reports = Vec::new();
    for worker in workers {
        // The simulator runs on this runtime: wait for the processes off its threads.
        let output = tokio::task::spawn_blocking(move || worker.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(output.status.success(), "a worker failed: {stdout}");
        let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        println!("worker: {report}");
        reports.push(report);
    }

    let sum = |field: &str| -> u64 { reports.iter().map(|r| r[field].as_u64().unwrap()).sum() };
    let sent = sum("ok");
    assert_eq!(sum("errors"), 0, "{reports:?}");
    assert_eq!(sum("rate_limited"), 0, "{reports:?}");
    assert_eq!(sum("redis_failures"), 0, "{reports:?}");
    let counters = sim.counters().total();
    assert_eq!(
        counters.rate_limited, 0,
        "the server answered 429: {counters:?}"
    );
    assert_eq!(counters.received, sent, "{counters:?}");

    // Every token was taken after the start and before the last answer arrived.
    let last_done_us = reports
        .iter()
        .map(|r| r["last_done_us"].as_u64().unwrap())
        .max()
        .unwrap();
    let elapsed = Duration::from_micros(last_done_us - start_at_us);
    // The burst, then one request per interval of the limiter's pace (a little slower than
    // REQUESTS per WINDOW: the burst and the jitter margin fit inside the window's REQUESTS).
    let interval = liveagent::RateLimit::new(REQUESTS, WINDOW)
        .unwrap()
        .burst(CLIENT_BURST)
        .unwrap()
        .interval();
    let budget = f64::from(CLIENT_BURST) + elapsed.as_secs_f64() / interval.as_secs_f64();
    let utilisation = sent as f64 / budget;
    println!(
        "{PROCESSES} processes x {CLIENTS_PER_PROCESS} clients, {elapsed:?}: {sent} requests, \
         budget {budget:.1}, utilisation {:.1}%, server 429s {}",
        100.0 * utilisation,
        counters.rate_limited
    );
    assert!(
        sent as f64 <= budget,
        "{sent} requests exceed the budget of {budget:.1} for {elapsed:?}"
    );
    assert!(
        utilisation >= MIN_UTILISATION,
        "only {:.1}% of the allowed rate used (at least {:.0}% expected)",
        100.0 * utilisation,
        100.0 * MIN_UTILISATION
    );
    sim.shutdown().await;
}
