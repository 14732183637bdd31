//! Lists as LiveAgent serves them: pages (`_page`, `_perPage`, `_from`, `_to`), sorting
//! (`_sortField`, `_sortDir`), filters (`_filters`) and cursors (`_cursor` in, `next_page_cursor`
//! out).

use std::cmp::Ordering;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;

use crate::spec::{ListKind, Operation};
use crate::store::{Collection, Key};
use crate::validate::Query;

/// The page size when `_perPage` is absent.
pub const DEFAULT_PER_PAGE: usize = 10;
/// The largest page served; larger `_perPage` values are clamped.
pub const MAX_PER_PAGE: usize = 1000;

/// How lists are served: the page cap and the paging faults a client must survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListSettings {
    /// The largest page served: a larger `_perPage` (or `_to - _from`) is clamped to it, and
    /// page `n` starts at `(n - 1) * clamped size`. Default [`MAX_PER_PAGE`]; at least 1.
    pub max_per_page: usize,
    /// Serve every page-numbered request as if it asked for page 1 (`_page` ignored): a broken
    /// server a listing must not follow for ever. `_from` is still honoured. Default off.
    pub ignore_page: bool,
}

impl Default for ListSettings {
    fn default() -> Self {
        Self {
            max_per_page: MAX_PER_PAGE,
            ignore_page: false,
        }
    }
}

/// A filter operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `L`: SQL LIKE with `%` and `_`, case-insensitive.
    Like,
    /// `NL`: not LIKE.
    NotLike,
    /// `IN`: one of a list.
    In,
    /// `NOT IN`: none of a list.
    NotIn,
}

impl FilterOp {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_uppercase().as_str() {
            "=" | "==" => FilterOp::Eq,
            "!=" | "<>" => FilterOp::Ne,
            "<" => FilterOp::Lt,
            "<=" => FilterOp::Le,
            ">" => FilterOp::Gt,
            ">=" => FilterOp::Ge,
            "L" | "LIKE" => FilterOp::Like,
            "NL" | "NOT LIKE" => FilterOp::NotLike,
            "IN" => FilterOp::In,
            "NOT IN" | "NIN" => FilterOp::NotIn,
            _ => return None,
        })
    }
}

/// One `[column, operator, value]` condition.
#[derive(Clone, Debug)]
pub struct Condition {
    /// The column (a property of the listed records).
    pub column: String,
    /// The operator.
    pub op: FilterOp,
    /// The operand; several for `IN`/`NOT IN`; `None` compares with a missing value.
    pub values: Vec<Option<String>>,
}

/// The parsed list parameters of a request.
#[derive(Clone, Debug)]
pub struct ListRequest {
    /// Page number, from 1.
    pub page: usize,
    /// Page size.
    pub per_page: usize,
    /// Zero-based offset of the first item (wins over `page`).
    pub from: Option<usize>,
    /// Offset where the result ends (exclusive), used with `from`.
    pub to: Option<usize>,
    /// The column to sort by.
    pub sort_field: Option<String>,
    /// Whether to sort descending.
    pub descending: bool,
    /// All filter conditions (combined with AND).
    pub filters: Vec<Condition>,
    /// The id after which a cursor page starts.
    pub cursor: Option<Key>,
}

/// The list parameters of a request, parsed once by validation and handed to the handler.
#[derive(Clone, Debug)]
pub(crate) enum ListParams {
    /// A paged or cursor list: every list parameter.
    List(ListRequest),
    /// Any other operation: its `_filters` conditions (none without the parameter).
    Filters(Vec<Condition>),
}

impl ListParams {
    /// Parses the list parameters the operation's list style reads; `columns` as for
    /// [`parse_list`].
    pub(crate) fn parse(
        op: &Operation,
        query: &Query,
        columns: &[&str],
        settings: ListSettings,
    ) -> Result<Self, String> {
        if matches!(op.list, ListKind::Paged | ListKind::Cursor) {
            parse_list_with(op, query, columns, settings).map(Self::List)
        } else {
            match query.get("_filters") {
                Some(raw) => parse_filters(raw).map(Self::Filters),
                None => Ok(Self::Filters(Vec::new())),
            }
        }
    }

