//! The API key goes to the configured origin in the `apikey` header and nowhere else: not in
//! `Debug` or `Display` output, traces, panic messages, URLs, or requests to another host.
//!
//! One test, because it installs process-wide hooks (the tracing subscriber, the `log`
//! bridge and the panic hook); nextest runs it in a process of its own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::FutureExt;
use la_mock::{Fault, FaultRule, Simulator};
use liveagent::prelude::*;
use liveagent::tickets::models::{TicketListItem, TicketUpdatable};
use liveagent::{Body, BoxService, RateLimit, RateLimitMode, RetryConfig};
use liveagent_tests::reliability::{RawServer, Recorder, Responder, closed_base_url, record, row};

const BINARY: &str = "reliability_secrets";
const TEST: &str = "the_api_key_never_leaks";
const KEY: &str = "sk-live-7f3c9a1e5b2d4c6e8a0b1c2d3e4f5a6b";
/// Personal data that travels in a query string.
const PERSONAL: &str = "jane.personal@example.com";
/// The part of [`PERSONAL`] that survives percent-encoding.
const PERSONAL_MARK: &str = "jane.personal";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// A layer whose service panics, printing the request it was given.
#[derive(Clone)]
struct PanickingLayer;

impl tower::Layer<BoxService> for PanickingLayer {
    type Service = Panicking;

    fn layer(&self, _inner: BoxService) -> Panicking {
        Panicking
    }
}

#[derive(Clone)]
struct Panicking;

impl tower::Service<http::Request<Body>> for Panicking {
    type Response = http::Response<Body>;
    type Error = Error;
    type Future = std::future::Ready<Result<http::Response<Body>, Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    #[allow(clippy::panic)]
    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        panic!("a user layer gave up on {request:?}");
    }
}

/// A layer whose service fails with an error that describes the request's headers.
#[derive(Clone)]
struct FailingLayer;

impl tower::Layer<BoxService> for FailingLayer {
    type Service = Failing;

    fn layer(&self, _inner: BoxService) -> Failing {
        Failing
    }
}

#[derive(Clone)]
struct Failing;

impl tower::Service<http::Request<Body>> for Failing {
    type Response = http::Response<Body>;
    type Error = std::io::Error;
    type Future = std::future::Ready<Result<http::Response<Body>, std::io::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), std::io::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        std::future::ready(Err(std::io::Error::other(format!(
            "refused, headers {:?}",
            request.headers()
        ))))
    }
}

/// A server that echoes the key it receives back in every place an answer can hold text.
fn echo_transport(
    status: u16,
    body: &'static str,
) -> impl tower::Service<
    http::Request<Body>,
    Response = http::Response<Body>,
    Error = Infallible,
    Future = std::future::Ready<Result<http::Response<Body>, Infallible>>,
> + Clone
+ Send
+ Sync
+ 'static {
    tower::service_fn(move |request: http::Request<Body>| {
        let key = request
            .headers()
            .get("apikey")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_owned();
        let response = http::Response::builder()
            .status(status)
            .header("content-type", format!("application/json; key={key}"))
            .header(
                "location",
                format!("https://elsewhere.example/?apikey={key}"),
            )
            .header("x-echo", key.clone())
            .body(Body::from(body.replace("KEY", &key)))
            .unwrap();
        std::future::ready(Ok::<_, Infallible>(response))
    })
}

fn echo_client(status: u16, body: &'static str) -> Client {
    Client::from_service(echo_transport(status, body))
        .base_url("https://acme.ladesk.com/api/v3")
        .api_key(KEY)
        .no_rate_limit()
        .no_retry()
        .build()
        .unwrap()
}

fn draft() -> TicketListItem {
    TicketListItem::new("1", "Hi", "support@example.com", "Secrets", "a@example.com")
}

