//! The simulator as a separate process for the benchmarks, so that its CPU time and memory are
//! not mixed with the client's.
//!
//! `bench-sim [--tickets N] [--workers N]`: prints `BASE_URL API_KEY` on one line, then serves
//! without a rate limit until its standard input closes.

use std::error::Error;
use std::io::{BufRead as _, Write as _};

use la_mock::Simulator;

fn main() -> Result<(), Box<dyn Error>> {
    let mut tickets = 100usize;
    let mut workers = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--tickets" => tickets = value.parse()?,
            "--workers" => workers = value.parse()?,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let sim = Simulator::builder()
            .tickets(tickets)
            .no_rate_limit()
            .start()
            .await?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "{} {}", sim.base_url(), sim.api_key())?;
        stdout.flush()?;
        tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            let mut stdin = std::io::stdin().lock();
            while stdin.read_line(&mut line).is_ok_and(|n| n > 0) {
                line.clear();
            }
        })
        .await?;
        sim.shutdown().await;
        Ok::<_, Box<dyn Error>>(())
    })
}
