//! Reads the OpenAPI document into a small model of what the generator needs.
//!
//! Only the subset of OpenAPI 3.0 the LiveAgent spec uses is understood; anything else is an
//! error, so a change in the spec cannot silently produce wrong code.

use std::collections::{BTreeMap, BTreeSet};

use heck::{ToSnakeCase, ToUpperCamelCase};
use serde_json::Value;

use crate::GenError;
use crate::config::Config;

/// A scalar type of the spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    /// `string` (any format).
    String,
    /// `integer`.
    Integer,
    /// `number`.
    Number,
    /// `boolean`.
    Boolean,
}

/// Where a parameter goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A path segment.
    Path,
    /// The query string.
    Query,
    /// A header.
    Header,
}

/// The Rust-side type of a parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamType {
    /// One scalar.
    Scalar(Scalar),
    /// A repeated query parameter.
    List(Scalar),
    /// `_filters`, built with `la_core::Filters`.
    Filters,
}

/// An operation parameter.
#[derive(Clone, Debug)]
pub struct Param {
    /// The name on the wire.
    pub wire: String,
    /// The Rust name (setter or argument).
    pub rust: String,
    /// Where it goes.
    pub location: Location,
    /// Its type.
    pub ty: ParamType,
    /// Whether the spec requires it.
    pub required: bool,
    /// The spec's default, as text.
    pub default: Option<String>,
    /// The spec's description.
    pub description: Option<String>,
}

/// A field of a form or inline JSON body.
#[derive(Clone, Debug)]
pub struct BodyField {
    /// The name on the wire.
    pub wire: String,
    /// The Rust name.
    pub rust: String,
    /// Its type.
    pub ty: Scalar,
    /// Whether the spec requires it.
    pub required: bool,
}

/// A request body.
#[derive(Clone, Debug)]
pub enum Body {
    /// A JSON body of a named schema.
    Model {
        /// The schema.
        schema: String,
        /// Whether the spec requires the body.
        required: bool,
    },
    /// A JSON object whose shape the spec leaves open.
    FreeForm {
        /// Whether the spec requires the body.
        required: bool,
    },
    /// A JSON object with fields given inline.
    InlineJson {
        /// The fields.
        fields: Vec<BodyField>,
    },
    /// An `application/x-www-form-urlencoded` body.
    Form {
        /// The fields.
        fields: Vec<BodyField>,
    },
    /// A `multipart/form-data` body with one file part.
    Multipart {
        /// The name of the file part.
        file_field: String,
        /// The Rust name of the file part.
        rust: String,
    },
}

/// What a successful call returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// One value of a named schema.
    Model(String),
    /// A JSON array of a named schema.
    List(String),
    /// A JSON object whose shape the spec leaves open.
    FreeForm,
    /// A JSON string.
    Text,
}

/// How a list operation pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paging {
    /// `_page` / `_perPage`.
    Numbered,
    /// `_cursor` / `_perPage`.
    Cursor,
}

/// One operation.
#[derive(Clone, Debug)]
pub struct Operation {
    /// `operationId`.
    pub id: String,
    /// The Rust method name.
    pub rust: String,
    /// The first tag.
    pub tag: String,
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path template.
    pub path: String,
    /// The spec's summary.
    pub summary: String,
    /// Marked `x-inferred`: no published definition.
    pub inferred: bool,
    /// Path parameters in template order, then the others by wire name.
    pub params: Vec<Param>,
    /// The request body.
    pub body: Option<Body>,
    /// The success response.
    pub response: Response,
    /// How it pages, for list operations.
    pub paging: Option<Paging>,
}

/// The type of a model field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// A scalar.
    Scalar(Scalar),
    /// A generated enum.
    Enum(String),
    /// A nested model.
    Model(String),
    /// A JSON object whose shape the spec leaves open.
    FreeForm,
    /// A JSON array.
    List(Box<FieldType>),
}

/// A model field.
#[derive(Clone, Debug)]
pub struct Field {
    /// The name on the wire.
    pub wire: String,
    /// The Rust name.
    pub rust: String,
    /// Its type.
    pub ty: FieldType,
    /// Required in requests.
    pub required: bool,
    /// The spec's `format`, if any.
    pub format: Option<String>,
}

