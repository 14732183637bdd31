//! Tracing: tower-http's `Trace` with a span that names the method, path and operation.
//!
//! The span never records the query string or any header. The layer sits outside the auth layer,
//! so the `apikey` header does not even exist yet when it looks at a request; and the auth layer
//! marks the header sensitive, so a layer that does print headers shows `Sensitive` instead.

use tower_http::classify::ServerErrorsAsFailures;
use tower_http::classify::{NeverClassifyEos, ServerErrorsFailureClass, SharedClassifier};
use tower_http::map_response_body::MapResponseBody;
use tower_http::trace::{
    DefaultOnBodyChunk, DefaultOnEos, DefaultOnFailure, DefaultOnRequest, DefaultOnResponse,
    MakeSpan, Trace,
};
use tracing::{Level, Span};

use crate::body::Body;
use crate::request::RequestMeta;

/// Makes one `liveagent.request` span per request, at DEBUG level, with `method`, `path` and
/// `operation` (the path template) fields.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &http::Request<B>) -> Span {
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
}

/// The response body type that tower-http's `Trace` wraps around [`Body`].
pub type TracedBody = tower_http::trace::ResponseBody<
    Body,
    NeverClassifyEos<ServerErrorsFailureClass>,
    DefaultOnBodyChunk,
    DefaultOnEos,
    DefaultOnFailure,
>;

/// The service made by [`TracingLayer`]: tower-http's `Trace`, with the response body turned
/// back into a [`Body`] so that the layers around it see the same types as the layers inside.
pub type Traced<S> = MapResponseBody<
    Trace<
        S,
        SharedClassifier<ServerErrorsAsFailures>,
        RequestSpan,
        DefaultOnRequest,
        DefaultOnResponse,
        DefaultOnBodyChunk,
        DefaultOnEos,
        DefaultOnFailure,
    >,
    fn(TracedBody) -> Body,
>;

/// A layer that traces each request (span, request and response events, failures).
#[derive(Clone, Copy, Debug, Default)]
pub struct TracingLayer;

impl TracingLayer {
    /// The layer.
    pub fn new() -> Self {
        Self
    }
}

impl<S> tower::Layer<S> for TracingLayer {
    type Service = Traced<S>;

    fn layer(&self, inner: S) -> Traced<S> {
        let trace = Trace::new_for_http(inner)
            .make_span_with(RequestSpan)
            .on_request(DefaultOnRequest::new().level(Level::DEBUG))
            .on_response(DefaultOnResponse::new().level(Level::DEBUG))
            .on_failure(DefaultOnFailure::new().level(Level::WARN));
        MapResponseBody::new(trace, Body::new as fn(TracedBody) -> Body)
    }
}
