//! An embedded simulator of the LiveAgent help-desk REST API v3.
//!
//! The simulator serves all 255 operations of the OpenAPI description shipped inside this crate
//! (`spec/liveagent-v3.openapi.json`, compiled in) under `http://127.0.0.1:PORT/api/v3`:
//!
//! - every request is authenticated (`apikey` header), routed (unknown path `404`, wrong method
//!   `405`) and validated against the description (`422` with `{"message": ...}` naming the
//!   field);
//! - tickets (with message groups, history and attributes), contacts, companies, agents,
//!   departments, tags and calls are stateful; every other operation answers schema-valid data
//!   generated deterministically from the seed;
//! - lists page (`_page`, `_perPage`, `_from`, `_to`), sort (`_sortField`, `_sortDir`), filter
//!   (`_filters` as `{column: value}` or `[[column, operator, value], ...]`) and walk cursors
//!   (`_cursor` in, `next_page_cursor` header out) as LiveAgent does;
//! - a per-key rate limit (180 requests per minute by default), fault injection and request
//!   counters can be configured at start and changed at run time.
//!
//! ```no_run
//! # async fn demo() -> Result<(), la_mock::SimError> {
//! use la_mock::{Fault, FaultRule, RateLimit, Simulator};
//!
//! let sim = Simulator::builder()
//!     .seed(7)
//!     .tickets(1_000)
//!     .rate_limit(RateLimit::per_minute(180).with_burst(10))
//!     .start()
//!     .await?;
//! println!("{} with key {}", sim.base_url(), sim.api_key());
//!
//! // The next createTicket answers 503 with Retry-After: 2.
//! sim.add_fault(FaultRule::operation("createTicket", Fault::UnavailableRetryAfter(2)));
//!
//! // ... run the client under test against sim.base_url() ...
//!
//! assert_eq!(sim.counters().operation("createTicket").applied, 1);
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # In your own tests
//!
//! Add `la-mock` as a dev-dependency (with tokio's `macros` and `rt-multi-thread`), or enable
//! the `liveagent` facade's `test-util` feature, which re-exports this crate as
//! `liveagent::testing::simulator` (and [`Simulator`] as `liveagent::testing::Simulator`). Start
//! one simulator per test: each listens on its own port, so tests run in parallel.
//!
//! - **Start:** [`Simulator::start`] with the defaults, or [`Simulator::builder`]; point the
//!   client at [`Simulator::base_url`] with [`Simulator::api_key`].
//! - **Seed:** [`SimBuilder::seed`] (the same seed gives the same data), the counts
//!   ([`SimBuilder::tickets`], [`SimBuilder::contacts`], ..., [`SimBuilder::counts`]; `0` for
//!   none), records of your own ([`SimBuilder::seed_records`], [`read_seed_file`],
//!   [`Simulator::insert_record`]); read the state back with [`Simulator::record`],
//!   [`Simulator::records`] and [`Simulator::record_count`].
//! - **Faults, rate limits, counters:** the sections below. Most tests want
//!   [`SimBuilder::no_rate_limit`], unless they test behaviour under the limit.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use la_mock::{Fault, FaultRule, Resource, Simulator};
//!
//! let sim = Simulator::builder()
//!     .tickets(0)
//!     .no_rate_limit()
//!     .seed_records(serde_json::json!({"tickets": [
//!         {"id": "t1", "status": "C", "subject": "Printer on fire"},
//!     ]}))
//!     .fault(FaultRule::operation("getTicketsList", Fault::status(503)))
//!     .start()
//!     .await?;
//! // ... run the code under test against sim.base_url() with sim.api_key() ...
//! assert_eq!(sim.record_count(Resource::Tickets), 1);
//! let listing = sim.counters().operation("getTicketsList");
//! println!("{} requests, {} met the fault", listing.received, listing.faulted);
//! # Ok(()) }
//! ```
//!
//! # Rate limits
//!
//! Each API key has its own limit: [`RateLimit::new`]`(limit, window)` admits `limit` requests
//! per `window`. How they are counted is the limit's [`RateLimitAlgorithm`], chosen with
//! [`RateLimit::with_algorithm`] (or `--rate-algorithm` on the command line):
//!
//! - [`RateLimitAlgorithm::Gcra`] (`gcra`, the default): a token bucket in GCRA form, in bursts of
//!   up to `burst` requests (default: `limit`; change it with [`RateLimit::with_burst`]), then
//!   one every `window / limit`;
//! - [`RateLimitAlgorithm::Sliding`] (`sliding`): at most `limit` admitted requests in any
//!   trailing `window`;
//! - [`RateLimitAlgorithm::Fixed`] (`fixed`): at most `limit` admitted requests per fixed
//!   `window`, the windows following one another from the simulator's start.
//!
//! Over the limit the answer is `429` with `Retry-After` in whole seconds (refused requests do
//! not count), and the request counts as `rate_limited` in the [counters](Simulator::counters).
//! Start without a limit with [`SimBuilder::no_rate_limit`]; at run time use
//! [`Simulator::set_rate_limit`] (`None` turns it off) and [`Simulator::reset_rate_limits`].
//!
//! # Faults
//!
//! A [`FaultRule`] matches an operation ([`FaultRule::operation`]), a method and path prefix
//! ([`FaultRule::route`]), any method under a prefix ([`FaultRule::path_prefix`]) or every
//! request ([`FaultRule::any`]); it fires for the next request (default), the next `n`
//! ([`FaultRule::times`]), always ([`FaultRule::always`]) or with a probability drawn from the
//! seeded generator ([`FaultRule::with_probability`]). [`FaultRule::after_apply`] lets the
//! request change state before the fault replaces its answer. Install rules with
//! [`SimBuilder::fault`] or [`Simulator::add_fault`] (remove with [`Simulator::remove_fault`] or
//! [`Simulator::clear_faults`]); random faults come from [`RandomFaults`]. The kinds are listed in
//! [`Fault`]: error statuses, `429`/`503` with the `Retry-After` variants, delays, TCP resets
//! before the headers or in the middle of the body, hanging headers, stalled bodies, truncated or
//! invalid JSON, HTML pages, empty bodies, wrong content types and oversized bodies.
//!
//! # Lists
//!
//! Pages hold at most 1,000 items (a larger `_perPage` is clamped, and page `n` starts at
//! `(n - 1) * clamped size`); change the cap with [`SimBuilder::max_per_page`] (`--max-per-page`).
//! [`SimBuilder::ignore_page`] (`--ignore-page`) makes every list ignore `_page` and serve page
//! 1 again, as a broken server would. Both can be changed at run time with
//! [`Simulator::set_list_settings`].
//!
//! # Counters
//!
//! [`Simulator::counters`] returns a [`CounterSnapshot`]: per operation
//! ([`CounterSnapshot::operation`]), per method and path ([`CounterSnapshot::route`]) and in
//! total, how many requests were received, met a fault, were answered `429`, were rejected
//! (`401`/`404`/`405`/`422`), reached the handler, and were applied (writes that succeeded).
//! [`Simulator::reset_counters`] sets them back to zero.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod counters;
pub mod faults;
mod generate;
mod handlers;
pub mod list;
pub mod ratelimit;
pub mod router;
pub mod seed;
mod server;
pub mod spec;
pub mod store;
pub mod validate;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use counters::{CounterSnapshot, Counts};
pub use faults::{Fault, FaultId, FaultMatch, FaultRule, FaultTimes, RandomFaults};
/// The HTTP method type used by [`FaultRule::route`] (the `http` crate's, as used by reqwest).
pub use http::Method;
pub use list::ListSettings;
pub use ratelimit::{RateLimit, RateLimitAlgorithm};
pub use seed::SeedCounts;
pub use store::{Key, Resource};

