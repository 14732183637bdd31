//! A rate limiter shared by many processes through Redis (cargo feature `redis-limiter`).
//!
//! LiveAgent counts requests per API key. When one key is used by several processes or hosts,
//! each with its own in-process [`LocalLimiter`], together they send as many requests as there
//! are processes times the limit. A [`RedisLimiter`] keeps the limiter's state in Redis instead,
//! so every process that uses the same key and the same Redis shares one limit.
//!
//! # How it works
//!
//! The limiter is the same GCRA (a token bucket in the form of a "theoretical arrival time") as
//! the local one, with the same [`RateLimit`] (requests per window, burst) and the same spacing
//! ([`RateLimit::interval`]), so it keeps the same guarantee: at most `requests` in any window,
//! burst included, whether the server counts with a token bucket, a sliding or a fixed window.
//! Whatever Redis answers (a wrong SHA-1 to `SCRIPT LOAD`, a reply of the wrong shape, numbers
//! out of range) is a failure handled as below, never a panic. Each
//! [`acquire`](Limiter::acquire) runs one Lua script in Redis: one round trip, atomic, timed by
//! Redis's own clock (`TIME`), so the clocks of the hosts do not matter. A request is allowed
//! when a token is free; otherwise the script answers how long until one is, and the rate-limit
//! layer waits (or fails, in [`RateLimitMode::FailFast`](super::rate_limit::RateLimitMode)).
//!
//! The state of a key is a single Redis string under
//! `liveagent:ratelimit:{SHA-256 of the API key, hex}` (the prefix can be changed with
//! [`RedisLimiterBuilder::key_prefix`]). The key itself is never sent to Redis, never stored
//! and never logged. The entry expires by itself once the bucket is full again.
//!
//! # When Redis is slow or down
//!
//! Every call to Redis has its own timeout ([`RedisLimiterBuilder::redis_timeout`], 250 ms by
//! default), so a slow or silent Redis cannot hold a request longer than that. A call that fails
//! or times out puts the limiter into a degraded state, logged once at `warn` level, in which
//! the [`RedisFailure`] policy answers:
//!
//! - [`RedisFailure::FallBackToLocal`] (the default): an in-process [`LocalLimiter`] takes over,
//!   so requests keep flowing at the fallback limit (by default the shared limit; set
//!   [`RedisLimiterBuilder::fallback_limit`] to the limit divided by the number of processes to
//!   stay under the limit during an outage too).
//! - [`RedisFailure::Deny`]: no token is given; the rate-limit layer waits (in the default wait
//!   mode, until Redis answers again or the request's total timeout expires) or fails with
//!   [`Error::RateLimited`](crate::Error::RateLimited) (in fail-fast mode).
//!
//! While degraded, Redis is asked again at most once per
//! [`RedisLimiterBuilder::retry_redis_after`] (1 s by default); every other request goes
//! straight to the policy, without waiting for Redis. As soon as Redis answers, the shared limit
//! applies again (logged at `info` level). The connection is a multiplexed
//! [`ConnectionManager`] that reconnects by itself.
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use la_core::stack::redis_limiter::{RedisFailure, RedisLimiter};
//! use la_core::{Client, RateLimit};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let api_key = std::env::var("LIVEAGENT_API_KEY")?;
//! let limiter = RedisLimiter::builder("redis://redis.internal:6379", &api_key, RateLimit::default())
//!     .on_failure(RedisFailure::FallBackToLocal)
//!     .fallback_limit(RateLimit::per_minute(180 / 4)?)
//!     .redis_timeout(Duration::from_millis(250))
//!     .build()
//!     .await?;
//! let client = Client::builder()
//!     .account("acme")
//!     .api_key(api_key)
//!     .limiter(Arc::new(limiter))
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! [`ClientBuilder::redis_limiter`](crate::ClientBuilder::redis_limiter) is a shorter way to
//! the same limiter with the default settings.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sha2::{Digest, Sha256};

use super::rate_limit::{BoxFuture, Denied, Limiter, LocalLimiter, RateLimit, WaitingLine};

/// The default prefix of the Redis key that holds a limit's state.
pub const DEFAULT_KEY_PREFIX: &str = "liveagent:ratelimit:";

/// The default timeout of one call to Redis.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_millis(250);

/// The default pause between two attempts to reach Redis while it is failing.
pub const DEFAULT_RETRY_REDIS_AFTER: Duration = Duration::from_secs(1);

