//! Timeouts: one layer type, used twice in the default stack (around one attempt, and around
//! the whole operation with its retries and rate-limit waits).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

use crate::error::{Error, Target, TimeoutKind};

/// A layer that fails a call with [`Error::Timeout`] when it takes longer than a duration.
#[derive(Clone, Copy, Debug)]
pub struct TimeoutLayer {
    after: Duration,
    kind: TimeoutKind,
}

impl TimeoutLayer {
    /// A timeout around each attempt.
    pub fn attempt(after: Duration) -> Self {
        Self {
            after,
            kind: TimeoutKind::Attempt,
        }
    }

    /// A timeout around the whole operation.
    pub fn total(after: Duration) -> Self {
        Self {
            after,
            kind: TimeoutKind::Total,
        }
    }
}

impl<S> tower::Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;

    fn layer(&self, inner: S) -> Timeout<S> {
        Timeout {
            inner,
            after: self.after,
            kind: self.kind,
        }
    }
}

/// The service made by [`TimeoutLayer`].
#[derive(Clone, Debug)]
pub struct Timeout<S> {
    inner: S,
    after: Duration,
    kind: TimeoutKind,
}

impl<S, B, R> tower::Service<http::Request<B>> for Timeout<S>
where
    S: tower::Service<http::Request<B>, Response = R, Error = Error>,
{
    type Response = R;
    type Error = Error;
    type Future = TimeoutFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The error's text is built only if the timer fires.
        let target = Target::of(&request);
        TimeoutFuture {
            inner: self.inner.call(request),
            sleep: tokio::time::sleep(self.after),
            after: self.after,
            kind: self.kind,
            target,
        }
    }
}

pin_project! {
    /// The future of a [`Timeout`] call.
    pub struct TimeoutFuture<F> {
        #[pin]
        inner: F,
        #[pin]
        sleep: tokio::time::Sleep,
        after: Duration,
        kind: TimeoutKind,
        target: Target,
    }
}

impl<F, R> Future for TimeoutFuture<F>
where
    F: Future<Output = Result<R, Error>>,
{
    type Output = Result<R, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.inner.poll(cx) {
            return Poll::Ready(output);
        }
        match this.sleep.poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Error::Timeout {
                kind: *this.kind,
                after: *this.after,
                context: this.target.context(),
            })),
            Poll::Pending => Poll::Pending,
        }
    }
}
