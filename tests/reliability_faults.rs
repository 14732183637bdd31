//! Bad servers: every fault the simulator can inject, against a GET, a PUT and a POST of the
//! typed API; writes that must not be repeated; and a server that fails everything.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use la_mock::{Fault, FaultRule, Resource, Simulator};
use liveagent::prelude::*;
use liveagent::tickets::models::{TicketListItem, TicketStatus, TicketUpdatable};
use liveagent::{RetryBudgetConfig, RetryConfig, StatusCode, TimeoutKind, TransportKind};
use liveagent_tests::reliability::{Recorder, closed_base_url, record, row};
use liveagent_tests::{builder_for, simulator};

const BINARY: &str = "reliability_faults";
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(300);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(3);
/// The watchdog around every call: firing means the SDK hung.
const OUTER_TIMEOUT: Duration = Duration::from_secs(6);
const MAX_RESPONSE_BYTES: usize = 16 * 1024;
const MAX_ATTEMPTS: u32 = 3;
/// Calls of the matrix in flight at once.
const CONCURRENCY: usize = 64;
/// The key the matrix's simulators accept.
const API_KEY: &str = "reliability-matrix-key";

fn retry() -> RetryConfig {
    RetryConfig::default()
        .max_attempts(MAX_ATTEMPTS)
        .backoff(Duration::from_millis(10), Duration::from_millis(100))
}

/// A client for `sim` with the matrix's timeouts and retries.
fn retrying_client(sim: &Simulator) -> Client {
    builder_for(sim)
        .attempt_timeout(ATTEMPT_TIMEOUT)
        .total_timeout(TOTAL_TIMEOUT)
        .retry(retry())
        .build()
        .unwrap()
}

/// The name of an outcome: `Ok`, or the error variant with what distinguishes it.
fn outcome<T>(result: &Result<T, Error>) -> String {
    match result {
        Ok(_) => "Ok".to_owned(),
        Err(error) => match error {
            Error::Api { status, .. } => format!("Api {}", status.as_u16()),
            Error::Decode { .. } => "Decode".to_owned(),
            Error::Timeout {
                kind: TimeoutKind::Attempt,
                ..
            } => "Timeout(attempt)".to_owned(),
            Error::Timeout { .. } => "Timeout(total)".to_owned(),
            Error::Transport { kind, .. } => match kind {
                TransportKind::Connect => "Transport(connect)".to_owned(),
                TransportKind::Request => "Transport(request)".to_owned(),
                TransportKind::Body => "Transport(body)".to_owned(),
                other => format!("Transport({other:?})"),
            },
            Error::ResponseTooLarge { .. } => "ResponseTooLarge".to_owned(),
            Error::RateLimited { .. } => "RateLimited".to_owned(),
            Error::InvalidRequest { .. } => "InvalidRequest".to_owned(),
            Error::Config { .. } => "Config".to_owned(),
            Error::Middleware(_) => "Middleware".to_owned(),
            other => format!("{other:?}"),
        },
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verb {
    Get,
    Put,
    Post,
}

impl Verb {
    const ALL: [Verb; 3] = [Verb::Get, Verb::Put, Verb::Post];

    fn operation(self) -> &'static str {
        match self {
            Verb::Get => "getTicket",
            Verb::Put => "updateTicket",
            Verb::Post => "createTicket",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Put => "PUT",
            Verb::Post => "POST",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// The fault hits the first attempt only.
    Once,
    /// The fault hits every attempt.
    Always,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Once => "once",
            Mode::Always => "always",
        }
    }

    /// The position in [`Case::expect`], in a [`Key`] and in the order of the rows.
    fn index(self) -> usize {
        match self {
            Mode::Once => 0,
            Mode::Always => 1,
        }
    }
}

/// The modes a case runs in: where nothing listens, no fault can hit the first attempt only.
fn modes(setup: &Setup) -> &'static [Mode] {
    match setup {
        Setup::Fault(_) => &[Mode::Once, Mode::Always],
        Setup::Refused => &[Mode::Always],
    }
}

