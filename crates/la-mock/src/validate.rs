//! Checking a request against its operation: path, query and header parameters and the body.
//!
//! Every check names the offending field in its message; the server answers such failures with
//! `422` and `{"message": ...}`.

use http::HeaderMap;
use serde_json::Value;

use crate::spec::{Operation, ParamLocation, ParamType, SpecIndex, param_type};

/// Decoded query string pairs, in order.
#[derive(Clone, Debug, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses a raw query string (`a=1&b=2`), percent- and `+`-decoding it.
    pub fn parse(raw: Option<&str>) -> Result<Self, String> {
        match raw {
            None | Some("") => Ok(Self::default()),
            Some(raw) => serde_urlencoded::from_str::<Vec<(String, String)>>(raw)
                .map(|pairs| Self { pairs })
                .map_err(|e| format!("malformed query string: {e}")),
        }
    }

    /// The first value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated parameter.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name || k.strip_suffix("[]") == Some(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// A decoded request body.
#[derive(Clone, Debug, Default)]
pub enum RequestBody {
    /// No body.
    #[default]
    None,
    /// A JSON document.
    Json(Value),
    /// Form fields.
    Form(Vec<(String, String)>),
    /// Multipart parts: (field name, file name, content).
    Multipart(Vec<MultipartPart>),
}

impl RequestBody {
    /// The JSON body, or `Value::Null`.
    pub fn json(&self) -> &Value {
        static NULL: Value = Value::Null;
        match self {
            RequestBody::Json(v) => v,
            _ => &NULL,
        }
    }

    /// A form field's value.
    pub fn form(&self, name: &str) -> Option<&str> {
        match self {
            RequestBody::Form(fields) => fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str()),
            _ => None,
        }
    }
}

/// One part of a `multipart/form-data` body.
#[derive(Clone, Debug)]
pub struct MultipartPart {
    /// The form field name.
    pub name: String,
    /// The file name, if the part is a file.
    pub filename: Option<String>,
    /// The content length in bytes.
    pub len: usize,
}

/// Checks a value against the declared parameter type.
fn check_param(ty: &ParamType, value: &str) -> Result<(), &'static str> {
    match ty {
        ParamType::String | ParamType::Array(_) => Ok(()),
        ParamType::Integer => value
            .trim()
            .parse::<i64>()
            .map(|_| ())
            .map_err(|_| "an integer"),
        ParamType::Number => value
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(|_| ())
            .ok_or("a number"),
        ParamType::Boolean => match value {
            "true" | "false" | "1" | "0" => Ok(()),
            _ => Err("a boolean (true or false)"),
        },
    }
}

/// Reads a boolean query value as the validator accepts it.
pub fn parse_bool(value: &str) -> bool {
    matches!(value, "true" | "1")
}

/// Checks path, query and header parameters.
pub fn check_params(
    op: &Operation,
    path_params: &[(String, String)],
    query: &Query,
    headers: &HeaderMap,
) -> Result<(), String> {
    for p in &op.params {
        match p.location {
            ParamLocation::Path => {
                let value = path_params
                    .iter()
                    .find(|(k, _)| *k == p.name)
                    .map(|(_, v)| v.as_str())
                    .unwrap_or("");
                check_param(&p.ty, value).map_err(|expected| {
                    format!(
                        "path parameter '{}' must be {expected}, got '{value}'",
                        p.name
                    )
                })?;
            }
            ParamLocation::Query => {
                let values = query.all(&p.name);
                if values.is_empty() {
                    if p.required {
                        return Err(format!("missing required query parameter '{}'", p.name));
                    }
                    continue;
                }
                let item_ty = match &p.ty {
                    ParamType::Array(inner) => inner.as_ref(),
                    other => {
                        if values.len() > 1 {
                            return Err(format!(
                                "query parameter '{}' must be given once, got {} values",
                                p.name,
                                values.len()
                            ));
                        }
                        other
                    }
                };
                for v in values {
                    check_param(item_ty, v).map_err(|expected| {
                        format!("query parameter '{}' must be {expected}, got '{v}'", p.name)
                    })?;
                }
            }
            ParamLocation::Header => match headers.get(p.name.as_str()) {
                None if p.required => {
                    return Err(format!("missing required header '{}'", p.name));
                }
                None => {}
                Some(raw) => {
                    let v = raw.to_str().map_err(|_| {
                        format!("header '{}' must be {}", p.name, "valid ASCII text")
                    })?;
                    check_param(&p.ty, v).map_err(|expected| {
                        format!("header '{}' must be {expected}, got '{v}'", p.name)
                    })?;
                }
            },
        }
    }
    Ok(())
}