    /// The filter conditions.
    pub(crate) fn filters(&self) -> &[Condition] {
        match self {
            Self::List(req) => &req.filters,
            Self::Filters(filters) => filters,
        }
    }
}

fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Parses a `_filters` value in either form.
pub fn parse_filters(raw: &str) -> Result<Vec<Condition>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    let value: Value = serde_json::from_str(raw)
        .map_err(|e| format!("query parameter '_filters' is not valid JSON: {e}"))?;
    let mut out = Vec::new();
    match value {
        Value::Object(map) => {
            for (column, v) in map {
                let (op, values) = match v {
                    Value::Array(items) => {
                        (FilterOp::In, items.iter().map(scalar_string).collect())
                    }
                    other => (FilterOp::Eq, vec![scalar_string(&other)]),
                };
                out.push(Condition { column, op, values });
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let Some(triple) = item.as_array().filter(|t| t.len() == 3) else {
                    return Err(format!(
                        "query parameter '_filters': item {i} must be a [column, operator, value] array"
                    ));
                };
                let column = triple[0].as_str().ok_or_else(|| {
                    format!("query parameter '_filters': item {i} has a non-string column")
                })?;
                let op_text = triple[1].as_str().ok_or_else(|| {
                    format!("query parameter '_filters': item {i} has a non-string operator")
                })?;
                let op = FilterOp::parse(op_text).ok_or_else(|| {
                    format!("query parameter '_filters': unknown operator '{op_text}' in item {i}")
                })?;
                let values = match (op, &triple[2]) {
                    (FilterOp::In | FilterOp::NotIn, Value::Array(list)) => {
                        list.iter().map(scalar_string).collect()
                    }
                    (FilterOp::In | FilterOp::NotIn, Value::String(s)) => {
                        s.split(',').map(|p| Some(p.trim().to_string())).collect()
                    }
                    (_, other) => vec![scalar_string(other)],
                };
                out.push(Condition {
                    column: column.to_string(),
                    op,
                    values,
                });
            }
        }
        _ => {
            return Err(
                "query parameter '_filters' must be a JSON object or an array of triples"
                    .to_string(),
            );
        }
    }
    Ok(out)
}

/// Encodes a `next_page_cursor` for the record with this id.
pub fn encode_cursor(key: &Key) -> String {
    STANDARD.encode(serde_json::json!({ "id": key.to_string() }).to_string())
}

/// Decodes a `_cursor` value into the id it resumes after.
pub fn decode_cursor(raw: &str) -> Result<Key, String> {
    let raw = raw.trim();
    let bytes = STANDARD
        .decode(raw)
        .or_else(|_| URL_SAFE_NO_PAD.decode(raw.trim_end_matches('=')))
        .map_err(|_| "query parameter '_cursor' is not valid base64".to_string())?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|_| "query parameter '_cursor' does not hold a JSON object".to_string())?;
    value
        .get("id")
        .and_then(Key::from_value)
        .ok_or_else(|| "query parameter '_cursor' has no \"id\"".to_string())
}

fn parse_usize(query: &Query, name: &str) -> Result<Option<i64>, String> {
    query
        .get(name)
        .map(|v| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| format!("query parameter '{name}' must be an integer"))
        })
        .transpose()
}

/// Reads the list parameters of a request with the default [`ListSettings`]; `columns` are the
/// properties of the listed records (filters and sorting must name one of them).
pub fn parse_list(op: &Operation, query: &Query, columns: &[&str]) -> Result<ListRequest, String> {
    parse_list_with(op, query, columns, ListSettings::default())
}

