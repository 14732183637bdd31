//! Listings against the simulator: servers that cap the page size, offset listings, a server
//! that ignores `_page`, page numbers at the edges, and the default page size.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::{StreamExt, TryStreamExt};
use la_mock::{ListSettings, Simulator};
use liveagent::prelude::*;
use liveagent::tickets::models::Ticket;
use liveagent::{Page, PageToken, PaginationErrorKind};
use liveagent_tests::client_for;

const TICKETS: usize = 2_500;

async fn simulator(tickets: usize, max_per_page: usize) -> Simulator {
    Simulator::builder()
        .tickets(tickets)
        .max_per_page(max_per_page)
        .no_rate_limit()
        .start()
        .await
        .unwrap()
}

fn numbers(tickets: &[Ticket]) -> Vec<usize> {
    tickets
        .iter()
        .map(|t| t.id.as_deref().unwrap().parse().unwrap())
        .collect()
}

fn list_requests(sim: &Simulator) -> u64 {
    sim.counters().operation("getTicketsList").received
}

#[tokio::test]
async fn a_server_capping_the_page_size_never_ends_a_listing_early() {
    // The case first: 2,000 asked, 1,000 served.
    for (cap, per_page) in [
        (1_000, Some(2_000)),
        (1_000, Some(1_500)),
        (1_000, None),
        (300, Some(1_000)),
        (300, None),
        (7, Some(10)),
        (999, Some(1_000)),
        (1_000, Some(1_000)),
        (1_000, Some(7)),
    ] {
        let sim = simulator(TICKETS, cap).await;
        let client = client_for(&sim);
        let mut request = client.tickets().get_tickets_list();
        if let Some(n) = per_page {
            request = request.per_page(n);
        }
        let all: Vec<Ticket> = request.stream().try_collect().await.unwrap();
        assert_eq!(
            numbers(&all),
            (1..=TICKETS).collect::<Vec<_>>(),
            "cap {cap}, per_page {per_page:?}: every ticket once, in order"
        );
        // One request per page served, plus at most one empty page at the end.
        let served = per_page.map_or(1_000, |n| n as usize).min(cap);
        let pages = TICKETS.div_ceil(served) as u64;
        let requests = list_requests(&sim);
        assert!(
            (pages..=pages + 1).contains(&requests),
            "cap {cap}, per_page {per_page:?}: {requests} requests for {pages} pages"
        );
    }
}

#[tokio::test]
async fn a_capped_listing_started_past_the_first_page_resumes_in_place() {
    let sim = simulator(TICKETS, 1_000).await;
    let client = client_for(&sim);
    // Page 2 of 2,000 is clamped to page 2 of 1,000: tickets 1,001 to 2,000, then the rest.
    let rest: Vec<Ticket> = client
        .tickets()
        .get_tickets_list()
        .per_page(2_000)
        .page(2)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(numbers(&rest), (1_001..=TICKETS).collect::<Vec<_>>());

    // Without a cap, a short page past the first is the last one.
    let sim = simulator(TICKETS, 1_000).await;
    let client = client_for(&sim);
    let last: Vec<Ticket> = client
        .tickets()
        .get_tickets_list()
        .per_page(900)
        .page(3)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(numbers(&last), (1_801..=TICKETS).collect::<Vec<_>>());
    // The short page, and one probe of page 1 that tells the end from a cap.
    assert_eq!(list_requests(&sim), 2);
}

#[tokio::test]
async fn pages_report_the_size_they_continue_with() {
    let sim = simulator(45, 20).await;
    let client = client_for(&sim);
    let pages: Vec<Page<Ticket>> = client
        .tickets()
        .get_tickets_list()
        .per_page(50)
        .pages()
        .try_collect()
        .await
        .unwrap();
    let shape: Vec<(Option<PageToken>, usize, Option<PageToken>, u32)> = pages
        .iter()
        .map(|p| (p.this.clone(), p.items.len(), p.next.clone(), p.per_page))
        .collect();
    assert_eq!(
        shape,
        vec![
            (
                Some(PageToken::Number(1)),
                20,
                Some(PageToken::Number(2)),
                20
            ),
            (
                Some(PageToken::Number(2)),
                20,
                Some(PageToken::Number(3)),
                20
            ),
            (Some(PageToken::Number(3)), 5, None, 20),
        ]
    );
}

#[tokio::test]
async fn offset_listings_advance_by_the_items_received() {
    let sim = simulator(TICKETS, 1_000).await;
    let client = client_for(&sim);
    let from: Vec<Ticket> = client
        .tickets()
        .get_tickets_list()
        .from(100)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(numbers(&from), (101..=TICKETS).collect::<Vec<_>>());

    // `_to` ends the listing (exclusive), whatever the page size and the cap.
    for per_page in [None, Some(7), Some(2_000)] {
        let mut request = client.tickets().get_tickets_list().from(100).to(1_350);
        if let Some(n) = per_page {
            request = request.per_page(n);
        }
        let slice: Vec<Ticket> = request.stream().try_collect().await.unwrap();
        assert_eq!(
            numbers(&slice),
            (101..=1_350).collect::<Vec<_>>(),
            "{per_page:?}"
        );
    }

    // `_from` wins over `_page`, and a capped server is followed by offset too.
    let sim = simulator(TICKETS, 300).await;
    let client = client_for(&sim);
    let capped: Vec<Ticket> = client
        .tickets()
        .get_tickets_list()
        .page(7)
        .from(2_000)
        .per_page(1_000)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(numbers(&capped), (2_001..=TICKETS).collect::<Vec<_>>());
    // 300 (short of the 1,000 asked: taken as a cap), then 200 (short of a size already served
    // in full: the end).
    assert_eq!(list_requests(&sim), 2);
}

