//! Deterministic, realistic-looking data generated from schemas and property names.

use std::time::{SystemTime, UNIX_EPOCH};

use fastrand::Rng;
use serde_json::{Map, Value};

use crate::spec::SpecIndex;

/// First names used for people.
pub const FIRST_NAMES: &[&str] = &[
    "Alice", "Bob", "Carol", "David", "Eva", "Frank", "Grace", "Henry", "Ivana", "Jakub",
    "Katarina", "Lukas", "Maria", "Nina", "Oliver", "Petra", "Quentin", "Rita", "Samuel", "Tereza",
];

/// Last names used for people.
pub const LAST_NAMES: &[&str] = &[
    "Novak", "Smith", "Horvath", "Kovac", "Miller", "Varga", "Brown", "Tothova", "Jones", "Baran",
    "Wilson", "Kral", "Taylor", "Svoboda", "Clark", "Polak",
];

/// Words used for subjects and messages.
pub const WORDS: &[&str] = &[
    "invoice",
    "order",
    "refund",
    "login",
    "password",
    "delivery",
    "account",
    "upgrade",
    "billing",
    "question",
    "problem",
    "request",
    "shipping",
    "license",
    "export",
    "report",
    "widget",
    "chat",
    "email",
    "phone",
    "integration",
    "update",
    "error",
    "payment",
    "subscription",
];

/// Company name stems.
pub const COMPANY_NAMES: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Wonka",
];

const CITIES: &[&str] = &[
    "Bratislava",
    "Prague",
    "Vienna",
    "Berlin",
    "London",
    "Paris",
    "Madrid",
    "Boston",
    "Toronto",
    "Kosice",
];

const COUNTRIES: &[&str] = &["SK", "CZ", "AT", "DE", "GB", "FR", "ES", "US", "CA", "PL"];

/// A stable 64-bit FNV-1a hash, used to derive per-request seeds.
pub fn stable_hash(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Formats seconds since the Unix epoch (UTC) as `YYYY-MM-DD HH:MM:SS`.
pub fn format_datetime(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// The current time as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn now_string() -> String {
    format_datetime(now_secs())
}

/// The current time in seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

// Days since 1970-01-01 to a proleptic Gregorian date.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The start of seeded time: 2024-01-01 00:00:00 UTC.
pub const SEED_EPOCH: i64 = 1_704_067_200;

/// Picks one element of a non-empty slice.
pub fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items
        .get(rng.usize(..items.len().max(1)))
        .copied()
        .unwrap_or("")
}

/// A sentence of `n` words with a capital first letter.
pub fn sentence(rng: &mut Rng, n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(pick(rng, WORDS));
    }
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().collect::<String>() + chars.as_str(),
        None => s,
    }
}

/// A person's email address.
pub fn email(first: &str, last: &str, n: u64) -> String {
    format!(
        "{}.{}{}@example.com",
        first.to_lowercase(),
        last.to_lowercase(),
        n
    )
}

/// A phone number in E.164 form.
pub fn phone(rng: &mut Rng) -> String {
    format!("+4219{:08}", rng.u32(..100_000_000))
}

/// A random alphanumeric token.
pub fn token(rng: &mut Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| char::from(ALPHABET[rng.usize(..ALPHABET.len())]))
        .collect()
}

/// A ticket code like `ABC-DEFGH-123`.
pub fn ticket_code(rng: &mut Rng, n: u64) -> String {
    let letters = |rng: &mut Rng, k: usize| -> String {
        (0..k)
            .map(|_| char::from(b'A' + rng.u8(..26)))
            .collect::<String>()
    };
    let a = letters(rng, 3);
    let b = letters(rng, 5);
    format!("{a}-{b}-{n}")
}

/// Generates values for schemas of the description.
pub struct Generator<'a> {
    spec: &'a SpecIndex,
}

impl<'a> Generator<'a> {
    /// A generator over the schemas of `spec`.
    pub fn new(spec: &'a SpecIndex) -> Self {
        Self { spec }
    }

    /// A value valid for `schema`, realistic for a property called `name`.
    pub fn value(&self, schema: &Value, name: &str, rng: &mut Rng) -> Value {
        self.value_at(schema, name, rng, 0)
    }

    fn value_at(&self, schema: &Value, name: &str, rng: &mut Rng, depth: usize) -> Value {
        let schema = self.spec.resolve(schema);
        if let Some(options) = schema.get("enum").and_then(Value::as_array)
            && !options.is_empty()
        {
            return options[rng.usize(..options.len())].clone();
        }
        let ty = schema
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_else(|| {
                if schema.get("properties").is_some() {
                    "object"
                } else {
                    "string"
                }
            });
        match ty {
            "integer" => Value::from(integer_for(name, rng)),
            "number" => number_for(name, rng),
            "boolean" => Value::Bool(rng.bool()),
            "array" => {
                let items = schema.get("items").cloned().unwrap_or(Value::Null);
                let n = if depth >= 3 { 0 } else { 1 + rng.usize(..2) };
                Value::Array(
                    (0..n)
                        .map(|_| self.value_at(&items, name, rng, depth + 1))
                        .collect(),
                )
            }
            "object" => {
                let mut map = Map::new();
                if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                    let required: Vec<&str> = schema
                        .get("required")
                        .and_then(Value::as_array)
                        .map(|r| r.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    for (prop, prop_schema) in props {
                        if depth >= 3 && !required.contains(&prop.as_str()) {
                            continue;
                        }
                        map.insert(
                            prop.clone(),
                            self.value_at(prop_schema, prop, rng, depth + 1),
                        );
                    }
                }
                Value::Object(map)
            }
            _ => {
                let format = schema.get("format").and_then(Value::as_str);
                Value::String(string_for(name, format, rng))
            }
        }
    }
}

