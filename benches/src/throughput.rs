//! Request throughput and latency of `getTicket` over loopback: the SDK's full default stack
//! (limiter not binding) against raw reqwest + serde and against a progenitor-generated client,
//! interleaved in one run; then the simulator's own throughput under concurrent load.
//!
//! `cargo bench -p liveagent-benches --bench throughput` (env: `BENCH_ROUNDS`, default 7;
//! `BENCH_ROUND_SECS`, default 2; `BENCH_EXTRA=1` adds six diagnostic clients that split the
//! SDK's cost into its parts; `BENCH_ONLY=sdk`, `raw` or `progenitor` runs one client alone).

#[path = "progenitor_client.rs"]
mod progenitor_client;
#[path = "raw_ticket.rs"]
mod raw_ticket;
#[path = "support.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use la_tickets::ClientExt as _;

use raw_ticket::RawTicket;
use support::{
    Result, SimProcess, env_or, first_ticket_id, is_bench_run, machine, median, percentile,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Sdk,
    Raw,
    Progenitor,
    /// Raw requests through the reqwest client the SDK configures.
    RawSdkConfig,
    /// The SDK without the limiter and retry layers.
    SdkBare,
    /// The SDK's `send`: the whole stack, no JSON decoding.
    SdkUndecoded,
    /// The SDK's `send`, then `serde_json::from_slice` into the SDK's `Ticket`.
    SdkSendThenModel,
    /// Raw reqwest decoding into the SDK's `Ticket` instead of its own struct.
    RawIntoSdkModel,
    /// Raw reqwest plus a busy loop of about 12,000 instructions: what instructions alone cost.
    RawPlusBusyLoop,
}

const KINDS: [Kind; 3] = [Kind::Sdk, Kind::Raw, Kind::Progenitor];
const EXTRA_KINDS: [Kind; 6] = [
    Kind::RawSdkConfig,
    Kind::SdkBare,
    Kind::SdkUndecoded,
    Kind::SdkSendThenModel,
    Kind::RawIntoSdkModel,
    Kind::RawPlusBusyLoop,
];

struct Clients {
    sdk: la_core::Client,
    sdk_bare: la_core::Client,
    raw: reqwest::Client,
    raw_sdk_config: reqwest::Client,
    progenitor: progenitor_client::Client,
    base: String,
    key: String,
    ticket_id: String,
}

impl Clients {
    async fn get_ticket(&self, kind: Kind) -> Result<usize> {
        match kind {
            Kind::Sdk | Kind::SdkBare => {
                let client = if kind == Kind::Sdk {
                    &self.sdk
                } else {
                    &self.sdk_bare
                };
                let ticket = client.tickets().get_ticket(&self.ticket_id).send().await?;
                Ok(ticket.subject.map_or(0, |s| s.len()))
            }
            Kind::Raw | Kind::RawSdkConfig | Kind::RawIntoSdkModel | Kind::RawPlusBusyLoop => {
                let client = if kind != Kind::RawSdkConfig {
                    &self.raw
                } else {
                    &self.raw_sdk_config
                };
                let bytes = client
                    .get(format!("{}/tickets/{}", self.base, self.ticket_id))
                    .header("apikey", &self.key)
                    .send()
                    .await?
                    .error_for_status()?
                    .bytes()
                    .await?;
                if kind == Kind::RawIntoSdkModel {
                    let ticket: la_tickets::models::Ticket = serde_json::from_slice(&bytes)?;
                    return Ok(ticket.subject.map_or(0, |s| s.len()));
                }
                if kind == Kind::RawPlusBusyLoop {
                    // About 12,000 instructions that touch no memory.
                    let mut sum = 0u64;
                    for i in 0..2_000u64 {
                        sum = std::hint::black_box(sum.wrapping_add(i));
                    }
                    std::hint::black_box(sum);
                }
                let ticket: RawTicket = serde_json::from_slice(&bytes)?;
                Ok(ticket.subject.map_or(0, |s| s.len()))
            }
            Kind::SdkUndecoded => {
                let request = self.sdk.tickets().get_ticket(&self.ticket_id).build()?;
                Ok(self.sdk.send(request).await?.body().len())
            }
            Kind::SdkSendThenModel => {
                let request = self.sdk.tickets().get_ticket(&self.ticket_id).build()?;
                let response = self.sdk.send(request).await?;
                let ticket: la_tickets::models::Ticket = serde_json::from_slice(response.body())?;
                Ok(ticket.subject.map_or(0, |s| s.len()))
            }
            Kind::Progenitor => {
                let ticket = self
                    .progenitor
                    .get_ticket(&self.ticket_id)
                    .await
                    .map_err(|e| e.to_string())?
                    .into_inner();
                Ok(ticket.subject.map_or(0, |s| s.len()))
            }
        }
    }
}

