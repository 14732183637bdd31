#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Proxies: a plain `http://` API is never reached through one (the proxy would read the
//! `apikey` header in clear text); an `https://` API is, as a `CONNECT` tunnel only.
//!
//! The system proxy comes from environment variables, which belong to the whole process. So the
//! test sets them on a child process only: it runs this same test binary, filtered to this one
//! test, with `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY` pointing at a recording listener. No
//! other test ever sees them.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use la_core::{Client, Method, Request};

/// The key the child's client uses; the proxy must never see it.
const KEY: &str = "proxy-test-key-4Kd9Vt2Lq";

/// Set in the child's environment: the plain-http API's base URL.
const CHILD_HTTP_BASE: &str = "LA_CORE_PROXY_TEST_HTTP_BASE";
/// Set in the child's environment: an https base URL (a port the proxy is asked to tunnel to).
const CHILD_HTTPS_BASE: &str = "LA_CORE_PROXY_TEST_HTTPS_BASE";

/// Reads a request head (up to the blank line), or what arrived before the peer stopped.
fn read_head(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A listener that records the head of every connection it gets and hangs up, until stopped.
struct Recorder {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Recorder {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            stream.set_nonblocking(false).unwrap();
                            let head = read_head(&mut stream);
                            seen.lock().unwrap().push(head);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        Self {
            url: format!("http://127.0.0.1:{port}"),
            seen,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops listening and returns the heads received.
    fn finish(mut self) -> Vec<String> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

/// A one-request API: answers `{}` and returns the head it received.
fn api_server() -> (u16, JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let head = read_head(&mut stream);
        stream
            .write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\
                  connection: close\r\n\r\n{}",
            )
            .unwrap();
        head
    });
    (port, thread)
}

fn client(base: &str) -> Client {
    Client::builder()
        .base_url(base)
        .api_key(KEY)
        .no_retry()
        .no_rate_limit()
        .attempt_timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The child's part: one call to the plain-http API (which must succeed directly) and one to
/// the https URL (which goes to the proxy as a tunnel request, which the proxy refuses).
fn child(http_base: &str, https_base: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let answer: serde_json::Value = client(http_base)
            .execute(Request::new(Method::GET, "/ping"))
            .await
            .unwrap();
        assert_eq!(answer, serde_json::json!({}));
        let tunnelled = client(https_base)
            .send(Request::new(Method::GET, "/ping"))
            .await;
        assert!(tunnelled.is_err(), "the proxy refused the tunnel");
    });
}

#[test]
fn a_system_proxy_never_receives_a_plain_http_request_and_tunnels_https() {
    if let (Ok(http_base), Ok(https_base)) = (
        std::env::var(CHILD_HTTP_BASE),
        std::env::var(CHILD_HTTPS_BASE),
    ) {
        child(&http_base, &https_base);
        return;
    }
    let proxy = Recorder::start();
    let (api_port, api) = api_server();
    // Nothing listens there: the proxy is asked to tunnel to it and refuses.
    let https_port = {
        let unused = TcpListener::bind("127.0.0.1:0").unwrap();
        unused.local_addr().unwrap().port()
    };
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "a_system_proxy_never_receives_a_plain_http_request_and_tunnels_https",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            CHILD_HTTP_BASE,
            format!("http://127.0.0.1:{api_port}/api/v3"),
        )
        .env(
            CHILD_HTTPS_BASE,
            format!("https://127.0.0.1:{https_port}/api/v3"),
        )
        .env("HTTP_PROXY", &proxy.url)
        .env("http_proxy", &proxy.url)
        .env("HTTPS_PROXY", &proxy.url)
        .env("https_proxy", &proxy.url)
        .env("ALL_PROXY", &proxy.url)
        .env("all_proxy", &proxy.url)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .unwrap();
    let seen = proxy.finish();
    assert!(
        output.status.success(),
        "the child failed: {}\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // The key went to the API's host, directly.
    let api_head = api.join().unwrap();
    assert!(api_head.starts_with("GET /api/v3/ping "), "{api_head}");
    assert!(
        api_head
            .to_ascii_lowercase()
            .contains(&format!("apikey: {}", KEY.to_ascii_lowercase())),
        "{api_head}"
    );
    // The proxy was in force in the child (it got the https tunnel request), got nothing else,
    // and never the key.
    assert_eq!(seen.len(), 1, "the proxy received {seen:?}");
    assert!(
        seen[0].starts_with(&format!("CONNECT 127.0.0.1:{https_port} ")),
        "{seen:?}"
    );
    for head in &seen {
        assert!(!head.contains(KEY), "the proxy saw the key: {head}");
    }
}

/// The port of the first request a proxy received in absolute form (`GET http://host:port/`),
/// if any.
fn proxy_port_of(seen: &[String]) -> Option<u16> {
    let target = seen.iter().find_map(|head| {
        let target = head.split_whitespace().nth(1)?;
        target.strip_prefix("http://127.0.0.1:").map(str::to_owned)
    })?;
    target.split('/').next()?.parse().ok()
}

/// A reqwest client of your own is used as it is: its proxy settings apply, as
/// `ClientBuilder::reqwest_client` documents (and this shows the recorder sees what a proxy
/// gets).
#[tokio::test]
async fn a_client_of_your_own_keeps_its_explicit_proxy() {
    let proxy = Recorder::start();
    let http = reqwest::Client::builder()
        .proxy(reqwest::Proxy::http(&proxy.url).unwrap())
        .build()
        .unwrap();
    let client = Client::builder()
        .base_url("http://127.0.0.1:9/api/v3")
        .api_key(KEY)
        .reqwest_client(http)
        .no_retry()
        .no_rate_limit()
        .build()
        .unwrap();
    let result = client.send(Request::new(Method::GET, "/ping")).await;
    assert!(result.is_err(), "the recorder hangs up: {result:?}");
    let seen = proxy.finish();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].starts_with("GET http://127.0.0.1:9/api/v3/ping "),
        "{seen:?}"
    );
    assert_eq!(proxy_port_of(&seen), Some(9));
}