use crate::counters::Counters;
use crate::faults::FaultEngine;
use crate::ratelimit::Limiter;
use crate::server::{Shared, lock, read, write};
use crate::spec::SpecIndex;
use crate::store::Store;

/// The base path every operation is served under.
pub const BASE_PATH: &str = "/api/v3";

/// Errors starting a simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The embedded description could not be read.
    #[error(transparent)]
    Spec(#[from] spec::SpecError),
    /// Seed records were malformed.
    #[error("invalid seed records: {0}")]
    SeedRecords(String),
    /// A seed file could not be read.
    #[error("cannot read seed file {path}: {message}")]
    SeedFile {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// Everything a simulator is started with.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The seed of all generated data (same seed → byte-identical records).
    pub seed: u64,
    /// How many records of each kind to seed.
    pub counts: SeedCounts,
    /// Accepted API keys; when empty, one key derived from the seed is generated.
    pub api_keys: Vec<String>,
    /// The rate limit per API key; `None` turns rate limiting off.
    pub rate_limit: Option<RateLimit>,
    /// Fault rules installed at start.
    pub faults: Vec<FaultRule>,
    /// Random faults, if any.
    pub random_faults: Option<RandomFaults>,
    /// The address to listen on (default 127.0.0.1).
    pub bind: IpAddr,
    /// The port (0 lets the OS pick one).
    pub port: u16,
    /// Extra records loaded after seeding: `{"tickets": [...], "contacts": [...], ...}` (see
    /// [`Resource::name`]); a record's id is taken from its id field when present. Message
    /// groups are linked to the ticket in their `ticket_id`, history entries to the one in
    /// their `conversation_id`.
    pub seed_records: Option<Value>,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How lists are served: the page cap (default 1,000) and whether `_page` is ignored.
    pub lists: ListSettings,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            counts: SeedCounts::default(),
            api_keys: Vec::new(),
            rate_limit: Some(RateLimit::liveagent()),
            faults: Vec::new(),
            random_faults: None,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            seed_records: None,
            max_body_bytes: 32 * 1024 * 1024,
            lists: ListSettings::default(),
        }
    }
}

