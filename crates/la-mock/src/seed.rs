//! Deterministic seeding: the same seed and counts always give byte-identical records.

use fastrand::Rng;
use serde_json::{Map, Value, json};

use crate::generate::{
    COMPANY_NAMES, FIRST_NAMES, Generator, LAST_NAMES, SEED_EPOCH, WORDS, email, format_datetime,
    phone, pick, sentence, stable_hash, ticket_code, token,
};
use crate::handlers::views::NewCall;
use crate::spec::{ListKind, SpecIndex};
use crate::store::{Collection, Key, Resource, Store};

/// How many records of each kind to seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedCounts {
    /// Tickets (each with one message group, one message and one history entry; the message
    /// group is derived from the ticket when read, so it costs no memory).
    pub tickets: usize,
    /// Contacts.
    pub contacts: usize,
    /// Companies.
    pub companies: usize,
    /// Agents.
    pub agents: usize,
    /// Departments.
    pub departments: usize,
    /// Tags.
    pub tags: usize,
    /// Calls, each on a seeded ticket: call `1` is ringing (state `R`), the others finished.
    pub calls: usize,
    /// Records of each generated list (the list operations outside the core resources).
    pub generated: usize,
}

impl Default for SeedCounts {
    fn default() -> Self {
        Self {
            tickets: 50,
            contacts: 30,
            companies: 10,
            agents: 5,
            departments: 3,
            tags: 8,
            calls: 10,
            generated: 25,
        }
    }
}

fn rng_for(seed: u64, what: &str) -> Rng {
    Rng::with_seed(stable_hash(&[&seed.to_le_bytes(), what.as_bytes()]))
}

fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Ticket statuses with their seeding weights.
const TICKET_STATUSES: &[&str] = &["N", "N", "T", "P", "R", "R", "R", "A", "C", "W"];

/// Fills `store` with records derived from `seed`.
pub fn seed(store: &mut Store, spec: &SpecIndex, seed: u64, counts: &SeedCounts) {
    seed_departments(store, seed, counts);
    seed_agents(store, seed, counts);
    seed_tags(store, seed, counts);
    seed_companies(store, seed, counts);
    seed_contacts(store, seed, counts);
    seed_tickets(store, seed, counts);
    seed_calls(store, seed, counts);
    seed_generated(store, spec, seed, counts.generated);
}

fn seed_departments(store: &mut Store, seed: u64, counts: &SeedCounts) {
    let mut rng = rng_for(seed, "departments");
    let names = [
        "Support",
        "Sales",
        "Billing",
        "Technical",
        "Partners",
        "Returns",
    ];
    for i in 0..counts.departments {
        let id = (i + 1) as u64;
        let agent_ids: Vec<String> = (0..counts.agents)
            .filter(|a| counts.departments > 0 && a % counts.departments == i)
            .map(|a| (a + 1).to_string())
            .collect();
        let name = match names.get(i) {
            Some(n) => (*n).to_string(),
            None => format!("Department {id}"),
        };
        let record = json!({
            "name": name,
            "agent_count": agent_ids.len(),
            "online_status": if rng.bool() { "Y" } else { "N" },
            "agent_ids": agent_ids,
            "mailaccount_id": id.to_string(),
        });
        store
            .get_mut(Resource::Departments)
            .insert_with_key(Key::Num(id), record);
    }
}

fn seed_agents(store: &mut Store, seed: u64, counts: &SeedCounts) {
    let mut rng = rng_for(seed, "agents");
    for i in 0..counts.agents {
        let id = (i + 1) as u64;
        let first = pick(&mut rng, FIRST_NAMES);
        let last = pick(&mut rng, LAST_NAMES);
        let department = if counts.departments > 0 {
            (i % counts.departments + 1).to_string()
        } else {
            String::new()
        };
        let record = json!({
            "name": format!("{first} {last}"),
            "email": email(first, last, id),
            "role": match i { 0 => "owner", 1 | 2 => "admin", _ => "agent" },
            "avatar_url": format!("https://example.ladesk.com/avatars/{id}.png"),
            "online_status": if rng.bool() { "O" } else { "F" },
            "status": "A",
            "gender": pick(&mut rng, &["M", "F", "X"]),
            "firstname": first,
            "lastname": last,
            "countrycode": pick(&mut rng, &["SK", "CZ", "US", "DE"]),
            "departmentid": department,
            "twofa": "N",
        });
        store
            .get_mut(Resource::Agents)
            .insert_with_key(Key::Num(id), record);
    }
}

