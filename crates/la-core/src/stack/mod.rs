//! The middleware stack, one module per layer.
//!
//! The default stack, outermost first:
//!
//! ```text
//! [your outer layers]
//! tracing         span per call: method, path, operation; status and latency
//! total timeout   bounds the whole call, retries and rate-limit waits included
//! retry           backoff with full jitter, Retry-After, retry budget
//! rate limit      one token per attempt (GCRA, 180/min by default; in Redis with the
//!                 `redis-limiter` feature, shared by many processes)
//! auth            apikey header (sensitive), only for the configured origin
//! attempt timeout bounds one attempt, body included
//! [your inner layers]
//! transport       reqwest (or any tower service), whole body read with a size limit
//! ```
//!
//! Every layer is public and can be used on its own around any
//! `tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Error>`.

pub mod auth;
pub mod rate_limit;
#[cfg(feature = "redis-limiter")]
pub mod redis_limiter;
pub mod retry;
pub mod timeout;
pub mod trace;
pub mod transport;
