//! Heavy load: many tasks sharing one client under the rate limit, and ten thousand requests
//! at high concurrency with memory, descriptors and tasks checked before and after.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use la_mock::{RateLimit as ServerLimit, Simulator};
use liveagent::RateLimit;
use liveagent::prelude::*;
use liveagent_tests::reliability::{mib, open_fds, record, row, status_kib};
use liveagent_tests::{builder_for, simulator};

const BINARY: &str = "reliability_load";

/// Held by each test of this file for its whole run. The leak check counts the descriptors of
/// the whole process, so under plain `cargo test`, where the tests of a file share one process
/// and run at once, another test's sockets would count as leaked; this makes them take turns
/// (under nextest, a test per process, it is never contended).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_tasks_share_the_rate_limit_without_a_429() {
    let _turn = ONE_AT_A_TIME.lock().await;
    const TASKS: usize = 500;
    const LIMIT: u32 = 180;
    const WINDOW: Duration = Duration::from_secs(3);
    // The client's bucket is much shallower than the server's (which holds `LIMIT`): the client
    // never sends faster than the server refills, so even requests that arrive bunched up by
    // the network find room. A client burst as deep as the server's would leave no room for
    // that jitter once both buckets are drained.
    const CLIENT_BURST: u32 = 10;
    let sim = Simulator::builder()
        .tickets(3)
        .rate_limit(ServerLimit::new(LIMIT, WINDOW))
        .start()
        .await
        .unwrap();
    let limit = RateLimit::new(LIMIT, WINDOW)
        .unwrap()
        .burst(CLIENT_BURST)
        .unwrap();
    let client = builder_for(&sim).rate_limit(limit).build().unwrap();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(TASKS);
    for _ in 0..TASKS {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let result = client.default_api().ping().send().await;
            (result.is_ok(), started.elapsed())
        }));
    }
    let mut errors = 0;
    let mut last = Duration::ZERO;
    for task in tasks {
        let (ok, at) = task.await.unwrap();
        errors += usize::from(!ok);
        last = last.max(at);
    }
    let counts = sim.counters().operation("ping");
    // After the burst, the limiter's pace allows `allowed` requests per second: a little under
    // LIMIT per WINDOW, since the burst and the jitter margin fit inside the window's LIMIT.
    let allowed = 1.0 / limit.interval().as_secs_f64();
    let achieved = (counts.handled as f64 - f64::from(CLIENT_BURST)) / last.as_secs_f64();
    let share = achieved / allowed;
    record(
        BINARY,
        "five_hundred_tasks_share_the_rate_limit_without_a_429",
        &[row(
            "Rate limit",
            1,
            "500 tasks, one client and its clones",
            format!(
                "server: {LIMIT} requests per {WINDOW:?}, burst {LIMIT}; client: the same limit, \
                 burst {CLIENT_BURST}; each task sends one `ping`"
            ),
            TASKS as u64,
            format!(
                "{} answered, {} 429s from the server, {errors} errors; {:.2} req/s after the \
                 burst against {allowed:.0} allowed ({:.1}%); last answer after {:.2} s",
                counts.handled,
                counts.rate_limited,
                achieved,
                share * 100.0,
                last.as_secs_f64()
            ),
        )],
    );
    assert_eq!(errors, 0);
    assert_eq!(counts.rate_limited, 0, "no 429 from the server");
    assert_eq!(counts.handled, TASKS as u64);
    // The pace is an upper bound however late the tasks run, so it is checked tightly (2% for
    // the timer's resolution over a few seconds); how much of it is used depends on the
    // scheduler, so the lower bound is loose enough for a machine whose cores are all busy
    // elsewhere, and still fails a limiter that lets tasks wait on one another's turns.
    assert!(
        share >= 0.6,
        "achieved only {achieved:.2} req/s of {allowed:.2}"
    );
    assert!(share <= 1.02, "faster than the limit: {achieved:.2} req/s");
}

