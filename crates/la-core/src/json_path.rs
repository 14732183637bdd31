//! The JSON path of a decoding failure, found from where in the body `serde_json` stopped.
//!
//! A failed decode is described by re-reading the body as plain JSON text up to the error's line
//! and column, keeping track of the keys and indices on the way: one function for every type the
//! SDK decodes. (Tracking the path while decoding would compile a second decoder for every
//! model that a response can hold.)
//!
//! Paths read like `tags[1].name`: object keys joined with `.`, array indices in brackets, and
//! `.` for the document itself.

use crate::response::excerpt;
use crate::stack::auth::ApiKey;

/// How many levels at each end of a deep path are shown; the levels between are elided, so a
/// path stays short (a few KiB at most) however deep the body nests.
const KEPT_LEVELS: usize = 32;

/// How many characters of one object key a path shows.
const KEY_CHARS: usize = 64;

/// Where the container being read is at the error's position, at one level.
#[derive(Clone, Copy)]
enum Frame {
    /// Inside an object: the key of the value being read (its quoted text's byte range in the
    /// body; none while a key is expected).
    Object(Option<(usize, usize)>),
    /// Inside an array: the index of the element being read.
    Array(usize),
}

/// The path of the value `serde_json` was reading when it failed with `error` on `body`, with
/// `key` redacted from the object keys it names.
pub(crate) fn of_error(body: &[u8], error: &serde_json::Error, key: Option<&ApiKey>) -> String {
    match offset(body, error.line(), error.column()) {
        // A syntax error's position is past the byte that broke the syntax, which may already
        // have closed the container the bad value is in (`{"name":tru}`): read up to it only.
        Some(offset) if error.is_syntax() => at(body, offset.saturating_sub(1), key),
        Some(offset) => at(body, offset, key),
        None => ".".to_owned(),
    }
}

/// The byte offset of a `serde_json` position: `line` counts from 1, and `column` is the number
/// of bytes of that line read so far. `None` for an error that has no position (line 0).
fn offset(body: &[u8], line: usize, column: usize) -> Option<usize> {
    if line == 0 {
        return None;
    }
    let start = if line == 1 {
        0
    } else {
        body.iter()
            .enumerate()
            .filter(|(_, byte)| **byte == b'\n')
            .nth(line - 2)
            .map_or(body.len(), |(at, _)| at + 1)
    };
    Some(start.saturating_add(column).min(body.len()))
}

/// What the reader meets in a JSON text, as far as paths are concerned.
enum Event {
    /// `{` or `[`.
    Open(Frame),
    /// `}` or `]`.
    Close,
    /// `,`.
    Comma,
    /// A complete string: the byte range of its quoted text.
    Str(usize, usize),
}

