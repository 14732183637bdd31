//! Renders `RELIABILITY.md` at the root of the workspace from the rows the reliability tests
//! recorded under `target/reliability/`.
//!
//! ```text
//! rm -rf target/reliability
//! cargo nextest run --workspace --all-features
//! cargo run -p liveagent-tests --bin reliability-report [-- --dir DIR] [-- --out FILE]
//! ```

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use la_reliability::rows;

fn run() -> Result<String, String> {
    let mut dir = rows::dir();
    let mut out = Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(
        || PathBuf::from("RELIABILITY.md"),
        |root| root.join("RELIABILITY.md"),
    );
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--dir", Some(value)) => dir = PathBuf::from(value),
            ("--out", Some(value)) => out = PathBuf::from(value),
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
