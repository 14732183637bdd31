//! Every fault kind as a client sees it, rule matching and counting, random faults.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::*;
use la_mock::{Fault, FaultRule, RandomFaults, Resource, Simulator};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

fn short_client() -> Client {
    Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap()
}

async fn get_with(c: &Client, sim: &Simulator, path: &str) -> reqwest::Result<reqwest::Response> {
    c.get(sim.url(path))
        .header("apikey", sim.api_key())
        .send()
        .await
}

#[tokio::test]
async fn status_faults_carry_error_responses() {
    let sim = start_small().await;
    for code in [500u16, 502, 503, 504, 418] {
        sim.add_fault(FaultRule::operation("getTicket", Fault::status(code)));
        let r = send(&sim, Method::GET, "/tickets/1").await;
        assert_eq!(r.status().as_u16(), code);
        let body: Value = r.json().await.unwrap();
        assert!(body["message"].is_string());
    }
    sim.add_fault(FaultRule::operation(
        "getTicket",
        Fault::Status {
            status: 500,
            message: "boom".into(),
        },
    ));
    let r = send(&sim, Method::GET, "/tickets/1").await;
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({ "message": "boom" })
    );
    // The rule fired once: the next request is normal.
    assert_eq!(
        send(&sim, Method::GET, "/tickets/1").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn retry_after_variants() {
    let sim = start_small().await;
    sim.add_fault(FaultRule::any(Fault::RateLimitedSeconds(3)));
    let r = send(&sim, Method::GET, "/ping").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "3");

    sim.add_fault(FaultRule::any(Fault::RateLimitedHttpDate(5)));
    let r = send(&sim, Method::GET, "/ping").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let date = httpdate::parse_http_date(r.headers()["retry-after"].to_str().unwrap()).unwrap();
    let ahead = date.duration_since(SystemTime::now()).unwrap_or_default();
    assert!(
        ahead <= Duration::from_secs(6) && ahead >= Duration::from_secs(3),
        "{ahead:?}"
    );

    sim.add_fault(FaultRule::any(Fault::RateLimitedNoRetryAfter));
    let r = send(&sim, Method::GET, "/ping").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(!r.headers().contains_key("retry-after"));

    sim.add_fault(FaultRule::any(Fault::UnavailableRetryAfter(7)));
    let r = send(&sim, Method::GET, "/ping").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "7");
    assert_eq!(sim.counters().operation("ping").rate_limited, 3);
    assert_eq!(sim.counters().operation("ping").faulted, 4);
}

