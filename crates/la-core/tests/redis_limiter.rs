#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The shared rate limiter against a real `redis-server` started by each test: the rate held by
//! many clients, Redis killed and restarted, the API key kept out of Redis, a silent Redis.
//! (Needs the `redis-limiter` feature.) A test that needs `redis-server` prints `SKIPPED:` and
//! passes when it is not installed, unless `LIVEAGENT_REQUIRE_REDIS=1` is set.
//!
//! Timings are wall-clock and must hold on a fully loaded machine: the number of requests is
//! bounded strictly from above (the limiter must never exceed it, however late anyone runs),
//! only loosely from below, and a bound on a duration tells a timeout from a hang with
//! [`SCHEDULING_SLACK`] to spare rather than measuring latency.

#![cfg(feature = "redis-limiter")]

mod common;
#[path = "support/fake_redis.rs"]
mod fake_redis;
#[path = "support/redis_server.rs"]
mod redis_server;

use std::sync::Arc;
use std::time::Duration;

use common::{Double, KEY, Reply, assert_no_key, capture_traces};
use fake_redis::FakeRedis;
use la_core::stack::rate_limit::{Denied, LocalLimiter};
use la_core::stack::redis_limiter::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_KEY_PREFIX, RedisFailure, RedisLimiter, RedisLimiterError,
};
use la_core::{Error, Limiter, Method, RateLimit, Request};
use redis_server::{RedisServer, SilentServer, free_port};
use tokio::time::Instant;

/// Room for a process that is scheduled late on a loaded machine, added to every upper bound
/// on a duration.
const SCHEDULING_SLACK: Duration = Duration::from_secs(2);

/// How late a request may reach the test double after its token was taken in Redis (the
/// pairwise check below allows this many extra requests' worth of time).
const DELIVERY_JITTER: Duration = Duration::from_millis(250);

/// The share of the budget the clients must use at least: low enough for a machine whose
/// cores are all busy with something else, high enough that clients held back by one another
/// (a token taken twice, or a wait that blocks every client) would fail.
const MIN_UTILISATION: f64 = 0.6;

fn get() -> Request {
    Request::new(Method::GET, "/tickets")
}

/// 20 requests per second, burst 5: LiveAgent's 180 per minute, scaled so a test takes seconds.
fn scaled_limit() -> RateLimit {
    RateLimit::new(20, Duration::from_secs(1))
        .unwrap()
        .burst(5)
        .unwrap()
}

/// The largest number of requests the limiter lets through in `elapsed`: the burst, then one
/// per interval (a little longer than `window / requests`, so the burst stays inside the limit).
fn budget(limit: RateLimit, elapsed: Duration) -> f64 {
    f64::from(limit.burst_size()) + elapsed.as_secs_f64() / limit.interval().as_secs_f64()
}

