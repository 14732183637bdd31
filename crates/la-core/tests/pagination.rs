#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Page-numbered and cursor listings against a server.

mod common;

use common::{CountingLimiter, mock_builder};
use futures_util::TryStreamExt;
use la_core::pagination::{self, Page, PageStyle, PageToken, PaginationErrorKind};
use la_core::{Client, Error, Method, Request};
use mockito::{Matcher, Mock, ServerGuard};
use serde::Deserialize;

#[derive(Deserialize, Debug, PartialEq)]
struct Item {
    id: u32,
}

fn body(ids: std::ops::Range<u32>) -> String {
    serde_json::to_string(
        &ids.map(|id| serde_json::json!({ "id": id }))
            .collect::<Vec<_>>(),
    )
    .unwrap()
}

fn list(per_page: u32) -> Request {
    Request::new(Method::GET, "/tickets").query("_perPage", per_page)
}

/// A mock for one page of `/tickets`, matched on its exact query string.
async fn page(server: &mut ServerGuard, query: &str, items: String, cursor: Option<&str>) -> Mock {
    let mut mock = server
        .mock("GET", "/api/v3/tickets")
        .match_query(Matcher::Exact(query.to_owned()))
        .match_header("apikey", common::KEY)
        .with_status(200)
        .with_header("content-type", "application/json");
    if let Some(cursor) = cursor {
        mock = mock.with_header("next_page_cursor", cursor);
    }
    mock.with_body(items).expect(1).create_async().await
}

async fn all_pages(client: &Client, request: Request, style: PageStyle) -> Vec<Page<Item>> {
    pagination::pages::<Item>(client.clone(), request, style)
        .try_collect()
        .await
        .unwrap()
}

fn ids(pages: &[Page<Item>]) -> Vec<u32> {
    pages
        .iter()
        .flat_map(|p| p.items.iter().map(|i| i.id))
        .collect()
}

/// Checks that every mock got what it expects.
async fn assert_mocks(mocks: impl IntoIterator<Item = Mock>) {
    for mock in mocks {
        mock.assert_async().await;
    }
}

/// Every page of a listing as the stream yields it, the error that ends it included.
async fn page_results(
    client: Client,
    request: Request,
    style: PageStyle,
) -> Vec<Result<Page<Item>, Error>> {
    futures_util::StreamExt::collect(pagination::pages(client, request, style)).await
}

#[tokio::test]
async fn numbered_pages_until_a_short_page() {
    let mut server = mockito::Server::new_async().await;
    let mocks = [
        page(&mut server, "_perPage=3&_page=1", body(0..3), None).await,
        page(&mut server, "_perPage=3&_page=2", body(3..6), None).await,
        page(&mut server, "_perPage=3&_page=3", body(6..7), None).await,
    ];
    let client = mock_builder(&server.url()).build().unwrap();
    let pages = all_pages(&client, list(3), PageStyle::Numbered).await;
    assert_eq!(pages.len(), 3);
    assert_eq!(ids(&pages), (0..7).collect::<Vec<_>>());
    assert_eq!(pages[0].this, Some(PageToken::Number(1)));
    assert_eq!(pages[0].next, Some(PageToken::Number(2)));
    assert_eq!(pages[2].this, Some(PageToken::Number(3)));
    assert_eq!(pages[2].next, None);
    assert_mocks(mocks).await;

    // The item stream yields the same items, one by one.
    let mocks = [
        page(&mut server, "_perPage=3&_page=1", body(0..3), None).await,
        page(&mut server, "_perPage=3&_page=2", body(3..6), None).await,
        page(&mut server, "_perPage=3&_page=3", body(6..7), None).await,
    ];
    let items: Vec<Item> = pagination::items(client, list(3), PageStyle::Numbered)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        items.iter().map(|i| i.id).collect::<Vec<_>>(),
        (0..7).collect::<Vec<_>>()
    );
    assert_mocks(mocks).await;
}

#[tokio::test]
async fn an_empty_first_page_ends_the_listing() {
    let mut server = mockito::Server::new_async().await;
    let first = page(&mut server, "_perPage=5&_page=1", "[]".into(), None).await;
    let client = mock_builder(&server.url()).build().unwrap();
    let pages = all_pages(&client, list(5), PageStyle::Numbered).await;
    assert_eq!(pages.len(), 1);
    assert!(pages[0].items.is_empty());
    assert_eq!(pages[0].next, None);
    first.assert_async().await;
}

