//! Contacts, companies and agents.

use serde_json::{Map, Value, json};

use super::views::{self, agent_row_field, project};
use super::{Ctx, Reply, same_name, serve_count, serve_list};
use crate::generate::now_string;
use crate::store::{Key, Resource, Store};
use crate::validate::parse_bool;

pub(super) fn handle(ctx: &Ctx<'_>) -> Option<Reply> {
    let spec = &ctx.shared.spec;
    Some(match ctx.op.id.as_str() {
        // Contacts
        "createContact" => create(ctx, Resource::Contacts, "Contact"),
        "getContactsList" => {
            let store = ctx.read();
            serve_list(ctx, store.get(Resource::Contacts), &same_name, &|_, r| {
                project(spec, "ContactListItem", r)
            })
        }
        "getSpecificContact" => read(ctx, Resource::Contacts, "contactId", "Contact"),
        "updateContact" | "patchContact" => update(ctx, Resource::Contacts, "contactId", "Contact"),
        "deleteContact" => delete(ctx, Resource::Contacts, "contactId"),
        "registerContact" => register(ctx, Resource::Contacts, "contactId", "Contact"),
        "unregisterContact" => unregister(ctx, Resource::Contacts, "contactId", "Contact"),
        // Companies
        "createCompany" => create(ctx, Resource::Companies, "Company"),
        "getCompaniesList" => {
            let store = ctx.read();
            serve_list(ctx, store.get(Resource::Companies), &same_name, &|_, r| {
                project(spec, "CompanyListItem", r)
            })
        }
        "getSpecificCompany" => read(ctx, Resource::Companies, "companyId", "Company"),
        "updateCompany" => update(ctx, Resource::Companies, "companyId", "Company"),
        "deleteCompany" => delete(ctx, Resource::Companies, "companyId"),
        "registerCompany" => register(ctx, Resource::Companies, "companyId", "Company"),
        "unregisterCompany" => unregister(ctx, Resource::Companies, "companyId", "Company"),
        // Agents
        "getAgents" => {
            let store = ctx.read();
            serve_list(ctx, store.get(Resource::Agents), &same_name, &|_, r| {
                project(spec, "Agent", r)
            })
        }
        "getAgentsGridList" => {
            let store = ctx.read();
            serve_list(
                ctx,
                store.get(Resource::Agents),
                &|r, c| r.get(agent_row_field(c)),
                &|_, r| views::agent_row(r),
            )
        }
        "getAgentsGridListCount" => {
            let store = ctx.read();
            serve_count(ctx, store.get(Resource::Agents), &|r, c| {
                r.get(agent_row_field(c))
            })
        }
        "getAgent" => read(ctx, Resource::Agents, "userId", "Agent"),
        "updateAgent" => update(ctx, Resource::Agents, "userId", "Agent"),
        "deleteAgent" => delete(ctx, Resource::Agents, "userId"),
        "getAgentByEmail" => {
            let wanted = ctx
                .body
                .json()
                .get("email")
                .and_then(Value::as_str)
                .unwrap_or("");
            let store = ctx.read();
            match find_agent_by_email(&store, wanted) {
                Some(a) => Reply::ok(project(spec, "Agent", a)),
                None => Reply::not_found("agent with email", wanted),
            }
        }
        "convertRegisteredVisitor" | "undeleteAgent" => create_agent(ctx),
        "loginAgent" | "logoutAgent" | "pauseAgent" => {
            let (status, answer) = match ctx.op.id.as_str() {
                "loginAgent" => ("O", json!({ "message": "agent logged in" })),
                "logoutAgent" => ("F", json!({})),
                _ => ("P", json!({})),
            };
            let key = ctx.key("userId");
            let mut store = ctx.write();
            match store.get_mut(Resource::Agents).get_mut(&key) {
                Some(agent) => {
                    agent["online_status"] = json!(status);
                    Reply::applied(answer)
                }
                None => Reply::not_found("agent", ctx.param("userId")),
            }
        }
        "getAgentStatuses" => {
            let key = ctx.key("userId");
            let store = ctx.read();
            let Some(agent) = store.get(Resource::Agents).get(&key) else {
                return Some(Reply::not_found("agent", ctx.param("userId")));
            };
            let online = agent.get("online_status").cloned().unwrap_or(json!("F"));
            let id = key.to_string();
            let statuses: Vec<Value> = store
                .get(Resource::Departments)
                .iter()
                .filter(|(_, d)| {
                    d.get("agent_ids")
                        .and_then(Value::as_array)
                        .is_some_and(|ids| ids.iter().any(|a| a.as_str() == Some(id.as_str())))
                })
                .map(|(k, _)| {
                    json!({ "departmentid": k.to_string(), "online_status": online, "preset_status": online })
                })
                .collect();
            Reply::ok(Value::Array(statuses))
        }
        _ => return None,
    })
}

fn find_agent_by_email<'a>(store: &'a Store, email: &str) -> Option<&'a Value> {
    store
        .get(Resource::Agents)
        .iter()
        .map(|(_, a)| a)
        .find(|a| a.get("email").and_then(Value::as_str) == Some(email))
}

fn name_of(resource: Resource) -> &'static str {
    match resource {
        Resource::Contacts => "contact",
        Resource::Companies => "company",
        Resource::Agents => "agent",
        _ => "record",
    }
}

/// Copies the body's fields onto a record, except the id and server-managed fields.
fn merge(record: &mut Value, body: &Map<String, Value>) {
    if let Value::Object(rec) = record {
        for (k, v) in body {
            if !matches!(k.as_str(), "id" | "date_created" | "date_changed" | "type") {
                rec.insert(k.clone(), v.clone());
            }
        }
    }
}

