#![allow(clippy::unwrap_used, clippy::expect_used)]

//! `_filters` as the server receives it.

mod common;

use common::mock_builder;
use la_core::{Error, Filters, Method, Operator, Request};
use mockito::Matcher;

async fn send_filters(filters: &Filters, expected: &str) {
    let mut server = mockito::Server::new_async().await;
    let mock = server
        .mock("GET", "/api/v3/tickets")
        .match_query(Matcher::AllOf(vec![
            Matcher::UrlEncoded("_filters".into(), expected.into()),
            Matcher::UrlEncoded("_perPage".into(), "10".into()),
        ]))
        .with_status(200)
        .with_body("[]")
        .expect(1)
        .create_async()
        .await;
    let client = mock_builder(&server.url()).build().unwrap();
    let request = Request::new(Method::GET, "/tickets")
        .query("_filters", filters.to_json().unwrap())
        .query("_perPage", 10);
    let items: Vec<serde_json::Value> = client.execute(request).await.unwrap();
    assert!(items.is_empty());
    mock.assert_async().await;
}

#[tokio::test]
async fn array_form_reaches_the_server_intact() {
    let filters = Filters::conditions()
        .is_in("status", ["N", "C"])
        .condition("date_created", Operator::Ge, "2024-01-01 00:00:00")
        .condition("subject", Operator::Like, "%a&b=c+d%")
        .condition("priority", Operator::Gt, 2);
    send_filters(
        &filters,
        r#"[["status","IN","N,C"],["date_created",">=","2024-01-01 00:00:00"],["subject","L","%a&b=c+d%"],["priority",">",2]]"#,
    )
    .await;
}

#[tokio::test]
async fn object_form_reaches_the_server_intact() {
    let filters = Filters::by_column()
        .eq("status", "N")
        .eq("departmentid", "d #1")
        .eq("owner_name", "Zoë \"Z\"");
    send_filters(
        &filters,
        r#"{"status":"N","departmentid":"d #1","owner_name":"Zoë \"Z\""}"#,
    )
    .await;
}

#[test]
fn filters_the_server_would_misread_are_refused() {
    let bad = [
        Filters::conditions().is_in("status", Vec::<&str>::new()),
        Filters::conditions().is_in("subject", ["a,b"]),
        Filters::conditions().eq(" ", "x"),
        Filters::conditions().eq("rating", f64::NAN),
        Filters::by_column().condition("status", Operator::NotEq, "N"),
        Filters::by_column().eq("status", "N").eq("status", "C"),
    ];
    for filters in bad {
        assert!(
            matches!(filters.to_json(), Err(Error::InvalidRequest { .. })),
            "{filters:?}"
        );
    }
}