async fn limiter(server: &RedisServer, limit: RateLimit) -> RedisLimiter {
    RedisLimiter::builder(&server.url(), KEY, limit)
        .retry_redis_after(Duration::from_millis(100))
        .build()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_clients_with_one_key_share_the_limit() {
    let Some(server) = RedisServer::start("eight_clients_with_one_key_share_the_limit") else {
        return;
    };
    let limit = scaled_limit();
    let double = Double::always(Reply::json("{}"));
    let mut clients = Vec::new();
    for _ in 0..8 {
        // Each client has its own limiter and connection: they meet only in Redis.
        let limiter = limiter(&server, limit).await;
        clients.push(
            double
                .builder()
                .limiter(Arc::new(limiter))
                .no_retry()
                .build()
                .unwrap(),
        );
    }
    let run_for = Duration::from_secs(3);
    let start = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|client| {
            tokio::spawn(async move {
                while start.elapsed() < run_for {
                    let _: serde_json::Value = client.execute(get()).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let mut times: Vec<Instant> = double.seen().iter().map(|s| s.at).collect();
    times.sort();
    let elapsed = *times.last().unwrap() - start;
    let allowed = budget(limit, elapsed);
    let sent = times.len() as f64;
    println!(
        "8 clients, {elapsed:?}: {sent} requests, budget {allowed:.1}, utilisation {:.1}%",
        100.0 * sent / allowed
    );
    assert!(
        sent <= allowed + 1.0,
        "{sent} requests > budget {allowed:.1}"
    );
    assert!(
        sent >= MIN_UTILISATION * allowed,
        "{sent} requests < {:.0}% of {allowed:.1}",
        100.0 * MIN_UTILISATION
    );
    // The bucket holds between any two requests, not only over the whole run. A request is
    // seen a little after its token was taken, so requests whose tokens were spread over up to
    // DELIVERY_JITTER more may arrive together.
    for (i, first) in times.iter().enumerate() {
        for (j, last) in times.iter().enumerate().skip(i) {
            let count = (j - i + 1) as f64;
            let bound = budget(limit, *last - *first + DELIVERY_JITTER) + 1.0;
            assert!(
                count <= bound,
                "{count} requests within {:?}",
                *last - *first
            );
        }
    }
}

/// Connections Redis has accepted since it started (`INFO stats`).
fn connections_received(server: &RedisServer) -> u64 {
    let info = server.command("INFO stats");
    info.lines()
        .find_map(|line| line.strip_prefix("total_connections_received:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("`INFO stats` gives total_connections_received")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_started_limiter_uses_one_connection_for_its_check_and_its_decisions() {
    let Some(server) = RedisServer::start("a_started_limiter_uses_one_connection") else {
        return;
    };
    // Each `INFO` asked by the test is a connection of its own.
    let before = connections_received(&server);
    let limiter = limiter(&server, scaled_limit()).await;
    for _ in 0..3 {
        assert_eq!(limiter.acquire().await, Ok(()));
    }
    assert_eq!(limiter.stats().redis_decisions, 3);
    let after = connections_received(&server);
    assert_eq!(
        after - before,
        2,
        "the limiter's one connection and the test's second INFO"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_acquire_tells_how_long_to_wait() {
    let Some(server) = RedisServer::start("a_denied_acquire_tells_how_long_to_wait") else {
        return;
    };
    // One every 525 ms ((1 s + the 50 ms jitter margin) / 2), no burst.
    let limit = RateLimit::new(2, Duration::from_secs(1))
        .unwrap()
        .burst(1)
        .unwrap();
    // Redis keeps whole microseconds, rounded up.
    let interval = limit.interval() + Duration::from_micros(1);
    let first = limiter(&server, limit).await;
    let second = limiter(&server, limit).await;
    assert_eq!(first.acquire().await, Ok(()));
    let Err(Denied { retry_after }) = second.acquire().await else {
        panic!("the second limiter must see the first one's token");
    };
    assert!(
        retry_after > Duration::from_millis(400) && retry_after <= interval,
        "{retry_after:?}"
    );
    tokio::time::sleep(retry_after).await;
    assert_eq!(second.acquire().await, Ok(()));
    assert!(first.acquire().await.is_err());
    let stats = first.stats();
    assert_eq!(stats.redis_decisions, 2);
    assert_eq!(stats.redis_failures, 0);
    assert_eq!(stats.policy_decisions, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_falls_back_then_recovers() {
    let Some(mut server) =
        RedisServer::start("redis_killed_and_restarted_falls_back_then_recovers")
    else {
        return;
    };
    let limit = scaled_limit();
    // The fallback is much stricter, so it is visible when it decides.
    let fallback = RateLimit::new(1, Duration::from_secs(10)).unwrap();
    let limiter = RedisLimiter::builder(&server.url(), KEY, limit)
        .fallback_limit(fallback)
        .retry_redis_after(Duration::from_millis(100))
        .build()
        .await
        .unwrap();
    for _ in 0..5 {
        assert_eq!(limiter.acquire().await, Ok(()));
    }
    assert!(limiter.is_redis_healthy());
    let key = limiter.redis_key().to_owned();
    assert!(server.command(&format!("EXISTS {key}")).starts_with(":1"));

    server.kill();
    // Redis is gone: the local fallback decides (one token, then refusals), at once.
    let started = Instant::now();
    assert_eq!(limiter.acquire().await, Ok(()));
    assert!(!limiter.is_redis_healthy());
    let denied = limiter.acquire().await.unwrap_err();
    assert!(denied.retry_after > Duration::from_secs(9), "{denied:?}");
    assert!(
        started.elapsed() < SCHEDULING_SLACK,
        "{:?}",
        started.elapsed()
    );
    let stats = limiter.stats();
    assert!(stats.redis_failures >= 1, "{stats:?}");
    assert_eq!(stats.policy_decisions, 2, "{stats:?}");

    server.restart();
    // Back again: the limiter reconnects and the shared limit applies once more.
    let restarted = Instant::now();
    let deadline = restarted + Duration::from_secs(15);
    while !limiter.is_redis_healthy() {
        assert!(
            Instant::now() < deadline,
            "no recovery: {:?}",
            limiter.stats()
        );
        let _ = limiter.acquire().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("recovered {:?} after the restart", restarted.elapsed());
    assert_eq!(limiter.acquire().await, Ok(()));
    assert!(server.command(&format!("EXISTS {key}")).starts_with(":1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_deny_policy_an_outage_refuses() {
    let Some(mut server) = RedisServer::start("with_the_deny_policy_an_outage_refuses") else {
        return;
    };
    let limiter = Arc::new(
        RedisLimiter::builder(&server.url(), KEY, scaled_limit())
            .on_failure(RedisFailure::Deny)
            .retry_redis_after(Duration::from_millis(200))
            .build()
            .await
            .unwrap(),
    );
    let double = Double::always(Reply::json("{}"));
    let client = double.fail_fast_client(limiter.clone());
    let _: serde_json::Value = client.execute(get()).await.unwrap();

    server.kill();
    let err = client
        .execute::<serde_json::Value>(get())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err}");
    let retry_after = err.retry_after().unwrap();
    assert!(retry_after <= Duration::from_millis(200), "{retry_after:?}");
    let Err(denied) = limiter.acquire().await else {
        panic!("no token while Redis is down");
    };
    assert!(denied.retry_after <= Duration::from_millis(200));
    assert_eq!(double.calls(), 1);

    // A waiting client waits until the total timeout.
    let waiting = double
        .builder()
        .limiter(limiter.clone())
        .total_timeout(Duration::from_millis(600))
        .build()
        .unwrap();
    let err = waiting
        .execute::<serde_json::Value>(get())
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(double.calls(), 1);

    server.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match client.execute::<serde_json::Value>(get()).await {
            Ok(_) => break,
            Err(err) => {
                assert!(err.is_rate_limited(), "{err}");
                assert!(
                    Instant::now() < deadline,
                    "no recovery: {:?}",
                    limiter.stats()
                );
                tokio::time::sleep(err.retry_after().unwrap()).await;
            }
        }
    }
    assert!(limiter.is_redis_healthy());
    assert_eq!(double.calls(), 2);
}

#[tokio::test]
async fn the_api_key_never_reaches_redis_nor_the_logs() {
    let Some(mut server) = RedisServer::start("the_api_key_never_reaches_redis_nor_the_logs")
    else {
        return;
    };
    let (traces, _guard) = capture_traces();
    let double = Double::always(Reply::json("{}"));
    let client = double
        .builder()
        .rate_limit(scaled_limit())
        .redis_limiter(&server.url())
        .build()
        .unwrap();
    for _ in 0..3 {
        let _: serde_json::Value = client.execute(get()).await.unwrap();
    }
    let keys = server.command("KEYS *");
    assert_no_key("KEYS *", &keys);
    let expected = RedisLimiter::builder(&server.url(), KEY, scaled_limit())
        .build_lazy()
        .unwrap()
        .redis_key()
        .to_owned();
    assert!(expected.starts_with(DEFAULT_KEY_PREFIX));
    assert!(keys.contains(&expected), "{keys}");
    assert!(keys.starts_with("*1\r\n"), "one key only: {keys}");
    let value = server.command(&format!("GET {expected}"));
    assert_no_key("the stored state", &value);
    let scan = server.command("SCAN 0 COUNT 1000");
    assert_no_key("SCAN", &scan);

    // An outage is logged, without the key.
    server.kill();
    for _ in 0..3 {
        let _: serde_json::Value = client.execute(get()).await.unwrap();
    }
    let text = traces.text();
    assert!(text.contains("cannot use Redis"), "{text}");
    assert_eq!(text.matches("cannot use Redis").count(), 1, "{text}");
    assert_no_key("the traces", &text);
    assert_no_key("the client's Debug", &format!("{client:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_never_answers_is_bounded_by_the_redis_timeout() {
    let silent = SilentServer::start();
    let redis_timeout = Duration::from_millis(200);

    // build() checks the connection and gives up after the connect timeout.
    let started = Instant::now();
    let err = RedisLimiter::builder(&silent.url(), KEY, scaled_limit())
        .connect_timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(err, RedisLimiterError::Unavailable { .. }),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(300) + SCHEDULING_SLACK,
        "{:?}",
        started.elapsed()
    );

    // A lazily built limiter asks Redis, waits the Redis timeout, and lets the fallback decide.
    let limiter = RedisLimiter::builder(&silent.url(), KEY, scaled_limit())
        .redis_timeout(redis_timeout)
        .retry_redis_after(Duration::from_secs(5))
        .build_lazy()
        .unwrap();
    let started = Instant::now();
    assert_eq!(limiter.acquire().await, Ok(()));
    let first = started.elapsed();
    assert!(first >= redis_timeout, "{first:?}");
    assert!(first < redis_timeout + SCHEDULING_SLACK, "{first:?}");
    // Until Redis is asked again, requests do not wait for it: Redis fails no more times, and
    // the four together take less than the four Redis timeouts they would otherwise wait.
    let failures = limiter.stats().redis_failures;
    let started = Instant::now();
    for _ in 0..4 {
        assert_eq!(limiter.acquire().await, Ok(()));
    }
    assert!(
        started.elapsed() < 4 * redis_timeout,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        limiter.stats().redis_failures,
        failures,
        "{:?}",
        limiter.stats()
    );
    assert!(!limiter.is_redis_healthy());

    // Through a client: a request goes out after at most the Redis timeout.
    let double = Double::always(Reply::json("{}"));
    let client = double
        .builder()
        .limiter(Arc::new(
            RedisLimiter::builder(&silent.url(), KEY, scaled_limit())
                .redis_timeout(redis_timeout)
                .build_lazy()
                .unwrap(),
        ))
        .build()
        .unwrap();
    let started = Instant::now();
    let _: serde_json::Value = client.execute(get()).await.unwrap();
    assert!(
        started.elapsed() < redis_timeout + SCHEDULING_SLACK,
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_unreachable_redis_is_reported_without_the_password() {
    let url = format!("redis://user:hunter2@127.0.0.1:{}", free_port());
    let started = Instant::now();
    let err = RedisLimiter::builder(&url, KEY, scaled_limit())
        .build()
        .await
        .unwrap_err();
    // A refused connection is tried again until the connect timeout: bounded by it, not faster.
    assert!(
        started.elapsed() < DEFAULT_CONNECT_TIMEOUT + SCHEDULING_SLACK,
        "{:?}",
        started.elapsed()
    );
    let RedisLimiterError::Unavailable { url: shown, .. } = &err else {
        panic!("{err}");
    };
    assert!(shown.contains("user:***@127.0.0.1"), "{shown}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert_no_key("the error", &text);
    let as_sdk_error: Error = err.into();
    assert!(!as_sdk_error.to_string().contains("hunter2"));

    // The builder of the client refuses an invalid URL without showing it.
    let err = Double::always(Reply::json("{}"))
        .builder()
        .redis_limiter("redis://:hunter2@[not-a-host")
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[tokio::test]
async fn the_local_limiter_stays_the_default() {
    let double = Double::always(Reply::json("{}"));
    let builder = double.builder().rate_limit(scaled_limit());
    assert!(!format!("{builder:?}").contains("RedisLimiter"));
    // Redis settings are dropped by a later choice of limiter.
    let builder = double
        .builder()
        .redis_limiter("redis://127.0.0.1:1")
        .limiter(Arc::new(LocalLimiter::new(scaled_limit())));
    assert!(format!("{builder:?}").contains("redis_limiter: None"));
    let client = builder.build().unwrap();
    let _: serde_json::Value = client.execute(get()).await.unwrap();
}

/// A limiter over a fake Redis, patient enough that a loaded machine does not turn an answer
/// into a timeout.
fn limiter_over(fake: &FakeRedis, policy: RedisFailure) -> RedisLimiter {
    RedisLimiter::builder(&fake.url(), KEY, scaled_limit())
        .on_failure(policy)
        .redis_timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(10))
        .retry_redis_after(Duration::from_millis(300))
        .build_lazy()
        .unwrap()
}

#[tokio::test]
async fn a_wrong_answer_to_script_load_is_an_error_not_a_panic() {
    let answers: [&'static [u8]; 7] = [
        b"+OK\r\n",
        b":1\r\n",
        b"$40\r\n0000000000000000000000000000000000000000\r\n",
        b"$-1\r\n",
        b"*0\r\n",
        b"*2\r\n:1\r\n:0\r\n",
        b"-ERR unknown command 'SCRIPT'\r\n",
    ];
    for answer in answers {
        let fake = FakeRedis::always(answer);
        let shown = String::from_utf8_lossy(answer).into_owned();
        let err = RedisLimiter::builder(&fake.url(), KEY, scaled_limit())
            .connect_timeout(Duration::from_secs(10))
            .build()
            .await
            .unwrap_err();
        match &err {
            RedisLimiterError::Unavailable { message, .. } => {
                if !answer.starts_with(b"-") {
                    assert!(message.contains("SHA-1"), "{shown:?}: {message}");
                }
            }
            other => panic!("{shown:?}: expected Unavailable, got {other:?}"),
        }
        assert_eq!(fake.commands(), ["SCRIPT"], "{shown:?}");
    }
}

#[tokio::test]
async fn the_right_sha_from_script_load_starts_the_limiter() {
    // What a real Redis does: name the script by the SHA-1 of its text.
    let fake = FakeRedis::start(|command| match command[0].as_str() {
        "SCRIPT" => {
            let sha = redis::Script::new(&command[2]).get_hash().to_owned();
            format!("${}\r\n{sha}\r\n", sha.len()).into_bytes()
        }
        _ => b"*2\r\n:1\r\n:0\r\n".to_vec(),
    });
    let limiter = RedisLimiter::builder(&fake.url(), KEY, scaled_limit())
        .redis_timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .await
        .unwrap();
    assert_eq!(limiter.acquire().await, Ok(()));
    assert_eq!(limiter.stats().redis_decisions, 1);
    assert_eq!(fake.commands(), ["SCRIPT", "EVALSHA"]);
}

/// Answers a real Redis never gives to the limiter's script.
const MALFORMED: &[&[u8]] = &[
    b"+OK\r\n",
    b":5\r\n",
    b"$-1\r\n",
    b"*-1\r\n",
    b"*0\r\n",
    b"*1\r\n:1\r\n",
    b"*3\r\n:1\r\n:0\r\n:0\r\n",
    b"*2\r\n:2\r\n:0\r\n",
    b"*2\r\n:1\r\n:-1\r\n",
    b"*2\r\n:0\r\n:-5\r\n",
    b"*2\r\n:0\r\n:9223372036854775807\r\n",
    b"*2\r\n:-9223372036854775808\r\n:0\r\n",
    b"*2\r\n$1\r\n1\r\n$1\r\n0\r\n",
    b"*2\r\n*0\r\n:0\r\n",
    b"-ERR something broke\r\n",
    // Not RESP at all, or numbers that are not numbers.
    b"!!garbage\r\n",
    b"*2\r\n:abc\r\n:0\r\n",
    b"*2\r\n:0\r\n:99999999999999999999999\r\n",
    // RESP3 types on a RESP2 connection.
    b",1.5\r\n",
    b"_\r\n",
    b"%1\r\n:1\r\n:0\r\n",
    b"*2\r\n#t\r\n,0\r\n",
];

#[tokio::test]
async fn wrong_answers_from_the_script_go_to_the_failure_policy_not_a_panic() {
    for answer in MALFORMED {
        let shown = String::from_utf8_lossy(answer).into_owned();
        let fake = FakeRedis::always(answer);
        // The fallback decides: a token from the local limiter.
        let limiter = limiter_over(&fake, RedisFailure::FallBackToLocal);
        assert_eq!(limiter.acquire().await, Ok(()), "{shown:?}");
        let stats = limiter.stats();
        assert_eq!(
            (
                stats.redis_decisions,
                stats.redis_failures,
                stats.policy_decisions
            ),
            (0, 1, 1),
            "{shown:?}"
        );
        assert!(!limiter.is_redis_healthy(), "{shown:?}");
        assert_eq!(fake.commands(), ["EVALSHA"], "{shown:?}");

        // The deny policy refuses, asking to wait no longer than the pause before Redis is
        // asked again.
        let limiter = limiter_over(&fake, RedisFailure::Deny);
        match limiter.acquire().await {
            Err(Denied { retry_after }) => {
                assert!(
                    retry_after <= Duration::from_millis(300),
                    "{shown:?}: {retry_after:?}"
                );
            }
            Ok(()) => panic!("{shown:?}: granted"),
        }
    }
}

#[tokio::test]
async fn a_script_missing_from_the_cache_is_sent_with_eval() {
    let fake = FakeRedis::start(|command| match command[0].as_str() {
        "EVALSHA" => b"-NOSCRIPT No matching script. Please use EVAL.\r\n".to_vec(),
        "EVAL" => b"*2\r\n:0\r\n:250000\r\n".to_vec(),
        _ => b"-ERR unexpected\r\n".to_vec(),
    });
    let limiter = limiter_over(&fake, RedisFailure::Deny);
    assert_eq!(
        limiter.acquire().await,
        Err(Denied {
            retry_after: Duration::from_millis(250)
        })
    );
    assert_eq!(limiter.stats().redis_decisions, 1);
    assert_eq!(limiter.stats().redis_failures, 0);
    assert_eq!(fake.commands(), ["EVALSHA", "EVAL"]);

    // EVAL answering nonsense is a failure like any other.
    let fake = FakeRedis::start(|command| match command[0].as_str() {
        "EVALSHA" => b"-NOSCRIPT No matching script. Please use EVAL.\r\n".to_vec(),
        _ => b"*2\r\n:7\r\n:7\r\n".to_vec(),
    });
    let limiter = limiter_over(&fake, RedisFailure::FallBackToLocal);
    assert_eq!(limiter.acquire().await, Ok(()));
    assert_eq!(limiter.stats().redis_failures, 1);
}
