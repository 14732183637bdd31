//! Requests per second against a 100,000-ticket store with many concurrent clients.
//!
//! Run with `cargo test --release -p la-mock --test throughput -- --ignored --nocapture`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use la_mock::Simulator;

async fn measure(
    sim: &Simulator,
    label: &str,
    paths: Arc<Vec<String>>,
    clients: usize,
    duration: Duration,
) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(4)
            .build()
            .unwrap();
        let key = sim.api_key().to_string();
        let base = sim.base_url().to_string();
        let paths = paths.clone();
        let done = done.clone();
        let errors = errors.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = c;
            while Instant::now() < deadline {
                let path = &paths[i % paths.len()];
                i += clients;
                match http
                    .get(format!("{base}{path}"))
                    .header("apikey", &key)
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let n = done.load(Ordering::Relaxed);
    let rps = n as f64 / duration.as_secs_f64();
    println!(
        "{label}: {n} requests in {duration:?} with {clients} clients = {rps:.0} req/s ({} errors)",
        errors.load(Ordering::Relaxed)
    );
    assert_eq!(errors.load(Ordering::Relaxed), 0);
    rps
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly in release mode"]
async fn throughput_100k_store() {
    let started = Instant::now();
    let sim = Simulator::builder()
        .seed(3)
        .tickets(100_000)
        .no_rate_limit()
        .start()
        .await
        .unwrap();
    println!("seeded 100,000 tickets in {:?}", started.elapsed());
    let secs = Duration::from_secs(5);
    let ping = Arc::new(vec!["/ping".to_string()]);
    measure(&sim, "GET /ping (HTTP floor)", ping, 64, secs).await;
    let list = Arc::new(vec!["/tickets?_perPage=10".to_string()]);
    measure(&sim, "GET /tickets?_perPage=10", list, 64, secs).await;
    use base64::Engine;
    let cursors: Vec<String> = (0..1000u64)
        .map(|i| {
            let c = base64::engine::general_purpose::STANDARD
                .encode(format!(r#"{{"id":"{}"}}"#, i * 97 + 1));
            format!(
                "/grid/tickets?_perPage=10&_cursor={}",
                c.replace('=', "%3D")
            )
        })
        .collect();
    measure(
        &sim,
        "GET /grid/tickets cursor page",
        Arc::new(cursors),
        64,
        secs,
    )
    .await;
    let deep = Arc::new(vec!["/tickets?_perPage=10&_page=9000".to_string()]);
    measure(&sim, "GET /tickets?_page=9000 (deep page)", deep, 64, secs).await;
}