fn integer_for(name: &str, rng: &mut Rng) -> i64 {
    let n = name.to_ascii_lowercase();
    if n.contains("count") || n.starts_with("num") || n.contains("size") {
        rng.i64(0..50)
    } else if n.contains("order") || n.contains("position") {
        rng.i64(0..20)
    } else {
        rng.i64(1..1000)
    }
}

fn number_for(name: &str, rng: &mut Rng) -> Value {
    let n = name.to_ascii_lowercase();
    if n == "latitude" {
        Value::from(f64::from(rng.i32(-9000..9000)) / 100.0)
    } else if n == "longitude" {
        Value::from(f64::from(rng.i32(-18000..18000)) / 100.0)
    } else if n.contains("price") || n.contains("amount") || n.contains("credit") {
        Value::from(f64::from(rng.u32(100..100_000)) / 100.0)
    } else {
        Value::from(rng.u32(0..100))
    }
}

fn is_date_name(n: &str) -> bool {
    (n.contains("date") && !n.contains("update") && !n.contains("validate"))
        || n.starts_with("last_activity")
        || n.ends_with("changed")
        || n.ends_with("_at")
        || matches!(
            n,
            "created" | "last_modified" | "datecreated" | "datefinished" | "start" | "end"
        )
}

fn is_id_name(n: &str) -> bool {
    n == "id" || n.ends_with("_id") || (n.ends_with("id") && !matches!(n, "paid" | "valid"))
}

/// A realistic string for a property called `name` (with an optional schema `format`).
pub fn string_for(name: &str, format: Option<&str>, rng: &mut Rng) -> String {
    let n = name.to_ascii_lowercase();
    if format == Some("date-time") || is_date_name(&n) {
        return format_datetime(SEED_EPOCH + rng.i64(0..365 * 86_400));
    }
    if format == Some("binary") {
        return token(rng, 24);
    }
    if n.contains("email") {
        let first = pick(rng, FIRST_NAMES);
        let last = pick(rng, LAST_NAMES);
        return email(first, last, rng.u64(1..100));
    }
    if n.contains("url") || n.contains("uri") {
        return format!(
            "https://example.ladesk.com/{}/{}",
            pick(rng, WORDS),
            rng.u32(1..1000)
        );
    }
    if is_id_name(&n) {
        return rng.u32(1..1000).to_string();
    }
    if n.contains("phone") || n.ends_with("number") || n == "number" || n == "prefix" {
        return phone(rng);
    }
    if n == "ip" || n.ends_with("_ip") {
        return format!("192.0.2.{}", rng.u8(1..255));
    }
    if n.contains("color") {
        return format!("#{:06X}", rng.u32(..0x0100_0000));
    }
    if n == "firstname" || n.ends_with("_firstname") || n == "first_name" {
        return pick(rng, FIRST_NAMES).to_string();
    }
    if n == "lastname" || n.ends_with("_lastname") || n == "last_name" {
        return pick(rng, LAST_NAMES).to_string();
    }
    if n.contains("company") {
        return format!("{} Ltd", pick(rng, COMPANY_NAMES));
    }
    if n.contains("name") {
        return format!("{} {}", pick(rng, FIRST_NAMES), pick(rng, LAST_NAMES));
    }
    if n.contains("country") {
        return pick(rng, COUNTRIES).to_string();
    }
    if n.contains("city") {
        return pick(rng, CITIES).to_string();
    }
    if n.contains("language") || n == "lang" {
        return pick(rng, &["en-US", "sk", "de", "cs", "fr"]).to_string();
    }
    if n.contains("currency") {
        return pick(rng, &["EUR", "USD", "GBP"]).to_string();
    }
    if n.contains("timezone") {
        return pick(rng, &["Europe/Bratislava", "UTC", "America/New_York"]).to_string();
    }
    if n.contains("domain") || n.contains("host") {
        return format!("{}.ladesk.com", pick(rng, WORDS));
    }
    if n.contains("key") || n.contains("token") || n.contains("password") || n.contains("secret") {
        return token(rng, 32);
    }
    if n == "code" || n.ends_with("_code") || n.ends_with("code") {
        let n = rng.u64(1..10_000);
        return ticket_code(rng, n);
    }
    if n.contains("subject") || n.contains("title") {
        return sentence(rng, 4);
    }
    if n.contains("message")
        || n.contains("preview")
        || n.contains("description")
        || n.contains("note")
        || n.contains("body")
        || n.contains("text")
    {
        return sentence(rng, 10);
    }
    if n.contains("status") || n.contains("type") || n == "gender" {
        return pick(rng, &["A", "B", "C"]).to_string();
    }
    if n.contains("time") || n.contains("duration") {
        return rng.u32(0..3600).to_string();
    }
    format!("{}-{}", pick(rng, WORDS), rng.u32(1..1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates() {
        assert_eq!(format_datetime(0), "1970-01-01 00:00:00");
        assert_eq!(format_datetime(SEED_EPOCH), "2024-01-01 00:00:00");
        assert_eq!(format_datetime(1_709_210_096), "2024-02-29 12:34:56");
    }

    #[test]
    fn strings_follow_names() {
        let mut rng = Rng::with_seed(1);
        assert!(string_for("owner_email", None, &mut rng).contains('@'));
        assert_eq!(string_for("date_created", None, &mut rng).len(), 19);
        assert!(string_for("agentid", None, &mut rng).parse::<u32>().is_ok());
    }
}
