//! A scripted transport for unit tests of code that uses the SDK (the `test-util` feature).
//!
//! [`ScriptedTransport`] is a tower service that takes the place of reqwest under a
//! [`Client`](crate::Client): it answers each request it receives with the next of the
//! [`Answer`]s it was given, in order, and records every request ([`RecordedRequest`]) so that a
//! test can check what its code sent. Nothing goes over the network and no server runs.
//!
//! The transport sits under the whole default stack, so the client behaves as it does against
//! a server: the `apikey` header is set, error statuses become [`Error::Api`], a retryable
//! answer (a 503 to a `GET`, a connection failure) is retried and takes the next answer. Build
//! the client with [`RetryConfig::disabled`](crate::RetryConfig::disabled) to see each answer
//! once, and with [`ClientBuilder::no_rate_limit`](crate::ClientBuilder::no_rate_limit) when a
//! test sends more requests than the default limiter's burst.
//!
//! A request that arrives when no answer is left is recorded, and fails with an
//! [`Error::Config`] that says which request it was and how many answers were given.
//!
//! ```
//! use la_core::testing::{Answer, ScriptedTransport};
//! use la_core::{Client, Method, Request, RetryConfig};
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), la_core::Error> {
//! let transport = ScriptedTransport::new()
//!     .answer(Answer::json(200, json!({ "id": "abc", "subject": "Printer on fire" })))
//!     .answer(Answer::json(404, json!({ "message": "Ticket not found" })));
//! let client = Client::from_service(transport.clone())
//!     .base_url("https://acme.ladesk.com/api/v3")
//!     .api_key("test-key-0123")
//!     .retry(RetryConfig::disabled())
//!     .build()?;
//!
//! let ticket: serde_json::Value = client
//!     .execute(Request::new(Method::GET, "/tickets/{ticketId}").path_param("ticketId", "abc")?)
//!     .await?;
//! assert_eq!(ticket["subject"], "Printer on fire");
//!
//! let missing = client
//!     .execute::<serde_json::Value>(
//!         Request::new(Method::GET, "/tickets/{ticketId}").path_param("ticketId", "zzz")?,
//!     )
//!     .await;
//! assert!(missing.is_err_and(|error| error.is_not_found()));
//!
//! let requests = transport.requests();
//! assert_eq!(requests.len(), 2);
//! assert_eq!(requests[0].method(), Method::GET);
//! assert_eq!(requests[0].path(), "/api/v3/tickets/abc");
//! assert_eq!(requests[0].header("apikey"), Some("test-key-0123"));
//! assert!(!format!("{:?}", requests[0]).contains("test-key-0123"));
//! transport.assert_all_used();
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::future::{Ready, ready};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use tower::Service;

use crate::body::Body;
use crate::error::{Error, RequestContext, TransportKind};

/// The header that carries the API key; its value is never shown by `Debug`.
const API_KEY_HEADER: &str = "apikey";

/// One canned answer of a [`ScriptedTransport`]: a response, or a failed connection.
#[derive(Clone)]
pub struct Answer {
    kind: AnswerKind,
}

#[derive(Clone)]
enum AnswerKind {
    Response {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    },
    Transport(TransportKind),
}

impl Answer {
    /// A response with the given status and no body.
    ///
    /// A status outside 100..=999 is answered as 500 Internal Server Error.
    pub fn status(status: u16) -> Self {
        Self {
            kind: AnswerKind::Response {
                status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                headers: HeaderMap::new(),
                body: Bytes::new(),
            },
        }
    }

    /// A response with the given status and a JSON body (`Content-Type: application/json`).
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self::status(status)
            .header("content-type", "application/json")
            .body(body.to_string())
    }

    /// A response with the given status and a body of raw bytes, sent as they are (to test
    /// what the SDK does with a malformed or unexpected body). No `Content-Type` is set.
    pub fn raw(status: u16, body: impl Into<Bytes>) -> Self {
        Self::status(status).body(body)
    }

    /// A connection that failed instead of answering: the client sees an
    /// [`Error::Transport`] of this kind (after its retries, if the request is retryable).
    pub fn transport_error(kind: TransportKind) -> Self {
        Self {
            kind: AnswerKind::Transport(kind),
        }
    }

    /// Adds a response header (several calls with one name add several values). A name or value
    /// that is not valid in HTTP is skipped; a transport error has no headers.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let AnswerKind::Response { headers, .. } = &mut self.kind
            && let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            )
        {
            headers.append(name, value);
        }
        self
    }

    /// Replaces the response body; a transport error has no body.
    pub fn body(mut self, bytes: impl Into<Bytes>) -> Self {
        if let AnswerKind::Response { body, .. } = &mut self.kind {
            *body = bytes.into();
        }
        self
    }
}

