//! Authentication, routing and validation answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn missing_or_wrong_key_is_401_with_message() {
    let sim = start_small().await;
    let c = client();
    let r = c.get(sim.url("/tickets")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("apikey"));

    let r = c
        .get(sim.url("/tickets"))
        .header("apikey", "nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Auth comes before routing.
    let r = c.get(sim.url("/no/such/path")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn extra_keys_can_be_added_and_removed() {
    let sim = small()
        .api_key("first-key")
        .api_key("second-key")
        .start()
        .await
        .unwrap();
    assert_eq!(sim.api_key(), "first-key");
    let c = client();
    for key in ["first-key", "second-key"] {
        let r = c
            .get(sim.url("/ping"))
            .header("apikey", key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{key}");
    }
    sim.add_api_key("third-key");
    let r = c
        .get(sim.url("/ping"))
        .header("apikey", "third-key")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(sim.remove_api_key("second-key"));
    let r = c
        .get(sim.url("/ping"))
        .header("apikey", "second-key")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

/// The simulator checks only that a key is one it was given: it accepts any text as a key,
/// also one the SDK's client would refuse as implausible (too short, with spaces), so tests may
/// send it whatever a client sends.
#[tokio::test]
async fn any_configured_key_is_accepted_however_short_or_odd() {
    for key in ["k", "k3y", "a key with spaces"] {
        let sim = small().api_key(key).start().await.unwrap();
        let r = client()
            .get(sim.url("/ping"))
            .header("apikey", key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{key:?}");
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn unknown_path_404_and_wrong_method_405() {
    let sim = start_small().await;
    let r = send(&sim, Method::GET, "/nothing/here").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body: Value = r.json().await.unwrap();
    assert!(body["message"].is_string());

    let r = send(&sim, Method::PATCH, "/tickets").await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let allow = r.headers()["allow"].to_str().unwrap().to_string();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");

    // Outside the base path.
    let r = client()
        .get(format!("http://{}/tickets", sim.addr()))
        .header("apikey", sim.api_key())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn literal_segments_win_over_placeholders() {
    let sim = start_small().await;
    // `/agents/_by_email` is its own operation, not `/agents/{userId}` with id `_by_email`.
    let agent = get_ok(&sim, "/agents/1").await;
    let email = agent["email"].as_str().unwrap();
    let (status, found) = json_req(
        &sim,
        Method::POST,
        "/agents/_by_email",
        &json!({ "email": email }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["id"], "1");
    // A trailing slash is optional.
    assert_eq!(get(&sim, "/agents").await.0, StatusCode::OK);
    assert_eq!(get(&sim, "/agents/").await.0, StatusCode::OK);
}

async fn expect_422(sim: &la_mock::Simulator, resp: reqwest::Response, needle: &str) {
    let _ = sim;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = resp.json().await.unwrap();
    let msg = body["message"].as_str().unwrap();
    assert!(
        msg.contains(needle),
        "message {msg:?} should name {needle:?}"
    );
}

#[tokio::test]
async fn parameter_validation() {
    let sim = start_small().await;
    // Integer path parameter.
    expect_422(&sim, send(&sim, Method::GET, "/bans/abc").await, "banId").await;
    // Number path parameter.
    expect_422(
        &sim,
        send(&sim, Method::GET, "/apikeys/x1").await,
        "apikeyId",
    )
    .await;
    // Integer query parameter.
    expect_422(
        &sim,
        send(&sim, Method::GET, "/tickets?_page=two").await,
        "_page",
    )
    .await;
    // Boolean query parameter.
    expect_422(
        &sim,
        send(&sim, Method::DELETE, "/contacts/1?deleteTickets=maybe").await,
        "deleteTickets",
    )
    .await;
    // Required query parameter.
    expect_422(
        &sim,
        send(&sim, Method::DELETE, "/contacts/1").await,
        "deleteTickets",
    )
    .await;
    expect_422(
        &sim,
        send(&sim, Method::GET, "/token?username=a").await,
        "password",
    )
    .await;
    // Integer header.
    let r = client()
        .get(sim.url("/calls"))
        .header("apikey", sim.api_key())
        .header("Timezone-Offset", "east")
        .send()
        .await
        .unwrap();
    expect_422(&sim, r, "Timezone-Offset").await;
    // Array query parameter: repeated values are fine.
    let r = send(
        &sim,
        Method::GET,
        "/settings?settingsNames=a&settingsNames=b",
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    // Bad filters JSON and unknown operators.
    expect_422(
        &sim,
        send(
            &sim,
            Method::GET,
            &format!("/tickets?_filters={}", enc("{bad")),
        )
        .await,
        "_filters",
    )
    .await;
    expect_422(
        &sim,
        send(
            &sim,
            Method::GET,
            &format!("/tickets?_filters={}", enc(r#"[["status","~~","N"]]"#)),
        )
        .await,
        "operator",
    )
    .await;
    expect_422(
        &sim,
        send(
            &sim,
            Method::GET,
            &format!("/calls/count?_filters={}", enc("[1")),
        )
        .await,
        "_filters",
    )
    .await;
    expect_422(
        &sim,
        send(&sim, Method::GET, "/tickets?_sortDir=UP").await,
        "_sortDir",
    )
    .await;
    expect_422(
        &sim,
        send(&sim, Method::GET, "/tickets?_sortField=nope").await,
        "nope",
    )
    .await;
    expect_422(
        &sim,
        send(&sim, Method::GET, "/grid/tickets?_cursor=%21%21").await,
        "_cursor",
    )
    .await;
}

#[tokio::test]
async fn json_body_validation() {
    let sim = start_small().await;
    let good = json!({
        "subject": "Printer on fire",
        "useridentifier": "ann.lee@example.com",
        "departmentid": "1",
        "recipient": "support@example.com",
        "message": "It is burning",
    });
    let cases = [
        (json!({ "subject": "x" }), "departmentid"),
        (
            {
                let mut b = good.clone();
                b["subject"] = json!(5);
                b
            },
            "body.subject",
        ),
        (
            {
                let mut b = good.clone();
                b["status"] = json!("Z");
                b
            },
            "body.status",
        ),
        (
            {
                let mut b = good.clone();
                b["tags"] = json!("a,b");
                b
            },
            "body.tags",
        ),
        (
            {
                let mut b = good.clone();
                b["tags"] = json!(["a", 3]);
                b
            },
            "body.tags[1]",
        ),
        (
            {
                let mut b = good.clone();
                b["custom_fields"] = json!([{ "code": 1 }]);
                b
            },
            "body.custom_fields[0].code",
        ),
        (json!([1, 2]), "expected object"),
    ];
    for (body, needle) in cases {
        let (status, answer) = json_req(&sim, Method::POST, "/tickets", &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let msg = answer["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{msg:?} should name {needle:?}");
    }
    // Not JSON at all.
    let r = client()
        .post(sim.url("/tickets"))
        .header("apikey", sim.api_key())
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    expect_422(&sim, r, "JSON").await;
    // Wrong content type.
    let r = client()
        .post(sim.url("/tickets"))
        .header("apikey", sim.api_key())
        .header("content-type", "text/plain")
        .body(good.to_string())
        .send()
        .await
        .unwrap();
    expect_422(&sim, r, "content type").await;
    // Missing required body.
    let r = send(&sim, Method::POST, "/calls/1/_fetchIvr").await;
    expect_422(&sim, r, "body").await;
    // Number properties accept integers; integers reject fractions.
    let (status, _) = json_req(&sim, Method::POST, "/contacts", &json!({ "latitude": 48 })).await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = json_req(&sim, Method::POST, "/bans/", &json!({ "id": 1.5 })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer["message"].as_str().unwrap().contains("body.id"));
    let (status, _) = json_req(&sim, Method::POST, "/bans/", &json!({ "id": 7 })).await;
    assert_eq!(status, StatusCode::OK);
    // The good body passes.
    let (status, answer) = json_req(&sim, Method::POST, "/tickets", &good).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

#[tokio::test]
async fn form_and_multipart_validation() {
    let sim = start_small().await;
    let c = client();
    // Required form field missing.
    let r = c
        .put(sim.url("/tickets/1/attributes/color"))
        .header("apikey", sim.api_key())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("other=1")
        .send()
        .await
        .unwrap();
    expect_422(&sim, r, "value").await;
    // Typed form field.
    let r = c
        .post(sim.url("/phone_numbers"))
        .header("apikey", sim.api_key())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("type=A&number=123&status=A&dial_out_prefix=abc")
        .send()
        .await
        .unwrap();
    expect_422(&sim, r, "dial_out_prefix").await;
    let r = c
        .put(sim.url("/tickets/1/attributes/color"))
        .header("apikey", sim.api_key())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("value=blue")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let attr = get_ok(&sim, "/tickets/1/attributes/color").await;
    assert_eq!(attr["value"], "blue");

    // Multipart without the file part.
    let boundary = "XBOUNDARYX";
    let no_file = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--{boundary}--\r\n"
    );
    let r = c
        .post(sim.url("/files"))
        .header("apikey", sim.api_key())
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(no_file)
        .send()
        .await
        .unwrap();
    expect_422(&sim, r, "file").await;
    let with_file = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n"
    );
    let r = c
        .post(sim.url("/files"))
        .header("apikey", sim.api_key())
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(with_file)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn dates_and_ids_look_like_liveagent() {
    let sim = start_small().await;
    let t = get_ok(&sim, "/tickets/3").await;
    assert_eq!(t["id"], "3");
    let created = t["date_created"].as_str().unwrap();
    assert_eq!(created.len(), 19);
    assert_eq!(&created[4..5], "-");
    assert_eq!(&created[10..11], " ");
    assert!(t["owner_email"].as_str().unwrap().contains('@'));
    // Generated answers: enums from the schema, emails for email fields.
    let agent = get_ok(&sim, "/agents/2").await;
    assert!(["owner", "admin", "agent"].contains(&agent["role"].as_str().unwrap()));
    let ok = get_ok(&sim, "/ping").await;
    assert_eq!(ok, json!({}));
}

#[test]
fn simulator_handle_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<la_mock::Simulator>();
    assert_send_sync::<la_mock::CounterSnapshot>();
}