struct Round {
    per_second: f64,
    p50_us: f64,
    p99_us: f64,
    cpu_us: f64,
    requests: usize,
}

/// CPU time (user + system) of a process, in seconds, from `/proc/PID/stat`.
fn process_cpu_seconds(pid: u32) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// CPU time of the calling thread, in nanoseconds (the first field of its `schedstat`).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// One round: the clients take turns in slices of `batch` requests (order rotated every slice)
/// until each has run for about `length`, so that load from other processes falls on all alike.
async fn round(
    clients: &Clients,
    kinds: &[Kind],
    length: Duration,
    batch: usize,
) -> Result<Vec<Round>> {
    let n = kinds.len();
    let mut latencies: Vec<Vec<u64>> = vec![Vec::with_capacity(100_000); n];
    let mut wall = vec![Duration::ZERO; n];
    let mut cpu = vec![0u64; n];
    let mut slice = 0;
    while wall.iter().min().copied().unwrap_or_default() < length {
        for i in 0..n {
            let index = (i + slice) % n;
            let cpu_start = thread_cpu_ns();
            let start = Instant::now();
            for _ in 0..batch {
                let sent = Instant::now();
                std::hint::black_box(clients.get_ticket(kinds[index]).await?);
                latencies[index].push(sent.elapsed().as_nanos() as u64);
            }
            wall[index] += start.elapsed();
            cpu[index] += thread_cpu_ns().saturating_sub(cpu_start);
        }
        slice += 1;
    }
    Ok((0..n)
        .map(|index| {
            let samples = &mut latencies[index];
            samples.sort_unstable();
            Round {
                per_second: samples.len() as f64 / wall[index].as_secs_f64(),
                p50_us: percentile(samples, 50.0) / 1000.0,
                p99_us: percentile(samples, 99.0) / 1000.0,
                cpu_us: cpu[index] as f64 / samples.len() as f64 / 1000.0,
                requests: samples.len(),
            }
        })
        .collect())
}

