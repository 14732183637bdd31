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
            // (60 s + the 600 ms jitter margin) / 2, plus a nanosecond.
            assert!(*retry_after > Duration::from_secs(30), "{retry_after:?}");
            assert!(
                *retry_after <= Duration::from_millis(30_301),
                "{retry_after:?}"
            );
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
    tokio::time::advance(Duration::from_millis(30_301)).await;
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

/// Sends one call per task, `tasks` tasks at once, through a client with `limit`; returns the
/// instants at which the calls reached the transport, in order.
async fn arrivals_of_concurrent_calls(limit: RateLimit, tasks: usize) -> Vec<Instant> {
    let double = Double::always(Reply::json("{}"));
    let client = double
        .builder()
        .rate_limit(limit)
        .total_timeout(Duration::from_secs(3600))
        .build()
        .unwrap();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.execute::<serde_json::Value>(get()).await })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap().unwrap();
    }
    let mut times: Vec<Instant> = double.seen().iter().map(|s| s.at).collect();
    times.sort();
    assert_eq!(times.len(), tasks);
    times
}

/// The most instants of the sorted `times` inside one closed window of length `window`.
fn most_in_a_closed_window(times: &[Instant], window: Duration) -> usize {
    times
        .iter()
        .enumerate()
        .map(|(i, start)| {
            times[i..]
                .iter()
                .take_while(|t| **t - *start <= window)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test(start_paused = true)]
async fn no_window_holds_more_than_the_limit_burst_included() {
    let scaled = RateLimit::new(20, Duration::from_secs(1)).unwrap();
    let deep_burst = RateLimit::new(40, Duration::from_secs(2))
        .unwrap()
        .burst(10)
        .unwrap();
    for (limit, tasks) in [
        (RateLimit::default(), 400),
        (scaled, 300),
        (deep_burst, 300),
    ] {
        let times = arrivals_of_concurrent_calls(limit, tasks).await;
        let n = limit.requests() as usize;
        // The guarantee: at most N in any closed window of the window plus the jitter margin,
        // so at most N in any window of the window itself, however the server aligns it.
        let widest = limit.window() + limit.margin();
        let most = most_in_a_closed_window(&times, widest);
        assert!(most <= n, "{limit:?}: {most} requests within {widest:?}");
        assert!(
            most_in_a_closed_window(&times, limit.window()) <= n,
            "{limit:?}"
        );
        // And it costs no more than that: the burst at once, then one per interval (a burst
        // of two or more absorbs the timer's whole-millisecond wake-ups, so they do not add up).
        let b = limit.burst_size() as usize;
        assert_eq!(times[b - 1], times[0], "{limit:?}: the burst goes at once");
        let span = *times.last().unwrap() - times[0];
        let expected = limit.interval() * (tasks - b) as u32;
        assert!(
            span >= expected && span <= expected + Duration::from_millis(1),
            "{limit:?}: {span:?} for {tasks} requests, expected {expected:?}"
        );
        println!(
            "{limit:?}: {tasks} calls, at most {most} in any {widest:?}, sustained {:.2} per {:?}",
            limit.window().as_secs_f64() / limit.interval().as_secs_f64(),
            limit.window()
        );
    }
}

/// Makes `calls` calls one after the other; the longest any of them took.
async fn longest_wait(client: la_core::Client, calls: usize) -> Duration {
    let mut longest = Duration::ZERO;
    for _ in 0..calls {
        let start = Instant::now();
        let _: serde_json::Value = client.execute(get()).await.unwrap();
        longest = longest.max(start.elapsed());
    }
    longest
}

#[tokio::test(start_paused = true)]
async fn tasks_sharing_the_limit_each_wait_about_their_fair_share() {
    const TASKS: usize = 16;
    const CALLS: usize = 25;
    let limit = RateLimit::new(20, Duration::from_secs(1)).unwrap();
    let double = Double::always(Reply::json("{}"));
    let client = double.builder().rate_limit(limit).build().unwrap();
    let handles: Vec<_> = (0..TASKS)
        .map(|_| tokio::spawn(longest_wait(client.clone(), CALLS)))
        .collect();
    let mut longest = Duration::ZERO;
    for handle in handles {
        longest = longest.max(handle.await.unwrap());
    }
    // With every task always waiting for its next call, a call's fair share is one slot per
    // task: 16 intervals of the limiter's pace (about 1.05 s; 0.8 s at the nominal 20/s).
    let fair = limit.interval() * TASKS as u32;
    println!("longest wait {longest:?}, fair share {fair:?}");
    assert!(
        longest <= fair * 2,
        "a call waited {longest:?}, fair share {fair:?}"
    );
    assert_eq!(double.calls(), TASKS * CALLS);
}

#[tokio::test(start_paused = true)]
async fn waiting_calls_are_admitted_in_arrival_order() {
    // No burst, no margin: one call every 100 ms.
    let limit = RateLimit::new(10, Duration::from_secs(1))
        .unwrap()
        .burst(1)
        .unwrap()
        .jitter_margin(Duration::ZERO);
    let double = Double::always(Reply::json("{}"));
    let client = double.builder().rate_limit(limit).build().unwrap();
    let mut handles = Vec::new();
    for i in 0..12 {
        let client = client.clone();
        handles.push(tokio::spawn(async move {
            let request = get().query("n", i);
            client.execute::<serde_json::Value>(request).await
        }));
        // Each call arrives 7 ms after the previous one, well before the slot it waits for.
        tokio::time::sleep(Duration::from_millis(7)).await;
    }
    for handle in handles {
        handle.await.unwrap().unwrap();
    }
    let order: Vec<String> = double
        .seen()
        .iter()
        .map(|s| s.uri.query().unwrap_or_default().to_owned())
        .collect();
    let expected: Vec<String> = (0..12).map(|i| format!("n={i}")).collect();
    assert_eq!(order, expected);
}

#[tokio::test(start_paused = true)]
async fn a_call_dropped_while_waiting_leaves_the_line_and_takes_no_token() {
    // One call per second (and a nanosecond), no burst.
    let limit = RateLimit::new(1, Duration::from_secs(1))
        .unwrap()
        .jitter_margin(Duration::ZERO);
    let double = Double::always(Reply::json("{}"));
    let client = double.builder().rate_limit(limit).build().unwrap();
    let start = Instant::now();
    let _: serde_json::Value = client.execute(get()).await.unwrap();
    // The second call waits first in line; the third queues behind it.
    let second = {
        let client = client.clone();
        tokio::spawn(async move { client.execute::<serde_json::Value>(get()).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let third = {
        let client = client.clone();
        tokio::spawn(async move { client.execute::<serde_json::Value>(get()).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    second.abort();
    assert!(second.await.unwrap_err().is_cancelled());
    third.await.unwrap().unwrap();
    let seen = double.seen();
    assert_eq!(seen.len(), 2, "the dropped call was sent");
    // The third call took the slot the second one left: one interval after the first call
    // (tokio's timer wakes on whole milliseconds).
    let gap = seen[1].at - start;
    assert!(
        gap >= limit.interval() && gap <= limit.interval() + Duration::from_millis(1),
        "{gap:?}"
    );
}

/// The order in which a waiting call and a newcomer that arrives after the token freed, but
/// before the waiting call woke, reach the server. The newcomer uses another client sharing the
/// limiter when `other_client` is set.
async fn waiting_call_and_newcomer(other_client: bool) -> Vec<String> {
    // No burst, no margin: one call every 100 ms (and a nanosecond).
    let limit = RateLimit::new(10, Duration::from_secs(1))
        .unwrap()
        .burst(1)
        .unwrap()
        .jitter_margin(Duration::ZERO);
    let limiter: Arc<dyn Limiter> = Arc::new(LocalLimiter::new(limit));
    let double = Double::always(Reply::json("{}"));
    let first = double.builder().limiter(limiter.clone()).build().unwrap();
    let second = double.builder().limiter(limiter).build().unwrap();
    let call = |client: &la_core::Client, name: &'static str| {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .execute::<serde_json::Value>(get().query("call", name))
                .await
        })
    };
    let _: serde_json::Value = first.execute(get()).await.unwrap();
    // The waiting call asks at 10 ms and sleeps until the next slot; tokio's timer wakes it on
    // the millisecond after the slot.
    tokio::time::advance(Duration::from_millis(10)).await;
    let waiting = call(&first, "waiting");
    tokio::time::advance(Duration::from_millis(1)).await;
    // Half a millisecond after the slot opened, before the waiting call wakes, a new call comes:
    // the token is free, but the new call must take its place in line.
    tokio::time::advance(Duration::from_micros(89_500)).await;
    let newcomer = call(if other_client { &second } else { &first }, "newcomer");
    waiting.await.unwrap().unwrap();
    newcomer.await.unwrap().unwrap();
    double
        .seen()
        .iter()
        .skip(1)
        .map(|s| s.uri.query().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_new_call_does_not_overtake_a_waiting_one() {
    assert_eq!(
        waiting_call_and_newcomer(false).await,
        ["call=waiting", "call=newcomer"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_call_of_another_client_sharing_the_limiter_does_not_overtake_either() {
    assert_eq!(
        waiting_call_and_newcomer(true).await,
        ["call=waiting", "call=newcomer"]
    );
}

#[tokio::test(start_paused = true)]
async fn clients_sharing_one_limiter_share_one_line() {
    const TASKS_PER_CLIENT: usize = 8;
    const CALLS: usize = 25;
    let limit = RateLimit::new(20, Duration::from_secs(1)).unwrap();
    let limiter: Arc<dyn Limiter> = Arc::new(LocalLimiter::new(limit));
    let double = Double::always(Reply::json("{}"));
    let clients = [
        double.builder().limiter(limiter.clone()).build().unwrap(),
        double.builder().limiter(limiter).build().unwrap(),
    ];
    let mut handles = Vec::new();
    for client in &clients {
        for _ in 0..TASKS_PER_CLIENT {
            handles.push(tokio::spawn(longest_wait(client.clone(), CALLS)));
        }
    }
    let mut longest = Duration::ZERO;
    for handle in handles {
        longest = longest.max(handle.await.unwrap());
    }
    let fair = limit.interval() * (2 * TASKS_PER_CLIENT) as u32;
    assert!(
        longest <= fair * 2,
        "a call waited {longest:?}, fair share {fair:?}"
    );
    assert_eq!(double.calls(), 2 * TASKS_PER_CLIENT * CALLS);
}
