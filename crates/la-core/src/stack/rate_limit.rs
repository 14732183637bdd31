//! Client-side rate limiting.
//!
//! LiveAgent allows 180 requests per minute per API key. The [`RateLimitLayer`] takes one token
//! from a [`Limiter`] before every attempt; it sits inside the retry layer, so retries spend
//! tokens too and cannot push the client over the limit. By default it waits until a token is
//! free; in [`RateLimitMode::FailFast`] it fails at once with [`Error::RateLimited`].
//!
//! [`Limiter`] is the seam for other limiters: the default [`LocalLimiter`] (GCRA through
//! `governor`) lives in the process and is shared by every clone of a client; a limiter whose
//! state lives elsewhere (shared by many processes) implements the same trait.

use std::fmt;
use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use pin_project_lite::pin_project;

use crate::body::Body;
use crate::error::{Error, RateLimitSource, RequestContext};

/// A boxed future, as returned by [`Limiter::acquire`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How many requests may be sent per time window, and how many at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    requests: NonZeroU32,
    per: Duration,
    burst: NonZeroU32,
}

/// LiveAgent's published limit: 180 requests per minute per API key.
pub const LIVEAGENT_REQUESTS_PER_MINUTE: u32 = 180;

/// The default burst: requests that may be sent back to back before the steady pace applies.
pub const DEFAULT_BURST: u32 = 5;

impl RateLimit {
    /// `requests` per `per`, with the default burst (capped at `requests`).
    pub fn new(requests: u32, per: Duration) -> Result<Self, Error> {
        let requests = NonZeroU32::new(requests)
            .ok_or_else(|| Error::config("a rate limit must allow at least one request"))?;
        if per.is_zero() {
            return Err(Error::config(
                "a rate limit window must be longer than zero",
            ));
        }
        let burst = NonZeroU32::new(DEFAULT_BURST.min(requests.get())).unwrap_or(requests);
        Ok(Self {
            requests,
            per,
            burst,
        })
    }

    /// `requests` per minute.
    pub fn per_minute(requests: u32) -> Result<Self, Error> {
        Self::new(requests, Duration::from_secs(60))
    }

    /// LiveAgent's limit: 180 requests per minute, burst of [`DEFAULT_BURST`].
    pub fn liveagent_default() -> Self {
        Self {
            requests: NonZeroU32::MIN.saturating_add(LIVEAGENT_REQUESTS_PER_MINUTE - 1),
            per: Duration::from_secs(60),
            burst: NonZeroU32::MIN.saturating_add(DEFAULT_BURST - 1),
        }
    }

    /// Sets how many requests may go out back to back (at least 1, at most `requests`).
    pub fn burst(mut self, burst: u32) -> Result<Self, Error> {
        self.burst = NonZeroU32::new(burst)
            .filter(|b| *b <= self.requests)
            .ok_or_else(|| {
                Error::config(format!(
                    "the burst must be between 1 and the number of requests per window ({})",
                    self.requests
                ))
            })?;
        Ok(self)
    }

    /// Requests per window.
    pub fn requests(&self) -> u32 {
        self.requests.get()
    }

    /// The window.
    pub fn window(&self) -> Duration {
        self.per
    }

    /// The burst size.
    pub fn burst_size(&self) -> u32 {
        self.burst.get()
    }

    /// The steady interval between two requests (`window / requests`).
    pub fn interval(&self) -> Duration {
        self.per / self.requests.get()
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::liveagent_default()
    }
}

/// What the limiter answers when no token is free.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Denied {
    /// How long until a token may be free.
    pub retry_after: Duration,
}