/// A model (one schema).
#[derive(Clone, Debug)]
pub struct Schema {
    /// The schema name, also the Rust type name.
    pub name: String,
    /// Its fields, by wire name.
    pub fields: Vec<Field>,
}

/// A string enum.
#[derive(Clone, Debug)]
pub struct EnumDef {
    /// The Rust type name.
    pub name: String,
    /// `(wire value, variant name)`, in the order of first appearance.
    pub variants: Vec<(String, String)>,
    /// The `Schema.property` places that use it.
    pub used_by: Vec<String>,
}

/// Everything the generator needs from the spec.
#[derive(Debug)]
pub struct Api {
    /// Operations sorted by tag, then operationId.
    pub operations: Vec<Operation>,
    /// Schemas by name.
    pub schemas: BTreeMap<String, Schema>,
    /// Enums by type name.
    pub enums: BTreeMap<String, EnumDef>,
}

const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe",
    "use", "where", "while", "abstract", "become", "box", "do", "final", "macro", "override",
    "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// Whether `name` needs the `r#` prefix.
pub fn is_keyword(name: &str) -> bool {
    RUST_KEYWORDS.contains(&name)
}

/// The snake_case Rust name of a wire name (`_perPage` → `per_page`, `Timezone-Offset` →
/// `timezone_offset`, `getTicketHistory_0` → `get_ticket_history_0`).
pub fn snake(wire: &str) -> String {
    let mut name = wire
        .trim_start_matches('_')
        .replace('-', "_")
        .to_snake_case();
    if wire.ends_with(|c: char| c.is_ascii_digit()) && !name.ends_with(|c: char| c.is_ascii_digit())
    {
        name = wire.to_snake_case();
    }
    name
}

/// The UpperCamelCase name of an enum value (`one_time` → `OneTime`, `0` → `V0`).
fn variant_name(value: &str) -> String {
    match value {
        "" => return "Empty".to_owned(),
        "*" => return "Star".to_owned(),
        "#" => return "Hash".to_owned(),
        _ => {}
    }
    let camel = value.replace('-', "_").to_upper_camel_case();
    if camel.starts_with(|c: char| c.is_ascii_digit()) {
        format!("V{camel}")
    } else {
        camel
    }
}

fn obj<'a>(value: &'a Value, what: &str) -> Result<&'a serde_json::Map<String, Value>, GenError> {
    value
        .as_object()
        .ok_or_else(|| GenError::Spec(format!("{what} is not an object")))
}

fn text<'a>(value: &'a Value, key: &str, what: &str) -> Result<&'a str, GenError> {
    value
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| GenError::Spec(format!("{what} has no string `{key}`")))
}

fn ref_name(value: &Value) -> Option<&str> {
    value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
}

fn scalar_of(schema: &Value, what: &str) -> Result<Scalar, GenError> {
    match schema.get("type").and_then(Value::as_str) {
        Some("string") => Ok(Scalar::String),
        Some("integer") => Ok(Scalar::Integer),
        Some("number") => Ok(Scalar::Number),
        Some("boolean") => Ok(Scalar::Boolean),
        other => Err(GenError::Spec(format!(
            "{what}: unsupported scalar type {other:?}"
        ))),
    }
}

fn is_free_form(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("object")
        && schema.get("properties").is_none()
        && schema.get("additionalProperties").is_some()
}

impl Api {
    /// Reads the spec.
    pub fn from_spec(spec: &Value, config: &Config) -> Result<Self, GenError> {
        let mut enums = EnumCollector::new(config);
        let schemas = read_schemas(spec, &mut enums)?;
        let mut operations = Vec::new();
        let paths = obj(spec.get("paths").unwrap_or(&Value::Null), "paths")?;
        for (path, item) in paths {
            for (method, op) in obj(item, path)? {
                let op = read_operation(path, method, op)?;
                if config.crate_of_tag(&op.tag).is_none() {
                    return Err(GenError::Config(format!(
                        "tag `{}` of {} is not assigned to a crate",
                        op.tag, op.id
                    )));
                }
                operations.push(op);
            }
        }
        operations.sort_by(|a, b| (&a.tag, &a.id).cmp(&(&b.tag, &b.id)));
        let mut seen = BTreeSet::new();
        for op in &operations {
            if !seen.insert(op.id.clone()) {
                return Err(GenError::Spec(format!(
                    "operationId {} appears twice",
                    op.id
                )));
            }
        }
        Ok(Self {
            operations,
            schemas,
            enums: enums.finish()?,
        })
    }
}

