//! Realistic example values derived from the schemas, for the generated tests.
//!
//! Every field of a schema gets a value that looks like what LiveAgent sends for a property of
//! that name and type, so a test that decodes the example and encodes it again checks every
//! field's wire name and type.

use serde_json::{Value, json};

use crate::spec::{Api, FieldType, Scalar};

/// How deep nested models are filled in.
const MAX_DEPTH: usize = 4;

fn text_for(name: &str, format: Option<&str>) -> String {
    let lower = name.to_ascii_lowercase();
    if format == Some("date-time") || lower.starts_with("date") || lower.ends_with("_date") {
        "2024-03-05 14:07:09".to_owned()
    } else if lower.contains("email") || lower == "useridentifier" || lower == "recipient" {
        "jane.doe@example.com".to_owned()
    } else if lower.contains("url") {
        "https://support.example.com/path".to_owned()
    } else if lower.contains("number") || lower.contains("phone") {
        "+421900123456".to_owned()
    } else if lower == "id" || lower.ends_with("id") || lower.ends_with("_id") {
        format!("{}9x", &lower.chars().take(3).collect::<String>())
    } else if lower.contains("name") {
        "Jane Doe".to_owned()
    } else if lower.contains("message") || lower.contains("body") || lower.contains("text") {
        "Hello, my printer is on fire.".to_owned()
    } else {
        format!("{name} value")
    }
}

fn scalar_value(scalar: Scalar, name: &str, format: Option<&str>) -> Value {
    match scalar {
        Scalar::String => Value::String(text_for(name, format)),
        Scalar::Integer => json!(7),
        // Not integral, so that a value decoded as f64 encodes back to the same JSON.
        Scalar::Number => json!(12.5),
        Scalar::Boolean => json!(true),
    }
}

fn field_value(api: &Api, ty: &FieldType, name: &str, format: Option<&str>, depth: usize) -> Value {
    match ty {
        FieldType::Scalar(scalar) => scalar_value(*scalar, name, format),
        FieldType::Enum(enum_name) => api
            .enums
            .get(enum_name)
            .and_then(|e| e.variants.iter().find(|(wire, _)| !wire.is_empty()))
            .map(|(wire, _)| Value::String(wire.clone()))
            .unwrap_or(Value::Null),
        FieldType::Model(model) => model_value(api, model, depth + 1),
        FieldType::FreeForm => json!({ "key": "value", "count": 3 }),
        FieldType::List(inner) => Value::Array(vec![field_value(api, inner, name, format, depth)]),
    }
}

/// An example object of schema `name` with every field set.
pub fn model_value(api: &Api, name: &str, depth: usize) -> Value {
    let mut object = serde_json::Map::new();
    if depth > MAX_DEPTH {
        return Value::Object(object);
    }
    if let Some(schema) = api.schemas.get(name) {
        for field in &schema.fields {
            let value = field_value(api, &field.ty, &field.wire, field.format.as_deref(), depth);
            if !value.is_null() {
                object.insert(field.wire.clone(), value);
            }
        }
    }
    Value::Object(object)
}

/// An example value for a parameter or body field: text derived from its name, or a number.
pub fn sample_scalar(scalar: Scalar, name: &str) -> Value {
    match scalar {
        Scalar::String => Value::String(format!("{name} v/1 é")),
        Scalar::Integer => json!(42),
        Scalar::Number => json!(7.5),
        Scalar::Boolean => json!(true),
    }
}
