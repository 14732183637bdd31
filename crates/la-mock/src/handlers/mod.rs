//! Operation handlers: the stateful core resources and a generic, schema-driven answer for every
//! other operation.

mod calls;
mod org;
mod people;
mod tickets;
pub(crate) mod views;

use std::borrow::Cow;
use std::sync::{RwLockReadGuard, RwLockWriteGuard};

use fastrand::Rng;
use http::StatusCode;
use serde_json::{Map, Value, json};

use crate::generate::{Generator, stable_hash};
use crate::list::{self, FieldFn, ListOutcome, ListParams, ListRequest};
use crate::seed::generated_key;
use crate::server::{self, Shared};
use crate::spec::{ListKind, Operation};
use crate::store::{Collection, Key, Store};
use crate::validate::{Query, RequestBody, check_json};

/// Everything a handler may read about a validated request.
pub(crate) struct Ctx<'a> {
    pub shared: &'a Shared,
    pub op: &'a Operation,
    pub params: &'a [(String, String)],
    pub query: &'a Query,
    /// The list parameters validation parsed.
    pub list: &'a ListParams,
    pub body: &'a RequestBody,
}

impl Ctx<'_> {
    /// A path parameter (always present after routing).
    pub fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// A path parameter as a store key.
    pub fn key(&self, name: &str) -> Key {
        Key::parse(self.param(name))
    }

    /// A generator seeded from the simulator seed, the operation and the path parameters.
    pub fn rng(&self) -> Rng {
        let mut parts: Vec<&[u8]> = vec![self.op.id.as_bytes()];
        for (_, v) in self.params {
            parts.push(v.as_bytes());
        }
        let seed = self.shared.seed.to_le_bytes();
        parts.push(&seed);
        Rng::with_seed(stable_hash(&parts))
    }

    pub fn read(&self) -> RwLockReadGuard<'_, Store> {
        server::read(&self.shared.store)
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, Store> {
        server::write(&self.shared.store)
    }

    /// The parsed list parameters: those validation parsed for a paged or cursor list, or (for
    /// an operation of another list style) parsed here.
    pub fn list_request(&self) -> Result<Cow<'_, ListRequest>, Reply> {
        match self.list {
            ListParams::List(req) => Ok(Cow::Borrowed(req)),
            ListParams::Filters(_) => {
                let settings = *server::lock(&self.shared.lists);
                list::parse_list_with(
                    self.op,
                    self.query,
                    &self.shared.spec.columns(self.op),
                    settings,
                )
                .map(Cow::Owned)
                .map_err(Reply::unprocessable)
            }
        }
    }

    /// A value generated from the operation's response schema.
    pub fn generated_response(&self) -> Value {
        let mut rng = self.rng();
        match &self.op.response {
            Some(schema) => Generator::new(&self.shared.spec).value(schema, "", &mut rng),
            None => json!({}),
        }
    }

    /// The JSON body as an object (validation has already checked its shape).
    pub fn body_object(&self) -> Map<String, Value> {
        match self.body.json() {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        }
    }
}

/// A handler's answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Value,
    /// For cursor lists: the `next_page_cursor` header.
    pub next_cursor: Option<String>,
    /// Whether a write was applied.
    pub applied: bool,
}

impl Reply {
    pub fn ok(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body,
            next_cursor: None,
            applied: false,
        }
    }

    /// A successful write.
    pub fn applied(body: Value) -> Self {
        Self {
            applied: true,
            ..Self::ok(body)
        }
    }

    pub fn error(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({ "message": message.into() }),
            next_cursor: None,
            applied: false,
        }
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        Self::error(StatusCode::NOT_FOUND, format!("{what} '{id}' not found"))
    }

    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::error(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::error(StatusCode::CONFLICT, message)
    }

    pub fn list(outcome: ListOutcome) -> Self {
        Self {
            next_cursor: outcome.next.as_ref().map(list::encode_cursor),
            ..Self::ok(Value::Array(outcome.items))
        }
    }

    pub fn count(n: usize) -> Self {
        Self::ok(json!({ "count": n }))
    }
}

/// Runs the list style of the operation (paged or cursor) over a collection.
pub(crate) fn serve_list<'a>(
    ctx: &Ctx<'_>,
    coll: &'a Collection,
    field: &FieldFn<'a>,
    render: &dyn Fn(&Key, &Value) -> Value,
) -> Reply {
    let req = match ctx.list_request() {
        Ok(r) => r,
        Err(reply) => return reply,
    };
    let outcome = if ctx.op.list == ListKind::Cursor
        && let Some(column) = req.sort_field.as_deref()
    {
        list::run_cursor_sorted(coll.iter(), &req, column, field, render)
    } else if ctx.op.list == ListKind::Cursor {
        list::run_cursor(
            coll.iter_from(req.cursor.as_ref(), req.descending),
            &req,
            field,
            render,
        )
    } else {
        list::run_paged_collection(coll, &req, field, render)
    };
    Reply::list(outcome)
}

