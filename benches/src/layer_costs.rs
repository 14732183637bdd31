//! Where the stack's cost per request sits, counted instead of timed.
//!
//! Each stack sends `getTicket` to the simulator under callgrind (valgrind's instruction and
//! cache simulator): a run of 4,000 requests minus a run of 1,000, divided by 3,000, gives one
//! request's instructions and L1 cache misses, without the set-up both runs share. The caches
//! are simulated as the benchmark machine's (32 KiB L1i and L1d, 512 KiB L2). Counts do not drift
//! with the machine's load as wall-clock times do, so the stacks, each one layer more than the
//! one above it, can be compared one by one: the table says what each layer adds.
//!
//! `cargo bench -p liveagent-benches --bench layer_costs` (needs `valgrind` on the `PATH`; about
//! 25 s per stack, 4 minutes in all on two cores). Without `--bench` (`cargo test --benches`)
//! every stack sends a few requests natively instead, to check that each of them works.
//!
//! The process runs itself under valgrind, one child per stack and run length, with
//! `LAYER_COSTS_STACK`, `LAYER_COSTS_REQUESTS`, `LAYER_COSTS_URL` and `LAYER_COSTS_KEY` set.

#[path = "raw_ticket.rs"]
mod raw_ticket;
#[path = "support.rs"]
mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use la_core::client::{DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TOTAL_TIMEOUT};
use la_core::stack::auth::AuthLayer;
use la_core::stack::retry::RetryPolicy;
use la_core::stack::timeout::TimeoutLayer;
use la_core::stack::trace::TracingLayer;
use la_core::stack::transport::ReqwestTransport;
use la_core::{ApiKey, BaseUrl, Body, Method, RateLimit, Request, RetryConfig};
use la_tickets::ClientExt as _;
use tower::{Layer as _, ServiceBuilder, ServiceExt as _};

use raw_ticket::RawTicket;
use support::{Result, SimProcess, first_ticket_id, is_bench_run, machine};

/// The stacks, each (but the first and the SDK clients) one layer more than the one before.
const STACKS: [(&str, &str); 9] = [
    ("raw", "raw reqwest + serde"),
    (
        "auth",
        "auth + reqwest transport (the SDK's request building and decoding)",
    ),
    ("attempt", "+ attempt timeout"),
    ("retry", "+ retry"),
    ("total", "+ total timeout"),
    ("tracing", "+ tracing"),
    ("boxed", "+ the type-erased box"),
    ("client", "SDK client, typed `send`, without its limiter"),
    (
        "default",
        "SDK client, typed `send`, default stack (limiter included)",
    ),
];

/// The two run lengths whose difference is measured.
const SHORT: u32 = 1_000;
const LONG: u32 = 4_000;

