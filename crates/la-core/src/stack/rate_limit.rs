//! Client-side rate limiting.
//!
//! LiveAgent allows 180 requests per minute per API key. The [`RateLimitLayer`] takes one token
//! from a [`Limiter`] before every attempt; it sits inside the retry layer, so retries spend
//! tokens too and cannot push the client over the limit. By default it waits until a token is
//! free; in [`RateLimitMode::FailFast`] it fails at once with [`Error::RateLimited`].
//!
//! # The guarantee
//!
//! LiveAgent does not document how it counts, so the default limiter is safe against the three
//! usual ways: a token bucket (GCRA), a sliding window (at most `N` arrivals in any trailing
//! window) and fixed windows (at most `N` per window aligned to some clock the client does not
//! know). With `N` requests per window `W`, a burst `b` and a jitter margin `J` (see
//! [`RateLimit::jitter_margin`]), the limiter spaces requests by
//!
//! ```text
//! T = (W + J) / (N - b + 1), rounded up to the nanosecond, plus one nanosecond
//! ```
//!
//! and lets at most `b` go back to back. Any closed window of length `L` then holds at most
//! `b + floor(L / T)` requests as the client sends them, so any window of length `W + J` holds
//! at most `b + (N - b) = N`. As long as the time a request takes to reach the server varies by
//! at most `J`, every window of length `W` the server looks at (sliding or fixed, wherever it
//! starts) therefore holds at most `N` requests, burst included. Every attempt counts, retries
//! included.
//!
//! The cost is a sustained rate a little under `N / W`: `(N - b + 1) / (W + J)`. With
//! LiveAgent's 180 per 60 s, the default burst of 5 and the default margin of 600 ms, `T` is
//! about 344.3 ms: 174.3 requests per minute once the burst is spent (3.2% under 180), and never
//! more than 180 in any minute.
//!
//! # Fair waiting
//!
//! Calls that have to wait are admitted in the order they arrived: the first in line holds a
//! fair (FIFO) lock while it sleeps until its slot, and a call that finds a token free is
//! admitted at once only when nobody is in line, so it never overtakes a waiting call. A call
//! dropped while it waits (a timeout, a cancelled task) leaves the line and takes no token. With
//! `k` tasks sharing the limit, a call waits about `k * T`. The line belongs to the limiter
//! ([`Limiter::waiting_line`]), so clients sharing one limiter also share its line.
//!
//! The time a call spends in line is recorded in its [`LimiterWait`] extension, when it has one,
//! so the retry layer's `max_elapsed` clock leaves it out.
//!
//! [`Limiter`] is the seam for other limiters: the default [`LocalLimiter`] (GCRA through
//! `governor`) lives in the process and is shared by every clone of a client; a limiter whose
//! state lives elsewhere (shared by many processes) implements the same trait.

use std::fmt;
use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use pin_project_lite::pin_project;
use tokio::sync::OwnedMutexGuard;

use crate::body::Body;
use crate::error::{Error, RateLimitSource, RequestContext};

/// A boxed future, as returned by [`Limiter::acquire`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How many requests may be sent per time window, and how many at once.
///
/// The limiter built from it never lets more than `requests` go out in any window of length
/// `window + margin`, burst included (see the [module documentation](self) for the formula):
/// safe against servers that count with a token bucket, a sliding window or fixed windows. The
/// price is a sustained rate a few percent under `requests / window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    requests: NonZeroU32,
    per: Duration,
    burst: NonZeroU32,
    margin: Option<Duration>,
}

/// LiveAgent's published limit: 180 requests per minute per API key.
pub const LIVEAGENT_REQUESTS_PER_MINUTE: u32 = 180;

/// The default burst: requests that may be sent back to back before the steady pace applies
/// (at most a quarter of the requests per window, rounded up, for small limits).
pub const DEFAULT_BURST: u32 = 5;

/// The smallest default jitter margin (see [`RateLimit::jitter_margin`]).
pub const MIN_JITTER_MARGIN: Duration = Duration::from_millis(50);

impl RateLimit {
    /// `requests` per `per`, with the default burst: [`DEFAULT_BURST`], or a quarter of
    /// `requests` (rounded up) when that is smaller.
    pub fn new(requests: u32, per: Duration) -> Result<Self, Error> {
        let requests = NonZeroU32::new(requests)
            .ok_or_else(|| Error::config("a rate limit must allow at least one request"))?;
        if per.is_zero() {
            return Err(Error::config(
                "a rate limit window must be longer than zero",
            ));
        }
        let burst = DEFAULT_BURST.min(requests.get().div_ceil(4));
        Ok(Self {
            requests,
            per,
            burst: NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN),
            margin: None,
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
            margin: None,
        }
    }

