//! Peak memory of a streaming export: every ticket of a simulator seeded with 10,000 and with
//! 100,000 tickets, through `get_tickets_list().per_page(100).stream()`. The simulator and the
//! client each run in their own process; the client's peak RSS (`VmHWM`) is compared across N.
//!
//! `cargo bench -p liveagent-benches --bench export_memory` (env: `BENCH_ROUNDS`, default 5).

#[path = "support.rs"]
mod support;

use std::process::Command;
use std::time::Instant;

use futures_util::TryStreamExt as _;
use la_tickets::ClientExt as _;

use support::{Result, SimProcess, env_or, is_bench_run, machine, median, peak_rss_kib};

const CLIENT_MODE: &str = "export-client";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(CLIENT_MODE) {
        return client(&args[2..]);
    }
    let bench = is_bench_run();
    let rounds: usize = env_or("BENCH_ROUNDS", if bench { 5 } else { 1 });
    let sizes: Vec<usize> = if bench {
        vec![10_000, 100_000]
    } else {
        vec![1_000, 10_000]
    };
    println!("machine: {}", machine());
    let sims = sizes
        .iter()
        .map(|n| SimProcess::start(&["--tickets", &n.to_string(), "--workers", "1"]))
        .collect::<Result<Vec<_>>>()?;
    let exe = std::env::current_exe()?;
    let mut peaks: Vec<Vec<f64>> = vec![Vec::new(); sizes.len()];
    for round in 0..rounds {
        for i in 0..sizes.len() {
            let index = (i + round) % sizes.len();
            let sim = &sims[index];
            let output = Command::new(&exe)
                .args([
                    CLIENT_MODE,
                    &sim.base_url,
                    &sim.api_key,
                    &sizes[index].to_string(),
                ])
                .output()?;
            let text = String::from_utf8_lossy(&output.stdout);
            if !output.status.success() {
                return Err(format!(
                    "the export client failed: {text}{}",
                    String::from_utf8_lossy(&output.stderr)
                )
                .into());
            }
            println!("round {}: N={}: {}", round + 1, sizes[index], text.trim());
            let peak = text
                .split_whitespace()
                .find_map(|word| word.strip_prefix("peak_rss_kib="))
                .and_then(|v| v.parse::<f64>().ok())
                .ok_or("no peak_rss_kib in the client's output")?;
            peaks[index].push(peak);
        }
    }
    println!();
    for (index, n) in sizes.iter().enumerate() {
        println!(
            "N={n}: client peak RSS median {:.0} KiB (runs {:?})",
            median(&peaks[index]),
            peaks[index]
        );
    }
    let (small, large) = (median(&peaks[0]), median(&peaks[sizes.len() - 1]));
    println!(
        "peak RSS at N={} / at N={}: {:.3}x",
        sizes[sizes.len() - 1],
        sizes[0],
        large / small
    );
    Ok(())
}

/// The child process: streams every ticket and prints the count and its own peak RSS.
fn client(args: &[String]) -> Result<()> {
    let [base, key, expected] = args else {
        return Err("usage: export-client BASE_URL API_KEY N".into());
    };
    let expected: usize = expected.parse()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let client = la_core::Client::builder()
        .base_url(base)
        .api_key(key.as_str())
        .no_rate_limit()
        .build()?;
    let start = Instant::now();
    let before = peak_rss_kib().unwrap_or(0);
    let count = runtime.block_on(async {
        let mut stream = client.tickets().get_tickets_list().per_page(100).stream();
        let mut count = 0usize;
        let mut bytes = 0usize;
        while let Some(ticket) = stream.try_next().await? {
            count += 1;
            bytes += ticket.subject.map_or(0, |s| s.len());
        }
        std::hint::black_box(bytes);
        Ok::<_, la_core::Error>(count)
    })?;
    if count != expected {
        return Err(format!("streamed {count} tickets, expected {expected}").into());
    }
    println!(
        "tickets={count} seconds={:.2} peak_rss_kib={} peak_rss_kib_before_streaming={before}",
        start.elapsed().as_secs_f64(),
        peak_rss_kib().ok_or("no VmHWM in /proc/self/status")?
    );
    Ok(())
}