fn main() -> Result<()> {
    let bench = is_bench_run();
    let rounds: usize = env_or("BENCH_ROUNDS", if bench { 7 } else { 1 });
    let round_secs: f64 = env_or("BENCH_ROUND_SECS", if bench { 2.0 } else { 0.1 });
    let sim = SimProcess::start(&["--tickets", "100", "--workers", "1"])?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let clients = runtime.block_on(clients(&sim))?;

    let batch: usize = env_or("BENCH_BATCH", 50);
    println!("machine: {}", machine());
    println!(
        "getTicket over loopback, one request at a time on one keep-alive connection; \
         simulator in its own process (1 worker thread); client on a current-thread runtime; \
         {rounds} rounds of {round_secs} s per client; within a round the clients take turns \
         in slices of {batch} requests"
    );
    let length = Duration::from_secs_f64(round_secs);
    let mut kinds = KINDS.to_vec();
    if env_or("BENCH_EXTRA", 0u8) == 1 {
        kinds.extend(EXTRA_KINDS);
    }
    // Profiling aid: BENCH_ONLY=sdk (or raw, progenitor) runs that client alone.
    if let Ok(only) = std::env::var("BENCH_ONLY") {
        kinds.retain(|kind| name(*kind) == only);
        while kinds.len() < KINDS.len() {
            kinds.push(kinds.first().copied().ok_or("BENCH_ONLY names no client")?);
        }
    }
    runtime.block_on(round(
        &clients,
        &kinds,
        length.min(Duration::from_millis(300)),
        batch,
    ))?;
    let mut results: Vec<Vec<Round>> = Vec::new();
    let sim_cpu_start = process_cpu_seconds(sim.pid());
    for r in 0..rounds {
        let row = runtime.block_on(round(&clients, &kinds, length, batch))?;
        let line: Vec<String> = kinds
            .iter()
            .zip(&row)
            .map(|(kind, result)| {
                format!(
                    "{} {:.0}/s (p50 {:.1} µs, p99 {:.1} µs, client CPU {:.1} µs/req)",
                    name(*kind),
                    result.per_second,
                    result.p50_us,
                    result.p99_us,
                    result.cpu_us
                )
            })
            .collect();
        println!("round {}: {}", r + 1, line.join(" | "));
        results.push(row);
    }
    let pick = |kind: usize, f: fn(&Round) -> f64| -> Vec<f64> {
        results.iter().map(|row| f(&row[kind])).collect()
    };
    let ratio = |a: usize, b: usize, f: fn(&Round) -> f64| -> Vec<f64> {
        results.iter().map(|row| f(&row[a]) / f(&row[b])).collect()
    };
    let delta = |a: usize, b: usize, f: fn(&Round) -> f64| -> Vec<f64> {
        results.iter().map(|row| f(&row[a]) - f(&row[b])).collect()
    };
    let rate = |r: &Round| r.per_second;
    let p50 = |r: &Round| r.p50_us;
    let p99 = |r: &Round| r.p99_us;
    let cpu = |r: &Round| r.cpu_us;
    for (index, kind) in kinds.iter().enumerate().skip(KINDS.len()) {
        println!(
            "  {}: {:.0}/s, p50 {:.1} µs, client CPU {:.1} µs/req",
            name(*kind),
            median(&pick(index, rate)),
            median(&pick(index, p50)),
            median(&pick(index, cpu))
        );
    }
    let sdk_rate = median(&pick(0, rate));
    println!();
    println!("medians over {rounds} rounds:");
    println!(
        "  requests/s: sdk {sdk_rate:.0}, raw reqwest {:.0}, progenitor {:.0}",
        median(&pick(1, rate)),
        median(&pick(2, rate))
    );
    println!(
        "  throughput ratio sdk/raw reqwest: {:.3}x (per-round ratios {:?})",
        median(&ratio(0, 1, rate)),
        rounded(&ratio(0, 1, rate))
    );
    println!(
        "  throughput ratio sdk/progenitor: {:.3}x (per-round ratios {:?})",
        median(&ratio(0, 2, rate)),
        rounded(&ratio(0, 2, rate))
    );
    println!(
        "  latency p50: sdk {:.1} µs, raw {:.1} µs, progenitor {:.1} µs; added by the stack vs raw: {:+.1} µs",
        median(&pick(0, p50)),
        median(&pick(1, p50)),
        median(&pick(2, p50)),
        median(&delta(0, 1, p50))
    );
    println!(
        "  latency p99: sdk {:.1} µs, raw {:.1} µs, progenitor {:.1} µs; added by the stack vs raw: {:+.1} µs",
        median(&pick(0, p99)),
        median(&pick(1, p99)),
        median(&pick(2, p99)),
        median(&delta(0, 1, p99))
    );

    println!(
        "  client CPU per request: sdk {:.1} µs, raw {:.1} µs, progenitor {:.1} µs; added by the stack vs raw: {:+.1} µs",
        median(&pick(0, cpu)),
        median(&pick(1, cpu)),
        median(&pick(2, cpu)),
        median(&delta(0, 1, cpu))
    );

    let sim_cpu_end = process_cpu_seconds(sim.pid());
    let served: usize = results.iter().flatten().map(|r| r.requests).sum();
    let sim_cpu_us = match (sim_cpu_start, sim_cpu_end) {
        (Some(start), Some(end)) if served > 0 => (end - start) * 1e6 / served as f64,
        _ => f64::NAN,
    };

    let sim_rates = simulator_throughput(&sim, &clients.ticket_id, rounds.min(3), length)?;
    let sim_rate = median(&sim_rates);
    println!();
    println!(
        "simulator throughput (raw reqwest load, 32 concurrent keep-alive connections, 2 client threads): \
         {sim_rate:.0} requests/s median of {:?}; {:.1}x the SDK benchmark's {sdk_rate:.0} requests/s",
        rounded(&sim_rates),
        sim_rate / sdk_rate
    );
    println!(
        "simulator CPU per request during the rounds above: {sim_cpu_us:.1} µs (user + system, \
         clock-tick resolution), i.e. about {:.0} requests/s per core it keeps busy",
        1e6 / sim_cpu_us
    );
    println!();
    println!("progenitor on the spec:");
    println!("{}", progenitor_client::REPORT);
    Ok(())
}

