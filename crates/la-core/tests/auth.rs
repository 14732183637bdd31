#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The API key: on the wire where it belongs, nowhere else.

mod common;

use std::time::Duration;

use common::{Double, KEY, Reply, assert_no_key, mock_builder};
use la_core::{Body, Client, Error, Method, Request, TimeoutKind};
use mockito::Matcher;
use tower::ServiceExt;

#[tokio::test]
async fn key_is_sent_in_the_apikey_header() {
    let mut server = mockito::Server::new_async().await;
    let mock = server
        .mock("GET", "/api/v3/tickets/t1")
        .match_header("apikey", KEY)
        .match_header("user-agent", Matcher::Regex("^liveagent-rs/".into()))
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(r#"{"id":"t1"}"#)
        .expect(1)
        .create_async()
        .await;
    let client = mock_builder(&server.url()).build().unwrap();
    let ticket: serde_json::Value = client
        .execute(
            Request::new(Method::GET, "/tickets/{ticketId}")
                .path_param("ticketId", "t1")
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(ticket["id"], "t1");
    mock.assert_async().await;
}

#[test]
fn key_is_absent_from_debug_of_client_and_builder() {
    let builder = Client::builder()
        .account("acme")
        .api_key(KEY)
        .total_timeout(Duration::from_secs(5));
    let text = format!("{builder:?}");
    assert!(text.contains("ClientBuilder"), "{text}");
    assert_no_key("builder Debug", &text);
    assert_no_key("builder pretty Debug", &format!("{builder:#?}"));

    let client = builder.build().unwrap();
    let text = format!("{client:?}");
    assert!(text.contains("acme.ladesk.com"), "{text}");
    assert_no_key("client Debug", &text);
    assert_no_key("client pretty Debug", &format!("{client:#?}"));
}

#[tokio::test]
async fn api_error_echoing_the_key_is_scrubbed() {
    let mut server = mockito::Server::new_async().await;
    server
        .mock("GET", "/api/v3/agents")
        .with_status(401)
        .with_header("content-type", "application/json")
        .with_body(format!(r#"{{"message":"Invalid API key {KEY}"}}"#))
        .create_async()
        .await;
    server
        .mock("GET", "/api/v3/tags")
        .with_status(403)
        .with_header("content-type", "text/plain")
        .with_body(format!("forbidden for apikey={KEY}"))
        .create_async()
        .await;
    server
        .mock("GET", "/api/v3/calls")
        .with_status(302)
        .with_header(
            "location",
            &format!("https://elsewhere.example/?apikey={KEY}"),
        )
        .create_async()
        .await;
    let client = mock_builder(&server.url()).build().unwrap();

    for (path, status) in [("/agents", 401), ("/tags", 403), ("/calls", 302)] {
        let err = client
            .execute::<serde_json::Value>(Request::new(Method::GET, path))
            .await
            .unwrap_err();
        assert_eq!(
            err.status().map(|s| usize::from(s.as_u16())),
            Some(status),
            "{err:?}"
        );
        let Error::Api { message, .. } = &err else {
            panic!("expected an Api error, got {err:?}");
        };
        let message = message.as_deref().unwrap_or_default();
        assert!(message.contains("[REDACTED]"), "{path}: {message}");
        assert_no_key("Api error Display", &err.to_string());
        assert_no_key("Api error Debug", &format!("{err:?}"));
    }
}

#[tokio::test]
async fn decode_error_echoing_the_key_is_scrubbed() {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Agent {
        id: u32,
    }
    let mut server = mockito::Server::new_async().await;
    server
        .mock("GET", "/api/v3/agents/a1")
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(format!(r#"{{"id":"{KEY}"}}"#))
        .create_async()
        .await;
    server
        .mock("GET", "/api/v3/agents")
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(format!(r#"{{"{KEY}":{{"id":"x"}}}}"#))
        .create_async()
        .await;
    let client = mock_builder(&server.url()).build().unwrap();

    let err = client
        .execute::<Agent>(Request::new(Method::GET, "/agents/a1"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert_no_key("Decode error Display", &err.to_string());
    assert_no_key("Decode error Debug", &format!("{err:?}"));

    // The failing value sits under a map key that is the API key itself.
    let err = client
        .execute::<std::collections::HashMap<String, Agent>>(Request::new(Method::GET, "/agents"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert_no_key("Decode error Display", &err.to_string());
    assert_no_key("Decode error Debug", &format!("{err:?}"));
}

#[tokio::test(start_paused = true)]
async fn no_error_kind_shows_the_key() {
    let double = Double::new(|_, request| match request.uri().path() {
        "/api/v3/hang" => Reply::Hang,
        "/api/v3/connect" => Reply::Connect,
        "/api/v3/broken" => Reply::Broken,
        "/api/v3/busy" => Reply::status(429).header("retry-after", "600"),
        _ => Reply::status(500).body(KEY),
    });
    let client = double
        .builder()
        .attempt_timeout(Duration::from_secs(1))
        .no_retry()
        .build()
        .unwrap();
    let mut errors = Vec::new();
    for path in ["/hang", "/connect", "/broken", "/busy", "/fail"] {
        errors.push(
            client
                .execute::<serde_json::Value>(Request::new(Method::POST, path))
                .await
                .unwrap_err(),
        );
    }
    assert!(matches!(
        errors[0],
        Error::Timeout {
            kind: TimeoutKind::Attempt,
            ..
        }
    ));
    assert!(matches!(errors[1], Error::Transport { .. }));
    assert!(matches!(errors[3], Error::Api { .. }));
    // A missing path parameter and a bad header fail before anything is sent.
    errors.push(
        client
            .execute::<serde_json::Value>(Request::new(Method::GET, "/tickets/{ticketId}"))
            .await
            .unwrap_err(),
    );
    errors.push(
        Client::builder()
            .account("bad name")
            .api_key(KEY)
            .build()
            .unwrap_err(),
    );
    for err in &errors {
        assert_no_key("error Display", &err.to_string());
        assert_no_key("error Debug", &format!("{err:?}"));
        let mut source = std::error::Error::source(err);
        while let Some(inner) = source {
            assert_no_key("error source", &inner.to_string());
            source = inner.source();
        }
    }
    // Every request that reached the transport was authenticated.
    let seen = double.seen();
    assert_eq!(seen.len(), 5);
    assert!(seen.iter().all(|s| s.headers["apikey"] == KEY));
}

#[tokio::test]
async fn cross_host_redirect_never_carries_the_key() {
    let mut first = mockito::Server::new_async().await;
    let mut second = mockito::Server::new_async().await;
    let redirect = first
        .mock("GET", "/api/v3/tickets")
        .with_status(302)
        .with_header("location", &format!("{}/api/v3/tickets", second.url()))
        .expect(1)
        .create_async()
        .await;
    let with_key = second
        .mock("GET", Matcher::Any)
        .match_header("apikey", Matcher::Any)
        .with_status(200)
        .with_body("[]")
        .expect(0)
        .create_async()
        .await;
    let anything = second
        .mock("GET", Matcher::Any)
        .with_status(200)
        .with_body("[]")
        .expect(0)
        .create_async()
        .await;
    let client = mock_builder(&first.url()).build().unwrap();
    let err = client
        .execute::<serde_json::Value>(Request::new(Method::GET, "/tickets"))
        .await
        .unwrap_err();
    match &err {
        Error::Api { status, .. } => assert!(status.is_redirection(), "{err:?}"),
        other => panic!("expected an Api error with a 3xx status, got {other:?}"),
    }
    assert!(err.to_string().contains("not followed"), "{err}");
    redirect.assert_async().await;
    with_key.assert_async().await;
    anything.assert_async().await;
}

#[tokio::test]
async fn same_origin_redirect_is_followed_with_the_key() {
    let mut server = mockito::Server::new_async().await;
    let old = server
        .mock("GET", "/api/v3/old")
        .with_status(301)
        .with_header("location", "/api/v3/new")
        .expect(1)
        .create_async()
        .await;
    let new = server
        .mock("GET", "/api/v3/new")
        .match_header("apikey", KEY)
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(r#"{"moved":true}"#)
        .expect(1)
        .create_async()
        .await;
    let client = mock_builder(&server.url()).build().unwrap();
    let value: serde_json::Value = client
        .execute(Request::new(Method::GET, "/old"))
        .await
        .unwrap();
    assert_eq!(value["moved"], true);
    old.assert_async().await;
    new.assert_async().await;
}

#[tokio::test]
async fn auth_layer_refuses_a_request_for_another_origin() {
    let double = Double::always(Reply::json("{}"));
    let client = double.builder().build().unwrap();
    for uri in [
        "https://evil.example.com/api/v3/tickets",
        "http://acme.ladesk.com/api/v3/tickets",
        "https://acme.ladesk.com:8443/api/v3/tickets",
    ] {
        let request = http::Request::builder()
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let err = client.service().oneshot(request).await.unwrap_err();
        match &err {
            Error::InvalidRequest { message } => {
                assert!(
                    message.contains("refusing to send the API key"),
                    "{message}"
                )
            }
            other => panic!("{uri}: expected InvalidRequest, got {other:?}"),
        }
        assert_no_key("refusal", &err.to_string());
    }
    assert_eq!(
        double.calls(),
        0,
        "a request for another origin reached the transport"
    );

    // The same service accepts its own origin.
    let request = http::Request::builder()
        .uri("https://acme.ladesk.com/api/v3/tickets")
        .body(Body::empty())
        .unwrap();
    let response = client.service().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(double.seen()[0].headers["apikey"], KEY);
}

#[tokio::test]
async fn a_repeated_cursor_echoing_the_key_is_scrubbed() {
    let mut server = mockito::Server::new_async().await;
    let first = server
        .mock("GET", "/api/v3/tickets")
        .match_query(Matcher::Exact("_perPage=1".into()))
        .with_status(200)
        .with_header("next_page_cursor", KEY)
        .with_body(r#"[{"id":"1"}]"#)
        .expect(1)
        .create_async()
        .await;
    let again = server
        .mock("GET", "/api/v3/tickets")
        .match_query(Matcher::UrlEncoded("_cursor".into(), KEY.into()))
        .with_status(200)
        .with_header("next_page_cursor", KEY)
        .with_body(r#"[{"id":"2"}]"#)
        .expect(1)
        .create_async()
        .await;
    let client = mock_builder(&server.url()).build().unwrap();
    let request = Request::new(Method::GET, "/tickets").query("_perPage", 1);
    let results: Vec<Result<serde_json::Value, Error>> = futures_util::StreamExt::collect(
        la_core::pagination::items(client, request, la_core::PageStyle::Cursor),
    )
    .await;
    // Both pages' items, then the error.
    assert_eq!(results.len(), 3);
    let err = results[2].as_ref().unwrap_err();
    assert!(matches!(err, Error::Pagination { .. }), "{err:?}");
    assert!(err.to_string().contains("[REDACTED]"), "{err}");
    assert_no_key("cursor error Display", &err.to_string());
    assert_no_key("cursor error Debug", &format!("{err:?}"));
    first.assert_async().await;
    again.assert_async().await;
}
