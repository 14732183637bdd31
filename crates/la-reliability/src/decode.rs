//! The decoder property every generated model must hold.
//!
//! [`run`] feeds a model's decoder (through [`la_core::response::decode_json`], exactly as the
//! client decodes an answer), as `T` and as `Vec<T>`:
//!
//! - arbitrary bytes;
//! - a soup of JSON tokens and the model's own field names;
//! - the model's example document (every field set) with one value, anywhere in the tree,
//!   replaced by something hostile: a wrong type, `null`, a huge or out-of-range number, a lone
//!   UTF-16 surrogate, nesting deeper than the parser allows, a very long string.
//!
//! It holds when nothing panics, every failure is an [`Error::Decode`] whose JSON path points
//! into the replaced value (or is the root for input that is not JSON), and a replaced value
//! costs only the field that holds it: every other top-level field decodes as in the intact
//! example.

use std::fmt::Debug;

use http::{HeaderMap, Method, StatusCode};
use la_core::{Error, RequestContext};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::rows::{self, Merge, Row};

/// Cases per property and model unless `LIVEAGENT_FUZZ_CASES` says otherwise.
pub const DEFAULT_CASES: u32 = 40;

/// The environment variable that sets the cases per property.
pub const CASES_ENV: &str = "LIVEAGENT_FUZZ_CASES";

/// How deep the deepest generated value nests (the parser's limit is 128).
pub const MAX_NESTING: usize = 300;

/// What one run saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Documents decoded (each as `T` and as `Vec<T>` counts twice).
    pub decodes: u64,
    /// Decodes that succeeded.
    pub ok: u64,
    /// Decodes that failed with `Error::Decode`.
    pub errors: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn collect_paths(value: &Value, prefix: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    out.push(prefix.clone());
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                prefix.push(Seg::Key(key.clone()));
                collect_paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                prefix.push(Seg::Index(index));
                collect_paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

/// Writes `value` as JSON text, with the value at `target` replaced by `fragment`.
fn render(value: &Value, here: &mut Vec<Seg>, target: &[Seg], fragment: &str, out: &mut String) {
    if here.as_slice() == target {
        out.push_str(fragment);
        return;
    }
    match value {
        Value::Object(map) => {
            out.push('{');
            for (i, (key, child)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                here.push(Seg::Key(key.clone()));
                render(child, here, target, fragment, out);
                here.pop();
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, child) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                here.push(Seg::Index(i));
                render(child, here, target, fragment, out);
                here.pop();
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A path as `serde_path_to_error` prints it: `.` for the root, `a.b[2].c` below it.
fn path_text(path: &[Seg]) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let mut text = String::new();
    for seg in path {
        match seg {
            Seg::Index(i) => text.push_str(&format!("[{i}]")),
            Seg::Key(key) => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(key);
            }
        }
    }
    text
}

/// Whether the error path `actual` lies at or below `expected`.
fn within(actual: &str, expected: &str) -> bool {
    expected == "."
        || actual == expected
        || actual
            .strip_prefix(expected)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

/// Whether `fragment` is a JSON number within `f64`'s range that a parsed number would write
/// out differently: an integer beyond 64 bits, or any number with a fraction or an exponent.
fn loses_text_as_f64(fragment: &str) -> bool {
    let is_number = fragment
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        && fragment.parse::<f64>().is_ok_and(f64::is_finite);
    let beyond_64_bits = fragment.parse::<i64>().is_err() && fragment.parse::<u64>().is_err();
    is_number && beyond_64_bits
}

/// Values that should never be where a field of the model is expected.
fn fragment() -> BoxedStrategy<String> {
    let fixed = prop::sample::select(vec![
        "null",
        "true",
        "false",
        "0",
        "-0",
        "1.5",
        "\"\"",
        "[]",
        "{}",
        "1e400",
        "-1e400",
        "1e-400",
        "18446744073709551616",
        "-9223372036854775809",
        "123456789012345678901234567890",
        "-123456789012345678901234567890",
        "123456789012345678901234567890.5",
        "0.1000000000000000055511151231257827",
        "1.50",
        "2.5E-3",
        "1E+400",
        "\"\\ud800\"",
        "\"\\udc00\\ud800\"",
        "\"\\u0000\"",
        "[1,\"a\",null,{},[],true,1.5]",
        "{\"\":null,\"id\":{\"id\":[\"id\"]}}",
    ])
    .prop_map(str::to_owned);
    prop_oneof![
        4 => fixed,
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| Value::from(f).to_string()),
        2 => any::<String>().prop_map(|s| Value::String(s).to_string()),
        1 => (1..=MAX_NESTING).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth))),
        1 => (1..=MAX_NESTING).prop_map(|depth| {
            format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
        }),
        1 => (0usize..100_000).prop_map(|n| format!("\"{}\"", "x".repeat(n))),
    ]
    .boxed()
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let context = RequestContext::new(Method::GET, "/api/v3/fuzz");
    la_core::response::decode_json(&context, StatusCode::OK, &HeaderMap::new(), bytes, None)
}

