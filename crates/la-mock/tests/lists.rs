//! Page lists, sorting, both filter forms, cursor chains and counts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use base64::Engine;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn nums(ids: &[String]) -> Vec<u64> {
    ids.iter().map(|i| i.parse().unwrap()).collect()
}

#[tokio::test]
async fn pages_default_and_explicit() {
    let sim = start_small().await;
    let first = get_ok(&sim, "/tickets").await;
    assert_eq!(nums(&ids(&first, "id")), (1..=10).collect::<Vec<_>>());
    let third = get_ok(&sim, "/tickets?_page=3&_perPage=7").await;
    assert_eq!(nums(&ids(&third, "id")), (15..=21).collect::<Vec<_>>());
    let past = get_ok(&sim, "/tickets?_page=100&_perPage=10").await;
    assert_eq!(past, json!([]));
    let last = get_ok(&sim, "/tickets?_page=4&_perPage=12").await;
    assert_eq!(nums(&ids(&last, "id")), vec![37, 38, 39, 40]);
    let (status, _) = get(&sim, "/tickets?_perPage=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Large pages are capped at 1000.
    let big = get_ok(&sim, "/tickets?_perPage=100000").await;
    assert_eq!(big.as_array().unwrap().len(), 40);
}

#[tokio::test]
async fn from_to_wins_over_page() {
    let sim = start_small().await;
    let slice = get_ok(&sim, "/tickets?_from=5&_to=9&_page=3").await;
    assert_eq!(nums(&ids(&slice, "id")), vec![6, 7, 8, 9]);
    let from_only = get_ok(&sim, "/tickets?_from=35&_perPage=10").await;
    assert_eq!(nums(&ids(&from_only, "id")), vec![36, 37, 38, 39, 40]);
}

#[tokio::test]
async fn sorting_both_directions() {
    let sim = start_small().await;
    let desc = get_ok(&sim, "/tickets?_sortDir=DESC&_perPage=3").await;
    assert_eq!(nums(&ids(&desc, "id")), vec![40, 39, 38]);
    let by_subject = get_ok(&sim, "/tickets?_sortField=subject&_perPage=40").await;
    let subjects: Vec<String> = by_subject
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["subject"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = subjects.clone();
    sorted.sort();
    assert_eq!(subjects, sorted);
    let by_subject_desc = get_ok(
        &sim,
        "/tickets?_sortField=subject&_sortDir=desc&_perPage=40",
    )
    .await;
    let mut rev: Vec<String> = by_subject_desc
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["subject"].as_str().unwrap().to_string())
        .collect();
    rev.reverse();
    assert_eq!(rev, sorted);
    // Numeric columns sort numerically (ids as strings "10" > "9").
    let by_id = get_ok(&sim, "/tickets?_sortField=id&_sortDir=DESC&_perPage=2").await;
    assert_eq!(nums(&ids(&by_id, "id")), vec![40, 39]);
}

async fn all_tickets(sim: &la_mock::Simulator) -> Vec<Value> {
    get_ok(sim, "/tickets?_perPage=1000")
        .await
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn object_filters_are_equality() {
    let sim = start_small().await;
    let all = all_tickets(&sim).await;
    let expected: Vec<&Value> = all.iter().filter(|t| t["status"] == "R").collect();
    assert!(!expected.is_empty());
    let got = get_ok(
        &sim,
        &format!(
            "/tickets?_perPage=100&_filters={}",
            enc(r#"{"status":"R"}"#)
        ),
    )
    .await;
    assert_eq!(got.as_array().unwrap().len(), expected.len());
    assert!(got.as_array().unwrap().iter().all(|t| t["status"] == "R"));
    let two = get_ok(
        &sim,
        &format!(
            "/tickets?_perPage=100&_filters={}",
            enc(r#"{"status":"R","departmentid":"1"}"#)
        ),
    )
    .await;
    let n = all
        .iter()
        .filter(|t| t["status"] == "R" && t["departmentid"] == "1")
        .count();
    assert_eq!(two.as_array().unwrap().len(), n);
}

#[tokio::test]
async fn array_filters_with_every_operator() {
    let sim = start_small().await;
    let all = all_tickets(&sim).await;
    let pivot = all[19]["date_created"].as_str().unwrap().to_string();
    let subject_word = all[0]["subject"]
        .as_str()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_lowercase();
    type Pred = Box<dyn Fn(&Value) -> bool>;
    let s = |t: &Value, f: &str| t[f].as_str().unwrap_or("").to_string();
    let p2 = pivot.clone();
    let p3 = pivot.clone();
    let p4 = pivot.clone();
    let p5 = pivot.clone();
    let w = subject_word.clone();
    let w2 = subject_word.clone();
    let cases: Vec<(Value, Pred)> = vec![
        (
            json!([["status", "=", "N"]]),
            Box::new(move |t| s(t, "status") == "N"),
        ),
        (
            json!([["status", "!=", "N"]]),
            Box::new(move |t| s(t, "status") != "N"),
        ),
        (
            json!([["date_created", "<", pivot]]),
            Box::new(move |t| s(t, "date_created") < p2),
        ),
        (
            json!([["date_created", "<=", p3.clone()]]),
            Box::new(move |t| s(t, "date_created") <= p3),
        ),
        (
            json!([["date_created", ">", p4.clone()]]),
            Box::new(move |t| s(t, "date_created") > p4),
        ),
        (
            json!([["date_created", ">=", p5.clone()]]),
            Box::new(move |t| s(t, "date_created") >= p5),
        ),
        (
            json!([["subject", "L", format!("%{}%", subject_word.to_uppercase())]]),
            Box::new(move |t| s(t, "subject").to_lowercase().contains(&w)),
        ),
        (
            json!([["subject", "NL", format!("%{}%", subject_word)]]),
            Box::new(move |t| !s(t, "subject").to_lowercase().contains(&w2)),
        ),
        (
            json!([["status", "IN", "N,T"]]),
            Box::new(move |t| ["N", "T"].contains(&s(t, "status").as_str())),
        ),
        (
            json!([["status", "IN", ["R", "A"]]]),
            Box::new(move |t| ["R", "A"].contains(&s(t, "status").as_str())),
        ),
        (
            json!([["status", "NOT IN", "N,T"]]),
            Box::new(move |t| !["N", "T"].contains(&s(t, "status").as_str())),
        ),
        (
            json!([["status", "!=", "N"], ["departmentid", "=", "2"]]),
            Box::new(move |t| s(t, "status") != "N" && s(t, "departmentid") == "2"),
        ),
        (
            json!([["id", ">", "35"]]),
            Box::new(move |t| s(t, "id").parse::<u64>().unwrap() > 35),
        ),
    ];
    for (filter, pred) in cases {
        let expected: Vec<String> = all.iter().filter(|t| pred(t)).map(|t| s(t, "id")).collect();
        let got = get_ok(
            &sim,
            &format!(
                "/tickets?_perPage=1000&_filters={}",
                enc(&filter.to_string())
            ),
        )
        .await;
        assert_eq!(ids(&got, "id"), expected, "filter {filter}");
        // Page through the same filter: the pages concatenate to the full result.
        let mut paged = Vec::new();
        for page in 1..=10 {
            let p = get_ok(
                &sim,
                &format!(
                    "/tickets?_perPage=4&_page={page}&_filters={}",
                    enc(&filter.to_string())
                ),
            )
            .await;
            paged.extend(ids(&p, "id"));
        }
        assert_eq!(paged, expected, "paged filter {filter}");
    }
    // Tag filters match array fields element-wise.
    let tagged: Vec<String> = all
        .iter()
        .filter(|t| t["tags"].as_array().unwrap().iter().any(|x| x == "2"))
        .map(|t| s(t, "id"))
        .collect();
    let got = get_ok(
        &sim,
        &format!(
            "/tickets?_perPage=100&_filters={}",
            enc(r#"[["tags","=","2"]]"#)
        ),
    )
    .await;
    assert_eq!(ids(&got, "id"), tagged);
}

#[tokio::test]
async fn unknown_filter_column_or_operator_is_422() {
    let sim = start_small().await;
    for f in [
        r#"[["nope","=","1"]]"#,
        r#"[["status","LIKEISH","1"]]"#,
        r#"[["status","="]]"#,
        r#"{"nope":"1"}"#,
        r#""text""#,
    ] {
        let (status, body) = get(&sim, &format!("/tickets?_filters={}", enc(f))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{f}: {body}");
        assert!(body["message"].as_str().unwrap().contains("_filters"));
    }
}

async fn walk_cursor(
    sim: &la_mock::Simulator,
    path: &str,
    per_page: usize,
    id_field: &str,
) -> (Vec<String>, usize) {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}_perPage={per_page}&_cursor={}", enc(c)),
            None => format!("{path}{sep}_perPage={per_page}"),
        };
        let resp = send(sim, Method::GET, &url).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let next = resp
            .headers()
            .get("next_page_cursor")
            .map(|v| v.to_str().unwrap().to_string())
            .filter(|v| !v.is_empty());
        let body: Value = resp.json().await.unwrap();
        let page = ids(&body, id_field);
        assert!(page.len() <= per_page);
        pages += 1;
        if let Some(n) = &next {
            // The cursor names the last record of the page.
            let decoded = base64::engine::general_purpose::STANDARD.decode(n).unwrap();
            let obj: Value = serde_json::from_slice(&decoded).unwrap();
            assert_eq!(obj["id"].as_str(), page.last().map(String::as_str));
            assert_eq!(page.len(), per_page);
        }
        seen.extend(page);
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
        assert!(pages < 1000, "cursor chain does not end");
    }
    (seen, pages)
}

#[tokio::test]
async fn cursor_chain_walks_every_record_once() {
    let sim = start_small().await;
    let (seen, pages) = walk_cursor(&sim, "/grid/tickets", 7, "conversationid").await;
    assert_eq!(nums(&seen), (1..=40).collect::<Vec<_>>());
    assert_eq!(pages, 6);
    // Exactly divisible: no header on the last full page.
    let (seen, pages) = walk_cursor(&sim, "/grid/tickets", 8, "conversationid").await;
    assert_eq!(seen.len(), 40);
    assert_eq!(pages, 5);
    // Calls, ticket history and generated cursor lists.
    let (calls, _) = walk_cursor(&sim, "/calls", 3, "id").await;
    assert_eq!(calls.len(), 8);
    let (history, _) = walk_cursor(&sim, "/tickets/history", 9, "id").await;
    assert_eq!(history.len(), 40);
    let (chats, _) = walk_cursor(&sim, "/grid/chats", 10, "conversationid").await;
    let unique: BTreeSet<&String> = chats.iter().collect();
    assert_eq!(unique.len(), chats.len());
    let count = get_ok(&sim, "/grid/chats/count").await;
    assert_eq!(count["count"].as_u64().unwrap() as usize, chats.len());
}

#[tokio::test]
async fn cursor_with_filters_and_descending_order() {
    let sim = start_small().await;
    let filter = enc(r#"[["status","IN","R,N"]]"#);
    let (seen, _) = walk_cursor(
        &sim,
        &format!("/grid/tickets?_filters={filter}"),
        3,
        "conversationid",
    )
    .await;
    let all = all_tickets(&sim).await;
    let expected: Vec<String> = all
        .iter()
        .filter(|t| t["status"] == "R" || t["status"] == "N")
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen, expected);
    let count = get_ok(&sim, &format!("/grid/tickets/count?_filters={filter}")).await;
    assert_eq!(count["count"].as_u64().unwrap() as usize, expected.len());
    let (desc, _) = walk_cursor(&sim, "/grid/tickets?_sortDir=DESC", 6, "conversationid").await;
    assert_eq!(nums(&desc), (1..=40).rev().collect::<Vec<_>>());
    // A hand-made cursor resumes after a known id.
    let cursor = base64::engine::general_purpose::STANDARD.encode(r#"{"id":"37"}"#);
    let page = get_ok(&sim, &format!("/grid/tickets?_cursor={}", enc(&cursor))).await;
    assert_eq!(ids(&page, "conversationid"), vec!["38", "39", "40"]);
}

#[tokio::test]
async fn counts_agree_with_lists() {
    let sim = start_small().await;
    let pairs = [
        ("/grid/tickets", "/grid/tickets/count", "conversationid"),
        ("/grid/agents", "/grid/agents/count", "agentid"),
        ("/grid/departments", "/grid/departments/count", "id"),
        ("/grid/tags", "/grid/tags/count", "tagid"),
        ("/calls", "/calls/count", "id"),
        ("/tickets/history", "/tickets/history/count", "id"),
        ("/extensions", "/extensions/count", "id"),
        ("/viber_accounts", "/viber_accounts/count", "id"),
    ];
    for (list, count, field) in pairs {
        let (items, _) = walk_cursor(&sim, list, 50, field).await;
        let n = get_ok(&sim, count).await["count"].as_u64().unwrap() as usize;
        assert_eq!(n, items.len(), "{count}");
    }
    // With filters too.
    let f = enc(r#"[["type","=","I"]]"#);
    let (items, _) = walk_cursor(&sim, &format!("/calls?_filters={f}"), 50, "id").await;
    let n = get_ok(&sim, &format!("/calls/count?_filters={f}")).await["count"]
        .as_u64()
        .unwrap() as usize;
    assert_eq!(n, items.len());
    // Creating a record changes the count.
    let before = get_ok(&sim, "/grid/tickets/count").await["count"]
        .as_u64()
        .unwrap();
    let (status, _) = json_req(
        &sim,
        Method::POST,
        "/tickets",
        &json!({"subject":"s","useridentifier":"x@y.z","departmentid":"1","recipient":"r@y.z","message":"m"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let after = get_ok(&sim, "/grid/tickets/count").await["count"]
        .as_u64()
        .unwrap();
    assert_eq!(after, before + 1);
}

#[tokio::test]
async fn generated_page_lists_page_consistently() {
    let sim = start_small().await;
    let all = get_ok(&sim, "/canned_messages?_perPage=100").await;
    let n = all.as_array().unwrap().len();
    assert!(n > 10);
    let p2 = get_ok(&sim, "/canned_messages?_page=2&_perPage=5").await;
    assert_eq!(p2.as_array().unwrap()[..], all.as_array().unwrap()[5..10]);
}

/// The schema of the records a list answer holds, read from the raw description: the items of
/// an array, or of the array a wrapper object holds (`{"size": .., "items": [..]}`).
fn listed_records<'a>(doc: &'a Value, op: &'a Value) -> (Option<&'a str>, &'a Value) {
    fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => resolve(
                doc,
                &doc["components"]["schemas"][r.rsplit('/').next().unwrap()],
            ),
            None => schema,
        }
    }
    let response = resolve(
        doc,
        op.pointer("/responses/200/content/application~1json/schema")
            .unwrap(),
    );
    if response["type"] == "array" {
        return (None, resolve(doc, &response["items"]));
    }
    let props = response["properties"].as_object().unwrap();
    let (name, array) = props
        .iter()
        .find(|(_, p)| resolve(doc, p)["type"] == "array")
        .expect("a wrapper holds an array");
    (
        Some(name.as_str()),
        resolve(doc, &resolve(doc, array)["items"]),
    )
}

#[tokio::test]
async fn every_list_sorts_by_every_column_of_its_items() {
    let doc: Value =
        serde_json::from_str(include_str!("../spec/liveagent-v3.openapi.json")).unwrap();
    let sim = small().generated_records(12).start().await.unwrap();
    let mut lists = 0;
    let mut failures = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(op) = item.get("get") else { continue };
        let params: Vec<&str> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["name"].as_str())
            .collect();
        if !params.contains(&"_sortField") {
            continue;
        }
        lists += 1;
        let id = op["operationId"].as_str().unwrap();
        let mut url_path = path.clone();
        for p in op["parameters"].as_array().into_iter().flatten() {
            if p["in"] == "path" {
                url_path = url_path.replace(&format!("{{{}}}", p["name"].as_str().unwrap()), "1");
            }
        }
        let (wrapper, records) = listed_records(&doc, op);
        let columns = records["properties"].as_object().unwrap();
        assert!(!columns.is_empty(), "{id}: no columns");
        for column in columns.keys() {
            let (status, body) =
                get(&sim, &format!("{url_path}?_sortField={column}&_perPage=50")).await;
            if status != StatusCode::OK {
                failures.push(format!("{id} by {column}: {status} {body}"));
                continue;
            }
            let rows = match wrapper {
                Some(name) => body[name].as_array().cloned(),
                None => body.as_array().cloned(),
            }
            .unwrap_or_default();
            // Where every value is a string or a number, the rows come in its order.
            let keys: Option<Vec<String>> = rows
                .iter()
                .map(|row| match &row[column] {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect();
            if let Some(keys) = keys
                && keys
                    .windows(2)
                    .any(|w| la_mock::list::compare_text(&w[0], &w[1]).is_gt())
            {
                failures.push(format!("{id} by {column}: not in order: {keys:?}"));
            }
        }
    }
    assert!(lists >= 30, "only {lists} sortable lists found");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn the_page_cap_is_configurable_and_offsets_follow_the_clamped_size() {
    let sim = small().max_per_page(15).start().await.unwrap();
    let first = get_ok(&sim, "/tickets?_perPage=1000").await;
    assert_eq!(nums(&ids(&first, "id")), (1..=15).collect::<Vec<_>>());
    // Page 2 starts after the 15 served, not after the 1,000 asked.
    let second = get_ok(&sim, "/tickets?_perPage=1000&_page=2").await;
    assert_eq!(nums(&ids(&second, "id")), (16..=30).collect::<Vec<_>>());
    // `_to` is capped too.
    let slice = get_ok(&sim, "/tickets?_from=2&_to=40").await;
    assert_eq!(nums(&ids(&slice, "id")), (3..=17).collect::<Vec<_>>());
    // Cursor lists as well, and the cap can be changed at run time.
    sim.set_list_settings(la_mock::ListSettings {
        max_per_page: 4,
        ..sim.list_settings()
    });
    let (status, grid) = get(&sim, "/grid/tickets?_perPage=100").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(grid.as_array().unwrap().len(), 4);
    // The default stays 1,000.
    assert_eq!(la_mock::ListSettings::default().max_per_page, 1000);
}

#[tokio::test]
async fn ignore_page_serves_the_first_page_again() {
    let sim = small().ignore_page(true).start().await.unwrap();
    let first = get_ok(&sim, "/tickets?_perPage=5&_page=1").await;
    let third = get_ok(&sim, "/tickets?_perPage=5&_page=3").await;
    assert_eq!(first, third);
    assert_eq!(nums(&ids(&third, "id")), (1..=5).collect::<Vec<_>>());
    // `_from` is still honoured.
    let from = get_ok(&sim, "/tickets?_from=5&_perPage=5").await;
    assert_eq!(nums(&ids(&from, "id")), (6..=10).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_sorted_cursor_list_walks_every_record_once_in_order() {
    let sim = start_small().await;
    for dir in ["ASC", "DESC"] {
        let mut cursor: Option<String> = None;
        let mut subjects = Vec::new();
        let mut seen = BTreeSet::new();
        for _ in 0..20 {
            let mut path = format!("/grid/tickets?_sortField=subject&_sortDir={dir}&_perPage=7");
            if let Some(c) = &cursor {
                path.push_str(&format!("&_cursor={}", enc(c)));
            }
            let response = send(&sim, Method::GET, &path).await;
            assert_eq!(response.status(), StatusCode::OK);
            cursor = response
                .headers()
                .get("next_page_cursor")
                .map(|v| v.to_str().unwrap().to_owned());
            let rows: Value = response.json().await.unwrap();
            for row in rows.as_array().unwrap() {
                assert!(seen.insert(row["conversationid"].to_string()), "{row}");
                subjects.push(row["subject"].as_str().unwrap().to_owned());
            }
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(seen.len(), 40, "{dir}: every ticket once");
        let mut sorted = subjects.clone();
        sorted.sort_by(|a, b| la_mock::list::compare_text(a, b));
        if dir == "DESC" {
            sorted.reverse();
        }
        // Ties keep id order in both directions' own sense; compare the subjects only.
        assert_eq!(subjects, sorted, "{dir}");
    }
}
