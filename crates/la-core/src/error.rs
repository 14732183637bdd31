//! The one error type of the SDK.
//!
//! Every fallible call returns [`Error`]. Each variant that concerns a request carries the
//! request's method and path (never its query string, which may hold personal data) so that
//! `Display` alone tells a person what failed. No variant ever holds the API key: the transport
//! adds the key at the last moment, and text the server sends back is scrubbed of it before it
//! lands in an error.

use std::fmt;
use std::time::Duration;

use http::{Method, StatusCode};

/// A boxed error, as produced by arbitrary tower services and layers.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type of the SDK.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The method and path of the request an error belongs to.
///
/// The path is the URL path as sent (percent-encoded, without the query string).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestContext {
    /// The HTTP method.
    pub method: Method,
    /// The URL path, without scheme, host or query.
    pub path: String,
}

impl RequestContext {
    /// Creates a context from a method and a path.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
        }
    }

    /// The context of an `http::Request`: its method and URL path.
    pub fn of<B>(request: &http::Request<B>) -> Self {
        Self::new(request.method().clone(), request.uri().path())
    }
}

impl fmt::Display for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// The method and path of a request, kept as cheap clones (a reference count) so that a
/// [`RequestContext`] is built, with its text, only when there is an error to describe.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    method: Method,
    path: Option<http::uri::PathAndQuery>,
}

impl Target {
    /// The target of an `http::Request`.
    pub(crate) fn of<B>(request: &http::Request<B>) -> Self {
        Self {
            method: request.method().clone(),
            path: request.uri().path_and_query().cloned(),
        }
    }

    /// A placeholder for a request that was never built.
    pub(crate) fn unknown() -> Self {
        Self {
            method: Method::GET,
            path: None,
        }
    }

    /// The request's context, for an error.
    pub(crate) fn context(&self) -> RequestContext {
        let path = self.path.as_ref().map_or("", http::uri::PathAndQuery::path);
        RequestContext::new(self.method.clone(), path)
    }
}

/// Which timeout expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// One attempt (connect, send, and read the whole response) took too long.
    Attempt,
    /// The whole operation, retries and rate-limit waits included, took too long.
    Total,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutKind::Attempt => "attempt",
            TimeoutKind::Total => "total",
        })
    }
}

/// What kind of transport failure happened; it decides whether a retry is safe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// No connection could be established: the server cannot have seen the request.
    Connect,
    /// The connection failed after the request may have been sent (reset, closed early).
    Request,
    /// The response headers arrived but reading the body failed.
    Body,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "could not connect",
            TransportKind::Request => "connection failed",
            TransportKind::Body => "reading the response body failed",
        })
    }
}

/// Where a rate limit was hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateLimitSource {
    /// The client's own limiter refused to send (fail-fast mode).
    Client,
}

/// Everything that can go wrong when talking to LiveAgent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a status that is not a success.
    #[error("{context}: the server answered {status}{}{}", fmt_message(.message), fmt_retry_after(.retry_after))]
    Api {
        /// The HTTP status of the answer.
        status: StatusCode,
        /// The server's `message` (from its `ErrorResponse`), else its `error` or `errors`
        /// field, else a description of the body with its start; redacted of the key, then cut
        /// (see [`crate::response::excerpt`]).
        message: Option<String>,
        /// The request that failed.
        context: RequestContext,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },

    /// The client-side rate limiter refused to send the request (fail-fast mode).
    #[error(
        "{context}: client-side rate limit reached; a request may be sent again in {retry_after:?}"
    )]
    RateLimited {
        /// The request that was not sent.
        context: RequestContext,
        /// How long until the limiter allows the next request.
        retry_after: Duration,
        /// Which limiter refused.
        source_of_limit: RateLimitSource,
    },

    /// A timeout expired.
    #[error("{context}: {kind} timeout of {after:?} expired")]
    Timeout {
        /// Which timeout.
        kind: TimeoutKind,
        /// Its configured duration.
        after: Duration,
        /// The request that timed out.
        context: RequestContext,
    },

    /// The connection failed.
    #[error("{context}: {kind}: {source}")]
    Transport {
        /// What failed, which tells whether the server may have acted on the request.
        kind: TransportKind,
        /// The request.
        context: RequestContext,
        /// The underlying error.
        #[source]
        source: BoxError,
    },

    /// The response body is larger than the configured limit.
    #[error("{context}: the response body exceeds the limit of {limit} bytes")]
    ResponseTooLarge {
        /// The request.
        context: RequestContext,
        /// The configured limit in bytes.
        limit: usize,
    },

    /// The response could not be decoded into the expected type.
    #[error("{context}: could not decode the response (status {status}{}) at `{json_path}`: {message}", fmt_content_type(.content_type))]
    Decode {
        /// The request.
        context: RequestContext,
        /// The HTTP status of the answer.
        status: StatusCode,
        /// The response's `Content-Type`, if any.
        content_type: Option<String>,
        /// Where in the JSON document decoding failed (`.` is the root, `[3].status` is the
        /// `status` field of the fourth item). A very deep path keeps its first and last 32
        /// levels around `…(N levels)…`, and long keys are cut, so it stays a few KiB at most.
        json_path: String,
        /// What was wrong.
        message: String,
    },

    /// The request was refused before it was sent because some input was invalid.
    #[error("invalid request: {message}")]
    InvalidRequest {
        /// What is wrong with the input.
        message: String,
    },

    /// The client is misconfigured (bad base URL, account name, missing key, ...).
    #[error("configuration error: {message}")]
    Config {
        /// What is wrong with the configuration.
        message: String,
    },

    /// A listing (`.stream()`, `.pages()`) could not go on: its paging parameters cannot be
    /// used, or the server's pages cannot be followed (a repeated page, a cursor loop, a next
    /// page that cannot be numbered). Items of the pages before were delivered.
    #[error("{context}: {kind}: {message}")]
    Pagination {
        /// The listing's request.
        context: RequestContext,
        /// What stopped the listing.
        kind: crate::pagination::PaginationErrorKind,
        /// The details (a cursor in it is scrubbed of the API key).
        message: String,
    },

    /// A custom middleware layer failed with an error of its own.
    #[error("middleware error: {0}")]
    Middleware(#[source] BoxError),
}

