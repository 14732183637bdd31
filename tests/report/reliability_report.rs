//! Renders the detailed reliability report, every recorded case with its figures, from the
//! rows the reliability tests wrote under `target/reliability/`, into
//! `target/reliability/REPORT.md` (next to the rows). `RELIABILITY.md` at the root of the
//! workspace lists the promises and the tests behind them; this report holds the numbers.
//!
//! ```text
//! rm -rf target/reliability
//! cargo nextest run --workspace --all-features
//! cargo run -p liveagent-tests --bin reliability-report [-- --dir DIR] [-- --out FILE]
//! ```

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use la_reliability::rows;

fn run() -> Result<String, String> {
    let mut dir = rows::dir();
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--dir", Some(value)) => dir = PathBuf::from(value),
            ("--out", Some(value)) => out = Some(PathBuf::from(value)),
            _ => return Err("usage: reliability-report [--dir DIR] [--out FILE]".to_owned()),
        }
    }
    let found = rows::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    if found.is_empty() {
        return Err(format!(
            "no rows in {}: run the tests first (cargo nextest run --workspace --all-features)",
            dir.display()
        ));
    }
    let out = out.unwrap_or_else(|| dir.join("REPORT.md"));
    let count = found.len();
    std::fs::write(&out, rows::render(found))
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(format!(
        "wrote {} from {count} rows in {}",
        out.display(),
        dir.display()
    ))
}

fn main() -> ExitCode {
    match run() {
        Ok(message) => {
            println!("reliability-report: {message}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("reliability-report: {message}");
            ExitCode::FAILURE
        }
    }
}