/// Checks and decodes the request body by its content type.
pub fn check_body(
    spec: &SpecIndex,
    op: &Operation,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<RequestBody, String> {
    let Some(body_spec) = &op.body else {
        // Operations without a body ignore whatever was sent.
        return Ok(RequestBody::None);
    };
    let empty = body.iter().all(u8::is_ascii_whitespace);
    if empty {
        if body_spec.required {
            return Err("a request body is required".to_string());
        }
        return Ok(RequestBody::None);
    }
    let media = content_type
        .map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let Some((declared, schema)) = body_spec.content.iter().find(|(m, _)| *m == media) else {
        let expected: Vec<&str> = body_spec.content.iter().map(|(m, _)| m.as_str()).collect();
        return Err(format!(
            "unsupported content type '{}': expected {}",
            if media.is_empty() { "(none)" } else { &media },
            expected.join(" or ")
        ));
    };
    match declared.as_str() {
        "application/json" => {
            let value: Value = serde_json::from_slice(body)
                .map_err(|e| format!("the body is not valid JSON: {e}"))?;
            check_json(spec, schema, &value, "body")?;
            Ok(RequestBody::Json(value))
        }
        "application/x-www-form-urlencoded" => {
            let text = std::str::from_utf8(body)
                .map_err(|_| "the form body is not valid UTF-8".to_string())?;
            let fields: Vec<(String, String)> = serde_urlencoded::from_str(text)
                .map_err(|e| format!("the form body is malformed: {e}"))?;
            check_form(spec, schema, &fields)?;
            Ok(RequestBody::Form(fields))
        }
        "multipart/form-data" => {
            let boundary = content_type
                .and_then(multipart_boundary)
                .ok_or("multipart content type without a boundary")?;
            let parts = parse_multipart(body, &boundary)?;
            let schema = spec.resolve(schema);
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (name, prop) in props {
                    let is_binary =
                        spec.resolve(prop).get("format").and_then(Value::as_str) == Some("binary");
                    if is_binary && !parts.iter().any(|p| p.name == *name) {
                        return Err(format!("the multipart body must contain a '{name}' part"));
                    }
                }
            }
            Ok(RequestBody::Multipart(parts))
        }
        other => Err(format!("unsupported content type '{other}'")),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks a JSON value against a schema; `at` names the location (`body.tags[0]`).
pub fn check_json(spec: &SpecIndex, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = spec.resolve(schema);
    if let Some(ty) = schema.get("type").and_then(Value::as_str) {
        let actual = json_type(value);
        let ok = match ty {
            "number" => matches!(actual, "integer" | "number"),
            "integer" => {
                actual == "integer"
                    || value
                        .as_f64()
                        .is_some_and(|f| f.fract() == 0.0 && f.is_finite())
            }
            other => actual == other,
        };
        if !ok {
            return Err(format!("{at}: expected {ty}, got {actual}"));
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        let listed: Vec<String> = options.iter().map(Value::to_string).collect();
        return Err(format!(
            "{at}: {value} is not one of [{}]",
            listed.join(", ")
        ));
    }
    match value {
        Value::Object(map) => {
            if let Some(required) = schema.get("required").and_then(Value::as_array) {
                for name in required.iter().filter_map(Value::as_str) {
                    if !map.contains_key(name) {
                        return Err(format!("{at}: missing required property '{name}'"));
                    }
                }
            }
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (name, prop_schema) in props {
                    if let Some(v) = map.get(name) {
                        check_json(spec, prop_schema, v, &format!("{at}.{name}"))?;
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check_json(spec, item_schema, item, &format!("{at}[{i}]"))?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn check_form(spec: &SpecIndex, schema: &Value, fields: &[(String, String)]) -> Result<(), String> {
    let schema = spec.resolve(schema);
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for name in required.iter().filter_map(Value::as_str) {
            if !fields.iter().any(|(k, _)| k == name) {
                return Err(format!("missing required form field '{name}'"));
            }
        }
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            // An array field, like a string one, accepts any text (see `check_param`).
            let ty = param_type(spec.resolve(prop));
            for (_, v) in fields.iter().filter(|(k, _)| k == name) {
                check_param(&ty, v).map_err(|expected| {
                    format!("form field '{name}' must be {expected}, got '{v}'")
                })?;
            }
        }
    }
    Ok(())
}

fn multipart_boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("boundary")).then(|| v.trim().trim_matches('"').to_string())
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Splits a multipart body into its parts.
fn parse_multipart(body: &[u8], boundary: &str) -> Result<Vec<MultipartPart>, String> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut parts = Vec::new();
    let mut pos = find(body, delimiter, 0).ok_or("the multipart body has no boundary line")?;
    loop {
        pos += delimiter.len();
        if body.get(pos..pos + 2) == Some(b"--") {
            break;
        }
        // Skip the line break after the boundary.
        let headers_start = find(body, b"\r\n", pos).ok_or("truncated multipart body")? + 2;
        let headers_end =
            find(body, b"\r\n\r\n", headers_start).ok_or("a multipart part has no header end")?;
        let headers = String::from_utf8_lossy(&body[headers_start..headers_end]);
        let content_start = headers_end + 4;
        let next = find(body, delimiter, content_start)
            .ok_or("the multipart body has no closing boundary")?;
        let content_end = next.saturating_sub(2).max(content_start);
        let mut name = None;
        let mut filename = None;
        for line in headers.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            if !key.trim().eq_ignore_ascii_case("content-disposition") {
                continue;
            }
            for attr in value.split(';').skip(1) {
                if let Some((k, v)) = attr.split_once('=') {
                    let v = v.trim().trim_matches('"').to_string();
                    match k.trim() {
                        "name" => name = Some(v),
                        "filename" => filename = Some(v),
                        _ => {}
                    }
                }
            }
        }
        let name = name.ok_or("a multipart part has no name")?;
        parts.push(MultipartPart {
            name,
            filename,
            len: content_end - content_start,
        });
        pos = next;
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_multipart() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n";
        let parts = parse_multipart(body, "XyZ").unwrap_or_default();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].name, "file");
        assert_eq!(parts[0].filename.as_deref(), Some("a.txt"));
        assert_eq!(parts[0].len, 5);
    }
}
