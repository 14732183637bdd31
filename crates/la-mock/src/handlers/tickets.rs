//! Tickets with their message groups, history and attributes.

use serde_json::{Value, json};

use super::views::{self, project, ticket_row_field};
use super::{Ctx, Reply, same_name, serve_count, serve_list};
use crate::generate::{now_string, ticket_code, token};
use crate::list;
use crate::store::{Key, Resource, Store};

pub(super) fn handle(ctx: &Ctx<'_>) -> Option<Reply> {
    Some(match ctx.op.id.as_str() {
        "createTicket" => create(ctx),
        "getTicketsList" => {
            let store = ctx.read();
            let spec = &ctx.shared.spec;
            serve_list(ctx, store.get(Resource::Tickets), &same_name, &|_, r| {
                project(spec, "Ticket", r)
            })
        }
        "getTicket" => with_ticket(ctx, |_, t| {
            Reply::ok(project(&ctx.shared.spec, "Ticket", t))
        }),
        "updateTicket" => update(ctx),
        "deleteTicket" => {
            let key = ctx.key("ticketId");
            match ctx.write().remove_ticket(&key) {
                Some(_) => Reply::applied(json!({})),
                None => Reply::not_found("ticket", ctx.param("ticketId")),
            }
        }
        "getTicketsGridList" => {
            let store = ctx.read();
            let s: &Store = &store;
            serve_list(
                ctx,
                s.get(Resource::Tickets),
                &|r, c| r.get(ticket_row_field(c)),
                &|_, r| views::ticket_row(s, r),
            )
        }
        "getTicketsGridListCount" => {
            let store = ctx.read();
            serve_count(ctx, store.get(Resource::Tickets), &|r, c| {
                r.get(ticket_row_field(c))
            })
        }
        "getTicketHistory" => {
            let store = ctx.read();
            let spec = &ctx.shared.spec;
            serve_list(
                ctx,
                store.get(Resource::TicketHistory),
                &same_name,
                &|_, r| project(spec, "TicketHistory", r),
            )
        }
        "getTicketHistoryCount" => {
            let store = ctx.read();
            serve_count(ctx, store.get(Resource::TicketHistory), &same_name)
        }
        "getTicketHistory_0" => with_ticket(ctx, |store, t| {
            let key = Key::parse(text(t, "id"));
            let items = store
                .history_of(&key)
                .into_iter()
                .map(|h| project(&ctx.shared.spec, "TicketHistory", h))
                .collect();
            Reply::ok(Value::Array(items))
        }),
        "getTicketMessageGroups" => message_groups(ctx),
        "getTicketAttribute" => with_ticket(ctx, |store, t| {
            let name = ctx.param("attributeName");
            let key = Key::parse(text(t, "id"));
            let value = store
                .ticket_attributes
                .get(&(key, name.to_string()))
                .cloned()
                .unwrap_or_default();
            Reply::ok(json!({ "id": name, "name": name, "value": value }))
        }),
        "setTicketAttribute" => {
            let key = ctx.key("ticketId");
            let mut store = ctx.write();
            if !store.get(Resource::Tickets).contains(&key) {
                return Some(Reply::not_found("ticket", ctx.param("ticketId")));
            }
            let value = ctx.body.form("value").unwrap_or("").to_string();
            store
                .ticket_attributes
                .insert((key, ctx.param("attributeName").to_string()), value);
            Reply::applied(json!({}))
        }
        "getTicketSla" => with_ticket(ctx, |_, t| {
            let mut sla = ctx.generated_response();
            sla["conversationid"] = json!(text(t, "id"));
            Reply::ok(sla)
        }),
        "getSlaTicketHistory" => with_ticket(ctx, |_, _| Reply::ok(ctx.generated_response())),
        "setTicketPostpone" => {
            let key = ctx.key("ticketId");
            let mut store = ctx.write();
            let Some(ticket) = store.get_mut(Resource::Tickets).get_mut(&key) else {
                return Some(Reply::not_found("ticket", ctx.param("ticketId")));
            };
            let until = ctx
                .body
                .json()
                .get("date_time")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            ticket["status"] = json!("P");
            ticket["date_due"] = json!(until);
            ticket["date_changed"] = json!(now_string());
            Reply::applied(json!({}))
        }
        "getMessage" => message(ctx),
        _ => return None,
    })
}

/// What differs between the tickets the API creates (`createTicket`, a call without a ticket).
pub(super) struct NewTicket<'a> {
    pub contact_id: &'a str,
    pub owner_email: &'a str,
    pub owner_name: &'a str,
    pub department_id: &'a str,
    pub status: &'a str,
    pub tags: Value,
    pub channel_type: &'a str,
    pub subject: &'a str,
    pub custom_fields: Value,
}