    /// Sets how many requests may go out back to back (at least 1, at most `requests`).
    ///
    /// The burst is part of the window's `requests`, not on top of them: a burst `b` leaves
    /// `requests - b + 1` evenly spaced requests per `window + margin`, so a deep burst slows the
    /// sustained rate (a burst equal to `requests` allows one request per `window + margin`
    /// once it is spent).
    pub fn burst(mut self, burst: u32) -> Result<Self, Error> {
        self.burst = NonZeroU32::new(burst)
            .filter(|b| *b <= self.requests)
            .ok_or_else(|| {
                Error::config(format!(
                    "the burst must be between 1 and the number of requests per window ({}), \
                     got {burst}",
                    self.requests
                ))
            })?;
        Ok(self)
    }

    /// Sets the jitter margin: how much the time a request takes to reach the server may vary
    /// without the server seeing more than `requests` in one of its windows. The default is 1%
    /// of the window, at least [`MIN_JITTER_MARGIN`] (600 ms for LiveAgent's minute). A longer
    /// margin is safer over a network whose delays vary more, and slows the sustained rate a
    /// little more.
    pub fn jitter_margin(mut self, margin: Duration) -> Self {
        self.margin = Some(margin);
        self
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

    /// The jitter margin: the one set with [`jitter_margin`](Self::jitter_margin), or 1% of the
    /// window, at least [`MIN_JITTER_MARGIN`].
    pub fn margin(&self) -> Duration {
        self.margin
            .unwrap_or_else(|| (self.per / 100).max(MIN_JITTER_MARGIN))
    }

    /// The steady interval between two requests once the burst is spent:
    /// `(window + margin) / (requests - burst + 1)`, rounded up to the nanosecond, plus one
    /// nanosecond. A little longer than `window / requests`: that is what keeps the burst
    /// inside the window's `requests`.
    pub fn interval(&self) -> Duration {
        let span = self.per.saturating_add(self.margin()).as_nanos();
        let slots = u128::from(self.requests.get() - self.burst.get() + 1);
        duration_from_nanos(span.div_ceil(slots).saturating_add(1))
    }
}

/// A duration of `nanos` nanoseconds, saturated at [`Duration::MAX`].
fn duration_from_nanos(nanos: u128) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    match u64::try_from(nanos / NANOS_PER_SEC) {
        // The remainder is below one billion, so it fits.
        Ok(secs) => Duration::new(secs, (nanos % NANOS_PER_SEC) as u32),
        Err(_) => Duration::MAX,
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

    /// The line in which calls wait for this limiter's tokens, when the limiter keeps one, so
    /// that several clients sharing the limiter also share one line (arrival order across all
    /// of them). The default is `None`: each [`RateLimitLayer`] keeps its own line.
    fn waiting_line(&self) -> Option<WaitingLine> {
        None
    }
}

/// The line of calls waiting for a limiter's tokens, first come first served: whoever holds its
/// lock (a fair, FIFO `tokio::sync::Mutex`) is first in line.
///
/// A limiter that returns one from [`Limiter::waiting_line`] has every client that uses it wait
/// in that one line; otherwise each [`RateLimitLayer`] has a line of its own.
#[derive(Clone, Debug, Default)]
pub struct WaitingLine(Arc<tokio::sync::Mutex<()>>);

impl WaitingLine {
    /// An empty line.
    pub fn new() -> Self {
        Self::default()
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
    line: WaitingLine,
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
            line: WaitingLine::new(),
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

    fn waiting_line(&self) -> Option<WaitingLine> {
        Some(self.line.clone())
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

/// How long a call has waited in the client's own rate limiter, over all its attempts.
///
/// A request extension: the retry layer gives each call one (a shared cell), the
/// [`RateLimitLayer`] adds the time each attempt spent waiting for its token, and the retry
/// policy leaves that time out of its `max_elapsed` clock, so a call that queued for a minute
/// behind other calls can still be retried. Clones share the cell.
#[derive(Clone, Debug, Default)]
pub struct LimiterWait(Arc<AtomicU64>);

impl LimiterWait {
    /// A cell holding no wait.
    pub fn new() -> Self {
        Self::default()
    }

    /// The total wait recorded so far.
    pub fn get(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }

    /// Adds `wait` (saturating at about 584 years).
    pub fn add(&self, wait: Duration) {
        let nanos = u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX);
        // `fetch_update` with a closure that always answers `Some` cannot fail.
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |total| {
                Some(total.saturating_add(nanos))
            });
    }
}

/// A layer that takes a token from a [`Limiter`] before each call.
///
/// In [`RateLimitMode::Wait`] the calls that wait are admitted in arrival order (see the
/// [module documentation](self)); the line is the limiter's own when it keeps one
/// ([`Limiter::waiting_line`], as [`LocalLimiter`] does), otherwise one shared by every clone of
/// the layer and of the services it makes.
#[derive(Clone, Debug)]
pub struct RateLimitLayer {
    limiter: Arc<dyn Limiter>,
    mode: RateLimitMode,
    line: WaitingLine,
}

impl RateLimitLayer {
    /// A layer over a shared limiter.
    pub fn new(limiter: Arc<dyn Limiter>, mode: RateLimitMode) -> Self {
        let line = limiter.waiting_line().unwrap_or_default();
        Self {
            limiter,
            mode,
            line,
        }
    }
}

impl<S> tower::Layer<S> for RateLimitLayer {
    type Service = RateLimited<S>;