fn main() -> Result<()> {
    if let Ok(stack) = std::env::var("LAYER_COSTS_STACK") {
        let requests: u32 = std::env::var("LAYER_COSTS_REQUESTS")?.parse()?;
        let url = std::env::var("LAYER_COSTS_URL")?;
        let key = std::env::var("LAYER_COSTS_KEY")?;
        return run_stack(&stack, requests, &url, &key);
    }
    let sim = SimProcess::start(&["--tickets", "100", "--workers", "1"])?;
    if !is_bench_run() {
        for (stack, _) in STACKS {
            run_stack(stack, 3, &sim.base_url, &sim.api_key)
                .map_err(|e| format!("stack {stack}: {e}"))?;
        }
        println!("layer_costs: every stack answered");
        return Ok(());
    }
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("layer_costs: valgrind is not on the PATH; nothing measured");
        return Ok(());
    }
    println!("machine: {}", machine());
    println!(
        "per request: callgrind counts of {LONG} getTicket calls minus {SHORT}, divided by {}",
        LONG - SHORT
    );
    let dir = std::env::temp_dir().join(format!("layer-costs-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = measure_all(&dir, &sim);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Measures every stack and prints the table.
fn measure_all(dir: &Path, sim: &SimProcess) -> Result<()> {
    println!();
    println!(
        "| per request | instructions | vs the row above | L1i misses | L1d misses (read + write) | L1 misses | vs the row above |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut previous: Option<Counts> = None;
    for (stack, description) in STACKS {
        let counts = measure(dir, sim, stack)?;
        let (instructions_added, misses_added) = match &previous {
            Some(before) => (
                format!("{:+.0}", counts.instructions - before.instructions),
                format!("{:+.0}", counts.l1_misses() - before.l1_misses()),
            ),
            None => (String::new(), String::new()),
        };
        println!(
            "| {description} | {:.0} | {instructions_added} | {:.0} | {:.0} | {:.0} | {misses_added} |",
            counts.instructions,
            counts.l1i_misses,
            counts.l1d_misses,
            counts.l1_misses(),
        );
        previous = Some(counts);
    }
    Ok(())
}

/// One request's counts.
struct Counts {
    instructions: f64,
    l1i_misses: f64,
    l1d_misses: f64,
}

impl Counts {
    fn l1_misses(&self) -> f64 {
        self.l1i_misses + self.l1d_misses
    }
}

/// Runs `stack` under callgrind for each run length, one after the other (neither competes with
/// the other for the simulator), and returns one request's counts.
fn measure(dir: &Path, sim: &SimProcess, stack: &str) -> Result<Counts> {
    let exe = std::env::current_exe()?;
    let runs = [SHORT, LONG].map(|requests| {
        let out = dir.join(format!("{stack}.{requests}.callgrind"));
        let child = Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg("--cache-sim=yes")
            .arg("--I1=32768,8,64")
            .arg("--D1=32768,8,64")
            .arg("--LL=524288,8,64")
            .arg(format!("--callgrind-out-file={}", out.display()))
            .arg(&exe)
            .env("LAYER_COSTS_STACK", stack)
            .env("LAYER_COSTS_REQUESTS", requests.to_string())
            .env("LAYER_COSTS_URL", &sim.base_url)
            .env("LAYER_COSTS_KEY", &sim.api_key)
            .output();
        (out, child)
    });
    let mut totals = Vec::new();
    for (out, child) in runs {
        let child = child?;
        if !child.status.success() {
            return Err(format!(
                "stack {stack}: valgrind failed ({}): {}",
                child.status,
                String::from_utf8_lossy(&child.stderr)
            )
            .into());
        }
        totals.push(read_totals(&out)?);
    }
    let [short, long] = <[Totals; 2]>::try_from(totals).map_err(|_| "two runs expected")?;
    let per_request = |event: &str| -> Result<f64> {
        let difference = long.get(event)? - short.get(event)?;
        Ok(difference / f64::from(LONG - SHORT))
    };
    Ok(Counts {
        instructions: per_request("Ir")?,
        l1i_misses: per_request("I1mr")?,
        l1d_misses: per_request("D1mr")? + per_request("D1mw")?,
    })
}

/// The event totals of a callgrind output file.
struct Totals {
    events: Vec<String>,
    values: Vec<f64>,
}

impl Totals {
    fn get(&self, event: &str) -> Result<f64> {
        self.events
            .iter()
            .position(|e| e == event)
            .and_then(|i| self.values.get(i).copied())
            .ok_or_else(|| format!("callgrind reported no {event} count").into())
    }
}

fn read_totals(path: &Path) -> Result<Totals> {
    let text = std::fs::read_to_string(path)?;
    let mut events = None;
    let mut values = None;
    for line in text.lines() {
        if let Some(names) = line.strip_prefix("events:") {
            events = Some(names.split_whitespace().map(str::to_owned).collect());
        } else if let Some(counts) = line
            .strip_prefix("summary:")
            .or_else(|| line.strip_prefix("totals:"))
        {
            values = Some(
                counts
                    .split_whitespace()
                    .map(str::parse::<f64>)
                    .collect::<std::result::Result<Vec<_>, _>>()?,
            );
        }
    }
    match (events, values) {
        (Some(events), Some(values)) => Ok(Totals { events, values }),
        _ => Err(format!("{} holds no callgrind totals", path.display()).into()),
    }
}

/// Sends `requests` `getTicket` calls through `stack` (the child process's work).
fn run_stack(stack: &str, requests: u32, url: &str, key: &str) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let base = BaseUrl::parse(url)?;
        let id = first_ticket_id(&reqwest::Client::new(), url, key).await?;
        // The parts of the hand-built stacks; the one stack that runs takes what it needs.
        let transport = ReqwestTransport::new(ReqwestTransport::default_client(
            la_core::client::USER_AGENT,
            DEFAULT_CONNECT_TIMEOUT,
        )?);
        let auth = AuthLayer::new(ApiKey::new(key.to_owned())?, base.origin().clone());
        let retry = RetryPolicy::new(RetryConfig::default())?.layer();
        let attempt = TimeoutLayer::attempt(DEFAULT_ATTEMPT_TIMEOUT);
        let total = TimeoutLayer::total(DEFAULT_TOTAL_TIMEOUT);
        match stack {
            "raw" => {
                let client = reqwest::Client::new();
                for _ in 0..requests {
                    let bytes = client
                        .get(format!("{url}/tickets/{id}"))
                        .header("apikey", key)
                        .send()
                        .await?
                        .error_for_status()?
                        .bytes()
                        .await?;
                    let ticket: RawTicket = serde_json::from_slice(&bytes)?;
                    std::hint::black_box(ticket);
                }
                Ok(())
            }
            "auth" => {
                let service = ServiceBuilder::new().layer(auth).service(transport);
                through(service, requests, &base, &id).await
            }
            "attempt" => {
                let service = ServiceBuilder::new()
                    .layer(auth)
                    .layer(attempt)
                    .service(transport);
                through(service, requests, &base, &id).await
            }
            "retry" => {
                let service = ServiceBuilder::new()
                    .layer(retry)
                    .layer(auth)
                    .layer(attempt)
                    .service(transport);
                through(service, requests, &base, &id).await
            }
            "total" | "tracing" | "boxed" => {
                let service = ServiceBuilder::new()
                    .layer(total)
                    .layer(retry)
                    .layer(auth)
                    .layer(attempt)
                    .service(transport);
                match stack {
                    "total" => through(service, requests, &base, &id).await,
                    "tracing" => {
                        let service = TracingLayer::new().layer(service);
                        through(service, requests, &base, &id).await
                    }
                    _ => {
                        let service = la_core::client::boxed(TracingLayer::new().layer(service));
                        through(service, requests, &base, &id).await
                    }
                }
            }
            "client" | "default" => {
                let builder = la_core::Client::builder().base_url(url).api_key(key);
                let client = if stack == "client" {
                    builder.no_rate_limit().build()?
                } else {
                    // A limit that never makes a request wait: its bookkeeping still runs.
                    builder
                        .rate_limit(RateLimit::new(1_000_000_000, Duration::from_secs(1))?)
                        .build()?
                };
                for _ in 0..requests {
                    let ticket = client.tickets().get_ticket(&id).send().await?;
                    std::hint::black_box(ticket);
                }
                Ok(())
            }
            other => Err(format!("no stack named {other}").into()),
        }
    })
}

/// Sends `requests` `getTicket` calls through a hand-built stack, as the SDK's client would:
/// the request built from its template, the body read, the ticket decoded into the SDK's model.
async fn through<S>(service: S, requests: u32, base: &BaseUrl, id: &str) -> Result<()>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = la_core::Error>
        + Clone,
{
    for _ in 0..requests {
        let request = Request::new(Method::GET, "/tickets/{ticketId}")
            .path_param("ticketId", id)?
            .into_http(base)?;
        let response = service.clone().oneshot(request).await?;
        if !response.status().is_success() {
            return Err(format!("the simulator answered {}", response.status()).into());
        }
        let bytes = response.into_body().collect().await?;
        let ticket: la_tickets::models::Ticket = serde_json::from_slice(&bytes)?;
        std::hint::black_box(ticket);
    }
    Ok(())
}
