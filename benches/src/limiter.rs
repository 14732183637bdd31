//! Client-side rate limiting at LiveAgent's 180 requests per window, with the window scaled
//! down to 6 s: 64 tasks send `getTicket` as fast as the limiter lets them, against the
//! simulator enforcing the same limit (with its default burst, the whole limit, then with the
//! client's burst, the strictest setting). Reports the achieved
//! rate against the allowed one and the 429s the server answered.
//!
//! `cargo bench -p liveagent-benches --bench limiter` (env: `BENCH_ROUNDS`, default 3;
//! `BENCH_SECS`, default 30; `BENCH_SERVER_BURST`, default: both the limit and the client's burst).

#[path = "support.rs"]
mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use la_tickets::ClientExt as _;

use support::{Result, env_or, is_bench_run, machine, median};

const LIMIT: u32 = 180;
const TASKS: usize = 64;

struct Outcome {
    steady_utilisation: f64,
    /// The steady rate against the limiter's own pace (one request per `RateLimit::interval`),
    /// which stays a few percent under N/W so that no window of W + J holds more than N.
    pace_utilisation: f64,
    total_utilisation: f64,
    achieved_per_second: f64,
    server_429s: u64,
    errors: usize,
}

fn run(window: Duration, length: Duration, server_burst: u32) -> Result<Outcome> {
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let sim = server_runtime.block_on(
        la_mock::Simulator::builder()
            .tickets(10)
            .rate_limit(la_mock::RateLimit::new(LIMIT, window).with_burst(server_burst))
            .start(),
    )?;
    let ticket_id = sim
        .records(la_mock::Resource::Tickets)
        .first()
        .and_then(|t| t["id"].as_str().map(str::to_owned))
        .ok_or("the simulator has no ticket")?;
    let limit = la_core::RateLimit::new(LIMIT, window)?;
    let client_burst = limit.burst_size();
    let pace = 1.0 / limit.interval().as_secs_f64();
    let client = la_core::Client::builder()
        .base_url(sim.base_url())
        .api_key(sim.api_key())
        .rate_limit(limit)
        .build()?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let done: Arc<Mutex<Vec<f64>>> = Arc::new(Mutex::new(Vec::new()));
    let errors: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..TASKS {
            let (client, id, done, errors) = (
                client.clone(),
                ticket_id.clone(),
                Arc::clone(&done),
                Arc::clone(&errors),
            );
            tasks.push(tokio::spawn(async move {
                loop {
                    match client.tickets().get_ticket(&id).send().await {
                        Ok(_) => {
                            if let Ok(mut done) = done.lock() {
                                done.push(start.elapsed().as_secs_f64());
                            }
                        }
                        Err(e) => {
                            if let Ok(mut errors) = errors.lock() {
                                errors.push(e.to_string());
                            }
                        }
                    }
                }
            }));
        }
        tokio::time::sleep(length).await;
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            let _ = task.await;
        }
    });
    drop(runtime);
    let server_429s = sim.counters().total().rate_limited;
    server_runtime.block_on(sim.shutdown());

    let rate = f64::from(LIMIT) / window.as_secs_f64();
    let length_s = length.as_secs_f64();
    let warm = window.as_secs_f64();
    let done = done.lock().map_err(|_| "poisoned")?.clone();
    let errors = errors.lock().map_err(|_| "poisoned")?.clone();
    if let Some(first) = errors.first() {
        println!("  {} errors, the first: {first}", errors.len());
    }
    let in_run = done.iter().filter(|t| **t <= length_s).count() as f64;
    let steady = done
        .iter()
        .filter(|t| **t > warm && **t <= length_s)
        .count() as f64;
    Ok(Outcome {
        steady_utilisation: steady / ((length_s - warm) * rate),
        pace_utilisation: steady / ((length_s - warm) * pace),
        total_utilisation: in_run / (f64::from(client_burst) + length_s * rate),
        achieved_per_second: steady / (length_s - warm),
        server_429s,
        errors: errors.len(),
    })
}

fn main() -> Result<()> {
    let bench = is_bench_run();
    let rounds: usize = env_or("BENCH_ROUNDS", if bench { 3 } else { 1 });
    let seconds: f64 = env_or("BENCH_SECS", if bench { 30.0 } else { 3.0 });
    let window = if bench {
        Duration::from_secs(6)
    } else {
        Duration::from_secs(1)
    };
    let client_burst = la_core::RateLimit::new(LIMIT, window)?.burst_size();
    println!("machine: {}", machine());
    // The simulator's own default burst for a limit is the whole limit; the stricter setting
    // gives it the client's burst, so that any jitter in arrival times shows up as 429s.
    let server_bursts: Vec<u32> = match std::env::var("BENCH_SERVER_BURST") {
        Ok(value) => vec![value.parse()?],
        Err(_) => vec![LIMIT, client_burst],
    };
    for server_burst in server_bursts {
        println!();
        println!(
            "{TASKS} tasks, {LIMIT} requests per {} s on both sides (client burst {client_burst}, \
             server burst {server_burst}), {seconds} s per run; steady state counted after the first window",
            window.as_secs_f64()
        );
        let mut steady = Vec::new();
        let mut paced = Vec::new();
        let mut total = Vec::new();
        let mut rejected = Vec::new();
        for round in 0..rounds {
            let outcome = run(window, Duration::from_secs_f64(seconds), server_burst)?;
            println!(
                "run {}: {:.2} requests/s of {:.2} allowed: steady-state utilisation {:.2}% \
                 ({:.2}% of the limiter's pace), whole run (burst included) {:.2}%, server 429s \
                 {}, client errors {}",
                round + 1,
                outcome.achieved_per_second,
                f64::from(LIMIT) / window.as_secs_f64(),
                outcome.steady_utilisation * 100.0,
                outcome.pace_utilisation * 100.0,
                outcome.total_utilisation * 100.0,
                outcome.server_429s,
                outcome.errors
            );
            steady.push(outcome.steady_utilisation);
            paced.push(outcome.pace_utilisation);
            total.push(outcome.total_utilisation);
            rejected.push(outcome.server_429s as f64);
        }
        println!(
            "median of {rounds} (server burst {server_burst}): steady-state utilisation {:.2}% \
             ({:.2}% of the limiter's pace), whole run {:.2}%, server 429s {} (max {})",
            median(&steady) * 100.0,
            median(&paced) * 100.0,
            median(&total) * 100.0,
            median(&rejected),
            rejected.iter().copied().fold(0.0, f64::max)
        );
    }
    Ok(())
}