/// The default timeout for establishing a connection to Redis.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The GCRA step, run atomically in Redis.
///
/// `KEYS[1]`: the state (theoretical arrival time, in microseconds of Redis's clock).
/// `ARGV[1]`: the interval between two requests, in microseconds.
/// `ARGV[2]`: the burst tolerance (`(burst - 1) * interval`), in microseconds.
/// Answers `{1, 0}` when a token was taken, `{0, wait}` with the wait in microseconds otherwise.
const GCRA_SCRIPT: &str = r#"
if redis.replicate_commands then pcall(redis.replicate_commands) end
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
local wait = tat - tolerance - now
if wait > 0 then
  return {0, wait}
end
local next_tat = tat + interval
local ttl_ms = math.ceil((next_tat - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', string.format('%.0f', ttl_ms))
return {1, 0}
"#;

/// What a [`RedisLimiter`] answers while Redis is failing (unreachable, erroring or slower than
/// the Redis timeout).
///
/// ```
/// use la_core::stack::redis_limiter::{RedisFailure, RedisLimiter};
/// use la_core::RateLimit;
///
/// assert_eq!(RedisFailure::default(), RedisFailure::FallBackToLocal);
/// // Never exceed the shared limit, even if that means sending nothing while Redis is down.
/// let builder = RedisLimiter::builder("redis://127.0.0.1", "key", RateLimit::default())
///     .on_failure(RedisFailure::Deny);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedisFailure {
    /// An in-process [`LocalLimiter`] decides until Redis answers again (the default).
    ///
    /// Requests keep flowing; during the outage each process enforces the
    /// [fallback limit](RedisLimiterBuilder::fallback_limit) on its own.
    #[default]
    FallBackToLocal,
    /// No token is given until Redis answers again.
    ///
    /// The limiter answers [`Denied`] with `retry_after` set to the time until Redis is tried
    /// again: in wait mode, requests wait (bounded by the client's total timeout, which then
    /// fails with [`Error::Timeout`](crate::Error::Timeout)); in fail-fast mode they fail at once
    /// with [`Error::RateLimited`](crate::Error::RateLimited).
    Deny,
}

/// Why a [`RedisLimiter`] could not be built.
///
/// Messages never contain the API key or a password from the Redis URL. It converts into
/// [`Error`](crate::Error) (`Config` stays [`Error::Config`](crate::Error::Config), the rest
/// becomes [`Error::Middleware`](crate::Error::Middleware)), so `?` works in functions that
/// return the SDK's error.
///
/// ```
/// use la_core::stack::redis_limiter::{RedisLimiter, RedisLimiterError};
/// use la_core::RateLimit;
///
/// let err = RedisLimiter::builder("redis://:secret@[bad", "key", RateLimit::default())
///     .build_lazy()
///     .unwrap_err();
/// assert!(matches!(err, RedisLimiterError::Config { .. }));
/// assert!(!err.to_string().contains("secret"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisLimiterError {
    /// The settings are invalid (an unparsable Redis URL, an empty API key, a zero timeout).
    #[error("invalid Redis limiter configuration: {message}")]
    Config {
        /// What is wrong.
        message: String,
    },
    /// Redis could not be reached, or did not accept the limiter's script, within the connect
    /// timeout ([`RedisLimiterBuilder::build`] only).
    #[error("Redis at {url} is not available: {message}")]
    Unavailable {
        /// The Redis URL, its password replaced by `***`.
        url: String,
        /// What went wrong.
        message: String,
    },
}

impl From<RedisLimiterError> for crate::Error {
    fn from(error: RedisLimiterError) -> Self {
        match error {
            RedisLimiterError::Config { message } => crate::Error::config(message),
            other => crate::Error::Middleware(Box::new(other)),
        }
    }
}

/// Counters of a [`RedisLimiter`], for metrics.
///
/// ```no_run
/// use la_core::stack::redis_limiter::RedisLimiter;
/// use la_core::RateLimit;
///
/// # async fn run() -> Result<(), la_core::stack::redis_limiter::RedisLimiterError> {
/// let limiter = RedisLimiter::builder("redis://127.0.0.1", "key", RateLimit::default())
///     .build()
///     .await?;
/// // ... later, from a metrics task:
/// let stats = limiter.stats();
/// println!(
///     "Redis decided {}, failed {}, the fallback decided {}",
///     stats.redis_decisions, stats.redis_failures, stats.policy_decisions
/// );
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisLimiterStats {
    /// Acquisitions Redis decided (tokens given and refused).
    pub redis_decisions: u64,
    /// Calls to Redis that failed or timed out.
    pub redis_failures: u64,
    /// Acquisitions the [`RedisFailure`] policy decided because Redis was failing.
    pub policy_decisions: u64,
}

