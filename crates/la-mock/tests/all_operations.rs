//! Walks the OpenAPI description and sends a valid request to each of the 255 operations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Map, Value, json};

const SPEC: &str = include_str!("../spec/liveagent-v3.openapi.json");

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap();
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// A minimal valid value: required properties only, first enum values.
fn example(doc: &Value, schema: &Value, name: &str) -> Value {
    let schema = resolve(doc, schema);
    if let Some(first) = schema.get("enum").and_then(|e| e.get(0)) {
        return first.clone();
    }
    match schema
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("object")
    {
        "integer" | "number" => json!(1),
        "boolean" => json!(true),
        "array" => json!([example(doc, &schema["items"], name)]),
        "string" if name.contains("email") => json!("walker@example.com"),
        "string" => json!("1"),
        _ => {
            let mut map = Map::new();
            for req in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let prop = req.as_str().unwrap();
                map.insert(
                    prop.to_string(),
                    example(doc, &schema["properties"][prop], prop),
                );
            }
            Value::Object(map)
        }
    }
}

fn query_value(name: &str, ty: &str) -> String {
    match (name, ty) {
        (_, "boolean") => "true".into(),
        (n, _) if n.contains("email") => "walker%40example.com".into(),
        ("to_callId" | "secCallId", _) => "2".into(),
        _ => "1".into(),
    }
}

fn top_type(doc: &Value, op: &Value) -> Option<String> {
    let schema = op.pointer("/responses/200/content/application~1json/schema")?;
    resolve(doc, schema)
        .get("type")
        .and_then(Value::as_str)
        .map(str::to_string)
}

#[tokio::test]
async fn every_operation_answers_a_valid_request() {
    let doc: Value = serde_json::from_str(SPEC).unwrap();
    let index = la_mock::spec::SpecIndex::embedded().unwrap();
    let mut total = 0;
    let mut failures = Vec::new();
    // Reads share one simulator; each write gets a fresh one so writes cannot affect each other.
    let reader = start_small().await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            total += 1;
            let id = op["operationId"].as_str().unwrap();
            let fresh;
            let sim = if method == "get" {
                reader.reset_counters();
                &reader
            } else {
                fresh = start_small().await;
                &fresh
            };
            let mut url_path = path.clone();
            let mut query = Vec::new();
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                let ty = p["schema"]["type"].as_str().unwrap_or("string");
                match p["in"].as_str().unwrap() {
                    "path" => {
                        let value = if id == "callCreate" {
                            "fresh-call"
                        } else {
                            "1"
                        };
                        url_path = url_path.replace(&format!("{{{name}}}"), value);
                    }
                    "query" if p["required"].as_bool() == Some(true) => {
                        query.push(format!("{name}={}", query_value(name, ty)));
                    }
                    _ => {}
                }
            }
            if !query.is_empty() {
                url_path = format!("{url_path}?{}", query.join("&"));
            }
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let mut req = client()
                .request(m, sim.url(&url_path))
                .header("apikey", sim.api_key());
            if let Some(content) = op
                .pointer("/requestBody/content")
                .and_then(Value::as_object)
            {
                let (media, spec) = content.iter().next().unwrap();
                let mut body = example(&doc, &spec["schema"], "");
                if id == "getAgentByEmail" {
                    body = json!({ "email": get_ok(sim, "/agents/1").await["email"] });
                }
                if body.get("secCallId").is_some() {
                    body["secCallId"] = json!("2");
                }
                req = match media.as_str() {
                    "application/json" => req.json(&body),
                    "application/x-www-form-urlencoded" => {
                        let pairs: Vec<(String, String)> = body
                            .as_object()
                            .unwrap()
                            .iter()
                            .map(|(k, v)| {
                                (
                                    k.clone(),
                                    v.as_str()
                                        .map(str::to_string)
                                        .unwrap_or_else(|| v.to_string()),
                                )
                            })
                            .collect();
                        req.header("content-type", media.as_str())
                            .body(serde_urlencoded::to_string(pairs).unwrap())
                    }
                    _ => {
                        let b = "BOUNDARY42";
                        req.header("content-type", format!("multipart/form-data; boundary={b}")).body(format!(
                            "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n\x01\x02\x03\r\n--{b}--\r\n"
                        ))
                    }
                };
            }
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let text = resp.text().await.unwrap();
            let parsed: Result<Value, _> = serde_json::from_str(&text);
            let counted = sim.counters().operation(id).handled;
            // The answer is valid for the response schema (types, enums, required fields).
            let schema_ok = match (
                &parsed,
                index.operation(id).and_then(|o| o.response.as_ref()),
            ) {
                (Ok(value), Some(schema)) => {
                    la_mock::validate::check_json(&index, schema, value, "response")
                        .map_err(|e| e.to_string())
                }
                _ => Ok(()),
            };
            let shape_ok = match (top_type(&doc, op).as_deref(), &parsed) {
                (Some("array"), Ok(v)) => v.is_array(),
                (Some("object"), Ok(v)) => v.is_object(),
                (Some("string"), Ok(v)) => v.is_string(),
                (_, Ok(_)) => true,
                (_, Err(_)) => false,
            };
            if !status.is_success() || counted != 1 || !shape_ok || schema_ok.is_err() {
                failures.push(format!(
                    "{method} {path} ({id}) -> {status} handled={counted} shape_ok={shape_ok} schema={schema_ok:?}: {text:.200}"
                ));
            }
        }
    }
    assert_eq!(total, 255);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
