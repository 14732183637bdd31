//! What the shared rate limiter costs, against a real `redis-server` started on 127.0.0.1.
//!
//! ```text
//! cargo bench -p la-core --features redis-limiter --bench redis_limiter
//! ```
//!
//! 1. Added latency per `acquire` (p50, p99, mean) of the Redis limiter next to the local one,
//!    with a limit so high that no token is ever refused: one task, then 8 tasks at once.
//! 2. Utilisation: 8 clients, each with its own Redis limiter for one key, sending as fast as
//!    the limit allows for a few seconds; requests sent against the token bucket's budget.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

#[path = "../tests/support/redis_server.rs"]
mod redis_server;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use la_core::stack::rate_limit::LocalLimiter;
use la_core::stack::redis_limiter::RedisLimiter;
use la_core::{Body, Client, Limiter, Method, RateLimit, Request};
use redis_server::RedisServer;

const KEY: &str = "bench-api-key";
const SEQUENTIAL: usize = 20_000;
const CONCURRENT_TASKS: usize = 8;
const PER_TASK: usize = 5_000;

fn unlimited() -> RateLimit {
    RateLimit::new(1_000_000_000, Duration::from_secs(1))
        .unwrap()
        .burst(1_000_000)
        .unwrap()
}

struct Summary {
    p50: Duration,
    p99: Duration,
    mean: Duration,
    per_second: f64,
}

fn summarise(mut samples: Vec<Duration>, wall: Duration) -> Summary {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    let total: Duration = samples.iter().sum();
    Summary {
        p50: at(0.50),
        p99: at(0.99),
        mean: total / samples.len() as u32,
        per_second: samples.len() as f64 / wall.as_secs_f64(),
    }
}

fn show(name: &str, s: &Summary) {
    println!(
        "| {name} | {:.2} µs | {:.2} µs | {:.2} µs | {:.0} |",
        s.p50.as_secs_f64() * 1e6,
        s.p99.as_secs_f64() * 1e6,
        s.mean.as_secs_f64() * 1e6,
        s.per_second
    );
}

async fn sequential(limiter: &dyn Limiter) -> Summary {
    for _ in 0..1_000 {
        limiter.acquire().await.unwrap();
    }
    let mut samples = Vec::with_capacity(SEQUENTIAL);
    let wall = Instant::now();
    for _ in 0..SEQUENTIAL {
        let started = Instant::now();
        limiter.acquire().await.unwrap();
        samples.push(started.elapsed());
    }
    summarise(samples, wall.elapsed())
}

async fn concurrent(limiter: Arc<dyn Limiter>) -> Summary {
    let wall = Instant::now();
    let tasks: Vec<_> = (0..CONCURRENT_TASKS)
        .map(|_| {
            let limiter = Arc::clone(&limiter);
            tokio::spawn(async move {
                let mut samples = Vec::with_capacity(PER_TASK);
                for _ in 0..PER_TASK {
                    let started = Instant::now();
                    limiter.acquire().await.unwrap();
                    samples.push(started.elapsed());
                }
                samples
            })
        })
        .collect();
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await.unwrap());
    }
    summarise(samples, wall.elapsed())
}

async fn utilisation(server: &RedisServer, limit: RateLimit, clients: usize, run: Duration) {
    let sent = Arc::new(AtomicU64::new(0));
    let mut built = Vec::new();
    for _ in 0..clients {
        let limiter = RedisLimiter::builder(
            &server.url(),
            &format!("utilisation-{}", limit.requests()),
            limit,
        )
        .build()
        .await
        .unwrap();
        let counter = Arc::clone(&sent);
        let transport = tower::service_fn(move |_request: http::Request<Body>| {
            counter.fetch_add(1, Ordering::Relaxed);
            std::future::ready(Ok::<_, Infallible>(http::Response::new(Body::empty())))
        });
        built.push(
            Client::from_service(transport)
                .base_url("https://acme.ladesk.com/api/v3")
                .api_key(KEY)
                .limiter(Arc::new(limiter))
                .no_retry()
                .build()
                .unwrap(),
        );
    }
    let start = Instant::now();
    let last = Arc::new(std::sync::Mutex::new(start));
    let tasks: Vec<_> = built
        .into_iter()
        .map(|client| {
            let last = Arc::clone(&last);
            tokio::spawn(async move {
                while start.elapsed() < run {
                    client
                        .send(Request::new(Method::GET, "/ping"))
                        .await
                        .unwrap();
                    let now = Instant::now();
                    let mut last = last.lock().unwrap();
                    *last = (*last).max(now);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = *last.lock().unwrap() - start;
    let budget = f64::from(limit.burst_size())
        + f64::from(limit.requests()) * elapsed.as_secs_f64() / limit.window().as_secs_f64();
    let sent = sent.load(Ordering::Relaxed);
    println!(
        "| {clients} clients, {} per {:?}, burst {} | {:.2} s | {sent} | {budget:.1} | {:.1}% |",
        limit.requests(),
        limit.window(),
        limit.burst_size(),
        elapsed.as_secs_f64(),
        100.0 * sent as f64 / budget
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then only check it runs.
    let quick = !std::env::args().any(|a| a == "--bench");
    let Some(server) = RedisServer::start("the redis_limiter benchmark") else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let local = Arc::new(LocalLimiter::new(unlimited()));
        let redis = Arc::new(
            RedisLimiter::builder(&server.url(), KEY, unlimited())
                .build()
                .await
                .unwrap(),
        );
        println!("## acquire latency ({SEQUENTIAL} sequential; {CONCURRENT_TASKS} tasks × {PER_TASK} concurrent)");
        println!();
        println!("| limiter | p50 | p99 | mean | acquires/s |");
        println!("|---|---|---|---|---|");
        show("local, 1 task", &sequential(local.as_ref()).await);
        show("Redis, 1 task", &sequential(redis.as_ref()).await);
        show("local, 8 tasks", &concurrent(local).await);
        show("Redis, 8 tasks (one shared connection)", &concurrent(redis).await);
        println!();
        println!("## utilisation");
        println!();
        println!("| setup | elapsed | requests | budget | utilisation |");
        println!("|---|---|---|---|---|");
        let run = if quick {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(10)
        };
        let fast = RateLimit::new(100, Duration::from_secs(1))
            .unwrap()
            .burst(5)
            .unwrap();
        utilisation(&server, fast, 8, run).await;
        let liveagent_scaled = RateLimit::new(20, Duration::from_secs(1))
            .unwrap()
            .burst(5)
            .unwrap();
        utilisation(&server, liveagent_scaled, 8, run).await;
    });
}
