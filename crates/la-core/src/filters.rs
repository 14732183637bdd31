//! A typed builder for the `_filters` query parameter of list operations.
//!
//! LiveAgent accepts two forms, both JSON text:
//!
//! - an **object** of column → value, every entry an equality: `{"status":"N","departmentid":"d1"}`
//!   ([`Filters::by_column`]);
//! - an **array** of `[column, operator, value]` triples: `[["status","IN","N,C"],["date_created",">=","2024-01-01 00:00:00"]]`
//!   ([`Filters::conditions`]).
//!
//! Combinations the server would reject or misread are refused before anything is sent: an
//! empty column, an operator other than equality in the object form, the same column twice in
//! the object form, an empty `IN` list, a list value holding a comma (the list is sent
//! comma-separated), and a non-finite number.
//!
//! ```
//! use la_core::filters::{Filters, Operator};
//!
//! let filters = Filters::conditions()
//!     .is_in("status", ["N", "C"])
//!     .condition("date_created", Operator::Ge, "2024-01-01 00:00:00");
//! assert_eq!(
//!     filters.to_json()?,
//!     r#"[["status","IN","N,C"],["date_created",">=","2024-01-01 00:00:00"]]"#
//! );
//!
//! let by_column = Filters::by_column().eq("status", "N").eq("departmentid", "d1");
//! assert_eq!(by_column.to_json()?, r#"{"status":"N","departmentid":"d1"}"#);
//! # Ok::<(), la_core::Error>(())
//! ```

use std::fmt;

use serde_json::Value;

use crate::error::Error;

/// A comparison operator of the array form.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operator {
    /// `=`
    Eq,
    /// `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `L`: SQL `LIKE`, with `%` as wildcard.
    Like,
    /// `NL`: SQL `NOT LIKE`.
    NotLike,
    /// `IN`: one of a comma-separated list.
    In,
    /// `NOT IN`: none of a comma-separated list.
    NotIn,
    /// Any other operator LiveAgent understands, sent as written.
    Other(String),
}

