#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The tracing layer's events: the outcome of each call, with its level.
//!
//! Alone in its binary: the subscriber is installed for the test's thread.

mod common;

use common::{Double, Reply, capture_traces};
use la_core::{Method, Request, RetryConfig};

fn line_with<'a>(text: &'a str, needle: &str) -> Option<&'a str> {
    text.lines().find(|line| line.contains(needle))
}

#[tokio::test]
async fn each_call_reports_its_outcome_once_at_the_right_level() {
    let (buffer, _guard) = capture_traces();
    let double = Double::new(|_, request| match request.uri().path() {
        "/api/v3/ok" => Reply::json("{}"),
        "/api/v3/missing" => Reply::status(404),
        "/api/v3/broken" => Reply::status(500),
        _ => Reply::status(400),
    });
    let client = double
        .builder()
        .no_rate_limit()
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();

    let _: serde_json::Value = client
        .execute(Request::new(Method::GET, "/ok"))
        .await
        .unwrap();
    let text = buffer.text();
    let finished = line_with(&text, "finished processing request").expect(&text);
    assert!(finished.contains("DEBUG"), "{finished}");
    assert!(finished.contains("status=200"), "{finished}");
    assert!(finished.contains("latency_ms="), "{finished}");
    assert!(finished.contains("liveagent.request"), "{finished}");
    assert!(
        line_with(&text, "started processing request").is_some(),
        "{text}"
    );
    assert!(line_with(&text, "response failed").is_none(), "{text}");

    // A 4xx is an answer, not a failure of the call's transport: DEBUG.
    let _ = client
        .execute::<serde_json::Value>(Request::new(Method::GET, "/missing"))
        .await
        .unwrap_err();
    let text = buffer.text();
    assert!(text.contains("status=404"), "{text}");
    assert!(line_with(&text, "response failed").is_none(), "{text}");

    // A 5xx is a failure: WARN, with the status.
    let _ = client
        .execute::<serde_json::Value>(Request::new(Method::GET, "/broken"))
        .await
        .unwrap_err();
    let text = buffer.text();
    let failed = line_with(&text, "response failed").expect(&text);
    assert!(failed.contains("WARN"), "{failed}");
    assert!(failed.contains("status=500"), "{failed}");

    // An error (here from a transport that cannot send anything) is a failure too: WARN, with
    // the error's text.
    let before = text.matches("response failed").count();
    let stranger =
        la_core::Client::from_service(tower::service_fn(|_: http::Request<la_core::Body>| async {
            Err::<http::Response<la_core::Body>, _>(la_core::Error::config("unreachable transport"))
        }))
        .base_url(common::DOUBLE_BASE)
        .api_key(common::KEY)
        .no_rate_limit()
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    let _ = stranger
        .execute::<serde_json::Value>(Request::new(Method::GET, "/ok"))
        .await
        .unwrap_err();
    let text = buffer.text();
    assert!(
        text.matches("response failed").count() > before,
        "no failure event for an error: {text}"
    );
    let error_line = text
        .lines()
        .rfind(|line| line.contains("response failed"))
        .unwrap();
    assert!(error_line.contains("WARN"), "{error_line}");
    assert!(error_line.contains("unreachable transport"), "{error_line}");
}
