//! The HTTP side: the accept loop (one hyper connection per socket, so faults can reset or hold
//! a connection), the axum application and the request pipeline.
//!
//! Pipeline: count → fault rules → `apikey` → rate limit → route (404/405) → validation (422) →
//! handler → answer.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt;
use http::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Method, StatusCode};
use hyper::service::Service as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::BASE_PATH;
use crate::counters::{Counters, Event, route_key};
use crate::faults::{Chosen, Fault, FaultEngine};
use crate::generate::Generator;
use crate::handlers::{self, Ctx, Reply};
use crate::list::{ListParams, ListSettings};
use crate::ratelimit::Limiter;
use crate::router::{RouteMatch, Router};
use crate::spec::{Operation, SpecIndex};
use crate::store::Store;
use crate::validate::{self, Query, RequestBody};

/// State shared by every connection and the in-process handle.
#[derive(Debug)]
pub(crate) struct Shared {
    pub spec: Arc<SpecIndex>,
    pub router: Arc<Router>,
    pub store: RwLock<Store>,
    pub keys: RwLock<Vec<String>>,
    pub limiter: Mutex<Limiter>,
    pub faults: Mutex<FaultEngine>,
    pub counters: Counters,
    pub seed: u64,
    pub shutdown: watch::Sender<bool>,
    pub max_body_bytes: usize,
    /// How lists are served (page cap, ignored `_page`).
    pub lists: Mutex<ListSettings>,
}

/// Locks a mutex, recovering from poisoning (the state stays usable).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Read-locks an `RwLock`, recovering from poisoning (the state stays usable).
pub(crate) fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    match l.read() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Write-locks an `RwLock`, recovering from poisoning (the state stays usable).
pub(crate) fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    match l.write() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Shared {
    async fn wait_for_shutdown(&self) {
        stopped(self.shutdown.subscribe()).await;
    }
}

/// Resolves once the shutdown flag is set (or its sender is gone).
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Per-connection switches a handler may throw.
#[derive(Debug, Default)]
pub(crate) struct ConnControl {
    /// Fail every further write and close the socket with a reset.
    reset: AtomicBool,
}

/// A TCP stream that can be made to fail and close with RST.
struct ConnIo {
    inner: TcpStream,
    control: Arc<ConnControl>,
}

impl ConnIo {
    fn resetting(&self) -> bool {
        self.control.reset.load(Ordering::SeqCst)
    }
}

fn reset_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "injected connection reset")
}