#[tokio::test]
async fn a_server_ignoring_the_page_number_is_an_error_after_the_new_items() {
    let sim = Simulator::builder()
        .tickets(250)
        .ignore_page(true)
        .no_rate_limit()
        .start()
        .await
        .unwrap();
    let client = client_for(&sim);
    for per_page in [Some(100), None] {
        sim.reset_counters();
        let mut request = client.tickets().get_tickets_list();
        if let Some(n) = per_page {
            request = request.per_page(n);
        }
        let results: Vec<Result<Ticket, Error>> = request.stream().collect().await;
        let (items, errors): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
        let items: Vec<Ticket> = items.into_iter().map(Result::unwrap).collect();
        let served = per_page.map_or(250, |n| n as usize);
        assert_eq!(
            numbers(&items),
            (1..=served).collect::<Vec<_>>(),
            "{per_page:?}"
        );
        assert_eq!(errors.len(), 1, "{per_page:?}");
        let error = errors.into_iter().next().unwrap().unwrap_err();
        assert!(
            matches!(
                &error,
                Error::Pagination {
                    kind: PaginationErrorKind::RepeatedPage,
                    ..
                }
            ),
            "{error}"
        );
        assert!(
            error.to_string().starts_with("GET /api/v3/tickets: "),
            "{error}"
        );
        assert_eq!(list_requests(&sim), 2, "{per_page:?}");
    }
    // Switched off at run time, the same listing completes.
    sim.set_list_settings(ListSettings::default());
    let all: Vec<Ticket> = client
        .tickets()
        .get_tickets_list()
        .per_page(100)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 250);
}

fn pagination_kind<T>(result: &Result<T, Error>) -> Option<PaginationErrorKind> {
    match result {
        Err(Error::Pagination { kind, .. }) => Some(*kind),
        _ => None,
    }
}

#[tokio::test]
async fn page_numbers_and_sizes_at_the_edges_are_typed_errors_not_panics() {
    let sim = simulator(30, 1_000).await;
    let client = client_for(&sim);
    let tickets = || client.tickets().get_tickets_list();

    // Pages past the end are empty: the listing ends.
    for page in [i64::from(u32::MAX), i64::from(u32::MAX) - 1] {
        let results: Vec<Result<Ticket, Error>> = tickets().page(page).stream().collect().await;
        assert!(results.is_empty(), "{page}: {results:?}");
    }
    let results: Vec<Result<Ticket, Error>> = tickets().from(i64::MAX).stream().collect().await;
    assert!(results.is_empty(), "{results:?}");
    sim.reset_counters();

    // Values the API cannot take are refused before sending.
    let refused = [
        tickets().page(i64::MAX),
        tickets().page(i64::from(u32::MAX) + 1),
        tickets().page(0),
        tickets().page(-1),
        tickets().page(i64::MIN),
        tickets().per_page(0),
        tickets().per_page(-3),
        tickets().per_page(i64::MAX),
        tickets().per_page(i64::MIN),
        tickets().from(-1),
        tickets().from(i64::MIN),
        tickets().from(10).to(5),
        tickets().from(10).to(-1),
    ];
    for request in refused {
        let results: Vec<Result<Ticket, Error>> = request.clone().stream().collect().await;
        assert_eq!(results.len(), 1, "{request:?}");
        assert_eq!(
            pagination_kind(&results[0]),
            Some(PaginationErrorKind::InvalidParameter),
            "{request:?}: {results:?}"
        );
        let pages: Vec<Result<Page<Ticket>, Error>> = request.pages().collect().await;
        assert_eq!(pages.len(), 1);
    }
    assert_eq!(sim.counters().total().received, 0, "nothing was sent");
}

#[tokio::test]
async fn a_listing_without_a_page_size_asks_for_the_largest_page() {
    let sim = simulator(TICKETS, 1_000).await;
    let client = client_for(&sim);
    let all: Vec<Ticket> = client
        .tickets()
        .get_tickets_list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), TICKETS);
    // 1,000 + 1,000 + 500.
    assert_eq!(list_requests(&sim), 3);
    // The cursor listing too: the grid holds the same tickets.
    let grid: Vec<_> = client
        .grid()
        .get_tickets_grid_list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(grid.len(), TICKETS);
    assert_eq!(sim.counters().operation("getTicketsGridList").received, 3);
    // `.send()` sends only what the caller set: the server's default page.
    let first = client.tickets().get_tickets_list().send().await.unwrap();
    assert_eq!(first.len(), 10);
}