/// A source of permission to send one request.
///
/// Implement it to share a limit between processes; pass the implementation to
/// [`ClientBuilder::limiter`](crate::ClientBuilder::limiter). Before each attempt the layer asks
/// [`try_acquire_now`](Limiter::try_acquire_now), and [`acquire`](Limiter::acquire) when that has
/// no answer; when denied, it waits `retry_after` and asks `acquire` again (or fails, in
/// fail-fast mode).
pub trait Limiter: Send + Sync + fmt::Debug + 'static {
    /// Takes one token if one is free now; otherwise tells how long to wait.
    fn acquire(&self) -> BoxFuture<'_, Result<(), Denied>>;

    /// The same decision as [`acquire`](Limiter::acquire), made at once, for a limiter that can
    /// decide without waiting for anything (one whose state is in the process); `None` when the
    /// decision needs `acquire` (one that asks a server). The layer asks this first, so a
    /// request that gets its token here costs no allocation and no extra future. The default is
    /// `None`.
    fn try_acquire_now(&self) -> Option<Result<(), Denied>> {
        None
    }
}

/// A governor clock that follows tokio's clock, so a paused test clock drives the limiter too.
#[derive(Clone, Debug)]
pub struct TokioClock {
    start: tokio::time::Instant,
}

impl Default for TokioClock {
    fn default() -> Self {
        Self {
            start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(self.start.elapsed())
    }
}

/// The in-process limiter: GCRA from the `governor` crate.
pub struct LocalLimiter {
    limit: RateLimit,
    inner: RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Nanos>>,
}

impl LocalLimiter {
    /// A limiter that enforces `limit`.
    ///
    /// Must be created inside a tokio runtime when tokio's clock is paused (tests); otherwise
    /// anywhere.
    pub fn new(limit: RateLimit) -> Self {
        let quota = Quota::with_period(limit.interval())
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(limit.burst);
        Self {
            limit,
            inner: RateLimiter::direct_with_clock(quota, TokioClock::default()),
        }
    }

    /// The limit it enforces.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Takes a token now, or tells how long until one is free.
    pub fn try_acquire(&self) -> Result<(), Denied> {
        self.inner.check().map_err(|not_until| Denied {
            retry_after: not_until.wait_time_from(self.inner.clock().now()),
        })
    }
}

impl fmt::Debug for LocalLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalLimiter")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl Limiter for LocalLimiter {
    fn acquire(&self) -> BoxFuture<'_, Result<(), Denied>> {
        Box::pin(std::future::ready(self.try_acquire()))
    }

    fn try_acquire_now(&self) -> Option<Result<(), Denied>> {
        Some(self.try_acquire())
    }
}

/// What to do when the limiter has no token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateLimitMode {
    /// Wait until a token is free (bounded by the total timeout).
    #[default]
    Wait,
    /// Fail at once with [`Error::RateLimited`].
    FailFast,
}

/// A layer that takes a token from a [`Limiter`] before each call.
#[derive(Clone, Debug)]
pub struct RateLimitLayer {
    limiter: Arc<dyn Limiter>,
    mode: RateLimitMode,
}

impl RateLimitLayer {
    /// A layer over a shared limiter.
    pub fn new(limiter: Arc<dyn Limiter>, mode: RateLimitMode) -> Self {
        Self { limiter, mode }
    }
}

impl<S> tower::Layer<S> for RateLimitLayer {
    type Service = RateLimited<S>;

    fn layer(&self, inner: S) -> RateLimited<S> {
        RateLimited {
            inner,
            limiter: Arc::clone(&self.limiter),
            mode: self.mode,
        }
    }
}

/// The service made by [`RateLimitLayer`].
#[derive(Clone, Debug)]
pub struct RateLimited<S> {
    inner: S,
    limiter: Arc<dyn Limiter>,
    mode: RateLimitMode,
}

impl<S> tower::Service<http::Request<Body>> for RateLimited<S>
where
    S: tower::Service<http::Request<Body>, Error = Error> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
{
    type Response = S::Response;
    type Error = Error;
    type Future = RateLimitedFuture<S::Future, S::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let first_wait = match self.limiter.try_acquire_now() {
            // A token at once: the inner service is called now, its future is ours.
            Some(Ok(())) => {
                let inner = self.inner.call(request);
                return RateLimitedFuture {
                    state: State::Admitted { inner },
                };
            }
            Some(Err(denied)) => match self.mode {
                RateLimitMode::Wait => Some(denied.retry_after),
                RateLimitMode::FailFast => {
                    // Rare enough to be boxed: the state of every call stays small.
                    let future = Box::pin(std::future::ready(Err(denied_error(&request, denied))));
                    return RateLimitedFuture {
                        state: State::Boxed { future },
                    };
                }
            },
            None => None,
        };
        // The inner service was made ready by `poll_ready`; keep that one for this call.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let future = Box::pin(wait_then_call(
            Arc::clone(&self.limiter),
            self.mode,
            first_wait,
            inner,
            request,
        ));
        RateLimitedFuture {
            state: State::Boxed { future },
        }
    }
}

