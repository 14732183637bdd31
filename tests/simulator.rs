//! The SDK against the in-process simulator: every list style, filters, counts, the rate limit,
//! fault injection recovered by retries, and the operation flows of the domain crates.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use la_mock::{Fault, FaultRule, RateLimit as ServerLimit, Resource, Simulator};
use liveagent::calls::models::CallListItem;
use liveagent::prelude::*;
use liveagent::tickets::models::{Ticket, TicketListItem, TicketStatus, TicketUpdatable};
use liveagent::{FilePart, PageToken, RateLimit, RetryConfig, StatusCode};
use liveagent_tests::{builder_for, client_for};

async fn simulator(tickets: usize) -> Simulator {
    Simulator::builder()
        .tickets(tickets)
        .calls(35)
        .no_rate_limit()
        .start()
        .await
        .unwrap()
}

fn ids(tickets: &[Ticket]) -> Vec<String> {
    tickets.iter().filter_map(|t| t.id.clone()).collect()
}

#[tokio::test]
async fn page_numbered_streams_visit_every_ticket_once() {
    let sim = simulator(230).await;
    let client = client_for(&sim);
    let all: Vec<Ticket> = client
        .tickets()
        .get_tickets_list()
        .per_page(50)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let unique: BTreeSet<String> = ids(&all).into_iter().collect();
    assert_eq!(all.len(), 230);
    assert_eq!(unique.len(), 230);
    assert_eq!(
        sim.counters().operation("getTicketsList").received,
        5,
        "four full pages and a short one"
    );

    // The pages say where they start and where the next one does.
    let pages: Vec<_> = client
        .tickets()
        .get_tickets_list()
        .per_page(100)
        .pages()
        .try_collect()
        .await
        .unwrap();
    let tokens: Vec<_> = pages
        .iter()
        .map(|p| (p.this.clone(), p.next.clone()))
        .collect();
    assert_eq!(
        tokens,
        vec![
            (Some(PageToken::Number(1)), Some(PageToken::Number(2))),
            (Some(PageToken::Number(2)), Some(PageToken::Number(3))),
            (Some(PageToken::Number(3)), None),
        ]
    );
}

#[tokio::test]
async fn offsets_and_sorting_select_the_expected_slice() {
    let sim = simulator(40).await;
    let client = client_for(&sim);
    let ascending = client
        .tickets()
        .get_tickets_list()
        .per_page(40)
        .sort_field("date_created")
        .sort_dir("ASC")
        .send()
        .await
        .unwrap();
    let descending = client
        .tickets()
        .get_tickets_list()
        .per_page(40)
        .sort_field("date_created")
        .sort_dir("DESC")
        .send()
        .await
        .unwrap();
    let mut reversed = ids(&descending);
    reversed.reverse();
    assert_eq!(ids(&ascending), reversed);

    let slice = client
        .tickets()
        .get_tickets_list()
        .sort_field("date_created")
        .from(10)
        .to(15)
        .send()
        .await
        .unwrap();
    assert_eq!(ids(&slice), ids(&ascending)[10..15].to_vec());
}

#[tokio::test]
async fn both_filter_forms_select_the_same_tickets_and_counts_agree() {
    let sim = simulator(300).await;
    let client = client_for(&sim);
    let resolved = TicketStatus::Resolved.as_str();
    let by_column: Vec<Ticket> = client
        .tickets()
        .get_tickets_list()
        .filters(Filters::by_column().eq("status", resolved))
        .per_page(100)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let by_condition: Vec<Ticket> = client
        .tickets()
        .get_tickets_list()
        .filters(Filters::conditions().eq("status", resolved))
        .per_page(100)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(!by_column.is_empty());
    assert_eq!(ids(&by_column), ids(&by_condition));
    assert!(
        by_column
            .iter()
            .all(|t| t.status == Some(TicketStatus::Resolved))
    );

    let in_list: Vec<Ticket> = client
        .tickets()
        .get_tickets_list()
        .filters(Filters::conditions().is_in("status", ["R", "C"]))
        .per_page(100)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(in_list.len() > by_column.len());
    assert!(
        in_list
            .iter()
            .all(|t| matches!(t.status, Some(TicketStatus::Resolved | TicketStatus::Open)))
    );

    // The grid count agrees with the grid listing, filtered or not.
    let rows: Vec<_> = client
        .grid()
        .get_tickets_grid_list()
        .filters(Filters::conditions().eq("status", resolved))
        .per_page(40)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let count = client
        .grid()
        .get_tickets_grid_list_count()
        .filters(Filters::conditions().eq("status", resolved))
        .send()
        .await
        .unwrap();
    assert_eq!(count.count, Some(rows.len() as f64));
    assert_eq!(rows.len(), by_column.len());
    let total = client
        .grid()
        .get_tickets_grid_list_count()
        .send()
        .await
        .unwrap();
    assert_eq!(total.count, Some(300.0));
}

