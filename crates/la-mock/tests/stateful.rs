//! The stateful resources: tickets with messages and tags, contacts, companies, agents,
//! departments, tags and the call lifecycle.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use la_mock::Resource;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn ticket_lifecycle() {
    let sim = start_small().await;
    let (status, created) = json_req(
        &sim,
        Method::POST,
        "/tickets",
        &json!({
            "subject": "Broken login",
            "useridentifier": "new.person@example.org",
            "departmentid": "2",
            "recipient": "support@example.com",
            "message": "I cannot log in since Monday.",
            "tags": ["login", "3"],
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(id, "41", "fresh id after the 40 seeded tickets");
    assert_eq!(created["status"], "N");
    assert_eq!(created["subject"], "Broken login");
    assert!(!created["code"].as_str().unwrap().is_empty());
    assert_eq!(created["date_created"].as_str().unwrap().len(), 19);

    let ticket = get_ok(&sim, &format!("/tickets/{id}")).await;
    assert_eq!(ticket["owner_email"], "new.person@example.org");
    assert_eq!(ticket["departmentid"], "2");
    // `login` is a seeded tag name: it is stored as its id.
    let login_id = sim
        .records(Resource::Tags)
        .into_iter()
        .find(|t| t["name"] == "login")
        .map(|t| t["id"].as_str().unwrap().to_string())
        .unwrap();
    assert_eq!(ticket["tags"], json!([login_id, "3"]));
    // The owner became a contact.
    let owner = ticket["owner_contactid"].as_str().unwrap();
    let contact = get_ok(&sim, &format!("/contacts/{owner}")).await;
    assert_eq!(contact["emails"], json!(["new.person@example.org"]));

    // Messages.
    let groups = get_ok(&sim, &format!("/tickets/{id}/messages")).await;
    let groups = groups.as_array().unwrap();
    assert_eq!(groups.len(), 1);
    let message = &groups[0]["messages"][0];
    assert_eq!(message["message"], "I cannot log in since Monday.");
    let mid = message["id"].as_str().unwrap();
    let m = get_ok(&sim, &format!("/messages/{mid}")).await;
    assert_eq!(m["message"], "I cannot log in since Monday.");
    let cut = get_ok(
        &sim,
        &format!("/messages/{mid}?subString_Start=2&subString_Length=6"),
    )
    .await;
    assert_eq!(cut["message"], "cannot");

    // Update: status, tags, history.
    let (status, updated) = json_req(
        &sim,
        Method::PUT,
        &format!("/tickets/{id}"),
        &json!({ "status": "R", "tags": ["5"], "agentid": "2" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["status"], "R");
    assert_eq!(updated["tags"], json!(["5"]));
    assert!(!updated["date_resolved"].as_str().unwrap().is_empty());
    let history = get_ok(&sim, &format!("/tickets/{id}/history")).await;
    assert_eq!(history.as_array().unwrap().len(), 2);
    let filtered = get_ok(
        &sim,
        &format!(
            "/tickets?_filters={}",
            enc(r#"{"status":"R","agentid":"2"}"#)
        ),
    )
    .await;
    assert!(ids(&filtered, "id").contains(&id));

    // Postpone.
    let (status, _) = json_req(
        &sim,
        Method::PUT,
        &format!("/tickets/{id}/postpone"),
        &json!({ "date_time": "2030-01-01 10:00:00" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let t = get_ok(&sim, &format!("/tickets/{id}")).await;
    assert_eq!(t["status"], "P");
    assert_eq!(t["date_due"], "2030-01-01 10:00:00");

    // Delete.
    let r = send(&sim, Method::DELETE, &format!("/tickets/{id}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap(), json!({}));
    let (status, body) = get(&sim, &format!("/tickets/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["message"].as_str().unwrap().contains(&id));
    assert_eq!(
        get(&sim, &format!("/messages/{mid}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&sim, Method::DELETE, &format!("/tickets/{id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    for path in [
        "/tickets/9999",
        "/tickets/9999/messages",
        "/tickets/9999/history",
        "/tickets/9999/sla",
    ] {
        assert_eq!(get(&sim, path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) = json_req(
        &sim,
        Method::PUT,
        "/tickets/9999",
        &json!({ "status": "R" }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn contacts_companies_agents_departments_tags() {
    let sim = start_small().await;
    // Contacts.
    let (status, c) = json_req(
        &sim,
        Method::POST,
        "/contacts",
        &json!({ "firstname": "Ada", "lastname": "Byron", "emails": ["ada@example.com"] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    let cid = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["system_name"], "Ada Byron");
    assert_eq!(c["type"], "V");
    let (status, c2) = json_req(
        &sim,
        Method::PATCH,
        &format!("/contacts/{cid}"),
        &json!({ "city": "London" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(c2["city"], "London");
    assert_eq!(c2["firstname"], "Ada");
    let r = send(
        &sim,
        Method::PUT,
        &format!("/contacts/{cid}/_register?registration_email=ada%40example.com"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let listed = get_ok(
        &sim,
        &format!(
            "/contacts?_filters={}",
            enc(&format!(r#"{{"id":"{cid}"}}"#))
        ),
    )
    .await;
    assert_eq!(listed[0]["registration_email"], "ada@example.com");
    assert_eq!(listed[0]["type"], "R");
    let r = send(
        &sim,
        Method::DELETE,
        &format!("/contacts/{cid}/_unregister"),
    )
    .await;
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["type"], "V");
    let r = send(
        &sim,
        Method::DELETE,
        &format!("/contacts/{cid}?deleteTickets=false"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        get(&sim, &format!("/contacts/{cid}")).await.0,
        StatusCode::NOT_FOUND
    );

    // Deleting a contact with its tickets.
    let owner = get_ok(&sim, "/tickets/1").await["owner_contactid"]
        .as_str()
        .unwrap()
        .to_string();
    let before = sim.record_count(Resource::Tickets);
    let owned = sim
        .records(Resource::Tickets)
        .iter()
        .filter(|t| t["owner_contactid"] == owner.as_str())
        .count();
    let r = send(
        &sim,
        Method::DELETE,
        &format!("/contacts/{owner}?deleteTickets=true"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(sim.record_count(Resource::Tickets), before - owned);

    // Companies.
    let (status, co) = json_req(
        &sim,
        Method::POST,
        "/companies",
        &json!({ "name": "Initech" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let coid = co["id"].as_str().unwrap().to_string();
    let (status, co2) = json_req(
        &sim,
        Method::PUT,
        &format!("/companies/{coid}"),
        &json!({ "city": "Austin" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(co2["name"], "Initech");
    assert_eq!(co2["city"], "Austin");
    assert_eq!(get(&sim, "/companies/777").await.0, StatusCode::NOT_FOUND);

    // Agents.
    let (status, a) = json_req(
        &sim,
        Method::PUT,
        "/agents/2",
        &json!({ "name": "Renamed Agent", "email": "r@example.com" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(a["name"], "Renamed Agent");
    let r = send(&sim, Method::POST, "/agents/2/_logout").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(get_ok(&sim, "/agents/2").await["online_status"], "F");
    let (status, _) = json_req(
        &sim,
        Method::POST,
        "/agents/_by_email",
        &json!({ "email": "nobody@x" }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let r = send(&sim, Method::DELETE, "/agents/4").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(get(&sim, "/agents/4").await.0, StatusCode::NOT_FOUND);

    // Departments.
    let d = get_ok(&sim, "/departments/1").await;
    let member = d["agent_ids"][0].as_str().unwrap();
    assert_eq!(
        get(&sim, &format!("/departments/1/{member}")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        get(&sim, "/departments/1/999").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(get(&sim, "/departments/99").await.0, StatusCode::NOT_FOUND);
    let r = send(&sim, Method::PUT, "/departments/1/mailAccount/77").await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["mailaccount_id"],
        "77"
    );

    // Tags.
    let (status, t) = json_req(
        &sim,
        Method::POST,
        "/tags",
        &json!({ "name": "vip", "color": "#FF0000" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let tid = t["id"].as_str().unwrap().to_string();
    let by_id = get_ok(&sim, &format!("/tags/{tid}")).await;
    assert_eq!(by_id[0]["name"], "vip");
    let (status, upd) = json_req(
        &sim,
        Method::PUT,
        &format!("/tags/{tid}"),
        &json!({ "name": "VIP" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(upd[0]["name"], "VIP");
    let grid = get_ok(&sim, "/grid/tags?_perPage=100").await;
    assert!(
        grid.as_array()
            .unwrap()
            .iter()
            .any(|r| r["tagid"] == tid.as_str() && r["name"] == "VIP")
    );
    assert_eq!(
        send(&sim, Method::DELETE, &format!("/tags/{tid}"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        get(&sim, &format!("/tags/{tid}")).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn call_lifecycle() {
    let sim = start_small().await;
    let (status, call) = post_empty(
        &sim,
        "/calls/abc-1?to_number=%2B100&from_number=%2B200&direction=in",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{call}");
    assert_eq!(call["id"], "abc-1");
    let ticket = call["ticket_id"].as_str().unwrap().to_string();
    assert!(!ticket.is_empty());
    assert_eq!(
        get(&sim, &format!("/tickets/{ticket}")).await.0,
        StatusCode::OK
    );
    // A second create with the same id conflicts.
    assert_eq!(
        post_empty(&sim, "/calls/abc-1?to_number=1&from_number=2")
            .await
            .0,
        StatusCode::CONFLICT
    );

    let status_of = |body: serde_json::Value| body["status"].as_str().unwrap().to_string();
    assert_eq!(status_of(get_ok(&sim, "/calls/abc-1/status").await), "Q");
    let (s, ring) = post_empty(&sim, "/calls/abc-1/_ring?to_number=%2B300").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ring["status"], "R");
    assert_eq!(status_of(get_ok(&sim, "/calls/abc-1/status").await), "R");
    let (s, _) = post_empty(&sim, "/calls/abc-1/_answer?to_number=%2B300").await;
    assert_eq!(s, StatusCode::OK);
    let st = get_ok(&sim, "/calls/abc-1/status").await;
    assert_eq!(st["status"], "C");
    assert!(st["agent"]["id"].is_string());
    // Answering twice conflicts.
    assert_eq!(
        post_empty(&sim, "/calls/abc-1/_answer?to_number=1").await.0,
        StatusCode::CONFLICT
    );
    let (s, tr) = post_empty(&sim, "/calls/abc-1/_transfer?to=%2B400").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(tr["callee_status"], "O");
    assert_eq!(tr["to_number"], "+400");
    let (s, _) = post_empty(&sim, "/calls/abc-1/channels/ch1/_hold").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        sim.record(Resource::Calls, "abc-1").unwrap()["channels"]["ch1"]["held"],
        true
    );
    let (s, _) = post_empty(&sim, "/calls/abc-1/_stop").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(status_of(get_ok(&sim, "/calls/abc-1/status").await), "F");
    assert_eq!(
        post_empty(&sim, "/calls/abc-1/_stop").await.0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        post_empty(&sim, "/calls/abc-1/_ring").await.0,
        StatusCode::CONFLICT
    );

    // The list shows it with answer and finish dates.
    let list = get_ok(&sim, "/calls?_perPage=100").await;
    let item = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "abc-1")
        .unwrap()
        .clone();
    assert_eq!(item["type"], "I");
    assert_eq!(item["toNumber"], "+400");
    assert_eq!(item["fromNumber"], "+200");
    assert!(!item["dateAnswered"].as_str().unwrap().is_empty());
    assert!(!item["dateFinished"].as_str().unwrap().is_empty());
    // Numeric ids sort before other ids: the string id comes last.
    assert_eq!(list.as_array().unwrap().last().unwrap()["id"], "abc-1");

    // Unknown calls.
    assert_eq!(
        get(&sim, "/calls/nope/status").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post_empty(&sim, "/calls/nope/_ring").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post_empty(&sim, "/calls/x2?to_number=1&from_number=2&ticketId=99999")
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // callStart creates an outgoing call.
    let before = sim.record_count(Resource::Calls);
    let (s, _) = post_empty(&sim, "/call/_start?to_number=1&from_number=2&ticketId=1").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(sim.record_count(Resource::Calls), before + 1);
}