/// The error of a request the limiter turned away in fail-fast mode.
fn denied_error(request: &http::Request<Body>, denied: Denied) -> Error {
    Error::RateLimited {
        context: RequestContext::of(request),
        retry_after: denied.retry_after,
        source_of_limit: RateLimitSource::Client,
    }
}

/// The slow path: waits `first_wait` if the limiter already said so, then asks the limiter until
/// it grants a token (or, in fail-fast mode, fails at its first denial), then calls `inner`.
async fn wait_then_call<S>(
    limiter: Arc<dyn Limiter>,
    mode: RateLimitMode,
    first_wait: Option<Duration>,
    mut inner: S,
    request: http::Request<Body>,
) -> Result<S::Response, Error>
where
    S: tower::Service<http::Request<Body>, Error = Error>,
{
    let mut wait = first_wait;
    loop {
        if let Some(wait) = wait {
            tracing::debug!(
                wait_ms = wait.as_millis() as u64,
                "client-side rate limit: waiting for a token"
            );
            tokio::time::sleep(wait).await;
        }
        match limiter.acquire().await {
            Ok(()) => break,
            Err(denied) => match mode {
                RateLimitMode::Wait => wait = Some(denied.retry_after),
                RateLimitMode::FailFast => return Err(denied_error(&request, denied)),
            },
        }
    }
    inner.call(request).await
}

pin_project! {
    /// The future of a [`RateLimited`] call.
    pub struct RateLimitedFuture<F, R> {
        #[pin]
        state: State<F, R>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, R> {
        // The limiter granted a token at once; the inner service's call runs.
        Admitted {
            #[pin]
            inner: F,
        },
        // Waiting for the limiter (or asking one that decides asynchronously), then calling; or
        // turned away at once in fail-fast mode.
        Boxed {
            future: BoxFuture<'static, Result<R, Error>>,
        },
    }
}

impl<F, R> Future for RateLimitedFuture<F, R>
where
    F: Future<Output = Result<R, Error>>,
{
    type Output = Result<R, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Admitted { inner } => inner.poll(cx),
            StateProj::Boxed { future } => future.as_mut().poll(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveagent_default_is_180_per_minute() {
        let limit = RateLimit::default();
        assert_eq!(limit.requests(), 180);
        assert_eq!(limit.window(), Duration::from_secs(60));
        assert_eq!(limit.burst_size(), DEFAULT_BURST);
        assert_eq!(limit.interval(), Duration::from_secs(60) / 180);
    }

    #[test]
    fn invalid_limits_are_configuration_errors() {
        assert!(matches!(
            RateLimit::per_minute(0),
            Err(Error::Config { .. })
        ));
        assert!(matches!(
            RateLimit::new(10, Duration::ZERO),
            Err(Error::Config { .. })
        ));
        assert!(RateLimit::per_minute(10).unwrap().burst(0).is_err());
        assert!(RateLimit::per_minute(10).unwrap().burst(11).is_err());
        assert_eq!(RateLimit::per_minute(2).unwrap().burst_size(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn local_limiter_allows_the_burst_then_paces() {
        let limiter = LocalLimiter::new(RateLimit::per_minute(60).unwrap().burst(3).unwrap());
        for _ in 0..3 {
            assert!(limiter.try_acquire().is_ok());
        }
        let denied = limiter.try_acquire().unwrap_err();
        assert!(denied.retry_after > Duration::from_millis(900));
        assert!(denied.retry_after <= Duration::from_secs(1));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(limiter.try_acquire().is_ok());
        assert!(limiter.try_acquire().is_err());
    }
}