/// Builds a [`SimConfig`] step by step and starts the simulator.
#[derive(Clone, Debug, Default)]
pub struct SimBuilder {
    config: SimConfig,
}

impl SimBuilder {
    /// The seed of all generated data.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// All seed counts at once.
    pub fn counts(mut self, counts: SeedCounts) -> Self {
        self.config.counts = counts;
        self
    }

    /// How many tickets to seed.
    pub fn tickets(mut self, n: usize) -> Self {
        self.config.counts.tickets = n;
        self
    }

    /// How many contacts to seed.
    pub fn contacts(mut self, n: usize) -> Self {
        self.config.counts.contacts = n;
        self
    }

    /// How many companies to seed.
    pub fn companies(mut self, n: usize) -> Self {
        self.config.counts.companies = n;
        self
    }

    /// How many agents to seed.
    pub fn agents(mut self, n: usize) -> Self {
        self.config.counts.agents = n;
        self
    }

    /// How many departments to seed.
    pub fn departments(mut self, n: usize) -> Self {
        self.config.counts.departments = n;
        self
    }

    /// How many tags to seed.
    pub fn tags(mut self, n: usize) -> Self {
        self.config.counts.tags = n;
        self
    }

    /// How many calls to seed.
    pub fn calls(mut self, n: usize) -> Self {
        self.config.counts.calls = n;
        self
    }

    /// How many records each generated list holds.
    pub fn generated_records(mut self, n: usize) -> Self {
        self.config.counts.generated = n;
        self
    }

    /// Accepts this API key (may be called several times; replaces the generated default key).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.config.api_keys.push(key.into());
        self
    }

    /// The rate limit per key.
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.config.rate_limit = Some(limit);
        self
    }

    /// Turns rate limiting off.
    pub fn no_rate_limit(mut self) -> Self {
        self.config.rate_limit = None;
        self
    }

    /// Installs a fault rule at start.
    pub fn fault(mut self, rule: FaultRule) -> Self {
        self.config.faults.push(rule);
        self
    }

    /// Enables random faults.
    pub fn random_faults(mut self, random: RandomFaults) -> Self {
        self.config.random_faults = Some(random);
        self
    }

    /// The port to listen on (0, the default, lets the OS pick).
    pub fn port(mut self, port: u16) -> Self {
        self.config.port = port;
        self
    }

    /// The address to listen on (default 127.0.0.1).
    pub fn bind(mut self, addr: IpAddr) -> Self {
        self.config.bind = addr;
        self
    }

    /// Extra records to load after seeding (see [`SimConfig::seed_records`]).
    pub fn seed_records(mut self, records: Value) -> Self {
        self.config.seed_records = Some(records);
        self
    }

    /// The largest page a list serves (default 1,000; at least 1): a larger `_perPage` is
    /// clamped to it.
    pub fn max_per_page(mut self, n: usize) -> Self {
        self.config.lists.max_per_page = n.max(1);
        self
    }

    /// Ignores `_page` on every list (each page-numbered request gets page 1), like a broken
    /// server that serves the same page again.
    pub fn ignore_page(mut self, ignore: bool) -> Self {
        self.config.lists.ignore_page = ignore;
        self
    }

    /// The finished configuration.
    pub fn config(self) -> SimConfig {
        self.config
    }

    /// Starts the simulator.
    pub async fn start(self) -> Result<Simulator, SimError> {
        Simulator::start_with(self.config).await
    }
}

