//! The rows behind the figures of `RELIABILITY.md`: what a test records, where, and how the
//! detailed report (`target/reliability/REPORT.md`) is rendered.
//!
//! A reliability test builds its [`Row`]s from what it measured and calls [`write()`], which
//! replaces `target/reliability/<name>.jsonl` (one JSON object per line). The report binary
//! (`cargo run -p liveagent-tests --bin reliability-report`) reads every file there with
//! [`read_dir`] and renders the table with [`render`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The environment variable that overrides where rows are written and read.
pub const DIR_ENV: &str = "LIVEAGENT_RELIABILITY_DIR";

/// The sections of the report, in order, with the paragraph that introduces each.
pub const AREAS: &[(&str, &str)] = &[
    (
        "Fault matrix",
        "GET `getTicket`, PUT `updateTicket` and POST `createTicket` through the typed API, each \
         against every fault, once (the next attempt is served normally) and always (every \
         attempt fails). Client: attempt timeout 300 ms, total timeout 3 s, 3 attempts, backoff \
         10-100 ms, `max_response_bytes` 16 KiB; an outer `tokio::time::timeout` of 6 s around \
         each call. Attempts are counted at the simulator (`received`, equal to what a layer \
         inside the client counted) and `applied` is the simulator's count of writes done. \
         These faults replace the answer before the simulator applies the write, so a POST \
         answered with a fabricated body the SDK accepts (JSON labelled `text/plain`) reports \
         `applied 0`; writes applied before a failure are the next section.",
    ),
    (
        "No duplicate writes",
        "A non-idempotent POST must never be applied twice. Counted at the simulator (`applied`) \
         and in its ticket store (records per unique subject).",
    ),
    (
        "Retry storm",
        "The server fails every request with 503 and no `Retry-After` (retried for a GET). \
         The retry budget (0.2 tokens per request, 20 tokens at most, a refill per second) \
         bounds the extra requests: `sent - asked <= 0.2 * asked + 20 + refill * seconds`.",
    ),
    (
        "Rate limit",
        "One client and its clones shared by many tasks, against the simulator enforcing the \
         same scaled limit. Both are GCRA buckets; the client's burst is kept far below the \
         server's (which defaults to the whole limit), so the client never runs ahead of the \
         server's refill and requests that reach the server bunched together still find room.",
    ),
    (
        "Decoders",
        "proptest on every generated model, as `T` and `Vec<T>`, decoded the way the client \
         decodes an answer (`la_core::response::decode_json`), from the generator's example \
         document of the model (every field set); and on pagination headers and page bodies.",
    ),
    (
        "Secrets",
        "The API key must not appear anywhere but in the `apikey` header to the configured \
         origin.",
    ),
    (
        "Bad input",
        "Input from the caller is percent-encoded or refused before anything is sent.",
    ),
    (
        "Load",
        "The simulator runs in the test process, so memory and descriptor figures cover client \
         and server together.",
    ),
    (
        "Supply chain",
        "Static guarantees, checked by tests and by the CI's clippy and cargo-deny steps.",
    ),
];

/// How rows written by many tests fold into one row of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Merge {
    /// How many tests are expected to write a row with this area and case.
    pub of: u32,
    /// What each of them covers (`models`).
    pub unit: String,
}

/// One row of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// The section (one of [`AREAS`]).
    pub area: String,
    /// The position within the section.
    pub order: u32,
    /// The case.
    pub case: String,
    /// What was tried.
    pub tried: String,
    /// How many times.
    pub times: u64,
    /// What happened.
    pub result: String,
    /// The command that re-runs the test.
    pub test: String,
    /// Set when many tests each write a part of this row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<Merge>,
}

impl Row {
    /// A row; `test` is the command that re-runs the test producing it.
    pub fn new(
        area: &str,
        order: u32,
        case: impl Into<String>,
        tried: impl Into<String>,
        times: u64,
        result: impl Into<String>,
        test: impl Into<String>,
    ) -> Self {
        Self {
            area: area.to_owned(),
            order,
            case: case.into(),
            tried: tried.into(),
            times,
            result: result.into(),
            test: test.into(),
            merge: None,
        }
    }
}

/// The command that re-runs one test of a package: `cargo nextest run -p PACKAGE --test
/// BINARY NAME` (`name` may be empty for the whole binary).
pub fn rerun(package: &str, binary: &str, name: &str) -> String {
    let mut command = format!("cargo nextest run -p {package} --test {binary}");
    if !name.is_empty() {
        command.push(' ');
        command.push_str(name);
    }
    command
}

/// Where rows are kept: `$LIVEAGENT_RELIABILITY_DIR`, or `reliability/` in the cargo target
/// directory of the running test binary (`target/debug/deps/x` → `target/reliability`).
pub fn dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(DIR_ENV) {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            let deps = exe.parent()?;
            let profile = if deps.file_name().is_some_and(|n| n == "deps") {
                deps.parent()?
            } else {
                deps
            };
            Some(profile.parent()?.join("reliability"))
        })
        .unwrap_or_else(|| PathBuf::from("target/reliability"))
}

