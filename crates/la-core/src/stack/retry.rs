//! Retries: a [`tower::retry::Policy`] with exponential backoff, full jitter, `Retry-After`, and a
//! retry budget.
//!
//! What is retried:
//!
//! | outcome | GET, HEAD, PUT, DELETE, OPTIONS (or marked idempotent) | POST, PATCH |
//! |---|---|---|
//! | connection never established | yes | yes |
//! | 429 Too Many Requests | yes | yes (the server did not act) |
//! | 503 with `Retry-After` | yes | yes (the server asks to come back) |
//! | 503 without `Retry-After`, 502, 504 | yes | no: the server may have acted |
//! | attempt timeout, connection reset, body cut short | yes | no |
//! | any other status or error | no | no |
//!
//! The delay before retry *n* is a random duration between zero and
//! `min(max_backoff, initial_backoff * 2^(n-1))` ("full jitter"), unless the server sent
//! `Retry-After` (seconds or an HTTP date): then its value is used, and when it is longer than
//! `max_retry_after` the request is not retried at all and the answer goes back to the caller,
//! whose error carries the server's `Retry-After`. A `Retry-After` too large for a [`Duration`]
//! (such as `99999999999999999999`) counts as too long, never as absent: it saturates at
//! [`Duration::MAX`]. Retries stop after `max_attempts` attempts, when the next delay would end
//! after `max_elapsed`, or when the [`RetryBudget`] is empty.
//!
//! The `max_elapsed` clock leaves out the time the call spent waiting in the client's own rate
//! limiter: the [`RetryLayer`] gives each call a [`LimiterWait`] cell that the rate-limit layer
//! fills, so a call that queued behind others for a minute can still be retried.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use http::header::RETRY_AFTER;
use http::{HeaderMap, StatusCode};
use tokio::time::Instant;

use crate::body::Body;
use crate::error::{Error, TimeoutKind, TransportKind};
use crate::request::{Idempotency, RequestMeta};
use crate::stack::rate_limit::LimiterWait;

/// Settings of the retry layer.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Attempts per request, the first one included (1 disables retries).
    pub max_attempts: u32,
    /// The cap of the first backoff delay.
    pub initial_backoff: Duration,
    /// The largest backoff delay.
    pub max_backoff: Duration,
    /// No retry starts later than this after the first attempt began, not counting the time
    /// spent waiting in the client's own rate limiter.
    pub max_elapsed: Duration,
    /// The longest server `Retry-After` the client waits for; longer ones end the retries.
    pub max_retry_after: Duration,
    /// The budget that bounds the extra load retries put on the server.
    pub budget: RetryBudgetConfig,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_elapsed: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(60),
            budget: RetryBudgetConfig::default(),
        }
    }
}

impl RetryConfig {
    /// A configuration that never retries.
    pub fn disabled() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Sets the attempts per request (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets the first and the largest backoff delay.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// Sets how long after the first attempt a retry may still start.
    pub fn max_elapsed(mut self, max_elapsed: Duration) -> Self {
        self.max_elapsed = max_elapsed;
        self
    }

    /// Sets the longest server `Retry-After` the client waits for.
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// Sets the retry budget.
    pub fn budget(mut self, budget: RetryBudgetConfig) -> Self {
        self.budget = budget;
        self
    }

    fn validate(&self) -> Result<(), Error> {
        self.budget.validate()
    }

    /// The random backoff before retry number `retry` (1 for the first retry).
    fn backoff_for(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(31);
        let cap = self
            .initial_backoff
            .saturating_mul(1u32 << exponent)
            .min(self.max_backoff);
        let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=nanos))
    }
}

/// Settings of the [`RetryBudget`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct RetryBudgetConfig {
    /// Tokens each new request adds (0.2: one retry per five requests).
    pub per_request: f64,
    /// Tokens the bucket holds at most; it starts full.
    pub max_tokens: f64,
    /// Tokens added per second of time, so a quiet client can still retry a few times.
    pub refill_per_second: f64,
}