#[tokio::test]
async fn an_exact_multiple_of_per_page_ends_with_an_empty_page() {
    let mut server = mockito::Server::new_async().await;
    let mocks = [
        page(&mut server, "_perPage=2&_page=1", body(0..2), None).await,
        page(&mut server, "_perPage=2&_page=2", body(2..4), None).await,
        page(&mut server, "_perPage=2&_page=3", "[]".into(), None).await,
    ];
    let client = mock_builder(&server.url()).build().unwrap();
    let pages = all_pages(&client, list(2), PageStyle::Numbered).await;
    assert_eq!(pages.len(), 3);
    assert_eq!(ids(&pages), vec![0, 1, 2, 3]);
    assert!(pages[2].items.is_empty());
    assert_mocks(mocks).await;
}

#[tokio::test]
async fn numbered_listing_resumes_from_the_given_page() {
    let mut server = mockito::Server::new_async().await;
    let mocks = [
        page(&mut server, "_perPage=2&_page=4", body(6..8), None).await,
        page(&mut server, "_perPage=2&_page=5", body(8..9), None).await,
    ];
    let client = mock_builder(&server.url()).build().unwrap();
    let pages = all_pages(&client, list(2).query("_page", 4), PageStyle::Numbered).await;
    assert_eq!(ids(&pages), vec![6, 7, 8]);
    assert_eq!(pages[0].this, Some(PageToken::Number(4)));
    assert_mocks(mocks).await;
}

#[tokio::test]
async fn cursor_chain_ends_when_the_header_is_missing() {
    let mut server = mockito::Server::new_async().await;
    let mocks = [
        page(&mut server, "_perPage=2", body(0..2), Some("c1")).await,
        page(&mut server, "_perPage=2&_cursor=c1", body(2..4), Some("c2")).await,
        page(&mut server, "_perPage=2&_cursor=c2", body(4..6), None).await,
    ];
    let client = mock_builder(&server.url()).build().unwrap();
    let pages = all_pages(&client, list(2), PageStyle::Cursor).await;
    assert_eq!(ids(&pages), (0..6).collect::<Vec<_>>());
    assert_eq!(pages[0].this, None);
    assert_eq!(pages[0].next, Some(PageToken::Cursor("c1".into())));
    assert_eq!(pages[1].this, Some(PageToken::Cursor("c1".into())));
    assert_eq!(pages[2].next, None);
    assert_mocks(mocks).await;
}

#[tokio::test]
async fn cursor_chain_ends_when_the_header_is_empty() {
    let mut server = mockito::Server::new_async().await;
    let mocks = [
        page(&mut server, "_perPage=2", body(0..2), Some("c1")).await,
        page(&mut server, "_perPage=2&_cursor=c1", body(2..4), Some("")).await,
    ];
    let client = mock_builder(&server.url()).build().unwrap();
    let pages = all_pages(&client, list(2), PageStyle::Cursor).await;
    assert_eq!(pages.len(), 2);
    assert_eq!(ids(&pages), vec![0, 1, 2, 3]);
    assert_eq!(pages[1].next, None);
    assert_mocks(mocks).await;
}

#[tokio::test]
async fn cursor_listing_resumes_from_the_given_cursor() {
    let mut server = mockito::Server::new_async().await;
    let cursor = pagination::cursor_after_id("41");
    let encoded: String = url::form_urlencoded::byte_serialize(cursor.as_bytes()).collect();
    let mocks = [
        page(
            &mut server,
            &format!("_perPage=2&_cursor={encoded}"),
            body(42..44),
            Some("next=1"),
        )
        .await,
        page(
            &mut server,
            "_perPage=2&_cursor=next%3D1",
            body(44..45),
            None,
        )
        .await,
    ];
    let client = mock_builder(&server.url()).build().unwrap();
    let pages = all_pages(
        &client,
        list(2).query("_cursor", &cursor),
        PageStyle::Cursor,
    )
    .await;
    assert_eq!(ids(&pages), vec![42, 43, 44]);
    assert_eq!(pages[0].this, Some(PageToken::Cursor(cursor)));
    assert_eq!(pages[1].this, Some(PageToken::Cursor("next=1".into())));
    assert_mocks(mocks).await;
}

