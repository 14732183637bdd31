#![allow(clippy::unwrap_used, clippy::expect_used)]

//! How answers become errors: decoding, content types, sizes, empty bodies, statuses.

mod common;

use common::mock_builder;
use la_core::{Error, Method, Request, StatusCode, TransportKind};
use mockito::ServerGuard;
use serde::Deserialize;
use serde::de::IgnoredAny;

#[derive(Deserialize, Debug)]
#[allow(dead_code)]
struct Ticket {
    id: String,
    tags: Vec<Tag>,
}

#[derive(Deserialize, Debug)]
#[allow(dead_code)]
struct Tag {
    name: String,
}

/// A type for answers whose body does not matter, decoded from anything (an empty body is
/// `null`).
#[derive(Debug, PartialEq)]
struct OkResponse;

impl<'de> Deserialize<'de> for OkResponse {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer).map(|_| OkResponse)
    }
}

async fn serve(server: &mut ServerGuard, status: usize, content_type: &str, body: &str) {
    server
        .mock("GET", "/api/v3/tickets/t1")
        .with_status(status)
        .with_header("content-type", content_type)
        .with_body(body)
        .create_async()
        .await;
}

fn ticket() -> Request {
    Request::new(Method::GET, "/tickets/{ticketId}")
        .path_param("ticketId", "t1")
        .unwrap()
}

#[tokio::test]
async fn decode_errors_carry_the_json_path() {
    let mut server = mockito::Server::new_async().await;
    serve(
        &mut server,
        200,
        "application/json",
        r#"{"id":"t1","tags":[{"name":"a"},{"name":7}]}"#,
    )
    .await;
    let client = mock_builder(&server.url()).build().unwrap();
    let err = client.execute::<Ticket>(ticket()).await.unwrap_err();
    match &err {
        Error::Decode {
            json_path,
            status,
            content_type,
            context,
            ..
        } => {
            assert_eq!(json_path, "tags[1].name");
            assert_eq!(*status, StatusCode::OK);
            assert_eq!(content_type.as_deref(), Some("application/json"));
            assert_eq!(context.path, "/api/v3/tickets/t1");
        }
        other => panic!("expected a Decode error, got {other:?}"),
    }
    assert!(err.to_string().contains("`tags[1].name`"), "{err}");
}

#[tokio::test]
async fn an_html_page_with_status_200_is_a_decode_error_naming_text_html() {
    let mut server = mockito::Server::new_async().await;
    serve(
        &mut server,
        200,
        "text/html; charset=utf-8",
        "<!DOCTYPE html><html><body>Down for maintenance</body></html>",
    )
    .await;
    let client = mock_builder(&server.url()).build().unwrap();
    let err = client.execute::<Ticket>(ticket()).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("text/html"), "{text}");
    assert!(text.contains("GET /api/v3/tickets/t1"), "{text}");
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let mut server = mockito::Server::new_async().await;
    let big = format!("[{}]", vec!["1"; 600].join(","));
    server
        .mock("GET", "/api/v3/sized")
        .with_status(200)
        .with_body(&big)
        .create_async()
        .await;
    let chunk = big.clone();
    server
        .mock("GET", "/api/v3/chunked")
        .with_status(200)
        .with_chunked_body(move |w| {
            for piece in chunk.as_bytes().chunks(100) {
                w.write_all(piece)?;
            }
            Ok(())
        })
        .create_async()
        .await;
    let client = mock_builder(&server.url())
        .max_response_bytes(1000)
        .build()
        .unwrap();
    for path in ["/sized", "/chunked"] {
        let err = client
            .execute::<Vec<u32>>(Request::new(Method::GET, path))
            .await
            .unwrap_err();
        match err {
            Error::ResponseTooLarge { limit, context } => {
                assert_eq!(limit, 1000);
                assert_eq!(context.path, format!("/api/v3{path}"));
            }
            other => panic!("{path}: expected ResponseTooLarge, got {other:?}"),
        }
    }
    // The same body fits under a larger limit.
    let client = mock_builder(&server.url())
        .max_response_bytes(big.len())
        .build()
        .unwrap();
    for path in ["/sized", "/chunked"] {
        let items: Vec<u32> = client
            .execute(Request::new(Method::GET, path))
            .await
            .unwrap();
        assert_eq!(items.len(), 600);
    }
}

#[tokio::test]
async fn an_empty_body_decodes_as_an_ok_response() {
    let mut server = mockito::Server::new_async().await;
    server
        .mock("DELETE", "/api/v3/tickets/t1")
        .with_status(200)
        .create_async()
        .await;
    server
        .mock("PUT", "/api/v3/tickets/t1")
        .with_status(204)
        .create_async()
        .await;
    server
        .mock("POST", "/api/v3/tickets/t1")
        .with_status(200)
        .with_body(r#"{"status":"OK"}"#)
        .create_async()
        .await;
    let client = mock_builder(&server.url()).build().unwrap();
    for method in [Method::DELETE, Method::PUT, Method::POST] {
        let request = Request::new(method.clone(), "/tickets/{ticketId}")
            .path_param("ticketId", "t1")
            .unwrap();
        let ok: OkResponse = client.execute(request).await.unwrap();
        assert_eq!(ok, OkResponse, "{method}");
    }
    // A list, though, is not silently empty when the body is.
    let err = client
        .execute::<Vec<Tag>>(
            Request::new(Method::DELETE, "/tickets/{ticketId}")
                .path_param("ticketId", "t1")
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
}

#[tokio::test]
async fn a_failure_status_is_an_api_error_with_the_server_message() {
    let mut server = mockito::Server::new_async().await;
    serve(
        &mut server,
        404,
        "application/json",
        r#"{"message":"Ticket does not exist"}"#,
    )
    .await;
    let client = mock_builder(&server.url()).build().unwrap();
    let err = client.execute::<Ticket>(ticket()).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(
        err.to_string(),
        "GET /api/v3/tickets/t1: the server answered 404 Not Found: Ticket does not exist"
    );
    assert_eq!(err.context().map(|c| c.method.clone()), Some(Method::GET));
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = mock_builder(&url).build().unwrap();
    let err = client
        .execute::<serde_json::Value>(Request::new(Method::POST, "/tickets"))
        .await
        .unwrap_err();
    match &err {
        Error::Transport {
            kind: TransportKind::Connect,
            context,
            ..
        } => assert_eq!(context.path, "/api/v3/tickets"),
        other => panic!("expected a connect error, got {other:?}"),
    }
}

#[tokio::test]
async fn invalid_requests_are_refused_before_anything_is_sent() {
    let mut server = mockito::Server::new_async().await;
    let nothing = server
        .mock("GET", mockito::Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let client = mock_builder(&server.url()).build().unwrap();
    let err = client
        .execute::<serde_json::Value>(Request::new(Method::GET, "/tickets/{ticketId}"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    assert!(err.to_string().contains("ticketId"), "{err}");
    nothing.assert_async().await;
}