fn create(ctx: &Ctx<'_>, resource: Resource, schema: &str) -> Reply {
    let now = now_string();
    let mut record = json!({
        "emails": [],
        "phones": [],
        "groups": [],
        "custom_fields": [],
        "type": "V",
        "date_created": now,
        "date_changed": now,
        "registration_email": "",
    });
    merge(&mut record, &ctx.body_object());
    if resource == Resource::Contacts && record.get("system_name").is_none() {
        let first = record
            .get("firstname")
            .and_then(Value::as_str)
            .unwrap_or("");
        let last = record.get("lastname").and_then(Value::as_str).unwrap_or("");
        record["system_name"] = json!(format!("{first} {last}").trim());
    }
    if resource == Resource::Companies && record.get("system_name").is_none() {
        record["system_name"] = record.get("name").cloned().unwrap_or(json!(""));
    }
    let mut store = ctx.write();
    let (_, stored) = store.get_mut(resource).insert_new_entry(record);
    Reply::applied(project(&ctx.shared.spec, schema, stored))
}

fn read(ctx: &Ctx<'_>, resource: Resource, param: &str, schema: &str) -> Reply {
    let store = ctx.read();
    match store.get(resource).get(&ctx.key(param)) {
        Some(r) => Reply::ok(project(&ctx.shared.spec, schema, r)),
        None => Reply::not_found(name_of(resource), ctx.param(param)),
    }
}

fn update(ctx: &Ctx<'_>, resource: Resource, param: &str, schema: &str) -> Reply {
    let body = ctx.body_object();
    let mut store = ctx.write();
    let Some(record) = store.get_mut(resource).get_mut(&ctx.key(param)) else {
        return Reply::not_found(name_of(resource), ctx.param(param));
    };
    merge(record, &body);
    if resource != Resource::Agents {
        record["date_changed"] = json!(now_string());
    }
    Reply::applied(project(&ctx.shared.spec, schema, record))
}

fn delete(ctx: &Ctx<'_>, resource: Resource, param: &str) -> Reply {
    let key = ctx.key(param);
    let delete_tickets = ctx.query.get("deleteTickets").is_some_and(parse_bool);
    let mut store = ctx.write();
    if store.get_mut(resource).remove(&key).is_none() {
        return Reply::not_found(name_of(resource), ctx.param(param));
    }
    let id = key.to_string();
    if delete_tickets && matches!(resource, Resource::Contacts | Resource::Companies) {
        let owners: Vec<String> = if resource == Resource::Contacts {
            vec![id.clone()]
        } else {
            store
                .get(Resource::Contacts)
                .iter()
                .filter(|(_, c)| c.get("company_id").and_then(Value::as_str) == Some(id.as_str()))
                .map(|(k, _)| k.to_string())
                .collect()
        };
        let doomed: Vec<Key> = store
            .get(Resource::Tickets)
            .iter()
            .filter(|(_, t)| {
                t.get("owner_contactid")
                    .and_then(Value::as_str)
                    .is_some_and(|o| owners.iter().any(|w| w == o))
            })
            .map(|(k, _)| k.clone())
            .collect();
        for t in doomed {
            store.remove_ticket(&t);
        }
    }
    Reply::applied(json!({}))
}

fn register(ctx: &Ctx<'_>, resource: Resource, param: &str, schema: &str) -> Reply {
    let email = ctx
        .query
        .get("registration_email")
        .unwrap_or("")
        .to_string();
    let mut store = ctx.write();
    let Some(record) = store.get_mut(resource).get_mut(&ctx.key(param)) else {
        return Reply::not_found(name_of(resource), ctx.param(param));
    };
    record["type"] = json!("R");
    record["registration_email"] = json!(email);
    record["date_changed"] = json!(now_string());
    Reply::applied(project(&ctx.shared.spec, schema, record))
}

fn unregister(ctx: &Ctx<'_>, resource: Resource, param: &str, schema: &str) -> Reply {
    let mut store = ctx.write();
    let Some(record) = store.get_mut(resource).get_mut(&ctx.key(param)) else {
        return Reply::not_found(name_of(resource), ctx.param(param));
    };
    record["type"] = json!("V");
    record["registration_email"] = json!("");
    record["date_changed"] = json!(now_string());
    Reply::applied(project(&ctx.shared.spec, schema, record))
}

fn create_agent(ctx: &Ctx<'_>) -> Reply {
    let body = ctx.body_object();
    let email = body
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut store = ctx.write();
    if let Some(existing) = find_agent_by_email(&store, &email) {
        if ctx.op.id == "undeleteAgent" {
            return Reply::applied(project(&ctx.shared.spec, "Agent", existing));
        }
        return Reply::conflict(format!("an agent with email '{email}' already exists"));
    }
    let name = body.get("name").and_then(Value::as_str).unwrap_or("");
    let (first, last) = name.split_once(' ').unwrap_or((name, ""));
    let mut record = json!({
        "role": "agent",
        "avatar_url": "",
        "online_status": "F",
        "status": "A",
        "gender": "X",
        "firstname": first,
        "lastname": last,
        "countrycode": "",
        "departmentid": "",
        "twofa": "N",
    });
    merge(&mut record, &body);
    let (_, stored) = store.get_mut(Resource::Agents).insert_new_entry(record);
    Reply::applied(project(&ctx.shared.spec, "Agent", stored))
}