fn seed_tags(store: &mut Store, seed: u64, counts: &SeedCounts) {
    let mut rng = rng_for(seed, "tags");
    for i in 0..counts.tags {
        let id = (i + 1) as u64;
        let name = match WORDS.get(i) {
            Some(w) => (*w).to_string(),
            None => format!("tag-{id}"),
        };
        let record = json!({
            "name": name,
            "color": format!("#{:06X}", rng.u32(..0x0100_0000)),
            "background_color": format!("#{:06X}", rng.u32(..0x0100_0000)),
            "is_public": if rng.u8(..4) == 0 { "N" } else { "Y" },
        });
        store
            .get_mut(Resource::Tags)
            .insert_with_key(Key::Num(id), record);
    }
}

fn seed_companies(store: &mut Store, seed: u64, counts: &SeedCounts) {
    let mut rng = rng_for(seed, "companies");
    for i in 0..counts.companies {
        let id = (i + 1) as u64;
        let stem = pick(&mut rng, COMPANY_NAMES);
        let name = format!("{stem} {id}");
        let created = SEED_EPOCH + (i as i64) * 3_600 + rng.i64(0..3_600);
        let record = json!({
            "name": name,
            "system_name": name,
            "description": sentence(&mut rng, 6),
            "avatar_url": "",
            "language": pick(&mut rng, &["en-US", "sk", "de"]),
            "city": pick(&mut rng, &["Bratislava", "Prague", "Vienna", "Boston"]),
            "countrycode": pick(&mut rng, &["SK", "CZ", "AT", "US"]),
            "ip": format!("192.0.2.{}", rng.u8(1..255)),
            "emails": [format!("info@{}{id}.example.com", stem.to_lowercase())],
            "phones": [phone(&mut rng)],
            "groups": [],
            "note": "",
            "useragent": "",
            "screen": "",
            "time_offset": 0,
            "latitude": f64::from(rng.i32(-9000..9000)) / 100.0,
            "longitude": f64::from(rng.i32(-18000..18000)) / 100.0,
            "custom_fields": [],
            "type": "R",
            "date_created": format_datetime(created),
            "date_changed": format_datetime(created + rng.i64(0..86_400)),
        });
        store
            .get_mut(Resource::Companies)
            .insert_with_key(Key::Num(id), record);
    }
}

fn seed_contacts(store: &mut Store, seed: u64, counts: &SeedCounts) {
    let mut rng = rng_for(seed, "contacts");
    for i in 0..counts.contacts {
        let id = (i + 1) as u64;
        let first = pick(&mut rng, FIRST_NAMES);
        let last = pick(&mut rng, LAST_NAMES);
        let mail = email(first, last, id);
        let registered = rng.u8(..3) == 0;
        let created = SEED_EPOCH + (i as i64) * 600 + rng.i64(0..600);
        let company = if counts.companies > 0 && rng.bool() {
            (rng.usize(..counts.companies) + 1).to_string()
        } else {
            String::new()
        };
        let record = json!({
            "company_id": company,
            "firstname": first,
            "lastname": last,
            "system_name": format!("{first} {last}"),
            "description": "",
            "avatar_url": "",
            "gender": pick(&mut rng, &["M", "F", "X"]),
            "language": pick(&mut rng, &["en-US", "sk", "de", "cs"]),
            "city": pick(&mut rng, &["Bratislava", "Prague", "Vienna", "Boston", "Berlin"]),
            "countrycode": pick(&mut rng, &["SK", "CZ", "AT", "US", "DE"]),
            "ip": format!("192.0.2.{}", rng.u8(1..255)),
            "emails": [mail],
            "phones": [phone(&mut rng)],
            "groups": [],
            "job_position": pick(&mut rng, &["Manager", "Developer", "Accountant", "Owner", ""]),
            "note": "",
            "useragent": "Mozilla/5.0",
            "screen": "1920x1080",
            "time_offset": 0,
            "latitude": f64::from(rng.i32(-9000..9000)) / 100.0,
            "longitude": f64::from(rng.i32(-18000..18000)) / 100.0,
            "custom_fields": [],
            "type": if registered { "R" } else { "V" },
            "date_created": format_datetime(created),
            "date_changed": format_datetime(created + rng.i64(0..86_400)),
            "registration_email": if registered { mail.as_str() } else { "" },
        });
        store
            .get_mut(Resource::Contacts)
            .insert_with_key(Key::Num(id), record);
    }
}