#[derive(Clone, Debug)]
enum Setup {
    Fault(Fault),
    /// Nothing listens on the port.
    Refused,
}

struct Case {
    name: &'static str,
    setup: Setup,
    /// The expected outcome and attempts of GET, PUT and POST: once, then always.
    expect: [[(&'static str, u64); 3]; 2],
}

fn draft(subject: &str) -> TicketListItem {
    TicketListItem::new(
        "1",
        "The invoice total is wrong.",
        "support@example.com",
        subject,
        "jane@example.com",
    )
}

async fn call(client: &Client, verb: Verb, subject: &str) -> Result<(), Error> {
    let tickets = client.tickets();
    match verb {
        Verb::Get => tickets.get_ticket("1").send().await.map(drop),
        Verb::Put => {
            let update = TicketUpdatable {
                status: Some(TicketStatus::Resolved),
                ..TicketUpdatable::default()
            };
            tickets
                .update_ticket("1")
                .body(update)
                .send()
                .await
                .map(drop)
        }
        Verb::Post => tickets
            .create_ticket()
            .body(draft(subject))
            .send()
            .await
            .map(drop),
    }
}

/// A call of the matrix: case, mode and verb, by index.
type Key = (usize, usize, usize);

/// What one call did.
#[derive(Clone, Debug)]
struct Run {
    outcome: String,
    /// Attempts the client sent (counted inside the client, next to the transport).
    attempts: u64,
    /// Requests the server received, when a server listened.
    received: Option<u64>,
    applied: Option<u64>,
    elapsed: Duration,
}

/// One HTTP client for every call of the matrix: building one per call (TLS roots and all)
/// would keep the runtime's two threads busy while other calls' attempt timeouts run.
fn shared_http_client() -> reqwest::Client {
    liveagent::stack::transport::ReqwestTransport::default_client(
        liveagent::client::USER_AGENT,
        Duration::from_secs(2),
    )
    .unwrap()
}

/// A prepared call: its simulator (shared by the three verbs of one case and mode), its client
/// and the recorder counting the attempts the client sends.
struct Prepared {
    sim: Option<Arc<Simulator>>,
    client: Client,
    recorder: Recorder,
    verb: Verb,
}

async fn prepare(setup: &Setup, mode: Mode, http: &reqwest::Client) -> Vec<Prepared> {
    let sim = match setup {
        Setup::Fault(fault) => {
            let sim = Simulator::builder()
                .tickets(3)
                .api_key(API_KEY)
                .no_rate_limit()
                .start()
                .await
                .unwrap();
            for verb in Verb::ALL {
                let rule = FaultRule::operation(verb.operation(), fault.clone());
                sim.add_fault(match mode {
                    Mode::Once => rule.times(1),
                    Mode::Always => rule.always(),
                });
            }
            Some(Arc::new(sim))
        }
        Setup::Refused => None,
    };
    let base = match &sim {
        Some(sim) => sim.base_url().to_owned(),
        None => closed_base_url().unwrap(),
    };
    Verb::ALL
        .into_iter()
        .map(|verb| {
            let recorder = Recorder::new();
            let client = Client::builder()
                .base_url(&base)
                .api_key(API_KEY)
                .no_rate_limit()
                .attempt_timeout(ATTEMPT_TIMEOUT)
                .total_timeout(TOTAL_TIMEOUT)
                .max_response_bytes(MAX_RESPONSE_BYTES)
                .retry(retry())
                .reqwest_client(http.clone())
                .layer_inner(recorder.clone())
                .build()
                .unwrap();
            Prepared {
                sim: sim.clone(),
                client,
                recorder,
                verb,
            }
        })
        .collect()
}

async fn run_one(prepared: Prepared) -> Run {
    let Prepared {
        sim,
        client,
        recorder,
        verb,
    } = prepared;
    let started = Instant::now();
    let result = tokio::time::timeout(
        OUTER_TIMEOUT,
        call(&client, verb, &format!("matrix {verb:?}")),
    )
    .await;
    let elapsed = started.elapsed();
    let outcome = match result {
        Ok(result) => outcome(&result),
        Err(_) => "HANG".to_owned(),
    };
    let counts = sim
        .as_ref()
        .map(|sim| sim.counters().operation(verb.operation()));
    Run {
        outcome,
        attempts: recorder.count(),
        received: counts.map(|c| c.received),
        applied: counts.map(|c| c.applied),
        elapsed,
    }
}

fn cases() -> Vec<Case> {
    use Fault::*;
    let status = Fault::status;
    let same = |o: &'static str, n: u64| [(o, n), (o, n), (o, n)];
    // Retried for GET and PUT only: the server may have acted on the POST.
    let idempotent_only = |once: &'static str, always: &'static str| {
        [
            [("Ok", 2), ("Ok", 2), (once, 1)],
            [(always, 3), (always, 3), (always, 1)],
        ]
    };
    vec![
        Case {
            name: "500 Internal Server Error",
            setup: Setup::Fault(status(500)),
            expect: [same("Api 500", 1), same("Api 500", 1)],
        },
        Case {
            name: "502 Bad Gateway",
            setup: Setup::Fault(status(502)),
            expect: idempotent_only("Api 502", "Api 502"),
        },
        Case {
            name: "503 Service Unavailable, no Retry-After",
            setup: Setup::Fault(status(503)),
            expect: idempotent_only("Api 503", "Api 503"),
        },
        Case {
            name: "504 Gateway Timeout",
            setup: Setup::Fault(status(504)),
            expect: idempotent_only("Api 504", "Api 504"),
        },
        Case {
            name: "503 with Retry-After: 1",
            setup: Setup::Fault(UnavailableRetryAfter(1)),
            expect: [same("Ok", 2), same("Api 503", 3)],
        },
        Case {
            name: "429 with Retry-After: 1 (seconds)",
            setup: Setup::Fault(RateLimitedSeconds(1)),
            expect: [same("Ok", 2), same("Api 429", 3)],
        },
        Case {
            name: "429 with Retry-After as an HTTP-date 1 s ahead",
            setup: Setup::Fault(RateLimitedHttpDate(1)),
            expect: [same("Ok", 2), same("Api 429", 3)],
        },
        Case {
            name: "429 without Retry-After",
            setup: Setup::Fault(RateLimitedNoRetryAfter),
            expect: [same("Ok", 2), same("Api 429", 3)],
        },
        Case {
            name: "connection refused (closed port)",
            setup: Setup::Refused,
            expect: [same("Transport(connect)", 3), same("Transport(connect)", 3)],
        },
        Case {
            name: "connection reset before the headers",
            setup: Setup::Fault(ResetBeforeHeaders),
            expect: idempotent_only("Transport(request)", "Transport(request)"),
        },
        Case {
            name: "connection reset in the middle of the body",
            setup: Setup::Fault(ResetMidBody),
            expect: idempotent_only("Transport(body)", "Transport(body)"),
        },
        Case {
            name: "headers never come",
            setup: Setup::Fault(HangBeforeHeaders),
            expect: idempotent_only("Timeout(attempt)", "Timeout(attempt)"),
        },
        Case {
            name: "body stalls after half of it",
            setup: Setup::Fault(StallBody),
            expect: idempotent_only("Timeout(attempt)", "Timeout(attempt)"),
        },
        Case {
            name: "truncated JSON, status 200",
            setup: Setup::Fault(TruncatedJson),
            expect: [same("Decode", 1), same("Decode", 1)],
        },
        Case {
            name: "invalid JSON, status 200",
            setup: Setup::Fault(InvalidJson),
            expect: [same("Decode", 1), same("Decode", 1)],
        },
        Case {
            name: "HTML error page, status 200",
            setup: Setup::Fault(Html(200)),
            expect: [same("Decode", 1), same("Decode", 1)],
        },
        Case {
            name: "HTML error page, status 502",
            setup: Setup::Fault(Html(502)),
            expect: idempotent_only("Api 502", "Api 502"),
        },
        Case {
            name: "empty body, status 200",
            setup: Setup::Fault(Empty200),
            expect: [same("Decode", 1), same("Decode", 1)],
        },
        Case {
            name: "JSON labelled text/plain",
            setup: Setup::Fault(WrongContentType("text/plain".into())),
            expect: [same("Ok", 1), same("Ok", 1)],
        },
        Case {
            name: "oversized body (64 KiB, limit 16 KiB)",
            setup: Setup::Fault(Oversized(64 * 1024)),
            expect: [same("ResponseTooLarge", 1), same("ResponseTooLarge", 1)],
        },
    ]
}

fn attempts_text(n: u64) -> String {
    if n == 1 {
        "1 attempt".to_owned()
    } else {
        format!("{n} attempts")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_matrix() {
    let cases = cases();
    let http = shared_http_client();
    // Simulators and clients first, so that their set-up does not eat into attempt timeouts.
    let mut jobs = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        for &mode in modes(&case.setup) {
            let m = mode.index();
            for (v, prepared) in prepare(&case.setup, mode, &http)
                .await
                .into_iter()
                .enumerate()
            {
                jobs.push(((index, m, v), prepared));
            }
        }
    }
    let total_calls = jobs.len();
    let started = Instant::now();
    let runs: Vec<(Key, Result<Run, String>)> = futures_util::stream::iter(jobs)
        .map(|(key, prepared)| async move {
            let run = tokio::spawn(run_one(prepared)).await.map_err(|e| {
                if e.is_panic() {
                    "PANIC".to_owned()
                } else {
                    e.to_string()
                }
            });
            (key, run)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let wall = started.elapsed();
    let runs: BTreeMap<Key, Result<Run, String>> = runs.into_iter().collect();

    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut panics = 0;
    let mut hangs = 0;
    let mut slowest = Duration::ZERO;
    for (index, case) in cases.iter().enumerate() {
        for &mode in modes(&case.setup) {
            let m = mode.index();
            let mode_name = mode.name();
            let mut parts = Vec::new();
            for (v, verb) in Verb::ALL.into_iter().enumerate() {
                let run = match &runs[&(index, m, v)] {
                    Ok(run) => run.clone(),
                    Err(error) => {
                        panics += 1;
                        problems.push(format!(
                            "{} ({mode_name}) {}: {error}",
                            case.name,
                            verb.name()
                        ));
                        continue;
                    }
                };
                if run.outcome == "HANG" {
                    hangs += 1;
                }
                slowest = slowest.max(run.elapsed);
                let (expected, attempts) = case.expect[m][v];
                if run.outcome != expected || run.attempts != attempts {
                    problems.push(format!(
                        "{} ({mode_name}) {}: {} after {} attempts, expected {expected} after {attempts}",
                        case.name,
                        verb.name(),
                        run.outcome,
                        run.attempts
                    ));
                }
                if let Some(received) = run.received
                    && received != run.attempts
                {
                    problems.push(format!(
                        "{} ({mode_name}) {}: the server received {received} requests for {} attempts",
                        case.name,
                        verb.name(),
                        run.attempts
                    ));
                }
                if run.elapsed > TOTAL_TIMEOUT + Duration::from_millis(500) {
                    problems.push(format!(
                        "{} ({mode_name}) {}: took {:?}, past the total timeout",
                        case.name,
                        verb.name(),
                        run.elapsed
                    ));
                }
                let mut part = format!(
                    "{} {} after {}",
                    verb.name(),
                    run.outcome,
                    attempts_text(run.attempts)
                );
                if verb == Verb::Post
                    && let Some(applied) = run.applied
                {
                    // The faults replace the answer before the write, so an error must leave
                    // nothing applied, and nothing is ever applied twice.
                    if applied > 1 || (applied == 1 && run.outcome != "Ok") {
                        problems.push(format!(
                            "{} ({mode_name}) POST: applied {applied} times, outcome {}",
                            case.name, run.outcome
                        ));
                    }
                    part.push_str(&format!(", applied {applied}"));
                }
                parts.push(part);
            }
            let (tried, label) = match (&case.setup, mode) {
                (Setup::Refused, _) => (
                    "GET, PUT, POST; nothing listens (attempts counted in the client)",
                    case.name.to_owned(),
                ),
                (_, Mode::Once) => (
                    "GET, PUT, POST; fault on the first attempt only",
                    format!("{} (once)", case.name),
                ),
                _ => (
                    "GET, PUT, POST; fault on every attempt",
                    format!("{} (always)", case.name),
                ),
            };
            rows.push(row(
                "Fault matrix",
                (index * 2 + m) as u32,
                label,
                tried,
                3,
                parts.join("; "),
            ));
        }
    }
    rows.push(row(
        "Fault matrix",
        1000,
        "all of the above",
        format!(
            "{} cases x once/always x GET/PUT/POST, {CONCURRENCY} at a time",
            cases.len()
        ),
        total_calls as u64,
        format!(
            "{panics} panics, {hangs} hangs (the {OUTER_TIMEOUT:?} watchdog never fired); every \
             call ended in `Ok` or a typed error; slowest call {:.2} s (total timeout {:?}); \
             wall time {:.1} s",
            slowest.as_secs_f64(),
            TOTAL_TIMEOUT,
            wall.as_secs_f64()
        ),
    ));
    record(BINARY, "fault_matrix", &rows);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!((panics, hangs), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_applied_before_a_failure_are_never_repeated() {
    use Fault::*;
    let faults: Vec<(&str, Fault)> = vec![
        ("500", Fault::status(500)),
        ("502", Fault::status(502)),
        ("503 without Retry-After", Fault::status(503)),
        ("504", Fault::status(504)),
        ("HTML page with 502", Html(502)),
        ("reset before the headers", ResetBeforeHeaders),
        ("reset in the middle of the body", ResetMidBody),
        ("headers never come (attempt timeout)", HangBeforeHeaders),
        ("body stalls (attempt timeout)", StallBody),
        ("truncated JSON", TruncatedJson),
        ("invalid JSON", InvalidJson),
        ("HTML page with 200", Html(200)),
        ("empty 200", Empty200),
    ];
    let sim = simulator(0).await;
    let client = retrying_client(&sim);
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (order, (name, fault)) in faults.into_iter().enumerate() {
        sim.reset_counters();
        sim.add_fault(
            FaultRule::operation("createTicket", fault)
                .times(1)
                .after_apply(),
        );
        let subject = format!("after-apply {order}");
        let result = tokio::time::timeout(
            OUTER_TIMEOUT,
            client
                .tickets()
                .create_ticket()
                .body(draft(&subject))
                .send(),
        )
        .await
        .expect("the call hung");
        let counts = sim.counters().operation("createTicket");
        let stored = sim
            .records(Resource::Tickets)
            .iter()
            .filter(|t| t["subject"] == subject.as_str())
            .count();
        let outcome = outcome(&result);
        if counts.received != 1 || counts.applied != 1 || stored != 1 || result.is_ok() {
            problems.push(format!(
                "{name}: {outcome}, received {}, applied {}, stored {stored}",
                counts.received, counts.applied
            ));
        }
        rows.push(row(
            "No duplicate writes",
            order as u32,
            format!("`createTicket` applied, then {name}"),
            "one POST; the simulator applies it, then answers with the fault (`after_apply`)",
            1,
            format!(
                "{outcome} to the caller; received {}, applied {}, tickets stored {stored}: not retried",
                counts.received, counts.applied
            ),
        ));
    }
    record(
        BINARY,
        "writes_applied_before_a_failure_are_never_repeated",
        &rows,
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_under_random_faults_are_stored_at_most_once() {
    const CALLS: usize = 300;
    let sim = Simulator::builder()
        .seed(11)
        .tickets(0)
        .no_rate_limit()
        .start()
        .await
        .unwrap();
    let rules = [
        FaultRule::operation("createTicket", Fault::status(502)).after_apply(),
        FaultRule::operation("createTicket", Fault::ResetMidBody).after_apply(),
        FaultRule::operation("createTicket", Fault::StallBody).after_apply(),
        FaultRule::operation("createTicket", Fault::status(500)),
        FaultRule::operation("createTicket", Fault::ResetBeforeHeaders),
        FaultRule::operation("createTicket", Fault::UnavailableRetryAfter(0)),
        FaultRule::operation("createTicket", Fault::RateLimitedSeconds(0)),
        FaultRule::operation("createTicket", Fault::RateLimitedNoRetryAfter),
    ];
    for rule in rules {
        sim.add_fault(rule.with_probability(0.07));
    }
    let client = retrying_client(&sim);
    let results: Vec<(usize, String)> = futures_util::stream::iter(0..CALLS)
        .map(|i| {
            let client = client.clone();
            async move {
                let subject = format!("soak {i}");
                let result = tokio::time::timeout(
                    OUTER_TIMEOUT,
                    client
                        .tickets()
                        .create_ticket()
                        .body(draft(&subject))
                        .send(),
                )
                .await
                .expect("the call hung");
                (i, outcome(&result))
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut stored: BTreeMap<String, usize> = BTreeMap::new();
    for ticket in sim.records(Resource::Tickets) {
        if let Some(subject) = ticket["subject"].as_str() {
            *stored.entry(subject.to_owned()).or_default() += 1;
        }
    }
    let counts = sim.counters().operation("createTicket");
    let mut duplicates = 0;
    let mut lost = 0;
    let mut ok = 0;
    let mut errors_applied = 0;
    let mut errors_not_applied = 0;
    for (i, outcome) in &results {
        let n = stored.get(&format!("soak {i}")).copied().unwrap_or(0);
        if n > 1 {
            duplicates += 1;
        }
        match (outcome.as_str(), n) {
            ("Ok", 1) => ok += 1,
            ("Ok", _) => lost += 1,
            (_, 0) => errors_not_applied += 1,
            _ => errors_applied += 1,
        }
    }
    record(
        BINARY,
        "creates_under_random_faults_are_stored_at_most_once",
        &[row(
            "No duplicate writes",
            100,
            "`createTicket` under random faults",
            "300 POSTs with unique subjects, 16 at a time; each of 8 rules fires with p = 0.07 \
             (502, reset mid-body and stalled body after the write; 500, reset before headers, \
             503 + Retry-After: 0, 429 + Retry-After: 0, 429 without it before the write)",
            CALLS as u64,
            format!(
                "{} requests received, {} applied; {ok} calls Ok, each stored once; \
                 {errors_applied} errors after the write was applied (reported, not retried); \
                 {errors_not_applied} errors with nothing stored; {duplicates} duplicates, \
                 {lost} `Ok` without a stored ticket",
                counts.received, counts.applied
            ),
        )],
    );
    assert_eq!(duplicates, 0);
    assert_eq!(lost, 0);
    assert_eq!(counts.applied as usize, ok + errors_applied);
    assert!(counts.faulted > 0, "the faults fired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_storm_stays_within_the_budget() {
    // A scaled minute: 3 s, with the budget's refill scaled by 20 (20 tokens/s), so the run
    // gets the 60 refill tokens a real minute gives at the default 1 token/s.
    const MINUTE: Duration = Duration::from_secs(3);
    const REFILL: f64 = 20.0;
    const PER_REQUEST: f64 = 0.2;
    const CAPACITY: f64 = 20.0;
    const TASKS: usize = 16;
    let sim = Simulator::builder()
        .tickets(3)
        .no_rate_limit()
        .fault(FaultRule::operation("getTicket", Fault::status(503)).always())
        .start()
        .await
        .unwrap();
    let client = builder_for(&sim)
        .retry(
            RetryConfig::default()
                .backoff(Duration::from_millis(1), Duration::from_millis(10))
                .budget(RetryBudgetConfig::new(PER_REQUEST, CAPACITY, REFILL).unwrap()),
        )
        .build()
        .unwrap();
    let asked = Arc::new(AtomicU64::new(0));
    let unexpected = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let client = client.clone();
        let asked = asked.clone();
        let unexpected = unexpected.clone();
        tasks.push(tokio::spawn(async move {
            while started.elapsed() < MINUTE {
                asked.fetch_add(1, Ordering::SeqCst);
                match client.tickets().get_ticket("1").send().await {
                    Err(error) if error.status() == Some(StatusCode::SERVICE_UNAVAILABLE) => {}
                    _ => unexpected.store(true, Ordering::SeqCst),
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let asked = asked.load(Ordering::SeqCst);
    let sent = sim.counters().operation("getTicket").received;
    let extra = sent.saturating_sub(asked);
    let bound = PER_REQUEST * asked as f64 + CAPACITY + REFILL * elapsed;
    record(
        BINARY,
        "a_retry_storm_stays_within_the_budget",
        &[row(
            "Retry storm",
            1,
            "every GET answered 503 without Retry-After",
            format!(
                "{TASKS} tasks calling `getTicket` in a loop for a scaled minute ({:.1} s); \
                 4 attempts per call, backoff 1-10 ms; budget 0.2/request, 20 tokens, \
                 refill {REFILL}/s (a real minute's 60 tokens in 3 s)",
                elapsed
            ),
            asked,
            format!(
                "{sent} requests sent for {asked} asked ({:.3}x); {extra} retries <= bound {:.0} \
                 (0.2 x asked + 20 + refill x time); without a budget up to {} (4x)",
                sent as f64 / asked.max(1) as f64,
                bound,
                asked * 4
            ),
        )],
    );
    assert!(!unexpected.load(Ordering::SeqCst), "every call ends in 503");
    assert!(asked > 100, "the storm ran: {asked} calls");
    assert!(
        extra as f64 <= bound + 1.0,
        "{extra} retries for {asked} calls exceed the budget's bound {bound}"
    );
}

#[tokio::test]
async fn an_oversized_body_without_a_length_is_cut_off() {
    use liveagent_tests::reliability::{RawServer, Responder};
    // 256 KiB of JSON in 4 KiB chunks, with no Content-Length to check up front.
    let server = RawServer::start(Arc::new(|_head: &str| {
        let mut out =
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
                .to_vec();
        let chunk = vec![b' '; 4096];
        out.extend_from_slice(b"1\r\n[\r\n");
        for _ in 0..64 {
            out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            out.extend_from_slice(&chunk);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"1\r\n]\r\n0\r\n\r\n");
        out
    }) as Responder)
    .await
    .unwrap();
    let base = server.base_url();
    let limited = Client::builder()
        .base_url(&base)
        .api_key("test-key-1")
        .no_rate_limit()
        .max_response_bytes(MAX_RESPONSE_BYTES)
        .build()
        .unwrap();
    let started = Instant::now();
    let result = tokio::time::timeout(OUTER_TIMEOUT, limited.tickets().get_tickets_list().send())
        .await
        .expect("the call hung");
    let elapsed = started.elapsed();
    let attempts = server.heads().len();
    let unlimited = Client::builder()
        .base_url(&base)
        .api_key("test-key-1")
        .no_rate_limit()
        .build()
        .unwrap();
    let whole = unlimited.tickets().get_tickets_list().send().await;
    record(
        BINARY,
        "an_oversized_body_without_a_length_is_cut_off",
        &[row(
            "Fault matrix",
            45,
            "oversized chunked body, no Content-Length (256 KiB, limit 16 KiB)",
            "GET `getTicketsList` from a bare HTTP server streaming 4 KiB chunks; then the same \
             with the default limit (32 MiB)",
            2,
            format!(
                "{} after {} in {} ms with the 16 KiB limit; {} with the default limit",
                outcome(&result),
                attempts_text(attempts as u64),
                elapsed.as_millis(),
                match &whole {
                    Ok(list) => format!("Ok ({} tickets)", list.len()),
                    Err(_) => outcome(&whole),
                }
            ),
        )],
    );
    assert!(
        matches!(result, Err(Error::ResponseTooLarge { limit, .. }) if limit == MAX_RESPONSE_BYTES),
        "{result:?}"
    );
    assert!(whole.is_ok(), "{whole:?}");
}