#[tokio::test]
async fn a_server_repeating_the_cursor_is_an_error_not_an_endless_loop() {
    let mut server = mockito::Server::new_async().await;
    let first = page(&mut server, "_perPage=2", body(0..2), Some("same")).await;
    let again = server
        .mock("GET", "/api/v3/tickets")
        .match_query(Matcher::UrlEncoded("_cursor".into(), "same".into()))
        .with_status(200)
        .with_header("next_page_cursor", "same")
        .with_body(body(2..4))
        .expect(1)
        .create_async()
        .await;
    let client = mock_builder(&server.url()).build().unwrap();
    let results = page_results(client, list(2), PageStyle::Cursor).await;
    assert_eq!(results.len(), 3, "the stream did not stop after the error");
    // The page that repeats its cursor is delivered (its items are good), then the error.
    assert_eq!(
        results[1].as_ref().unwrap().items,
        vec![Item { id: 2 }, Item { id: 3 }]
    );
    assert_eq!(results[1].as_ref().unwrap().next, None);
    match &results[2] {
        Err(
            err @ Error::Pagination {
                kind: PaginationErrorKind::CursorLoop,
                message,
                ..
            },
        ) => {
            assert!(message.contains("same"), "{err}");
            assert!(message.contains("endless loop"), "{err}");
        }
        other => panic!("expected a Pagination error, got {other:?}"),
    }
    first.assert_async().await;
    again.assert_async().await;
}

#[tokio::test]
async fn a_server_leading_back_to_an_earlier_cursor_is_an_error_not_an_endless_loop() {
    // The first page leads to A, A to B, and B back to A: a round of two pages.
    let mut server = mockito::Server::new_async().await;
    let mocks = vec![
        page(&mut server, "_perPage=2", body(0..2), Some("A")).await,
        page(&mut server, "_perPage=2&_cursor=A", body(2..4), Some("B")).await,
        page(&mut server, "_perPage=2&_cursor=B", body(4..6), Some("A")).await,
    ];
    let client = mock_builder(&server.url()).build().unwrap();
    let results = page_results(client, list(2), PageStyle::Cursor).await;
    assert_eq!(
        results.len(),
        4,
        "the stream did not stop at the repeated cursor"
    );
    let loaded: Vec<u32> = results[..3]
        .iter()
        .flat_map(|page| page.as_ref().unwrap().items.iter().map(|i| i.id))
        .collect();
    assert_eq!(
        loaded,
        (0..6).collect::<Vec<_>>(),
        "each page once, none lost"
    );
    // The page whose cursor leads back offers nothing to resume from.
    assert_eq!(results[2].as_ref().unwrap().next, None);
    match &results[3] {
        Err(
            err @ Error::Pagination {
                kind: PaginationErrorKind::CursorLoop,
                message,
                ..
            },
        ) => {
            assert!(message.contains("(A)"), "{err}");
            assert!(message.contains("endless loop"), "{err}");
        }
        other => panic!("expected a Pagination error, got {other:?}"),
    }
    // Each page was asked for once: the repeated cursor was refused before a request.
    assert_mocks(mocks).await;
}

#[tokio::test]
async fn a_server_leading_back_to_the_starting_cursor_is_an_error() {
    let mut server = mockito::Server::new_async().await;
    let mocks = vec![
        page(
            &mut server,
            "_perPage=2&_cursor=start",
            body(0..2),
            Some("B"),
        )
        .await,
        page(
            &mut server,
            "_perPage=2&_cursor=B",
            body(2..4),
            Some("start"),
        )
        .await,
    ];
    let client = mock_builder(&server.url()).build().unwrap();
    let mut results: Vec<Result<Page<Item>, Error>> = futures_util::StreamExt::collect(
        pagination::pages(client, list(2).query("_cursor", "start"), PageStyle::Cursor),
    )
    .await;
    assert_eq!(results.len(), 3, "{results:?}");
    let error = results.pop().unwrap();
    let pages: Vec<Page<Item>> = results.into_iter().take(2).map(Result::unwrap).collect();
    assert_eq!(ids(&pages), vec![0, 1, 2, 3]);
    assert!(
        matches!(&error, Err(Error::Pagination { kind: PaginationErrorKind::CursorLoop, message, .. }) if message.contains("(start)")),
        "{error:?}"
    );
    assert_mocks(mocks).await;
}

