#![allow(clippy::unwrap_used, clippy::expect_used)]

//! What is retried, how long the client waits in between, and what bounds the retries.

mod common;

use std::time::{Duration, SystemTime};

use common::{Double, Reply, fast_retry, mock_builder};
use la_core::{
    Error, Idempotency, Method, Request, RetryBudgetConfig, RetryConfig, TimeoutKind, TransportKind,
};
use tokio::time::Instant;

fn get(path: &'static str) -> Request {
    Request::new(Method::GET, path)
}

fn post(path: &'static str) -> Request {
    Request::new(Method::POST, path)
        .json(&serde_json::json!({"subject": "Hello"}))
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn retry_after_seconds_on_429_is_waited_for() {
    let double = Double::sequence(vec![
        Reply::status(429).header("retry-after", "7"),
        Reply::json(r#"{"ok":true}"#),
    ]);
    let client = double.builder().no_rate_limit().build().unwrap();
    let start = Instant::now();
    let value: serde_json::Value = client.execute(get("/tickets")).await.unwrap();
    assert_eq!(value["ok"], true);
    let seen = double.seen();
    assert_eq!(seen.len(), 2);
    let gap = seen[1].at - seen[0].at;
    assert!(gap >= Duration::from_secs(7), "waited only {gap:?}");
    assert!(gap < Duration::from_millis(7100), "waited {gap:?}");
    assert!(start.elapsed() < Duration::from_millis(7100));
}

#[tokio::test(start_paused = true)]
async fn retry_after_http_date_on_429_is_waited_for() {
    let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(5));
    let double = Double::sequence(vec![
        Reply::status(429).header("retry-after", &at),
        Reply::json("[]"),
    ]);
    let client = double.builder().no_rate_limit().build().unwrap();
    let _: Vec<serde_json::Value> = client.execute(get("/tickets")).await.unwrap();
    let seen = double.seen();
    assert_eq!(seen.len(), 2);
    // The date has whole seconds, so the wait is between 4 and 5 seconds.
    let gap = seen[1].at - seen[0].at;
    assert!(gap >= Duration::from_secs(4), "waited only {gap:?}");
    assert!(gap <= Duration::from_millis(5050), "waited {gap:?}");
}

#[tokio::test(start_paused = true)]
async fn a_429_without_retry_after_is_retried_after_a_jittered_backoff() {
    let double = Double::sequence(vec![
        Reply::status(429),
        Reply::status(429),
        Reply::json("{}"),
    ]);
    let client = double
        .builder()
        .no_rate_limit()
        .retry(RetryConfig::default().backoff(Duration::from_secs(1), Duration::from_secs(2)))
        .build()
        .unwrap();
    let _: serde_json::Value = client.execute(post("/tickets")).await.unwrap();
    let seen = double.seen();
    assert_eq!(seen.len(), 3);
    // Full jitter: at most the cap of each retry (1 s, then 2 s).
    assert!(seen[1].at - seen[0].at <= Duration::from_millis(1001));
    assert!(seen[2].at - seen[1].at <= Duration::from_millis(2001));
}

#[tokio::test]
async fn get_is_retried_after_502_503_and_504() {
    let mut server = mockito::Server::new_async().await;
    let client = mock_builder(&server.url()).build().unwrap();
    for status in [502, 503, 504] {
        let failure = server
            .mock("GET", "/api/v3/tickets")
            .with_status(status)
            .expect(1)
            .create_async()
            .await;
        let success = server
            .mock("GET", "/api/v3/tickets")
            .with_status(200)
            .with_body("[]")
            .expect(1)
            .create_async()
            .await;
        let items: Vec<serde_json::Value> = client.execute(get("/tickets")).await.unwrap();
        assert!(items.is_empty());
        failure.assert_async().await;
        success.assert_async().await;
        failure.remove_async().await;
        success.remove_async().await;
    }
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let mut server = mockito::Server::new_async().await;
    let client = mock_builder(&server.url()).build().unwrap();
    for status in [400, 401, 404, 422] {
        let mock = server
            .mock("GET", "/api/v3/tickets")
            .with_status(status)
            .with_body(r#"{"message":"no"}"#)
            .expect(1)
            .create_async()
            .await;
        let err = client
            .execute::<serde_json::Value>(get("/tickets"))
            .await
            .unwrap_err();
        assert_eq!(
            err.status().map(|s| usize::from(s.as_u16())),
            Some(status),
            "{err:?}"
        );
        mock.assert_async().await;
        mock.remove_async().await;
    }
}

#[tokio::test]
async fn post_is_not_retried_when_the_server_may_have_acted() {
    let mut server = mockito::Server::new_async().await;
    let client = mock_builder(&server.url()).build().unwrap();
    for status in [502, 504, 503] {
        let mock = server
            .mock("POST", "/api/v3/tickets")
            .with_status(status)
            .expect(1)
            .create_async()
            .await;
        let err = client
            .execute::<serde_json::Value>(post("/tickets"))
            .await
            .unwrap_err();
        assert_eq!(
            err.status().map(|s| usize::from(s.as_u16())),
            Some(status),
            "{err:?}"
        );
        mock.assert_async().await;
        mock.remove_async().await;
    }
}

#[tokio::test(start_paused = true)]
async fn post_is_not_retried_after_an_attempt_timeout_or_a_broken_connection() {
    for reply in [Reply::Hang, Reply::Broken] {
        let double = Double::always(reply);
        let client = double
            .builder()
            .attempt_timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let err = client
            .execute::<serde_json::Value>(post("/tickets"))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Timeout {
                    kind: TimeoutKind::Attempt,
                    ..
                } | Error::Transport {
                    kind: TransportKind::Request,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(double.calls(), 1, "{err:?}");
    }
}

#[tokio::test]
async fn post_is_retried_after_429_and_503_with_retry_after() {
    let mut server = mockito::Server::new_async().await;
    let client = mock_builder(&server.url()).build().unwrap();
    for status in [429, 503] {
        let failure = server
            .mock("POST", "/api/v3/tickets")
            .with_status(status)
            .with_header("retry-after", "0")
            .expect(1)
            .create_async()
            .await;
        let success = server
            .mock("POST", "/api/v3/tickets")
            .match_body(mockito::Matcher::JsonString(
                r#"{"subject":"Hello"}"#.into(),
            ))
            .with_status(200)
            .with_body(r#"{"id":"t1"}"#)
            .expect(1)
            .create_async()
            .await;
        let value: serde_json::Value = client.execute(post("/tickets")).await.unwrap();
        assert_eq!(value["id"], "t1");
        failure.assert_async().await;
        success.assert_async().await;
        failure.remove_async().await;
        success.remove_async().await;
    }
}

#[tokio::test(start_paused = true)]
async fn post_is_retried_when_no_connection_was_established() {
    let double = Double::sequence(vec![Reply::Connect, Reply::json(r#"{"id":"t1"}"#)]);
    let client = double.builder().build().unwrap();
    let value: serde_json::Value = client.execute(post("/tickets")).await.unwrap();
    assert_eq!(value["id"], "t1");
    let seen = double.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|s| s.method == Method::POST));
}

#[tokio::test]
async fn post_marked_idempotent_is_retried_after_502() {
    let mut server = mockito::Server::new_async().await;
    let failure = server
        .mock("POST", "/api/v3/tickets")
        .with_status(502)
        .expect(1)
        .create_async()
        .await;
    let success = server
        .mock("POST", "/api/v3/tickets")
        .with_status(200)
        .with_body("{}")
        .expect(1)
        .create_async()
        .await;
    let client = mock_builder(&server.url()).build().unwrap();
    let _: serde_json::Value = client
        .execute(post("/tickets").idempotency(Idempotency::Idempotent))
        .await
        .unwrap();
    failure.assert_async().await;
    success.assert_async().await;
}

#[tokio::test(start_paused = true)]
async fn a_request_marked_never_is_not_retried_even_after_429() {
    let double = Double::always(Reply::status(429).header("retry-after", "1"));
    let client = double.builder().build().unwrap();
    let err = client
        .execute::<serde_json::Value>(get("/tickets").idempotency(Idempotency::Never))
        .await
        .unwrap_err();
    assert!(err.is_rate_limited(), "{err:?}");
    assert_eq!(double.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn retry_after_longer_than_the_maximum_is_not_waited_for() {
    let double = Double::always(Reply::status(429).header("retry-after", "120"));
    let client = double
        .builder()
        .retry(RetryConfig::default().max_retry_after(Duration::from_secs(30)))
        .build()
        .unwrap();
    let start = Instant::now();
    let err = client
        .execute::<serde_json::Value>(get("/tickets"))
        .await
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "waited {:?}",
        start.elapsed()
    );
    assert_eq!(double.calls(), 1);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    assert!(err.to_string().contains("retry after 120s"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn max_attempts_is_respected() {
    for attempts in [1, 3, 5] {
        let double = Double::always(Reply::status(503));
        let client = double
            .builder()
            .retry(RetryConfig::default().max_attempts(attempts))
            .build()
            .unwrap();
        let err = client
            .execute::<serde_json::Value>(get("/tickets"))
            .await
            .unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
        assert_eq!(double.calls(), attempts as usize);
    }
    let double = Double::always(Reply::status(503));
    let client = double.builder().no_retry().build().unwrap();
    let _ = client.execute::<serde_json::Value>(get("/x")).await;
    assert_eq!(double.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn max_elapsed_stops_retries_that_would_start_too_late() {
    let double = Double::always(Reply::status(503).header("retry-after", "4"));
    let client = double
        .builder()
        .no_rate_limit()
        .retry(
            RetryConfig::default()
                .max_attempts(10)
                .max_elapsed(Duration::from_secs(10)),
        )
        .build()
        .unwrap();
    let err = client
        .execute::<serde_json::Value>(get("/tickets"))
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    // Attempts at 0 s, 4 s and 8 s; a fourth would start at 12 s.
    assert_eq!(double.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn retry_budget_bounds_the_extra_load_on_a_failing_server() {
    let double = Double::always(Reply::status(503));
    let budget = RetryBudgetConfig::new(0.2, 3.0, 0.0).unwrap();
    let client = double
        .builder()
        .no_rate_limit()
        .retry(RetryConfig::default().max_attempts(4).budget(budget))
        .build()
        .unwrap();
    let requests = 20;
    for _ in 0..requests {
        let err = client
            .execute::<serde_json::Value>(get("/tickets"))
            .await
            .unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    }
    let attempts = double.calls();
    // The full bucket (3) plus 0.2 per request; without a budget it would be 80.
    let bound = requests + 3 + requests / 5;
    assert!(
        attempts <= bound,
        "{attempts} attempts for {requests} requests"
    );
    assert!(
        attempts > requests + 3,
        "the budget was not used: {attempts}"
    );

    // Clones share the budget, which holds less than one token now: one retry at most.
    let clone = client.clone();
    let before = double.calls();
    let _ = clone.execute::<serde_json::Value>(get("/tickets")).await;
    assert!(double.calls() - before <= 2);
}

/// What an inner layer saw on one attempt.
#[derive(Clone, Debug, PartialEq)]
struct AttemptView {
    template: Option<&'static str>,
    idempotency: Option<Idempotency>,
    marker: Option<&'static str>,
}

/// A marker an outer layer puts into the request's extensions.
#[derive(Clone, Debug)]
struct Marker(&'static str);

/// Sends `request` through a client whose double answers 502 twice, then 200, with an inner
/// layer that records each attempt's extensions, and (with `marker`) an outer layer that adds an
/// extension of its own.
async fn attempts_seen(request: Request, marker: Option<&'static str>) -> Vec<AttemptView> {
    use la_core::Body;
    use la_core::request::RequestMeta;
    use std::sync::{Arc, Mutex};
    use tower::util::MapRequestLayer;

    let double = Double::sequence(vec![
        Reply::status(502),
        Reply::status(502),
        Reply::json("{}"),
    ]);
    let views = Arc::new(Mutex::new(Vec::new()));
    let record = {
        let views = views.clone();
        MapRequestLayer::new(move |request: http::Request<Body>| {
            let meta = request.extensions().get::<RequestMeta>();
            views.lock().unwrap().push(AttemptView {
                template: meta.map(|m| m.path_template),
                idempotency: meta.map(|m| m.idempotency),
                marker: request.extensions().get::<Marker>().map(|m| m.0),
            });
            request
        })
    };
    let mut builder = double
        .builder()
        .no_rate_limit()
        .retry(fast_retry())
        .layer_inner(record);
    if let Some(marker) = marker {
        builder = builder.layer_outer(MapRequestLayer::new(
            move |mut request: http::Request<Body>| {
                request.extensions_mut().insert(Marker(marker));
                request
            },
        ));
    }
    let client = builder.build().unwrap();
    let _: serde_json::Value = client.execute(request).await.unwrap();
    assert_eq!(double.calls(), 3);
    views.lock().unwrap().clone()
}

#[tokio::test(start_paused = true)]
async fn every_retry_carries_the_request_metadata_and_the_callers_extensions() {
    let template = "/tickets/{ticketId}";
    let get = || {
        Request::new(Method::GET, template)
            .path_param("ticketId", "t1")
            .unwrap()
    };
    let expected = |marker| AttemptView {
        template: Some(template),
        idempotency: Some(Idempotency::ByMethod),
        marker,
    };

    // The SDK's metadata alone (the retry layer keeps it aside instead of copying the map).
    let views = attempts_seen(get(), None).await;
    assert_eq!(views, vec![expected(None); 3]);

    // With an extension of the caller's as well, the whole map is copied.
    let views = attempts_seen(get(), Some("outer")).await;
    assert_eq!(views, vec![expected(Some("outer")); 3]);
}

#[tokio::test(start_paused = true)]
async fn an_idempotent_post_keeps_its_marking_across_several_retries() {
    let views = attempts_seen(post("/tickets").idempotency(Idempotency::Idempotent), None).await;
    assert_eq!(views.len(), 3);
    assert!(
        views
            .iter()
            .all(|v| v.idempotency == Some(Idempotency::Idempotent)),
        "{views:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn time_queued_in_the_limiter_does_not_eat_the_retry_allowance() {
    // One call per minute (60.6 s with the jitter margin): the second call queues for a minute
    // in the client's own limiter, then the server answers 429.
    let limit = la_core::RateLimit::per_minute(1).unwrap();
    let double = Double::sequence(vec![
        Reply::json("{}"),
        Reply::status(429).header("retry-after", "1"),
        Reply::json(r#"{"ok":true}"#),
    ]);
    let client = double
        .builder()
        .rate_limit(limit)
        .retry(RetryConfig::default().max_elapsed(Duration::from_secs(60)))
        .total_timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    let _: serde_json::Value = client.execute(get("/tickets")).await.unwrap();
    let start = Instant::now();
    let value: serde_json::Value = client.execute(get("/tickets")).await.unwrap();
    assert_eq!(value["ok"], true);
    let seen = double.seen();
    assert_eq!(seen.len(), 3, "the 429 was retried");
    // Both attempts of the second call waited for the limiter, about a minute each.
    assert!(seen[1].at - seen[0].at >= limit.interval());
    assert!(seen[2].at - seen[1].at >= limit.interval());
    assert!(start.elapsed() >= limit.interval() * 2);
}

#[tokio::test(start_paused = true)]
async fn time_spent_on_attempts_still_counts_toward_max_elapsed() {
    // No limiter wait here: the server itself is slow to refuse, so the clock runs out.
    let double = Double::new(|n, _| match n {
        0 => Reply::status(429).header("retry-after", "20"),
        _ => Reply::json("{}"),
    });
    let client = double
        .builder()
        .no_rate_limit()
        .retry(RetryConfig::default().max_elapsed(Duration::from_secs(15)))
        .build()
        .unwrap();
    let err = client
        .execute::<serde_json::Value>(get("/tickets"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { .. }), "{err:?}");
    assert_eq!(double.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_too_large_for_a_duration_is_too_long_not_absent() {
    let values = [
        ("99999999999999999999", Some(Duration::MAX)),
        ("18446744073709551616", Some(Duration::MAX)),
        ("1e30", Some(Duration::MAX)),
        ("Fri, 31 Dec 9999 23:59:59 GMT", None),
    ];
    for max_retry_after in [Duration::from_secs(60), Duration::MAX] {
        for (value, exact) in values {
            let double = Double::sequence(vec![
                Reply::status(429).header("retry-after", value),
                Reply::json("{}"),
            ]);
            let client = double
                .builder()
                .no_rate_limit()
                .retry(RetryConfig::default().max_retry_after(max_retry_after))
                .build()
                .unwrap();
            let start = Instant::now();
            let err = client
                .execute::<serde_json::Value>(get("/tickets"))
                .await
                .unwrap_err();
            assert_eq!(double.calls(), 1, "{value}: retried");
            assert_eq!(start.elapsed(), Duration::ZERO, "{value}: waited");
            match err {
                Error::Api {
                    status,
                    retry_after: Some(reported),
                    ..
                } => {
                    assert_eq!(status.as_u16(), 429);
                    match exact {
                        Some(exact) => assert_eq!(reported, exact, "{value}"),
                        // Almost 8,000 years away.
                        None => assert!(
                            reported > Duration::from_secs(7_000 * 365 * 86_400),
                            "{value}: {reported:?}"
                        ),
                    }
                }
                other => panic!("{value}: expected an API error with Retry-After, got {other:?}"),
            }
        }
    }
}