impl Default for RetryBudgetConfig {
    fn default() -> Self {
        Self {
            per_request: 0.2,
            max_tokens: 20.0,
            refill_per_second: 1.0,
        }
    }
}

impl RetryBudgetConfig {
    /// A budget with the given tokens per request, capacity and refill rate.
    pub fn new(per_request: f64, max_tokens: f64, refill_per_second: f64) -> Result<Self, Error> {
        let config = Self {
            per_request,
            max_tokens,
            refill_per_second,
        };
        config.validate()?;
        Ok(config)
    }

    /// A budget that never runs out.
    pub fn unlimited() -> Self {
        Self {
            per_request: 0.0,
            max_tokens: f64::INFINITY,
            refill_per_second: 0.0,
        }
    }

    fn validate(&self) -> Result<(), Error> {
        let ok = |x: f64| !x.is_nan() && x >= 0.0;
        if ok(self.per_request) && ok(self.max_tokens) && ok(self.refill_per_second) {
            Ok(())
        } else {
            Err(Error::config(
                "retry budget values must be non-negative numbers",
            ))
        }
    }
}

/// A token bucket that bounds retries: each request deposits a fraction of a token, each retry
/// takes a whole one. When a server fails every request, the extra load is at most
/// `per_request` (plus the refill) instead of `max_attempts - 1` times the traffic.
#[derive(Debug)]
pub struct RetryBudget {
    config: RetryBudgetConfig,
    state: Mutex<BudgetState>,
}

#[derive(Debug)]
struct BudgetState {
    tokens: f64,
    refilled_at: Instant,
}

impl RetryBudget {
    /// A full budget.
    pub fn new(config: RetryBudgetConfig) -> Self {
        Self {
            config,
            state: Mutex::new(BudgetState {
                tokens: config.max_tokens,
                refilled_at: Instant::now(),
            }),
        }
    }

    fn with_state<T>(&self, now: Instant, f: impl FnOnce(&mut BudgetState) -> T) -> T {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let elapsed = now.duration_since(state.refilled_at).as_secs_f64();
        state.tokens =
            (state.tokens + elapsed * self.config.refill_per_second).min(self.config.max_tokens);
        state.refilled_at = now;
        f(&mut state)
    }

    /// Records a new request.
    pub fn deposit(&self) {
        self.deposit_at(Instant::now());
    }

    fn deposit_at(&self, now: Instant) {
        let add = self.config.per_request;
        let max = self.config.max_tokens;
        self.with_state(now, |s| s.tokens = (s.tokens + add).min(max));
    }

    /// Takes a token for a retry; false when the budget is empty.
    pub fn withdraw(&self) -> bool {
        self.with_state(Instant::now(), |s| {
            if s.tokens >= 1.0 {
                s.tokens -= 1.0;
                true
            } else {
                false
            }
        })
    }

    /// Tokens left (for diagnostics and tests).
    pub fn tokens(&self) -> f64 {
        self.with_state(Instant::now(), |s| s.tokens)
    }
}

/// The retry policy, shared by every clone of a client (the budget is common to all).
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    config: Arc<RetryConfig>,
    budget: Arc<RetryBudget>,
    /// Attempts finished so far for the request this copy of the policy serves.
    attempts: u32,
    started: Option<Instant>,
    /// The call's record of the time it spent waiting in the rate limiter, left out of
    /// `max_elapsed`.
    limiter_wait: Option<LimiterWait>,
    /// The request's [`RequestMeta`] when it was its only extension: kept here instead of in the
    /// saved copy of the request (copying an extension map costs three allocations), and put
    /// back into the copy when a retry is decided.
    meta: Option<SavedMeta>,
}

/// What a copy of a request needs of its [`RequestMeta`]: all of it but the parsed URL, which a
/// copy never carries (24 bytes instead of 112 in every request's future).
#[derive(Clone, Copy, Debug)]
struct SavedMeta {
    path_template: &'static str,
    idempotency: Idempotency,
}

