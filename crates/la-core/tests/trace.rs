#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Trace output at TRACE level never shows the API key.
//!
//! Alone in its binary: the subscriber is installed for the test's thread, and no other test
//! may touch the same tracing callsites at the same time.

mod common;

use common::{KEY, assert_no_key, capture_traces, mock_builder};
use la_core::{Body, Method, Request};
use mockito::Matcher;

#[tokio::test]
async fn trace_output_at_trace_level_never_shows_the_key() {
    let (buffer, _guard) = capture_traces();
    let mut server = mockito::Server::new_async().await;
    server
        .mock("GET", "/api/v3/tickets")
        .match_query(Matcher::Any)
        .with_status(503)
        .with_header("content-type", "application/json")
        .with_body(format!(r#"{{"message":"overloaded ({KEY})"}}"#))
        .expect(2)
        .create_async()
        .await;
    server
        .mock("GET", "/api/v3/tickets")
        .match_query(Matcher::Any)
        .with_status(401)
        .with_header("content-type", "application/json")
        .with_body(format!(r#"{{"message":"Invalid API key {KEY}"}}"#))
        .create_async()
        .await;
    // A user layer inside the stack that prints every request's headers.
    let print_headers = tower::util::MapRequestLayer::new(|request: http::Request<Body>| {
        tracing::trace!(headers = ?request.headers(), uri = %request.uri(), "attempt");
        request
    });
    let client = mock_builder(&server.url())
        .layer_inner(print_headers)
        .build()
        .unwrap();
    let err = client
        .execute::<serde_json::Value>(Request::new(Method::GET, "/tickets").query("_perPage", 5))
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    tracing::error!(error = %err, debug = ?err, "the call failed");

    let text = buffer.text();
    assert!(
        text.contains("liveagent.request"),
        "no span captured: {text}"
    );
    assert!(text.contains("retrying"), "no retry event captured: {text}");
    assert!(
        text.contains("apikey"),
        "the header print did not run: {text}"
    );
    assert!(text.contains("Sensitive"), "{text}");
    assert_no_key("trace output", &text);
}
