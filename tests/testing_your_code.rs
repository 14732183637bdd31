//! How a user of the SDK tests their own code, in the two ways the SDK offers:
//!
//! - `liveagent::testing::ScriptedTransport` (the `test-util` feature): canned answers, no server,
//!   and a record of what the code sent;
//! - the simulator `la-mock`: a whole LiveAgent API on 127.0.0.1, seeded with the records the
//!   test needs, with faults and rate limits on demand; `test-util` re-exports it as
//!   `liveagent::testing::simulator`.
//!
//! The user's Cargo.toml for this file:
//!
//! ```toml
//! [dependencies]
//! liveagent = "0.1"
//!
//! [dev-dependencies]
//! liveagent = { version = "0.1", features = ["test-util"] }
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! serde_json = "1"
//! ```
//!
//! Without the facade's `test-util`, add `la-mock = "0.1"` to the dev-dependencies and use
//! `la_mock::{Simulator, Fault, FaultRule}` (what `liveagent::testing::simulator` is).

use std::time::Duration;

use liveagent::prelude::*;
use liveagent::testing::Simulator;
use liveagent::testing::simulator::{Fault, FaultRule};
use liveagent::testing::{Answer, ScriptedTransport};
use liveagent::tickets::models::TicketStatus;
use liveagent::{Error, RetryConfig};
use serde_json::json;

/// The user's code under test: the subjects of the open tickets, on one page of 100.
async fn open_ticket_subjects(client: &Client) -> Result<Vec<String>, Error> {
    let open = client
        .tickets()
        .get_tickets_list()
        .filters(Filters::by_column().eq("status", TicketStatus::Open.as_str()))
        .per_page(100)
        .send()
        .await?;
    Ok(open
        .iter()
        .filter_map(|ticket| ticket.subject.clone())
        .collect())
}

const KEY: &str = "user-test-key-1";

#[tokio::test]
async fn with_canned_answers() -> Result<(), Error> {
    let transport = ScriptedTransport::new().answer(Answer::json(
        200,
        json!([
            {"id": "t1", "status": "C", "subject": "Printer on fire"},
            {"id": "t2", "status": "C"},
            {"id": "t3", "status": "C", "subject": "Coffee machine"},
        ]),
    ));
    let client = Client::from_service(transport.clone())
        .base_url("https://acme.ladesk.com/api/v3")
        .api_key(KEY)
        .retry(RetryConfig::disabled())
        .build()?;

    let subjects = open_ticket_subjects(&client).await?;

    assert_eq!(subjects, ["Printer on fire", "Coffee machine"]);
    let request = transport.last_request();
    let Some(request) = request else {
        unreachable!("the code sent no request")
    };
    assert_eq!(request.method(), liveagent::Method::GET);
    assert_eq!(request.path(), "/api/v3/tickets");
    assert_eq!(request.query_param("_perPage").as_deref(), Some("100"));
    assert_eq!(
        request.query_param("_filters").as_deref(),
        Some(r#"{"status":"C"}"#)
    );
    assert_eq!(request.header("apikey"), Some(KEY));
    transport.assert_all_used();
    Ok(())
}

#[tokio::test]
async fn with_canned_errors() -> Result<(), Error> {
    let transport = ScriptedTransport::new()
        .answer(Answer::json(401, json!({"message": "Invalid API key"})))
        .answer(Answer::transport_error(liveagent::TransportKind::Request));
    let client = Client::from_service(transport.clone())
        .base_url("https://acme.ladesk.com/api/v3")
        .api_key(KEY)
        .retry(RetryConfig::disabled())
        .build()?;

    let refused = open_ticket_subjects(&client).await;
    assert_eq!(
        refused.as_ref().err().and_then(Error::status),
        Some(liveagent::StatusCode::UNAUTHORIZED),
        "{refused:?}"
    );
    let cut = open_ticket_subjects(&client).await;
    assert!(matches!(cut, Err(Error::Transport { .. })), "{cut:?}");
    assert_eq!(transport.requests().len(), 2);
    Ok(())
}

#[tokio::test]
async fn against_the_simulator() -> Result<(), Box<dyn std::error::Error>> {
    // Only the records this test needs: no generated tickets, two of our own.
    let sim = Simulator::builder()
        .seed(3)
        .tickets(0)
        .api_key(KEY)
        .no_rate_limit()
        .seed_records(json!({"tickets": [
            {"id": "open1", "status": "C", "subject": "Printer on fire"},
            {"id": "done1", "status": "R", "subject": "Already solved"},
        ]}))
        // The first listing answers 503: the client's retry must get past it.
        .fault(FaultRule::operation("getTicketsList", Fault::status(503)))
        .start()
        .await?;
    let client = Client::builder()
        .base_url(sim.base_url())
        .api_key(sim.api_key())
        .retry(RetryConfig::default().backoff(Duration::from_millis(10), Duration::from_millis(50)))
        .build()?;

    let subjects = open_ticket_subjects(&client).await?;

    assert_eq!(subjects, ["Printer on fire"]);
    let listing = sim.counters().operation("getTicketsList");
    assert_eq!(listing.received, 2, "{listing:?}");
    assert_eq!(listing.faulted, 1, "{listing:?}");
    sim.shutdown().await;
    Ok(())
}