#[tokio::test]
async fn a_page_whose_cursor_header_is_not_text_is_delivered_before_the_error() {
    // `é` is not visible ASCII: the header exists but cannot be read as text.
    let double = common::Double::always(
        common::Reply::json(r#"[{"id":1},{"id":2}]"#).header("next_page_cursor", "caf\u{e9}"),
    );
    let client = double.builder().no_rate_limit().build().unwrap();
    let results = page_results(client, list(2), PageStyle::Cursor).await;
    assert_eq!(results.len(), 2, "{results:?}");
    let page = results[0].as_ref().unwrap();
    assert_eq!(page.items, vec![Item { id: 1 }, Item { id: 2 }]);
    assert_eq!(page.next, None);
    match &results[1] {
        Err(
            err @ Error::Pagination {
                kind: PaginationErrorKind::UnreadableCursor,
                message,
                ..
            },
        ) => {
            assert!(message.contains("next_page_cursor"), "{err}");
        }
        other => panic!("expected a Pagination error, got {other:?}"),
    }
    assert_eq!(
        double.calls(),
        1,
        "no page may be requested after the error"
    );
}

#[tokio::test]
async fn an_error_page_ends_the_stream_with_the_error() {
    let mut server = mockito::Server::new_async().await;
    let first = page(&mut server, "_perPage=2&_page=1", body(0..2), None).await;
    let failing = server
        .mock("GET", "/api/v3/tickets")
        .match_query(Matcher::Exact("_perPage=2&_page=2".into()))
        .with_status(404)
        .with_body(r#"{"message":"gone"}"#)
        .expect(1)
        .create_async()
        .await;
    let client = mock_builder(&server.url()).build().unwrap();
    let results: Vec<Result<Item, Error>> =
        futures_util::StreamExt::collect(pagination::items(client, list(2), PageStyle::Numbered))
            .await;
    assert_eq!(results.len(), 3);
    assert!(results[2].as_ref().is_err_and(Error::is_not_found));
    first.assert_async().await;
    failing.assert_async().await;
}

#[tokio::test]
async fn every_page_goes_through_the_limiter() {
    let mut server = mockito::Server::new_async().await;
    let mocks = [
        page(&mut server, "_perPage=2&_page=1", body(0..2), None).await,
        page(&mut server, "_perPage=2&_page=2", body(2..4), None).await,
        page(&mut server, "_perPage=2&_page=3", body(4..5), None).await,
    ];
    let limiter = CountingLimiter::new();
    let client = mock_builder(&server.url())
        .limiter(limiter.clone())
        .build()
        .unwrap();
    let pages = all_pages(&client, list(2), PageStyle::Numbered).await;
    assert_eq!(pages.len(), 3);
    assert_eq!(limiter.count(), 3);
    assert_mocks(mocks).await;
}

#[tokio::test]
async fn invalid_paging_parameters_fail_before_sending() {
    let mut server = mockito::Server::new_async().await;
    let nothing = server
        .mock("GET", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let client = mock_builder(&server.url()).build().unwrap();
    for request in [
        list(0),
        list(5).query("_page", 0),
        Request::new(Method::GET, "/tickets").query("_perPage", "many"),
    ] {
        let results = page_results(client.clone(), request, PageStyle::Numbered).await;
        assert_eq!(results.len(), 1);
        assert!(
            matches!(
                &results[0],
                Err(Error::Pagination {
                    kind: PaginationErrorKind::InvalidParameter,
                    context,
                    ..
                }) if context.path == "/api/v3/tickets"
            ),
            "{results:?}"
        );
    }
    nothing.assert_async().await;
}

#[tokio::test]
async fn an_empty_page_that_names_a_next_cursor_is_followed() {
    let mut server = mockito::Server::new_async().await;
    let mocks = vec![
        page(&mut server, "_perPage=2", "[]".into(), Some("A")).await,
        page(&mut server, "_perPage=2&_cursor=A", "[]".into(), Some("B")).await,
        page(&mut server, "_perPage=2&_cursor=B", body(0..2), None).await,
    ];
    let client = mock_builder(&server.url()).build().unwrap();
    let pages = all_pages(&client, list(2), PageStyle::Cursor).await;
    assert_eq!(ids(&pages), vec![0, 1]);
    assert_eq!(pages[0].next, Some(PageToken::Cursor("A".into())));
    assert_mocks(mocks).await;
}

#[tokio::test]
async fn a_round_of_three_cursors_is_caught_before_the_repeated_page_is_loaded() {
    // A -> B -> C -> A, with empty pages in the round: nothing may loop.
    let mut server = mockito::Server::new_async().await;
    let mocks = vec![
        page(&mut server, "_perPage=2", body(0..2), Some("A")).await,
        page(&mut server, "_perPage=2&_cursor=A", body(2..4), Some("B")).await,
        page(&mut server, "_perPage=2&_cursor=B", "[]".into(), Some("C")).await,
        page(&mut server, "_perPage=2&_cursor=C", body(4..5), Some("A")).await,
    ];
    let client = mock_builder(&server.url()).build().unwrap();
    let results = page_results(client, list(2), PageStyle::Cursor).await;
    assert_eq!(results.len(), 5, "{results:?}");
    let loaded: Vec<u32> = results[..4]
        .iter()
        .flat_map(|p| p.as_ref().unwrap().items.iter().map(|i| i.id))
        .collect();
    assert_eq!(loaded, vec![0, 1, 2, 3, 4]);
    assert!(matches!(
        &results[4],
        Err(Error::Pagination {
            kind: PaginationErrorKind::CursorLoop,
            ..
        })
    ));
    // Each mock expects exactly one request: A was not asked for again.
    assert_mocks(mocks).await;
}

#[tokio::test]
async fn a_new_cursor_for_the_same_records_is_a_repeated_page() {
    let mut server = mockito::Server::new_async().await;
    let mocks = vec![
        page(&mut server, "_perPage=2", body(0..2), Some("A")).await,
        page(&mut server, "_perPage=2&_cursor=A", body(0..2), Some("B")).await,
    ];
    let client = mock_builder(&server.url()).build().unwrap();
    let results: Vec<Result<Item, Error>> =
        futures_util::StreamExt::collect(pagination::items(client, list(2), PageStyle::Cursor))
            .await;
    assert_eq!(results.len(), 3, "{results:?}");
    assert!(matches!(
        &results[2],
        Err(Error::Pagination {
            kind: PaginationErrorKind::RepeatedPage,
            ..
        })
    ));
    assert_mocks(mocks).await;
}

/// A mock that refuses one query with 422.
async fn refused(server: &mut ServerGuard, query: &str) -> Mock {
    server
        .mock("GET", "/api/v3/tickets")
        .match_query(Matcher::Exact(query.to_owned()))
        .with_status(422)
        .with_header("content-type", "application/json")
        .with_body(r#"{"message":"_perPage is too large"}"#)
        .expect(1)
        .create_async()
        .await
}

#[tokio::test]
async fn the_default_page_size_is_the_largest_and_halves_when_refused() {
    let mut server = mockito::Server::new_async().await;
    let mocks = vec![
        refused(&mut server, "_page=1&_perPage=1000").await,
        refused(&mut server, "_page=1&_perPage=500").await,
        page(&mut server, "_page=1&_perPage=250", body(0..250), None).await,
        page(&mut server, "_page=2&_perPage=250", body(250..300), None).await,
    ];
    let client = mock_builder(&server.url()).build().unwrap();
    let request = Request::new(Method::GET, "/tickets");
    let pages = all_pages(&client, request, PageStyle::Numbered).await;
    assert_eq!(ids(&pages), (0..300).collect::<Vec<_>>());
    assert_eq!(pages[0].per_page, 250);
    assert_mocks(mocks).await;
}

#[tokio::test]
async fn a_refused_size_gives_up_at_the_server_default_or_when_the_caller_set_it() {
    let mut server = mockito::Server::new_async().await;
    let mut mocks = Vec::new();
    for size in [1000, 500, 250, 125, 62, 31, 15, 10] {
        mocks.push(refused(&mut server, &format!("_page=1&_perPage={size}")).await);
    }
    let client = mock_builder(&server.url()).build().unwrap();
    let results = page_results(
        client.clone(),
        Request::new(Method::GET, "/tickets"),
        PageStyle::Numbered,
    )
    .await;
    assert_eq!(results.len(), 1);
    assert_eq!(
        results[0].as_ref().unwrap_err().status(),
        Some(la_core::StatusCode::UNPROCESSABLE_ENTITY)
    );
    assert_mocks(mocks).await;

    // A size the caller set is sent once; its refusal is the error.
    let explicit = refused(&mut server, "_perPage=2000&_page=1").await;
    let results = page_results(client, list(2000), PageStyle::Numbered).await;
    assert_eq!(results.len(), 1);
    assert!(results[0].as_ref().unwrap_err().status().is_some());
    explicit.assert_async().await;
}

#[tokio::test]
async fn a_short_first_page_costs_one_empty_page_more() {
    let mut server = mockito::Server::new_async().await;
    let mocks = vec![
        page(&mut server, "_perPage=50&_page=1", body(0..3), None).await,
        page(&mut server, "_page=2&_perPage=3", "[]".into(), None).await,
    ];
    let client = mock_builder(&server.url()).build().unwrap();
    let pages = all_pages(&client, list(50), PageStyle::Numbered).await;
    assert_eq!(ids(&pages), vec![0, 1, 2]);
    assert_mocks(mocks).await;
}

#[tokio::test]
async fn a_full_last_page_numbered_u32_max_ends_in_an_overflow_error() {
    let mut server = mockito::Server::new_async().await;
    let last = page(
        &mut server,
        &format!("_perPage=2&_page={}", u32::MAX),
        body(0..2),
        None,
    )
    .await;
    let client = mock_builder(&server.url()).build().unwrap();
    let results = page_results(
        client,
        list(2).query("_page", u32::MAX),
        PageStyle::Numbered,
    )
    .await;
    assert_eq!(results.len(), 2, "{results:?}");
    assert_eq!(results[0].as_ref().unwrap().items.len(), 2);
    assert!(matches!(
        &results[1],
        Err(Error::Pagination {
            kind: PaginationErrorKind::Overflow,
            ..
        })
    ));
    last.assert_async().await;
}

#[tokio::test]
async fn an_offset_listing_stops_at_its_end_even_when_the_server_serves_more() {
    let mut server = mockito::Server::new_async().await;
    let mocks = vec![
        page(
            &mut server,
            "_perPage=2&_from=10&_to=12",
            body(10..12),
            None,
        )
        .await,
        // This server ignores `_to`: the items past the end are not delivered.
        page(
            &mut server,
            "_perPage=2&_from=12&_to=13",
            body(12..14),
            None,
        )
        .await,
    ];
    let client = mock_builder(&server.url()).build().unwrap();
    let request = list(2)
        .query("_from", 10)
        .query("_to", 13)
        .query("_page", 9);
    let pages = all_pages(&client, request, PageStyle::Numbered).await;
    assert_eq!(ids(&pages), vec![10, 11, 12]);
    assert_eq!(pages[0].this, Some(PageToken::Offset(10)));
    assert_eq!(pages[0].next, Some(PageToken::Offset(12)));
    assert_eq!(pages[1].next, None);
    assert_mocks(mocks).await;
}

#[tokio::test]
async fn a_failed_probe_delivers_the_page_before_the_error() {
    let mut server = mockito::Server::new_async().await;
    let short = page(&mut server, "_perPage=5&_page=3", body(0..2), None).await;
    let probe = server
        .mock("GET", "/api/v3/tickets")
        .match_query(Matcher::Exact("_perPage=5&_page=1".into()))
        .with_status(404)
        .expect(1)
        .create_async()
        .await;
    let client = mock_builder(&server.url()).build().unwrap();
    let results = page_results(client, list(5).query("_page", 3), PageStyle::Numbered).await;
    assert_eq!(results.len(), 2, "{results:?}");
    assert_eq!(results[0].as_ref().unwrap().items.len(), 2);
    assert!(results[1].as_ref().is_err_and(Error::is_not_found));
    short.assert_async().await;
    probe.assert_async().await;
}

#[tokio::test]
async fn a_repeated_cursor_in_the_error_is_redacted_before_it_is_cut() {
    // A long cursor that holds the key across the point where the error cuts it.
    let cursor = format!("{}{}tail", "c".repeat(195), common::KEY);
    let mut server = mockito::Server::new_async().await;
    page(&mut server, "_perPage=2", body(0..2), Some(&cursor)).await;
    server
        .mock("GET", "/api/v3/tickets")
        .match_query(Matcher::UrlEncoded("_cursor".into(), cursor.clone()))
        .with_status(200)
        .with_header("next_page_cursor", &cursor)
        .with_body(body(2..4))
        .create_async()
        .await;
    let client = mock_builder(&server.url()).build().unwrap();
    let results = page_results(client, list(2), PageStyle::Cursor).await;
    match results.last() {
        Some(Err(
            err @ Error::Pagination {
                kind: PaginationErrorKind::CursorLoop,
                message,
                ..
            },
        )) => {
            assert!(message.contains("endless loop"), "{err}");
            assert!(message.contains(&"c".repeat(195)), "{err}");
            assert!(!message.contains("tail"), "not cut: {err}");
            common::assert_no_key("cursor error", &format!("{err} {err:?}"));
            assert!(!message.contains(&common::KEY[..8]), "{err}");
        }
        other => panic!("expected a cursor-loop error, got {other:?}"),
    }
}