/// Configures a [`RedisLimiter`]; made by [`RedisLimiter::builder`].
///
/// ```no_run
/// use std::time::Duration;
/// use la_core::stack::redis_limiter::{RedisFailure, RedisLimiter};
/// use la_core::RateLimit;
///
/// # async fn run() -> Result<(), la_core::stack::redis_limiter::RedisLimiterError> {
/// let limiter = RedisLimiter::builder("redis://127.0.0.1:6379", "your-api-key", RateLimit::default())
///     .on_failure(RedisFailure::Deny)
///     .redis_timeout(Duration::from_millis(100))
///     .retry_redis_after(Duration::from_millis(500))
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
pub struct RedisLimiterBuilder {
    url: String,
    key_hash: Option<String>,
    limit: RateLimit,
    fallback_limit: Option<RateLimit>,
    on_failure: RedisFailure,
    redis_timeout: Duration,
    connect_timeout: Duration,
    retry_redis_after: Duration,
    key_prefix: String,
}

impl fmt::Debug for RedisLimiterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLimiterBuilder")
            .field("url", &redact_url(&self.url))
            .field("limit", &self.limit)
            .field("fallback_limit", &self.fallback_limit)
            .field("on_failure", &self.on_failure)
            .field("redis_timeout", &self.redis_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry_redis_after", &self.retry_redis_after)
            .field("key_prefix", &self.key_prefix)
            .finish_non_exhaustive()
    }
}

impl RedisLimiterBuilder {
    /// What to do while Redis is failing (default [`RedisFailure::FallBackToLocal`]).
    ///
    /// ```
    /// use la_core::stack::redis_limiter::{RedisFailure, RedisLimiter};
    /// use la_core::RateLimit;
    ///
    /// let builder = RedisLimiter::builder("redis://127.0.0.1", "key", RateLimit::default())
    ///     .on_failure(RedisFailure::Deny);
    /// ```
    pub fn on_failure(mut self, policy: RedisFailure) -> Self {
        self.on_failure = policy;
        self
    }

    /// The limit the in-process fallback enforces while Redis is failing (default: the shared
    /// limit). With `n` processes, the shared limit divided by `n` keeps the whole fleet under
    /// the limit during an outage as well.
    ///
    /// ```
    /// use la_core::stack::redis_limiter::RedisLimiter;
    /// use la_core::RateLimit;
    ///
    /// let builder = RedisLimiter::builder("redis://127.0.0.1", "key", RateLimit::default())
    ///     .fallback_limit(RateLimit::per_minute(180 / 3)?);
    /// # Ok::<(), la_core::Error>(())
    /// ```
    pub fn fallback_limit(mut self, limit: RateLimit) -> Self {
        self.fallback_limit = Some(limit);
        self
    }

    /// The timeout of one call to Redis (default 250 ms). A call that takes longer counts as a
    /// failure and the [`RedisFailure`] policy answers.
    ///
    /// ```
    /// use std::time::Duration;
    /// use la_core::stack::redis_limiter::RedisLimiter;
    /// use la_core::RateLimit;
    ///
    /// let builder = RedisLimiter::builder("redis://127.0.0.1", "key", RateLimit::default())
    ///     .redis_timeout(Duration::from_millis(50));
    /// ```
    pub fn redis_timeout(mut self, timeout: Duration) -> Self {
        self.redis_timeout = timeout;
        self
    }

    /// The timeout for establishing a connection to Redis (default 2 s): bounds
    /// [`build`](Self::build) and each reconnection attempt.
    ///
    /// ```
    /// use std::time::Duration;
    /// use la_core::stack::redis_limiter::RedisLimiter;
    /// use la_core::RateLimit;
    ///
    /// let builder = RedisLimiter::builder("redis://127.0.0.1", "key", RateLimit::default())
    ///     .connect_timeout(Duration::from_secs(5));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// While Redis is failing, how long to wait before asking it again (default 1 s). Requests
    /// in between are answered by the [`RedisFailure`] policy without touching Redis.
    ///
    /// ```
    /// use std::time::Duration;
    /// use la_core::stack::redis_limiter::RedisLimiter;
    /// use la_core::RateLimit;
    ///
    /// let builder = RedisLimiter::builder("redis://127.0.0.1", "key", RateLimit::default())
    ///     .retry_redis_after(Duration::from_millis(200));
    /// ```
    pub fn retry_redis_after(mut self, pause: Duration) -> Self {
        self.retry_redis_after = pause;
        self
    }

