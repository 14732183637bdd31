#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The client-side rate limiter: its pace, its sharing, its modes and its place in the stack.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{CountingLimiter, Double, Reply};
use la_core::stack::rate_limit::{BoxFuture, Denied, LocalLimiter};
use la_core::{Error, Limiter, Method, RateLimit, RateLimitMode, Request, TimeoutKind};
use tokio::time::Instant;

fn get() -> Request {
    Request::new(Method::GET, "/tickets")
}

/// 60 per minute (one per second) with a burst of 2.
fn one_per_second_burst_two() -> RateLimit {
    RateLimit::per_minute(60).unwrap().burst(2).unwrap()
}

/// Asserts that no window of `window` holds more than `max` of the instants.
fn assert_at_most_per_window(times: &[Instant], max: usize, window: Duration) {
    for (i, start) in times.iter().enumerate() {
        let inside = times[i..].iter().filter(|t| **t - *start < window).count();
        assert!(
            inside <= max,
            "{inside} requests within {window:?} starting at request {i}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_limiter_holds_the_rate() {
    let double = Double::always(Reply::json("{}"));
    let client = double
        .builder()
        .rate_limit(one_per_second_burst_two())
        .build()
        .unwrap();
    let start = Instant::now();
    for _ in 0..10 {
        let _: serde_json::Value = client.execute(get()).await.unwrap();
    }
    let elapsed = start.elapsed();
    // Two at once, then one per second: the tenth goes out after 8 seconds.
    assert!(elapsed >= Duration::from_secs(8), "took only {elapsed:?}");
    assert!(elapsed < Duration::from_secs(9), "took {elapsed:?}");
    let times: Vec<Instant> = double.seen().iter().map(|s| s.at).collect();
    assert_eq!(times.len(), 10);
    // The steady pace: at most one request per second after the burst, so at most 3 per 2 s.
    assert_at_most_per_window(&times, 3, Duration::from_secs(2));
    assert_at_most_per_window(&times[2..], 1, Duration::from_millis(999));
}

#[tokio::test(start_paused = true)]
async fn clones_share_one_limiter() {
    let double = Double::always(Reply::json("{}"));
    let client = double
        .builder()
        .rate_limit(one_per_second_burst_two())
        .build()
        .unwrap();
    let run = |client: la_core::Client| async move {
        for _ in 0..5 {
            let _: serde_json::Value = client.execute(get()).await.unwrap();
        }
    };
    let start = Instant::now();
    tokio::join!(run(client.clone()), run(client.clone()));
    let elapsed = start.elapsed();
    // Ten requests in all; separate limiters would finish after 3 seconds.
    assert!(elapsed >= Duration::from_secs(8), "took only {elapsed:?}");
    assert!(elapsed < Duration::from_secs(9), "took {elapsed:?}");
    let times: Vec<Instant> = double.seen().iter().map(|s| s.at).collect();
    assert_eq!(times.len(), 10);
    assert_at_most_per_window(&times, 3, Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn one_limiter_can_be_shared_by_two_clients() {
    let limiter: Arc<dyn Limiter> = Arc::new(LocalLimiter::new(one_per_second_burst_two()));
    let double = Double::always(Reply::json("{}"));
    let first = double.builder().limiter(limiter.clone()).build().unwrap();
    let second = double.builder().limiter(limiter).build().unwrap();
    let start = Instant::now();
    for client in [&first, &second, &first, &second, &first, &second] {
        let _: serde_json::Value = client.execute(get()).await.unwrap();
    }
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_secs(4), "took only {elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

#[tokio::test(start_paused = true)]
async fn fail_fast_mode_returns_rate_limited_with_retry_after() {
    let double = Double::always(Reply::json("{}"));
    let client = double
        .builder()
        .rate_limit(RateLimit::per_minute(2).unwrap().burst(1).unwrap())
        .rate_limit_mode(RateLimitMode::FailFast)
        .build()
        .unwrap();
    let _: serde_json::Value = client.execute(get()).await.unwrap();
    let start = Instant::now();
    let err = client
        .execute::<serde_json::Value>(get())
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::ZERO, "fail-fast mode waited");
    match &err {
        Error::RateLimited {
            retry_after,
            context,
            ..
        } => {
            assert!(*retry_after > Duration::from_secs(29), "{retry_after:?}");
            assert!(*retry_after <= Duration::from_secs(30), "{retry_after:?}");
            assert_eq!(context.path, "/api/v3/tickets");
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(err.is_rate_limited());
    assert_eq!(
        double.calls(),
        1,
        "the refused request reached the transport"
    );

    // Once the interval has passed, a request goes out again.
    tokio::time::advance(Duration::from_secs(30)).await;
    let _: serde_json::Value = client.execute(get()).await.unwrap();
    assert_eq!(double.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn every_retry_attempt_spends_a_token() {
    let limiter = CountingLimiter::new();
    let double = Double::sequence(vec![
        Reply::status(503),
        Reply::status(503),
        Reply::json("{}"),
    ]);
    let client = double.builder().limiter(limiter.clone()).build().unwrap();
    let _: serde_json::Value = client.execute(get()).await.unwrap();
    assert_eq!(double.calls(), 3);
    assert_eq!(limiter.count(), 3);
}

/// A limiter that refuses the first `refusals` requests, asking to wait `wait` each time.
#[derive(Debug)]
struct Stingy {
    refusals: usize,
    wait: Duration,
    asked: AtomicUsize,
}

impl Limiter for Stingy {
    fn acquire(&self) -> BoxFuture<'_, Result<(), Denied>> {
        let n = self.asked.fetch_add(1, Ordering::SeqCst);
        let answer = if n < self.refusals {
            Err(Denied {
                retry_after: self.wait,
            })
        } else {
            Ok(())
        };
        Box::pin(std::future::ready(answer))
    }
}

#[tokio::test(start_paused = true)]
async fn wait_mode_sleeps_for_what_the_limiter_says_and_asks_again() {
    let limiter = Arc::new(Stingy {
        refusals: 2,
        wait: Duration::from_millis(1500),
        asked: AtomicUsize::new(0),
    });
    let double = Double::always(Reply::json("{}"));
    let client = double.builder().limiter(limiter.clone()).build().unwrap();
    let start = Instant::now();
    let _: serde_json::Value = client.execute(get()).await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert!(
        start.elapsed() < Duration::from_millis(3100),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(limiter.asked.load(Ordering::SeqCst), 3);
    assert_eq!(double.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn waiting_for_the_limiter_counts_toward_the_total_timeout() {
    let double = Double::always(Reply::json("{}"));
    let client = double
        .builder()
        .rate_limit(RateLimit::per_minute(1).unwrap())
        .total_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let _: serde_json::Value = client.execute(get()).await.unwrap();
    let start = Instant::now();
    let err = client
        .execute::<serde_json::Value>(get())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                kind: TimeoutKind::Total,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        start.elapsed() >= Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(
        start.elapsed() < Duration::from_millis(5010),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(double.calls(), 1);
}

/// A limiter that decides at once: its answers for `try_acquire_now` and for `acquire` come from
/// two scripts (a grant once a script is used up), and it counts how often each was asked.
#[derive(Debug, Default)]
struct Scripted {
    now: std::sync::Mutex<Vec<Result<(), Denied>>>,
    later: std::sync::Mutex<Vec<Result<(), Denied>>>,
    asked_now: AtomicUsize,
    asked_later: AtomicUsize,
}

impl Scripted {
    fn new(now: Vec<Result<(), Denied>>, later: Vec<Result<(), Denied>>) -> Arc<Self> {
        // The scripts are popped from the end.
        let reversed = |mut v: Vec<_>| {
            v.reverse();
            std::sync::Mutex::new(v)
        };
        Arc::new(Self {
            now: reversed(now),
            later: reversed(later),
            ..Self::default()
        })
    }

    fn asked(&self) -> (usize, usize) {
        (
            self.asked_now.load(Ordering::SeqCst),
            self.asked_later.load(Ordering::SeqCst),
        )
    }
}

impl Limiter for Scripted {
    fn acquire(&self) -> BoxFuture<'_, Result<(), Denied>> {
        self.asked_later.fetch_add(1, Ordering::SeqCst);
        let answer = self.later.lock().unwrap().pop().unwrap_or(Ok(()));
        Box::pin(std::future::ready(answer))
    }

    fn try_acquire_now(&self) -> Option<Result<(), Denied>> {
        self.asked_now.fetch_add(1, Ordering::SeqCst);
        Some(self.now.lock().unwrap().pop().unwrap_or(Ok(())))
    }
}

fn denied(ms: u64) -> Result<(), Denied> {
    Err(Denied {
        retry_after: Duration::from_millis(ms),
    })
}

#[tokio::test(start_paused = true)]
async fn a_limiter_that_decides_at_once_is_asked_once_per_attempt_when_it_grants() {
    let limiter = Scripted::new(vec![], vec![]);
    let double = Double::sequence(vec![Reply::status(503), Reply::json("{}")]);
    let client = double.builder().limiter(limiter.clone()).build().unwrap();
    let _: serde_json::Value = client.execute(get()).await.unwrap();
    assert_eq!(double.calls(), 2);
    assert_eq!(limiter.asked(), (2, 0), "(asked at once, asked to acquire)");
}

#[tokio::test(start_paused = true)]
async fn after_an_immediate_denial_wait_mode_sleeps_then_asks_through_acquire() {
    let limiter = Scripted::new(vec![denied(1500)], vec![denied(1000)]);
    let double = Double::always(Reply::json("{}"));
    let client = double.builder().limiter(limiter.clone()).build().unwrap();
    let start = Instant::now();
    let _: serde_json::Value = client.execute(get()).await.unwrap();
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(2500), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(2600), "{elapsed:?}");
    assert_eq!(limiter.asked(), (1, 2));
    assert_eq!(double.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn after_an_immediate_denial_fail_fast_mode_fails_without_calling_the_server() {
    let limiter = Scripted::new(vec![denied(700)], vec![]);
    let double = Double::always(Reply::json("{}"));
    let client = double.fail_fast_client(limiter.clone());
    let err = client
        .execute::<serde_json::Value>(get())
        .await
        .unwrap_err();
    match &err {
        Error::RateLimited { retry_after, .. } => {
            assert_eq!(*retry_after, Duration::from_millis(700));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(err.to_string().contains("GET /api/v3/tickets"), "{err}");
    assert_eq!(limiter.asked(), (1, 0));
    assert_eq!(double.calls(), 0);
}