/// Checks one outcome; `expected` is where the replaced value sits, if any.
fn check_outcome<T: Debug>(
    outcome: &Result<T, Error>,
    expected: Option<&str>,
    stats: &mut Stats,
) -> Result<(), TestCaseError> {
    stats.decodes += 1;
    match outcome {
        Ok(_) => stats.ok += 1,
        Err(
            error @ Error::Decode {
                json_path, message, ..
            },
        ) => {
            stats.errors += 1;
            prop_assert!(!json_path.is_empty(), "an empty JSON path: {error}");
            prop_assert!(!message.is_empty(), "an empty message: {error}");
            prop_assert!(
                error.to_string().contains(&format!("at `{json_path}`")),
                "the message does not name the path: {error}"
            );
            if let Some(expected) = expected {
                prop_assert!(
                    within(json_path, expected),
                    "the error is at `{json_path}`, not within the replaced value at `{expected}`: {error}"
                );
            }
        }
        Err(other) => prop_assert!(false, "not a decode error: {other:?}"),
    }
    Ok(())
}

fn top_level_except(value: &Value, skip: &str) -> Option<serde_json::Map<String, Value>> {
    value.as_object().map(|map| {
        map.iter()
            .filter(|(key, _)| key.as_str() != skip)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    })
}

fn cases() -> u32 {
    std::env::var(CASES_ENV)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

/// Runs the properties on model `T` from its example document `fixture`.
///
/// Returns what it saw, or the failing input with the reason.
pub fn check<T>(fixture: &str) -> Result<Stats, String>
where
    T: DeserializeOwned + Serialize + Debug,
{
    let example: Value = serde_json::from_str(fixture)
        .map_err(|e| format!("the example document is not JSON: {e}"))?;
    let intact: T = decode(fixture.as_bytes())
        .map_err(|e| format!("the example document does not decode: {e}"))?;
    let intact = serde_json::to_value(&intact).map_err(|e| e.to_string())?;
    let mut paths = Vec::new();
    collect_paths(&example, &mut Vec::new(), &mut paths);
    let keys: Vec<String> = example
        .as_object()
        .map(|m| {
            m.keys()
                .map(|k| Value::String(k.clone()).to_string())
                .collect()
        })
        .unwrap_or_default();

    let stats = std::cell::Cell::new(Stats::default());
    let record = |f: &mut dyn FnMut(&mut Stats) -> Result<(), TestCaseError>| {
        let mut s = stats.get();
        let result = f(&mut s);
        stats.set(s);
        result
    };

    // Arbitrary bytes.
    runner()
        .run(&prop::collection::vec(any::<u8>(), 0..512), |bytes| {
            record(&mut |s| {
                check_outcome(&decode::<T>(&bytes), None, s)?;
                check_outcome(&decode::<Vec<T>>(&bytes), None, s)
            })
        })
        .map_err(|e| format!("arbitrary bytes: {e}"))?;

    // JSON tokens and the model's own keys, in any order.
    let mut tokens: Vec<String> = [
        "{", "}", "[", "]", ",", ":", "null", "true", "0", "-1.5e3", "\"x\"", " ",
    ]
    .iter()
    .map(|t| (*t).to_owned())
    .collect();
    tokens.extend(keys.iter().cloned());
    runner()
        .run(
            &prop::collection::vec(prop::sample::select(tokens), 0..64),
            |soup| {
                let text = soup.concat();
                record(&mut |s| {
                    check_outcome(&decode::<T>(text.as_bytes()), None, s)?;
                    check_outcome(&decode::<Vec<T>>(text.as_bytes()), None, s)
                })
            },
        )
        .map_err(|e| format!("token soup: {e}"))?;

    // The example with one value replaced.
    runner()
        .run(&(any::<Index>(), fragment()), |(index, fragment)| {
            let target = index.get(&paths).clone();
            let mut text = String::new();
            render(&example, &mut Vec::new(), &target, &fragment, &mut text);
            let expected = path_text(&target);
            let one = decode::<T>(text.as_bytes());
            let list_text = format!("[{fixture},{text}]");
            let list = decode::<Vec<T>>(list_text.as_bytes());
            let mut in_list = vec![Seg::Index(1)];
            in_list.extend(target.iter().cloned());
            let expected_in_list = path_text(&in_list);
            record(&mut |s| {
                check_outcome(&one, Some(&expected), s)?;
                check_outcome(&list, Some(&expected_in_list), s)
            })?;
            if let (Ok(value), Some(Seg::Key(key))) = (&one, target.first()) {
                let value =
                    serde_json::to_value(value).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(
                    top_level_except(&value, key),
                    top_level_except(&intact, key),
                    "replacing `{}` changed other fields",
                    expected
                );
                // A number where the model holds text comes back as written.
                if let (1, Some(Value::String(text))) = (target.len(), value.get(key))
                    && loses_text_as_f64(&fragment)
                {
                    prop_assert_eq!(text, &fragment, "the text of `{}` changed", expected);
                }
            }
            Ok(())
        })
        .map_err(|e| format!("one value replaced: {e}"))?;

    Ok(stats.get())
}

/// Runs [`check`] on model `model` of crate `krate` (one of `models` fuzzed in that crate) and
/// records its row for the reliability report.
pub fn run<T>(krate: &str, model: &str, fixture: &str, models: u32) -> Result<Stats, String>
where
    T: DeserializeOwned + Serialize + Debug,
{
    let stats = check::<T>(fixture).map_err(|e| format!("{krate} {model}: {e}"))?;
    let mut row = Row::new(
        "Decoders",
        10,
        format!("`{krate}`: every model"),
        format!(
            "proptest, {} cases per property, each as `T` and `Vec<T>`: arbitrary bytes; JSON \
             token soup; the model's example with one value anywhere replaced by a wrong type, \
             null, a huge or out-of-range number, a lone surrogate, nesting up to \
             {MAX_NESTING} deep, a string up to 100 KB",
            cases()
        ),
        stats.decodes,
        "0 panics; every failure is `Error::Decode` whose path points into the replaced value; \
         the other fields decode unchanged",
        rows::rerun(krate, "decode_fuzz", ""),
    );
    row.merge = Some(Merge {
        of: models,
        unit: "models".to_owned(),
    });
    let name = format!("decode__{krate}__{model}");
    rows::write(&name, &[row]).map_err(|e| format!("cannot record the row: {e}"))?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq, Serialize, serde::Deserialize)]
    #[serde(default)]
    struct Inner {
        #[serde(deserialize_with = "la_core::de::lenient")]
        name: Option<String>,
    }

    impl la_core::de::Lenient for Inner {
        fn lenient<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
            la_core::de::lenient_struct(d)
        }
    }

    #[derive(Debug, Default, PartialEq, Serialize, serde::Deserialize)]
    #[serde(default)]
    struct Model {
        #[serde(
            deserialize_with = "la_core::de::lenient",
            skip_serializing_if = "Option::is_none"
        )]
        id: Option<String>,
        #[serde(
            deserialize_with = "la_core::de::lenient",
            skip_serializing_if = "Option::is_none"
        )]
        count: Option<i64>,
        #[serde(
            deserialize_with = "la_core::de::lenient_vec",
            skip_serializing_if = "Option::is_none"
        )]
        inner: Option<Vec<Inner>>,
    }

    #[test]
    fn paths_print_like_serde_path_to_error() {
        let path = [
            Seg::Index(1),
            Seg::Key("a".into()),
            Seg::Index(0),
            Seg::Key("b".into()),
        ];
        assert_eq!(path_text(&path), "[1].a[0].b");
        assert_eq!(path_text(&[]), ".");
        assert!(within("a.b[3]", "a.b"));
        assert!(!within("a.bc", "a.b"));
    }

    #[test]
    fn numbers_whose_text_a_float_would_change_are_recognised() {
        for text in [
            "1.50",
            "1e3",
            "18446744073709551616",
            "-9223372036854775809",
            "0.1",
        ] {
            assert!(loses_text_as_f64(text), "{text}");
        }
        for text in [
            "7",
            "-7",
            "18446744073709551615",
            "1e400",
            "\"1.5\"",
            "true",
            "[]",
        ] {
            assert!(!loses_text_as_f64(text), "{text}");
        }
    }

    #[test]
    fn a_lenient_model_holds_the_property() {
        let stats = check::<Model>(r#"{"id":"7","count":3,"inner":[{"name":"x"}]}"#).unwrap();
        assert!(stats.decodes > 0);
        assert!(stats.ok > 0 && stats.errors > 0);
    }
}