    /// The prefix of the Redis key (default `liveagent:ratelimit:`); the SHA-256 of the API key
    /// (hex) follows it.
    ///
    /// ```
    /// use la_core::stack::redis_limiter::RedisLimiter;
    /// use la_core::RateLimit;
    ///
    /// let builder = RedisLimiter::builder("redis://127.0.0.1", "key", RateLimit::default())
    ///     .key_prefix("billing-sync:ratelimit:");
    /// ```
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Builds the limiter without touching the network: the connection is made on the first
    /// [`acquire`](Limiter::acquire), and until Redis answers the [`RedisFailure`] policy
    /// decides. Needs no tokio runtime.
    ///
    /// Fails only on invalid settings ([`RedisLimiterError::Config`]).
    ///
    /// ```
    /// use la_core::stack::redis_limiter::RedisLimiter;
    /// use la_core::RateLimit;
    ///
    /// let limiter = RedisLimiter::builder("redis://127.0.0.1:6379", "key", RateLimit::default())
    ///     .build_lazy()?;
    /// assert!(limiter.redis_key().starts_with("liveagent:ratelimit:"));
    /// # Ok::<(), la_core::stack::redis_limiter::RedisLimiterError>(())
    /// ```
    pub fn build_lazy(self) -> Result<RedisLimiter, RedisLimiterError> {
        let shown_url = redact_url(&self.url);
        let client = redis::Client::open(self.url.as_str()).map_err(|_| {
            RedisLimiterError::config(format!(
                "{shown_url} is not a valid Redis URL (expected redis://[user:password@]host[:port][/db], \
                 or redis+unix:///path)"
            ))
        })?;
        let key_hash = self
            .key_hash
            .ok_or_else(|| RedisLimiterError::config("the API key is empty"))?;
        for (name, value) in [
            ("redis_timeout", self.redis_timeout),
            ("connect_timeout", self.connect_timeout),
            ("retry_redis_after", self.retry_redis_after),
        ] {
            if value.is_zero() {
                return Err(RedisLimiterError::config(format!(
                    "{name} must be longer than zero"
                )));
            }
        }
        let password = client.get_connection_info().redis_settings().password();
        let password = password.filter(|p| !p.is_empty()).map(str::to_owned);
        let (interval_us, tolerance_us) = gcra_parameters(self.limit);
        let fallback = LocalLimiter::new(self.fallback_limit.unwrap_or(self.limit));
        Ok(RedisLimiter {
            inner: Arc::new(Inner {
                client,
                manager: OnceLock::new(),
                script: redis::Script::new(GCRA_SCRIPT),
                redis_key: format!("{}{key_hash}", self.key_prefix),
                shown_url,
                password,
                limit: self.limit,
                interval_us,
                tolerance_us,
                fallback,
                line: WaitingLine::new(),
                on_failure: self.on_failure,
                redis_timeout: self.redis_timeout,
                connect_timeout: self.connect_timeout,
                retry_redis_after: self.retry_redis_after,
                epoch: tokio::time::Instant::now(),
                healthy: AtomicBool::new(true),
                next_probe_us: AtomicU64::new(0),
                redis_decisions: AtomicU64::new(0),
                redis_failures: AtomicU64::new(0),
                policy_decisions: AtomicU64::new(0),
            }),
        })
    }

    /// Builds the limiter and checks that Redis answers and accepts the limiter's script,
    /// within the connect timeout, over the connection the limiter then keeps for its decisions.
    ///
    /// Fails with [`RedisLimiterError::Config`] on invalid settings and with
    /// [`RedisLimiterError::Unavailable`] when Redis cannot be used now (whatever the
    /// [`RedisFailure`] policy: a start-up with a wrong URL should be loud). To start while
    /// Redis may be down, use [`build_lazy`](Self::build_lazy).
    ///
    /// ```no_run
    /// use la_core::stack::redis_limiter::RedisLimiter;
    /// use la_core::RateLimit;
    ///
    /// # async fn run() -> Result<(), la_core::stack::redis_limiter::RedisLimiterError> {
    /// let limiter = RedisLimiter::builder("redis://127.0.0.1:6379", "key", RateLimit::default())
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn build(self) -> Result<RedisLimiter, RedisLimiterError> {
        let limiter = self.build_lazy()?;
        let inner = &limiter.inner;
        // The check goes through the connection the limiter keeps, so that a started limiter
        // holds one connection to Redis, not a second one opened for the check alone.
        let check = async {
            let mut connection = inner.manager().map_err(Failure::Redis)?;
            inner.load_script(&mut connection).await
        };
        let unavailable = |message: String| RedisLimiterError::Unavailable {
            url: inner.shown_url.clone(),
            message,
        };
        match tokio::time::timeout(inner.connect_timeout, check).await {
            Ok(Ok(())) => {}
            Ok(Err(failure)) => return Err(unavailable(inner.reason(&failure))),
            Err(_) => {
                return Err(unavailable(format!(
                    "no answer within the connect timeout of {:?}",
                    inner.connect_timeout
                )));
            }
        }
        Ok(limiter)
    }
}