/// Reads the list parameters of a request as a server with these settings does.
pub fn parse_list_with(
    op: &Operation,
    query: &Query,
    columns: &[&str],
    settings: ListSettings,
) -> Result<ListRequest, String> {
    let cap = settings.max_per_page.max(1);
    let per_page = match parse_usize(query, "_perPage")? {
        None => DEFAULT_PER_PAGE.min(cap),
        Some(n) if n < 1 => return Err("query parameter '_perPage' must be at least 1".into()),
        Some(n) => usize::try_from(n).unwrap_or(cap).min(cap),
    };
    let page = match parse_usize(query, "_page")? {
        None => 1,
        Some(n) if n < 1 => return Err("query parameter '_page' must be at least 1".into()),
        Some(_) if settings.ignore_page => 1,
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let from = match parse_usize(query, "_from")? {
        Some(n) if n < 0 => return Err("query parameter '_from' must not be negative".into()),
        other => other.and_then(|n| usize::try_from(n).ok()),
    };
    let to = match parse_usize(query, "_to")? {
        Some(n) if n < 0 => return Err("query parameter '_to' must not be negative".into()),
        other => other.and_then(|n| usize::try_from(n).ok()),
    };
    // `_to` ends the page no further than the cap allows.
    let to = match (from, to) {
        (Some(from), Some(to)) if to > from => Some(to.min(from.saturating_add(cap))),
        (_, to) => to,
    };
    let descending = match query.get("_sortDir").map(|s| s.trim().to_ascii_uppercase()) {
        None => false,
        Some(d) if d == "ASC" || d.is_empty() => false,
        Some(d) if d == "DESC" => true,
        Some(d) => {
            return Err(format!(
                "query parameter '_sortDir' must be ASC or DESC, got '{d}'"
            ));
        }
    };
    let known = |c: &str| columns.is_empty() || columns.contains(&c);
    let sort_field = query
        .get("_sortField")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if let Some(field) = &sort_field
        && !known(field)
    {
        return Err(format!(
            "query parameter '_sortField': unknown column '{field}'"
        ));
    }
    let filters = match query.get("_filters") {
        Some(raw) => parse_filters(raw)?,
        None => Vec::new(),
    };
    for c in &filters {
        if !known(&c.column) {
            return Err(format!(
                "query parameter '_filters': unknown column '{}'",
                c.column
            ));
        }
    }
    let cursor = match query.get("_cursor").map(str::trim) {
        Some(raw) if !raw.is_empty() && op.list == ListKind::Cursor => Some(decode_cursor(raw)?),
        _ => None,
    };
    Ok(ListRequest {
        page,
        per_page,
        from,
        to,
        sort_field,
        descending,
        filters,
        cursor,
    })
}

/// Compares two values, numerically when both are numbers, as text otherwise.
pub fn compare_text(a: &str, b: &str) -> Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

/// SQL LIKE with `%` and `_`, case-insensitive.
pub fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

fn scalar_matches(op: FilterOp, field: Option<&str>, values: &[Option<String>]) -> bool {
    let operand = values.first().cloned().flatten();
    match op {
        FilterOp::In => values.iter().any(|v| v.as_deref() == field),
        FilterOp::NotIn => !values.iter().any(|v| v.as_deref() == field),
        FilterOp::Eq => match (field, operand.as_deref()) {
            (Some(f), Some(o)) => f == o || compare_text(f, o) == Ordering::Equal,
            (None, None) => true,
            _ => false,
        },
        FilterOp::Ne => !scalar_matches(FilterOp::Eq, field, values),
        FilterOp::Like => match (field, operand.as_deref()) {
            (Some(f), Some(o)) => like(f, o),
            _ => false,
        },
        FilterOp::NotLike => !scalar_matches(FilterOp::Like, field, values),
        FilterOp::Lt | FilterOp::Le | FilterOp::Gt | FilterOp::Ge => {
            let (Some(f), Some(o)) = (field, operand.as_deref()) else {
                return false;
            };
            let ord = compare_text(f, o);
            match op {
                FilterOp::Lt => ord == Ordering::Less,
                FilterOp::Le => ord != Ordering::Greater,
                FilterOp::Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            }
        }
    }
}

/// Whether a field value satisfies a condition; array fields match when any element does
/// (for negative operators: when no element matches the positive form).
pub fn condition_matches(c: &Condition, field: Option<&Value>) -> bool {
    match field {
        Some(Value::Array(items)) => {
            let positive = match c.op {
                FilterOp::Ne => FilterOp::Eq,
                FilterOp::NotLike => FilterOp::Like,
                FilterOp::NotIn => FilterOp::In,
                other => other,
            };
            let any = items
                .iter()
                .any(|item| scalar_matches(positive, scalar_string(item).as_deref(), &c.values));
            if positive == c.op { any } else { !any }
        }
        Some(v) => scalar_matches(c.op, scalar_string(v).as_deref(), &c.values),
        None => scalar_matches(c.op, None, &c.values),
    }
}

/// Reads a column of a stored record.
pub type FieldFn<'a> = dyn Fn(&'a Value, &str) -> Option<&'a Value> + 'a;

