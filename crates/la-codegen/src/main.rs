//! la-codegen: generates the SDK's domain crates from the LiveAgent v3 OpenAPI spec.
//!
//! ```text
//! cargo run -p la-codegen            # write the generated files
//! cargo run -p la-codegen -- --check # fail if the committed files differ from a fresh run
//! ```
//!
//! It reads `spec/liveagent-v3.openapi.json` and `crates/la-codegen/codegen.toml`, and writes,
//! for each domain crate, `Cargo.toml`, `src/generated/**` and `tests/{operations,enums,decode_fuzz}.rs`,
//! plus `la-types` (the schemas several domains share) and `GENERATED.md` (what was generated,
//! with line counts). Every generated file says so in its first line; the hand-written parts of
//! a crate (`src/lib.rs` and anything it declares outside `src/generated/`) are never touched.
//! The output is deterministic: running it twice changes no byte.

#![forbid(unsafe_code)]

mod config;
mod emit_models;
mod emit_operations;
mod emit_tests;
mod fixtures;
mod layout;
mod output;
mod spec;

use std::path::PathBuf;
use std::process::ExitCode;

/// What can stop the generator.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// The spec uses something the generator does not understand.
    #[error("spec: {0}")]
    Spec(String),
    /// `codegen.toml` is wrong.
    #[error("codegen.toml: {0}")]
    Config(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// rustfmt failed on generated code.
    #[error("rustfmt on {path}: {message}")]
    Rustfmt {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Generated code did not parse (a generator bug).
    #[error("generated code for {path} does not parse: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's message.
        message: String,
    },
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .components()
        .collect()
}

fn run() -> Result<bool, GenError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = match args.as_slice() {
        [] => false,
        [flag] if flag == "--check" => true,
        _ => {
            eprintln!("usage: la-codegen [--check]");
            return Ok(false);
        }
    };
    let root = workspace_root();
    let files = output::generate(&root)?;
    if check {
        let problems = output::check(&root, &files)?;
        if problems.is_empty() {
            println!("la-codegen: {} generated files are up to date", files.len());
            Ok(true)
        } else {
            for problem in &problems {
                eprintln!("la-codegen: {problem}");
            }
            eprintln!(
                "la-codegen: the generated code is out of date; run `cargo run -p la-codegen` and commit the result"
            );
            Ok(false)
        }
    } else {
        let written = output::write(&root, &files)?;
        println!(
            "la-codegen: {} files generated, {} changed",
            files.len(),
            written
        );
        Ok(true)
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("la-codegen: {error}");
            ExitCode::FAILURE
        }
    }
}
