//! Request counters.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn counts_by_operation_and_route() {
    let sim = start_small().await;
    let body = json!({"subject":"s","useridentifier":"x@y.z","departmentid":"1","recipient":"r@y.z","message":"m"});
    let (status, _) = json_req(&sim, Method::POST, "/tickets", &body).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = json_req(&sim, Method::POST, "/tickets", &json!({ "subject": 1 })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = client()
        .post(sim.url("/tickets"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    get_ok(&sim, "/tickets/1").await;
    get_ok(&sim, "/tickets/1").await;
    assert_eq!(get(&sim, "/tickets/999").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        send(&sim, Method::GET, "/unknown").await.status(),
        StatusCode::NOT_FOUND
    );

    let c = sim.counters();
    let create = c.operation("createTicket");
    assert_eq!(create.received, 3);
    assert_eq!(create.rejected, 2);
    assert_eq!(create.handled, 1);
    assert_eq!(create.applied, 1, "the POST was applied exactly once");
    let get_ticket = c.operation("getTicket");
    assert_eq!(
        (get_ticket.received, get_ticket.handled, get_ticket.applied),
        (3, 3, 0)
    );
    assert_eq!(c.route("GET", "/tickets/1").received, 2);
    assert_eq!(c.route("get", "/api/v3/tickets/1?x=1").received, 2);
    assert_eq!(c.route("POST", "/tickets").received, 3);
    assert_eq!(c.route("GET", "/unknown").rejected, 1);
    assert_eq!(c.total().received, 7);
    assert!(c.operations().contains_key("getTicket"));
    assert!(c.routes().contains_key("GET /unknown"));

    sim.reset_counters();
    assert_eq!(sim.counters().total().received, 0);
    assert_eq!(sim.counters().operation("createTicket").applied, 0);
}

#[tokio::test]
async fn failed_writes_are_not_applied() {
    let sim = start_small().await;
    let (status, _) = json_req(
        &sim,
        Method::PUT,
        "/tickets/9999",
        &json!({ "status": "R" }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let c = sim.counters().operation("updateTicket");
    assert_eq!((c.received, c.handled, c.applied), (1, 1, 0));
}