/// Whether a record passes every condition.
pub fn record_matches<'a>(record: &'a Value, filters: &[Condition], field: &FieldFn<'a>) -> bool {
    filters
        .iter()
        .all(|c| condition_matches(c, field(record, &c.column)))
}

/// One page of results.
#[derive(Debug, Default)]
pub struct ListOutcome {
    /// The records of the page, rendered.
    pub items: Vec<Value>,
    /// For cursor lists: the id to resume after, if more records follow.
    pub next: Option<Key>,
}

fn sort_key<'a>(record: &'a Value, column: &str, field: &FieldFn<'a>) -> String {
    match field(record, column) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// Sorts records by a column (then by id), descending when asked. The column's value is the
/// one the client sees: taken from the rendered record (some columns of a view are computed),
/// or from the stored one when the rendering does not hold it.
fn sort_records<'a>(
    records: Vec<(&'a Key, &'a Value)>,
    column: &str,
    descending: bool,
    field: &FieldFn<'a>,
    render: &dyn Fn(&Key, &Value) -> Value,
) -> Vec<(&'a Key, &'a Value)> {
    let mut keyed: Vec<(String, &'a Key, &'a Value)> = records
        .into_iter()
        .map(|(k, r)| {
            let shown = match render(k, r).get(column) {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Null) => Some(String::new()),
                Some(other) => Some(other.to_string()),
                None => None,
            };
            (shown.unwrap_or_else(|| sort_key(r, column, field)), k, r)
        })
        .collect();
    keyed.sort_by(|a, b| {
        let ord = compare_text(&a.0, &b.0).then_with(|| a.1.cmp(b.1));
        if descending { ord.reverse() } else { ord }
    });
    keyed.into_iter().map(|(_, k, r)| (k, r)).collect()
}

/// Runs a cursor list sorted by `_sortField`: the records in the column's order (then by id),
/// the page after the record the cursor names. A cursor naming a record that is gone gives an
/// empty last page.
pub fn run_cursor_sorted<'a>(
    source: impl Iterator<Item = (&'a Key, &'a Value)>,
    req: &ListRequest,
    column: &str,
    field: &FieldFn<'a>,
    render: &dyn Fn(&Key, &Value) -> Value,
) -> ListOutcome {
    let matching: Vec<(&Key, &Value)> = source
        .filter(|(_, r)| record_matches(r, &req.filters, field))
        .collect();
    let all = sort_records(matching, column, req.descending, field, render);
    let start = match &req.cursor {
        None => 0,
        Some(cursor) => all
            .iter()
            .position(|(k, _)| *k == cursor)
            .map_or(all.len(), |i| i + 1),
    };
    run_cursor(
        all.into_iter().skip(start),
        &ListRequest {
            filters: Vec::new(),
            ..req.clone()
        },
        field,
        render,
    )
}