impl AsyncRead for ConnIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.resetting() {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.resetting() {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.resetting() {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.resetting() {
            return Poll::Ready(Err(reset_error()));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Drop for ConnIo {
    fn drop(&mut self) {
        if self.resetting() {
            // SO_LINGER 0: closing sends RST instead of FIN.
            let _ = self.inner.set_zero_linger();
        }
    }
}

/// Accepts connections until shutdown, then drains them for a short while.
pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let app = axum::Router::new()
        .fallback(entry)
        .with_state(shared.clone());
    let stop = stopped(shared.shutdown.subscribe());
    tokio::pin!(stop);
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                match accepted {
                    Ok((stream, _)) => {
                        let _ = stream.set_nodelay(true);
                        conns.spawn(serve_connection(stream, app.clone(), shared.clone()));
                    }
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            () = &mut stop => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let drain = async { while conns.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
    conns.abort_all();
}

async fn serve_connection(stream: TcpStream, app: axum::Router, shared: Arc<Shared>) {
    let control = Arc::new(ConnControl::default());
    let io = TokioIo::new(ConnIo {
        inner: stream,
        control: control.clone(),
    });
    let service = TowerToHyperService::new(app);
    let svc = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(control.clone());
        service.call(req)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .keep_alive(true);
    let conn = builder.serve_connection(io, svc);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        () = stopped(shared.shutdown.subscribe()) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.as_mut().await;
        }
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

fn error_response(status: StatusCode, message: impl Into<String>) -> Response {
    json_response(status, &json!({ "message": message.into() }))
}

fn with_retry_after(mut resp: Response, value: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(RETRY_AFTER, v);
    }
    resp
}

/// The request path relative to the base path, or `None` outside it.
fn relative_path(path: &str) -> Option<&str> {
    match path.strip_prefix(BASE_PATH) {
        Some("") => Some("/"),
        Some(rest) if rest.starts_with('/') => Some(rest),
        _ => None,
    }
}

/// Checks the `apikey` header; the accepted key, or the 401 answer.
fn authenticate(shared: &Shared, headers: &http::HeaderMap) -> Result<String, Response> {
    let Some(raw) = headers.get("apikey") else {
        return Err(error_response(
            StatusCode::UNAUTHORIZED,
            "missing API key: send it in the 'apikey' header",
        ));
    };
    let key = raw.to_str().unwrap_or("");
    let known = read(&shared.keys).iter().any(|k| k == key);
    if known {
        Ok(key.to_string())
    } else {
        Err(error_response(StatusCode::UNAUTHORIZED, "invalid API key"))
    }
}

/// A routed request that passed validation, with what validation parsed.
struct Validated {
    query: Query,
    list: ListParams,
    body: RequestBody,
}

/// Validates parameters, list parameters and the body of a routed request.
fn validate_request(
    shared: &Shared,
    op: &Operation,
    params: &[(String, String)],
    parts: &http::request::Parts,
    bytes: &[u8],
) -> Result<Validated, String> {
    let query = Query::parse(parts.uri.query())?;
    validate::check_params(op, params, &query, &parts.headers)?;
    let settings = *lock(&shared.lists);
    let list = ListParams::parse(op, &query, &shared.spec.columns(op), settings)?;
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let body = validate::check_body(&shared.spec, op, content_type, bytes)?;
    Ok(Validated { query, list, body })
}

/// The axum entry point: every request goes through here.
async fn entry(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let control = req.extensions().get::<Arc<ConnControl>>().cloned();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let found = match relative_path(&path) {
        Some(rel) => shared.router.find(&method, rel),
        None => RouteMatch::NotFound,
    };
    let op: Option<&Operation> = match &found {
        RouteMatch::Found { op, .. } => shared.spec.operations.get(*op),
        _ => None,
    };
    let route = route_key(method.as_str(), &path);
    let count = |event: Event| {
        shared
            .counters
            .count(op.map(|o| o.id.as_str()), &route, event)
    };
    count(Event::Received);

    // Fault rules decide before anything else.
    let chosen = {
        let mut engine = lock(&shared.faults);
        if engine.is_idle() {
            None
        } else {
            engine.choose(op.map(|o| o.id.as_str()), &method, &path)
        }
    };
    let mut after_apply: Option<Fault> = None;
    if let Some(Chosen {
        fault,
        after_apply: later,
    }) = chosen
    {
        count(Event::Faulted);
        match fault {
            Fault::Delay(d) => tokio::time::sleep(d).await,
            other if later => after_apply = Some(other),
            other => {
                let resp = fault_response(&shared, op, &other, control.as_ref()).await;
                if resp.status() == StatusCode::TOO_MANY_REQUESTS {
                    count(Event::RateLimited);
                }
                return resp;
            }
        }
    }

    let key = match authenticate(&shared, req.headers()) {
        Ok(key) => key,
        Err(resp) => {
            count(Event::Rejected);
            return resp;
        }
    };

    if let Err(wait) = lock(&shared.limiter).check(&key, Instant::now()) {
        count(Event::RateLimited);
        let secs = wait
            .as_secs()
            .saturating_add(u64::from(wait.subsec_nanos() > 0))
            .max(1);
        let resp = error_response(
            StatusCode::TOO_MANY_REQUESTS,
            format!("rate limit exceeded: retry in {secs} s"),
        );
        return with_retry_after(resp, &secs.to_string());
    }

    let (op, params) = match (found, op) {
        (RouteMatch::Found { params, .. }, Some(op)) => (op, params),
        (RouteMatch::MethodNotAllowed { allowed }, _) => {
            count(Event::Rejected);
            let list: Vec<&str> = allowed.iter().map(Method::as_str).collect();
            let mut resp = error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("method {method} is not allowed on {path}"),
            );
            if let Ok(v) = HeaderValue::from_str(&list.join(", ")) {
                resp.headers_mut().insert(ALLOW, v);
            }
            return resp;
        }
        _ => {
            count(Event::Rejected);
            return error_response(StatusCode::NOT_FOUND, format!("no such endpoint: {path}"));
        }
    };