/// A JSON object of the spec.
type Object = serde_json::Map<String, Value>;

/// The property names an object schema requires, and its properties (`None` when it has none).
fn required_and_properties<'a>(
    schema: &'a Value,
    what: &str,
) -> Result<(BTreeSet<&'a str>, Option<&'a Object>), GenError> {
    let required = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let properties = schema.get("properties").map(|p| obj(p, what)).transpose()?;
    Ok((required, properties))
}

fn read_schemas(
    spec: &Value,
    enums: &mut EnumCollector<'_>,
) -> Result<BTreeMap<String, Schema>, GenError> {
    let schemas = spec
        .pointer("/components/schemas")
        .ok_or_else(|| GenError::Spec("no components.schemas".into()))?;
    let mut out = BTreeMap::new();
    for (name, schema) in obj(schemas, "components.schemas")? {
        if schema.get("type").and_then(Value::as_str) != Some("object") {
            return Err(GenError::Spec(format!("schema {name} is not an object")));
        }
        let (required, properties) = required_and_properties(schema, name)?;
        let mut fields = Vec::new();
        let mut rust_names = BTreeSet::new();
        for (wire, property) in properties.into_iter().flatten() {
            let place = format!("{name}.{wire}");
            let ty = field_type(property, &place, enums)?;
            let rust = snake(wire);
            if !rust_names.insert(rust.clone()) {
                return Err(GenError::Spec(format!(
                    "{place}: the Rust name `{rust}` is taken"
                )));
            }
            fields.push(Field {
                wire: wire.clone(),
                rust,
                ty,
                required: required.contains(wire.as_str()),
                format: property
                    .get("format")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            });
        }
        out.insert(
            name.clone(),
            Schema {
                name: name.clone(),
                fields,
            },
        );
    }
    Ok(out)
}

fn field_type(
    property: &Value,
    place: &str,
    enums: &mut EnumCollector<'_>,
) -> Result<FieldType, GenError> {
    if let Some(name) = ref_name(property) {
        return Ok(FieldType::Model(name.to_owned()));
    }
    if let Some(values) = property.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = values
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| GenError::Spec(format!("{place}: enum value {v} is not text")))
            })
            .collect::<Result<_, _>>()?;
        return Ok(FieldType::Enum(enums.add(place, &values)?));
    }
    match property.get("type").and_then(Value::as_str) {
        Some("array") => {
            let items = property
                .get("items")
                .ok_or_else(|| GenError::Spec(format!("{place}: array without items")))?;
            Ok(FieldType::List(Box::new(field_type(items, place, enums)?)))
        }
        Some("object") if is_free_form(property) => Ok(FieldType::FreeForm),
        Some("object") => Err(GenError::Spec(format!(
            "{place}: inline object schemas are not supported; give it a name in components"
        ))),
        _ => Ok(FieldType::Scalar(scalar_of(property, place)?)),
    }
}

/// Gathers the enums, merging the properties that `enum_names` maps to one type.
struct EnumCollector<'a> {
    config: &'a Config,
    enums: BTreeMap<String, EnumDef>,
}

impl<'a> EnumCollector<'a> {
    fn new(config: &'a Config) -> Self {
        Self {
            config,
            enums: BTreeMap::new(),
        }
    }

    fn add(&mut self, place: &str, values: &[String]) -> Result<String, GenError> {
        let name = match self.config.enum_names.get(place) {
            Some(name) => name.clone(),
            None => place.replace('.', "_").to_upper_camel_case(),
        };
        let overrides = self.config.enum_variants.get(&name);
        let def = self.enums.entry(name.clone()).or_insert_with(|| EnumDef {
            name: name.clone(),
            variants: Vec::new(),
            used_by: Vec::new(),
        });
        def.used_by.push(place.to_owned());
        for value in values {
            if def.variants.iter().any(|(wire, _)| wire == value) {
                continue;
            }
            let variant = overrides
                .and_then(|o| o.get(value))
                .cloned()
                .unwrap_or_else(|| variant_name(value));
            def.variants.push((value.clone(), variant));
        }
        Ok(name)
    }

