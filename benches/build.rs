//! Generates, with progenitor, a client for the operations the benchmarks compare
//! (`getTicket`, `getTicketsList`), and a report of what progenitor makes of the whole spec.
//!
//! Outputs in `OUT_DIR`:
//! - `progenitor_tickets.rs`: the generated client (the two operations and the schemas they use);
//! - `progenitor_report.md`: what progenitor rejected, for the whole spec and per operation.

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;

use serde_json::{Map, Value};

/// The operations the benchmarks send through the progenitor client.
const BENCHED_OPERATIONS: [&str; 2] = ["getTicket", "getTicketsList"];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

fn main() -> Result<(), Box<dyn Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let spec_path = manifest.join("../spec/liveagent-v3.openapi.json");
    println!("cargo::rerun-if-changed={}", spec_path.display());
    println!("cargo::rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var("OUT_DIR")?);

    let spec: Value = serde_json::from_str(&std::fs::read_to_string(&spec_path)?)?;
    let split = split_default_responses(&spec);

    let previous_hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let mut report = String::new();
    writeln!(
        report,
        "progenitor 0.15.1 (typify 0.8.0), default settings."
    )?;
    writeln!(report)?;
    writeln!(
        report,
        "- whole spec, as published: {}",
        outcome(&generate(spec.clone()))
    )?;
    writeln!(
        report,
        "- whole spec, each `default` response rewritten as `4XX` + `5XX`: {}",
        outcome(&generate(split.clone()))
    )?;
    for (label, document) in [
        ("as published", &spec),
        ("with `default` rewritten as `4XX` + `5XX`", &split),
    ] {
        let (total, failures) = per_operation(document);
        writeln!(
            report,
            "- one operation at a time (with the schemas it reaches), {label}: {} of {total} generate",
            total - failures.values().map(Vec::len).sum::<usize>()
        )?;
        for (message, operations) in &failures {
            let shown: Vec<&str> = operations.iter().take(6).map(String::as_str).collect();
            let more = operations.len().saturating_sub(shown.len());
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            writeln!(
                report,
                "  - {} operations: `{message}` ({}{more})",
                operations.len(),
                shown.join(", ")
            )?;
        }
    }
    let subset = subset(&split, &BENCHED_OPERATIONS);
    let generated = generate(subset);
    panic::set_hook(previous_hook);

    let code = generated.map_err(|e| format!("progenitor rejected the benchmark subset: {e}"))?;
    std::fs::write(out.join("progenitor_tickets.rs"), code)?;
    std::fs::write(out.join("progenitor_report.md"), report)?;
    Ok(())
}

fn outcome(result: &Result<String, String>) -> String {
    match result {
        Ok(code) => format!("generates ({} bytes of code)", code.len()),
        Err(e) => format!("rejected: `{e}`"),
    }
}

/// Runs progenitor on a document; its panics become errors.
fn generate(document: Value) -> Result<String, String> {
    let spec: openapiv3::OpenAPI = serde_json::from_value(document)
        .map_err(|e| format!("not an OpenAPI 3.0 document: {e}"))?;
    let result = panic::catch_unwind(AssertUnwindSafe(move || {
        let mut generator = progenitor::Generator::new(&progenitor::GenerationSettings::default());
        generator
            .generate_tokens(&spec)
            .map(|tokens| tokens.to_string())
            .map_err(|e| e.to_string())
    }));
    match result {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(format!("panicked: {message}"))
        }
    }
}

/// Every operation generated on its own; failures grouped by message.
fn per_operation(document: &Value) -> (usize, BTreeMap<String, Vec<String>>) {
    let mut total = 0;
    let mut failures: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for id in operation_ids(document) {
        total += 1;
        if let Err(e) = generate(subset(document, &[id.as_str()])) {
            failures.entry(e).or_default().push(id);
        }
    }
    (total, failures)
}

fn operation_ids(document: &Value) -> Vec<String> {
    let mut ids = Vec::new();
    for item in document["paths"]
        .as_object()
        .into_iter()
        .flat_map(Map::values)
    {
        for method in METHODS {
            if let Some(id) = item
                .get(method)
                .and_then(|op| op.get("operationId"))
                .and_then(Value::as_str)
            {
                ids.push(id.to_owned());
            }
        }
    }
    ids
}

/// The same document with each `default` response replaced by `4XX` and `5XX` responses of the
/// same content: progenitor treats `default` as a possible success, and a success type differing
/// from the `200` one trips an assertion.
fn split_default_responses(document: &Value) -> Value {
    let mut document = document.clone();
    if let Some(paths) = document["paths"].as_object_mut() {
        for item in paths.values_mut() {
            for method in METHODS {
                let Some(responses) = item
                    .get_mut(method)
                    .and_then(|op| op.get_mut("responses"))
                    .and_then(Value::as_object_mut)
                else {
                    continue;
                };
                if let Some(default) = responses.remove("default") {
                    responses.insert("4XX".to_owned(), default.clone());
                    responses.insert("5XX".to_owned(), default);
                }
            }
        }
    }
    document
}

/// The document reduced to the given operations and the components they reach.
fn subset(document: &Value, operations: &[&str]) -> Value {
    let mut paths = Map::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        let mut kept = Map::new();
        for method in METHODS {
            if let Some(op) = item.get(method)
                && op
                    .get("operationId")
                    .and_then(Value::as_str)
                    .is_some_and(|id| operations.contains(&id))
            {
                kept.insert(method.to_owned(), op.clone());
            }
        }
        if kept.is_empty() {
            continue;
        }
        if let Some(parameters) = item.get("parameters") {
            kept.insert("parameters".to_owned(), parameters.clone());
        }
        paths.insert(path.clone(), Value::Object(kept));
    }
    let paths = Value::Object(paths);

    let mut reached = BTreeSet::new();
    let mut pending = BTreeSet::new();
    collect_refs(&paths, &mut pending);
    while let Some(reference) = pending.pop_first() {
        if reached.insert(reference.clone())
            && let Some(target) = document.pointer(reference.trim_start_matches('#'))
        {
            collect_refs(target, &mut pending);
        }
    }
    let mut components = Map::new();
    for reference in &reached {
        let mut parts = reference.trim_start_matches("#/components/").splitn(2, '/');
        let (Some(kind), Some(name)) = (parts.next(), parts.next()) else {
            continue;
        };
        if let Some(target) = document.pointer(reference.trim_start_matches('#')) {
            let section = components
                .entry(kind.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(section) = section.as_object_mut() {
                section.insert(name.to_owned(), target.clone());
            }
        }
    }
    if let Some(schemes) = document["components"].get("securitySchemes") {
        components.insert("securitySchemes".to_owned(), schemes.clone());
    }

    let mut reduced = document.clone();
    reduced["paths"] = paths;
    reduced["components"] = Value::Object(components);
    reduced
}

fn collect_refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match (key.as_str(), item) {
                    ("$ref", Value::String(reference)) => {
                        out.insert(reference.clone());
                    }
                    _ => collect_refs(item, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, out)),
        _ => {}
    }
}