    let (parts, body) = req.into_parts();
    let checked = match axum::body::to_bytes(body, shared.max_body_bytes).await {
        Ok(bytes) => validate_request(&shared, op, &params, &parts, &bytes),
        Err(e) => Err(format!("could not read the request body: {e}")),
    };
    let Validated { query, list, body } = match checked {
        Ok(v) => v,
        Err(message) => {
            count(Event::Rejected);
            return error_response(StatusCode::UNPROCESSABLE_ENTITY, message);
        }
    };

    let ctx = Ctx {
        shared: &shared,
        op,
        params: &params,
        query: &query,
        list: &list,
        body: &body,
    };
    let reply = handlers::handle(&ctx);
    count(Event::Handled {
        applied: reply.applied && reply.status.is_success() && method != Method::GET,
    });
    if let Some(fault) = after_apply {
        let resp = fault_response(&shared, Some(op), &fault, control.as_ref()).await;
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            count(Event::RateLimited);
        }
        return resp;
    }
    reply_response(reply)
}

fn reply_response(reply: Reply) -> Response {
    let mut resp = json_response(reply.status, &reply.body);
    if let Some(cursor) = reply.next_cursor
        && let Ok(v) = HeaderValue::from_str(&cursor)
    {
        resp.headers_mut().insert("next_page_cursor", v);
    }
    resp
}

/// A plausible success body for the operation, used by the body-mangling faults.
fn sample_body(shared: &Shared, op: Option<&Operation>) -> Vec<u8> {
    let value = match op.and_then(|o| o.response.as_ref()) {
        Some(schema) => {
            let mut rng = fastrand::Rng::with_seed(shared.seed);
            let v = Generator::new(&shared.spec).value(schema, "", &mut rng);
            match v {
                Value::Array(items) if items.is_empty() => json!([{ "id": "1" }]),
                Value::Object(m) if m.is_empty() => json!({ "id": "1", "status": "OK" }),
                other => other,
            }
        }
        None => json!({ "message": "sample" }),
    };
    serde_json::to_vec(&value).unwrap_or_else(|_| b"{\"id\":\"1\"}".to_vec())
}

fn http_date_in(secs: u64) -> String {
    httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(secs))
}

fn raw_response(status: StatusCode, content_type: &str, body: Body) -> Response {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(CONTENT_TYPE, v);
    }
    resp
}