fn seed_tickets(store: &mut Store, seed: u64, counts: &SeedCounts) {
    let mut rng = rng_for(seed, "tickets");
    let contacts: Vec<(String, String, String)> = store
        .get(Resource::Contacts)
        .iter()
        .map(|(k, c)| {
            let mail = c
                .pointer("/emails/0")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let name = c
                .get("system_name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            (k.to_string(), mail, name)
        })
        .collect();
    let agent_names: Vec<String> = store
        .get(Resource::Agents)
        .iter()
        .map(|(_, a)| {
            a.get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        })
        .collect();
    for i in 0..counts.tickets {
        let id = (i + 1) as u64;
        let created = SEED_EPOCH + (i as i64) * 60 + rng.i64(0..60);
        let changed = created + rng.i64(0..172_800);
        let status = pick(&mut rng, TICKET_STATUSES);
        let (contact_id, owner_email, owner_name) = if contacts.is_empty() {
            let first = pick(&mut rng, FIRST_NAMES);
            let last = pick(&mut rng, LAST_NAMES);
            (
                String::new(),
                email(first, last, id),
                format!("{first} {last}"),
            )
        } else {
            contacts[rng.usize(..contacts.len())].clone()
        };
        let department = if counts.departments > 0 {
            (rng.usize(..counts.departments) + 1).to_string()
        } else {
            String::new()
        };
        let agent = if counts.agents > 0 && status != "N" {
            rng.usize(..counts.agents) + 1
        } else {
            0
        };
        let mut tags = Vec::new();
        if counts.tags > 0 {
            for _ in 0..rng.usize(..3) {
                let t = (rng.usize(..counts.tags) + 1).to_string();
                if !tags.contains(&t) {
                    tags.push(t);
                }
            }
            tags.sort_by_key(|t| t.parse::<u64>().unwrap_or(0));
        }
        let words = 3 + rng.usize(..4);
        let subject = sentence(&mut rng, words);
        let resolved = if status == "R" {
            format_datetime(changed)
        } else {
            String::new()
        };
        let date = format_datetime(created);
        let code = ticket_code(&mut rng, id);
        let record = json!({
            "owner_contactid": contact_id,
            "owner_email": owner_email,
            "owner_name": owner_name,
            "departmentid": department,
            "agentid": if agent == 0 { String::new() } else { agent.to_string() },
            "status": status,
            "tags": tags,
            "code": code,
            "channel_type": pick(&mut rng, &["E", "E", "E", "C", "T", "F"]),
            "date_created": date,
            "date_changed": format_datetime(changed),
            "date_resolved": resolved,
            "date_due": "",
            "date_deleted": "",
            "last_activity": format_datetime(changed),
            "last_activity_public": format_datetime(changed),
            "public_access_urlcode": token(&mut rng, 10),
            "subject": subject,
            "custom_fields": [],
        });
        store
            .get_mut(Resource::Tickets)
            .insert_with_key(Key::Num(id), record);

        let history = json!({
            "conversation_id": id.to_string(),
            "conversation_code": code,
            "department_id": department,
            "agent_id": if agent == 0 { String::new() } else { agent.to_string() },
            "status": status,
            "date_from": date,
            "date_to": format_datetime(changed),
            "elapsed_time": (changed - created).to_string(),
            "agent_name": agent_names.get(agent.wrapping_sub(1)).cloned().unwrap_or_default(),
        });
        store.insert_linked(Resource::TicketHistory, history);
    }
    store.set_implicit_groups(counts.tickets as u64, seed);
}

/// The message group (with one message) of seeded ticket `id`, derived from the ticket on
/// read instead of stored: group id and message id equal the ticket id.
pub(crate) fn seeded_group(seed: u64, id: u64, ticket: &Value) -> Value {
    let mut rng = rng_for(seed, &format!("message-{id}"));
    let text = sentence(&mut rng, 12);
    let field = |name: &str| ticket.get(name).and_then(Value::as_str).unwrap_or("");
    let date = field("date_created");
    let contact = field("owner_contactid");
    json!({
        "id": id.to_string(),
        "parent_id": "",
        "userid": contact,
        "user_full_name": field("owner_name"),
        "type": "M",
        "status": "C",
        "datecreated": date,
        "datefinished": date,
        "sort_order": 1,
        "mail_msg_id": format!("<{id}.{id}@mail.example.com>"),
        "pop3_msg_id": "",
        "messages": [{
            "id": id.to_string(),
            "userid": contact,
            "type": "M",
            "datecreated": date,
            "format": "T",
            "message": text,
            "visibility": "A",
        }],
        "ticket_id": id.to_string(),
    })
}

fn seed_calls(store: &mut Store, seed: u64, counts: &SeedCounts) {
    let mut rng = rng_for(seed, "calls");
    let tickets = store.get(Resource::Tickets).len();
    for i in 0..counts.calls {
        let id = (i + 1) as u64;
        let created = SEED_EPOCH + (i as i64) * 1_800 + rng.i64(0..1_800);
        let answered = created + rng.i64(5..60);
        let finished = answered + rng.i64(30..900);
        let direction = pick(&mut rng, &["in", "in", "out", "int"]);
        let ticket = if tickets > 0 {
            (rng.usize(..tickets) + 1).to_string()
        } else {
            String::new()
        };
        let first = pick(&mut rng, FIRST_NAMES);
        let last = pick(&mut rng, LAST_NAMES);
        // The first call is still ringing; the others are finished.
        let ringing = i == 0;
        // Drawn in this order: from, to, via.
        let from_number = phone(&mut rng);
        let to_number = phone(&mut rng);
        let via_number = phone(&mut rng);
        let date_or_none = |secs| {
            if ringing {
                String::new()
            } else {
                format_datetime(secs)
            }
        };
        let record = NewCall {
            ticket_id: &ticket,
            direction,
            from_number: &from_number,
            caller_name: &format!("{first} {last}"),
            to_number: &to_number,
            via_number: &via_number,
            status: if ringing { "R" } else { "F" },
            date_created: &format_datetime(created),
            date_answered: &date_or_none(answered),
            date_finished: &date_or_none(finished),
            agent_id: if store.get(Resource::Agents).is_empty() {
                ""
            } else {
                "1"
            },
            channels: json!({}),
        }
        .record();
        store
            .get_mut(Resource::Calls)
            .insert_with_key(Key::Num(id), record);
    }
}

/// The list operations backed by the core resources rather than generated collections.
pub const CORE_LISTS: &[&str] = &[
    "getTicketsList",
    "getTicketsGridList",
    "getContactsList",
    "getCompaniesList",
    "getAgents",
    "getAgentsGridList",
    "getDepartmentList",
    "getDepartmentsGridList",
    "getTagsList",
    "getTagsGridList",
    "getCallsList",
    "getTicketHistory",
    "getTicketMessageGroups",
];

/// The key of the generated collection behind a list path.
pub fn generated_key(path: &str) -> String {
    path.trim_end_matches('/').to_string()
}

/// Seeds one collection per list operation outside the core resources.
pub fn seed_generated(store: &mut Store, spec: &SpecIndex, seed: u64, count: usize) {
    let generator = Generator::new(spec);
    for op in &spec.operations {
        if !matches!(op.list, ListKind::Paged | ListKind::Cursor)
            || CORE_LISTS.contains(&op.id.as_str())
        {
            continue;
        }
        let Some(item) = spec.item_schema(op) else {
            continue;
        };
        let is_array = op
            .response
            .as_ref()
            .map(|r| spec.resolve(r))
            .and_then(|r| r.get("type"))
            .and_then(Value::as_str)
            == Some("array");
        if !is_array {
            continue;
        }
        let props = item.get("properties").and_then(Value::as_object);
        let id_field = props
            .and_then(|p| {
                if p.contains_key("id") {
                    Some("id".to_string())
                } else {
                    p.keys().find(|k| k.ends_with("id")).cloned()
                }
            })
            .unwrap_or_default();
        let numeric = props
            .and_then(|p| p.get(&id_field))
            .and_then(|s| s.get("type"))
            .and_then(Value::as_str)
            .is_some_and(|t| t == "number" || t == "integer");
        let mut collection = if numeric {
            Collection::with_numeric_ids(&id_field)
        } else {
            Collection::new(&id_field)
        };
        let mut rng = rng_for(seed, &op.path);
        for i in 0..count {
            let record = generator.value(item, "", &mut rng);
            collection.insert_with_key(Key::Num((i + 1) as u64), Value::Object(obj(record)));
        }
        store.generated.insert(generated_key(&op.path), collection);
    }
}