#[tokio::test]
async fn delay_then_normal_answer() {
    let sim = start_small().await;
    sim.add_fault(FaultRule::operation(
        "getTicket",
        Fault::Delay(Duration::from_millis(250)),
    ));
    let started = Instant::now();
    let (status, body) = get(&sim, "/tickets/2").await;
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["id"], "2");
    // A delay longer than the client's patience is a timeout.
    sim.add_fault(FaultRule::operation(
        "getTicket",
        Fault::Delay(Duration::from_secs(5)),
    ));
    let err = get_with(&short_client(), &sim, "/tickets/2")
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn reset_before_headers_is_a_connection_error() {
    let sim = start_small().await;
    sim.add_fault(FaultRule::operation("getTicket", Fault::ResetBeforeHeaders));
    let c = client();
    let err = get_with(&c, &sim, "/tickets/1").await.unwrap_err();
    assert!(!err.is_timeout(), "{err:?}");
    assert!(
        err.is_request() || err.is_connect() || err.to_string().contains("connection"),
        "{err:?}"
    );
    // The next request (on a new connection) works.
    assert_eq!(
        get_with(&c, &sim, "/tickets/1").await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn hanging_headers_time_out() {
    let sim = start_small().await;
    sim.add_fault(FaultRule::operation("getTicket", Fault::HangBeforeHeaders));
    let started = Instant::now();
    let err = get_with(&short_client(), &sim, "/tickets/1")
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn stalled_body_times_out_after_headers() {
    let sim = start_small().await;
    sim.add_fault(FaultRule::operation("getTicketsList", Fault::StallBody));
    let c = client();
    let resp = get_with(&c, &sim, "/tickets").await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let announced: usize = resp.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(announced > 0);
    let read = tokio::time::timeout(Duration::from_millis(300), resp.bytes()).await;
    assert!(read.is_err(), "the body should stall");
}

#[tokio::test]
async fn reset_mid_body_breaks_the_read() {
    let sim = start_small().await;
    sim.add_fault(FaultRule::operation("getTicketsList", Fault::ResetMidBody));
    let resp = get_with(&client(), &sim, "/tickets").await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let err = resp.bytes().await.unwrap_err();
    assert!(!err.is_timeout(), "{err:?}");
    assert!(
        err.is_body() || err.is_decode() || err.is_request(),
        "{err:?}"
    );
}

#[tokio::test]
async fn mangled_bodies() {
    let sim = start_small().await;
    let c = client();
    let fetch = |fault: Fault| {
        sim.add_fault(FaultRule::operation("getTicket", fault));
        let c = c.clone();
        let url = sim.url("/tickets/1");
        let key = sim.api_key().to_string();
        async move { c.get(url).header("apikey", key).send().await.unwrap() }
    };
    let r = fetch(Fault::TruncatedJson).await;
    assert_eq!(r.status(), StatusCode::OK);
    let len: usize = r.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = r.bytes().await.unwrap();
    assert_eq!(body.len(), len);
    assert!(serde_json::from_slice::<Value>(&body).is_err());

    let r = fetch(Fault::InvalidJson).await;
    assert_eq!(r.headers()["content-type"], "application/json");
    assert!(serde_json::from_slice::<Value>(&r.bytes().await.unwrap()).is_err());

    for status in [200u16, 502] {
        let r = fetch(Fault::Html(status)).await;
        assert_eq!(r.status().as_u16(), status);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(r.text().await.unwrap().contains("<html>"));
    }

    let r = fetch(Fault::Empty200).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.unwrap().is_empty());

    for ct in ["text/plain", "application/xml"] {
        let r = fetch(Fault::WrongContentType(ct.into())).await;
        assert_eq!(r.headers()["content-type"], ct);
        assert!(serde_json::from_slice::<Value>(&r.bytes().await.unwrap()).is_ok());
    }

    let r = fetch(Fault::Oversized(3_000_000)).await;
    let body = r.bytes().await.unwrap();
    assert_eq!(body.len(), 3_000_000);
    assert!(serde_json::from_slice::<Value>(&body).unwrap().is_array());
}

#[tokio::test]
async fn rule_matching_and_lifetimes() {
    let sim = start_small().await;
    // Next N.
    let id = sim.add_fault(FaultRule::route(Method::GET, "/tickets", Fault::status(503)).times(2));
    assert_eq!(sim.faults().len(), 1);
    assert_eq!(
        send(&sim, Method::GET, "/tickets/3").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        send(&sim, Method::GET, "/contacts").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        send(&sim, Method::GET, "/tickets").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        send(&sim, Method::GET, "/tickets").await.status(),
        StatusCode::OK
    );
    assert!(!sim.remove_fault(id), "spent rules are gone");
    // Always, until removed; method matters.
    let id = sim.add_fault(FaultRule::route(Method::DELETE, "/tags", Fault::status(500)).always());
    for _ in 0..3 {
        assert_eq!(
            send(&sim, Method::DELETE, "/tags/1").await.status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
    assert_eq!(
        send(&sim, Method::GET, "/tags/1").await.status(),
        StatusCode::OK
    );
    assert!(sim.remove_fault(id));
    assert_eq!(
        send(&sim, Method::DELETE, "/tags/1").await.status(),
        StatusCode::OK
    );
    // Any method under a prefix.
    sim.add_fault(FaultRule::path_prefix("/agents", Fault::status(502)).times(1));
    assert_eq!(
        send(&sim, Method::GET, "/agents/1").await.status(),
        StatusCode::BAD_GATEWAY
    );
    // Probability, from the seeded generator: roughly half of 200.
    sim.add_fault(FaultRule::operation("ping", Fault::status(500)).with_probability(0.5));
    let mut failed = 0;
    for _ in 0..200 {
        if send(&sim, Method::GET, "/ping").await.status() == StatusCode::INTERNAL_SERVER_ERROR {
            failed += 1;
        }
    }
    assert!((60..=140).contains(&failed), "{failed}");
    sim.clear_faults();
    assert!(sim.faults().is_empty());
    // Faults come before authentication.
    sim.add_fault(FaultRule::any(Fault::status(502)));
    let r = client().get(sim.url("/ping")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
}

#[tokio::test]
async fn after_apply_changes_state_but_fails_the_answer() {
    let sim = start_small().await;
    sim.add_fault(FaultRule::operation("createTicket", Fault::status(502)).after_apply());
    let before = sim.record_count(Resource::Tickets);
    let body = json!({"subject":"s","useridentifier":"x@y.z","departmentid":"1","recipient":"r@y.z","message":"m"});
    let (status, _) = json_req(&sim, Method::POST, "/tickets", &body).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(sim.record_count(Resource::Tickets), before + 1);
    let c = sim.counters().operation("createTicket");
    assert_eq!((c.received, c.faulted, c.handled, c.applied), (1, 1, 1, 1));
    // A plain fault does not apply.
    sim.add_fault(FaultRule::operation("createTicket", Fault::status(500)));
    let (status, _) = json_req(&sim, Method::POST, "/tickets", &body).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(sim.record_count(Resource::Tickets), before + 1);
    assert_eq!(sim.counters().operation("createTicket").applied, 1);
}

async fn random_sequence(seed: u64) -> Vec<u16> {
    let sim = small()
        .random_faults(
            RandomFaults::new(0.5, seed).with_faults(vec![Fault::status(500), Fault::status(503)]),
        )
        .start()
        .await
        .unwrap();
    let mut out = Vec::new();
    for _ in 0..40 {
        out.push(send(&sim, Method::GET, "/ping").await.status().as_u16());
    }
    out
}

#[tokio::test]
async fn random_faults_are_reproducible() {
    let a = random_sequence(11).await;
    let b = random_sequence(11).await;
    let c = random_sequence(12).await;
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a.contains(&200) && a.iter().any(|s| *s != 200));
    // Switched off at run time.
    let sim = small()
        .random_faults(RandomFaults::new(1.0, 1))
        .start()
        .await
        .unwrap();
    assert_ne!(
        send(&sim, Method::GET, "/ping").await.status(),
        StatusCode::OK
    );
    sim.set_random_faults(None);
    assert_eq!(
        send(&sim, Method::GET, "/ping").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn faults_installed_at_start() {
    let sim = small()
        .fault(FaultRule::operation("ping", Fault::status(504)))
        .start()
        .await
        .unwrap();
    assert_eq!(
        send(&sim, Method::GET, "/ping").await.status(),
        StatusCode::GATEWAY_TIMEOUT
    );
    assert_eq!(
        send(&sim, Method::GET, "/ping").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn shutdown_releases_hanging_requests() {
    let sim = small()
        .fault(FaultRule::any(Fault::HangBeforeHeaders).always())
        .start()
        .await
        .unwrap();
    let url = sim.url("/ping");
    let key = sim.api_key().to_string();
    let pending = tokio::spawn(async move { client().get(url).header("apikey", key).send().await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    sim.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(3));
    let _ = pending.await.unwrap();
}

/// Sends a raw request and reads until the peer closes or resets: (bytes read, how it ended).
async fn raw_exchange(sim: &Simulator, path: &str) -> (Vec<u8>, std::io::Result<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    let request = format!(
        "GET /api/v3{path} HTTP/1.1\r\nHost: localhost\r\napikey: {}\r\nConnection: close\r\n\r\n",
        sim.api_key()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
            Ok(Ok(0)) => return (received, Ok(())),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Ok(Err(e)) => return (received, Err(e)),
            Err(_) => {
                return (
                    received,
                    Err(std::io::Error::other("no close or reset within 5 s")),
                );
            }
        }
    }
}

#[tokio::test]
async fn resets_are_tcp_resets_not_clean_closes() {
    let sim = start_small().await;
    sim.add_fault(FaultRule::operation("getTicket", Fault::ResetBeforeHeaders));
    let (bytes, end) = raw_exchange(&sim, "/tickets/1").await;
    assert!(bytes.is_empty(), "no header may arrive");
    assert_eq!(end.unwrap_err().kind(), std::io::ErrorKind::ConnectionReset);

    sim.add_fault(FaultRule::operation("getTicketsList", Fault::ResetMidBody));
    let (bytes, end) = raw_exchange(&sim, "/tickets").await;
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let head_end = text.find("\r\n\r\n").unwrap() + 4;
    let announced: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        bytes.len() - head_end < announced,
        "only part of the body arrives"
    );
    assert_eq!(end.unwrap_err().kind(), std::io::ErrorKind::ConnectionReset);

    // Without faults the same exchange ends with a clean close.
    let (bytes, end) = raw_exchange(&sim, "/tickets/1").await;
    assert!(String::from_utf8_lossy(&bytes).starts_with("HTTP/1.1 200"));
    assert!(end.is_ok());
}