/// Sends `count` `getTicket` calls, `concurrency` at a time, each in its own task; returns the
/// number of errors.
async fn batch(client: &Client, count: usize, concurrency: usize) -> usize {
    futures_util::stream::iter(0..count)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let id = (i % 100 + 1).to_string();
                client.tickets().get_ticket(id).send().await.is_ok()
            })
        })
        .buffer_unordered(concurrency)
        .filter(|done| std::future::ready(!matches!(done, Ok(true))))
        .count()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_requests_leak_nothing() {
    let _turn = ONE_AT_A_TIME.lock().await;
    const CONCURRENCY: usize = 256;
    let metrics = tokio::runtime::Handle::current().metrics();
    let sim = simulator(100).await;
    let fds_before = open_fds();
    let tasks_before = metrics.num_alive_tasks();
    let client = builder_for(&sim).build().unwrap();

    let started = Instant::now();
    let mut errors = batch(&client, 1_000, CONCURRENCY).await;
    let rss_1k = status_kib("VmRSS").unwrap_or(0);
    let hwm_1k = status_kib("VmHWM").unwrap_or(0);
    let fds_busy = open_fds();
    errors += batch(&client, 9_000, CONCURRENCY).await;
    let elapsed = started.elapsed();
    let rss_10k = status_kib("VmRSS").unwrap_or(0);
    let hwm_10k = status_kib("VmHWM").unwrap_or(0);
    let handled = sim.counters().operation("getTicket").handled;

    drop(client);
    let settled = Instant::now();
    let (mut fds_after, mut tasks_after) = (open_fds(), metrics.num_alive_tasks());
    while (fds_after > fds_before || tasks_after > tasks_before)
        && settled.elapsed() < Duration::from_secs(5)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
        fds_after = open_fds();
        tasks_after = metrics.num_alive_tasks();
    }
    let settle = settled.elapsed();
    let tried = format!(
        "`getTicket` through one client, {CONCURRENCY} in flight, no rate limit; simulator in \
         the same process"
    );
    record(
        BINARY,
        "ten_thousand_requests_leak_nothing",
        &[
            row(
                "Load",
                1,
                "10,000 requests at 256 concurrency",
                tried.clone(),
                10_000,
                format!(
                    "{errors} errors, {handled} answered; {:.1} s ({:.0} req/s, debug build)",
                    elapsed.as_secs_f64(),
                    10_000.0 / elapsed.as_secs_f64()
                ),
            ),
            row(
                "Load",
                2,
                "memory",
                "VmHWM (peak RSS) and VmRSS from /proc/self/status after 1,000 and after 10,000 \
                 requests",
                10_000,
                format!(
                    "peak {} after 1k, {} after 10k (+{}); RSS {} after 1k, {} after 10k",
                    mib(hwm_1k),
                    mib(hwm_10k),
                    mib(hwm_10k.saturating_sub(hwm_1k)),
                    mib(rss_1k),
                    mib(rss_10k)
                ),
            ),
            row(
                "Load",
                3,
                "sockets and tasks after the client is dropped",
                "/proc/self/fd entries and tokio's alive tasks: before the client, during the \
                 run, after dropping it",
                1,
                format!(
                    "descriptors {fds_before} before, {fds_busy} busy, {fds_after} after; tasks \
                     {tasks_before} before, {tasks_after} after; settled in {} ms",
                    settle.as_millis()
                ),
            ),
        ],
    );
    assert_eq!(errors, 0);
    assert_eq!(handled, 10_000);
    assert!(
        fds_after <= fds_before,
        "{fds_after} descriptors, {fds_before} before"
    );
    assert!(
        tasks_after <= tasks_before,
        "{tasks_after} tasks, {tasks_before} before"
    );
    // Flat: the first thousand requests reach the working set; the next nine thousand add
    // little to it.
    assert!(
        hwm_10k.saturating_sub(hwm_1k) < 32 * 1024,
        "peak RSS grew from {hwm_1k} KiB to {hwm_10k} KiB"
    );
}