impl fmt::Debug for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            AnswerKind::Response {
                status,
                headers,
                body,
            } => f
                .debug_struct("Answer")
                .field("status", status)
                .field("headers", headers)
                .field("body", &String::from_utf8_lossy(body))
                .finish(),
            AnswerKind::Transport(kind) => f
                .debug_struct("Answer")
                .field("transport_error", kind)
                .finish(),
        }
    }
}

/// A request a [`ScriptedTransport`] received, as it left the client's stack.
///
/// Its `Debug` output never shows the value of the `apikey` header;
/// [`header`](Self::header) returns it, for a test that checks the key sent.
#[derive(Clone)]
pub struct RecordedRequest {
    method: Method,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Option<Bytes>,
}

impl RecordedRequest {
    /// The HTTP method.
    pub fn method(&self) -> Method {
        self.method.clone()
    }

    /// The URL path as sent (percent-encoded, with the base URL's path, such as
    /// `/api/v3/tickets/abc`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query string as sent (percent-encoded, without the `?`), if there was one.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// The query's parameters, decoded, in the order they were sent.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query
            .as_deref()
            .and_then(|query| serde_urlencoded::from_str(query).ok())
            .unwrap_or_default()
    }

    /// The decoded value of the first query parameter with this name.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// The request headers. The `apikey` value is marked sensitive, so that `Debug` hides it.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The first value of a header, when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The body's bytes; empty when there was none. `None` for a streaming body, which the
    /// SDK never sends.
    pub fn body(&self) -> Option<&[u8]> {
        self.body.as_deref()
    }

    /// The body read as JSON; `None` when there is no body or it is not JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        self.body
            .as_deref()
            .filter(|body| !body.is_empty())
            .and_then(|body| serde_json::from_slice(body).ok())
    }
}

impl fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Headers<'a>(&'a HeaderMap);
        impl fmt::Debug for Headers<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(self.0.iter().map(|(name, value)| {
                        let shown: &dyn fmt::Debug =
                            if name.as_str() == API_KEY_HEADER || value.is_sensitive() {
                                &"[redacted]"
                            } else {
                                value
                            };
                        (name, format!("{shown:?}"))
                    }))
                    .finish()
            }
        }
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &Headers(&self.headers))
            .field(
                "body",
                &self
                    .body
                    .as_deref()
                    .map(|body| String::from_utf8_lossy(body)),
            )
            .finish()
    }
}

#[derive(Default)]
struct Script {
    answers: VecDeque<Answer>,
    given: usize,
    requests: Vec<RecordedRequest>,
}

/// A transport that answers from a script and records what it receives; see the
/// [module documentation](self).
///
/// Clones share the script and the record: give one clone to
/// [`Client::from_service`](crate::Client::from_service) or
/// [`ClientBuilder::transport`](crate::ClientBuilder::transport) and keep another for the
/// test's assertions.
#[derive(Clone, Default)]
pub struct ScriptedTransport {
    script: Arc<Mutex<Script>>,
}

impl ScriptedTransport {
    /// A transport with no answers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an answer after those already given, and returns the transport (to chain).
    pub fn answer(self, answer: Answer) -> Self {
        self.push(answer);
        self
    }

    /// Adds an answer after those already given (also while a client is using the transport).
    pub fn push(&self, answer: Answer) {
        let mut script = self.lock();
        script.answers.push_back(answer);
        script.given += 1;
    }

    /// The requests received so far, in order (including one that found no answer left).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// The last request received, if any.
    pub fn last_request(&self) -> Option<RecordedRequest> {
        self.lock().requests.last().cloned()
    }