/// Builds (and, for the connection faults, acts out) the answer of a fault.
async fn fault_response(
    shared: &Arc<Shared>,
    op: Option<&Operation>,
    fault: &Fault,
    control: Option<&Arc<ConnControl>>,
) -> Response {
    match fault {
        Fault::Status { status, message } => error_response(
            StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            message.clone(),
        ),
        Fault::RateLimitedSeconds(secs) => with_retry_after(
            error_response(StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded"),
            &secs.to_string(),
        ),
        Fault::RateLimitedHttpDate(secs) => with_retry_after(
            error_response(StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded"),
            &http_date_in(*secs),
        ),
        Fault::RateLimitedNoRetryAfter => {
            error_response(StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded")
        }
        Fault::UnavailableRetryAfter(secs) => with_retry_after(
            error_response(StatusCode::SERVICE_UNAVAILABLE, "service unavailable"),
            &secs.to_string(),
        ),
        // The pipeline sleeps and answers normally; a delay never replaces an answer.
        Fault::Delay(_) => json_response(StatusCode::OK, &json!({})),
        Fault::ResetBeforeHeaders => {
            if let Some(c) = control {
                c.reset.store(true, Ordering::SeqCst);
            }
            error_response(StatusCode::INTERNAL_SERVER_ERROR, "connection reset")
        }
        Fault::HangBeforeHeaders => {
            shared.wait_for_shutdown().await;
            error_response(StatusCode::SERVICE_UNAVAILABLE, "shutting down")
        }
        Fault::StallBody | Fault::ResetMidBody => {
            let full = sample_body(shared, op);
            let total = full.len();
            let first = Bytes::copy_from_slice(&full[..total / 2]);
            let head = futures_util::stream::once(async move { Ok::<Bytes, io::Error>(first) });
            let body = if matches!(fault, Fault::StallBody) {
                let shared = shared.clone();
                let tail = futures_util::stream::once(async move {
                    shared.wait_for_shutdown().await;
                    Err(io::Error::other("shutting down"))
                });
                Body::from_stream(head.chain(tail))
            } else {
                let control = control.cloned();
                let tail = futures_util::stream::once(async move {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    if let Some(c) = control {
                        c.reset.store(true, Ordering::SeqCst);
                    }
                    Err(reset_error())
                });
                Body::from_stream(head.chain(tail))
            };
            let mut resp = raw_response(StatusCode::OK, "application/json", body);
            resp.headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(total as u64));
            resp
        }
        Fault::TruncatedJson => {
            let mut full = sample_body(shared, op);
            full.truncate((full.len() / 2).max(1));
            raw_response(StatusCode::OK, "application/json", Body::from(full))
        }
        Fault::InvalidJson => raw_response(
            StatusCode::OK,
            "application/json",
            Body::from("{\"id\": \"1\",, \"status\": <not json>}"),
        ),
        Fault::Html(status) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY);
            let page = format!(
                "<!DOCTYPE html>\n<html><head><title>{status}</title></head><body><h1>{status}</h1><p>The server encountered a temporary error.</p></body></html>\n"
            );
            raw_response(status, "text/html; charset=utf-8", Body::from(page))
        }
        Fault::Empty200 => raw_response(StatusCode::OK, "application/json", Body::empty()),
        Fault::WrongContentType(ct) => {
            raw_response(StatusCode::OK, ct, Body::from(sample_body(shared, op)))
        }
        Fault::Oversized(n) => raw_response(
            StatusCode::OK,
            "application/json",
            Body::from(oversized_json(*n)),
        ),
    }
}

/// A valid JSON array of strings, exactly `n` bytes long when `n >= 2`.
pub(crate) fn oversized_json(n: usize) -> Vec<u8> {
    const CHUNK: usize = 1024;
    let n = n.max(2);
    let mut out = Vec::with_capacity(n);
    out.push(b'[');
    // Each element is `"aaa…"` plus a comma between elements.
    while n - out.len() > 1 {
        let remaining = n - out.len() - 1; // room before the closing bracket
        let sep = usize::from(out.len() > 1);
        if remaining < sep + 2 {
            // Pad with spaces, which JSON allows between tokens.
            out.extend(std::iter::repeat_n(b' ', remaining));
            break;
        }
        let body = (remaining - sep - 2).min(CHUNK);
        if sep == 1 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend(std::iter::repeat_n(b'a', body));
        out.push(b'"');
    }
    out.push(b']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_is_exact_and_valid() {
        for n in [2usize, 3, 4, 5, 10, 1024, 1029, 5000, 100_000] {
            let bytes = oversized_json(n);
            assert_eq!(bytes.len(), n, "length for {n}");
            assert!(
                serde_json::from_slice::<Value>(&bytes).is_ok(),
                "valid for {n}"
            );
        }
    }
}