#[tokio::test]
async fn a_bad_filter_is_refused_before_sending() {
    let sim = simulator(5).await;
    let client = client_for(&sim);
    let error = client
        .tickets()
        .get_tickets_list()
        .filters(Filters::by_column().condition("status", Operator::Gt, "A"))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidRequest { .. }), "{error}");
    assert_eq!(sim.counters().total().received, 0);
}

#[tokio::test]
async fn cursor_streams_follow_the_header_to_the_end_and_resume() {
    let sim = simulator(10).await;
    let client = client_for(&sim);
    let calls: Vec<CallListItem> = client
        .calls()
        .get_calls_list()
        .per_page(10)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(calls.len(), 35);
    assert_eq!(sim.counters().operation("getCallsList").received, 4);
    let count = client.calls().get_calls_count().send().await.unwrap();
    assert_eq!(count.count, Some(35.0));

    // Resuming from the second page's cursor gives the rest.
    let pages: Vec<_> = client
        .calls()
        .get_calls_list()
        .per_page(10)
        .pages()
        .try_collect()
        .await
        .unwrap();
    let Some(PageToken::Cursor(cursor)) = pages[1].next.clone() else {
        panic!("the second page has a next cursor");
    };
    let rest: Vec<CallListItem> = client
        .calls()
        .get_calls_list()
        .per_page(10)
        .cursor(cursor)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rest.len(), 15);
    assert_eq!(
        rest.first().and_then(|c| c.id.clone()),
        calls.get(20).and_then(|c| c.id.clone())
    );
}

#[tokio::test]
async fn ticket_flow_create_read_update_list_delete() {
    let sim = simulator(20).await;
    let client = client_for(&sim);
    let tickets = client.tickets();

    let mut draft = TicketListItem::new(
        "1",
        "The invoice total is wrong.",
        "support@example.com",
        "Invoice question",
        "jane@example.com",
    );
    draft.tags = Some(vec!["invoice".into()]);
    let created = tickets.create_ticket().body(draft).send().await.unwrap();
    let id = created.id.clone().unwrap();

    let groups = tickets
        .get_ticket_message_groups(id.as_str())
        .send()
        .await
        .unwrap();
    let texts: Vec<_> = groups
        .iter()
        .flat_map(|g| g.messages.clone().unwrap_or_default())
        .filter_map(|m| m.message)
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("invoice total")),
        "{texts:?}"
    );

    let update = TicketUpdatable {
        status: Some(TicketStatus::Resolved),
        subject: Some("Invoice question (answered)".into()),
        ..TicketUpdatable::default()
    };
    let updated = tickets
        .update_ticket(id.as_str())
        .body(update)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status, Some(TicketStatus::Resolved));
    let fetched = tickets.get_ticket(id.as_str()).send().await.unwrap();
    assert_eq!(
        fetched.subject.as_deref(),
        Some("Invoice question (answered)")
    );

    let found = tickets
        .get_tickets_list()
        .filters(Filters::conditions().condition("subject", Operator::Like, "%answered%"))
        .send()
        .await
        .unwrap();
    assert_eq!(ids(&found), vec![id.clone()]);

    tickets.delete_ticket(id.as_str()).send().await.unwrap();
    let error = tickets.get_ticket(id.as_str()).send().await.unwrap_err();
    assert!(error.is_not_found(), "{error}");
    assert!(
        error.to_string().contains(&format!("/tickets/{id}")),
        "{error}"
    );
}

#[tokio::test]
async fn a_file_upload_is_stored() {
    let sim = simulator(1).await;
    let client = client_for(&sim);
    let stored = client
        .files()
        .upload_file(FilePart::new(
            b"%PDF-1.7 invoice".to_vec(),
            "invoice 117.pdf",
            "application/pdf",
        ))
        .send()
        .await
        .unwrap();
    assert!(stored.id.is_some());
    assert_eq!(sim.counters().operation("uploadFile").handled, 1);
}