    /// How many answers have not been used yet.
    pub fn remaining(&self) -> usize {
        self.lock().answers.len()
    }

    /// Checks that every answer was used.
    ///
    /// # Panics
    ///
    /// When answers are left, with how many and the requests received: it is an assertion for
    /// tests.
    #[track_caller]
    pub fn assert_all_used(&self) {
        let script = self.lock();
        assert!(
            script.answers.is_empty(),
            "the scripted transport has {} of its {} answers left; requests received: {:#?}",
            script.answers.len(),
            script.given,
            script.requests,
        );
    }

    /// The script; a test that panicked while holding the lock leaves it usable.
    fn lock(&self) -> MutexGuard<'_, Script> {
        self.script
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a request and picks its answer.
    fn respond(&self, request: http::Request<Body>) -> Result<http::Response<Body>, Error> {
        let context = RequestContext::of(&request);
        let (parts, body) = request.into_parts();
        let mut headers = parts.headers;
        if let Some(key) = headers.get_mut(API_KEY_HEADER) {
            key.set_sensitive(true);
        }
        let recorded = RecordedRequest {
            method: parts.method,
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers,
            body: body.into_bytes().ok(),
        };

        let mut script = self.lock();
        script.requests.push(recorded);
        let number = script.requests.len();
        let Some(answer) = script.answers.pop_front() else {
            return Err(Error::config(format!(
                "the scripted transport has no answer left for request {number} ({context}): \
                 it was given {} answers",
                script.given
            )));
        };
        drop(script);

        match answer.kind {
            AnswerKind::Response {
                status,
                headers,
                body,
            } => {
                let mut response = http::Response::new(Body::full(body));
                *response.status_mut() = status;
                *response.headers_mut() = headers;
                Ok(response)
            }
            AnswerKind::Transport(kind) => Err(Error::Transport {
                kind,
                context,
                source: "a transport error scripted by the test".into(),
            }),
        }
    }
}

impl fmt::Debug for ScriptedTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let script = self.lock();
        f.debug_struct("ScriptedTransport")
            .field("answers_left", &script.answers.len())
            .field("answers_given", &script.given)
            .field("requests", &script.requests)
            .finish()
    }
}

