//! `la-mock`: runs the LiveAgent API v3 simulator as a standalone server.
#![forbid(unsafe_code)]

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use la_mock::{RateLimit, RateLimitAlgorithm, SimConfig, Simulator};

/// An embedded simulator of the LiveAgent REST API v3.
#[derive(Debug, Parser)]
#[command(name = "la-mock", version, about)]
struct Args {
    /// The port to listen on (0 lets the OS pick one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// The seed of all generated data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Tickets to seed.
    #[arg(long)]
    seed_tickets: Option<usize>,
    /// Contacts to seed.
    #[arg(long)]
    seed_contacts: Option<usize>,
    /// Companies to seed.
    #[arg(long)]
    seed_companies: Option<usize>,
    /// Agents to seed.
    #[arg(long)]
    seed_agents: Option<usize>,
    /// Departments to seed.
    #[arg(long)]
    seed_departments: Option<usize>,
    /// Tags to seed.
    #[arg(long)]
    seed_tags: Option<usize>,
    /// Calls to seed.
    #[arg(long)]
    seed_calls: Option<usize>,
    /// An accepted API key (repeatable); without one a key is generated from the seed.
    #[arg(long = "api-key")]
    api_keys: Vec<String>,
    /// The rate limit per key as N/SECONDS (default 180/60).
    #[arg(long, value_parser = RateLimit::parse, conflicts_with = "no_rate_limit")]
    rate_limit: Option<RateLimit>,
    /// The burst (bucket capacity) of the rate limit; defaults to N.
    #[arg(long, conflicts_with = "no_rate_limit")]
    rate_burst: Option<u32>,
    /// How requests are counted against the rate limit: `gcra` (a token bucket, the default),
    /// `sliding` (at most N in any trailing window) or `fixed` (at most N per window, windows
    /// aligned to the simulator's start).
    #[arg(long, value_name = "ALGORITHM", conflicts_with = "no_rate_limit")]
    rate_algorithm: Option<RateLimitAlgorithm>,
    /// Turns rate limiting off.
    #[arg(long)]
    no_rate_limit: bool,
    /// The largest page a list serves; a larger _perPage is clamped to it.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    max_per_page: u32,
    /// Ignore _page on every list (serve page 1 again), like a broken server.
    #[arg(long)]
    ignore_page: bool,
    /// A JSON file of records to load: {"tickets": [...], "contacts": [...], ...}.
    #[arg(long)]
    seed_file: Option<PathBuf>,
}

fn config(args: &Args) -> Result<SimConfig, String> {
    let mut config = SimConfig {
        seed: args.seed,
        bind: args.bind,
        port: args.port,
        api_keys: args.api_keys.clone(),
        lists: la_mock::ListSettings {
            max_per_page: usize::try_from(args.max_per_page).unwrap_or(usize::MAX),
            ignore_page: args.ignore_page,
        },
        ..SimConfig::default()
    };
    let counts = &mut config.counts;
    let pairs = [
        (args.seed_tickets, &mut counts.tickets),
        (args.seed_contacts, &mut counts.contacts),
        (args.seed_companies, &mut counts.companies),
        (args.seed_agents, &mut counts.agents),
        (args.seed_departments, &mut counts.departments),
        (args.seed_tags, &mut counts.tags),
        (args.seed_calls, &mut counts.calls),
    ];
    for (given, slot) in pairs {
        if let Some(n) = given {
            *slot = n;
        }
    }
    config.rate_limit = if args.no_rate_limit {
        None
    } else {
        let limit = args.rate_limit.unwrap_or_default();
        let limit = match args.rate_burst {
            Some(0) => return Err("--rate-burst must be at least 1".to_string()),
            Some(b) => limit.with_burst(b),
            None => limit,
        };
        Some(limit.with_algorithm(args.rate_algorithm.unwrap_or_default()))
    };
    if let Some(path) = &args.seed_file {
        config.seed_records = Some(la_mock::read_seed_file(path).map_err(|e| e.to_string())?);
    }
    Ok(config)
}

async fn run(config: SimConfig) -> Result<(), String> {
    let sim = Simulator::start_with(config)
        .await
        .map_err(|e| e.to_string())?;
    println!("la-mock listening on {}", sim.base_url());
    println!("API key: {}", sim.api_key());
    match sim.rate_limit() {
        Some(l) => println!(
            "rate limit: {} requests per {:?} (burst {}, {})",
            l.limit, l.window, l.burst, l.algorithm
        ),
        None => println!("rate limit: off"),
    }
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
    sim.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                print!("{e}");
                return ExitCode::SUCCESS;
            }
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("{first}");
            return ExitCode::from(2);
        }
    };
    let config = match config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