impl RedisLimiterError {
    fn config(message: impl Into<String>) -> Self {
        RedisLimiterError::Config {
            message: message.into(),
        }
    }
}

/// A [`Limiter`] whose state lives in Redis, shared by every process that uses the same API key
/// and the same Redis. See the [module documentation](self) for how it works and what happens
/// when Redis fails.
///
/// Cheap to clone: clones share the connection, the fallback limiter and the counters.
///
/// ```no_run
/// use std::sync::Arc;
/// use la_core::stack::redis_limiter::RedisLimiter;
/// use la_core::{Client, RateLimit};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let limiter = RedisLimiter::builder("redis://127.0.0.1:6379", "your-api-key", RateLimit::default())
///     .build()
///     .await?;
/// let client = Client::builder()
///     .account("acme")
///     .api_key("your-api-key")
///     .limiter(Arc::new(limiter))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    manager: OnceLock<ConnectionManager>,
    script: redis::Script,
    redis_key: String,
    shown_url: String,
    password: Option<String>,
    limit: RateLimit,
    interval_us: u64,
    tolerance_us: u64,
    fallback: LocalLimiter,
    /// The line of this process's calls waiting for a token, shared by every client using it.
    line: WaitingLine,
    on_failure: RedisFailure,
    redis_timeout: Duration,
    connect_timeout: Duration,
    retry_redis_after: Duration,
    epoch: tokio::time::Instant,
    healthy: AtomicBool,
    next_probe_us: AtomicU64,
    redis_decisions: AtomicU64,
    redis_failures: AtomicU64,
    policy_decisions: AtomicU64,
}

/// Why a call to Redis did not decide.
enum Failure {
    Redis(redis::RedisError),
    Timeout,
    /// Redis answered something the limiter cannot use; says what was expected.
    Malformed(&'static str),
}

impl RedisLimiter {
    /// Starts configuring a limiter for `api_key` (only its SHA-256 is kept) that enforces
    /// `limit` through the Redis at `redis_url` (`redis://[user:password@]host[:port][/db]`).
    ///
    /// ```
    /// use la_core::stack::redis_limiter::RedisLimiter;
    /// use la_core::RateLimit;
    ///
    /// let builder = RedisLimiter::builder("redis://127.0.0.1:6379", "your-api-key", RateLimit::default());
    /// ```
    pub fn builder(redis_url: &str, api_key: &str, limit: RateLimit) -> RedisLimiterBuilder {
        let key = api_key.trim();
        RedisLimiterBuilder {
            url: redis_url.trim().to_owned(),
            key_hash: (!key.is_empty()).then(|| sha256_hex(key)),
            limit,
            fallback_limit: None,
            on_failure: RedisFailure::default(),
            redis_timeout: DEFAULT_REDIS_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            retry_redis_after: DEFAULT_RETRY_REDIS_AFTER,
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
        }
    }

    /// The shared limit.
    ///
    /// ```
    /// use la_core::stack::redis_limiter::RedisLimiter;
    /// use la_core::RateLimit;
    ///
    /// let limiter = RedisLimiter::builder("redis://127.0.0.1", "key", RateLimit::default()).build_lazy()?;
    /// assert_eq!(limiter.limit(), RateLimit::default());
    /// # Ok::<(), la_core::stack::redis_limiter::RedisLimiterError>(())
    /// ```
    pub fn limit(&self) -> RateLimit {
        self.inner.limit
    }

