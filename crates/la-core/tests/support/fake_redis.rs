//! A tiny fake Redis for tests: a TCP listener on 127.0.0.1 that reads RESP commands and answers
//! each with whatever bytes the test chose, so a test can hand the limiter answers a real Redis
//! would never give. No `redis-server` needed.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

type Answer = dyn Fn(&[String]) -> Vec<u8> + Send + Sync;

/// The fake server; stops accepting when dropped.
pub struct FakeRedis {
    port: u16,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl FakeRedis {
    /// Answers `CLIENT ...` (the connection's set-up) with `+OK`, and every other command with
    /// `answer(arguments)`, the command's name first, upper-cased.
    pub fn start(answer: impl Fn(&[String]) -> Vec<u8> + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answer: Arc<Answer> = Arc::new(answer);
        {
            let stop = Arc::clone(&stop);
            let seen = Arc::clone(&seen);
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let answer = Arc::clone(&answer);
                    let seen = Arc::clone(&seen);
                    thread::spawn(move || serve(stream, &*answer, &seen));
                }
            });
        }
        Self { port, stop, seen }
    }

    /// Answers every command but `CLIENT` with the same bytes.
    pub fn always(reply: &'static [u8]) -> Self {
        Self::start(move |_| reply.to_vec())
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The names of the commands received so far (set-up commands left out).
    pub fn commands(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for FakeRedis {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(mut stream: TcpStream, answer: &Answer, seen: &Mutex<Vec<String>>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Some((command, used)) = parse_command(&buffer) {
            buffer.drain(..used);
            let reply = if command.first().is_some_and(|name| name == "CLIENT") {
                b"+OK\r\n".to_vec()
            } else {
                if let Some(name) = command.first() {
                    seen.lock().unwrap().push(name.clone());
                }
                answer(&command)
            };
            if stream.write_all(&reply).is_err() {
                return;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

/// One command (`*N` then N bulk strings) from the start of `buffer`, and the bytes it took;
/// `None` until it has fully arrived.
fn parse_command(buffer: &[u8]) -> Option<(Vec<String>, usize)> {
    let (count, mut at) = read_line(buffer, 0, b'*')?;
    let mut arguments = Vec::new();
    for _ in 0..count {
        let (len, start) = read_line(buffer, at, b'$')?;
        let end = start + len;
        if buffer.len() < end + 2 {
            return None;
        }
        let text = String::from_utf8_lossy(&buffer[start..end]).into_owned();
        arguments.push(if arguments.is_empty() {
            text.to_ascii_uppercase()
        } else {
            text
        });
        at = end + 2;
    }
    Some((arguments, at))
}

/// A line `<prefix><number>\r\n` at `at`: the number and where the next line starts.
fn read_line(buffer: &[u8], at: usize, prefix: u8) -> Option<(usize, usize)> {
    let rest = buffer.get(at..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    assert_eq!(rest.first(), Some(&prefix), "not a RESP command");
    let number = std::str::from_utf8(&rest[1..end]).ok()?.parse().ok()?;
    Some((number, at + end + 2))
}
