//! Request counters per operation and per method + path.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::server::lock;

/// Counts of requests for one operation, one route or in total.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests received (counted on arrival, before faults or rate limiting).
    pub received: u64,
    /// Requests that met an injected fault (a delay fault counts too, though the request then
    /// goes on to be answered normally).
    pub faulted: u64,
    /// Requests answered `429` (by the rate limiter or by an injected `429`).
    pub rate_limited: u64,
    /// Requests refused before the handler: `401`, `404`, `405`, `422`.
    pub rejected: u64,
    /// Requests that reached the operation handler.
    pub handled: u64,
    /// Write requests (non-GET) whose handler succeeded, i.e. whose change was applied.
    pub applied: u64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.received += other.received;
        self.faulted += other.faulted;
        self.rate_limited += other.rate_limited;
        self.rejected += other.rejected;
        self.handled += other.handled;
        self.applied += other.applied;
    }
}

/// A copy of the counters at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    total: Counts,
    by_operation: BTreeMap<String, Counts>,
    by_route: BTreeMap<String, Counts>,
}

impl CounterSnapshot {
    /// All requests together.
    pub fn total(&self) -> Counts {
        self.total
    }

    /// The counts of one operation (`"createTicket"`); zero if it was never called.
    pub fn operation(&self, operation_id: &str) -> Counts {
        self.by_operation
            .get(operation_id)
            .copied()
            .unwrap_or_default()
    }

    /// The counts of one method + path, e.g. `route("POST", "/tickets")`; the path may include
    /// the `/api/v3` base path and a query string, both ignored.
    pub fn route(&self, method: &str, path: &str) -> Counts {
        self.by_route
            .get(&route_key(method, path))
            .copied()
            .unwrap_or_default()
    }

    /// Counts of every operation called so far.
    pub fn operations(&self) -> &BTreeMap<String, Counts> {
        &self.by_operation
    }

    /// Counts of every `"METHOD /path"` called so far (paths relative to `/api/v3`).
    pub fn routes(&self) -> &BTreeMap<String, Counts> {
        &self.by_route
    }
}

/// The key of a route: upper-case method, a space, the path relative to the base path.
pub(crate) fn route_key(method: &str, path: &str) -> String {
    let path = path.split('?').next().unwrap_or("");
    let path = path.strip_prefix(crate::BASE_PATH).unwrap_or(path);
    let path = if path.is_empty() { "/" } else { path };
    format!("{} {}", method.to_ascii_uppercase(), path)
}

/// Something that happened to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// The request arrived.
    Received,
    /// A fault rule or random fault matched it.
    Faulted,
    /// It was answered 429.
    RateLimited,
    /// It was refused before the handler (401, 404, 405, 422).
    Rejected,
    /// It reached the handler; `applied` when a write succeeded.
    Handled {
        /// Whether the change was applied.
        applied: bool,
    },
}

impl Event {
    fn counts(self) -> Counts {
        let mut c = Counts::default();
        match self {
            Event::Received => c.received = 1,
            Event::Faulted => c.faulted = 1,
            Event::RateLimited => c.rate_limited = 1,
            Event::Rejected => c.rejected = 1,
            Event::Handled { applied } => {
                c.handled = 1;
                c.applied = u64::from(applied);
            }
        }
        c
    }
}

/// Live counters shared by the server tasks.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    inner: Mutex<CounterSnapshot>,
}

impl Counters {
    /// Counts an event of a request.
    pub(crate) fn count(&self, operation: Option<&str>, route: &str, event: Event) {
        self.record(operation, route, &event.counts());
    }

    /// Applies `change` to the counts of the operation (if known), the route and the total.
    fn record(&self, operation: Option<&str>, route: &str, change: &Counts) {
        let mut guard = lock(&self.inner);
        guard.total.add(change);
        if let Some(op) = operation {
            match guard.by_operation.get_mut(op) {
                Some(c) => c.add(change),
                None => {
                    let mut c = Counts::default();
                    c.add(change);
                    guard.by_operation.insert(op.to_string(), c);
                }
            }
        }
        match guard.by_route.get_mut(route) {
            Some(c) => c.add(change),
            None => {
                let mut c = Counts::default();
                c.add(change);
                guard.by_route.insert(route.to_string(), c);
            }
        }
    }

    pub(crate) fn snapshot(&self) -> CounterSnapshot {
        lock(&self.inner).clone()
    }

    pub(crate) fn reset(&self) {
        *lock(&self.inner) = CounterSnapshot::default();
    }
}