impl From<&RequestMeta> for SavedMeta {
    fn from(meta: &RequestMeta) -> Self {
        Self {
            path_template: meta.path_template,
            idempotency: meta.idempotency,
        }
    }
}

impl From<SavedMeta> for RequestMeta {
    fn from(saved: SavedMeta) -> Self {
        Self {
            path_template: saved.path_template,
            idempotency: saved.idempotency,
            url: None,
        }
    }
}

impl RetryPolicy {
    /// A policy with its own budget.
    pub fn new(config: RetryConfig) -> Result<Self, Error> {
        config.validate()?;
        let budget = Arc::new(RetryBudget::new(config.budget));
        Ok(Self {
            config: Arc::new(config),
            budget,
            attempts: 0,
            started: None,
            limiter_wait: None,
            meta: None,
        })
    }

    /// The budget, shared by all clones.
    pub fn budget(&self) -> &Arc<RetryBudget> {
        &self.budget
    }

    /// The layer that applies this policy.
    pub fn layer(self) -> RetryLayer {
        RetryLayer { policy: self }
    }
}

/// The retry layer: `tower::retry` with a [`RetryPolicy`], which first gives each call a
/// [`LimiterWait`] cell (a request extension) so the policy's `max_elapsed` clock can leave out
/// the time spent waiting in the client's rate limiter.
#[derive(Clone, Debug)]
pub struct RetryLayer {
    policy: RetryPolicy,
}

impl<S> tower::Layer<S> for RetryLayer {
    type Service = Retrying<S>;

    fn layer(&self, inner: S) -> Retrying<S> {
        Retrying {
            inner: tower::retry::Retry::new(self.policy.clone(), inner),
        }
    }
}

/// The service made by [`RetryLayer`].
#[derive(Clone, Debug)]
pub struct Retrying<S> {
    inner: tower::retry::Retry<RetryPolicy, S>,
}

impl<S> tower::Service<http::Request<Body>> for Retrying<S>
where
    tower::retry::Retry<RetryPolicy, S>: tower::Service<http::Request<Body>>,
{
    type Response =
        <tower::retry::Retry<RetryPolicy, S> as tower::Service<http::Request<Body>>>::Response;
    type Error =
        <tower::retry::Retry<RetryPolicy, S> as tower::Service<http::Request<Body>>>::Error;
    type Future =
        <tower::retry::Retry<RetryPolicy, S> as tower::Service<http::Request<Body>>>::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        request.extensions_mut().insert(LimiterWait::new());
        self.inner.call(request)
    }
}

/// Why an outcome may be retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Retryable {
    /// Safe for every method: the server did not act on the request.
    Always,
    /// Only for idempotent requests: the server may have acted.
    IfIdempotent,
    /// Never.
    No,
}

fn classify(result: &Result<http::Response<Body>, Error>) -> (Retryable, Option<Duration>) {
    match result {
        Ok(response) => {
            // `Retry-After` is read only for the statuses that may be retried.
            let retry_after = || parse_retry_after(response.headers());
            match response.status() {
                StatusCode::TOO_MANY_REQUESTS => (Retryable::Always, retry_after()),
                StatusCode::SERVICE_UNAVAILABLE => match retry_after() {
                    Some(wait) => (Retryable::Always, Some(wait)),
                    None => (Retryable::IfIdempotent, None),
                },
                StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT => {
                    (Retryable::IfIdempotent, retry_after())
                }
                _ => (Retryable::No, None),
            }
        }
        Err(Error::Transport { kind, .. }) => match kind {
            TransportKind::Connect => (Retryable::Always, None),
            _ => (Retryable::IfIdempotent, None),
        },
        Err(Error::Timeout {
            kind: TimeoutKind::Attempt,
            ..
        }) => (Retryable::IfIdempotent, None),
        Err(_) => (Retryable::No, None),
    }
}