impl NewTicket<'_> {
    /// The record of new ticket `id` created `now`, with a random code and access token
    /// (drawn from `rng` in that order); the id itself is written on insert.
    pub(super) fn record(self, rng: &mut fastrand::Rng, id: u64, now: &str) -> Value {
        json!({
            "owner_contactid": self.contact_id,
            "owner_email": self.owner_email,
            "owner_name": self.owner_name,
            "departmentid": self.department_id,
            "agentid": "",
            "status": self.status,
            "tags": self.tags,
            "code": ticket_code(rng, id),
            "channel_type": self.channel_type,
            "date_created": now,
            "date_changed": now,
            "date_resolved": "",
            "date_due": "",
            "date_deleted": "",
            "last_activity": now,
            "last_activity_public": now,
            "public_access_urlcode": token(rng, 10),
            "subject": self.subject,
            "custom_fields": self.custom_fields,
        })
    }
}

fn text<'a>(record: &'a Value, field: &str) -> &'a str {
    record.get(field).and_then(Value::as_str).unwrap_or("")
}

/// Runs `f` on the ticket named by the `ticketId` path parameter, or answers 404.
fn with_ticket(ctx: &Ctx<'_>, f: impl FnOnce(&Store, &Value) -> Reply) -> Reply {
    let key = ctx.key("ticketId");
    let store = ctx.read();
    match store.get(Resource::Tickets).get(&key) {
        Some(t) => f(&store, t),
        None => Reply::not_found("ticket", ctx.param("ticketId")),
    }
}

/// Finds a contact by id or email, creating one for an unknown email.
pub(super) fn resolve_contact(store: &mut Store, identifier: &str) -> (String, String, String) {
    let contacts = store.get(Resource::Contacts);
    if let Some(c) = contacts.get(&Key::parse(identifier)) {
        let mail = c.pointer("/emails/0").and_then(Value::as_str).unwrap_or("");
        return (
            text(c, "id").to_string(),
            mail.to_string(),
            text(c, "system_name").to_string(),
        );
    }
    let by_mail = contacts.iter().find(|(_, c)| {
        c.get("emails")
            .and_then(Value::as_array)
            .is_some_and(|e| e.iter().any(|m| m.as_str() == Some(identifier)))
    });
    if let Some((k, c)) = by_mail {
        return (
            k.to_string(),
            identifier.to_string(),
            text(c, "system_name").to_string(),
        );
    }
    let local = identifier.split('@').next().unwrap_or(identifier);
    let (first, last) = local.split_once('.').unwrap_or((local, ""));
    let now = now_string();
    let name = format!("{first} {last}").trim().to_string();
    let record = json!({
        "company_id": "",
        "firstname": first,
        "lastname": last,
        "system_name": name,
        "emails": [identifier],
        "phones": [],
        "groups": [],
        "custom_fields": [],
        "type": "V",
        "date_created": now,
        "date_changed": now,
        "registration_email": "",
    });
    let key = store.get_mut(Resource::Contacts).insert_new(record);
    (key.to_string(), identifier.to_string(), name)
}

/// Maps tag names to ids where a tag of that name exists.
pub(super) fn resolve_tags(store: &Store, tags: &Value) -> Vec<String> {
    let known = store.get(Resource::Tags);
    tags.as_array()
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(|t| {
                    if known.contains(&Key::parse(t)) {
                        return t.to_string();
                    }
                    known
                        .iter()
                        .find(|(_, tag)| text(tag, "name") == t)
                        .map(|(k, _)| k.to_string())
                        .unwrap_or_else(|| t.to_string())
                })
                .collect()
        })
        .unwrap_or_default()
}

fn add_history(store: &mut Store, ticket: &Value) {
    let now = now_string();
    let entry = json!({
        "conversation_id": text(ticket, "id"),
        "conversation_code": text(ticket, "code"),
        "department_id": text(ticket, "departmentid"),
        "agent_id": text(ticket, "agentid"),
        "status": text(ticket, "status"),
        "date_from": now,
        "date_to": now,
        "elapsed_time": "0",
    });
    store.insert_linked(Resource::TicketHistory, entry);
}