    /// The Redis key holding the state: the prefix and the SHA-256 of the API key in hex.
    ///
    /// ```
    /// use la_core::stack::redis_limiter::RedisLimiter;
    /// use la_core::RateLimit;
    ///
    /// let limiter = RedisLimiter::builder("redis://127.0.0.1", "key", RateLimit::default()).build_lazy()?;
    /// assert_eq!(limiter.redis_key().len(), "liveagent:ratelimit:".len() + 64);
    /// # Ok::<(), la_core::stack::redis_limiter::RedisLimiterError>(())
    /// ```
    pub fn redis_key(&self) -> &str {
        &self.inner.redis_key
    }

    /// Whether the last call to Redis succeeded, i.e. the shared limit applies (`false` while
    /// the [`RedisFailure`] policy decides).
    ///
    /// ```
    /// use la_core::stack::redis_limiter::RedisLimiter;
    /// use la_core::RateLimit;
    ///
    /// let limiter = RedisLimiter::builder("redis://127.0.0.1", "key", RateLimit::default()).build_lazy()?;
    /// assert!(limiter.is_redis_healthy()); // nothing has failed yet
    /// # Ok::<(), la_core::stack::redis_limiter::RedisLimiterError>(())
    /// ```
    pub fn is_redis_healthy(&self) -> bool {
        self.inner.healthy.load(Ordering::Acquire)
    }

    /// The counters so far.
    ///
    /// ```
    /// use la_core::stack::redis_limiter::RedisLimiter;
    /// use la_core::RateLimit;
    ///
    /// let limiter = RedisLimiter::builder("redis://127.0.0.1", "key", RateLimit::default()).build_lazy()?;
    /// assert_eq!(limiter.stats().redis_decisions, 0);
    /// # Ok::<(), la_core::stack::redis_limiter::RedisLimiterError>(())
    /// ```
    pub fn stats(&self) -> RedisLimiterStats {
        let inner = &self.inner;
        RedisLimiterStats {
            redis_decisions: inner.redis_decisions.load(Ordering::Relaxed),
            redis_failures: inner.redis_failures.load(Ordering::Relaxed),
            policy_decisions: inner.policy_decisions.load(Ordering::Relaxed),
        }
    }
}

impl fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("RedisLimiter")
            .field("url", &inner.shown_url)
            .field("limit", &inner.limit)
            .field("on_failure", &inner.on_failure)
            .field("redis_timeout", &inner.redis_timeout)
            .field("healthy", &inner.healthy.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Limiter for RedisLimiter {
    fn acquire(&self) -> BoxFuture<'_, Result<(), Denied>> {
        Box::pin(self.inner.acquire())
    }

    fn waiting_line(&self) -> Option<WaitingLine> {
        Some(self.inner.line.clone())
    }
}

impl Inner {
    async fn acquire(&self) -> Result<(), Denied> {
        if !self.may_ask_redis() {
            return self.by_policy();
        }
        match self.ask_redis().await {
            Ok(decision) => {
                self.redis_decisions.fetch_add(1, Ordering::Relaxed);
                if !self.healthy.swap(true, Ordering::AcqRel) {
                    tracing::info!(
                        redis = %self.shown_url,
                        "Redis answers again: the shared rate limit applies"
                    );
                }
                decision
            }
            Err(failure) => {
                self.redis_failures.fetch_add(1, Ordering::Relaxed);
                let retry_at = self
                    .now_us()
                    .saturating_add(duration_us(self.retry_redis_after));
                self.next_probe_us.store(retry_at, Ordering::Release);
                let reason = self.reason(&failure);
                if self.healthy.swap(false, Ordering::AcqRel) {
                    tracing::warn!(
                        redis = %self.shown_url,
                        reason = %reason,
                        policy = ?self.on_failure,
                        retry_in_ms = self.retry_redis_after.as_millis() as u64,
                        "the shared rate limiter cannot use Redis; the failure policy decides until it answers again"
                    );
                } else {
                    tracing::debug!(reason = %reason, "Redis still failing");
                }
                self.by_policy()
            }
        }
    }

