#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The attempt timeout and the total timeout.

mod common;

use std::time::Duration;

use common::{Double, Reply};
use la_core::{Error, Method, Request, RetryConfig, TimeoutKind};
use tokio::time::Instant;

fn get() -> Request {
    Request::new(Method::GET, "/tickets/{ticketId}")
        .path_param("ticketId", "t1")
        .unwrap()
}

fn assert_between(elapsed: Duration, low: Duration, high: Duration) {
    assert!(
        elapsed >= low && elapsed < high,
        "took {elapsed:?}, expected {low:?}..{high:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_ends_in_an_attempt_timeout_after_the_retries() {
    let double = Double::always(Reply::Hang);
    let client = double
        .builder()
        .attempt_timeout(Duration::from_secs(2))
        .retry(
            RetryConfig::default()
                .max_attempts(3)
                .backoff(Duration::from_millis(100), Duration::from_millis(100)),
        )
        .build()
        .unwrap();
    let start = Instant::now();
    let err = client
        .execute::<serde_json::Value>(get())
        .await
        .unwrap_err();
    match &err {
        Error::Timeout {
            kind: TimeoutKind::Attempt,
            after,
            context,
        } => {
            assert_eq!(*after, Duration::from_secs(2));
            assert_eq!(context.method, Method::GET);
            assert_eq!(context.path, "/api/v3/tickets/t1");
        }
        other => panic!("expected an attempt timeout, got {other:?}"),
    }
    assert!(err.is_timeout());
    assert_eq!(double.calls(), 3);
    // Three attempts of 2 s, and two backoffs of at most 100 ms.
    assert_between(
        start.elapsed(),
        Duration::from_secs(6),
        Duration::from_millis(6300),
    );
}

#[tokio::test(start_paused = true)]
async fn a_slow_attempt_is_cut_short_and_the_retry_succeeds() {
    let double = Double::sequence(vec![
        Reply::After(Duration::from_secs(60), Box::new(Reply::json(r#"{"n":1}"#))),
        Reply::json(r#"{"n":2}"#),
    ]);
    let client = double
        .builder()
        .attempt_timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let start = Instant::now();
    let value: serde_json::Value = client.execute(get()).await.unwrap();
    assert_eq!(value["n"], 2);
    assert_eq!(double.calls(), 2);
    assert_between(
        start.elapsed(),
        Duration::from_secs(3),
        Duration::from_millis(3300),
    );
}

#[tokio::test(start_paused = true)]
async fn the_total_timeout_bounds_the_whole_operation() {
    let double = Double::always(Reply::Hang);
    let client = double
        .builder()
        .attempt_timeout(Duration::from_secs(2))
        .total_timeout(Duration::from_secs(5))
        .retry(RetryConfig::default().max_attempts(10))
        .build()
        .unwrap();
    let start = Instant::now();
    let err = client
        .execute::<serde_json::Value>(get())
        .await
        .unwrap_err();
    match &err {
        Error::Timeout {
            kind: TimeoutKind::Total,
            after,
            context,
        } => {
            assert_eq!(*after, Duration::from_secs(5));
            assert_eq!(context.path, "/api/v3/tickets/t1");
        }
        other => panic!("expected a total timeout, got {other:?}"),
    }
    assert_between(
        start.elapsed(),
        Duration::from_secs(5),
        Duration::from_millis(5010),
    );
    // Attempts at about 0, 2 and 4 seconds; the third is cut short by the total timeout.
    assert_eq!(double.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn the_total_timeout_cuts_a_long_retry_after_wait() {
    let double = Double::always(Reply::status(503).header("retry-after", "30"));
    let client = double
        .builder()
        .total_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
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
    assert_between(
        start.elapsed(),
        Duration::from_secs(10),
        Duration::from_millis(10010),
    );
    assert_eq!(double.calls(), 1);
}

#[test]
fn zero_timeouts_are_refused() {
    let double = Double::always(Reply::json("{}"));
    for builder in [
        double.builder().attempt_timeout(Duration::ZERO),
        double.builder().total_timeout(Duration::ZERO),
    ] {
        assert!(matches!(builder.build(), Err(Error::Config { .. })));
    }
}
