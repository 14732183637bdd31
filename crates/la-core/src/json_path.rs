//! The JSON path of a decoding failure, found from where in the body `serde_json` stopped.
//!
//! A failed decode is described by re-reading the body as plain JSON text up to the error's line
//! and column, keeping track of the keys and indices on the way: one function for every type the
//! SDK decodes. (Tracking the path while decoding would compile a second decoder for every
//! model that a response can hold.)
//!
//! Paths read like `tags[1].name`: object keys joined with `.`, array indices in brackets, and
//! `.` for the document itself.

/// Where the container being read is at the error's position.
enum Frame {
    /// Inside an object: the key of the value being read (none while a key is expected).
    Object(Option<String>),
    /// Inside an array: the index of the element being read.
    Array(usize),
}

/// The path of the value `serde_json` was reading when it failed with `error` on `body`.
pub(crate) fn of_error(body: &[u8], error: &serde_json::Error) -> String {
    match offset(body, error.line(), error.column()) {
        // A syntax error's position is past the byte that broke the syntax, which may already
        // have closed the container the bad value is in (`{"name":tru}`): read up to it only.
        Some(offset) if error.is_syntax() => at(body, offset.saturating_sub(1)),
        Some(offset) => at(body, offset),
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

/// The path of the value being read at byte `offset` of `body`.
fn at(body: &[u8], offset: usize) -> String {
    let end = offset.min(body.len());
    let mut frames: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < end {
        match body[i] {
            b'{' => frames.push(Frame::Object(None)),
            b'[' => frames.push(Frame::Array(0)),
            b'}' | b']' => {
                frames.pop();
            }
            b',' => match frames.last_mut() {
                Some(Frame::Object(key)) => *key = None,
                Some(Frame::Array(index)) => *index += 1,
                None => {}
            },
            b'"' => {
                let close = string_end(body, i + 1);
                if let Some(Frame::Object(key @ None)) = frames.last_mut() {
                    // A string where a key is expected is the key (until the `,` after its
                    // value clears it).
                    if close <= end {
                        *key = Some(unescape(&body[i..close]));
                    }
                }
                i = close;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    render(&frames)
}

/// The index just past the string whose contents start at `from` (past its closing quote, or
/// the end of the body when it is not closed).
fn string_end(body: &[u8], from: usize) -> usize {
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
/// does not decode.
fn unescape(quoted: &[u8]) -> String {
    serde_json::from_slice::<String>(quoted).unwrap_or_else(|_| {
        let inner = quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or(&[]);
        String::from_utf8_lossy(inner).into_owned()
    })
}

fn render(frames: &[Frame]) -> String {
    let mut path = String::new();
    for frame in frames {
        match frame {
            Frame::Array(index) => {
                path.push('[');
                path.push_str(&index.to_string());
                path.push(']');
            }
            Frame::Object(Some(key)) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            // An error where a key is expected: the path is the object's own.
            Frame::Object(None) => {}
        }
    }
    if path.is_empty() {
        path.push('.');
    }
    path
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
        (of_error(json.as_bytes(), &error), tracked)
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
        assert_eq!(of_error(json.as_bytes(), &error), "tags[1]");
    }

    #[test]
    fn trailing_text_is_at_the_document() {
        let json = r#"[{"id":1,"tags":[]}] x"#;
        let error = serde_json::from_str::<Vec<Item>>(json).unwrap_err();
        assert_eq!(of_error(json.as_bytes(), &error), ".");
    }

    #[test]
    fn offsets_past_the_body_or_without_a_position_stay_safe() {
        assert_eq!(at(br#"{"a":[1,2"#, 1_000), "a[1]");
        assert_eq!(at(b"", 5), ".");
        assert_eq!(at(br#"{"a":"unclosed"#, 9), "a");
        assert_eq!(at(br#"{"\q":1}"#, 7), "\\q");
        assert_eq!(offset(b"{}", 0, 0), None);
        assert_eq!(offset(b"a\nbc\nd", 3, 1), Some(6));
        assert_eq!(offset(b"a\nbc", 9, 1), Some(4));
    }
}