impl Operator {
    /// The operator as sent to the server.
    pub fn as_str(&self) -> &str {
        match self {
            Operator::Eq => "=",
            Operator::NotEq => "!=",
            Operator::Lt => "<",
            Operator::Le => "<=",
            Operator::Gt => ">",
            Operator::Ge => ">=",
            Operator::Like => "L",
            Operator::NotLike => "NL",
            Operator::In => "IN",
            Operator::NotIn => "NOT IN",
            Operator::Other(text) => text,
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A filter value: text, a number or a boolean.
#[derive(Clone, Debug, PartialEq)]
pub struct FilterValue(Value);

impl From<&str> for FilterValue {
    fn from(v: &str) -> Self {
        Self(Value::String(v.to_owned()))
    }
}

impl From<String> for FilterValue {
    fn from(v: String) -> Self {
        Self(Value::String(v))
    }
}

impl From<&String> for FilterValue {
    fn from(v: &String) -> Self {
        Self(Value::String(v.clone()))
    }
}

impl From<i64> for FilterValue {
    fn from(v: i64) -> Self {
        Self(Value::from(v))
    }
}

impl From<i32> for FilterValue {
    fn from(v: i32) -> Self {
        Self(Value::from(v))
    }
}

impl From<u32> for FilterValue {
    fn from(v: u32) -> Self {
        Self(Value::from(v))
    }
}

impl From<u64> for FilterValue {
    fn from(v: u64) -> Self {
        Self(Value::from(v))
    }
}

impl From<f64> for FilterValue {
    fn from(v: f64) -> Self {
        Self(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
}

impl From<bool> for FilterValue {
    fn from(v: bool) -> Self {
        Self(Value::Bool(v))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    ByColumn,
    Conditions,
}

#[derive(Clone, Debug, PartialEq)]
struct Condition {
    column: String,
    operator: Operator,
    value: Result<Value, String>,
}

/// A `_filters` value under construction. Nothing is checked until [`Filters::to_json`] (which
/// list operations call before sending), so a builder chain never needs `?`.
#[derive(Clone, Debug, PartialEq)]
pub struct Filters {
    form: Form,
    conditions: Vec<Condition>,
}

impl Filters {
    /// The array form, `[[column, operator, value], ...]`.
    pub fn conditions() -> Self {
        Self {
            form: Form::Conditions,
            conditions: Vec::new(),
        }
    }

    /// The object form, `{column: value, ...}`: equality only, each column once.
    pub fn by_column() -> Self {
        Self {
            form: Form::ByColumn,
            conditions: Vec::new(),
        }
    }

    /// Adds `column = value`.
    pub fn eq(self, column: impl Into<String>, value: impl Into<FilterValue>) -> Self {
        self.condition(column, Operator::Eq, value)
    }

    /// Adds `column operator value`.
    pub fn condition(
        mut self,
        column: impl Into<String>,
        operator: Operator,
        value: impl Into<FilterValue>,
    ) -> Self {
        let column = column.into();
        let value = match value.into().0 {
            Value::Null => Err(format!(
                "the value for `{column}` is a number that is not finite"
            )),
            value => Ok(value),
        };
        self.conditions.push(Condition {
            column,
            operator,
            value,
        });
        self
    }

    /// Adds `column IN (values...)`.
    pub fn is_in<I, V>(self, column: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: Into<FilterValue>,
    {
        self.list(column, Operator::In, values)
    }

    /// Adds `column NOT IN (values...)`.
    pub fn not_in<I, V>(self, column: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: Into<FilterValue>,
    {
        self.list(column, Operator::NotIn, values)
    }

    fn list<I, V>(mut self, column: impl Into<String>, operator: Operator, values: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: Into<FilterValue>,
    {
        let column = column.into();
        let mut parts = Vec::new();
        let mut problem = None;
        for value in values {
            match value.into().0 {
                Value::String(text) if text.contains(',') => {
                    problem = Some(format!(
                        "the {operator} list of `{column}` holds {text:?}, which contains a comma \
                         (lists are sent comma-separated)"
                    ));
                }
                Value::String(text) => parts.push(text),
                Value::Null => {
                    problem = Some(format!(
                        "the {operator} list of `{column}` holds a number that is not finite"
                    ))
                }
                other => parts.push(other.to_string()),
            }
        }
        let value = match problem {
            Some(problem) => Err(problem),
            None if parts.is_empty() => Err(format!("the {operator} list of `{column}` is empty")),
            None => Ok(Value::String(parts.join(","))),
        };
        self.conditions.push(Condition {
            column,
            operator,
            value,
        });
        self
    }

    /// True when no condition was added.
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }

    /// Checks the conditions and encodes them as the JSON text of `_filters`.
    pub fn to_json(&self) -> Result<String, Error> {
        let refuse = |message: String| Error::invalid_request(format!("_filters: {message}"));
        for condition in &self.conditions {
            if condition.column.trim().is_empty() {
                return Err(refuse("a column name is empty".to_owned()));
            }
            if let Err(problem) = &condition.value {
                return Err(refuse(problem.clone()));
            }
            if let Operator::Other(text) = &condition.operator
                && text.trim().is_empty()
            {
                return Err(refuse(format!(
                    "the operator for `{}` is empty",
                    condition.column
                )));
            }
        }
        match self.form {
            Form::Conditions => {
                let triples: Vec<Value> = self
                    .conditions
                    .iter()
                    .map(|c| {
                        Value::Array(vec![
                            Value::String(c.column.clone()),
                            Value::String(c.operator.as_str().to_owned()),
                            c.value.clone().unwrap_or(Value::Null),
                        ])
                    })
                    .collect();
                Ok(Value::Array(triples).to_string())
            }
            Form::ByColumn => {
                // Written by hand to keep the caller's order of columns.
                let mut seen = std::collections::HashSet::new();
                let mut entries = Vec::with_capacity(self.conditions.len());
                for c in &self.conditions {
                    if c.operator != Operator::Eq {
                        return Err(refuse(format!(
                            "the object form allows only equality, but `{}` uses `{}`; \
                             use Filters::conditions()",
                            c.column, c.operator
                        )));
                    }
                    if !seen.insert(c.column.as_str()) {
                        return Err(refuse(format!(
                            "the column `{}` appears twice in the object form",
                            c.column
                        )));
                    }
                    let value = c.value.clone().unwrap_or(Value::Null);
                    entries.push(format!("{}:{value}", Value::String(c.column.clone())));
                }
                Ok(format!("{{{}}}", entries.join(",")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_form_encodes_every_operator() {
        let filters = Filters::conditions()
            .eq("a", "1")
            .condition("b", Operator::NotEq, 2)
            .condition("c", Operator::Lt, 3.5)
            .condition("d", Operator::Le, true)
            .condition("e", Operator::Gt, "x")
            .condition("f", Operator::Ge, "y")
            .condition("g", Operator::Like, "%foo%")
            .condition("h", Operator::NotLike, "bar%")
            .not_in("i", [1, 2])
            .condition("j", Operator::Other("DP".into()), "T");
        assert_eq!(
            filters.to_json().unwrap(),
            r#"[["a","=","1"],["b","!=",2],["c","<",3.5],["d","<=",true],["e",">","x"],["f",">=","y"],["g","L","%foo%"],["h","NL","bar%"],["i","NOT IN","1,2"],["j","DP","T"]]"#
        );
    }

    #[test]
    fn values_with_quotes_and_control_characters_are_json_escaped() {
        let json = Filters::conditions()
            .eq("subject", "say \"hi\"\n\t\u{1}")
            .to_json()
            .unwrap();
        assert_eq!(json, r#"[["subject","=","say \"hi\"\n\t\u0001"]]"#);
        let back: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back[0][2], "say \"hi\"\n\t\u{1}");
    }

    #[test]
    fn object_form_rejects_operators_and_duplicates() {
        let err = Filters::by_column()
            .condition("a", Operator::Gt, 1)
            .to_json()
            .unwrap_err();
        assert!(err.to_string().contains("only equality"), "{err}");
        let err = Filters::by_column()
            .eq("a", 1)
            .eq("a", 2)
            .to_json()
            .unwrap_err();
        assert!(err.to_string().contains("appears twice"), "{err}");
    }

    #[test]
    fn bad_lists_and_columns_are_refused() {
        let empty: [&str; 0] = [];
        assert!(Filters::conditions().is_in("s", empty).to_json().is_err());
        assert!(Filters::conditions().is_in("s", ["a,b"]).to_json().is_err());
        assert!(Filters::conditions().eq(" ", "x").to_json().is_err());
        assert!(Filters::conditions().eq("n", f64::NAN).to_json().is_err());
        assert!(
            Filters::conditions()
                .condition("n", Operator::Other(String::new()), 1)
                .to_json()
                .is_err()
        );
    }

    #[test]
    fn empty_filters_encode_as_empty_containers() {
        assert_eq!(Filters::conditions().to_json().unwrap(), "[]");
        assert_eq!(Filters::by_column().to_json().unwrap(), "{}");
        assert!(Filters::conditions().is_empty());
    }
}
