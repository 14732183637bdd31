//! Export every ticket to NDJSON or CSV, with a progress bar on stderr, in constant memory, and
//! resumable.
//!
//! ```text
//! cargo run --example export_tickets -- --format csv --output tickets.csv
//! cargo run --example export_tickets -- --source grid --from-cursor eyJpZCI6IjUwMCJ9
//! ```
//!
//! Two sources: `list` (the default: `GET /tickets`, page-numbered; resume with `--from-page`
//! and the `--per-page` it was counted in, or `--from-offset`)
//! and `grid` (`GET /grid/tickets`, cursor-paged; resume with `--from-cursor`). Pages are written
//! as they arrive, so memory does not grow with the number of tickets; after each page the
//! command to resume from the next one is kept up to date, and printed if the export stops
//! (a resumed export may repeat the tickets of the page that was being written).
//!
//! Without `LIVEAGENT_URL` and `LIVEAGENT_API_KEY` it runs against the built-in simulator.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use futures_util::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use liveagent::prelude::*;
use liveagent::{Page, PageToken};
use liveagent_examples::{BoxError, connect, defaults};
use serde_json::Value;

/// The output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    Ndjson,
    /// Comma-separated values with a header line.
    Csv,
}

/// Which listing to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// `GET /tickets`, page-numbered.
    List,
    /// `GET /grid/tickets`, cursor-paged.
    Grid,
}

/// Export every ticket.
#[derive(Debug, Parser)]
#[command(name = "export_tickets")]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Ndjson)]
    pub format: Format,
    /// Output file (default: standard output).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Which listing to read.
    #[arg(long, value_enum, default_value_t = Source::List)]
    pub source: Source,
    /// Tickets per request. By default the largest page the server serves: 1,000 asked
    /// (`la_core::pagination::LARGEST_PER_PAGE`), fewer when the server caps or refuses it, so
    /// that an export takes as few requests, and as little of the rate limit, as it can.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub per_page: Option<u32>,
    /// Resume the `list` source at this page.
    #[arg(long, conflicts_with = "from_cursor")]
    pub from_page: Option<u32>,
    /// Resume the `list` source at this offset (zero-based, `_from`).
    #[arg(long, conflicts_with_all = ["from_cursor", "from_page"], value_parser = clap::value_parser!(i64).range(0..))]
    pub from_offset: Option<i64>,
    /// Resume the `grid` source after this cursor.
    #[arg(long)]
    pub from_cursor: Option<String>,
    /// How many tickets the simulator seeds when no account is configured.
    #[arg(long, default_value_t = 2_000)]
    pub simulator_tickets: usize,
}

/// The columns of the CSV output: the column name, then the field that holds it in a `list`
/// ticket and in a `grid` row (the two listings name some fields differently).
const COLUMNS: &[(&str, &str, &str)] = &[
    ("id", "id", "conversationid"),
    ("code", "code", "code"),
    ("subject", "subject", "subject"),
    ("status", "status", "status"),
    ("owner_email", "owner_email", "emails"),
    ("departmentid", "departmentid", "departmentid"),
    ("agentid", "agentid", "agentid"),
    ("date_created", "date_created", "datecreated"),
    ("date_changed", "date_changed", "datechanged"),
    ("tags", "tags", "tagnames"),
];

