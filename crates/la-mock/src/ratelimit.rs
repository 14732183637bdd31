//! Per-API-key rate limiting, by one of three algorithms ([`RateLimitAlgorithm`]):
//!
//! - `gcra` (the default): a token bucket in GCRA form. A key may send `burst` requests at once;
//!   after that, one request every `window / limit`.
//! - `sliding`: at most `limit` admitted requests in any trailing `window` (a request is admitted
//!   when fewer than `limit` were admitted in the `window` before it). `burst` is not used.
//! - `fixed`: at most `limit` admitted requests per fixed window; the windows follow one another
//!   from the moment the simulator started. `burst` is not used.
//!
//! Requests over the limit are answered `429` with `Retry-After` in whole seconds; they do not
//! count toward the limit.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// How the simulator counts a key's requests against its [`RateLimit`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RateLimitAlgorithm {
    /// A token bucket in GCRA form: `burst` at once, then one per `window / limit` (`gcra`).
    #[default]
    Gcra,
    /// At most `limit` admitted requests in any trailing `window` (`sliding`).
    Sliding,
    /// At most `limit` admitted requests per fixed `window`, windows aligned to the simulator's
    /// start (`fixed`).
    Fixed,
}

impl RateLimitAlgorithm {
    /// The name used on the command line: `gcra`, `sliding` or `fixed`.
    pub fn name(self) -> &'static str {
        match self {
            RateLimitAlgorithm::Gcra => "gcra",
            RateLimitAlgorithm::Sliding => "sliding",
            RateLimitAlgorithm::Fixed => "fixed",
        }
    }
}

impl fmt::Display for RateLimitAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RateLimitAlgorithm {
    type Err = String;

    /// Parses `gcra`, `sliding` or `fixed` (any case).
    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "gcra" => Ok(RateLimitAlgorithm::Gcra),
            "sliding" => Ok(RateLimitAlgorithm::Sliding),
            "fixed" => Ok(RateLimitAlgorithm::Fixed),
            _ => Err(format!(
                "invalid rate-limit algorithm '{text}': expected gcra, sliding or fixed"
            )),
        }
    }
}

/// A rate limit: `limit` requests per `window`, with bursts of up to `burst` requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window (sustained rate).
    pub limit: u32,
    /// The window the limit applies to.
    pub window: Duration,
    /// How many requests may arrive at once (the bucket capacity); defaults to `limit`. Used by
    /// [`RateLimitAlgorithm::Gcra`] only.
    pub burst: u32,
    /// How requests are counted (default [`RateLimitAlgorithm::Gcra`]).
    pub algorithm: RateLimitAlgorithm,
}

impl RateLimit {
    /// `limit` requests per `window`, with a burst equal to the limit.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: limit.max(1),
            window,
            burst: limit.max(1),
            algorithm: RateLimitAlgorithm::Gcra,
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

    /// The same limit counted by another algorithm.
    pub fn with_algorithm(mut self, algorithm: RateLimitAlgorithm) -> Self {
        self.algorithm = algorithm;
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
        let window = Duration::try_from_secs_f64(secs)
            .ok()
            .filter(|window| !window.is_zero())
            .ok_or_else(|| {
                format!("invalid rate limit '{text}': the window must be between 1 ns and 10^19 s")
            })?;
        Ok(Self::new(limit, window))
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::liveagent()
    }
}

/// A hundred years: the longest GCRA interval the limiter keeps.
const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The limiter state, per key: a theoretical arrival time (GCRA), the admitted arrivals of the
/// last window (sliding) or the current window and its count (fixed).
#[derive(Debug)]
pub(crate) struct Limiter {
    config: Option<RateLimit>,
    /// Where the fixed windows start.
    started: Instant,
    tat: HashMap<String, Instant>,
    arrivals: HashMap<String, VecDeque<Instant>>,
    windows: HashMap<String, (u128, u32)>,
}

impl Default for Limiter {
    fn default() -> Self {
        Self::new(None)
    }
}

impl Limiter {
    pub(crate) fn new(config: Option<RateLimit>) -> Self {
        Self::starting_at(config, Instant::now())
    }

    /// A limiter whose fixed windows start at `started`.
    pub(crate) fn starting_at(config: Option<RateLimit>, started: Instant) -> Self {
        Self {
            config,
            started,
            tat: HashMap::new(),
            arrivals: HashMap::new(),
            windows: HashMap::new(),
        }
    }

    pub(crate) fn config(&self) -> Option<RateLimit> {
        self.config
    }

    /// Replaces the configuration and forgets every bucket.
    pub(crate) fn set(&mut self, config: Option<RateLimit>) {
        self.config = config;
        self.tat.clear();
        self.arrivals.clear();
        self.windows.clear();
    }

    /// Admits a request of `key` at `now`, or tells how long to wait.
    pub(crate) fn check(&mut self, key: &str, now: Instant) -> Result<(), Duration> {
        let Some(cfg) = self.config else {
            return Ok(());
        };
        match cfg.algorithm {
            RateLimitAlgorithm::Gcra => self.check_gcra(cfg, key, now),
            RateLimitAlgorithm::Sliding => self.check_sliding(cfg, key, now),
            RateLimitAlgorithm::Fixed => self.check_fixed(cfg, key, now),
        }
    }