impl Service<http::Request<Body>> for ScriptedTransport {
    type Response = http::Response<Body>;
    type Error = Error;
    type Future = Ready<Result<http::Response<Body>, Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        ready(self.respond(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Client, Request, RetryConfig};
    use serde_json::{Value, json};
    use std::time::Duration;

    const KEY: &str = "unit-test-key-42";

    fn client(transport: &ScriptedTransport) -> Client {
        let client = Client::from_service(transport.clone())
            .base_url("https://acme.ladesk.com/api/v3")
            .api_key(KEY)
            .retry(RetryConfig::disabled())
            .build();
        match client {
            Ok(client) => client,
            Err(error) => unreachable!("a valid configuration: {error}"),
        }
    }

    #[tokio::test]
    async fn answers_in_order_and_records_each_request() -> Result<(), Error> {
        let transport = ScriptedTransport::new()
            .answer(Answer::json(200, json!({"id": "t1"})).header("x-answer", "first"))
            .answer(Answer::json(201, json!({"id": "t2"})));
        let client = client(&transport);

        let first: Value = client
            .execute(
                Request::new(Method::GET, "/tickets")
                    .query("_page", 2)
                    .query("_filters", "[[\"status\",\"=\",\"C\"]]"),
            )
            .await?;
        let second: Value = client
            .execute(Request::new(Method::POST, "/tickets").json(&json!({"subject": "Hi"}))?)
            .await?;
        assert_eq!(first, json!({"id": "t1"}));
        assert_eq!(second, json!({"id": "t2"}));

        let requests = transport.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].method(), Method::GET);
        assert_eq!(requests[0].path(), "/api/v3/tickets");
        assert_eq!(requests[0].query_param("_page").as_deref(), Some("2"));
        assert_eq!(
            requests[0].query_param("_filters").as_deref(),
            Some("[[\"status\",\"=\",\"C\"]]")
        );
        assert_eq!(requests[0].json(), None);
        assert_eq!(requests[1].method(), Method::POST);
        assert_eq!(requests[1].json(), Some(json!({"subject": "Hi"})));
        assert_eq!(requests[1].header("apikey"), Some(KEY));
        assert_eq!(transport.remaining(), 0);
        transport.assert_all_used();
        Ok(())
    }

    #[tokio::test]
    async fn error_statuses_and_headers_reach_the_caller() {
        let transport = ScriptedTransport::new().answer(
            Answer::json(404, json!({"message": "Ticket not found"})).header("retry-after", "7"),
        );
        let result: Result<Value, Error> = client(&transport)
            .execute(Request::new(Method::GET, "/tickets/abc"))
            .await;
        let error = match result {
            Err(error) => error,
            Ok(value) => unreachable!("a 404 decoded as {value}"),
        };
        assert!(error.is_not_found());
        assert!(error.to_string().contains("Ticket not found"), "{error}");
    }

    #[tokio::test]
    async fn a_transport_error_is_a_transport_error() {
        let transport =
            ScriptedTransport::new().answer(Answer::transport_error(TransportKind::Connect));
        let result: Result<Value, Error> = client(&transport)
            .execute(Request::new(Method::GET, "/tickets"))
            .await;
        assert!(
            matches!(
                result,
                Err(Error::Transport {
                    kind: TransportKind::Connect,
                    ..
                })
            ),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn a_retried_request_takes_the_next_answer() -> Result<(), Error> {
        let transport = ScriptedTransport::new()
            .answer(Answer::status(503))
            .answer(Answer::json(200, json!([])));
        let client = Client::from_service(transport.clone())
            .base_url("https://acme.ladesk.com/api/v3")
            .api_key(KEY)
            .retry(
                RetryConfig::default().backoff(Duration::from_millis(1), Duration::from_millis(2)),
            )
            .build()?;
        let tickets: Value = client
            .execute(Request::new(Method::GET, "/tickets"))
            .await?;
        assert_eq!(tickets, json!([]));
        assert_eq!(transport.requests().len(), 2);
        Ok(())
    }

    #[tokio::test]
    async fn running_out_of_answers_fails_clearly_and_records_the_request() {
        let transport = ScriptedTransport::new().answer(Answer::json(200, json!({})));
        let client = client(&transport);
        let _: Result<Value, Error> = client.execute(Request::new(Method::GET, "/ping")).await;
        let result: Result<Value, Error> = client
            .execute(Request::new(Method::DELETE, "/tickets/abc"))
            .await;
        let message = match result {
            Err(error @ Error::Config { .. }) => error.to_string(),
            other => unreachable!("expected a configuration error, got {other:?}"),
        };
        assert!(message.contains("no answer left"), "{message}");
        assert!(message.contains("request 2"), "{message}");
        assert!(message.contains("DELETE /api/v3/tickets/abc"), "{message}");
        assert!(message.contains("given 1 answers"), "{message}");
        assert_eq!(transport.requests().len(), 2);
    }

    #[tokio::test]
    async fn debug_never_shows_the_api_key() -> Result<(), Error> {
        let transport = ScriptedTransport::new().answer(Answer::json(200, json!({})));
        let _: Value = client(&transport)
            .execute(Request::new(Method::GET, "/ping"))
            .await?;
        let request = transport.last_request();
        let shown = format!(
            "{request:?} {transport:?} {:?}",
            transport.requests()[0].headers()
        );
        assert!(!shown.contains(KEY), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
        assert!(shown.contains("/api/v3/ping"), "{shown}");
        Ok(())
    }

    #[test]
    #[should_panic(expected = "1 of its 2 answers left")]
    fn assert_all_used_names_what_is_left() {
        let transport = ScriptedTransport::new()
            .answer(Answer::status(204))
            .answer(Answer::status(204));
        let _ = transport.respond(http::Request::new(Body::empty()));
        transport.assert_all_used();
    }

    #[test]
    fn invalid_headers_and_statuses_do_not_panic() {
        let answer = Answer::status(42)
            .header("bad name", "x")
            .header("ok", "\u{7f}");
        let AnswerKind::Response {
            status, headers, ..
        } = answer.kind
        else {
            unreachable!("a response")
        };
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(headers.is_empty());
    }
}
