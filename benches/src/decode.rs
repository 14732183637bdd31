//! Decoding a 10,000-ticket list (the simulator's seeded tickets, as the API serves them): the
//! SDK's typed models against `serde_json::Value`, a hand-written serde struct and progenitor's
//! generated types; then the same decoders timed interleaved, for the ratios.
//!
//! `cargo bench -p liveagent-benches --bench decode`

#[path = "progenitor_client.rs"]
mod progenitor_client;
#[path = "raw_ticket.rs"]
mod raw_ticket;
#[path = "support.rs"]
mod support;

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput};

use raw_ticket::RawTicket;
use support::{Result, env_or, is_bench_run, machine, median};

const TICKETS: usize = 10_000;

/// The 10,000 tickets as one JSON array, fetched page by page from a seeded simulator.
fn tickets_json() -> Result<Vec<u8>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let sim = la_mock::Simulator::builder()
            .tickets(TICKETS)
            .no_rate_limit()
            .start()
            .await?;
        let client = reqwest::Client::new();
        let mut all: Vec<serde_json::Value> = Vec::with_capacity(TICKETS);
        for page in 1..=TICKETS / 1000 {
            let items: Vec<serde_json::Value> = client
                .get(format!(
                    "{}/tickets?_perPage=1000&_page={page}",
                    sim.base_url()
                ))
                .header("apikey", sim.api_key())
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            all.extend(items);
        }
        sim.shutdown().await;
        if all.len() != TICKETS {
            return Err(format!("expected {TICKETS} tickets, got {}", all.len()).into());
        }
        Ok(serde_json::to_vec(&all)?)
    })
}

type Decoder = fn(&[u8]) -> usize;

fn sdk_models(json: &[u8]) -> usize {
    serde_json::from_slice::<Vec<la_tickets::models::Ticket>>(json).map_or(0, |v| v.len())
}

fn sdk_decode_path(json: &[u8]) -> usize {
    let context = la_core::RequestContext::new(http::Method::GET, "/api/v3/tickets");
    la_core::response::decode_json::<Vec<la_tickets::models::Ticket>>(
        &context,
        http::StatusCode::OK,
        &http::HeaderMap::new(),
        json,
        None,
    )
    .map_or(0, |v| v.len())
}

fn value(json: &[u8]) -> usize {
    serde_json::from_slice::<serde_json::Value>(json)
        .ok()
        .and_then(|v| v.as_array().map(Vec::len))
        .unwrap_or(0)
}

fn raw_struct(json: &[u8]) -> usize {
    serde_json::from_slice::<Vec<RawTicket>>(json).map_or(0, |v| v.len())
}

fn progenitor_types(json: &[u8]) -> usize {
    serde_json::from_slice::<Vec<progenitor_client::types::Ticket>>(json).map_or(0, |v| v.len())
}

const DECODERS: [(&str, Decoder); 5] = [
    ("sdk_models_from_slice", sdk_models),
    ("sdk_decode_path", sdk_decode_path),
    ("serde_json_value", value),
    ("hand_written_struct", raw_struct),
    ("progenitor_types", progenitor_types),
];

fn main() -> Result<()> {
    let json = tickets_json()?;
    for (name, decode) in DECODERS {
        if decode(&json) != TICKETS {
            return Err(format!("{name} did not decode the {TICKETS} tickets").into());
        }
    }
    println!("machine: {}", machine());
    println!("input: {TICKETS} tickets, {} bytes of JSON", json.len());

    let mut criterion = Criterion::default().configure_from_args();
    {
        let mut group = criterion.benchmark_group("decode_10k_tickets");
        group.throughput(Throughput::Bytes(json.len() as u64));
        group.sample_size(20);
        for (name, decode) in DECODERS {
            group.bench_function(name, |b| b.iter(|| decode(black_box(&json))));
        }
        group.finish();
    }
    let one = {
        let all: Vec<serde_json::Value> = serde_json::from_slice(&json)?;
        serde_json::to_vec(all.first().ok_or("no ticket")?)?
    };
    {
        let mut group = criterion.benchmark_group("decode_one_ticket");
        group.throughput(Throughput::Bytes(one.len() as u64));
        group.bench_function("sdk_models_from_slice", |b| {
            b.iter(|| serde_json::from_slice::<la_tickets::models::Ticket>(black_box(&one)).ok())
        });
        group.bench_function("sdk_decode_path", |b| {
            let context = la_core::RequestContext::new(http::Method::GET, "/api/v3/tickets/x");
            let headers = http::HeaderMap::new();
            b.iter(|| {
                la_core::response::decode_json::<la_tickets::models::Ticket>(
                    &context,
                    http::StatusCode::OK,
                    &headers,
                    black_box(&one),
                    None,
                )
                .ok()
            })
        });
        group.bench_function("hand_written_struct", |b| {
            b.iter(|| serde_json::from_slice::<RawTicket>(black_box(&one)).ok())
        });
        group.bench_function("progenitor_types", |b| {
            b.iter(|| {
                serde_json::from_slice::<progenitor_client::types::Ticket>(black_box(&one)).ok()
            })
        });
        group.finish();
    }
    criterion.final_summary();

    if is_bench_run() {
        interleaved(&json, env_or("BENCH_ROUNDS", 25));
    }
    Ok(())
}

/// Each decoder once per round, order rotated; the median time and the ratios against `Value`.
fn interleaved(json: &[u8], rounds: usize) {
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); DECODERS.len()];
    for round in 0..rounds {
        for i in 0..DECODERS.len() {
            let index = (i + round) % DECODERS.len();
            let start = Instant::now();
            black_box(DECODERS[index].1(black_box(json)));
            times[index].push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let value_index = 2;
    println!();
    println!(
        "interleaved, {rounds} rounds (median ms; speed-up vs serde_json::Value = Value time / decoder time, median of per-round ratios):"
    );
    for (index, (name, _)) in DECODERS.iter().enumerate() {
        let ratios: Vec<f64> = times[index]
            .iter()
            .zip(&times[value_index])
            .map(|(t, v)| v / t)
            .collect();
        let vs_progenitor: Vec<f64> = times[index]
            .iter()
            .zip(&times[4])
            .map(|(t, p)| p / t)
            .collect();
        println!(
            "  {name:<24} {:>8.2} ms   {:.2}x faster than Value   {:.2}x the speed of progenitor's types",
            median(&times[index]),
            median(&ratios),
            median(&vs_progenitor)
        );
    }
}
