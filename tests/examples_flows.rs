//! The examples' flows, run against the in-process simulator: each example's `run` function is
//! compiled into this test from the example's own source, so the examples cannot rot.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../examples/call_integration.rs"]
mod call_integration;
#[allow(dead_code)]
#[path = "../examples/custom_layer.rs"]
mod custom_layer;
#[allow(dead_code)]
#[path = "../examples/export_tickets.rs"]
mod export_tickets;
#[allow(dead_code)]
#[path = "../examples/quickstart.rs"]
mod quickstart;
#[allow(dead_code)]
#[path = "../examples/single_domain.rs"]
mod single_domain;

use clap::Parser;
use la_mock::{Fault, FaultRule, Resource, Simulator};
use liveagent_tests::{builder_for, client_for};

#[tokio::test]
async fn quickstart_creates_a_ticket_and_streams_every_page() {
    let sim = Simulator::builder().tickets(60).start().await.unwrap();
    let client = client_for(&sim);
    let summary = quickstart::run(&client).await.unwrap();

    assert_eq!(summary.tickets, 61, "60 seeded plus the one created");
    assert_eq!(summary.pages, 3, "25 per page");
    assert_eq!(summary.messages, 1, "the ticket's first message");
    assert!(summary.new_tickets <= 5);
    assert_eq!(sim.counters().operation("createTicket").applied, 1);
    let stored = sim.record(Resource::Tickets, &summary.ticket_id).unwrap();
    assert_eq!(stored["subject"], "Printer trouble");
    assert_eq!(stored["code"], summary.ticket_code.as_str());
}

#[tokio::test]
async fn call_integration_walks_the_call_lifecycle() {
    let sim = Simulator::builder().start().await.unwrap();
    let client = client_for(&sim);
    let trace = call_integration::run(&client, "call-flow-1").await.unwrap();
    let statuses: Vec<&str> = trace.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(statuses.first(), Some(&"Q"));
    assert_eq!(&statuses[1..], ["R", "C", "C", "C", "F"]);

    let call = sim.record(Resource::Calls, "call-flow-1").unwrap();
    assert_eq!(call["status"], "F");
    assert_eq!(call["messages"].as_array().map(Vec::len), Some(1));
    assert_eq!(call["recordings"], 1);
    let counters = sim.counters();
    for operation in [
        "callCreate",
        "callRing",
        "callAnswer",
        "callTransfer",
        "callAddMessage",
        "callAddRecording",
        "callStop",
    ] {
        assert_eq!(counters.operation(operation).applied, 1, "{operation}");
    }
}

#[tokio::test]
async fn custom_layers_see_calls_outside_and_attempts_inside() {
    let sim = Simulator::builder().tickets(10).start().await.unwrap();
    sim.add_fault(FaultRule::operation("ping", Fault::status(503)).times(2));
    let metrics = custom_layer::Metrics::default();
    let client = custom_layer::with_layers(builder_for(&sim), metrics.clone())
        .build()
        .unwrap();
    custom_layer::run(&client, &metrics).await.unwrap();

    let seen = metrics.snapshot();
    assert_eq!(seen.get("GET /ping").map(|(calls, _)| *calls), Some(1));
    assert_eq!(seen.get("GET /tickets").map(|(calls, _)| *calls), Some(1));
    assert_eq!(
        seen.get("GET /tickets/{ticketId}").map(|(calls, _)| *calls),
        Some(2)
    );
    // Three attempts of ping reached the server: the retries happened inside the outer layer.
    assert_eq!(sim.counters().operation("ping").received, 3);
}

#[tokio::test]
async fn single_domain_lists_open_tickets_with_the_object_filter_form() {
    let sim = Simulator::builder().tickets(40).start().await.unwrap();
    let client = client_for(&sim);
    let open = single_domain::run(&client).await.unwrap();
    assert!(!open.is_empty());
    assert!(
        open.iter()
            .all(|t| t.status.as_ref().map(|s| s.as_str()) == Some("C"))
    );
}

fn export_args(extra: &[&str]) -> export_tickets::Args {
    let mut args = vec!["export_tickets"];
    args.extend_from_slice(extra);
    export_tickets::Args::parse_from(args)
}

#[tokio::test]
async fn export_writes_every_ticket_and_resumes_from_a_page() {
    let sim = Simulator::builder().tickets(250).start().await.unwrap();
    let client = client_for(&sim);
    let progress = indicatif::ProgressBar::hidden();

    let mut out = Vec::new();
    let args = export_args(&["--per-page", "100"]);
    let written = export_tickets::export(&client, &args, &mut out, &progress)
        .await
        .unwrap();
    assert_eq!(written, 250);
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 250);
    let ids: std::collections::BTreeSet<_> = lines.iter().map(|l| l["id"].to_string()).collect();
    assert_eq!(ids.len(), 250, "no ticket written twice");

    let mut resumed = Vec::new();
    let args = export_args(&["--per-page", "100", "--from-page", "2", "--format", "csv"]);
    let written = export_tickets::export(&client, &args, &mut resumed, &progress)
        .await
        .unwrap();
    assert_eq!(written, 150, "pages 2 and 3");
    let text = String::from_utf8(resumed).unwrap();
    assert_eq!(text.lines().count(), 151, "a header and 150 rows");
    assert!(text.starts_with("id,code,subject,status"));
}

#[tokio::test]
async fn export_from_the_grid_follows_and_resumes_from_cursors() {
    let sim = Simulator::builder().tickets(120).start().await.unwrap();
    let client = client_for(&sim);
    let progress = indicatif::ProgressBar::hidden();

    let mut out = Vec::new();
    let args = export_args(&["--source", "grid", "--per-page", "50"]);
    let written = export_tickets::export(&client, &args, &mut out, &progress)
        .await
        .unwrap();
    assert_eq!(written, 120);
    assert_eq!(sim.counters().operation("getTicketsGridList").received, 3);

    let cursor = liveagent::pagination::cursor_after_id("100");
    let mut rest = Vec::new();
    let args = export_args(&["--source", "grid", "--from-cursor", cursor.as_str()]);
    let written = export_tickets::export(&client, &args, &mut rest, &progress)
        .await
        .unwrap();
    assert_eq!(written, 20, "the tickets after id 100");
}

#[tokio::test]
async fn a_default_export_asks_for_the_largest_page_and_follows_a_lower_cap() {
    let sim = Simulator::builder()
        .tickets(2_500)
        .max_per_page(300)
        .no_rate_limit()
        .start()
        .await
        .unwrap();
    let client = client_for(&sim);
    let progress = indicatif::ProgressBar::hidden();
    let mut out = Vec::new();
    let written = export_tickets::export(&client, &export_args(&[]), &mut out, &progress)
        .await
        .unwrap();
    assert_eq!(written, 2_500);
    let ids: std::collections::BTreeSet<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].to_string())
        .collect();
    assert_eq!(ids.len(), 2_500, "every ticket once");
    // ceil(2,500 / 300) pages; the last is short of a size already served, so no empty page.
    assert_eq!(sim.counters().operation("getTicketsList").received, 9);

    let mut rest = Vec::new();
    let args = export_args(&["--from-offset", "2400"]);
    let written = export_tickets::export(&client, &args, &mut rest, &progress)
        .await
        .unwrap();
    assert_eq!(written, 100, "the tickets after the first 2,400");
}
