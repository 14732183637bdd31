//! Static guarantees: no `unsafe` anywhere, no `unwrap`/`expect` outside tests, and the
//! dependency audit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use liveagent_tests::reliability::{record, row};

const BINARY: &str = "reliability_supply_chain";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The crate roots to scan: `crates/*/src/{lib,main}.rs`, the support libraries of the
/// examples and the tests, and the binaries under `tests/`. (The benchmarks have no library;
/// their targets are covered by the workspace lints checked alongside.)
fn crate_roots() -> Vec<PathBuf> {
    let root = root();
    let mut roots = Vec::new();
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        let dir = entry.unwrap().path();
        for file in ["src/lib.rs", "src/main.rs"] {
            let path = dir.join(file);
            if path.is_file() {
                roots.push(path);
            }
        }
    }
    for file in ["tests/support/lib.rs", "examples/support.rs"] {
        let path = root.join(file);
        if path.is_file() {
            roots.push(path);
        }
    }
    for dir in ["tests/bin", "tests/report"] {
        if let Ok(entries) = std::fs::read_dir(root.join(dir)) {
            for entry in entries {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "rs") {
                    roots.push(path);
                }
            }
        }
    }
    roots.sort();
    roots
}

/// The manifests of the workspace's members.
fn member_manifests() -> Vec<PathBuf> {
    let root = root();
    let mut manifests: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path().join("Cargo.toml"))
        .filter(|p| p.is_file())
        .collect();
    for dir in ["examples", "tests", "benches"] {
        let path = root.join(dir).join("Cargo.toml");
        if path.is_file() {
            manifests.push(path);
        }
    }
    manifests.sort();
    manifests
}

#[test]
fn every_crate_forbids_unsafe_code() {
    let roots = crate_roots();
    let missing: Vec<String> = roots
        .iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            !text
                .lines()
                .any(|line| line.trim() == "#![forbid(unsafe_code)]")
        })
        .map(|path| relative(path))
        .collect();
    let manifests = member_manifests();
    let without_lints: Vec<String> = manifests
        .iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            !text.contains("[lints]\nworkspace = true")
        })
        .map(|path| relative(path))
        .collect();
    let workspace = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let forbidden = workspace.contains("unsafe_code = \"forbid\"");
    record(
        BINARY,
        "every_crate_forbids_unsafe_code",
        &[row(
            "Supply chain",
            1,
            "`#![forbid(unsafe_code)]`",
            format!(
                "every crate root ({} files: `crates/*/src/{{lib,main}}.rs`, the support \
                 libraries, the test binaries) scanned for the attribute; {} member manifests \
                 checked for `[lints] workspace = true` (whose lints forbid `unsafe_code`)",
                roots.len(),
                manifests.len()
            ),
            (roots.len() + manifests.len()) as u64,
            format!(
                "{} roots without the attribute, {} manifests without the workspace lints; \
                 workspace lint `unsafe_code = \"forbid\"`: {}",
                missing.len(),
                without_lints.len(),
                if forbidden { "set" } else { "missing" }
            ),
        )],
    );
    assert!(roots.len() >= 15, "{roots:?}");
    assert!(
        missing.is_empty(),
        "without #![forbid(unsafe_code)]: {missing:?}"
    );
    assert!(
        without_lints.is_empty(),
        "without workspace lints: {without_lints:?}"
    );
    assert!(forbidden);
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_unwrap_or_expect_outside_tests() {
    let workspace = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let clippy = std::fs::read_to_string(root().join("clippy.toml")).unwrap();
    let denied = workspace.contains("unwrap_used = \"deny\"")
        && workspace.contains("expect_used = \"deny\"");
    let tests_only = clippy.contains("allow-unwrap-in-tests = true")
        && clippy.contains("allow-expect-in-tests = true");
    // The shipped crates' sources (the generator's emitted test text aside) never opt out.
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let dir = entry.unwrap().path();
        if dir.ends_with("la-codegen") {
            continue;
        }
        rust_files(&dir.join("src"), &mut files);
    }
    let exemptions: Vec<String> = files
        .iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            text.contains("allow(clippy::unwrap_used") || text.contains("allow(clippy::expect_used")
        })
        .map(|path| relative(path))
        .collect();
    record(
        BINARY,
        "no_unwrap_or_expect_outside_tests",
        &[row(
            "Supply chain",
            2,
            "no `unwrap`/`expect` on data from the server or the user",
            format!(
                "workspace lints and clippy.toml read; {} source files of the SDK crates \
                 scanned for opt-outs; enforced by the CI's `cargo clippy --workspace \
                 --all-targets --all-features -- -D warnings`",
                files.len()
            ),
            files.len() as u64,
            format!(
                "`clippy::unwrap_used` and `expect_used` denied: {}; allowed in tests only: \
                 {}; opt-outs in SDK sources: {}",
                if denied { "yes" } else { "no" },
                if tests_only { "yes" } else { "no" },
                exemptions.len()
            ),
        )],
    );
    assert!(denied && tests_only);
    assert!(exemptions.is_empty(), "{exemptions:?}");
}