/// Reads `body` up to byte `end`, reporting each [`Event`].
fn scan(body: &[u8], end: usize, mut event: impl FnMut(Event)) {
    let end = end.min(body.len());
    let mut i = 0;
    while i < end {
        match body[i] {
            b'{' => event(Event::Open(Frame::Object(None))),
            b'[' => event(Event::Open(Frame::Array(0))),
            b'}' | b']' => event(Event::Close),
            b',' => event(Event::Comma),
            b'"' => {
                let close = string_end(body, i + 1);
                if close <= end {
                    event(Event::Str(i, close));
                }
                i = close;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
}

/// The path of the value being read at byte `offset` of `body`.
///
/// Memory stays small whatever the body: a first pass counts the depth at `offset`, a second
/// keeps the frames of the first and last [`KEPT_LEVELS`] levels only.
fn at(body: &[u8], offset: usize, key: Option<&ApiKey>) -> String {
    let mut depth = 0usize;
    scan(body, offset, |event| match event {
        Event::Open(_) => depth += 1,
        Event::Close => depth = depth.saturating_sub(1),
        Event::Comma | Event::Str(..) => {}
    });
    let mut kept = Kept::new(depth);
    let mut level = 0usize;
    scan(body, offset, |event| match event {
        Event::Open(frame) => {
            if let Some(slot) = kept.get_mut(level) {
                *slot = frame;
            }
            level += 1;
        }
        Event::Close => level = level.saturating_sub(1),
        Event::Comma => match level.checked_sub(1).and_then(|l| kept.get_mut(l)) {
            Some(Frame::Object(key)) => *key = None,
            Some(Frame::Array(index)) => *index += 1,
            None => {}
        },
        // A string where a key is expected is the key (until the `,` after its value clears
        // it).
        Event::Str(start, close) => {
            if let Some(Frame::Object(key @ None)) =
                level.checked_sub(1).and_then(|l| kept.get_mut(l))
            {
                *key = Some((start, close));
            }
        }
    });
    render(body, &kept, key)
}

/// The frames of the levels a path shows: `0..head.len()` and `tail_from..depth`.
struct Kept {
    head: Vec<Frame>,
    tail_from: usize,
    tail: Vec<Frame>,
}

impl Kept {
    fn new(depth: usize) -> Self {
        let head = vec![Frame::Array(0); depth.min(KEPT_LEVELS)];
        let tail_from = depth.saturating_sub(KEPT_LEVELS).max(head.len());
        let tail = vec![Frame::Array(0); depth - tail_from];
        Self {
            head,
            tail_from,
            tail,
        }
    }

    /// The frame at `level`, when that level is kept.
    fn get_mut(&mut self, level: usize) -> Option<&mut Frame> {
        if level < self.head.len() {
            self.head.get_mut(level)
        } else {
            let at = level.checked_sub(self.tail_from)?;
            self.tail.get_mut(at)
        }
    }

    /// How many levels lie between the head and the tail.
    fn elided(&self) -> usize {
        self.tail_from - self.head.len()
    }
}

/// The index just past the string whose contents start at `from` (past its closing quote, or
/// the end of the body when it is not closed).
pub(crate) fn string_end(body: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < body.len() {
        match body[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    body.len()
}

/// A key's text: the JSON string `quoted` (quotes included) decoded, or its raw text when it
/// does not decode; redacted, then cut to [`KEY_CHARS`].
fn key_text(quoted: &[u8], key: Option<&ApiKey>) -> String {
    let text = serde_json::from_slice::<String>(quoted).unwrap_or_else(|_| {
        let inner = quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or(&[]);
        String::from_utf8_lossy(inner).into_owned()
    });
    excerpt(&text, key, KEY_CHARS)
}

fn render(body: &[u8], kept: &Kept, key: Option<&ApiKey>) -> String {
    let mut path = String::new();
    let push = |path: &mut String, frame: &Frame| match frame {
        Frame::Array(index) => {
            path.push('[');
            path.push_str(&index.to_string());
            path.push(']');
        }
        Frame::Object(Some((start, close))) => {
            if !path.is_empty() {
                path.push('.');
            }
            let quoted = body.get(*start..*close).unwrap_or(&[]);
            path.push_str(&key_text(quoted, key));
        }
        // An error where a key is expected: the path is the object's own.
        Frame::Object(None) => {}
    };
    for frame in &kept.head {
        push(&mut path, frame);
    }
    if kept.elided() > 0 {
        path.push_str(&format!("…({} levels)…", kept.elided()));
    }
    for frame in &kept.tail {
        push(&mut path, frame);
    }
    if path.is_empty() {
        path.push('.');
    }
    path
}

/// `body` with every number beyond `f64`'s range (`1e400`, a 400-digit integer) replaced by
/// `null` and spaces (so every other byte keeps its offset), or `None` when it has none.
///
/// `serde_json` refuses such a number wherever it is decoded; as `null` it makes the field
/// that holds it `None` (see [`crate::de`]'s "Numbers").
pub(crate) fn null_out_of_range_numbers(body: &[u8]) -> Option<Vec<u8>> {
    let mut fixed: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'"' => i = string_end(body, i + 1),
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < body.len()
                    && matches!(body[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    i += 1;
                }
                let token = &body[start..i];
                let out_of_range = std::str::from_utf8(token)
                    .ok()
                    .and_then(|text| text.parse::<f64>().ok())
                    .is_some_and(f64::is_infinite);
                // The shortest such number (`2e308`) is longer than `null`.
                if out_of_range && token.len() >= 4 {
                    let fixed = fixed.get_or_insert_with(|| body.to_vec());
                    fixed[start..i].fill(b' ');
                    fixed[start..start + 4].copy_from_slice(b"null");
                }
            }
            _ => i += 1,
        }
    }
    fixed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Tag {
        name: String,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Item {
        id: u64,
        tags: Vec<Tag>,
        #[serde(default)]
        extra: Option<std::collections::BTreeMap<String, Vec<u32>>>,
    }

    /// The path this module finds for `T` failing on `json`, and the one `serde_path_to_error`
    /// finds while decoding.
    fn both<T: serde::de::DeserializeOwned + std::fmt::Debug>(json: &str) -> (String, String) {
        let error = serde_json::from_str::<T>(json).expect_err(json);
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let tracked = serde_path_to_error::deserialize::<_, T>(&mut deserializer)
            .expect_err(json)
            .path()
            .to_string();
        (of_error(json.as_bytes(), &error, None), tracked)
    }

    #[test]
    fn paths_agree_with_tracking_while_decoding() {
        let cases = [
            r#"{"id":"x","tags":[]}"#,
            r#"{"id":1,"tags":[{"name":"a"},{"name":2}]}"#,
            r#"{"id":1,"tags":[{"name":"a"},{"name":{"deep":[1,2]}}]}"#,
            r#"{"id":1,"tags":[{"name":"a"},{"name":[1,{"x":"}"}]}]}"#,
            r#"{"id":1,"tags":[{"name":"a\"],}"}, {"name" : 7 }]}"#,
            r#"{"id":1,"tags":[],"extra":{"k.1":[1,2,"three"]}}"#,
            r#"{"id":1,"tags":[],"extra":{"k\u00e9":[1,-2]}}"#,
            r#"{"id":1,"tags":{"name":"a"}}"#,
            "{\n  \"id\": 1,\n  \"tags\": [\n    {\"name\": \"a\"},\n    {\"name\": false}\n  ]\n}",
            r#"{"id":1,"tags":[{"name":"a"},{"name":tru}]}"#,
            r#"[1,2]"#,
            r#"{"tags":[]}"#,
        ];
        for json in cases {
            let (found, tracked) = both::<Item>(json);
            assert_eq!(found, tracked, "{json}");
        }
        for json in [
            r#"[{"id":1,"tags":[]},{"id":2,"tags":[{"name":null}]}]"#,
            r#"[{"id":1,"tags":[]}, {"id":true,"tags":[]}]"#,
        ] {
            let (found, tracked) = both::<Vec<Item>>(json);
            assert_eq!(found, tracked, "{json}");
        }
    }

    #[test]
    fn a_body_cut_short_names_the_value_it_stopped_in() {
        // (Tracking while decoding names `tags` here: the element had not begun.)
        let json = r#"{"id":1,"tags":[{"name":"a"},"#;
        let error = serde_json::from_str::<Item>(json).unwrap_err();
        assert_eq!(of_error(json.as_bytes(), &error, None), "tags[1]");
    }

    #[test]
    fn trailing_text_is_at_the_document() {
        let json = r#"[{"id":1,"tags":[]}] x"#;
        let error = serde_json::from_str::<Vec<Item>>(json).unwrap_err();
        assert_eq!(of_error(json.as_bytes(), &error, None), ".");
    }

    #[test]
    fn offsets_past_the_body_or_without_a_position_stay_safe() {
        assert_eq!(at(br#"{"a":[1,2"#, 1_000, None), "a[1]");
        assert_eq!(at(b"", 5, None), ".");
        assert_eq!(at(br#"{"a":"unclosed"#, 9, None), "a");
        assert_eq!(at(br#"{"\q":1}"#, 7, None), "\\q");
        assert_eq!(offset(b"{}", 0, 0), None);
        assert_eq!(offset(b"a\nbc\nd", 3, 1), Some(6));
        assert_eq!(offset(b"a\nbc", 9, 1), Some(4));
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Known {
        id: Option<String>,
    }

    #[test]
    fn a_deep_path_keeps_both_ends_and_stays_short() {
        // An unknown field holding a million unclosed brackets: the decoder skips it to the end
        // of the body and fails there, a million levels deep.
        let depth = 1_000_000;
        let body = format!(r#"{{"id":"1","x":{}"#, "[".repeat(depth));
        let error = serde_json::from_str::<Known>(&body).unwrap_err();
        let path = of_error(body.as_bytes(), &error, None);
        let expected_head = format!("x{}", "[0]".repeat(KEPT_LEVELS - 1));
        assert!(path.starts_with(&expected_head), "{path}");
        assert!(
            path.contains(&format!("…({} levels)…", depth + 1 - 2 * KEPT_LEVELS)),
            "{path}"
        );
        assert!(path.ends_with(&"[0]".repeat(KEPT_LEVELS)), "{path}");
        assert!(path.len() < 400, "{} bytes", path.len());

        // Keys and indices at both ends are the ones on the way to the error.
        let mut body = String::new();
        for level in 0..200 {
            body.push_str(&format!(r#"{{"skip":[1,{{"k":2}}],"k{level}":[0,"#));
        }
        body.push_str("tru");
        let path = at(body.as_bytes(), body.len(), None);
        assert!(path.starts_with("k0[1].k1[1].k2[1]"), "{path}");
        assert!(path.ends_with("k198[1].k199[1]"), "{path}");
        assert!(
            path.contains(&format!("…({} levels)…", 400 - 2 * KEPT_LEVELS)),
            "{path}"
        );
    }

    #[test]
    fn long_keys_are_redacted_before_they_are_cut() {
        let secret = "sk-live-7f3c9a1e5b2d4c6e8a0b1c2d3e4f5a";
        let key = ApiKey::new(secret).unwrap();
        for start in 0..=KEY_CHARS + 2 {
            let body = format!(r#"{{"{}{secret}":tru}}"#, "k".repeat(start));
            let error = serde_json::from_str::<Known>(&body).unwrap_err();
            let path = of_error(body.as_bytes(), &error, Some(&key));
            assert!(!path.contains(&secret[..8]), "{start}: {path}");
            assert!(path.chars().count() <= KEY_CHARS + 1, "{path}");
        }
        let error = serde_json::from_str::<Known>(r#"{"a b":tru}"#).unwrap_err();
        assert_eq!(of_error(br#"{"a b":tru}"#, &error, Some(&key)), "a b");
    }

    #[test]
    fn out_of_range_numbers_become_null_in_place() {
        let body = br#"{"a":1e400,"b":"1e400","c":[-2e308, 1.5e308, 123],"d":1e-400}"#;
        let fixed = null_out_of_range_numbers(body).unwrap();
        assert_eq!(fixed.len(), body.len());
        assert_eq!(
            String::from_utf8(fixed).unwrap(),
            r#"{"a":null ,"b":"1e400","c":[null  , 1.5e308, 123],"d":1e-400}"#
        );
        let huge = format!("[{}]", "9".repeat(400));
        let fixed = null_out_of_range_numbers(huge.as_bytes()).unwrap();
        assert!(String::from_utf8(fixed).unwrap().starts_with("[null  "));
        assert_eq!(
            null_out_of_range_numbers(br#"{"a":[1,2.5e10,"\"1e400"]}"#),
            None
        );
        assert_eq!(null_out_of_range_numbers(b""), None);
    }
}