    fn check_gcra(&mut self, cfg: RateLimit, key: &str, now: Instant) -> Result<(), Duration> {
        // Past a century a slot is as good as never; the clamp keeps `Instant`s in range.
        let interval = cfg.interval().min(CENTURY);
        let tolerance = interval.saturating_mul(cfg.burst.saturating_sub(1));
        let stored = self.tat.get(key).copied().unwrap_or(now);
        let tat = stored.max(now);
        let ahead = tat.saturating_duration_since(now);
        if ahead > tolerance {
            return Err(ahead - tolerance);
        }
        // A window so long that the next slot is past what an `Instant` holds: never again.
        let next = tat.checked_add(interval).ok_or(Duration::MAX)?;
        match self.tat.get_mut(key) {
            Some(slot) => *slot = next,
            None => {
                self.tat.insert(key.to_string(), next);
            }
        }
        Ok(())
    }

    fn check_sliding(&mut self, cfg: RateLimit, key: &str, now: Instant) -> Result<(), Duration> {
        let arrivals = self.arrivals.entry(key.to_string()).or_default();
        // Forget what left the window: an arrival `window` or more before now.
        while arrivals
            .front()
            .is_some_and(|first| now.saturating_duration_since(*first) >= cfg.window)
        {
            arrivals.pop_front();
        }
        if arrivals.len() < cfg.limit.max(1) as usize {
            arrivals.push_back(now);
            return Ok(());
        }
        // Full: room again when the oldest arrival leaves the window.
        let oldest = arrivals.front().copied().unwrap_or(now);
        Err(cfg
            .window
            .saturating_sub(now.saturating_duration_since(oldest)))
    }

    fn check_fixed(&mut self, cfg: RateLimit, key: &str, now: Instant) -> Result<(), Duration> {
        let window_ns = cfg.window.as_nanos().max(1);
        let since_start = now.saturating_duration_since(self.started).as_nanos();
        let index = since_start / window_ns;
        let slot = self.windows.entry(key.to_string()).or_insert((index, 0));
        if slot.0 != index {
            *slot = (index, 0);
        }
        if slot.1 < cfg.limit.max(1) {
            slot.1 += 1;
            return Ok(());
        }
        // Full: room again when the next window starts.
        let left = window_ns - since_start % window_ns;
        Err(Duration::from_nanos(
            u64::try_from(left).unwrap_or(u64::MAX),
        ))
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
    fn sliding_holds_at_most_limit_in_any_trailing_window() {
        let cfg =
            RateLimit::new(3, Duration::from_secs(10)).with_algorithm(RateLimitAlgorithm::Sliding);
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut l = Limiter::starting_at(Some(cfg), t0);
        assert!(l.check("k", at(0)).is_ok());
        assert!(l.check("k", at(4_000)).is_ok());
        assert!(l.check("k", at(9_000)).is_ok());
        // A fourth within 10 s of the first is refused until the first leaves the window.
        assert_eq!(l.check("k", at(9_999)), Err(Duration::from_millis(1)));
        assert!(l.check("k", at(10_000)).is_ok());
        // The refused request did not count; now 4 s, 9 s and 10 s are in the window.
        assert_eq!(l.check("k", at(13_000)), Err(Duration::from_secs(1)));
        assert!(l.check("k", at(14_000)).is_ok());
        assert!(l.check("other", at(14_000)).is_ok());
    }

    #[test]
    fn fixed_windows_start_with_the_simulator() {
        let cfg =
            RateLimit::new(2, Duration::from_secs(10)).with_algorithm(RateLimitAlgorithm::Fixed);
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut l = Limiter::starting_at(Some(cfg), t0);
        assert!(l.check("k", at(9_000)).is_ok());
        assert!(l.check("k", at(9_500)).is_ok());
        assert_eq!(l.check("k", at(9_600)), Err(Duration::from_millis(400)));
        // A new window at 10 s: two more at once, though the last two came just before.
        assert!(l.check("k", at(10_000)).is_ok());
        assert!(l.check("k", at(10_001)).is_ok());
        assert_eq!(l.check("k", at(19_999)), Err(Duration::from_millis(1)));
        assert!(l.check("k", at(25_000)).is_ok());
    }

    #[test]
    fn absurd_windows_refuse_instead_of_overflowing() {
        let t0 = Instant::now();
        for algorithm in [
            RateLimitAlgorithm::Gcra,
            RateLimitAlgorithm::Sliding,
            RateLimitAlgorithm::Fixed,
        ] {
            let cfg = RateLimit::new(2, Duration::MAX).with_algorithm(algorithm);
            let mut l = Limiter::starting_at(Some(cfg), t0);
            let answers: Vec<bool> = (0..4)
                .map(|_| l.check("k", t0 + Duration::from_secs(1)).is_ok())
                .collect();
            assert_eq!(answers, [true, true, false, false], "{algorithm}");
        }
        // A bucket as deep as a u32 holds: its tolerance saturates.
        let deep = RateLimit::new(2, Duration::MAX).with_burst(u32::MAX);
        let mut l = Limiter::starting_at(Some(deep), t0);
        assert!((0..3).all(|_| l.check("k", t0).is_ok()));
    }

    #[test]
    fn parses() {
        assert_eq!(RateLimit::parse("180/60"), Ok(RateLimit::per_minute(180)));
        assert!(RateLimit::parse("x/60").is_err());
        assert!(RateLimit::parse("0/60").is_err());
        assert!(RateLimit::parse("5/1e30").is_err());
        assert!(RateLimit::parse("5/1e-12").is_err());
        assert_eq!("gcra".parse(), Ok(RateLimitAlgorithm::Gcra));
        assert_eq!("Sliding".parse(), Ok(RateLimitAlgorithm::Sliding));
        assert_eq!("fixed".parse(), Ok(RateLimitAlgorithm::Fixed));
        assert!("leaky".parse::<RateLimitAlgorithm>().is_err());
        assert_eq!(RateLimitAlgorithm::Sliding.to_string(), "sliding");
    }
}
