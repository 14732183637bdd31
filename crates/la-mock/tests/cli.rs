//! The `la-mock` binary: bad input gives a one-line error and a non-zero exit; good input serves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Lines};
use std::process::{ChildStdout, Command, Stdio};
use std::time::Duration;

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_la-mock"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_input_is_a_clear_one_line_error() {
    let dir = std::env::temp_dir().join(format!("la-mock-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let malformed = dir.join("bad.json");
    std::fs::write(&malformed, "{ not json").unwrap();
    let wrong_shape = dir.join("shape.json");
    std::fs::write(&wrong_shape, r#"{"gadgets": []}"#).unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--frobnicate".into()], "--frobnicate"),
        (vec!["--port".into(), "http".into()], "--port"),
        (vec!["--seed-tickets".into(), "-5".into()], "-5"),
        (vec!["--rate-limit".into(), "fast".into()], "rate limit"),
        (
            vec!["--rate-algorithm".into(), "leaky".into()],
            "gcra, sliding or fixed",
        ),
        (
            vec![
                "--rate-limit".into(),
                "10/60".into(),
                "--no-rate-limit".into(),
            ],
            "--no-rate-limit",
        ),
        (vec!["--bind".into(), "localhost:80".into()], "--bind"),
        (vec!["--max-per-page".into(), "0".into()], "--max-per-page"),
        (
            vec!["--max-per-page".into(), "many".into()],
            "--max-per-page",
        ),
        (
            vec![
                "--seed-file".into(),
                dir.join("missing.json").display().to_string(),
            ],
            "missing.json",
        ),
        (
            vec!["--seed-file".into(), malformed.display().to_string()],
            "not valid JSON",
        ),
        (
            vec!["--seed-file".into(), wrong_shape.display().to_string()],
            "gadgets",
        ),
    ];
    for (args, needle) in cases {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stderr) = run(&refs);
        assert_ne!(code, 0, "{args:?}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.contains(needle),
            "{args:?}: {stderr:?} should mention {needle:?}"
        );
    }
}

/// Kills the server when the test ends, even when an assertion fails.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The simulator started on a free port with `args`, and the lines it prints. Keep the lines
/// until the end of the test: the server prints more after the first ones.
fn serve(args: &[&str]) -> (KillOnDrop, Lines<BufReader<ChildStdout>>) {
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_la-mock"))
            .args(["--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    (child, BufReader::new(stdout).lines())
}

/// The base URL at the end of the simulator's first line.
fn url_of(first_line: &str) -> String {
    first_line.rsplit(' ').next().unwrap().to_owned()
}

/// A runtime for the test's requests.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn serves_and_prints_url_and_key() {
    let dir = std::env::temp_dir().join(format!("la-mock-cli-ok-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seed = dir.join("seed.json");
    std::fs::write(
        &seed,
        r#"{"tickets": [{"id": "900", "subject": "From file"}]}"#,
    )
    .unwrap();
    let seed = seed.to_str().unwrap();
    let (child, mut lines) = serve(&[
        "--seed-tickets",
        "3",
        "--api-key",
        "cli-key",
        "--seed-file",
        seed,
    ]);
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    let url = url_of(&first);
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/api/v3"),
        "{first}"
    );
    assert_eq!(second, "API key: cli-key");
    let rt = runtime();
    let body: serde_json::Value = rt.block_on(async {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
            .get(format!("{url}/tickets/900"))
            .header("apikey", "cli-key")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    drop(child);
    assert_eq!(body["subject"], "From file");
}

#[test]
fn the_rate_limit_algorithm_is_chosen_on_the_command_line() {
    let args = [
        "--api-key",
        "cli-key",
        "--rate-limit",
        "2/60",
        "--rate-algorithm",
        "sliding",
    ];
    let (child, lines) = serve(&args);
    let lines: Vec<String> = lines.take(3).map(Result::unwrap).collect();
    assert_eq!(
        lines[2], "rate limit: 2 requests per 60s (burst 2, sliding)",
        "{lines:?}"
    );
    let url = url_of(&lines[0]);
    let rt = runtime();
    let statuses: Vec<u16> = rt.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let mut statuses = Vec::new();
        for _ in 0..3 {
            let response = client
                .get(format!("{url}/ping"))
                .header("apikey", "cli-key")
                .send()
                .await
                .unwrap();
            statuses.push(response.status().as_u16());
        }
        statuses
    });
    drop(child);
    assert_eq!(statuses, [200, 200, 429]);
}

#[test]
fn list_flags_cap_pages_and_ignore_the_page_number() {
    let args = [
        "--seed-tickets",
        "30",
        "--api-key",
        "cli-key-0123456789abcdef",
        "--no-rate-limit",
        "--max-per-page",
        "4",
        "--ignore-page",
    ];
    let (child, mut lines) = serve(&args);
    let first = lines.next().unwrap().unwrap();
    let url = url_of(&first);
    let rt = runtime();
    let get = |query: &'static str| {
        let url = format!("{url}/tickets?{query}");
        rt.block_on(async move {
            reqwest::Client::new()
                .get(url)
                .header("apikey", "cli-key-0123456789abcdef")
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        })
    };
    let first_page = get("_perPage=100&_page=1");
    let third_page = get("_perPage=100&_page=3");
    drop(child);
    drop(lines);
    assert_eq!(first_page.as_array().unwrap().len(), 4, "{first_page}");
    assert_eq!(first_page, third_page, "_page is ignored");
}