    fn finish(self) -> Result<BTreeMap<String, EnumDef>, GenError> {
        for def in self.enums.values() {
            let mut names = BTreeSet::new();
            for (wire, variant) in &def.variants {
                if variant == "Unknown" || !names.insert(variant.as_str()) {
                    return Err(GenError::Spec(format!(
                        "enum {}: the variant name `{variant}` (value {wire:?}) is taken; \
                         name it in codegen.toml [enum_variants.{}]",
                        def.name, def.name
                    )));
                }
            }
        }
        for (place, name) in &self.config.enum_names {
            if !self.enums.contains_key(name) {
                return Err(GenError::Config(format!(
                    "enum_names: {place} does not name an enum property of the spec"
                )));
            }
        }
        Ok(self.enums)
    }
}

fn read_param(param: &Value, op_id: &str) -> Result<Param, GenError> {
    let wire = text(param, "name", op_id)?.to_owned();
    let what = format!("{op_id} parameter {wire}");
    let location = match text(param, "in", &what)? {
        "path" => Location::Path,
        "query" => Location::Query,
        "header" => Location::Header,
        other => {
            return Err(GenError::Spec(format!(
                "{what}: unsupported location {other}"
            )));
        }
    };
    let schema = param
        .get("schema")
        .ok_or_else(|| GenError::Spec(format!("{what}: no schema")))?;
    let ty = if wire == "_filters" {
        ParamType::Filters
    } else if schema.get("type").and_then(Value::as_str) == Some("array") {
        let items = schema
            .get("items")
            .ok_or_else(|| GenError::Spec(format!("{what}: array without items")))?;
        ParamType::List(scalar_of(items, &what)?)
    } else {
        ParamType::Scalar(scalar_of(schema, &what)?)
    };
    let required =
        location == Location::Path || param.get("required").and_then(Value::as_bool) == Some(true);
    Ok(Param {
        rust: snake(&wire),
        wire,
        location,
        ty,
        required,
        default: schema.get("default").map(|d| match d {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        description: param
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

fn body_fields(schema: &Value, what: &str) -> Result<Vec<BodyField>, GenError> {
    let (required, properties) = required_and_properties(schema, what)?;
    let mut fields = Vec::new();
    for (wire, property) in properties.into_iter().flatten() {
        fields.push(BodyField {
            wire: wire.clone(),
            rust: snake(wire),
            ty: scalar_of(property, &format!("{what}.{wire}"))?,
            required: required.contains(wire.as_str()),
        });
    }
    Ok(fields)
}

fn read_body(body: &Value, op_id: &str) -> Result<Body, GenError> {
    let what = format!("{op_id} request body");
    let required = body.get("required").and_then(Value::as_bool) == Some(true);
    let content = obj(
        body.get("content").unwrap_or(&Value::Null),
        &format!("{what} content"),
    )?;
    if content.len() != 1 {
        return Err(GenError::Spec(format!("{what}: expected one content type")));
    }
    let Some((content_type, media)) = content.iter().next() else {
        return Err(GenError::Spec(format!("{what}: no content type")));
    };
    let schema = media
        .get("schema")
        .ok_or_else(|| GenError::Spec(format!("{what}: no schema")))?;
    match content_type.as_str() {
        "application/json" => {
            if let Some(name) = ref_name(schema) {
                Ok(Body::Model {
                    schema: name.to_owned(),
                    required,
                })
            } else if is_free_form(schema) {
                Ok(Body::FreeForm { required })
            } else {
                Ok(Body::InlineJson {
                    fields: body_fields(schema, &what)?,
                })
            }
        }
        "application/x-www-form-urlencoded" => Ok(Body::Form {
            fields: body_fields(schema, &what)?,
        }),
        "multipart/form-data" => {
            let properties = obj(schema.get("properties").unwrap_or(&Value::Null), &what)?;
            let binary: Vec<&String> = properties
                .iter()
                .filter(|(_, p)| p.get("format").and_then(Value::as_str) == Some("binary"))
                .map(|(name, _)| name)
                .collect();
            match (binary.as_slice(), properties.len()) {
                ([file_field], 1) => Ok(Body::Multipart {
                    file_field: (*file_field).clone(),
                    rust: snake(file_field),
                }),
                _ => Err(GenError::Spec(format!(
                    "{what}: only a multipart body with exactly one binary part is supported"
                ))),
            }
        }
        other => Err(GenError::Spec(format!(
            "{what}: unsupported content type {other}"
        ))),
    }
}

fn read_response(op: &Value, op_id: &str) -> Result<Response, GenError> {
    let schema = op
        .pointer("/responses/200/content/application~1json/schema")
        .ok_or_else(|| GenError::Spec(format!("{op_id}: no JSON 200 response")))?;
    if let Some(name) = ref_name(schema) {
        return Ok(Response::Model(name.to_owned()));
    }
    if is_free_form(schema) {
        return Ok(Response::FreeForm);
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("array") => schema
            .get("items")
            .and_then(ref_name)
            .map(|name| Response::List(name.to_owned()))
            .ok_or_else(|| GenError::Spec(format!("{op_id}: array response of unnamed items"))),
        Some("string") => Ok(Response::Text),
        other => Err(GenError::Spec(format!(
            "{op_id}: unsupported response type {other:?}"
        ))),
    }
}

fn read_operation(path: &str, method: &str, op: &Value) -> Result<Operation, GenError> {
    let id = text(op, "operationId", &format!("{method} {path}"))?.to_owned();
    let tag = op
        .get("tags")
        .and_then(Value::as_array)
        .and_then(|t| t.first())
        .and_then(Value::as_str)
        .ok_or_else(|| GenError::Spec(format!("{id}: no tag")))?
        .to_owned();
    let mut params = op
        .get("parameters")
        .and_then(Value::as_array)
        .map(|params| {
            params
                .iter()
                .map(|p| read_param(p, &id))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    // Path parameters in the order of the template, then the rest by wire name; a path
    // parameter missing from the template is an error.
    params.sort_by(|a, b| a.wire.cmp(&b.wire));
    let mut positioned = Vec::with_capacity(params.len());
    for p in params {
        let position = match p.location {
            Location::Path => path.find(&format!("{{{}}}", p.wire)).ok_or_else(|| {
                GenError::Spec(format!("{id}: path parameter {} not in {path}", p.wire))
            })?,
            _ => usize::MAX,
        };
        positioned.push((position, p));
    }
    positioned.sort_by_key(|(position, _)| *position);
    let params: Vec<Param> = positioned.into_iter().map(|(_, p)| p).collect();
    let body = op
        .get("requestBody")
        .map(|b| read_body(b, &id))
        .transpose()?;
    let mut names = BTreeSet::new();
    let body_names: Vec<&str> = match &body {
        Some(Body::Form { fields }) | Some(Body::InlineJson { fields }) => {
            fields.iter().map(|f| f.rust.as_str()).collect()
        }
        Some(Body::Multipart { rust, .. }) => vec![rust.as_str()],
        Some(Body::Model { .. } | Body::FreeForm { .. }) => vec!["body"],
        None => vec![],
    };
    for name in params.iter().map(|p| p.rust.as_str()).chain(body_names) {
        if !names.insert(name) {
            return Err(GenError::Spec(format!(
                "{id}: two inputs are named `{name}` in Rust"
            )));
        }
    }
    let response = read_response(op, &id)?;
    let has = |wire: &str| params.iter().any(|p| p.wire == wire);
    let paging = match &response {
        Response::List(_) if has("_cursor") => Some(Paging::Cursor),
        Response::List(_) if has("_page") => Some(Paging::Numbered),
        _ => None,
    };
    Ok(Operation {
        rust: snake(&id),
        summary: text(op, "summary", &id).unwrap_or(&id).to_owned(),
        inferred: op.get("x-inferred").and_then(Value::as_bool) == Some(true),
        method: method.to_ascii_uppercase(),
        path: path.to_owned(),
        id,
        tag,
        params,
        body,
        response,
        paging,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(snake("_perPage"), "per_page");
        assert_eq!(snake("Timezone-Offset"), "timezone_offset");
        assert_eq!(snake("getTicketHistory_0"), "get_ticket_history_0");
        assert_eq!(snake("excludeIPBan"), "exclude_ip_ban");
        assert_eq!(snake("generateSSOKey"), "generate_sso_key");
        assert_eq!(variant_name("one_time"), "OneTime");
        assert_eq!(variant_name("T-O"), "TO");
        assert_eq!(variant_name("0"), "V0");
        assert_eq!(variant_name("1m"), "V1m");
        assert_eq!(variant_name(""), "Empty");
    }
}
