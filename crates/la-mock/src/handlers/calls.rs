//! Calls and their lifecycle.
//!
//! States (`CallStatus.status`): `O` outgoing call started (`callStart`), `Q` queued (after
//! `callCreate`, `stopRing`, `callReroute`), `R` ringing (`callRing`, `confirmRing`), `C`
//! connected (`callAnswer`, `callTransfer`), `F` finished (`callStop`, `callStartCanceled`,
//! `callStartFailed`). Changing a finished call answers `409`.

use serde_json::{Value, json};

use super::tickets::NewTicket;
use super::views::{self, NewCall, call_item_field, project};
use super::{Ctx, Reply, serve_count, serve_list};
use crate::generate::now_string;
use crate::store::{Key, Resource, Store};

pub(super) fn handle(ctx: &Ctx<'_>) -> Option<Reply> {
    Some(match ctx.op.id.as_str() {
        "callCreate" => create(ctx),
        "callStart" => start(ctx),
        "getCallsList" => {
            let store = ctx.read();
            serve_list(
                ctx,
                store.get(Resource::Calls),
                &|r, c| r.get(call_item_field(c)),
                &|_, r| views::call_item(r),
            )
        }
        "getCallsCount" => {
            let store = ctx.read();
            serve_count(ctx, store.get(Resource::Calls), &|r, c| {
                r.get(call_item_field(c))
            })
        }
        "callGetStatus" => {
            let store = ctx.read();
            match store.get(Resource::Calls).get(&ctx.key("callId")) {
                Some(call) => Reply::ok(views::call_status(call)),
                None => Reply::not_found("call", ctx.param("callId")),
            }
        }
        "callRing" => transition(ctx, &["O", "Q", "R"], |call, q| {
            call["status"] = json!("R");
            if let Some(to) = q.get("to_number") {
                call["to_number"] = json!(to);
            }
            Ok(views::call_status(call))
        }),
        "confirmRing" => transition(ctx, &["O", "Q", "R"], |call, _| {
            call["status"] = json!("R");
            Ok(json!({}))
        }),
        "stopRing" => transition(ctx, &["R", "Q"], |call, _| {
            call["status"] = json!("Q");
            Ok(json!({}))
        }),
        "callReroute" => transition(ctx, &["O", "Q", "R", "C"], |call, _| {
            call["status"] = json!("Q");
            Ok(views::call_status(call))
        }),
        "callAnswer" => transition(ctx, &["O", "Q", "R"], |call, q| {
            call["status"] = json!("C");
            call["date_answered"] = json!(now_string());
            if let Some(to) = q.get("to_number") {
                call["to_number"] = json!(to);
            }
            if call
                .get("agent_id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .is_empty()
            {
                call["agent_id"] = json!("1");
            }
            Ok(json!({}))
        }),
        "callTransfer" => transition(ctx, &["R", "C"], |call, q| {
            let to = q.get("to").unwrap_or("").to_string();
            if !to.is_empty() {
                call["to_number"] = json!(to);
            }
            call["status"] = json!("C");
            Ok(json!({
                "callee_status": "O",
                "to_number": call.get("to_number").cloned().unwrap_or(json!("")),
                "via_number": call.get("via_number").cloned().unwrap_or(json!("")),
            }))
        }),
        "callStop" | "callStartCanceled" | "callStartFailed" => {
            transition(ctx, &["O", "Q", "R", "C"], |call, _| {
                call["status"] = json!("F");
                call["date_finished"] = json!(now_string());
                Ok(json!({}))
            })
        }
        "callAddMessage" => transition(ctx, &["O", "Q", "R", "C", "F"], |call, _| {
            let body = ctx.body.json().clone();
            if let Some(list) = call.get_mut("messages").and_then(Value::as_array_mut) {
                list.push(body);
            } else {
                call["messages"] = json!([body]);
            }
            Ok(json!({}))
        }),
        "callAddRecording" => transition(ctx, &["O", "Q", "R", "C", "F"], |call, _| {
            let count = call.get("recordings").and_then(Value::as_u64).unwrap_or(0);
            call["recordings"] = json!(count + 1);
            Ok(json!({}))
        }),
        "callFetchIvr" => {
            let store = ctx.read();
            if !store.get(Resource::Calls).contains(&ctx.key("callId")) {
                return Some(Reply::not_found("call", ctx.param("callId")));
            }
            Reply::applied(ctx.generated_response())
        }
        "callChangeChannelStatus"
        | "holdChannel"
        | "unholdChannel"
        | "muteChannel"
        | "unmuteChannel"
        | "dtmfChannel"
        | "endChannel" => channel(ctx),
        "callRemoveChannel" => transition(ctx, &["O", "Q", "R", "C", "F"], |call, _| {
            if let Some(map) = call.get_mut("channels").and_then(Value::as_object_mut) {
                map.remove(ctx.param("channelId"));
            }
            Ok(json!({}))
        }),
        "callMoveChannel" => move_channel(ctx),
        "merge" => {
            let secondary = ctx.body.form("secCallId").unwrap_or("").to_string();
            let mut store = ctx.write();
            if !store.get(Resource::Calls).contains(&Key::parse(&secondary)) {
                return Some(Reply::not_found("call", &secondary));
            }
            match store.get_mut(Resource::Calls).get_mut(&ctx.key("callId")) {
                Some(_) => {
                    if let Some(sec) = store
                        .get_mut(Resource::Calls)
                        .get_mut(&Key::parse(&secondary))
                    {
                        sec["status"] = json!("F");
                        sec["date_finished"] = json!(now_string());
                    }
                    Reply::applied(json!({}))
                }
                None => Reply::not_found("call", ctx.param("callId")),
            }
        }
        _ => return None,
    })
}

/// Applies `change` to the call of the `callId` path parameter (or `callId` query parameter),
/// when the call is in one of `from` states.
fn transition(
    ctx: &Ctx<'_>,
    from: &[&str],
    change: impl FnOnce(&mut Value, &crate::validate::Query) -> Result<Value, Reply>,
) -> Reply {
    let raw = match ctx.param("callId") {
        "" => ctx.query.get("callId").unwrap_or(""),
        p => p,
    };
    let mut store = ctx.write();
    let Some(call) = store.get_mut(Resource::Calls).get_mut(&Key::parse(raw)) else {
        return Reply::not_found("call", raw);
    };
    let state = call.get("status").and_then(Value::as_str).unwrap_or("");
    if !from.contains(&state) {
        return Reply::conflict(format!(
            "call '{raw}' is in state '{state}'; {} needs one of {from:?}",
            ctx.op.id
        ));
    }
    match change(call, ctx.query) {
        Ok(body) => Reply::applied(body),
        Err(reply) => reply,
    }
}

fn channel(ctx: &Ctx<'_>) -> Reply {
    let channel = ctx.param("channelId").to_string();
    let op = ctx.op.id.clone();
    let status = ctx.query.get("status").map(str::to_string);
    transition(ctx, &["O", "Q", "R", "C"], move |call, _| {
        if !call.get("channels").is_some_and(Value::is_object) {
            call["channels"] = json!({});
        }
        let entry = &mut call["channels"][channel.as_str()];
        if !entry.is_object() {
            *entry = json!({ "status": "C", "held": false, "muted": false });
        }
        match op.as_str() {
            "callChangeChannelStatus" => entry["status"] = json!(status.unwrap_or_default()),
            "holdChannel" => entry["held"] = json!(true),
            "unholdChannel" => entry["held"] = json!(false),
            "muteChannel" => entry["muted"] = json!(true),
            "unmuteChannel" => entry["muted"] = json!(false),
            "endChannel" => entry["status"] = json!("F"),
            _ => {}
        }
        Ok(json!({}))
    })
}

fn move_channel(ctx: &Ctx<'_>) -> Reply {
    let target = ctx.query.get("to_callId").unwrap_or("").to_string();
    let channel = ctx.param("channelId").to_string();
    let mut store = ctx.write();
    if !store.get(Resource::Calls).contains(&Key::parse(&target)) {
        return Reply::not_found("call", &target);
    }
    let moved = match store.get_mut(Resource::Calls).get_mut(&ctx.key("callId")) {
        Some(call) => call
            .get_mut("channels")
            .and_then(Value::as_object_mut)
            .and_then(|m| m.remove(&channel))
            .unwrap_or_else(|| json!({ "status": "C", "held": false, "muted": false })),
        None => return Reply::not_found("call", ctx.param("callId")),
    };
    if let Some(t) = store.get_mut(Resource::Calls).get_mut(&Key::parse(&target)) {
        if !t.get("channels").is_some_and(Value::is_object) {
            t["channels"] = json!({});
        }
        t["channels"][channel.as_str()] = moved;
    }
    Reply::applied(json!({}))
}

fn new_call(ticket: String, direction: &str, status: &str, q: &crate::validate::Query) -> Value {
    NewCall {
        ticket_id: &ticket,
        direction,
        from_number: q.get("from_number").unwrap_or(""),
        caller_name: "",
        to_number: q.get("to_number").unwrap_or(""),
        via_number: q.get("via_number").unwrap_or(""),
        status,
        date_created: &now_string(),
        date_answered: "",
        date_finished: "",
        agent_id: "",
        channels: match q.get("channelId") {
            Some(c) if !c.is_empty() => {
                json!({ c: { "status": "C", "held": false, "muted": false } })
            }
            _ => json!({}),
        },
    }
    .record()
}

fn ticket_for_call(ctx: &Ctx<'_>, store: &mut Store) -> Result<String, Reply> {
    match ctx.query.get("ticketId").filter(|t| !t.is_empty()) {
        Some(t) => {
            if store.get(Resource::Tickets).contains(&Key::parse(t)) {
                Ok(t.to_string())
            } else {
                Err(Reply::not_found("ticket", t))
            }
        }
        None => {
            let from = ctx.query.get("from_number").unwrap_or("");
            let now = now_string();
            let mut rng = fastrand::Rng::new();
            let id = store.get(Resource::Tickets).peek_next_id();
            let subject = format!("Call from {from}");
            let record = NewTicket {
                contact_id: "",
                owner_email: "",
                owner_name: from,
                department_id: "",
                status: "N",
                tags: json!([]),
                channel_type: "T",
                subject: &subject,
                custom_fields: json!([]),
            }
            .record(&mut rng, id, &now);
            Ok(store
                .get_mut(Resource::Tickets)
                .insert_new(record)
                .to_string())
        }
    }
}

fn create(ctx: &Ctx<'_>) -> Reply {
    let id = ctx.param("callId").to_string();
    let key = Key::parse(&id);
    let mut store = ctx.write();
    if store.get(Resource::Calls).contains(&key) {
        return Reply::conflict(format!("call '{id}' already exists"));
    }
    let ticket = match ticket_for_call(ctx, &mut store) {
        Ok(t) => t,
        Err(reply) => return reply,
    };
    let direction = ctx
        .query
        .get("direction")
        .filter(|d| matches!(*d, "in" | "out" | "int"))
        .unwrap_or("in");
    let record = new_call(ticket, direction, "Q", ctx.query);
    let stored = store.get_mut(Resource::Calls).insert_entry(key, record);
    Reply::applied(project(&ctx.shared.spec, "Call", stored))
}

fn start(ctx: &Ctx<'_>) -> Reply {
    let mut store = ctx.write();
    let ticket = match ticket_for_call(ctx, &mut store) {
        Ok(t) => t,
        Err(reply) => return reply,
    };
    let record = new_call(ticket, "out", "O", ctx.query);
    store.get_mut(Resource::Calls).insert_new(record);
    Reply::applied(json!({}))
}
