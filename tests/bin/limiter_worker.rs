//! One worker process of the shared rate limiter's system test (`tests/redis_limiter.rs`).
//!
//! It builds `--clients` clients, each with its own `RedisLimiter` for the same API key, waits
//! until the wall-clock instant `--start-at-us` (microseconds since the Unix epoch), then sends
//! `GET /ping` from every client in a loop until `--run-ms` have passed, and prints one JSON
//! line with what it achieved.
//!
//! ```text
//! LIVEAGENT_API_KEY=... limiter-worker --base-url http://127.0.0.1:PORT/api/v3 \
//!     --redis-url redis://127.0.0.1:PORT --clients 8 --requests 40 --window-ms 1000 --burst 5 \
//!     --start-at-us 1700000000000000 --run-ms 4000
//! ```
//!
//! The API key comes from the environment (`LIVEAGENT_API_KEY`), not from the arguments, so it
//! never shows in a process list.

#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use liveagent::client::ENV_API_KEY;
use liveagent::{Client, Method, RateLimit, RedisLimiter, Request, StatusCode};

/// The command line.
struct Args {
    base_url: String,
    redis_url: String,
    clients: usize,
    requests: u32,
    window: Duration,
    burst: u32,
    start_at_us: u64,
    run: Duration,
}

/// What one client achieved.
#[derive(Default)]
struct Tally {
    ok: u64,
    rate_limited: u64,
    errors: u64,
    last_done_us: u64,
    first_error: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut values = std::collections::HashMap::new();
    let mut args = std::env::args().skip(1);
    while let Some(name) = args.next() {
        let name = name
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument {name:?}"))?
            .to_owned();
        let value = args
            .next()
            .ok_or_else(|| format!("--{name} needs a value"))?;
        values.insert(name, value);
    }
    let mut take = |name: &str| {
        values
            .remove(name)
            .ok_or_else(|| format!("--{name} is required"))
    };
    fn number<T: std::str::FromStr>(name: &str, text: String) -> Result<T, String> {
        text.parse()
            .map_err(|_| format!("--{name} must be a number, not {text:?}"))
    }
    Ok(Args {
        base_url: take("base-url")?,
        redis_url: take("redis-url")?,
        clients: number("clients", take("clients")?)?,
        requests: number("requests", take("requests")?)?,
        window: Duration::from_millis(number("window-ms", take("window-ms")?)?),
        burst: number("burst", take("burst")?)?,
        start_at_us: number("start-at-us", take("start-at-us")?)?,
        run: Duration::from_millis(number("run-ms", take("run-ms")?)?),
    })
}

fn unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

async fn run() -> Result<String, String> {
    let args = parse_args()?;
    let key = std::env::var(ENV_API_KEY).map_err(|_| format!("{ENV_API_KEY} is not set"))?;
    let limit = RateLimit::new(args.requests, args.window)
        .and_then(|l| l.burst(args.burst))
        .map_err(|e| e.to_string())?;
    let mut clients = Vec::new();
    let mut limiters = Vec::new();
    for _ in 0..args.clients {
        let limiter = RedisLimiter::builder(&args.redis_url, &key, limit)
            .build()
            .await
            .map_err(|e| e.to_string())?;
        let client = Client::builder()
            .base_url(&args.base_url)
            .api_key(key.clone())
            .limiter(Arc::new(limiter.clone()))
            .no_retry()
            .build()
            .map_err(|e| e.to_string())?;
        limiters.push(limiter);
        clients.push(client);
    }
    let stop_at_us = args
        .start_at_us
        .saturating_add(u64::try_from(args.run.as_micros()).unwrap_or(u64::MAX));
    let now = unix_us();
    if now < args.start_at_us {
        tokio::time::sleep(Duration::from_micros(args.start_at_us - now)).await;
    }
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|client| {
            tokio::spawn(async move {
                let mut tally = Tally::default();
                while unix_us() < stop_at_us {
                    let outcome = client.send(Request::new(Method::GET, "/ping")).await;
                    match outcome {
                        Ok(response) if response.status().is_success() => tally.ok += 1,
                        Ok(response) if response.status() == StatusCode::TOO_MANY_REQUESTS => {
                            tally.rate_limited += 1
                        }
                        Ok(response) => {
                            tally.errors += 1;
                            tally
                                .first_error
                                .get_or_insert_with(|| format!("status {}", response.status()));
                        }
                        Err(error) => {
                            tally.errors += 1;
                            tally.first_error.get_or_insert_with(|| error.to_string());
                        }
                    }
                    tally.last_done_us = unix_us();
                }
                tally
            })
        })
        .collect();
    let mut total = Tally::default();
    for task in tasks {
        let tally = task
            .await
            .map_err(|e| format!("a client task failed: {e}"))?;
        total.ok += tally.ok;
        total.rate_limited += tally.rate_limited;
        total.errors += tally.errors;
        total.last_done_us = total.last_done_us.max(tally.last_done_us);
        if total.first_error.is_none() {
            total.first_error = tally.first_error;
        }
    }
    let (mut redis_failures, mut policy_decisions) = (0, 0);
    for limiter in &limiters {
        let stats = limiter.stats();
        redis_failures += stats.redis_failures;
        policy_decisions += stats.policy_decisions;
    }
    Ok(serde_json::json!({
        "clients": args.clients,
        "ok": total.ok,
        "rate_limited": total.rate_limited,
        "errors": total.errors,
        "first_error": total.first_error,
        "start_at_us": args.start_at_us,
        "last_done_us": total.last_done_us,
        "redis_failures": redis_failures,
        "policy_decisions": policy_decisions,
    })
    .to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("limiter-worker: {error}");
            ExitCode::FAILURE
        }
    }
}