fn create(ctx: &Ctx<'_>) -> Reply {
    let body = ctx.body.json();
    let field = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or("");
    let mut rng = fastrand::Rng::new();
    let mut store = ctx.write();
    let (contact_id, owner_email, owner_name) =
        resolve_contact(&mut store, field("useridentifier"));
    let tags = body
        .get("tags")
        .map(|t| resolve_tags(&store, t))
        .unwrap_or_default();
    let now = now_string();
    let id = store.get(Resource::Tickets).peek_next_id();
    let status = match field("status") {
        "" => "N",
        s => s,
    };
    let record = NewTicket {
        contact_id: &contact_id,
        owner_email: &owner_email,
        owner_name: &owner_name,
        department_id: field("departmentid"),
        status,
        tags: json!(tags),
        channel_type: "E",
        subject: field("subject"),
        custom_fields: body
            .get("custom_fields")
            .cloned()
            .unwrap_or_else(|| json!([])),
    }
    .record(&mut rng, id, &now);
    let (key, ticket) = store.get_mut(Resource::Tickets).insert_new_entry(record);
    // Nothing below changes the ticket record itself.
    let ticket = ticket.clone();
    let message_id = store.new_message_id();
    let format = if field("is_html_message") == "Y" {
        "H"
    } else {
        "T"
    };
    let group = json!({
        "parent_id": "",
        "userid": contact_id,
        "user_full_name": owner_name,
        "type": "M",
        "status": "C",
        "datecreated": now,
        "datefinished": now,
        "sort_order": 1,
        "mail_msg_id": field("mail_message_id"),
        "pop3_msg_id": "",
        "messages": [{
            "id": message_id.to_string(),
            "userid": contact_id,
            "type": "M",
            "datecreated": now,
            "format": format,
            "message": field("message"),
            "visibility": "A",
        }],
        "ticket_id": key.to_string(),
    });
    store.insert_linked(Resource::MessageGroups, group);
    add_history(&mut store, &ticket);
    Reply::applied(views::ticket_information(&ticket))
}

fn update(ctx: &Ctx<'_>) -> Reply {
    let key = ctx.key("ticketId");
    let body = ctx.body_object();
    let mut store = ctx.write();
    let tags = body.get("tags").map(|t| resolve_tags(&store, t));
    let Some(ticket) = store.get_mut(Resource::Tickets).get_mut(&key) else {
        return Reply::not_found("ticket", ctx.param("ticketId"));
    };
    let mut tracked_change = false;
    for name in [
        "owner_contactid",
        "departmentid",
        "agentid",
        "status",
        "subject",
        "custom_fields",
    ] {
        if let Some(v) = body.get(name) {
            if matches!(name, "departmentid" | "agentid" | "status") && ticket.get(name) != Some(v)
            {
                tracked_change = true;
            }
            ticket[name] = v.clone();
        }
    }
    if let Some(tags) = tags {
        ticket["tags"] = json!(tags);
    }
    let now = now_string();
    ticket["date_changed"] = json!(now);
    if body.get("status").and_then(Value::as_str) == Some("R") {
        ticket["date_resolved"] = json!(now);
    }
    let ticket = ticket.clone();
    if tracked_change {
        add_history(&mut store, &ticket);
    }
    Reply::applied(project(&ctx.shared.spec, "Ticket", &ticket))
}

fn message_groups(ctx: &Ctx<'_>) -> Reply {
    let key = ctx.key("ticketId");
    let store = ctx.read();
    if !store.get(Resource::Tickets).contains(&key) {
        return Reply::not_found("ticket", ctx.param("ticketId"));
    }
    let req = match ctx.list_request() {
        Ok(r) => r,
        Err(reply) => return reply,
    };
    let groups = store.groups_of(&key);
    let spec = &ctx.shared.spec;
    let outcome = list::run_paged(
        groups.iter().map(|(k, v)| (k, v)),
        &req,
        &same_name,
        &|_, r| project(spec, "MessageGroup", r),
    );
    Reply::list(outcome)
}

fn message(ctx: &Ctx<'_>) -> Reply {
    let raw = ctx.param("messageId");
    let store = ctx.read();
    let found = raw
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|id| store.message(id));
    let Some(mut msg) = found else {
        return Reply::not_found("message", raw);
    };
    let start = ctx
        .query
        .get("subString_Start")
        .and_then(|v| v.trim().parse::<usize>().ok());
    let len = ctx
        .query
        .get("subString_Length")
        .and_then(|v| v.trim().parse::<usize>().ok());
    if start.is_some() || len.is_some() {
        let full = text(&msg, "message").to_string();
        let cut: String = full
            .chars()
            .skip(start.unwrap_or(0))
            .take(len.unwrap_or(usize::MAX))
            .collect();
        msg["message"] = json!(cut);
    }
    Reply::ok(project(&ctx.shared.spec, "Message", &msg))
}