    /// True when Redis should be asked: always while healthy; while failing, for one caller
    /// once the pause has passed.
    fn may_ask_redis(&self) -> bool {
        if self.healthy.load(Ordering::Acquire) {
            return true;
        }
        let now = self.now_us();
        let next = self.next_probe_us.load(Ordering::Acquire);
        if now < next {
            return false;
        }
        let retry_at = now.saturating_add(duration_us(self.retry_redis_after));
        self.next_probe_us
            .compare_exchange(next, retry_at, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn by_policy(&self) -> Result<(), Denied> {
        self.policy_decisions.fetch_add(1, Ordering::Relaxed);
        match self.on_failure {
            RedisFailure::FallBackToLocal => self.fallback.try_acquire(),
            RedisFailure::Deny => {
                let next = self.next_probe_us.load(Ordering::Acquire);
                let wait = Duration::from_micros(next.saturating_sub(self.now_us()));
                Err(Denied {
                    retry_after: wait.clamp(Duration::from_millis(1), self.retry_redis_after),
                })
            }
        }
    }

    fn manager(&self) -> Result<ConnectionManager, redis::RedisError> {
        if let Some(manager) = self.manager.get() {
            return Ok(manager.clone());
        }
        let backoff_cap = self.retry_redis_after.max(Duration::from_millis(100));
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.redis_timeout))
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(backoff_cap);
        let manager = ConnectionManager::new_lazy_with_config(self.client.clone(), config)?;
        Ok(self.manager.get_or_init(|| manager).clone())
    }

    /// Loads the script into Redis's script cache and checks that Redis names it by its SHA-1.
    ///
    /// The commands are the limiter's own, not `redis::Script`'s, and every answer is read as a
    /// plain value: whatever Redis (or something posing as Redis) answers becomes a
    /// [`Failure`], never a panic.
    async fn load_script(&self, connection: &mut ConnectionManager) -> Result<(), Failure> {
        let answer: redis::Value = redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(GCRA_SCRIPT)
            .query_async(connection)
            .await
            .map_err(Failure::Redis)?;
        let sha = self.script.get_hash().as_bytes();
        match &answer {
            redis::Value::BulkString(bytes) if bytes.eq_ignore_ascii_case(sha) => Ok(()),
            redis::Value::SimpleString(text) if text.as_bytes().eq_ignore_ascii_case(sha) => Ok(()),
            _ => Err(Failure::Malformed(
                "SCRIPT LOAD should answer the script's SHA-1",
            )),
        }
    }

    async fn ask_redis(&self) -> Result<Result<(), Denied>, Failure> {
        let call = async {
            let mut connection = self.manager().map_err(Failure::Redis)?;
            let run = |command: &str, script: &str| {
                let mut cmd = redis::cmd(command);
                cmd.arg(script)
                    .arg(1)
                    .arg(&self.redis_key)
                    .arg(self.interval_us)
                    .arg(self.tolerance_us);
                cmd
            };
            let evalsha = run("EVALSHA", self.script.get_hash());
            match evalsha.query_async::<redis::Value>(&mut connection).await {
                Ok(answer) => Ok(answer),
                // Not in Redis's script cache (a restart, SCRIPT FLUSH): EVAL sends the script
                // itself and caches it again.
                Err(error) if error.code() == Some("NOSCRIPT") => run("EVAL", GCRA_SCRIPT)
                    .query_async::<redis::Value>(&mut connection)
                    .await
                    .map_err(Failure::Redis),
                Err(error) => Err(Failure::Redis(error)),
            }
        };
        let answer = tokio::time::timeout(self.redis_timeout, call)
            .await
            .map_err(|_| Failure::Timeout)??;
        decision(&answer, self.interval_us.saturating_add(self.tolerance_us))
    }

    fn now_us(&self) -> u64 {
        duration_us(self.epoch.elapsed())
    }

    fn reason(&self, failure: &Failure) -> String {
        match failure {
            Failure::Redis(error) => self.describe(error),
            Failure::Timeout => format!("no answer within {:?}", self.redis_timeout),
            Failure::Malformed(expected) => format!("unexpected answer from Redis: {expected}"),
        }
    }

