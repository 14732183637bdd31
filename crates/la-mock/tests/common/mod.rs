//! Helpers shared by the integration tests: a simulator with small seed counts and a raw HTTP
//! client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use la_mock::{SimBuilder, Simulator};
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::Value;

/// A builder with small counts and no rate limit.
pub fn small() -> SimBuilder {
    Simulator::builder()
        .seed(42)
        .tickets(40)
        .contacts(20)
        .companies(5)
        .agents(4)
        .departments(3)
        .tags(6)
        .calls(8)
        .no_rate_limit()
}

pub async fn start_small() -> Simulator {
    small().start().await.expect("simulator starts")
}

pub fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

pub async fn send(sim: &Simulator, method: Method, path: &str) -> Response {
    client()
        .request(method, sim.url(path))
        .header("apikey", sim.api_key())
        .send()
        .await
        .expect("request is answered")
}

pub async fn get(sim: &Simulator, path: &str) -> (StatusCode, Value) {
    let resp = send(sim, Method::GET, path).await;
    let status = resp.status();
    let body = resp.json::<Value>().await.expect("JSON body");
    (status, body)
}

pub async fn get_ok(sim: &Simulator, path: &str) -> Value {
    let (status, body) = get(sim, path).await;
    assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
    body
}

pub async fn json_req(
    sim: &Simulator,
    method: Method,
    path: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let resp = client()
        .request(method, sim.url(path))
        .header("apikey", sim.api_key())
        .json(body)
        .send()
        .await
        .expect("request is answered");
    let status = resp.status();
    let body = resp.json::<Value>().await.expect("JSON body");
    (status, body)
}

pub async fn post_empty(sim: &Simulator, path: &str) -> (StatusCode, Value) {
    let resp = send(sim, Method::POST, path).await;
    let status = resp.status();
    (status, resp.json::<Value>().await.expect("JSON body"))
}

/// The `id`s of a JSON array of records (by `field`).
pub fn ids(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|r| r[field].as_str().expect("string id").to_string())
        .collect()
}

pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