/// Every error variant the SDK can return, each provoked with the key in play.
async fn every_error(sim: &Simulator) -> Vec<(&'static str, Error)> {
    let mut errors = Vec::new();
    let api = echo_client(401, r#"{"message":"invalid key KEY"}"#);
    errors.push((
        "Api (server echoes the key in its message)",
        api.tickets().get_ticket("1").send().await.unwrap_err(),
    ));
    let html = echo_client(502, "<html>bad gateway for KEY</html>");
    errors.push((
        "Api (HTML body holding the key)",
        html.tickets().get_ticket("1").send().await.unwrap_err(),
    ));
    let redirect = echo_client(302, "");
    errors.push((
        "Api (redirect whose Location holds the key)",
        redirect.tickets().get_ticket("1").send().await.unwrap_err(),
    ));
    let decode = echo_client(200, r#"{"id": "KEY",, }"#);
    errors.push((
        "Decode (key in the body and the content type)",
        decode.tickets().get_ticket("1").send().await.unwrap_err(),
    ));
    let limited = liveagent_tests::builder_for(sim)
        .api_key(KEY)
        .rate_limit(RateLimit::new(1, Duration::from_secs(60)).unwrap())
        .rate_limit_mode(RateLimitMode::FailFast)
        .build()
        .unwrap();
    let _ = limited.default_api().ping().send().await;
    errors.push((
        "RateLimited",
        limited.default_api().ping().send().await.unwrap_err(),
    ));
    sim.add_fault(FaultRule::operation("getTicket", Fault::HangBeforeHeaders));
    let slow = liveagent_tests::builder_for(sim)
        .api_key(KEY)
        .attempt_timeout(Duration::from_millis(200))
        .no_retry()
        .build()
        .unwrap();
    errors.push((
        "Timeout",
        slow.tickets().get_ticket("1").send().await.unwrap_err(),
    ));
    let refused = Client::builder()
        .base_url(&closed_base_url().unwrap())
        .api_key(KEY)
        .no_retry()
        .build()
        .unwrap();
    errors.push((
        "Transport",
        refused
            .tickets()
            .get_tickets_list()
            .filters(Filters::conditions().eq("owner_email", PERSONAL))
            .send()
            .await
            .unwrap_err(),
    ));
    sim.add_fault(FaultRule::operation(
        "getTicket",
        Fault::Oversized(64 * 1024),
    ));
    let small = liveagent_tests::builder_for(sim)
        .api_key(KEY)
        .max_response_bytes(1024)
        .build()
        .unwrap();
    errors.push((
        "ResponseTooLarge",
        small.tickets().get_ticket("1").send().await.unwrap_err(),
    ));
    errors.push((
        "InvalidRequest",
        api.tickets()
            .update_ticket("..")
            .body(TicketUpdatable::default())
            .send()
            .await
            .unwrap_err(),
    ));
    errors.push((
        "Config",
        Client::builder()
            .base_url("http://acme.ladesk.com/api/v3")
            .api_key(KEY)
            .build()
            .unwrap_err(),
    ));
    let failing = liveagent_tests::builder_for(sim)
        .api_key(KEY)
        .layer_inner(FailingLayer)
        .build()
        .unwrap();
    errors.push((
        "Middleware (a user layer's error printing the headers)",
        failing.tickets().get_ticket("1").send().await.unwrap_err(),
    ));
    errors
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_never_leaks() {
    // Everything traced at TRACE level, `log` records (reqwest's) included, into a buffer.
    let capture = Capture::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_writer(capture.clone())
        .try_init()
        .unwrap();
    // Every panic message of the process.
    let panics: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = panics.clone();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        seen.lock().unwrap().push(info.to_string());
        default_hook(info);
    }));

    let sim = Simulator::builder()
        .tickets(20)
        .calls(25)
        .api_key(KEY)
        .no_rate_limit()
        .start()
        .await
        .unwrap();
    let recorder = Recorder::new();
    let client = liveagent_tests::builder_for(&sim)
        .attempt_timeout(Duration::from_millis(300))
        .retry(RetryConfig::default().backoff(Duration::from_millis(5), Duration::from_millis(20)))
        .layer_inner(recorder.clone())
        .build()
        .unwrap();
    let mut rows = Vec::new();

    // 1. Requests that succeed, fail, retry and page, through a recording layer.
    for fault in [
        Fault::status(503),
        Fault::ResetBeforeHeaders,
        Fault::RateLimitedSeconds(0),
        Fault::HangBeforeHeaders,
        Fault::TruncatedJson,
        Fault::Html(502),
    ] {
        sim.add_fault(FaultRule::operation("getTicket", fault).times(1));
        let _ = client.tickets().get_ticket("1").send().await;
        sim.add_fault(
            FaultRule::operation("createTicket", Fault::status(502))
                .times(1)
                .after_apply(),
        );
        let _ = client.tickets().create_ticket().body(draft()).send().await;
    }
    let created = client
        .tickets()
        .create_ticket()
        .body(draft())
        .send()
        .await
        .unwrap();
    let id = created.id.clone().unwrap_or_default();
    client
        .tickets()
        .update_ticket(id.as_str())
        .body(TicketUpdatable::default())
        .send()
        .await
        .unwrap();
    let listed: Vec<_> = futures_util::TryStreamExt::try_collect::<Vec<_>>(
        client
            .tickets()
            .get_tickets_list()
            .filters(Filters::conditions().eq("owner_email", PERSONAL))
            .per_page(5)
            .stream(),
    )
    .await
    .unwrap();
    let calls: Vec<_> = futures_util::TryStreamExt::try_collect::<Vec<_>>(
        client.calls().get_calls_list().per_page(10).stream(),
    )
    .await
    .unwrap();
    assert!(listed.is_empty() || !calls.is_empty());
    client
        .tickets()
        .delete_ticket(id.as_str())
        .send()
        .await
        .unwrap();

    let attempts = recorder.attempts();
    let in_uri = attempts.iter().filter(|a| a.uri.contains(KEY)).count();
    let with_key = attempts
        .iter()
        .filter(|a| a.api_key.as_deref() == Some(KEY))
        .count();
    let sensitive = attempts.iter().filter(|a| a.api_key_sensitive).count();
    let headers_leak = attempts
        .iter()
        .filter(|a| a.headers_debug.contains(KEY))
        .count();
    let routes = sim
        .counters()
        .routes()
        .keys()
        .filter(|r| r.contains(KEY))
        .count();
    rows.push(row(
        "Secrets",
        4,
        "URLs and the `apikey` header",
        "every attempt of gets, creates, an update, a delete and paged lists with filters \
         (retries after 503, reset, 429, hang and 502 included) seen by a layer next to the \
         transport, and every path the simulator counted",
        attempts.len() as u64,
        format!(
            "key in 0 of {} URIs ({in_uri} found) and in 0 of {} counted paths ({routes} \
             found); `apikey` header carried the key on {with_key} of {} attempts, marked \
             sensitive on {sensitive}; header `Debug` output showed it {headers_leak} times",
            attempts.len(),
            sim.counters().routes().len(),
            attempts.len()
        ),
    ));
    assert!(attempts.len() >= 20, "{} attempts", attempts.len());
    assert_eq!((in_uri, routes, headers_leak), (0, 0, 0));
    assert_eq!(with_key, attempts.len());
    assert_eq!(sensitive, attempts.len());

    // 2. Debug and Display of the client, the builder, the requests and every error.
    let mut shown = vec![
        ("Client", format!("{client:?}")),
        (
            "ClientBuilder",
            format!("{:?}", Client::builder().account("acme").api_key(KEY)),
        ),
        (
            "ApiKey",
            format!("{:?}", liveagent::ApiKey::new(KEY).unwrap()),
        ),
        (
            "Request",
            format!("{:?}", client.tickets().get_ticket("1").build().unwrap()),
        ),
        (
            "request builder",
            format!("{:?}", client.tickets().create_ticket().body(draft())),
        ),
    ];
    let errors = every_error(&sim).await;
    let variants = errors.len();
    for (name, error) in &errors {
        shown.push((name, format!("{error}")));
        shown.push((name, format!("{error:?}")));
        shown.push((name, format!("{error:#?}")));
    }
    let leaks: Vec<&str> = shown
        .iter()
        .filter(|(_, text)| text.contains(KEY))
        .map(|(name, _)| *name)
        .collect();
    let personal: Vec<&str> = errors
        .iter()
        .filter(|(_, error)| format!("{error} {error:?}").contains(PERSONAL_MARK))
        .map(|(name, _)| *name)
        .collect();
    rows.push(row(
        "Secrets",
        1,
        "`Debug` and `Display`",
        format!(
            "`{{:?}}`, `{{:#?}}` and `{{}}` of the client, its builder, the key, a request, a \
             request builder and {variants} errors (every variant; a server echoing the key in \
             its message, body, content type and `Location`; a user layer's error printing the \
             headers)"
        ),
        shown.len() as u64,
        format!("key found in {} of {} texts", leaks.len(), shown.len()),
    ));
    rows.push(row(
        "Secrets",
        2,
        "query strings in errors",
        "a list call whose `_filters` holds an e-mail address, sent to a closed port: the \
         `Transport` error and every other error above",
        variants as u64,
        format!(
            "the e-mail address found in {} of {variants} errors",
            personal.len()
        ),
    ));

    // 3. A redirect to another host.
    let other = RawServer::start(Arc::new(|_head: &str| {
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}".to_vec()
    }) as Responder)
    .await
    .unwrap();
    let target = other.origin();
    let mut redirect_results = Vec::new();
    for status in [301u16, 302, 303, 307, 308] {
        let location = format!("{target}/api/v3/tickets/1");
        let origin = RawServer::start(Arc::new(move |_head: &str| {
            format!(
                "HTTP/1.1 {status} Moved\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
            .into_bytes()
        }) as Responder)
        .await
        .unwrap();
        let client = Client::builder()
            .base_url(&origin.base_url())
            .api_key(KEY)
            .no_rate_limit()
            .build()
            .unwrap();
        let result = client.tickets().get_ticket("1").send().await;
        let sent_key = origin.heads().iter().all(|h| h.contains(KEY));
        redirect_results.push((status, result.err().and_then(|e| e.status()), sent_key));
    }
    // A redirect within the origin is followed, with the key.
    let same = RawServer::start(Arc::new(|head: &str| {
        if head.starts_with("GET /api/v3/tickets/1 ") {
            b"HTTP/1.1 302 Found\r\nlocation: /api/v3/tickets/2\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec()
        } else {
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\nconnection: close\r\n\r\n{\"id\":\"2\"}\n".to_vec()
        }
    }) as Responder)
    .await
    .unwrap();
    let same_client = Client::builder()
        .base_url(&same.base_url())
        .api_key(KEY)
        .no_rate_limit()
        .build()
        .unwrap();
    let followed = same_client.tickets().get_ticket("1").send().await.unwrap();
    let other_heads = other.heads();
    let other_keys = other_heads
        .iter()
        .filter(|h| h.to_ascii_lowercase().contains("apikey"))
        .count();
    rows.push(row(
        "Secrets",
        5,
        "redirect to another host",
        "the API answers 301, 302, 303, 307 and 308 with a `Location` on another origin \
         (same IP, another port); then a 302 within the origin",
        redirect_results.len() as u64 + 1,
        format!(
            "not followed: the caller gets `Api` {}; the other host received {} requests, {} \
             with an `apikey` header; the same-origin redirect was followed (ticket {})",
            redirect_results
                .iter()
                .map(|(s, got, _)| format!("{}", got.map_or(*s, |g| g.as_u16())))
                .collect::<Vec<_>>()
                .join("/"),
            other_heads.len(),
            other_keys,
            followed.id.as_deref().unwrap_or("?")
        ),
    ));
    assert!(other_heads.is_empty(), "{other_heads:?}");
    for (status, got, sent_key) in &redirect_results {
        assert_eq!(got.map(|g| g.as_u16()), Some(*status));
        assert!(sent_key, "the origin itself gets the key");
    }
    assert_eq!(followed.id.as_deref(), Some("2"));

    // 4. Panics: a user layer that panics printing the request, then no panic from the SDK
    // on failing requests.
    let panicky = liveagent_tests::builder_for(&sim)
        .api_key(KEY)
        .layer_inner(PanickingLayer)
        .build()
        .unwrap();
    let caught = std::panic::AssertUnwindSafe(panicky.tickets().get_ticket("1").send())
        .catch_unwind()
        .await;
    let payload = match &caught {
        Err(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default(),
        Ok(_) => String::new(),
    };
    let user_panics = panics.lock().unwrap().clone();
    panics.lock().unwrap().clear();
    for fault in [
        Fault::status(500),
        Fault::ResetMidBody,
        Fault::StallBody,
        Fault::InvalidJson,
        Fault::Empty200,
        Fault::WrongContentType("application/xml".into()),
    ] {
        sim.add_fault(FaultRule::operation("getTicket", fault).times(3));
        let _ = client.tickets().get_ticket("1").send().await;
    }
    let sdk_panics = panics.lock().unwrap().clone();
    let key_in_panics = user_panics
        .iter()
        .chain(std::iter::once(&payload))
        .filter(|m| m.contains(KEY))
        .count();
    rows.push(row(
        "Secrets",
        3,
        "panic messages",
        "a custom panic hook records every panic: a user layer (inside the stack, after the \
         key is set) panics with `{request:?}`; then 6 failing calls (500, reset mid-body, \
         stalled body, invalid JSON, empty 200, XML content type)",
        1 + 6,
        format!(
            "the user layer's panic {} the caller, its message showing {}; key in \
             {key_in_panics} panic messages; {} panics from the SDK",
            if caught.is_err() {
                "reached"
            } else {
                "did not reach"
            },
            if payload.contains("\"apikey\": Sensitive") {
                "`\"apikey\": Sensitive`"
            } else {
                "no `apikey` header"
            },
            sdk_panics.len()
        ),
    ));
    assert!(caught.is_err());
    assert!(payload.contains("\"apikey\": Sensitive"), "{payload}");
    assert_eq!(key_in_panics, 0);
    assert!(sdk_panics.is_empty(), "{sdk_panics:?}");

    // 5. Everything traced so far.
    drop(client);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let traced = capture.text();
    let lines = traced.lines().count();
    let spans = traced.matches("liveagent.request").count();
    rows.push(row(
        "Secrets",
        6,
        "tracing at TRACE level",
        "a global `tracing_subscriber` at TRACE (span events included, `log` records bridged) \
         writing into a buffer for the whole test",
        lines as u64,
        format!(
            "{lines} lines, {} bytes, {spans} mentions of the `liveagent.request` span; key \
             found {} times; the e-mail address of a query string {} times",
            traced.len(),
            traced.matches(KEY).count(),
            traced.matches(PERSONAL_MARK).count()
        ),
    ));
    record(BINARY, TEST, &rows);
    assert!(spans > 0, "the subscriber captured the SDK's spans");
    assert!(!traced.contains(KEY), "the key was traced");
    assert!(!traced.contains(PERSONAL_MARK), "a query string was traced");
    assert!(leaks.is_empty(), "the key shows in {leaks:?}");
    assert!(
        personal.is_empty(),
        "the query string shows in {personal:?}"
    );
}
