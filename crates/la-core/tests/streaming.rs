#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Streaming bodies that custom layers put in the stack (the SDK's own bodies are buffered), and
//! the futures of `send` and `execute`, which borrow nothing.

mod common;

use std::io;

use bytes::Bytes;
use common::{Double, KEY, Reply, mock_builder};
use futures_util::stream;
use http_body_util::StreamBody;
use la_core::{Body, Client, Error, Method, Request, TransportKind};
use tower::util::{MapRequestLayer, MapResponseLayer};

/// A body that yields `chunks` one frame at a time, then fails if `fail` is set.
fn streaming(chunks: &[&'static str], fail: bool) -> Body {
    let mut frames: Vec<Result<http_body::Frame<Bytes>, io::Error>> = chunks
        .iter()
        .map(|chunk| Ok(http_body::Frame::data(Bytes::from_static(chunk.as_bytes()))))
        .collect();
    if fail {
        frames.push(Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "the body was cut short",
        )));
    }
    Body::new(StreamBody::new(stream::iter(frames)))
}

/// A client for `server_url` whose inner layer replaces every request body with a stream of
/// `chunks` (failing after them if `fail`).
fn streaming_requests(server_url: &str, chunks: &'static [&'static str], fail: bool) -> Client {
    mock_builder(server_url)
        .layer_inner(MapRequestLayer::new(move |request: http::Request<Body>| {
            let (parts, _buffered) = request.into_parts();
            http::Request::from_parts(parts, streaming(chunks, fail))
        }))
        .build()
        .unwrap()
}

/// A client over a scripted transport answering `{}`, whose outer layer replaces every answer's
/// body with a stream of `chunks` (failing after them if `fail`).
fn streaming_answers(chunks: &'static [&'static str], fail: bool) -> Client {
    Double::always(Reply::json("{}"))
        .builder()
        .layer_outer(MapResponseLayer::new(
            move |response: http::Response<Body>| {
                let (parts, _buffered) = response.into_parts();
                http::Response::from_parts(parts, streaming(chunks, fail))
            },
        ))
        .build()
        .unwrap()
}

/// Checks that `error` is a transport error of this kind for this call.
fn assert_transport_error(error: &Error, expected: TransportKind, call: &str) {
    assert!(
        matches!(error, Error::Transport { kind, context, .. }
            if *kind == expected && context.to_string() == call),
        "expected a {expected:?} transport error for {call}, got {error:?}"
    );
}

#[derive(serde::Deserialize)]
struct Ticket {
    id: String,
}

#[tokio::test]
async fn a_streaming_request_body_from_an_inner_layer_is_sent_whole_by_the_reqwest_transport() {
    let mut server = mockito::Server::new_async().await;
    let mock = server
        .mock("POST", "/api/v3/tickets")
        .match_header("apikey", KEY)
        .match_body(r#"{"subject":"streamed"}"#)
        .with_header("content-type", "application/json")
        .with_body(r#"{"id":"t9"}"#)
        .create_async()
        .await;
    let client = streaming_requests(&server.url(), &[r#"{"subject""#, r#":"streamed"}"#], false);

    let request = Request::new(Method::POST, "/tickets")
        .json(&serde_json::json!({ "subject": "replaced by the layer" }))
        .unwrap();
    let ticket: Ticket = client.execute(request).await.unwrap();
    assert_eq!(ticket.id, "t9");
    mock.assert_async().await;
}

#[tokio::test]
async fn a_request_body_stream_that_fails_is_a_request_error_naming_the_call() {
    let server = mockito::Server::new_async().await;
    let client = streaming_requests(&server.url(), &["{"], true);

    let error = client
        .send(Request::new(Method::POST, "/tickets"))
        .await
        .unwrap_err();
    assert_transport_error(&error, TransportKind::Request, "POST /api/v3/tickets");
    assert!(!format!("{error} {error:?}").contains(KEY));
}

#[tokio::test]
async fn a_streaming_response_body_from_an_outer_layer_is_read_whole() {
    let client = streaming_answers(&[r#"{"id":"#, r#""t1"}"#], false);

    let answer = client
        .send(Request::new(Method::GET, "/tickets/t1"))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(&answer.body()[..], br#"{"id":"t1"}"#);

    let ticket: Ticket = client
        .execute(Request::new(Method::GET, "/tickets/t1"))
        .await
        .unwrap();
    assert_eq!(ticket.id, "t1");
}

#[tokio::test]
async fn a_response_body_stream_that_fails_is_a_body_error_naming_the_call() {
    let client = streaming_answers(&[r#"{"id":"#], true);

    let error = client
        .execute::<Ticket>(
            Request::new(Method::GET, "/tickets/{id}")
                .path_param("id", "t1")
                .unwrap(),
        )
        .await
        .err()
        .unwrap();
    assert_transport_error(&error, TransportKind::Body, "GET /api/v3/tickets/t1");
}

/// Accepts only futures that borrow nothing and may move to another thread.
fn detached<F: std::future::Future + Send + 'static>(future: F) -> F {
    future
}

#[tokio::test]
async fn the_futures_of_send_and_execute_outlive_the_client_that_made_them() {
    let double = Double::always(Reply::json(r#"{"id":"t1"}"#));
    let client = double.builder().build().unwrap();

    let sent = detached(client.send(Request::new(Method::GET, "/tickets/t1")));
    let executed = detached(client.execute::<Ticket>(Request::new(Method::GET, "/tickets/t1")));
    let decoded =
        detached(client.execute_decoded::<Ticket>(Request::new(Method::GET, "/tickets/t1")));
    drop(client);
    // Futures are lazy: nothing reached the stack yet.
    assert_eq!(double.calls(), 0);

    let sent = tokio::spawn(sent).await.unwrap().unwrap();
    assert_eq!(&sent.body()[..], br#"{"id":"t1"}"#);
    assert_eq!(tokio::spawn(executed).await.unwrap().unwrap().id, "t1");
    let decoded = tokio::spawn(decoded).await.unwrap().unwrap();
    assert_eq!(decoded.value.id, "t1");
    assert_eq!(double.calls(), 3);
}

#[tokio::test]
async fn a_request_that_cannot_be_built_fails_from_the_future_without_reaching_the_stack() {
    let double = Double::always(Reply::json(r#"{"id":"t1"}"#));
    let client = double.builder().build().unwrap();

    let error = client
        .send(Request::new(Method::GET, "/tickets/{ticketId}"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");
    assert!(error.to_string().contains("ticketId"), "{error}");
    assert_eq!(double.calls(), 0);
}