#[tokio::test]
async fn unknown_enum_values_and_extra_fields_decode() {
    let sim = simulator(0).await;
    let client = client_for(&sim);
    let id = sim.insert_record(
        Resource::Tickets,
        serde_json::json!({
            "subject": "From a newer server",
            "status": "Z",
            "code": "NEW-1",
            "a_field_from_the_future": {"nested": [1, 2, 3]},
            "date_created": "2024-05-06 07:08:09"
        }),
    );
    let ticket = client
        .tickets()
        .get_ticket(id.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(ticket.status, Some(TicketStatus::Unknown("Z".into())));
    assert_eq!(ticket.subject.as_deref(), Some("From a newer server"));
    // The unknown value is sent back as it came.
    assert_eq!(
        serde_json::to_value(&ticket).unwrap()["status"],
        serde_json::json!("Z")
    );
}

/// `tasks` tasks sharing clones of `client` each ping `each` times; every call must succeed.
async fn ping_concurrently(client: &Client, tasks: usize, each: usize) {
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                for _ in 0..each {
                    client.default_api().ping().send().await?;
                }
                Ok::<_, Error>(())
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn at_full_speed_the_client_limiter_keeps_every_429_away() {
    // A scaled limit: 30 requests per second, the server's bucket as deep as its limit.
    let sim = Simulator::builder()
        .tickets(5)
        .rate_limit(ServerLimit::new(30, Duration::from_secs(1)))
        .start()
        .await
        .unwrap();
    let client = builder_for(&sim)
        .rate_limit(RateLimit::new(30, Duration::from_secs(1)).unwrap())
        .build()
        .unwrap();
    let started = Instant::now();
    ping_concurrently(&client, 16, 5).await;
    let counters = sim.counters().operation("ping");
    assert_eq!(counters.received, 80);
    assert_eq!(counters.rate_limited, 0, "no 429 from the server");
    // 80 requests at 30/s with a burst of 5 take at least 2.5 s.
    assert!(started.elapsed() >= Duration::from_millis(2_400));
}

#[tokio::test]
async fn without_a_client_limiter_server_429s_are_absorbed_by_retries() {
    let sim = Simulator::builder()
        .tickets(5)
        .rate_limit(ServerLimit::new(10, Duration::from_secs(1)))
        .start()
        .await
        .unwrap();
    let client = builder_for(&sim)
        .retry(RetryConfig::default().max_attempts(10))
        .build()
        .unwrap();
    ping_concurrently(&client, 4, 5).await;
    let counters = sim.counters().operation("ping");
    assert!(counters.rate_limited > 0, "the server did refuse some");
    assert_eq!(counters.handled, 20, "every call succeeded in the end");
}

#[tokio::test]
async fn injected_faults_are_recovered_by_retries() {
    let sim = simulator(5).await;
    let client = builder_for(&sim)
        .retry(RetryConfig::default().backoff(Duration::from_millis(5), Duration::from_millis(20)))
        .build()
        .unwrap();

    sim.add_fault(FaultRule::operation("getTicket", Fault::status(503)).times(2));
    client.tickets().get_ticket("1").send().await.unwrap();
    assert_eq!(sim.counters().operation("getTicket").received, 3);

    sim.add_fault(FaultRule::operation("getTicketsList", Fault::ResetBeforeHeaders).times(1));
    client.tickets().get_tickets_list().send().await.unwrap();
    assert_eq!(sim.counters().operation("getTicketsList").received, 2);

    sim.add_fault(FaultRule::operation("createTicket", Fault::RateLimitedSeconds(0)).times(1));
    let draft = TicketListItem::new(
        "1",
        "Hi",
        "support@example.com",
        "Retry me",
        "a@example.com",
    );
    client
        .tickets()
        .create_ticket()
        .body(draft)
        .send()
        .await
        .unwrap();
    let create = sim.counters().operation("createTicket");
    assert_eq!((create.received, create.applied), (2, 1));

    // A POST the server may have acted on is not retried: the error reaches the caller.
    sim.add_fault(FaultRule::operation("createTicket", Fault::status(502)).times(1));
    let draft = TicketListItem::new("1", "Hi", "support@example.com", "Once", "a@example.com");
    let error = client
        .tickets()
        .create_ticket()
        .body(draft)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::BAD_GATEWAY));
    assert_eq!(sim.counters().operation("createTicket").received, 3);
}
