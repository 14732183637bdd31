//! Renderings of stored records in the shapes of the response schemas, and the matching column
//! look-ups used by filters and sorting.

use serde_json::{Map, Value, json};

use crate::spec::SpecIndex;
use crate::store::{Key, Resource, Store};

/// Keeps only the properties of the named schema.
pub fn project(spec: &SpecIndex, schema: &str, record: &Value) -> Value {
    let (Some(props), Value::Object(rec)) = (
        spec.schema(schema)
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object),
        record,
    ) else {
        return Value::Object(Map::new());
    };
    Value::Object(
        rec.iter()
            .filter(|(name, _)| props.contains_key(name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect(),
    )
}

fn text<'a>(record: &'a Value, field: &str) -> &'a str {
    record.get(field).and_then(Value::as_str).unwrap_or("")
}

/// A ticket as `TicketInformation` (the answer of `createTicket`).
pub fn ticket_information(record: &Value) -> Value {
    let tags: Vec<&str> = record
        .get("tags")
        .and_then(Value::as_array)
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    json!({
        "id": text(record, "id"),
        "ownerid": text(record, "owner_contactid"),
        "owner_contactid": text(record, "owner_contactid"),
        "departmentid": text(record, "departmentid"),
        "agentid": text(record, "agentid"),
        "status": text(record, "status"),
        "tags": tags.join(","),
        "code": text(record, "code"),
        "channel_type": text(record, "channel_type"),
        "date_created": text(record, "date_created"),
        "public_access_urlcode": text(record, "public_access_urlcode"),
        "subject": text(record, "subject"),
        "custom_fields": record.get("custom_fields").cloned().unwrap_or_else(|| json!([])),
    })
}

/// The stored ticket field behind a `TicketRow` column.
pub fn ticket_row_field(column: &str) -> &str {
    match column {
        "conversationid" => "id",
        "datecreated" => "date_created",
        "datechanged" | "statuschanged" => "date_changed",
        "dateresolved" => "date_resolved",
        "datedue" => "date_due",
        "contactid" => "owner_contactid",
        other => other,
    }
}

/// A ticket as a `TicketRow` of the tickets grid.
pub fn ticket_row(store: &Store, record: &Value) -> Value {
    let department = store
        .get(Resource::Departments)
        .get(&Key::parse(text(record, "departmentid")))
        .map(|d| text(d, "name").to_string())
        .unwrap_or_default();
    let agent = store
        .get(Resource::Agents)
        .get(&Key::parse(text(record, "agentid")))
        .map(|a| text(a, "name").to_string())
        .unwrap_or_default();
    let owner = text(record, "owner_name");
    let (first, last) = owner.split_once(' ').unwrap_or((owner, ""));
    let tags = record.get("tags").cloned().unwrap_or_else(|| json!([]));
    json!({
        "conversationid": text(record, "id"),
        "code": text(record, "code"),
        "datecreated": text(record, "date_created"),
        "datechanged": text(record, "date_changed"),
        "dateresolved": text(record, "date_resolved"),
        "statuschanged": text(record, "date_changed"),
        "rorder": 0,
        "datedue": text(record, "date_due"),
        "datereopen": "",
        "status": text(record, "status"),
        "channel_type": text(record, "channel_type"),
        "departmentid": text(record, "departmentid"),
        "agentid": text(record, "agentid"),
        "preview": text(record, "subject"),
        "subject": text(record, "subject"),
        "departmentname": department,
        "agentname": agent,
        "tags": tags,
        "messagegroups_in": 1,
        "messagegroups_out": 0,
        "contactid": text(record, "owner_contactid"),
        "firstname": first,
        "lastname": last,
        "system_name": owner,
        "emails": [text(record, "owner_email")],
    })
}

/// The stored agent field behind an `AgentRow` column.
pub fn agent_row_field(column: &str) -> &str {
    match column {
        "agentid" => "id",
        "username" => "email",
        "system_name" => "name",
        "rolename" | "roleid" => "role",
        other => other,
    }
}

/// An agent as an `AgentRow` of the agents grid.
pub fn agent_row(record: &Value) -> Value {
    json!({
        "agentid": text(record, "id"),
        "firstname": text(record, "firstname"),
        "lastname": text(record, "lastname"),
        "system_name": text(record, "name"),
        "username": text(record, "email"),
        "countrycode": text(record, "countrycode"),
        "avatar_url": text(record, "avatar_url"),
        "roleid": text(record, "role"),
        "rolename": text(record, "role"),
        "departmentid": text(record, "departmentid"),
        "twofa": match text(record, "twofa") { "Y" => "Y", _ => "N" },
    })
}

/// The stored department field behind a `DepartmentRow` column.
pub fn department_row_field(column: &str) -> &str {
    match column {
        "id" => "department_id",
        other => other,
    }
}