    fn layer(&self, inner: S) -> RateLimited<S> {
        RateLimited {
            inner,
            limiter: Arc::clone(&self.limiter),
            mode: self.mode,
            line: Arc::clone(&self.line.0),
        }
    }
}

/// The service made by [`RateLimitLayer`].
#[derive(Clone, Debug)]
pub struct RateLimited<S> {
    inner: S,
    limiter: Arc<dyn Limiter>,
    mode: RateLimitMode,
    /// The line of waiting calls: whoever holds the lock is first in line.
    line: Arc<tokio::sync::Mutex<()>>,
}

/// Where a call stands when it cannot be admitted at once.
enum Start {
    /// Nobody was in line: this call is first, and the limiter asked it to wait this long
    /// (`None`: the limiter decides only through [`Limiter::acquire`]).
    First(OwnedMutexGuard<()>, Option<Duration>),
    /// Others are in line (or fail-fast mode, which never queues): take a place, then ask.
    Queue,
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
        let start = match self.mode {
            // Admitted at once only when nobody is in line, so no call overtakes a waiting one.
            RateLimitMode::Wait => match Arc::clone(&self.line).try_lock_owned() {
                Ok(turn) => match self.limiter.try_acquire_now() {
                    Some(Ok(())) => {
                        drop(turn);
                        return self.admitted(request);
                    }
                    Some(Err(denied)) => Start::First(turn, Some(denied.retry_after)),
                    None => Start::First(turn, None),
                },
                Err(_) => Start::Queue,
            },
            RateLimitMode::FailFast => match self.limiter.try_acquire_now() {
                Some(Ok(())) => return self.admitted(request),
                // Rare enough to be boxed: the state of every call stays small.
                Some(Err(denied)) => {
                    let future = Box::pin(std::future::ready(Err(denied_error(&request, denied))));
                    return RateLimitedFuture {
                        state: State::Boxed { future },
                    };
                }
                None => Start::Queue,
            },
        };
        // The inner service was made ready by `poll_ready`; keep that one for this call.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let future = Box::pin(wait_then_call(
            Arc::clone(&self.limiter),
            self.mode,
            Arc::clone(&self.line),
            start,
            inner,
            request,
        ));
        RateLimitedFuture {
            state: State::Boxed { future },
        }
    }
}

