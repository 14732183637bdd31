//! What the typed models make of numbers and bodies a strict decoder would refuse or change,
//! through a whole client (a canned transport) and the generated models: nothing the server
//! sent is lost or changed, and one odd value never fails a response.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;

use liveagent::prelude::*;
use liveagent::{Body, Error};

/// A client whose every request gets `status` and `body` (as JSON).
fn client(status: u16, body: &'static [u8]) -> Client {
    Client::from_service(tower::service_fn(
        move |_: http::Request<Body>| async move {
            let response = http::Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Body::from(body.to_vec()))
                .unwrap();
            Ok::<_, Infallible>(response)
        },
    ))
    .base_url("https://acme.ladesk.com/api/v3")
    .api_key("decoding-test-key")
    .no_rate_limit()
    .no_retry()
    .build()
    .unwrap()
}

#[tokio::test]
async fn huge_integers_keep_their_text_and_out_of_range_numbers_are_none() {
    let body = br#"[
        {"id": 123456789012345678901234567890, "subject": -98765432109876543210,
         "code": 1.50, "tags": [18446744073709551616, 1e400, "vip"],
         "custom_fields": [{"code": 1e400, "value": 99999999999999999999999}, {"code": "c2"}],
         "date_created": 1e400, "unknown": -1e400, "unknown_too": {"x": [1e999]}},
        {"id": "t2", "subject": "fine", "date_due": 2e308}
    ]"#;
    let tickets = client(200, body)
        .tickets()
        .get_tickets_list()
        .send()
        .await
        .unwrap();
    assert_eq!(tickets.len(), 2);
    let first = &tickets[0];
    assert_eq!(first.id.as_deref(), Some("123456789012345678901234567890"));
    assert_eq!(first.subject.as_deref(), Some("-98765432109876543210"));
    assert_eq!(first.code.as_deref(), Some("1.50"));
    assert_eq!(
        first.tags.as_deref(),
        Some(&["18446744073709551616".to_owned(), "vip".to_owned()][..])
    );
    let fields = first.custom_fields.as_ref().unwrap();
    assert_eq!(fields[0].code, None);
    assert_eq!(fields[0].value.as_deref(), Some("99999999999999999999999"));
    assert_eq!(fields[1].code.as_deref(), Some("c2"));
    assert_eq!(first.date_created, None);
    assert_eq!(tickets[1].id.as_deref(), Some("t2"));
    assert_eq!(tickets[1].date_due, None);
}

#[tokio::test]
async fn integer_fields_never_take_a_different_number() {
    let body = br#"{"elapsed_time": -9223372036854775809, "total_time": 9223372036854775807,
                   "id": 12345678901234567890123}"#;
    let sla: liveagent::tickets::models::SlaHistory = client(200, body)
        .execute(liveagent::Request::new(liveagent::Method::GET, "/sla"))
        .await
        .unwrap();
    assert_eq!(sla.elapsed_time, None);
    assert_eq!(sla.total_time, Some(i64::MAX));
    assert_eq!(sla.id.as_deref(), Some("12345678901234567890123"));
}

#[tokio::test]
async fn a_byte_order_mark_is_skipped_before_success_and_error_bodies() {
    let ticket = client(200, "\u{feff}{\"id\":\"t1\"}".as_bytes())
        .tickets()
        .get_ticket("t1")
        .send()
        .await
        .unwrap();
    assert_eq!(ticket.id.as_deref(), Some("t1"));
    let error = client(404, "\u{feff}{\"message\":\"Ticket not found\"}".as_bytes())
        .tickets()
        .get_ticket("t1")
        .send()
        .await
        .unwrap_err();
    match error {
        Error::Api { message, .. } => assert_eq!(message.as_deref(), Some("Ticket not found")),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_json_error_body_without_a_message_is_not_called_non_json() {
    let error = client(422, br#"{"errors":{"subject":"is required"}}"#)
        .tickets()
        .get_ticket("t1")
        .send()
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains(r#"errors: {"subject":"is required"}"#),
        "{text}"
    );
    assert!(!text.contains("non-JSON"), "{text}");
}