/// A department as a `DepartmentRow`.
pub fn department_row(record: &Value) -> Value {
    json!({
        "id": text(record, "department_id"),
        "name": text(record, "name"),
        "agent_count": record.get("agent_count").cloned().unwrap_or(json!(0)),
    })
}

/// The stored tag field behind a `TagRow` column.
pub fn tag_row_field(column: &str) -> &str {
    match column {
        "tagid" => "id",
        "backgroundcolor" => "background_color",
        other => other,
    }
}

/// A tag as a `TagRow`.
pub fn tag_row(record: &Value) -> Value {
    json!({
        "tagid": text(record, "id"),
        "name": text(record, "name"),
        "type": "",
        "color": text(record, "color"),
        "backgroundcolor": text(record, "background_color"),
        "is_public": text(record, "is_public"),
    })
}

/// The stored call field behind a `CallListItem` column.
pub fn call_item_field(column: &str) -> &str {
    match column {
        "ticketId" => "ticket_id",
        "fromNumber" => "from_number",
        "fromName" => "caller_name",
        "toNumber" => "to_number",
        "viaNumber" => "via_number",
        "dateCreated" => "date_created",
        "dateAnswered" => "date_answered",
        "dateFinished" => "date_finished",
        other => other,
    }
}

/// The `CallListItem.type` for a call direction.
pub fn call_type(direction: &str) -> &'static str {
    match direction {
        "out" => "O",
        "int" => "T",
        _ => "I",
    }
}

/// What differs between call records (created through the API or seeded).
pub(crate) struct NewCall<'a> {
    pub ticket_id: &'a str,
    pub direction: &'a str,
    pub from_number: &'a str,
    pub caller_name: &'a str,
    pub to_number: &'a str,
    pub via_number: &'a str,
    pub status: &'a str,
    pub date_created: &'a str,
    pub date_answered: &'a str,
    pub date_finished: &'a str,
    pub agent_id: &'a str,
    pub channels: Value,
}

impl NewCall<'_> {
    /// The stored call record (the id is written on insert).
    pub(crate) fn record(self) -> Value {
        json!({
            "ticket_id": self.ticket_id,
            "direction": self.direction,
            "type": call_type(self.direction),
            "callee_status": "O",
            "ivrs": [],
            "record_call": false,
            "reroute_time": 30,
            "max_queue_time": 300,
            "max_ring_time": 30,
            "online_ivr": "",
            "offline_ivr": "",
            "queue_ivr": "",
            "from_number": self.from_number,
            "caller_name": self.caller_name,
            "to_number": self.to_number,
            "via_number": self.via_number,
            "status": self.status,
            "date_created": self.date_created,
            "date_answered": self.date_answered,
            "date_finished": self.date_finished,
            "agent_id": self.agent_id,
            "channels": self.channels,
            "messages": [],
        })
    }
}

fn seconds_of(date: &str) -> Option<i64> {
    // `YYYY-MM-DD HH:MM:SS` → seconds since the epoch, enough to subtract two dates.
    let (d, t) = date.split_once(' ')?;
    let mut dp = d.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (dp.next()??, dp.next()??, dp.next()??);
    let mut tp = t.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (tp.next()??, tp.next()??, tp.next()??);
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// A call as a `CallListItem`.
pub fn call_item(record: &Value) -> Value {
    let duration = match (
        seconds_of(text(record, "date_answered")),
        seconds_of(text(record, "date_finished")),
    ) {
        (Some(a), Some(f)) if f >= a => (f - a).to_string(),
        _ => "0".to_string(),
    };
    json!({
        "id": text(record, "id"),
        "ticketId": text(record, "ticket_id"),
        "type": call_type(text(record, "direction")),
        "fromNumber": text(record, "from_number"),
        "fromName": text(record, "caller_name"),
        "toNumber": text(record, "to_number"),
        "toName": "",
        "viaNumber": text(record, "via_number"),
        "dateCreated": text(record, "date_created"),
        "dateAnswered": text(record, "date_answered"),
        "dateFinished": text(record, "date_finished"),
        "callDuration": duration,
    })
}

/// A call's `CallStatus`.
pub fn call_status(record: &Value) -> Value {
    let mut out = json!({ "status": text(record, "status") });
    let agent = text(record, "agent_id");
    if !agent.is_empty() && matches!(text(record, "status"), "R" | "C") {
        out["agent"] = json!({ "id": agent });
    }
    if text(record, "status") == "Q" {
        out["queue_position"] = json!(1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_subtract() {
        let a = seconds_of("2024-02-28 23:59:00");
        let b = seconds_of("2024-03-01 00:00:00");
        assert_eq!(b.zip(a).map(|(b, a)| b - a), Some(86_400 + 60));
        assert_eq!(seconds_of("1970-01-01 00:00:10"), Some(10), "epoch anchor");
    }
}