impl<S> RateLimited<S>
where
    S: tower::Service<http::Request<Body>, Error = Error>,
{
    /// A call that got its token at once: the inner service is called now, its future is ours.
    fn admitted(
        &mut self,
        request: http::Request<Body>,
    ) -> RateLimitedFuture<S::Future, S::Response> {
        let inner = self.inner.call(request);
        RateLimitedFuture {
            state: State::Admitted { inner },
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

/// The slow path. In wait mode: takes a place in line (unless already first), waits what the
/// limiter says until it grants a token, leaves the line, records the time spent in the
/// request's [`LimiterWait`], then calls `inner`. In fail-fast mode (a limiter that decides only
/// through `acquire`): asks once, and fails if denied.
async fn wait_then_call<S>(
    limiter: Arc<dyn Limiter>,
    mode: RateLimitMode,
    line: Arc<tokio::sync::Mutex<()>>,
    start: Start,
    mut inner: S,
    request: http::Request<Body>,
) -> Result<S::Response, Error>
where
    S: tower::Service<http::Request<Body>, Error = Error>,
{
    let arrived = tokio::time::Instant::now();
    if mode == RateLimitMode::FailFast {
        if let Err(denied) = limiter.acquire().await {
            return Err(denied_error(&request, denied));
        }
        return inner.call(request).await;
    }
    let (turn, mut wait) = match start {
        Start::First(turn, wait) => (turn, wait),
        Start::Queue => (line.lock_owned().await, None),
    };
    loop {
        if let Some(wait) = wait {
            tracing::debug!(
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "client-side rate limit: waiting for a token"
            );
            tokio::time::sleep(wait).await;
        }
        match limiter.acquire().await {
            Ok(()) => break,
            Err(denied) => wait = Some(denied.retry_after),
        }
    }
    drop(turn);
    if let Some(cell) = request.extensions().get::<LimiterWait>() {
        cell.add(arrived.elapsed());
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
        assert_eq!(limit.margin(), Duration::from_millis(600));
        // (60 s + 600 ms) / (180 - 5 + 1), rounded up, plus 1 ns.
        assert_eq!(limit.interval(), Duration::from_nanos(344_318_183));
        assert_eq!(RateLimit::per_minute(180).unwrap(), limit);
    }

    #[test]
    fn the_spacing_keeps_every_window_within_the_limit() {
        for (requests, window_ms, burst, margin_ms) in [
            (180, 60_000, 5, 600),
            (20, 1_000, 5, 50),
            (1, 1_000, 1, 0),
            (7, 3, 7, 0),
            (1_000_000_000, 1_000, 5, 50),
        ] {
            let limit = RateLimit::new(requests, Duration::from_millis(window_ms))
                .unwrap()
                .burst(burst)
                .unwrap()
                .jitter_margin(Duration::from_millis(margin_ms));
            let span = limit.window() + limit.margin();
            let interval = limit.interval();
            // b + floor((W + J) / T) <= N, and only just: one slot more would break it.
            let slots = span.as_nanos() / interval.as_nanos();
            assert!(
                u128::from(burst) + slots <= u128::from(requests),
                "{limit:?}"
            );
            assert!(
                u128::from(burst) + span.as_nanos() / (interval.as_nanos() - 2)
                    > u128::from(requests)
                    || interval.as_nanos() <= 2,
                "{limit:?} is slower than needed"
            );
        }
    }

    #[test]
    fn small_limits_get_a_small_default_burst() {
        let burst = |n| RateLimit::per_minute(n).unwrap().burst_size();
        assert_eq!(
            [1, 2, 4, 5, 8, 19, 20, 180].map(burst),
            [1, 1, 1, 2, 2, 5, 5, 5]
        );
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
        let too_deep = RateLimit::per_minute(10).unwrap().burst(11).unwrap_err();
        assert!(too_deep.to_string().contains("got 11"), "{too_deep}");
        assert_eq!(
            RateLimit::per_minute(10)
                .unwrap()
                .burst(10)
                .unwrap()
                .burst_size(),
            10
        );
    }

    #[test]
    fn huge_windows_saturate_instead_of_overflowing() {
        let limit = RateLimit::new(1, Duration::MAX).unwrap();
        assert_eq!(limit.interval(), Duration::MAX);
        assert_eq!(duration_from_nanos(u128::MAX), Duration::MAX);
        assert_eq!(
            duration_from_nanos(1_500_000_000),
            Duration::from_millis(1500)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn local_limiter_allows_the_burst_then_paces() {
        // 61 per minute, burst 3, no margin: one request per (60 s / 59) after the burst.
        let limit = RateLimit::per_minute(61)
            .unwrap()
            .burst(3)
            .unwrap()
            .jitter_margin(Duration::ZERO);
        let limiter = LocalLimiter::new(limit);
        for _ in 0..3 {
            assert!(limiter.try_acquire().is_ok());
        }
        let denied = limiter.try_acquire().unwrap_err();
        assert!(denied.retry_after > Duration::from_millis(1000));
        assert!(denied.retry_after <= limit.interval());
        tokio::time::advance(limit.interval()).await;
        assert!(limiter.try_acquire().is_ok());
        assert!(limiter.try_acquire().is_err());
    }

    #[test]
    fn limiter_wait_adds_up_and_saturates() {
        let wait = LimiterWait::new();
        let shared = wait.clone();
        wait.add(Duration::from_millis(1500));
        shared.add(Duration::from_millis(500));
        assert_eq!(wait.get(), Duration::from_secs(2));
        shared.add(Duration::MAX);
        assert_eq!(wait.get(), Duration::from_nanos(u64::MAX));
    }
}