/// Runs a page-numbered list over records given in ascending id order.
pub fn run_paged<'a>(
    source: impl DoubleEndedIterator<Item = (&'a Key, &'a Value)> + 'a,
    req: &ListRequest,
    field: &FieldFn<'a>,
    render: &dyn Fn(&Key, &Value) -> Value,
) -> ListOutcome {
    let (start, len) = page_window(req);
    let filtered = |it: Box<dyn Iterator<Item = (&'a Key, &'a Value)> + 'a>| {
        it.filter(|(_, r)| record_matches(r, &req.filters, field))
    };
    let items = match &req.sort_field {
        Some(column) => {
            let all: Vec<(&Key, &Value)> = filtered(Box::new(source)).collect();
            sort_records(all, column, req.descending, field, render)
                .into_iter()
                .skip(start)
                .take(len)
                .map(|(k, r)| render(k, r))
                .collect()
        }
        None => {
            let it: Box<dyn Iterator<Item = (&'a Key, &'a Value)> + 'a> = if req.descending {
                Box::new(source.rev())
            } else {
                Box::new(source)
            };
            filtered(it)
                .skip(start)
                .take(len)
                .map(|(k, r)| render(k, r))
                .collect()
        }
    };
    ListOutcome { items, next: None }
}

/// Runs a page-numbered list over a whole collection; without filters or sorting the page is
/// read directly from its position.
pub fn run_paged_collection<'a>(
    coll: &'a Collection,
    req: &ListRequest,
    field: &FieldFn<'a>,
    render: &dyn Fn(&Key, &Value) -> Value,
) -> ListOutcome {
    if !req.filters.is_empty() || req.sort_field.is_some() {
        return run_paged(coll.iter(), req, field, render);
    }
    let (start, len) = page_window(req);
    let items = coll
        .iter_at(start, req.descending)
        .take(len)
        .map(|(k, r)| render(k, r))
        .collect();
    ListOutcome { items, next: None }
}

/// The zero-based offset and length of the requested page.
fn page_window(req: &ListRequest) -> (usize, usize) {
    match req.from {
        Some(from) => {
            let len = match req.to {
                Some(to) if to > from => to - from,
                _ => req.per_page,
            };
            (from, len)
        }
        None => (
            (req.page.saturating_sub(1)).saturating_mul(req.per_page),
            req.per_page,
        ),
    }
}

/// Runs a cursor list over records already positioned after the cursor, in page order.
pub fn run_cursor<'a>(
    source: impl Iterator<Item = (&'a Key, &'a Value)>,
    req: &ListRequest,
    field: &FieldFn<'a>,
    render: &dyn Fn(&Key, &Value) -> Value,
) -> ListOutcome {
    let mut page: Vec<(&Key, &Value)> = source
        .filter(|(_, r)| record_matches(r, &req.filters, field))
        .take(req.per_page + 1)
        .collect();
    let more = page.len() > req.per_page;
    page.truncate(req.per_page);
    let next = if more {
        page.last().map(|(k, _)| (*k).clone())
    } else {
        None
    };
    ListOutcome {
        items: page.into_iter().map(|(k, r)| render(k, r)).collect(),
        next,
    }
}

/// Counts the records passing the filters.
pub fn run_count<'a>(
    source: impl Iterator<Item = (&'a Key, &'a Value)>,
    filters: &[Condition],
    field: &FieldFn<'a>,
) -> usize {
    if filters.is_empty() {
        return source.count();
    }
    source
        .filter(|(_, r)| record_matches(r, filters, field))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert!(like("Hello World", "%world"));
        assert!(like("Hello World", "h%o w%"));
        assert!(like("abc", "a_c"));
        assert!(!like("abc", "a_d"));
        assert!(like("", "%"));
    }

    #[test]
    fn cursor_round_trip() {
        let c = encode_cursor(&Key::Num(5));
        assert_eq!(c, "eyJpZCI6IjUifQ==");
        assert_eq!(decode_cursor(&c).ok(), Some(Key::Num(5)));
        assert!(decode_cursor("!!").is_err());
    }

    #[test]
    fn filter_forms() {
        let f =
            parse_filters(r#"[["status","IN","N,T"],["subject","L","%x%"]]"#).unwrap_or_default();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].values.len(), 2);
        assert!(parse_filters(r#"[["a","??","b"]]"#).is_err());
        assert!(parse_filters("{bad").is_err());
        assert_eq!(
            parse_filters(r#"{"status":"N"}"#).unwrap_or_default().len(),
            1
        );
    }
}