/// Counts a collection with the request's `_filters`.
pub(crate) fn serve_count<'a>(ctx: &Ctx<'_>, coll: &'a Collection, field: &FieldFn<'a>) -> Reply {
    Reply::count(list::run_count(coll.iter(), ctx.list.filters(), field))
}

/// Reads a field by its own name.
pub(crate) fn same_name<'a>(record: &'a Value, column: &str) -> Option<&'a Value> {
    record.get(column)
}

/// Dispatches a validated request to its handler.
pub(crate) fn handle(ctx: &Ctx<'_>) -> Reply {
    if let Some(reply) = tickets::handle(ctx)
        .or_else(|| people::handle(ctx))
        .or_else(|| org::handle(ctx))
        .or_else(|| calls::handle(ctx))
    {
        return reply;
    }
    generic(ctx)
}

/// The list path a `/count` operation counts.
fn counted_list_path(op: &Operation) -> Option<String> {
    if op.id == "getApiV3KeysCount" {
        return Some("/apikeys".to_string());
    }
    op.path
        .trim_end_matches('/')
        .strip_suffix("/count")
        .map(str::to_string)
}

/// Answers any operation from generated data.
fn generic(ctx: &Ctx<'_>) -> Reply {
    let op = ctx.op;
    match op.list {
        ListKind::Paged | ListKind::Cursor => {
            let store = ctx.read();
            if let Some(coll) = store.generated.get(&generated_key(&op.path)) {
                return serve_list(ctx, coll, &same_name, &|_, r| r.clone());
            }
        }
        ListKind::Count => {
            if let Some(path) = counted_list_path(op) {
                let store = ctx.read();
                if let Some(coll) = store.generated.get(&generated_key(&path)) {
                    return serve_count(ctx, coll, &same_name);
                }
            }
            return Reply::count(0);
        }
        ListKind::Plain | ListKind::None => {}
    }
    if let Some(found) = generated_record(ctx) {
        return finish_generic(ctx, found);
    }
    let mut value = ctx.generated_response();
    if matches!(op.list, ListKind::Paged | ListKind::Cursor) {
        sort_wrapped_items(ctx, &mut value);
    }
    // A single path id names the record: echo it in the `id` property.
    let path_ids: Vec<&(String, String)> = ctx.params.iter().collect();
    if let (Value::Object(map), [(_, id)]) = (&mut value, path_ids.as_slice())
        && let Some(existing) = map.get("id")
    {
        let replacement = match existing {
            Value::Number(_) => id.parse::<u64>().map(Value::from).ok(),
            _ => Some(Value::String(id.clone())),
        };
        if let Some(r) = replacement {
            map.insert("id".to_string(), r);
        }
    }
    finish_generic(ctx, value)
}

/// For `GET /things/{id}` backed by a generated `/things` list: the record with that id.
fn generated_record(ctx: &Ctx<'_>) -> Option<Value> {
    if ctx.op.method != http::Method::GET || ctx.params.len() != 1 {
        return None;
    }
    let parent = ctx.op.path.trim_end_matches('/').rsplit_once('/')?.0;
    let store = ctx.read();
    let coll = store.generated.get(&generated_key(parent))?;
    let (_, id) = ctx.params.first()?;
    let record = coll.get(&Key::parse(id))?;
    let schema = ctx.shared.spec.resolve(ctx.op.response.as_ref()?);
    (schema.get("type").and_then(Value::as_str) == Some("object")).then(|| record.clone())
}

/// Sorts the records of a generated wrapper answer (`{"size": .., "items": [..]}`) as the
/// request's `_sortField` and `_sortDir` ask (validation checked the column).
fn sort_wrapped_items(ctx: &Ctx<'_>, value: &mut Value) {
    let Ok(req) = ctx.list_request() else {
        return;
    };
    let Some(column) = req.sort_field.as_deref() else {
        return;
    };
    let spec = &ctx.shared.spec;
    let Some(name) = ctx
        .op
        .response
        .as_ref()
        .map(|schema| spec.resolve(schema))
        .and_then(|schema| spec.wrapped_items(schema))
        .map(|(name, _)| name)
    else {
        return;
    };
    let text = |record: &Value| match record.get(column) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    if let Some(Value::Array(items)) = value.get_mut(name) {
        items.sort_by(|a, b| {
            let ord = list::compare_text(&text(a), &text(b));
            if req.descending { ord.reverse() } else { ord }
        });
    }
}

/// Overlays the JSON body on a generated object answer where the types agree, and marks writes
/// as applied.
fn finish_generic(ctx: &Ctx<'_>, mut value: Value) -> Reply {
    let spec = &ctx.shared.spec;
    if let (Value::Object(out), Value::Object(body), Some(schema)) =
        (&mut value, ctx.body.json(), ctx.op.response.as_ref())
        && let Some(props) = spec
            .resolve(schema)
            .get("properties")
            .and_then(Value::as_object)
    {
        for (name, v) in body {
            if let Some(prop) = props.get(name)
                && check_json(spec, prop, v, name).is_ok()
            {
                out.insert(name.clone(), v.clone());
            }
        }
    }
    if ctx.op.method == http::Method::GET {
        Reply::ok(value)
    } else {
        Reply::applied(value)
    }
}
