//! Helpers shared by the benchmarks: the simulator process, statistics, machine facts.

#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The error type of the benchmarks.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The result type of the benchmarks.
pub type Result<T> = std::result::Result<T, BoxError>;

/// The simulator running in a child process (the `bench-sim` binary); stopped on drop.
pub struct SimProcess {
    child: Child,
    /// Its base URL, `http://127.0.0.1:PORT/api/v3`.
    pub base_url: String,
    /// An API key it accepts.
    pub api_key: String,
}

impl SimProcess {
    /// Starts `bench-sim` with these flags and waits until it listens.
    pub fn start(args: &[&str]) -> Result<Self> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bench-sim"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let mut parts = line.split_whitespace();
        let (Some(base_url), Some(api_key)) = (parts.next(), parts.next()) else {
            let _ = child.kill();
            return Err(format!("bench-sim did not start: {line:?}").into());
        };
        Ok(Self {
            base_url: base_url.to_owned(),
            api_key: api_key.to_owned(),
            child,
        })
    }

    /// The process id, to read its memory or CPU time.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The median of some numbers (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The `p`-th percentile (0..=100) of durations in nanoseconds, nearest rank.
pub fn percentile(sorted_nanos: &[u64], p: f64) -> f64 {
    if sorted_nanos.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted_nanos.len() as f64).ceil() as usize;
    sorted_nanos[rank.clamp(1, sorted_nanos.len()) - 1] as f64
}

/// `nproc` and the CPU model, for the report.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!("{cores} cores (nproc), {model}")
}

/// Whether the binary runs as a benchmark (`cargo bench`), not as a quick check (`cargo test`).
pub fn is_bench_run() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

/// A value of the environment variable `name`, or `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The peak resident set size (`VmHWM`) of this process, in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find(|line| line.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The id of a ticket the simulator at `base_url` holds.
pub async fn first_ticket_id(
    client: &reqwest::Client,
    base_url: &str,
    key: &str,
) -> Result<String> {
    let page: Vec<serde_json::Value> = client
        .get(format!("{base_url}/tickets?_perPage=1"))
        .header("apikey", key)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    page.first()
        .and_then(|ticket| ticket["id"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| "the simulator has no ticket".into())
}
