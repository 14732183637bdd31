//! An index of the embedded OpenAPI description: operations, their parameters, request bodies,
//! response schemas and the component schemas they refer to.

use std::collections::HashMap;

use http::Method;
use serde_json::Value;

/// The OpenAPI description the simulator serves, embedded at build time.
pub const SPEC_JSON: &str = include_str!("../spec/liveagent-v3.openapi.json");

/// Where a parameter travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamLocation {
    /// A `{name}` segment of the path.
    Path,
    /// A query string parameter.
    Query,
    /// A request header.
    Header,
}

/// The primitive type of a parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamType {
    /// Any string.
    String,
    /// A whole number.
    Integer,
    /// Any number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A repeated parameter (`name=a&name=b`) whose items have the inner type.
    Array(Box<ParamType>),
}

/// One parameter of an operation.
#[derive(Clone, Debug)]
pub struct Param {
    /// The wire name.
    pub name: String,
    /// Path, query or header.
    pub location: ParamLocation,
    /// The declared type.
    pub ty: ParamType,
    /// Whether the parameter must be present.
    pub required: bool,
}

/// The request body an operation accepts.
#[derive(Clone, Debug)]
pub struct BodySpec {
    /// Whether a body must be sent.
    pub required: bool,
    /// Accepted media types with their schemas.
    pub content: Vec<(String, Value)>,
}

/// How an operation returns a collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListKind {
    /// Not a list operation.
    None,
    /// A bare array without paging parameters.
    Plain,
    /// A page-numbered list (`_page`, `_perPage`, `_from`, `_to`).
    Paged,
    /// A cursor list (`_cursor`, `_perPage`, `next_page_cursor` header).
    Cursor,
    /// A `/count` operation answering `{"count": N}`.
    Count,
}

/// One segment of a path template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// A fixed segment.
    Literal(String),
    /// A `{name}` placeholder.
    Param(String),
}

/// One operation of the API.
#[derive(Clone, Debug)]
pub struct Operation {
    /// The `operationId`.
    pub id: String,
    /// The HTTP method.
    pub method: Method,
    /// The path template relative to the base path, as written in the spec.
    pub path: String,
    /// The path template split into segments (a trailing slash is ignored).
    pub segments: Vec<Segment>,
    /// All parameters.
    pub params: Vec<Param>,
    /// The request body, if the operation takes one.
    pub body: Option<BodySpec>,
    /// The schema of the `200` response, if it has a JSON body.
    pub response: Option<Value>,
    /// The list style of the operation.
    pub list: ListKind,
}

impl Operation {
    /// The parameter with this name and location.
    pub fn param(&self, name: &str, location: ParamLocation) -> Option<&Param> {
        self.params
            .iter()
            .find(|p| p.name == name && p.location == location)
    }

    /// Whether the operation declares a query parameter of this name.
    pub fn has_query(&self, name: &str) -> bool {
        self.param(name, ParamLocation::Query).is_some()
    }
}

/// Errors found while reading the description.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The document is not JSON.
    #[error("the OpenAPI description is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A required part is missing or malformed.
    #[error("the OpenAPI description is malformed: {0}")]
    Malformed(String),
}

/// The parsed description with fast look-ups.
#[derive(Debug)]
pub struct SpecIndex {
    /// Every operation, in document order.
    pub operations: Vec<Operation>,
    /// The component schemas by name.
    pub schemas: HashMap<String, Value>,
    by_id: HashMap<String, usize>,
}

impl SpecIndex {
    /// Parses the embedded description.
    pub fn embedded() -> Result<Self, SpecError> {
        Self::parse(SPEC_JSON)
    }