/// A running simulator. Dropping it stops the server; [`Simulator::shutdown`] stops it
/// gracefully.
#[derive(Debug)]
pub struct Simulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    base_url: String,
    api_key: String,
    task: Option<JoinHandle<()>>,
}

/// Reads a seed file (JSON, see [`SimConfig::seed_records`]).
pub fn read_seed_file(path: &Path) -> Result<Value, SimError> {
    let text = std::fs::read_to_string(path).map_err(|e| SimError::SeedFile {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let value: Value = serde_json::from_str(&text).map_err(|e| SimError::SeedFile {
        path: path.display().to_string(),
        message: format!("not valid JSON: {e}"),
    })?;
    check_seed_records(&value).map_err(|message| SimError::SeedFile {
        path: path.display().to_string(),
        message,
    })?;
    Ok(value)
}

fn check_seed_records(value: &Value) -> Result<(), String> {
    let map = value
        .as_object()
        .ok_or("the top level must be an object like {\"tickets\": [...]}")?;
    for (name, records) in map {
        if Resource::from_name(name).is_none() {
            let known: Vec<&str> = Resource::ALL.iter().map(|r| r.name()).collect();
            return Err(format!(
                "unknown collection '{name}' (known: {})",
                known.join(", ")
            ));
        }
        let list = records
            .as_array()
            .ok_or_else(|| format!("'{name}' must be an array of records"))?;
        for (i, r) in list.iter().enumerate() {
            if !r.is_object() {
                return Err(format!("'{name}'[{i}] must be an object"));
            }
        }
    }
    Ok(())
}

fn load_seed_records(store: &mut Store, value: &Value) -> Result<(), String> {
    check_seed_records(value)?;
    let Some(map) = value.as_object() else {
        return Ok(());
    };
    for (name, records) in map {
        let Some(resource) = Resource::from_name(name) else {
            continue;
        };
        for record in records.as_array().into_iter().flatten() {
            store.insert_linked(resource, record.clone());
        }
    }
    Ok(())
}

/// The parsed description and its router.
type Index = (Arc<SpecIndex>, Arc<router::Router>);

/// The parsed description and its router, built once per process.
fn spec_and_router() -> Result<Index, SimError> {
    static INDEX: OnceLock<Result<Index, String>> = OnceLock::new();
    INDEX
        .get_or_init(|| {
            let spec = SpecIndex::embedded().map_err(|e| e.to_string())?;
            let router = router::Router::new(&spec);
            Ok((Arc::new(spec), Arc::new(router)))
        })
        .clone()
        .map_err(|e| SimError::Spec(spec::SpecError::Malformed(e)))
}

impl Simulator {
    /// Starts a simulator with the default configuration (seed 1, default counts, one
    /// generated key, 180 requests/minute).
    pub async fn start() -> Result<Self, SimError> {
        Self::start_with(SimConfig::default()).await
    }

    /// A builder for a custom configuration.
    pub fn builder() -> SimBuilder {
        SimBuilder::default()
    }

    /// Starts a simulator with this configuration.
    pub async fn start_with(config: SimConfig) -> Result<Self, SimError> {
        let (spec, router) = spec_and_router()?;
        let mut store = Store::new();
        seed::seed(&mut store, &spec, config.seed, &config.counts);
        if let Some(records) = &config.seed_records {
            load_seed_records(&mut store, records).map_err(SimError::SeedRecords)?;
        }
        let mut keys = config.api_keys.clone();
        if keys.is_empty() {
            let mut rng = fastrand::Rng::with_seed(config.seed ^ 0x00a9_1c0e);
            keys.push(format!("la-mock-{}", generate::token(&mut rng, 24)));
        }
        let api_key = keys[0].clone();
        let mut faults = FaultEngine::new(config.seed);
        for rule in &config.faults {
            faults.add(rule.clone());
        }
        faults.set_random(config.random_faults.clone());
        let addr = SocketAddr::new(config.bind, config.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| SimError::Bind { addr, source })?;
        let (shutdown, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            spec,
            router,
            store: RwLock::new(store),
            keys: RwLock::new(keys),
            limiter: Mutex::new(Limiter::new(config.rate_limit)),
            faults: Mutex::new(faults),
            counters: Counters::default(),
            seed: config.seed,
            shutdown,
            max_body_bytes: config.max_body_bytes,
            lists: Mutex::new(ListSettings {
                max_per_page: config.lists.max_per_page.max(1),
                ..config.lists
            }),
        });
        let task = tokio::spawn(server::accept_loop(listener, shared.clone()));
        let host = match addr.ip() {
            IpAddr::V6(ip) => format!("[{ip}]"),
            IpAddr::V4(ip) => ip.to_string(),
        };
        Ok(Self {
            shared,
            addr,
            base_url: format!("http://{host}:{}{BASE_PATH}", addr.port()),
            api_key,
            task: Some(task),
        })
    }

    /// The base URL of the API, e.g. `http://127.0.0.1:40123/api/v3`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The base URL joined with a path, e.g. `url("/tickets")`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The first accepted API key.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// Every accepted API key.
    pub fn api_keys(&self) -> Vec<String> {
        read(&self.shared.keys).clone()
    }

    /// Accepts another API key.
    pub fn add_api_key(&self, key: impl Into<String>) {
        let key = key.into();
        let mut keys = write(&self.shared.keys);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }

    /// How lists are served now (page cap, ignored `_page`).
    pub fn list_settings(&self) -> ListSettings {
        *lock(&self.shared.lists)
    }

    /// Changes how lists are served from the next request on (the cap is at least 1).
    pub fn set_list_settings(&self, settings: ListSettings) {
        *lock(&self.shared.lists) = ListSettings {
            max_per_page: settings.max_per_page.max(1),
            ..settings
        };
    }

    /// Stops accepting an API key; returns whether it was accepted.
    pub fn remove_api_key(&self, key: &str) -> bool {
        let mut keys = write(&self.shared.keys);
        let before = keys.len();
        keys.retain(|k| k != key);
        before != keys.len()
    }

    /// The current rate limit (`None` when off).
    pub fn rate_limit(&self) -> Option<RateLimit> {
        lock(&self.shared.limiter).config()
    }

    /// Replaces the rate limit (`None` turns it off); every key starts with a full bucket.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        lock(&self.shared.limiter).set(limit);
    }

    /// Refills every key's bucket, keeping the configuration.
    pub fn reset_rate_limits(&self) {
        let mut limiter = lock(&self.shared.limiter);
        let config = limiter.config();
        limiter.set(config);
    }

    /// Installs a fault rule; rules are tried in the order they were added.
    pub fn add_fault(&self, rule: FaultRule) -> FaultId {
        lock(&self.shared.faults).add(rule)
    }

    /// Removes a fault rule; returns whether it was still installed.
    pub fn remove_fault(&self, id: FaultId) -> bool {
        lock(&self.shared.faults).remove(id)
    }

    /// Removes every fault rule and turns random faults off.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// The installed rules (for `Next(n)` rules, `n` is what remains).
    pub fn faults(&self) -> Vec<(FaultId, FaultRule)> {
        lock(&self.shared.faults).rules()
    }

    /// Turns random faults on (with a fresh generator from their seed) or off.
    pub fn set_random_faults(&self, random: Option<RandomFaults>) {
        lock(&self.shared.faults).set_random(random);
    }

    /// A copy of the request counters.
    pub fn counters(&self) -> CounterSnapshot {
        self.shared.counters.snapshot()
    }

    /// Sets every counter back to zero.
    pub fn reset_counters(&self) {
        self.shared.counters.reset();
    }

    /// How many records a resource holds.
    pub fn record_count(&self, resource: Resource) -> usize {
        self.read_store().get(resource).len()
    }

    /// The stored record of a resource with this id.
    pub fn record(&self, resource: Resource, id: &str) -> Option<Value> {
        self.read_store()
            .get(resource)
            .get(&Key::parse(id))
            .cloned()
    }

    /// Every record of a resource, in id order.
    pub fn records(&self, resource: Resource) -> Vec<Value> {
        self.read_store()
            .get(resource)
            .iter()
            .map(|(_, r)| r.clone())
            .collect()
    }

    /// Stores a record under its id field (or a fresh id when it has none) and returns the id.
    /// Message groups (`ticket_id`) and history entries (`conversation_id`) are linked to their
    /// ticket, as records from [`SimBuilder::seed_records`] are.
    pub fn insert_record(&self, resource: Resource, record: Value) -> String {
        write(&self.shared.store)
            .insert_linked(resource, record)
            .to_string()
    }

    fn read_store(&self) -> std::sync::RwLockReadGuard<'_, Store> {
        read(&self.shared.store)
    }

    /// Stops accepting connections, lets open ones finish (up to 2 s; hanging faults are
    /// released), and waits for the server to stop.
    pub async fn shutdown(mut self) {
        let _ = self.shared.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.shared.shutdown.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
