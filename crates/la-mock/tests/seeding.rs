//! Deterministic seeding and large stores.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Instant;

use common::*;
use la_mock::{Resource, Simulator};
use serde_json::json;

async fn snapshot(sim: &Simulator) -> Vec<String> {
    let mut out = Vec::new();
    for path in [
        "/tickets?_perPage=1000",
        "/contacts?_perPage=1000",
        "/companies?_perPage=1000",
        "/agents?_perPage=1000",
        "/tags",
        "/calls?_perPage=1000",
        "/grid/eventlogs?_perPage=1000",
        "/bans/5",
        "/subscriptions/3",
    ] {
        let resp = send(sim, reqwest::Method::GET, path).await;
        out.push(resp.text().await.unwrap());
    }
    out
}

#[tokio::test]
async fn same_seed_same_bytes_different_seed_different_data() {
    let a = small().seed(9).start().await.unwrap();
    let b = small().seed(9).start().await.unwrap();
    let c = small().seed(10).start().await.unwrap();
    let sa = snapshot(&a).await;
    let sb = snapshot(&b).await;
    let sc = snapshot(&c).await;
    assert_eq!(sa, sb);
    for (x, z) in sa.iter().zip(&sc) {
        assert_ne!(x, z);
    }
    assert_eq!(a.api_key(), b.api_key());
    assert_ne!(a.api_key(), c.api_key());
}

#[tokio::test]
async fn counts_are_honoured() {
    let sim = small()
        .tickets(123)
        .contacts(7)
        .calls(0)
        .start()
        .await
        .unwrap();
    assert_eq!(sim.record_count(Resource::Tickets), 123);
    assert_eq!(sim.record_count(Resource::Contacts), 7);
    assert_eq!(sim.record_count(Resource::Calls), 0);
    assert_eq!(get_ok(&sim, "/grid/tickets/count").await["count"], 123);
    assert_eq!(get_ok(&sim, "/calls").await, json!([]));
}

#[tokio::test]
async fn seed_records_are_loaded() {
    let sim = small()
        .tickets(0)
        .seed_records(json!({
            "tickets": [{ "id": "500", "subject": "Loaded", "status": "N", "tags": [] }],
            "tags": [{ "name": "no-id" }],
        }))
        .start()
        .await
        .unwrap();
    assert_eq!(get_ok(&sim, "/tickets/500").await["subject"], "Loaded");
    let tags = sim.records(Resource::Tags);
    assert_eq!(tags.last().unwrap()["name"], "no-id");
    assert_eq!(tags.last().unwrap()["id"], "7");
    let bad = small().seed_records(json!({ "widgets": [] })).start().await;
    assert!(bad.unwrap_err().to_string().contains("widgets"));
}

#[tokio::test]
async fn hundred_thousand_tickets() {
    let started = Instant::now();
    let sim = Simulator::builder()
        .seed(5)
        .tickets(100_000)
        .no_rate_limit()
        .start()
        .await
        .unwrap();
    let took = started.elapsed();
    eprintln!("seeded 100k tickets in {took:?}");
    assert_eq!(sim.record_count(Resource::Tickets), 100_000);
    assert_eq!(get_ok(&sim, "/grid/tickets/count").await["count"], 100_000);
    let page = get_ok(&sim, "/tickets?_page=5000&_perPage=20").await;
    assert_eq!(ids(&page, "id").first().map(String::as_str), Some("99981"));
    let cursor = base64_cursor("99990");
    let tail = get_ok(
        &sim,
        &format!("/grid/tickets?_perPage=100&_cursor={}", enc(&cursor)),
    )
    .await;
    assert_eq!(tail.as_array().unwrap().len(), 10);
    // Generous: debug builds are slow; release seeds this in well under a second.
    assert!(took.as_secs() < 120, "seeding took {took:?}");
}

fn base64_cursor(id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!(r#"{{"id":"{id}"}}"#))
}

#[tokio::test]
async fn seeded_messages_are_stable_and_follow_their_ticket() {
    let a = small().seed(3).start().await.unwrap();
    let b = small().seed(3).start().await.unwrap();
    let groups = get_ok(&a, "/tickets/5/messages").await;
    assert_eq!(groups, get_ok(&b, "/tickets/5/messages").await);
    assert_eq!(groups[0]["id"], "5");
    let text = groups[0]["messages"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!text.is_empty());
    assert_eq!(get_ok(&a, "/messages/5").await["message"], text.as_str());
    // Deleting the ticket takes its messages along.
    let r = send(&a, reqwest::Method::DELETE, "/tickets/5").await;
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert_eq!(
        get(&a, "/messages/5").await.0,
        reqwest::StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&a, "/tickets/5/messages").await.0,
        reqwest::StatusCode::NOT_FOUND
    );
}