fn name(kind: Kind) -> &'static str {
    match kind {
        Kind::Sdk => "sdk",
        Kind::Raw => "raw reqwest",
        Kind::Progenitor => "progenitor",
        Kind::RawSdkConfig => "raw reqwest with the sdk's reqwest config",
        Kind::SdkBare => "sdk without limiter and retry",
        Kind::SdkUndecoded => "sdk send (no decode)",
        Kind::SdkSendThenModel => "sdk send, then from_slice into the sdk's Ticket",
        Kind::RawIntoSdkModel => "raw reqwest decoding into the sdk's Ticket",
        Kind::RawPlusBusyLoop => "raw reqwest plus a 12k-instruction busy loop",
    }
}

fn rounded(values: &[f64]) -> Vec<f64> {
    values
        .iter()
        .map(|v| (v * 1000.0).round() / 1000.0)
        .collect()
}

async fn clients(sim: &SimProcess) -> Result<Clients> {
    let raw = reqwest::Client::builder().build()?;
    let ticket_id = first_ticket_id(&raw, &sim.base_url, &sim.api_key).await?;
    // The default stack with its rate limiter in place, at a limit so high it never makes a
    // request wait: the limiter's bookkeeping runs on every request, as it does for a user.
    let sdk = la_core::Client::builder()
        .base_url(&sim.base_url)
        .api_key(sim.api_key.as_str())
        .rate_limit(la_core::RateLimit::new(
            1_000_000_000,
            Duration::from_secs(1),
        )?)
        .build()?;
    let sdk_bare = la_core::Client::builder()
        .base_url(&sim.base_url)
        .api_key(sim.api_key.as_str())
        .no_rate_limit()
        .no_retry()
        .build()?;
    let mut headers = reqwest::header::HeaderMap::new();
    let mut value = reqwest::header::HeaderValue::from_str(&sim.api_key)?;
    value.set_sensitive(true);
    headers.insert("apikey", value);
    let progenitor = progenitor_client::Client::new_with_client(
        &sim.base_url,
        reqwest::Client::builder()
            .default_headers(headers)
            .build()?,
    );
    Ok(Clients {
        sdk,
        sdk_bare,
        raw,
        raw_sdk_config: la_core::stack::transport::ReqwestTransport::default_client(
            la_core::client::USER_AGENT,
            Duration::from_secs(10),
        )?,
        progenitor,
        base: sim.base_url.clone(),
        key: sim.api_key.clone(),
        ticket_id,
    })
}

/// Requests per second the simulator answers under concurrent load, one figure per run.
fn simulator_throughput(
    sim: &SimProcess,
    ticket_id: &str,
    runs: usize,
    length: Duration,
) -> Result<Vec<f64>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let raw = reqwest::Client::builder().build()?;
    let url = format!("{}/tickets/{ticket_id}", sim.base_url);
    let mut rates = Vec::new();
    for _ in 0..runs.max(1) {
        let done = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        runtime.block_on(async {
            let mut tasks = Vec::new();
            for _ in 0..32 {
                let (raw, url, key, done) = (
                    raw.clone(),
                    url.clone(),
                    sim.api_key.clone(),
                    Arc::clone(&done),
                );
                tasks.push(tokio::spawn(async move {
                    while start.elapsed() < length {
                        let response = raw
                            .get(&url)
                            .header("apikey", &key)
                            .send()
                            .await
                            .map_err(|e| e.to_string())?;
                        if !response.status().is_success() {
                            return Err(format!("simulator answered {}", response.status()));
                        }
                        response.bytes().await.map_err(|e| e.to_string())?;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok::<_, String>(())
                }));
            }
            for task in tasks {
                task.await??;
            }
            Ok::<_, support::BoxError>(())
        })?;
        rates.push(done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64());
    }
    Ok(rates)
}