fn fmt_message(message: &Option<String>) -> String {
    match message {
        Some(m) if !m.is_empty() => format!(": {m}"),
        _ => String::new(),
    }
}

fn fmt_retry_after(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(" (retry after {d:?})"),
        None => String::new(),
    }
}

fn fmt_content_type(content_type: &Option<String>) -> String {
    match content_type {
        Some(ct) => format!(", content type `{ct}`"),
        None => String::new(),
    }
}

impl Error {
    /// An [`Error::InvalidRequest`] with the given message.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Error::InvalidRequest {
            message: message.into(),
        }
    }

    /// An [`Error::Config`] with the given message.
    pub fn config(message: impl Into<String>) -> Self {
        Error::Config {
            message: message.into(),
        }
    }

    /// Turns any boxed error into an [`Error`]: an `Error` inside the box is unwrapped, anything
    /// else becomes [`Error::Middleware`].
    pub fn from_boxed(error: BoxError) -> Self {
        match error.downcast::<Error>() {
            Ok(error) => *error,
            Err(other) => Error::Middleware(other),
        }
    }

    /// The HTTP status, for [`Error::Api`] and [`Error::Decode`].
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. } | Error::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The method and path of the request, when the error concerns one.
    pub fn context(&self) -> Option<&RequestContext> {
        match self {
            Error::Api { context, .. }
            | Error::RateLimited { context, .. }
            | Error::Timeout { context, .. }
            | Error::Transport { context, .. }
            | Error::ResponseTooLarge { context, .. }
            | Error::Decode { context, .. }
            | Error::Pagination { context, .. } => Some(context),
            Error::InvalidRequest { .. } | Error::Config { .. } | Error::Middleware(_) => None,
        }
    }

    /// How long to wait before trying again, when the server or the limiter said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. } => *retry_after,
            Error::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// True for a 429 answer from the server and for the client-side limiter's refusal.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Error::RateLimited { .. })
            || self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
    }

    /// True when the server answered 404 Not Found.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// True when a timeout expired.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_display_names_request_status_and_message() {
        let err = Error::Api {
            status: StatusCode::NOT_FOUND,
            message: Some("Ticket not found".into()),
            context: RequestContext::new(Method::GET, "/api/v3/tickets/abc"),
            retry_after: None,
        };
        assert_eq!(
            err.to_string(),
            "GET /api/v3/tickets/abc: the server answered 404 Not Found: Ticket not found"
        );
        assert!(err.is_not_found());
    }

    #[test]
    fn retry_after_is_shown_and_exposed() {
        let err = Error::Api {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: None,
            context: RequestContext::new(Method::POST, "/api/v3/tickets"),
            retry_after: Some(Duration::from_secs(3)),
        };
        assert!(
            err.to_string()
                .ends_with("429 Too Many Requests (retry after 3s)")
        );
        assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
        assert!(err.is_rate_limited());
    }

    #[test]
    fn boxed_sdk_errors_are_unwrapped() {
        let boxed: BoxError = Box::new(Error::config("bad"));
        assert!(matches!(Error::from_boxed(boxed), Error::Config { .. }));
        let other: BoxError = "plain".into();
        assert!(matches!(Error::from_boxed(other), Error::Middleware(_)));
    }

    #[test]
    fn error_stays_small() {
        assert!(std::mem::size_of::<Error>() <= 128);
    }
}
