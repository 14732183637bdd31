//! Per-API-key rate limiting as a token bucket in GCRA form.
//!
//! A key may send `burst` requests at once; after that, one request every `window / limit`.
//! Requests over the limit are answered `429` with `Retry-After` in whole seconds.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A rate limit: `limit` requests per `window`, with bursts of up to `burst` requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window (sustained rate).
    pub limit: u32,
    /// The window the limit applies to.
    pub window: Duration,
    /// How many requests may arrive at once (the bucket capacity); defaults to `limit`.
    pub burst: u32,
}

impl RateLimit {
    /// `limit` requests per `window`, with a burst equal to the limit.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: limit.max(1),
            window,
            burst: limit.max(1),
        }
    }

    /// `limit` requests per minute, with a burst equal to the limit.
    pub fn per_minute(limit: u32) -> Self {
        Self::new(limit, Duration::from_secs(60))
    }

    /// LiveAgent's published limit: 180 requests per minute per API key.
    pub fn liveagent() -> Self {
        Self::per_minute(180)
    }

    /// The same limit with another bucket capacity (at least 1).
    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = burst.max(1);
        self
    }

    /// The time between two requests at the sustained rate.
    pub fn interval(&self) -> Duration {
        self.window / self.limit.max(1)
    }

    /// Parses `N/SECS` (e.g. `180/60`); `N` alone means per 60 seconds.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (n, secs) = match text.split_once('/') {
            Some((n, secs)) => (n, secs),
            None => (text, "60"),
        };
        let limit: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("invalid rate limit '{text}': expected N/SECONDS, e.g. 180/60"))?;
        let secs: f64 =
            secs.trim().trim_end_matches('s').parse().map_err(|_| {
                format!("invalid rate limit '{text}': expected N/SECONDS, e.g. 180/60")
            })?;
        if limit == 0 || !secs.is_finite() || secs <= 0.0 {
            return Err(format!(
                "invalid rate limit '{text}': both numbers must be positive"
            ));
        }
        Ok(Self::new(limit, Duration::from_secs_f64(secs)))
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::liveagent()
    }
}

/// The limiter state: one theoretical arrival time per key.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    config: Option<RateLimit>,
    tat: HashMap<String, Instant>,
}

impl Limiter {
    pub(crate) fn new(config: Option<RateLimit>) -> Self {
        Self {
            config,
            tat: HashMap::new(),
        }
    }

    pub(crate) fn config(&self) -> Option<RateLimit> {
        self.config
    }

    /// Replaces the configuration and forgets every bucket.
    pub(crate) fn set(&mut self, config: Option<RateLimit>) {
        self.config = config;
        self.tat.clear();
    }

    /// Admits a request of `key` at `now`, or tells how long to wait.
    pub(crate) fn check(&mut self, key: &str, now: Instant) -> Result<(), Duration> {
        let Some(cfg) = self.config else {
            return Ok(());
        };
        let interval = cfg.interval();
        let tolerance = interval * cfg.burst.saturating_sub(1);
        let stored = self.tat.get(key).copied().unwrap_or(now);
        let tat = stored.max(now);
        let ahead = tat.saturating_duration_since(now);
        if ahead > tolerance {
            return Err(ahead - tolerance);
        }
        match self.tat.get_mut(key) {
            Some(slot) => *slot = tat + interval,
            None => {
                self.tat.insert(key.to_string(), tat + interval);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_steady() {
        let mut l = Limiter::new(Some(RateLimit::new(3, Duration::from_secs(3))));
        let t0 = Instant::now();
        assert!(l.check("k", t0).is_ok());
        assert!(l.check("k", t0).is_ok());
        assert!(l.check("k", t0).is_ok());
        let wait = l.check("k", t0).err().unwrap_or_default();
        assert_eq!(wait, Duration::from_secs(1));
        assert!(l.check("other", t0).is_ok());
        assert!(l.check("k", t0 + Duration::from_secs(1)).is_ok());
        assert!(l.check("k", t0 + Duration::from_secs(1)).is_err());
    }

    #[test]
    fn parses() {
        assert_eq!(RateLimit::parse("180/60"), Ok(RateLimit::per_minute(180)));
        assert!(RateLimit::parse("x/60").is_err());
        assert!(RateLimit::parse("0/60").is_err());
    }
}
