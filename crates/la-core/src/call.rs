//! The future of one request through the middleware stack.
//!
//! [`Call::new`] does at once everything that needs the client: it builds the `http::Request`
//! and pairs it with a clone of the stack (which gets it when the future is first polled). The
//! future then borrows nothing and holds only the call, so the futures of
//! [`Client::send`](crate::Client::send) and the `execute` methods stay small: each `async`
//! level a request goes through would keep room for every value it moved on, and copy the
//! future it awaits.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use tower::ServiceExt;
use tower::util::Oneshot;

use crate::body::Body;
use crate::client::{BoxService, Client};
use crate::error::{BoxError, Error, Target, TransportKind};
use crate::request::Request;

/// A boxed future reading a streaming response body.
type Collect = Pin<Box<dyn Future<Output = Result<Bytes, BoxError>> + Send>>;

/// One request on its way through the stack; resolves to the answer with its whole body, and the
/// request's method and path for describing a failure later.
pub(crate) struct Call {
    state: State,
    /// The request's method and path (a placeholder while the state is `Refused`).
    target: Target,
}

enum State {
    /// The request could not be built.
    Refused(Option<Error>),
    /// The stack is working on the request.
    Sending(Oneshot<BoxService, http::Request<Body>>),
    /// The stack answered with a streaming body (a custom layer wrapped it); it is being read.
    Reading {
        parts: Option<http::response::Parts>,
        body: Collect,
    },
    /// The answer was handed out.
    Done,
}

impl Call {
    /// Builds the request for `client`, to be sent through a clone of the client's stack.
    pub(crate) fn new(client: &Client, request: Request) -> Self {
        match request.into_http(client.base_url()) {
            Ok(request) => Self {
                target: Target::of(&request),
                state: State::Sending(client.stack().clone().oneshot(request)),
            },
            Err(error) => Self::refused(error),
        }
    }

    /// A call for a request that could not be built: it resolves to `error`.
    pub(crate) fn refused(error: Error) -> Self {
        Self {
            target: Target::unknown(),
            state: State::Refused(Some(error)),
        }
    }

    fn finish(
        &mut self,
        parts: http::response::Parts,
        bytes: Bytes,
    ) -> (http::Response<Bytes>, Target) {
        self.state = State::Done;
        let target = std::mem::replace(&mut self.target, Target::unknown());
        (http::Response::from_parts(parts, bytes), target)
    }
}

impl Future for Call {
    type Output = Result<(http::Response<Bytes>, Target), Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `Call` is `Unpin`: its parts are boxed or hold boxed futures.
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Refused(error) => {
                    let error = error.take().unwrap_or_else(polled_after_completion);
                    this.state = State::Done;
                    return Poll::Ready(Err(error));
                }
                State::Sending(call) => {
                    let response = match std::task::ready!(Pin::new(call).poll(cx)) {
                        Ok(response) => response,
                        Err(error) => {
                            this.state = State::Done;
                            return Poll::Ready(Err(error));
                        }
                    };
                    let (parts, body) = response.into_parts();
                    match body.into_bytes() {
                        Ok(bytes) => return Poll::Ready(Ok(this.finish(parts, bytes))),
                        Err(streaming) => {
                            this.state = State::Reading {
                                parts: Some(parts),
                                body: Box::pin(streaming.collect()),
                            };
                        }
                    }
                }
                State::Reading { parts, body } => {
                    let read = std::task::ready!(body.as_mut().poll(cx));
                    let parts = parts.take();
                    return Poll::Ready(match (read, parts) {
                        (Ok(bytes), Some(parts)) => Ok(this.finish(parts, bytes)),
                        (Err(source), _) => {
                            this.state = State::Done;
                            Err(Error::Transport {
                                kind: TransportKind::Body,
                                context: this.target.context(),
                                source,
                            })
                        }
                        (Ok(_), None) => {
                            this.state = State::Done;
                            Err(polled_after_completion())
                        }
                    });
                }
                State::Done => return Poll::Ready(Err(polled_after_completion())),
            }
        }
    }
}

/// The error of a `Call` polled again after it resolved (a misuse of the future).
fn polled_after_completion() -> Error {
    Error::invalid_request("the request's future was polled again after it completed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_call_gives_its_error_once_then_says_it_was_polled_again() {
        let mut call = Call::refused(Error::invalid_request("no such path"));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match Pin::new(&mut call).poll(&mut cx) {
            Poll::Ready(Err(error)) => assert!(error.to_string().contains("no such path")),
            other => panic!("expected the refusal, got {other:?}"),
        }
        match Pin::new(&mut call).poll(&mut cx) {
            Poll::Ready(Err(error)) => {
                assert!(error.to_string().contains("polled again"), "{error}");
            }
            other => panic!("expected a misuse error, got {other:?}"),
        }
    }
}
