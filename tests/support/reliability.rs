//! Helpers of the reliability tests: a layer that records every attempt the client sends, a
//! bare HTTP/1.1 server for answers the simulator cannot give (redirects, chunked bodies), the
//! process's memory and descriptor figures, and the rows they report.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

pub use la_reliability::rows::{self, Row};
use liveagent::Body;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The command that re-runs a test of this package.
pub fn rerun(binary: &str, name: &str) -> String {
    rows::rerun("liveagent-tests", binary, name)
}

/// A row of the report without its test command, which [`record`] fills in.
pub fn row(
    area: &str,
    order: u32,
    case: impl Into<String>,
    tried: impl Into<String>,
    times: u64,
    result: impl Into<String>,
) -> Row {
    Row::new(area, order, case, tried, times, result, String::new())
}

/// Records `rows` as the figures of test `name` of `binary`. A row without a test command
/// (made by [`row`]) gets the command that re-runs this test; a row with one keeps it.
pub fn record(binary: &str, name: &str, rows: &[Row]) {
    let test = rerun(binary, name);
    let rows: Vec<Row> = rows
        .iter()
        .map(|row| {
            let mut row = row.clone();
            if row.test.is_empty() {
                row.test.clone_from(&test);
            }
            row
        })
        .collect();
    if let Err(error) = rows::write(&format!("{binary}__{name}"), &rows) {
        eprintln!("cannot record the reliability rows of {binary}::{name}: {error}");
    }
}

/// `http://127.0.0.1:PORT/api/v3` on a port where nothing listens: one bound, then released.
pub fn closed_base_url() -> io::Result<String> {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = closed.local_addr()?.port();
    drop(closed);
    Ok(format!("http://127.0.0.1:{port}/api/v3"))
}

/// One attempt as the transport received it.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// The method.
    pub method: String,
    /// The full URI, query included.
    pub uri: String,
    /// The `apikey` header's value, if any.
    pub api_key: Option<String>,
    /// Whether the `apikey` header is marked sensitive.
    pub api_key_sensitive: bool,
    /// The headers as `Debug` prints them.
    pub headers_debug: String,
}

/// A layer (for `ClientBuilder::layer_inner`) that records every attempt: retries included,
/// with the headers the transport is about to send.
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    attempts: Arc<Mutex<Vec<Attempt>>>,
}

impl Recorder {
    /// A recorder with nothing recorded.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many attempts went through.
    pub fn count(&self) -> u64 {
        lock(&self.attempts).len() as u64
    }

    /// Every attempt so far.
    pub fn attempts(&self) -> Vec<Attempt> {
        lock(&self.attempts).clone()
    }
}

impl<S> tower::Layer<S> for Recorder {
    type Service = Recorded<S>;

    fn layer(&self, inner: S) -> Recorded<S> {
        Recorded {
            inner,
            recorder: self.clone(),
        }
    }
}

/// The service made by [`Recorder`].
#[derive(Clone, Debug)]
pub struct Recorded<S> {
    inner: S,
    recorder: Recorder,
}

impl<S> tower::Service<http::Request<Body>> for Recorded<S>
where
    S: tower::Service<http::Request<Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let key = request.headers().get("apikey");
        let attempt = Attempt {
            method: request.method().to_string(),
            uri: request.uri().to_string(),
            api_key: key.and_then(|v| v.to_str().ok()).map(str::to_owned),
            api_key_sensitive: key.is_some_and(http::HeaderValue::is_sensitive),
            headers_debug: format!("{:?}", request.headers()),
        };
        lock(&self.recorder.attempts).push(attempt);
        self.inner.call(request)
    }
}

/// What a [`RawServer`] answers: the raw bytes of a whole HTTP/1.1 response, given the request
/// head (request line and headers) it received.
pub type Responder = Arc<dyn Fn(&str) -> Vec<u8> + Send + Sync>;

/// A bare HTTP/1.1 server on 127.0.0.1 that records every request head and answers each with
/// what a [`Responder`] returns, then closes the connection.
pub struct RawServer {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl RawServer {
    /// Starts a server.
    pub async fn start(respond: Responder) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let seen = seen.clone();
                let respond = respond.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, &seen, &respond).await;
                });
            }
        });
        Ok(Self { addr, heads, task })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/api/v3`: the base URL of a client aimed at this server.
    pub fn base_url(&self) -> String {
        format!("{}/api/v3", self.origin())
    }

    /// The request heads received so far.
    pub fn heads(&self) -> Vec<String> {
        lock(&self.heads).clone()
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut stream: TcpStream,
    seen: &Mutex<Vec<String>>,
    respond: &Responder,
) -> io::Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    lock(seen).push(head.clone());
    stream.write_all(&respond(&head)).await?;
    stream.shutdown().await
}

/// The number of open file descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count())
}

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`).
pub fn status_kib(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A byte count in MiB, with one decimal.
pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}