    /// Parses a description from its JSON text.
    pub fn parse(text: &str) -> Result<Self, SpecError> {
        let doc: Value = serde_json::from_str(text)?;
        let schemas: HashMap<String, Value> = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let paths = doc
            .get("paths")
            .and_then(Value::as_object)
            .ok_or_else(|| SpecError::Malformed("no `paths` object".into()))?;
        let mut operations = Vec::new();
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for (method_name, op) in item {
                let method = match method_name.as_str() {
                    "get" => Method::GET,
                    "post" => Method::POST,
                    "put" => Method::PUT,
                    "delete" => Method::DELETE,
                    "patch" => Method::PATCH,
                    "head" => Method::HEAD,
                    "options" => Method::OPTIONS,
                    _ => continue,
                };
                operations.push(parse_operation(path, method, op)?);
            }
        }
        let by_id = operations
            .iter()
            .enumerate()
            .map(|(i, op)| (op.id.clone(), i))
            .collect();
        Ok(Self {
            operations,
            schemas,
            by_id,
        })
    }

    /// The operation with this `operationId`.
    pub fn operation(&self, id: &str) -> Option<&Operation> {
        self.by_id.get(id).and_then(|&i| self.operations.get(i))
    }

    /// The index of the operation with this `operationId`.
    pub fn operation_index(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// Follows `$ref` links until a schema without one is reached.
    pub fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let mut current = schema;
        for _ in 0..16 {
            match current.get("$ref").and_then(Value::as_str) {
                Some(reference) => match self.schema_by_ref(reference) {
                    Some(next) => current = next,
                    None => return current,
                },
                None => return current,
            }
        }
        current
    }

    /// The component schema a `#/components/schemas/Name` reference points to.
    pub fn schema_by_ref(&self, reference: &str) -> Option<&Value> {
        reference
            .strip_prefix("#/components/schemas/")
            .and_then(|name| self.schemas.get(name))
    }

    /// The component schema with this name.
    pub fn schema(&self, name: &str) -> Option<&Value> {
        self.schemas.get(name)
    }

    /// The item schema of an array response, or the response schema itself otherwise.
    pub fn item_schema<'a>(&'a self, op: &'a Operation) -> Option<&'a Value> {
        let response = self.resolve(op.response.as_ref()?);
        if response.get("type").and_then(Value::as_str) == Some("array") {
            response.get("items").map(|items| self.resolve(items))
        } else {
            Some(response)
        }
    }

    /// The schema of the records a list operation lists: the items of its array answer, or of
    /// the array a wrapper object holds (`{"size": .., "items": [..]}`: its `items`, or its only
    /// array property).
    pub fn list_item_schema<'a>(&'a self, op: &'a Operation) -> Option<&'a Value> {
        let schema = self.item_schema(op)?;
        let answer = self.resolve(op.response.as_ref()?);
        if answer.get("type").and_then(Value::as_str) == Some("array") {
            return Some(schema);
        }
        match self.wrapped_items(schema) {
            Some((_, items)) => Some(items),
            None => Some(schema),
        }
    }

    /// For a wrapper object: the name of its array property and the schema of that array's
    /// items.
    pub fn wrapped_items<'a>(&'a self, schema: &'a Value) -> Option<(&'a str, &'a Value)> {
        let props = schema.get("properties")?.as_object()?;
        let arrays: Vec<(&str, &Value)> = props
            .iter()
            .map(|(name, prop)| (name.as_str(), self.resolve(prop)))
            .filter(|(_, prop)| prop.get("type").and_then(Value::as_str) == Some("array"))
            .collect();
        let (name, array) =
            arrays
                .iter()
                .find(|(name, _)| *name == "items")
                .or(match arrays.as_slice() {
                    [only] => Some(only),
                    _ => None,
                })?;
        Some((name, self.resolve(array.get("items")?)))
    }

    /// The property names of the records an operation lists (or returns); filters and sorting
    /// must name one of them.
    pub(crate) fn columns<'a>(&'a self, op: &'a Operation) -> Vec<&'a str> {
        let listed = match op.list {
            ListKind::Paged | ListKind::Cursor => self.list_item_schema(op),
            _ => self.item_schema(op),
        };
        listed
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object)
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }
}

/// The name of the schema a `$ref` points to (`#/components/schemas/Ticket` → `Ticket`).
pub fn ref_name(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
}

/// Splits a path into segments, ignoring empty ones (so a trailing slash does not matter).
pub fn split_path(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

fn parse_operation(path: &str, method: Method, op: &Value) -> Result<Operation, SpecError> {
    let id = op
        .get("operationId")
        .and_then(Value::as_str)
        .ok_or_else(|| SpecError::Malformed(format!("{method} {path} has no operationId")))?
        .to_string();
    let segments = split_path(path)
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => Segment::Param(name.to_string()),
                None => Segment::Literal(s.to_string()),
            },
        )
        .collect();
    let mut params = Vec::new();
    for p in op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = p
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| SpecError::Malformed(format!("{id}: parameter without a name")))?;
        let location = match p.get("in").and_then(Value::as_str) {
            Some("path") => ParamLocation::Path,
            Some("query") => ParamLocation::Query,
            Some("header") => ParamLocation::Header,
            _ => continue,
        };
        let schema = p.get("schema").cloned().unwrap_or(Value::Null);
        params.push(Param {
            name: name.to_string(),
            location,
            ty: param_type(&schema),
            required: p.get("required").and_then(Value::as_bool).unwrap_or(false)
                || location == ParamLocation::Path,
        });
    }
    let body = op.get("requestBody").map(|rb| BodySpec {
        required: rb.get("required").and_then(Value::as_bool).unwrap_or(false),
        content: rb
            .get("content")
            .and_then(Value::as_object)
            .map(|c| {
                c.iter()
                    .map(|(media, v)| (media.clone(), v.get("schema").cloned().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default(),
    });
    let response = op
        .pointer("/responses/200/content/application~1json/schema")
        .cloned();
    let has = |n: &str| {
        params
            .iter()
            .any(|p| p.name == n && p.location == ParamLocation::Query)
    };
    let is_array = response
        .as_ref()
        .and_then(|r| r.get("type"))
        .and_then(Value::as_str)
        == Some("array");
    let is_count = response.as_ref().and_then(ref_name) == Some("Count");
    let list = if has("_cursor") {
        ListKind::Cursor
    } else if has("_page") || has("_from") {
        ListKind::Paged
    } else if is_count {
        ListKind::Count
    } else if is_array {
        ListKind::Plain
    } else {
        ListKind::None
    };
    Ok(Operation {
        id,
        method,
        path: path.to_string(),
        segments,
        params,
        body,
        response,
        list,
    })
}

/// The type of a parameter (or form field) with this schema.
pub(crate) fn param_type(schema: &Value) -> ParamType {
    match schema.get("type").and_then(Value::as_str) {
        Some("integer") => ParamType::Integer,
        Some("number") => ParamType::Number,
        Some("boolean") => ParamType::Boolean,
        Some("array") => ParamType::Array(Box::new(
            schema
                .get("items")
                .map(param_type)
                .unwrap_or(ParamType::String),
        )),
        _ => ParamType::String,
    }
}