/// Parses a `Retry-After` header: a number of seconds or an HTTP date.
///
/// A value too large for a [`Duration`] (more digits than a `u64` holds, `1e30`) saturates at
/// [`Duration::MAX`]: it means "much too long", and the retry policy treats it so (no retry, the
/// error carries it), never as a missing header. A date in the past is zero. `None` when the
/// header is absent or is neither a non-negative number nor an HTTP date.
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Only digits: whole seconds, however many.
        return Some(
            value
                .parse::<u64>()
                .map_or(Duration::MAX, Duration::from_secs),
        );
    }
    if let Ok(seconds) = value.parse::<f64>() {
        if seconds.is_nan() || seconds < 0.0 {
            return None;
        }
        return Some(Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

fn describe(result: &Result<http::Response<Body>, Error>) -> String {
    match result {
        Ok(response) => response.status().to_string(),
        Err(error) => match error {
            Error::Transport { kind, .. } => kind.to_string(),
            Error::Timeout { kind, .. } => format!("{kind} timeout"),
            _ => "error".to_owned(),
        },
    }
}

impl tower::retry::Policy<http::Request<Body>, http::Response<Body>, Error> for RetryPolicy {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        request: &mut http::Request<Body>,
        result: &mut Result<http::Response<Body>, Error>,
    ) -> Option<Self::Future> {
        self.attempts += 1;
        // A request built without `Request::into_http` is treated by its method.
        let idempotency = self
            .meta
            .map(|saved| saved.idempotency)
            .or_else(|| {
                request
                    .extensions()
                    .get::<RequestMeta>()
                    .map(|meta| meta.idempotency)
            })
            .unwrap_or(Idempotency::ByMethod);
        let (class, retry_after) = classify(result);
        let allowed = match class {
            Retryable::No => false,
            Retryable::Always => idempotency != Idempotency::Never,
            Retryable::IfIdempotent => idempotency.is_idempotent(request.method()),
        };
        if !allowed || self.attempts >= self.config.max_attempts {
            return None;
        }
        let delay = match retry_after {
            Some(wait) if wait > self.config.max_retry_after => {
                tracing::debug!(
                    retry_after_s = wait.as_secs(),
                    "not retrying: the server's Retry-After is longer than the configured maximum"
                );
                return None;
            }
            Some(wait) => wait,
            None => self.config.backoff_for(self.attempts),
        };
        // The time spent waiting in the client's own rate limiter does not count.
        let queued = self
            .limiter_wait
            .as_ref()
            .map_or(Duration::ZERO, LimiterWait::get);
        let elapsed = self
            .started
            .map_or(Duration::ZERO, |s| s.elapsed())
            .saturating_sub(queued);
        match elapsed.checked_add(delay) {
            Some(end) if end <= self.config.max_elapsed => {}
            _ => return None,
        }
        if !self.budget.withdraw() {
            tracing::debug!("not retrying: the retry budget is empty");
            return None;
        }
        if let Some(saved) = self.meta.take() {
            request.extensions_mut().insert(RequestMeta::from(saved));
            if let Some(wait) = &self.limiter_wait {
                request.extensions_mut().insert(wait.clone());
            }
        }
        tracing::debug!(
            method = %request.method(),
            path = request.uri().path(),
            attempt = self.attempts + 1,
            delay_ms = delay.as_millis() as u64,
            reason = %describe(result),
            "retrying"
        );
        Some(tokio::time::sleep(delay))
    }

    fn clone_request(&mut self, request: &http::Request<Body>) -> Option<http::Request<Body>> {
        if self.attempts == 0 {
            // A new request: this copy of the policy is about to be cloned for it.
            let now = Instant::now();
            self.started = Some(now);
            self.budget.deposit_at(now);
        }
        if self.config.max_attempts <= 1 {
            return None;
        }
        let body = request.body().try_clone()?;
        let mut clone = http::Request::new(body);
        *clone.method_mut() = request.method().clone();
        *clone.uri_mut() = request.uri().clone();
        *clone.version_mut() = request.version();
        *clone.headers_mut() = request.headers().clone();
        let extensions = request.extensions();
        if self.attempts == 0 {
            self.limiter_wait = extensions.get::<LimiterWait>().cloned();
        }
        // The meta and the wait cell alone are kept here, not in a copy of the extension map.
        let own = 1 + usize::from(extensions.get::<LimiterWait>().is_some());
        match extensions.get::<RequestMeta>() {
            Some(meta) if extensions.len() == own => self.meta = Some(SavedMeta::from(meta)),
            _ => *clone.extensions_mut() = extensions.clone(),
        }
        Some(clone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(parse_retry_after(&headers), Some(Duration::from_secs(7)));

        let at = SystemTime::now() + Duration::from_secs(30);
        headers.insert(RETRY_AFTER, httpdate::fmt_http_date(at).parse().unwrap());
        let parsed = parse_retry_after(&headers).unwrap();
        assert!(parsed > Duration::from_secs(27) && parsed <= Duration::from_secs(30));

        let past = SystemTime::now() - Duration::from_secs(30);
        headers.insert(RETRY_AFTER, httpdate::fmt_http_date(past).parse().unwrap());
        assert_eq!(parse_retry_after(&headers), Some(Duration::ZERO));

        // Too large for a duration: too long, not absent.
        for huge in [
            "99999999999999999999",
            "18446744073709551616",
            "1e30",
            "inf",
        ] {
            headers.insert(RETRY_AFTER, huge.parse().unwrap());
            assert_eq!(parse_retry_after(&headers), Some(Duration::MAX), "{huge}");
        }
        headers.insert(RETRY_AFTER, "18446744073709551615".parse().unwrap());
        assert_eq!(
            parse_retry_after(&headers),
            Some(Duration::from_secs(u64::MAX))
        );
        headers.insert(RETRY_AFTER, "1.5".parse().unwrap());
        assert_eq!(
            parse_retry_after(&headers),
            Some(Duration::from_millis(1500))
        );
        headers.insert(RETRY_AFTER, "NaN".parse().unwrap());
        assert_eq!(parse_retry_after(&headers), None);

        headers.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(parse_retry_after(&headers), None);
        headers.insert(RETRY_AFTER, "-3".parse().unwrap());
        assert_eq!(parse_retry_after(&headers), None);
    }

    #[test]
    fn backoff_is_jittered_below_an_exponential_cap() {
        let config =
            RetryConfig::default().backoff(Duration::from_millis(100), Duration::from_secs(1));
        for retry in 1..10u32 {
            let cap =
                Duration::from_millis(100 * (1u64 << (retry - 1))).min(Duration::from_secs(1));
            for _ in 0..50 {
                assert!(config.backoff_for(retry) <= cap);
            }
        }
        let spread: std::collections::HashSet<_> = (0..50).map(|_| config.backoff_for(4)).collect();
        assert!(spread.len() > 10, "delays are not jittered");
    }

    #[tokio::test(start_paused = true)]
    async fn budget_refills_over_time_and_caps() {
        let budget = RetryBudget::new(RetryBudgetConfig::new(0.5, 2.0, 1.0).unwrap());
        assert!(budget.withdraw());
        assert!(budget.withdraw());
        assert!(!budget.withdraw());
        budget.deposit();
        budget.deposit();
        assert!(budget.withdraw());
        assert!(!budget.withdraw());
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!((budget.tokens() - 2.0).abs() < 1e-9);
    }

    #[test]
    fn negative_budgets_are_refused() {
        assert!(RetryBudgetConfig::new(-1.0, 1.0, 1.0).is_err());
        assert!(RetryBudgetConfig::new(0.1, f64::NAN, 1.0).is_err());
    }
}
