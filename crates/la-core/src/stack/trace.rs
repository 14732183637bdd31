//! Tracing: one span per call that names the method, path and operation; the answer's status and
//! latency at DEBUG, failures (a 5xx answer or an error) at WARN.
//!
//! The span never records the query string or any header. The layer sits outside the auth layer,
//! so the `apikey` header does not even exist yet when it looks at a request; and the auth layer
//! marks the header sensitive, so a layer that does print headers shows `Sensitive` instead.
//!
//! Events, all inside the `liveagent.request` span:
//!
//! | when | level | message | fields |
//! |---|---|---|---|
//! | the call starts | DEBUG | `started processing request` | |
//! | an answer below 500 | DEBUG | `finished processing request` | `status`, `latency_ms` |
//! | an answer of 500 or more | WARN | `response failed` | `status`, `latency_ms` |
//! | an error | WARN | `response failed` | `error`, `latency_ms` |
//!
//! The SDK's stack buffers every body, so unlike tower-http's `Trace` this layer does not wrap
//! the response body for per-chunk events: it has nothing to report that the status and latency
//! do not, and the wrapping cost about a fifth of the stack's own time per request (see
//! BENCHMARKS.md). The clock is read only when some subscriber listens at WARN or finer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use pin_project_lite::pin_project;
use tracing::{Level, Span};

use crate::error::Error;
use crate::request::RequestMeta;

/// A layer that traces each call: a span, a start event, and the outcome with its latency.
#[derive(Clone, Copy, Debug, Default)]
pub struct TracingLayer;

impl TracingLayer {
    /// The layer.
    pub fn new() -> Self {
        Self
    }
}

impl<S> tower::Layer<S> for TracingLayer {
    type Service = Tracing<S>;

    fn layer(&self, inner: S) -> Tracing<S> {
        Tracing { inner }
    }
}

/// The service made by [`TracingLayer`].
#[derive(Clone, Debug)]
pub struct Tracing<S> {
    inner: S,
}

/// The `liveagent.request` span of a request, at DEBUG level, with `method`, `path` and
/// `operation` (the path template) fields.
fn request_span<B>(request: &http::Request<B>) -> Span {
    let operation = request
        .extensions()
        .get::<RequestMeta>()
        .map_or("", |meta| meta.path_template);
    tracing::debug_span!(
        "liveagent.request",
        method = %request.method(),
        path = request.uri().path(),
        operation = operation,
    )
}

impl<S, B, R> tower::Service<http::Request<B>> for Tracing<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>, Error = Error>,
{
    type Response = http::Response<R>;
    type Error = Error;
    type Future = TracingFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let span = request_span(&request);
        let start = (!span.is_disabled() || tracing::enabled!(Level::WARN)).then(Instant::now);
        let inner = {
            let _entered = span.enter();
            tracing::debug!("started processing request");
            self.inner.call(request)
        };
        TracingFuture { inner, span, start }
    }
}

pin_project! {
    /// The future of a [`Tracing`] service.
    pub struct TracingFuture<F> {
        #[pin]
        inner: F,
        span: Span,
        start: Option<Instant>,
    }
}

impl<F, R> Future for TracingFuture<F>
where
    F: Future<Output = Result<http::Response<R>, Error>>,
{
    type Output = Result<http::Response<R>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let output = std::task::ready!(this.inner.poll(cx));
        if let Some(start) = this.start {
            let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
            match &output {
                Ok(response) if response.status().is_server_error() => tracing::warn!(
                    status = response.status().as_u16(),
                    latency_ms,
                    "response failed"
                ),
                Ok(response) => tracing::debug!(
                    status = response.status().as_u16(),
                    latency_ms,
                    "finished processing request"
                ),
                Err(error) => tracing::warn!(error = %error, latency_ms, "response failed"),
            }
        }
        Poll::Ready(output)
    }
}
