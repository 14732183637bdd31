//! Fault injection: rules that replace or disturb the answer to matching requests, and random
//! faults drawn from a seeded generator.

use std::time::Duration;

use fastrand::Rng;
use http::Method;

/// What goes wrong with an answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Answer this status with an `ErrorResponse` body (e.g. 500, 502, 503, 504).
    Status {
        /// The HTTP status code.
        status: u16,
        /// The `message` of the body.
        message: String,
    },
    /// `429` with `Retry-After: <seconds>`.
    RateLimitedSeconds(u64),
    /// `429` with `Retry-After` as an HTTP-date this many seconds in the future.
    RateLimitedHttpDate(u64),
    /// `429` without `Retry-After`.
    RateLimitedNoRetryAfter,
    /// `503` with `Retry-After: <seconds>`.
    UnavailableRetryAfter(u64),
    /// Wait, then answer normally.
    Delay(Duration),
    /// Reset the TCP connection (RST) before any response header.
    ResetBeforeHeaders,
    /// Accept the request and never answer (the connection stays open).
    HangBeforeHeaders,
    /// Send the headers (with a `Content-Length`) and part of the body, then stall forever.
    StallBody,
    /// Send the headers (with a `Content-Length`) and part of the body, then reset (RST).
    ResetMidBody,
    /// `200` with a JSON body cut in the middle (and a matching `Content-Length`).
    TruncatedJson,
    /// `200` with a body that is not JSON, labelled `application/json`.
    InvalidJson,
    /// An HTML error page (`text/html`) with this status (e.g. 200 or 502).
    Html(u16),
    /// `200` with an empty body labelled `application/json`.
    Empty200,
    /// `200` with a JSON body labelled with another content type (e.g. `text/plain`,
    /// `application/xml`).
    WrongContentType(String),
    /// `200` with a valid JSON array of about this many bytes.
    Oversized(usize),
}

impl Fault {
    /// A status fault with a default message.
    pub fn status(status: u16) -> Self {
        Fault::Status {
            status,
            message: format!("injected fault: HTTP {status}"),
        }
    }

    /// The faults random fault injection uses by default: quick failures, none that hang.
    pub fn default_random_set() -> Vec<Fault> {
        vec![
            Fault::status(500),
            Fault::status(502),
            Fault::UnavailableRetryAfter(1),
            Fault::status(504),
            Fault::RateLimitedSeconds(1),
            Fault::RateLimitedHttpDate(1),
            Fault::ResetBeforeHeaders,
            Fault::TruncatedJson,
            Fault::Html(502),
        ]
    }
}

/// Which requests a rule applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultMatch {
    /// Every request.
    Any,
    /// Requests of this `operationId`.
    Operation(String),
    /// Requests whose path (relative to `/api/v3`) starts with `path_prefix`, with this method
    /// if one is given.
    Route {
        /// The method to match; any method when `None`.
        method: Option<Method>,
        /// The path prefix, e.g. `/tickets`.
        path_prefix: String,
    },
}

/// How often a rule fires.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultTimes {
    /// For the next `n` matching requests, then the rule is dropped.
    Next(u32),
    /// For every matching request.
    Always,
    /// For each matching request with this probability (0.0..=1.0), drawn from the seeded
    /// fault generator.
    Probability(f64),
}

/// A fault rule: which requests, which fault, how often.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    /// Which requests.
    pub matcher: FaultMatch,
    /// What goes wrong.
    pub fault: Fault,
    /// How often.
    pub times: FaultTimes,
    /// Whether the request is first applied (handled normally) and only its answer replaced by
    /// the fault: models a write that succeeded though the client saw a failure.
    pub after_apply: bool,
}

impl FaultRule {
    /// A rule for every request; fires once unless changed with [`FaultRule::times`] etc.
    pub fn any(fault: Fault) -> Self {
        Self {
            matcher: FaultMatch::Any,
            fault,
            times: FaultTimes::Next(1),
            after_apply: false,
        }
    }

    /// A rule for one `operationId`; fires once unless changed.
    pub fn operation(operation_id: impl Into<String>, fault: Fault) -> Self {
        Self {
            matcher: FaultMatch::Operation(operation_id.into()),
            ..Self::any(fault)
        }
    }

    /// A rule for a method and a path prefix (relative to `/api/v3`, e.g. `/tickets`); fires once
    /// unless changed.
    pub fn route(method: Method, path_prefix: impl Into<String>, fault: Fault) -> Self {
        Self {
            matcher: FaultMatch::Route {
                method: Some(method),
                path_prefix: path_prefix.into(),
            },
            ..Self::any(fault)
        }
    }

    /// A rule for any method under a path prefix; fires once unless changed.
    pub fn path_prefix(path_prefix: impl Into<String>, fault: Fault) -> Self {
        Self {
            matcher: FaultMatch::Route {
                method: None,
                path_prefix: path_prefix.into(),
            },
            ..Self::any(fault)
        }
    }