/// Replaces the rows of `name` (a file stem such as `reliability_faults__fault_matrix`).
pub fn write(name: &str, rows: &[Row]) -> io::Result<PathBuf> {
    write_in(&dir(), name, rows)
}

/// [`write()`] into a given directory.
pub fn write_in(dir: &Path, name: &str, rows: &[Row]) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let mut text = String::new();
    for row in rows {
        let line = serde_json::to_string(row).map_err(io::Error::other)?;
        text.push_str(&line);
        text.push('\n');
    }
    let path = dir.join(format!("{name}.jsonl"));
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, &path)?;
    Ok(path)
}

/// Every row of every `*.jsonl` file in `dir`.
pub fn read_dir(dir: &Path) -> io::Result<Vec<Row>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let mut rows = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        for (number, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let row: Row = serde_json::from_str(line).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}:{}: {e}", file.display(), number + 1),
                )
            })?;
            rows.push(row);
        }
    }
    Ok(rows)
}

/// Folds rows that carry a [`Merge`] and share area and case into one: their times add up and
/// the result says how many of the expected tests reported.
pub fn merge(rows: Vec<Row>) -> Vec<Row> {
    let mut out: Vec<Row> = Vec::new();
    let mut merged: BTreeMap<(String, String), (Row, u32)> = BTreeMap::new();
    for row in rows {
        if row.merge.is_none() {
            out.push(row);
            continue;
        }
        let key = (row.area.clone(), row.case.clone());
        match merged.get_mut(&key) {
            Some((first, count)) => {
                first.times += row.times;
                *count += 1;
            }
            None => {
                merged.insert(key, (row, 1));
            }
        }
    }
    for (_, (mut row, count)) in merged {
        if let Some(merge) = row.merge.take() {
            row.result = format!(
                "{count} of {} {} passed: {}",
                merge.of, merge.unit, row.result
            );
        }
        out.push(row);
    }
    out
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', "<br>")
}

/// Renders the detailed report (every recorded case with its figures) from the rows.
pub fn render(rows: Vec<Row>) -> String {
    let mut rows = merge(rows);
    let position = |area: &str| {
        AREAS
            .iter()
            .position(|(name, _)| *name == area)
            .unwrap_or(AREAS.len())
    };
    rows.sort_by(|a, b| {
        (position(&a.area), &a.area, a.order, &a.case).cmp(&(
            position(&b.area),
            &b.area,
            b.order,
            &b.case,
        ))
    });

    let mut text = String::new();
    text.push_str("# Reliability: every recorded case\n\n");
    text.push_str(
        "Rendered by `cargo run -p liveagent-tests --bin reliability-report` from the rows the \
         reliability tests wrote under target/reliability/ in this run (a debug build). Each \
         row names the command that re-runs it; the tests assert the properties, so a \
         regression fails the test rather than changing a number here. The promises these \
         figures support are listed in RELIABILITY.md at the root of the workspace.\n",
    );
    let mut current: Option<String> = None;
    for row in &rows {
        if current.as_deref() != Some(row.area.as_str()) {
            current = Some(row.area.clone());
            let _ = write!(text, "\n## {}\n\n", row.area);
            if let Some((_, intro)) = AREAS.iter().find(|(name, _)| *name == row.area) {
                let _ = write!(text, "{intro}\n\n");
            }
            text.push_str("| Case | What was tried | Times | Result | Test |\n");
            text.push_str("|---|---|---:|---|---|\n");
        }
        let _ = writeln!(
            text,
            "| {} | {} | {} | {} | `{}` |",
            cell(&row.case),
            cell(&row.tried),
            row.times,
            cell(&row.result),
            cell(&row.test)
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_merge() {
        let dir = std::env::temp_dir().join(format!("la-reliability-{}", std::process::id()));
        let mut part = Row::new("Decoders", 1, "la-x: every model", "fuzz", 10, "ok", "t");
        part.merge = Some(Merge {
            of: 3,
            unit: "models".into(),
        });
        write_in(&dir, "a", &[part.clone()]).unwrap();
        write_in(&dir, "b", &[part]).unwrap();
        write_in(
            &dir,
            "c",
            &[Row::new("Fault matrix", 2, "500 | once", "x", 3, "Ok", "t")],
        )
        .unwrap();
        let rows = read_dir(&dir).unwrap();
        assert_eq!(rows.len(), 3);
        let text = render(rows);
        assert!(text.contains("| la-x: every model | fuzz | 20 | 2 of 3 models passed: ok |"));
        assert!(text.contains("500 \\| once"));
        let fault = text.find("## Fault matrix").unwrap();
        let decoders = text.find("## Decoders").unwrap();
        assert!(fault < decoders);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