    /// A Redis error as text, with the password (if any) blanked out.
    fn describe(&self, error: &redis::RedisError) -> String {
        let text = error.to_string();
        match &self.password {
            Some(password) if text.contains(password.as_str()) => text.replace(password, "***"),
            _ => text,
        }
    }
}

/// Reads the script's answer: `{1, 0}` (a token was taken) or `{0, wait}` with a wait in
/// microseconds between 0 and `max_wait_us` (no consistent state asks to wait longer than one
/// interval plus the burst tolerance). Anything else is [`Failure::Malformed`].
fn decision(answer: &redis::Value, max_wait_us: u64) -> Result<Result<(), Denied>, Failure> {
    const EXPECTED: &str = "the limiter script should answer {1, 0} or {0, wait}";
    let integer = |value: &redis::Value| match value {
        redis::Value::Int(n) => Some(*n),
        _ => None,
    };
    let items = match answer {
        redis::Value::Array(items) => items.as_slice(),
        _ => return Err(Failure::Malformed(EXPECTED)),
    };
    let (allowed, wait) = match items {
        [allowed, wait] => (integer(allowed), integer(wait)),
        _ => return Err(Failure::Malformed(EXPECTED)),
    };
    match (allowed, wait.map(u64::try_from)) {
        (Some(1), Some(Ok(0))) => Ok(Ok(())),
        (Some(0), Some(Ok(wait_us))) if wait_us <= max_wait_us => Ok(Err(Denied {
            retry_after: Duration::from_micros(wait_us.max(1)),
        })),
        _ => Err(Failure::Malformed(EXPECTED)),
    }
}

/// The GCRA interval and burst tolerance in whole microseconds, rounded up so the shared limit
/// is never looser than asked. The interval is [`RateLimit::interval`], the same spacing as the
/// local limiter's, so the shared limit keeps the same guarantee: at most `requests` in any
/// window, burst included.
fn gcra_parameters(limit: RateLimit) -> (u64, u64) {
    let interval_ns = limit.interval().as_nanos();
    let interval_us = u64::try_from(interval_ns.div_ceil(1_000))
        .unwrap_or(u64::MAX)
        .max(1);
    let tolerance_us = interval_us.saturating_mul(u64::from(limit.burst_size() - 1));
    (interval_us, tolerance_us)
}

fn duration_us(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

fn sha256_hex(text: &str) -> String {
    use std::fmt::Write as _;
    let digest = Sha256::digest(text.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest.iter() {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// The URL with its password replaced by `***`; a URL that does not parse is not shown at all,
/// since it could hold a password in a place the parser did not recognise.
pub(crate) fn redact_url(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => "<unparsable Redis URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_round_up_to_whole_microseconds() {
        // The local limiter's spacing (344,318,183 ns), rounded up to the microsecond.
        assert_eq!(
            gcra_parameters(RateLimit::default()),
            (344_319, 4 * 344_319)
        );
        let limit = RateLimit::new(20, Duration::from_secs(1))
            .unwrap()
            .burst(1)
            .unwrap()
            .jitter_margin(Duration::ZERO);
        // 1 s / 20, plus the nanosecond that keeps the 21st request out of the window.
        assert_eq!(gcra_parameters(limit), (50_001, 0));
    }

    #[test]
    fn the_redis_key_is_a_hash_of_the_api_key() {
        let limiter = RedisLimiter::builder(
            "redis://127.0.0.1:1",
            "  secret-key  ",
            RateLimit::default(),
        )
        .build_lazy()
        .unwrap();
        // The key is trimmed like the client trims it, then hashed.
        assert_eq!(
            limiter.redis_key(),
            format!("liveagent:ratelimit:{}", sha256_hex("secret-key"))
        );
        assert!(!limiter.redis_key().contains("secret-key"));
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn passwords_never_show() {
        let builder = RedisLimiter::builder(
            "redis://user:hunter2@redis.internal:6380/2",
            "k",
            RateLimit::default(),
        );
        assert!(!format!("{builder:?}").contains("hunter2"));
        let limiter = builder.build_lazy().unwrap();
        let debug = format!("{limiter:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(
            debug.contains("redis://user:***@redis.internal:6380/2"),
            "{debug}"
        );
        let err =
            RedisLimiter::builder("redis://:hunter2@host:notaport", "k", RateLimit::default())
                .build_lazy()
                .unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(matches!(err, RedisLimiterError::Config { .. }));
    }

    #[test]
    fn invalid_settings_are_refused() {
        let empty_key = RedisLimiter::builder("redis://127.0.0.1", "  ", RateLimit::default())
            .build_lazy()
            .unwrap_err();
        assert!(
            empty_key.to_string().contains("API key is empty"),
            "{empty_key}"
        );
        let zero = RedisLimiter::builder("redis://127.0.0.1", "k", RateLimit::default())
            .redis_timeout(Duration::ZERO)
            .build_lazy()
            .unwrap_err();
        assert!(zero.to_string().contains("redis_timeout"), "{zero}");
        let not_redis = RedisLimiter::builder("http://127.0.0.1", "k", RateLimit::default())
            .build_lazy()
            .unwrap_err();
        assert!(matches!(not_redis, RedisLimiterError::Config { .. }));
        assert!(matches!(
            crate::Error::from(not_redis),
            crate::Error::Config { .. }
        ));
    }
}