    /// Fire for the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Self {
        self.times = FaultTimes::Next(n);
        self
    }

    /// Fire for every matching request.
    pub fn always(mut self) -> Self {
        self.times = FaultTimes::Always;
        self
    }

    /// Fire with this probability for each matching request.
    pub fn with_probability(mut self, p: f64) -> Self {
        self.times = FaultTimes::Probability(p.clamp(0.0, 1.0));
        self
    }

    /// Apply the request first, then answer with the fault.
    pub fn after_apply(mut self) -> Self {
        self.after_apply = true;
        self
    }

    fn matches(&self, operation: Option<&str>, method: &Method, path: &str) -> bool {
        match &self.matcher {
            FaultMatch::Any => true,
            FaultMatch::Operation(id) => operation == Some(id.as_str()),
            FaultMatch::Route {
                method: m,
                path_prefix,
            } => {
                let path = path.strip_prefix(crate::BASE_PATH).unwrap_or(path);
                m.as_ref().is_none_or(|m| m == method) && path.starts_with(path_prefix.as_str())
            }
        }
    }
}

/// Random faults: each request meets one of `faults` with `probability`.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomFaults {
    /// The chance (0.0..=1.0) that a request meets a fault.
    pub probability: f64,
    /// The faults to choose from, uniformly.
    pub faults: Vec<Fault>,
    /// The seed of the generator deciding which requests fail and how.
    pub seed: u64,
}

impl RandomFaults {
    /// Random faults from [`Fault::default_random_set`].
    pub fn new(probability: f64, seed: u64) -> Self {
        Self {
            probability: probability.clamp(0.0, 1.0),
            faults: Fault::default_random_set(),
            seed,
        }
    }

    /// The same, choosing among these faults instead.
    pub fn with_faults(mut self, faults: Vec<Fault>) -> Self {
        self.faults = faults;
        self
    }
}

/// The handle of an installed rule, for removing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FaultId(pub u64);

/// A fault chosen for a request.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Chosen {
    pub fault: Fault,
    pub after_apply: bool,
}

/// The live fault state.
#[derive(Debug)]
pub(crate) struct FaultEngine {
    /// The installed rules in order; a `Next(n)` rule counts down what remains and is dropped
    /// when nothing does.
    rules: Vec<(FaultId, FaultRule)>,
    next_id: u64,
    rng: Rng,
    random: Option<(RandomFaults, Rng)>,
}

impl FaultEngine {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            rules: Vec::new(),
            next_id: 1,
            rng: Rng::with_seed(seed ^ 0x5eed_fa17),
            random: None,
        }
    }

    pub(crate) fn add(&mut self, rule: FaultRule) -> FaultId {
        let id = FaultId(self.next_id);
        self.next_id += 1;
        if rule.times != FaultTimes::Next(0) {
            self.rules.push((id, rule));
        }
        id
    }

    pub(crate) fn remove(&mut self, id: FaultId) -> bool {
        let before = self.rules.len();
        self.rules.retain(|(installed, _)| *installed != id);
        before != self.rules.len()
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
        self.random = None;
    }

    pub(crate) fn rules(&self) -> Vec<(FaultId, FaultRule)> {
        self.rules.clone()
    }

    pub(crate) fn set_random(&mut self, random: Option<RandomFaults>) {
        self.random = random.map(|r| {
            let rng = Rng::with_seed(r.seed);
            (r, rng)
        });
    }

    pub(crate) fn is_idle(&self) -> bool {
        self.rules.is_empty() && self.random.is_none()
    }

    /// Picks the fault for a request, if any: the first matching rule wins, then random faults.
    pub(crate) fn choose(
        &mut self,
        operation: Option<&str>,
        method: &Method,
        path: &str,
    ) -> Option<Chosen> {
        let mut fired = None;
        for (i, (_, rule)) in self.rules.iter_mut().enumerate() {
            if !rule.matches(operation, method, path) {
                continue;
            }
            let fire = match &mut rule.times {
                FaultTimes::Next(remaining) => {
                    *remaining = remaining.saturating_sub(1);
                    true
                }
                FaultTimes::Always => true,
                FaultTimes::Probability(p) => self.rng.f64() < *p,
            };
            if fire {
                fired = Some((
                    i,
                    Chosen {
                        fault: rule.fault.clone(),
                        after_apply: rule.after_apply,
                    },
                ));
                break;
            }
        }
        if let Some((i, chosen)) = fired {
            if self.rules[i].1.times == FaultTimes::Next(0) {
                self.rules.remove(i);
            }
            return Some(chosen);
        }
        if let Some((random, rng)) = &mut self.random
            && !random.faults.is_empty()
            && rng.f64() < random.probability
        {
            let fault = random.faults[rng.usize(..random.faults.len())].clone();
            return Some(Chosen {
                fault,
                after_apply: false,
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_n_then_gone() {
        let mut e = FaultEngine::new(1);
        e.add(FaultRule::operation("getTicket", Fault::status(500)).times(2));
        assert!(
            e.choose(Some("getTicket"), &Method::GET, "/tickets/1")
                .is_some()
        );
        assert!(
            e.choose(Some("getTicketsList"), &Method::GET, "/tickets")
                .is_none()
        );
        assert!(
            e.choose(Some("getTicket"), &Method::GET, "/tickets/1")
                .is_some()
        );
        assert!(
            e.choose(Some("getTicket"), &Method::GET, "/tickets/1")
                .is_none()
        );
        assert!(e.is_idle());
    }

    #[test]
    fn route_prefix() {
        let mut e = FaultEngine::new(1);
        e.add(FaultRule::route(Method::POST, "/tickets", Fault::status(502)).always());
        assert!(e.choose(None, &Method::GET, "/tickets").is_none());
        assert!(e.choose(None, &Method::POST, "/api/v3/tickets").is_some());
        assert!(e.choose(None, &Method::POST, "/tickets").is_some());
    }
}