/// `name` of a `name v1.2.3` line of cargo-deny's dependency trees.
fn crate_name(text: &str) -> Option<&str> {
    let mut words = text.split(' ');
    let name = words.next()?;
    let version = words.next()?.strip_prefix('v')?;
    version
        .starts_with(|c: char| c.is_ascii_digit())
        .then_some(name)
}

/// cargo-deny, when the offline wrapper and an installed cargo-deny are both here (the test
/// installs nothing; the CI runs the wrapper as a step of its own after the tests).
fn cargo_deny() -> Option<(bool, String)> {
    let wrapper = root().join("../shared/tools/cargo-deny-offline");
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".cache"));
    let installed = cache.join("cargo-deny-venv/bin/cargo-deny").is_file()
        || Command::new("cargo-deny")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
    if !wrapper.is_file() || !installed {
        return None;
    }
    let output = Command::new(&wrapper).current_dir(root()).output().ok()?;
    let text = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    let summary = text
        .lines()
        .find(|line| line.starts_with("advisories "))
        .unwrap_or("no summary")
        .to_owned();
    // What each error is about: `error[...]` lines, with the license and the crate named in
    // the lines that follow them.
    let mut detail: Vec<String> = Vec::new();
    let mut current: Option<(String, Option<String>)> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("error[") {
            current = Some((rest.split(']').next().unwrap_or("").to_owned(), None));
        } else if let Some((_, license)) = current.as_mut()
            && let Some(value) = trimmed
                .split("license = \"")
                .nth(1)
                .and_then(|v| v.split('"').next())
        {
            *license = Some(value.to_owned());
        } else if let Some(name) = trimmed.strip_prefix("├ ").and_then(crate_name)
            && let Some((kind, license)) = current.take()
        {
            let item = match license {
                Some(license) => format!("{kind}: {name} ({license})"),
                None => format!("{kind}: {name}"),
            };
            if !detail.contains(&item) {
                detail.push(item);
            }
        }
    }
    let summary = if detail.is_empty() {
        summary
    } else {
        format!("{summary} ({})", detail.join("; "))
    };
    Some((output.status.success(), summary))
}

#[test]
fn dependencies_pass_the_offline_audit() {
    let (times, result) = match cargo_deny() {
        Some((ok, summary)) => (
            1,
            format!("{}: {summary}", if ok { "clean" } else { "not clean" }),
        ),
        None => (
            0,
            "not run here (no cargo-deny installed); the CI runs it as its last step".to_owned(),
        ),
    };
    record(
        BINARY,
        "dependencies_pass_the_offline_audit",
        &[row(
            "Supply chain",
            3,
            "`../shared/tools/cargo-deny-offline`",
            "advisories (offline RustSec snapshot; unmaintained and yanked crates are errors), \
             bans, licenses, sources, as configured in `deny.toml`",
            times,
            result,
        )],
    );
}
