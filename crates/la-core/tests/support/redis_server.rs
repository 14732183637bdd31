//! A real `redis-server` for tests and benchmarks, started on 127.0.0.1 on a free port, and a
//! TCP listener that accepts connections and never answers.
//!
//! When `redis-server` cannot be found (on `PATH`, in the usual system directories, or at the
//! path in `REDIS_SERVER`), [`RedisServer::start`] prints a `SKIPPED:` line to stderr (written
//! past the test harness's capture, so it shows in `cargo test`'s output) and returns `None` so
//! the caller can skip. When `LIVEAGENT_REQUIRE_REDIS=1` is set (`.ci/run` sets it) it panics
//! instead, so CI never skips.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// A `redis-server` child process; killed when dropped.
#[derive(Debug)]
pub struct RedisServer {
    binary: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server on a free port, or returns `None` after printing why `what` is skipped
    /// when `redis-server` cannot be found (panics instead when `LIVEAGENT_REQUIRE_REDIS=1`).
    pub fn start(what: &str) -> Option<Self> {
        let binary = match find_redis_server() {
            Ok(binary) => binary,
            Err(why) => {
                let message = format!(
                    "{what}: {why}; install redis-server (apt-get install redis-server) or \
                     set REDIS_SERVER to its path to run this test"
                );
                if std::env::var("LIVEAGENT_REQUIRE_REDIS").is_ok_and(|v| v == "1") {
                    panic!(
                        "{message}; LIVEAGENT_REQUIRE_REDIS=1, so this is a failure, not a skip"
                    );
                }
                // Straight to the process's stderr: `eprintln!` inside a test is captured and
                // only shown when the test fails, and a skip should never go unnoticed.
                let _ = writeln!(std::io::stderr(), "SKIPPED: {message}");
                return None;
            }
        };
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port();
            let mut server = Self {
                binary: binary.clone(),
                port,
                child: None,
            };
            match server.spawn() {
                Ok(()) => return Some(server),
                Err(error) => last_error = error,
            }
        }
        panic!("could not start redis-server: {last_error}");
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL: no clean shutdown) and waits for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn() {
                Ok(()) => return,
                Err(error) if Instant::now() > deadline => {
                    panic!(
                        "could not restart redis-server on port {}: {error}",
                        self.port
                    )
                }
                Err(_) => thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Sends one command (inline protocol) and returns the raw answer.
    pub fn command(&self, line: &str) -> String {
        raw_command(self.port, line).unwrap_or_else(|e| panic!("redis {line:?}: {e}"))
    }

    fn spawn(&mut self) -> Result<(), String> {
        let mut child = Command::new(&self.binary)
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                &std::env::temp_dir().display().to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawning {}: {e}", self.binary.display()))?;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(answer) = raw_command(self.port, "PING")
                && answer.starts_with("+PONG")
            {
                self.child = Some(child);
                return Ok(());
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("redis-server exited with {status}"));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err("redis-server did not answer PING within 5 s".to_owned());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP listener that accepts connections, reads what it is sent, and never answers.
#[derive(Debug)]
pub struct SilentServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl SilentServer {
    /// Listens on a free port of 127.0.0.1.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        thread::spawn(move || {
            let mut held = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => held.push(stream),
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
                for stream in &mut held {
                    let _ = stream.set_nonblocking(true);
                    let mut sink = [0u8; 1024];
                    let _ = stream.read(&mut sink);
                }
            }
        });
        Self { addr, stop }
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn raw_command(port: u16, line: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(format!("{line}\r\n").as_bytes())?;
    let mut buffer = [0u8; 4096];
    let n = stream.read(&mut buffer)?;
    Ok(String::from_utf8_lossy(&buffer[..n]).into_owned())
}

fn find_redis_server() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("REDIS_SERVER") {
        let path = PathBuf::from(path);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(format!(
                "REDIS_SERVER={} is not an executable file",
                path.display()
            ))
        };
    }
    let from_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default();
    from_path
        .into_iter()
        .chain(
            [
                "/usr/sbin",
                "/usr/bin",
                "/usr/local/bin",
                "/opt/homebrew/bin",
            ]
            .map(PathBuf::from),
        )
        .map(|dir| dir.join("redis-server"))
        .find(|path| is_executable(path))
        .ok_or_else(|| {
            "redis-server not found (looked in $PATH, /usr/sbin, /usr/bin, /usr/local/bin, \
             /opt/homebrew/bin)"
                .to_owned()
        })
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}
