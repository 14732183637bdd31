//! Helpers shared by the integration tests: a scripted transport, a counting limiter, a
//! trace capture, and client presets.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use la_core::stack::rate_limit::{BoxFuture, Denied};
use la_core::{
    Body, Client, ClientBuilder, Error, Limiter, RequestContext, RetryConfig, TransportKind,
};

/// The API key every test client uses; no test output may ever contain it.
pub const KEY: &str = "la-test-key-7Hq2Zx9Pw4";

/// The base URL of the scripted transport's clients.
pub const DOUBLE_BASE: &str = "https://acme.ladesk.com/api/v3";

/// Retries with very short backoff delays, for tests against a real socket.
pub fn fast_retry() -> RetryConfig {
    RetryConfig::default().backoff(Duration::from_millis(1), Duration::from_millis(2))
}

/// A client builder for a mockito server: its URL plus `/api/v3`, the test key, fast retries
/// and no client-side rate limit.
pub fn mock_builder(server_url: &str) -> ClientBuilder {
    Client::builder()
        .base_url(&format!("{server_url}/api/v3"))
        .api_key(KEY)
        .retry(fast_retry())
        .no_rate_limit()
}

/// What the scripted transport does for one call.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Answers with a status, headers and a body.
    Http {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Fails as if no connection could be established.
    Connect,
    /// Fails as if the connection broke after the request was sent.
    Broken,
    /// Never answers.
    Hang,
    /// Answers with the reply after a delay.
    After(Duration, Box<Reply>),
}

impl Reply {
    /// An answer with this status and an empty body.
    pub fn status(status: u16) -> Self {
        Reply::Http {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// A 200 answer with a JSON body.
    pub fn json(body: &str) -> Self {
        Reply::status(200)
            .header("content-type", "application/json")
            .body(body)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Reply::Http { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    /// Sets the body.
    pub fn body(mut self, text: &str) -> Self {
        if let Reply::Http { body, .. } = &mut self {
            *body = text.to_owned();
        }
        self
    }

    fn into_result(
        self,
        context: RequestContext,
    ) -> Pin<Box<dyn Future<Output = Result<http::Response<Body>, Error>> + Send>> {
        Box::pin(async move {
            match self {
                Reply::Http {
                    status,
                    headers,
                    body,
                } => {
                    let mut builder = http::Response::builder().status(status);
                    for (name, value) in headers {
                        builder = builder.header(name, value);
                    }
                    Ok(builder.body(Body::from(body)).unwrap())
                }
                Reply::Connect => Err(Error::Transport {
                    kind: TransportKind::Connect,
                    context,
                    source: "connection refused".into(),
                }),
                Reply::Broken => Err(Error::Transport {
                    kind: TransportKind::Request,
                    context,
                    source: "connection reset by peer".into(),
                }),
                Reply::Hang => std::future::pending().await,
                Reply::After(delay, reply) => {
                    tokio::time::sleep(delay).await;
                    reply.into_result(context).await
                }
            }
        })
    }
}

/// One request the scripted transport received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: http::Method,
    pub uri: http::Uri,
    pub headers: http::HeaderMap,
    pub at: tokio::time::Instant,
}

type Script = dyn Fn(usize, &http::Request<Body>) -> Reply + Send + Sync;

/// A transport that answers from a script and records what it received.
#[derive(Clone)]
pub struct Double {
    script: Arc<Script>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Double {
    /// Answers call number `n` (from 0) with `script(n, request)`.
    pub fn new(
        script: impl Fn(usize, &http::Request<Body>) -> Reply + Send + Sync + 'static,
    ) -> Self {
        Self {
            script: Arc::new(script),
            seen: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Answers with the replies in order, repeating the last one.
    pub fn sequence(replies: Vec<Reply>) -> Self {
        assert!(!replies.is_empty());
        Self::new(move |n, _| replies[n.min(replies.len() - 1)].clone())
    }

    /// Always answers the same.
    pub fn always(reply: Reply) -> Self {
        Self::sequence(vec![reply])
    }

    /// How many requests arrived.
    pub fn calls(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// The requests that arrived.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// A client over this double that asks `limiter` for a token before each attempt and fails
    /// at once when it says no.
    pub fn fail_fast_client(&self, limiter: Arc<dyn Limiter>) -> Client {
        self.builder()
            .limiter(limiter)
            .rate_limit_mode(la_core::RateLimitMode::FailFast)
            .build()
            .unwrap()
    }

    /// A builder whose transport is this double, for `https://acme.ladesk.com/api/v3` with the
    /// test key and the default settings otherwise.
    pub fn builder(&self) -> ClientBuilder {
        let double = self.clone();
        Client::from_service(tower::service_fn(move |request: http::Request<Body>| {
            let reply = {
                let mut seen = double.seen.lock().unwrap();
                let n = seen.len();
                seen.push(Seen {
                    method: request.method().clone(),
                    uri: request.uri().clone(),
                    headers: request.headers().clone(),
                    at: tokio::time::Instant::now(),
                });
                (double.script)(n, &request)
            };
            reply.into_result(RequestContext::of(&request))
        }))
        .base_url(DOUBLE_BASE)
        .api_key(KEY)
    }
}

/// A limiter that always grants a token and counts how often it was asked.
#[derive(Debug, Default)]
pub struct CountingLimiter {
    acquired: AtomicUsize,
}

impl CountingLimiter {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn count(&self) -> usize {
        self.acquired.load(Ordering::SeqCst)
    }
}

impl Limiter for CountingLimiter {
    fn acquire(&self) -> BoxFuture<'_, Result<(), Denied>> {
        self.acquired.fetch_add(1, Ordering::SeqCst);
        Box::pin(std::future::ready(Ok(())))
    }
}

/// A buffer that a `tracing_subscriber` fmt subscriber writes into.
#[derive(Clone, Debug, Default)]
pub struct TraceBuffer {
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl TraceBuffer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes.lock().unwrap()).into_owned()
    }
}

impl io::Write for TraceBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for TraceBuffer {
    type Writer = TraceBuffer;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Installs a TRACE-level fmt subscriber writing into a fresh buffer, for the current thread
/// until the guard is dropped.
pub fn capture_traces() -> (TraceBuffer, tracing::subscriber::DefaultGuard) {
    let buffer = TraceBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(buffer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    (buffer, guard)
}

/// Asserts that `text` does not contain the test key.
pub fn assert_no_key(what: &str, text: &str) {
    assert!(!text.contains(KEY), "{what} leaks the API key: {text}");
}