fn csv_field(value: &Value) -> String {
    let text = match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(";"),
        other => other.to_string(),
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// Writes tickets in the chosen format.
pub struct Writer<W: Write> {
    out: W,
    format: Format,
    source: Source,
    written: u64,
}

impl<W: Write> Writer<W> {
    /// A writer; CSV gets its header line at once.
    pub fn new(mut out: W, format: Format, source: Source) -> io::Result<Self> {
        if format == Format::Csv {
            let header: Vec<&str> = COLUMNS.iter().map(|(name, _, _)| *name).collect();
            writeln!(out, "{}", header.join(","))?;
        }
        Ok(Self {
            out,
            format,
            source,
            written: 0,
        })
    }

    /// Writes one ticket (any serializable model).
    pub fn write<T: serde::Serialize>(&mut self, ticket: &T) -> Result<(), BoxError> {
        let value = serde_json::to_value(ticket)?;
        match self.format {
            Format::Ndjson => writeln!(self.out, "{value}")?,
            Format::Csv => {
                let row: Vec<String> = COLUMNS
                    .iter()
                    .map(|(_, list_field, grid_field)| {
                        let field = match self.source {
                            Source::List => list_field,
                            Source::Grid => grid_field,
                        };
                        csv_field(value.get(field).unwrap_or(&Value::Null))
                    })
                    .collect();
                writeln!(self.out, "{}", row.join(","))?;
            }
        }
        self.written += 1;
        Ok(())
    }

    /// Flushes the output.
    pub fn finish(mut self) -> io::Result<u64> {
        self.out.flush()?;
        Ok(self.written)
    }
}

/// How to resume at `next`, a page counted in pages of `per_page` tickets.
fn resume_hint(next: &PageToken, per_page: u32) -> String {
    match next {
        PageToken::Number(n) => format!("--source list --from-page {n} --per-page {per_page}"),
        PageToken::Offset(n) => format!("--source list --from-offset {n}"),
        PageToken::Cursor(c) => format!("--source grid --from-cursor {c}"),
    }
}

/// Writes the pages of a stream as they arrive; returns where the next page would start.
async fn drain<T, W>(
    mut pages: liveagent::pagination::BoxStream<'static, Result<Page<T>, Error>>,
    writer: &mut Writer<W>,
    progress: &ProgressBar,
) -> Result<(), (BoxError, Option<(PageToken, u32)>)>
where
    T: serde::Serialize,
    W: Write,
{
    let mut resume: Option<(PageToken, u32)> = None;
    loop {
        let page = match pages.try_next().await {
            Ok(Some(page)) => page,
            Ok(None) => return Ok(()),
            Err(error) => return Err((error.into(), resume)),
        };
        for ticket in &page.items {
            writer
                .write(ticket)
                .map_err(|e| (e, resume.clone().or_else(|| first_page(&page))))?;
        }
        progress.inc(page.items.len() as u64);
        resume = page.next.clone().map(|next| (next, page.per_page));
        if let Some((next, per_page)) = &resume {
            progress.set_message(format!("resume with: {}", resume_hint(next, *per_page)));
        }
    }
}

/// Where the page being written started, to resume there (it may be written twice).
fn first_page<T>(page: &Page<T>) -> Option<(PageToken, u32)> {
    page.this.clone().map(|this| (this, page.per_page))
}

/// Exports every ticket the client can see to `out`.
pub async fn export<W: Write>(
    client: &Client,
    args: &Args,
    out: W,
    progress: &ProgressBar,
) -> Result<u64, BoxError> {
    let mut writer = Writer::new(out, args.format, args.source)?;
    let result = match args.source {
        Source::List => {
            let mut request = client.tickets().get_tickets_list();
            if let Some(per_page) = args.per_page {
                request = request.per_page(i64::from(per_page));
            }
            if let Some(page) = args.from_page {
                request = request.page(i64::from(page));
            }
            if let Some(offset) = args.from_offset {
                request = request.from(offset);
            }
            drain(request.pages(), &mut writer, progress).await
        }
        Source::Grid => {
            // The count only sizes the progress bar: the export goes on without it.
            if let Ok(total) = client.grid().get_tickets_grid_list_count().send().await
                && let Some(count) = total.count
            {
                progress.set_length(count as u64);
            }
            let mut request = client.grid().get_tickets_grid_list();
            if let Some(per_page) = args.per_page {
                request = request.per_page(i64::from(per_page));
            }
            if let Some(cursor) = &args.from_cursor {
                request = request.cursor(cursor.as_str());
            }
            drain(request.pages(), &mut writer, progress).await
        }
    };
    match result {
        Ok(()) => Ok(writer.finish()?),
        Err((error, resume)) => {
            let written = writer.finish().unwrap_or(0);
            let hint = resume.map_or_else(
                || "start again".to_owned(),
                |(token, per_page)| format!("resume with `{}`", resume_hint(&token, per_page)),
            );
            Err(format!("the export stopped after {written} tickets ({error}); {hint}").into())
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let connection = connect(args.simulator_tickets, defaults).await?;
    let progress = ProgressBar::new_spinner();
    progress.set_style(ProgressStyle::with_template(
        "{spinner} {pos} tickets exported ({per_sec}) {wide_msg}",
    )?);
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(File::create(path)?)),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    let written = export(&connection.client, &args, out, &progress).await?;
    progress.finish_with_message("done");
    eprintln!("Exported {written} tickets.");
    Ok(())
}
