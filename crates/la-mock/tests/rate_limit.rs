//! The per-key rate limit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use la_mock::{RateLimit, RateLimitAlgorithm, Simulator};
use reqwest::StatusCode;

async fn ping(sim: &Simulator, key: &str) -> reqwest::Response {
    client()
        .get(sim.url("/ping"))
        .header("apikey", key)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn burst_then_429_with_retry_after() {
    let sim = small()
        .api_key("key-one-1")
        .api_key("key-two-2")
        .rate_limit(RateLimit::new(5, Duration::from_secs(10)).with_burst(3))
        .start()
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(ping(&sim, "key-one-1").await.status(), StatusCode::OK);
    }
    let r = ping(&sim, "key-one-1").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry = retry_after_secs(&r);
    assert!((1..=2).contains(&retry), "retry after {retry}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("rate limit"));
    // Another key has its own bucket.
    assert_eq!(ping(&sim, "key-two-2").await.status(), StatusCode::OK);
    let c = sim.counters();
    assert_eq!(c.operation("ping").rate_limited, 1);
    assert_eq!(c.operation("ping").received, 5);
    assert_eq!(c.operation("ping").handled, 4);
}

#[tokio::test]
async fn default_is_180_per_minute() {
    let sim = Simulator::builder().tickets(5).start().await.unwrap();
    assert_eq!(sim.rate_limit(), Some(RateLimit::per_minute(180)));
    let key = sim.api_key().to_string();
    let c = client();
    let mut ok = 0;
    for _ in 0..180 {
        let r = c
            .get(sim.url("/ping"))
            .header("apikey", &key)
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::OK {
            ok += 1;
        }
    }
    assert_eq!(ok, 180);
    // The bucket refills one request every 1/3 s, so allow for a few refills while the loop ran.
    let mut limited = None;
    for _ in 0..20 {
        let r = ping(&sim, &key).await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("a 429 right after the burst");
    assert!(r.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn runtime_changes_and_refill() {
    let sim = small()
        .rate_limit(RateLimit::new(1, Duration::from_secs(1)).with_burst(1))
        .start()
        .await
        .unwrap();
    let key = sim.api_key().to_string();
    assert_eq!(ping(&sim, &key).await.status(), StatusCode::OK);
    assert_eq!(
        ping(&sim, &key).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    tokio::time::sleep(Duration::from_millis(1050)).await;
    assert_eq!(ping(&sim, &key).await.status(), StatusCode::OK);
    // Off.
    sim.set_rate_limit(None);
    for _ in 0..20 {
        assert_eq!(ping(&sim, &key).await.status(), StatusCode::OK);
    }
    // On again, with a fresh bucket.
    sim.set_rate_limit(Some(RateLimit::per_minute(2)));
    assert_eq!(ping(&sim, &key).await.status(), StatusCode::OK);
    assert_eq!(ping(&sim, &key).await.status(), StatusCode::OK);
    let r = ping(&sim, &key).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "30");
    sim.reset_rate_limits();
    assert_eq!(ping(&sim, &key).await.status(), StatusCode::OK);
}

/// The `Retry-After` of an answer, in whole seconds.
fn retry_after_secs(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Sends `n` pings with `key` one after the other; returns their statuses.
async fn statuses(sim: &Simulator, key: &str, n: usize) -> Vec<u16> {
    let mut statuses = Vec::with_capacity(n);
    for _ in 0..n {
        statuses.push(ping(sim, key).await.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn sliding_window_admits_the_limit_then_refuses_with_retry_after() {
    // A long window, so that nothing leaves it while the test runs.
    let limit =
        RateLimit::new(4, Duration::from_secs(60)).with_algorithm(RateLimitAlgorithm::Sliding);
    let sim = small().rate_limit(limit).start().await.unwrap();
    assert_eq!(
        sim.rate_limit().unwrap().algorithm,
        RateLimitAlgorithm::Sliding
    );
    let key = sim.api_key().to_string();
    assert_eq!(
        statuses(&sim, &key, 6).await,
        [200, 200, 200, 200, 429, 429]
    );
    let r = ping(&sim, &key).await;
    let retry = retry_after_secs(&r);
    // Room again when the first request leaves its 60 s window.
    assert!((55..=60).contains(&retry), "retry after {retry}");
    assert_eq!(sim.counters().operation("ping").rate_limited, 3);
}

#[tokio::test]
async fn fixed_window_admits_the_limit_per_window_and_ignores_the_burst() {
    let limit = RateLimit::new(3, Duration::from_secs(3600))
        .with_burst(1)
        .with_algorithm(RateLimitAlgorithm::Fixed);
    let sim = small().rate_limit(limit).start().await.unwrap();
    let key = sim.api_key().to_string();
    // The burst of 1 applies to GCRA only: three at once, then refused until the next window.
    assert_eq!(statuses(&sim, &key, 4).await, [200, 200, 200, 429]);
    let r = ping(&sim, &key).await;
    let retry = retry_after_secs(&r);
    assert!((3590..=3600).contains(&retry), "retry after {retry}");
    // Switching the algorithm at run time starts afresh.
    sim.set_rate_limit(Some(limit.with_algorithm(RateLimitAlgorithm::Gcra)));
    assert_eq!(statuses(&sim, &key, 2).await, [200, 429]);
}
