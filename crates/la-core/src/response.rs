//! Sans-IO response handling: a status, headers and bytes become a typed value or an [`Error`].

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::{Error, RequestContext};
use crate::stack::auth::{ApiKey, REDACTED};
use crate::stack::retry::parse_retry_after;

/// How many characters of an error body that has no `message` an [`Error::Api`] message
/// keeps.
pub const SNIPPET_CHARS: usize = 200;

/// How many characters of the server's `message` an [`Error::Api`] keeps.
pub const MESSAGE_CHARS: usize = 1_000;

/// How many characters of a header value (a `Content-Type`, a `Location`) an error keeps.
pub const HEADER_CHARS: usize = 200;

/// The UTF-8 byte-order mark, which RFC 8259 allows a parser to ignore before a JSON text.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A decoded answer with its status and headers.
#[derive(Clone, Debug)]
pub struct Decoded<T> {
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The decoded body.
    pub value: T,
}

/// Turns a response into `T`, or into the error it stands for.
///
/// A success status (2xx) is decoded as JSON; an empty body decodes as JSON `null` (so types
/// that accept `null`, such as `OkResponse`, succeed and lists fail with a clear message). Any
/// other status becomes [`Error::Api`] with the server's `message`. Text from the server is
/// scrubbed of `key` before it is put into an error.
pub fn decode<T: DeserializeOwned>(
    context: &RequestContext,
    response: http::Response<Bytes>,
    key: Option<&ApiKey>,
) -> Result<Decoded<T>, Error> {
    decode_with(|| context.clone(), response, key)
}

/// Like [`decode`], building the request's context only when there is an error to describe.
pub(crate) fn decode_with<T: DeserializeOwned>(
    context: impl FnOnce() -> RequestContext,
    response: http::Response<Bytes>,
    key: Option<&ApiKey>,
) -> Result<Decoded<T>, Error> {
    let value = decode_value(context, &response, key)?;
    let (parts, _) = response.into_parts();
    Ok(Decoded {
        status: parts.status,
        headers: parts.headers,
        value,
    })
}

/// The value alone, for callers that do not keep the status and headers: it is not moved
/// through a [`Decoded`] (a large model is copied at every move).
pub(crate) fn decode_value<T: DeserializeOwned>(
    context: impl FnOnce() -> RequestContext,
    response: &http::Response<Bytes>,
    key: Option<&ApiKey>,
) -> Result<T, Error> {
    let (status, headers, body) = (response.status(), response.headers(), response.body());
    if !status.is_success() {
        return Err(api_error(&context(), status, headers, body, key));
    }
    decode_body(body, key).map_err(|failure| failure.into_error(&context(), status, headers, key))
}

/// Decodes a JSON body, reporting the JSON path where decoding failed.
pub fn decode_json<T: DeserializeOwned>(
    context: &RequestContext,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    key: Option<&ApiKey>,
) -> Result<T, Error> {
    decode_body(body, key).map_err(|failure| failure.into_error(context, status, headers, key))
}

/// Decodes a JSON body; an empty one decodes as JSON `null`; a byte-order mark before it is
/// skipped.
///
/// Numbers keep what the server sent (see [`crate::de`]'s "Numbers"): the body is decoded
/// again with exact scalars when a float reached a text or integer field, and once more with
/// every number beyond `f64`'s range read as `null` when such a number made decoding fail.
fn decode_body<T: DeserializeOwned>(body: &[u8], key: Option<&ApiKey>) -> Result<T, Failure> {
    let body = body.strip_prefix(BOM).unwrap_or(body);
    match decode_with_exact_numbers(body, key) {
        Err(failure) => match crate::json_path::null_out_of_range_numbers(body) {
            Some(fixed) => decode_with_exact_numbers(&fixed, key),
            None => Err(failure),
        },
        decoded => decoded,
    }
}

/// Decodes `body`, and again with exact scalars when the first pass saw a float where its text
/// matters.
fn decode_with_exact_numbers<T: DeserializeOwned>(
    body: &[u8],
    key: Option<&ApiKey>,
) -> Result<T, Failure> {
    match crate::de::with_number_mode(false, || decode_once(body, key)) {
        (Ok(approximate), true) => {
            match crate::de::with_number_mode(true, || decode_once(body, key)) {
                (Ok(exact), _) => Ok(exact),
                // Not expected (both passes read the same document); the first result stands.
                (Err(_), _) => Ok(approximate),
            }
        }
        (decoded, _) => decoded,
    }
}

/// One pass of the decoder over `body`.
fn decode_once<T: DeserializeOwned>(body: &[u8], key: Option<&ApiKey>) -> Result<T, Failure> {
    let is_blank = body.iter().all(u8::is_ascii_whitespace);
    let input: &[u8] = if is_blank { b"null" } else { body };
    let mut deserializer = serde_json::Deserializer::from_slice(input);
    let value = T::deserialize(&mut deserializer).map_err(|error| Failure {
        // Found from the error's position (see `json_path`), only now that it is needed.
        json_path: crate::json_path::of_error(input, &error, key),
        error,
        is_blank,
    })?;
    deserializer.end().map_err(|error| Failure {
        json_path: ".".to_owned(),
        error,
        is_blank,
    })?;
    Ok(value)
}

/// Why a body did not decode, before it becomes an [`Error::Decode`].
struct Failure {
    json_path: String,
    error: serde_json::Error,
    is_blank: bool,
}

impl Failure {
    fn into_error(
        self,
        context: &RequestContext,
        status: StatusCode,
        headers: &HeaderMap,
        key: Option<&ApiKey>,
    ) -> Error {
        let message = if self.is_blank {
            format!("the response body is empty ({})", self.error)
        } else {
            self.error.to_string()
        };
        Error::Decode {
            context: context.clone(),
            status,
            content_type: content_type(headers, key),
            // Already redacted and bounded, segment by segment (see `json_path`).
            json_path: self.json_path,
            message: excerpt(&message, key, MESSAGE_CHARS),
        }
    }
}

/// The response's `Content-Type`, redacted and cut.
fn content_type(headers: &HeaderMap, key: Option<&ApiKey>) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .map(|v| excerpt(&String::from_utf8_lossy(v.as_bytes()), key, HEADER_CHARS))
}

/// At most `limit` characters of `text` for an error or a log: runs of whitespace become one
/// space, control characters are dropped, every occurrence of `key` is replaced by
/// `[REDACTED]` **before** the text is cut (so a key that the cut would split is never half
/// shown), and `…` marks a cut.
///
/// Reads only as much of `text` as the excerpt needs, so a huge text costs no copy of it.
pub fn excerpt(text: &str, key: Option<&ApiKey>, limit: usize) -> String {
    let key = key.map(ApiKey::expose).unwrap_or("");
    let mut chars = text
        .chars()
        .filter(|c| !c.is_control() || c.is_whitespace());
    let mut out = String::new();
    let mut count = 0usize;
    let mut in_space = false;
    // Enough characters that a key starting within the first `limit` is complete, and so
    // redacted, before the excerpt stops reading.
    let enough = limit.saturating_add(key.len());
    for c in chars.by_ref() {
        if c.is_whitespace() {
            in_space = true;
            continue;
        }
        if in_space && !out.is_empty() {
            out.push(' ');
            count += 1;
        }
        in_space = false;
        out.push(c);
        count += 1;
        if !key.is_empty() && out.ends_with(key) {
            out.truncate(out.len() - key.len());
            out.push_str(REDACTED);
            count = count - key.len() + REDACTED.len();
        }
        if count > enough {
            break;
        }
    }
    if count > limit {
        if let Some((at, _)) = out.char_indices().nth(limit) {
            out.truncate(at);
        }
        out.push('…');
    }
    out
}

/// The [`Error::Api`] for a response with a failure status.
pub fn api_error(
    context: &RequestContext,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    key: Option<&ApiKey>,
) -> Error {
    let message = if status.is_redirection() {
        let location = headers
            .get(http::header::LOCATION)
            .map(|v| excerpt(&String::from_utf8_lossy(v.as_bytes()), key, HEADER_CHARS));
        Some(format!(
            "redirect to {} not followed: the API key is sent only to the configured origin",
            location.as_deref().unwrap_or("an unknown location")
        ))
    } else {
        server_message(headers, body, key)
    };
    Error::Api {
        status,
        message,
        context: context.clone(),
        retry_after: parse_retry_after(headers),
    }
}

/// What an error body says, redacted and cut: the `message` of an `ErrorResponse`, otherwise
/// its `error` or `errors` field, otherwise a short description of the body.
fn server_message(headers: &HeaderMap, body: &[u8], key: Option<&ApiKey>) -> Option<String> {
    use serde_json::value::RawValue;

    /// The fields an error body may explain itself with, each as its raw JSON text.
    #[derive(serde::Deserialize)]
    struct ErrorFields<'a> {
        #[serde(borrow)]
        message: Option<&'a RawValue>,
        #[serde(borrow)]
        error: Option<&'a RawValue>,
        #[serde(borrow)]
        errors: Option<&'a RawValue>,
    }

    /// A field's text: a string unescaped, anything else as its JSON text.
    fn text_of(raw: &RawValue) -> String {
        serde_json::from_str::<String>(raw.get()).unwrap_or_else(|_| raw.get().to_owned())
    }

    let body = body.strip_prefix(BOM).unwrap_or(body);
    if body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let not_null = |raw: &&RawValue| raw.get() != "null";
    let is_object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if is_object && let Ok(fields) = serde_json::from_slice::<ErrorFields<'_>>(body) {
        if let Some(message) = fields.message.filter(not_null) {
            return Some(excerpt(&text_of(message), key, MESSAGE_CHARS));
        }
        for (name, field) in [("error", fields.error), ("errors", fields.errors)] {
            if let Some(field) = field.filter(not_null) {
                return Some(format!(
                    "{name}: {}",
                    excerpt(&text_of(field), key, MESSAGE_CHARS)
                ));
            }
        }
    }
    let kind = content_type(headers, key).unwrap_or_else(|| "unknown content type".to_owned());
    let text = String::from_utf8_lossy(body);
    let described = if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
        "JSON body without a message"
    } else {
        "non-JSON body"
    };
    Some(format!(
        "{described} ({kind}, {} bytes): {}",
        body.len(),
        excerpt(&text, key, SNIPPET_CHARS)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn context() -> RequestContext {
        RequestContext::new(Method::GET, "/api/v3/tickets")
    }

    fn response(status: u16, content_type: &str, body: &'static str) -> http::Response<Bytes> {
        http::Response::builder()
            .status(status)
            .header(CONTENT_TYPE, content_type)
            .body(Bytes::from_static(body.as_bytes()))
            .unwrap()
    }

    #[derive(serde::Deserialize, Debug)]
    struct Item {
        #[allow(dead_code)]
        id: String,
    }

    #[test]
    fn decode_error_carries_the_json_path() {
        let err = decode::<Vec<Item>>(
            &context(),
            response(200, "application/json", r#"[{"id":"1"},{"id":2}]"#),
            None,
        )
        .unwrap_err();
        match err {
            Error::Decode { json_path, .. } => assert_eq!(json_path, "[1].id"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn empty_body_is_null_and_trailing_garbage_is_an_error() {
        let ok: Decoded<Option<Item>> =
            decode(&context(), response(200, "application/json", ""), None).unwrap();
        assert!(ok.value.is_none());
        let err = decode::<Vec<Item>>(&context(), response(200, "application/json", ""), None)
            .unwrap_err();
        assert!(
            err.to_string().contains("the response body is empty"),
            "{err}"
        );
        let err = decode::<Vec<Item>>(&context(), response(200, "application/json", "[] x"), None)
            .unwrap_err();
        assert!(matches!(err, Error::Decode { .. }));
    }

    #[test]
    fn html_page_with_200_is_a_decode_error_naming_the_content_type() {
        let err = decode::<Vec<Item>>(
            &context(),
            response(200, "text/html", "<html><body>Maintenance</body></html>"),
            None,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("text/html"), "{text}");
        assert!(text.contains("GET /api/v3/tickets"), "{text}");
    }

    #[test]
    fn api_error_uses_the_server_message_and_scrubs_the_key() {
        let key = ApiKey::new("topsecret").unwrap();
        let err = decode::<Item>(
            &context(),
            response(
                401,
                "application/json",
                r#"{"message":"Invalid key topsecret"}"#,
            ),
            Some(&key),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "GET /api/v3/tickets: the server answered 401 Unauthorized: Invalid key [REDACTED]"
        );
    }

    #[test]
    fn api_error_describes_a_non_json_body() {
        let err = decode::<Item>(
            &context(),
            response(502, "text/html", "<html>\n  Bad   gateway\n</html>"),
            None,
        )
        .unwrap_err();
        match err {
            Error::Api { message, .. } => assert_eq!(
                message.as_deref(),
                Some("non-JSON body (text/html, 30 bytes): <html> Bad gateway </html>")
            ),
            other => panic!("unexpected {other:?}"),
        }
    }

    const LONG_KEY: &str = "sk-live-7f3c9a1e5b2d4c6e8a0b1c2d3e4f5a"; // 38 characters

    fn api_message(status: u16, content_type: &str, body: &[u8], key: Option<&ApiKey>) -> String {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, content_type.parse().unwrap());
        match api_error(
            &context(),
            StatusCode::from_u16(status).unwrap(),
            &headers,
            body,
            key,
        ) {
            Error::Api {
                message: Some(message),
                ..
            } => message,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_key_across_the_cut_of_a_snippet_is_redacted_whole_at_every_offset() {
        assert_eq!(LONG_KEY.len(), 38);
        let key = ApiKey::new(LONG_KEY).unwrap();
        let prefix = &LONG_KEY[..8];
        // The key starting anywhere from well before the cut to past it, once or twice.
        for start in 150..=SNIPPET_CHARS + 5 {
            for body in [
                format!("{}{LONG_KEY} and more text after it", "x".repeat(start)),
                format!(
                    "{}{LONG_KEY}{LONG_KEY}{}",
                    "y".repeat(start),
                    "z".repeat(300)
                ),
                format!("{LONG_KEY} {}{LONG_KEY} tail", "w".repeat(start)),
            ] {
                let message = api_message(500, "text/plain", body.as_bytes(), Some(&key));
                assert!(!message.contains(prefix), "offset {start}: {message}");
                let snippet = message.split_once("bytes): ").unwrap().1;
                assert!(snippet.chars().count() <= SNIPPET_CHARS + 1, "{snippet}");
            }
        }
        // Also where the whitespace is collapsed and in a JSON error body without a message.
        let body = format!("{}\n\n\t{LONG_KEY}", "a ".repeat(95));
        let message = api_message(500, "text/plain", body.as_bytes(), Some(&key));
        assert!(!message.contains(prefix), "{message}");
        let body = format!(r#"{{"detail":"{}{LONG_KEY}"}}"#, "d".repeat(180));
        let message = api_message(400, "application/json", body.as_bytes(), Some(&key));
        assert!(!message.contains(prefix), "{message}");
    }

    #[test]
    fn excerpt_redacts_then_cuts_and_marks_the_cut() {
        let key = ApiKey::new("abcdefgh").unwrap();
        assert_eq!(excerpt("abcdefgh", Some(&key), 3), "[RE…");
        assert_eq!(excerpt("xxabcdefgh", Some(&key), 4), "xx[R…");
        assert_eq!(excerpt("abcdefg", Some(&key), 4), "abcd…");
        assert_eq!(excerpt("  a \n\t b\u{1}c  ", None, 10), "a bc");
        assert_eq!(excerpt("short", Some(&key), 5), "short");
        assert_eq!(excerpt("", Some(&key), 5), "");
        // A key cut short by the end of the text is not the key: nothing to redact.
        assert_eq!(excerpt("zzabcdefg", Some(&key), 100), "zzabcdefg");
        // Long texts are read only as far as needed.
        let huge = "é".repeat(1_000_000);
        assert_eq!(excerpt(&huge, None, 3), "ééé…");
    }

    #[test]
    fn long_server_messages_are_redacted_then_cut() {
        let key = ApiKey::new(LONG_KEY).unwrap();
        for start in MESSAGE_CHARS - 40..=MESSAGE_CHARS + 2 {
            let body = format!(r#"{{"message":"{}{LONG_KEY}"}}"#, "m".repeat(start));
            let message = api_message(401, "application/json", body.as_bytes(), Some(&key));
            assert!(!message.contains(&LONG_KEY[..8]), "{start}: {message}");
            assert!(message.chars().count() <= MESSAGE_CHARS + 1);
        }
        // A redirect's location too.
        let mut headers = HeaderMap::new();
        let location = format!("https://elsewhere.example/{}?k={LONG_KEY}", "p".repeat(170));
        headers.insert(http::header::LOCATION, location.parse().unwrap());
        let err = api_error(&context(), StatusCode::FOUND, &headers, b"", Some(&key));
        let text = err.to_string();
        assert!(!text.contains(&LONG_KEY[..8]), "{text}");
        assert!(text.contains("elsewhere.example"), "{text}");
    }

    #[test]
    fn a_json_error_body_without_a_message_is_described_as_json() {
        let cases: [(&[u8], &str); 6] = [
            (br#"{"error":"invalid_grant"}"#, "error: invalid_grant"),
            (
                br#"{"errors":[{"field":"subject","reason":"required"}]}"#,
                r#"errors: [{"field":"subject","reason":"required"}]"#,
            ),
            (br#"{"message":{"code":7}}"#, r#"{"code":7}"#),
            (
                br#"{"status":"failed","code":42}"#,
                r#"JSON body without a message (application/json, 29 bytes): {"status":"failed","code":42}"#,
            ),
            (
                br#"{"message":null,"detail":"x"}"#,
                r#"JSON body without a message (application/json, 29 bytes): {"message":null,"detail":"x"}"#,
            ),
            (
                br#"["bad", "request"]"#,
                r#"JSON body without a message (application/json, 18 bytes): ["bad", "request"]"#,
            ),
        ];
        for (body, expected) in cases {
            let message = api_message(400, "application/json", body, None);
            assert_eq!(message, expected);
        }
        let message = api_message(400, "application/json", b"{\"message\": \"trunc", None);
        assert!(message.starts_with("non-JSON body"), "{message}");
    }

    #[test]
    fn a_byte_order_mark_is_skipped_in_success_and_error_bodies() {
        let ok: Decoded<Vec<Item>> = decode(
            &context(),
            response(200, "application/json", "\u{feff}[{\"id\":\"1\"}]"),
            None,
        )
        .unwrap();
        assert_eq!(ok.value.len(), 1);
        let empty: Decoded<Option<Item>> = decode(
            &context(),
            response(200, "application/json", "\u{feff}  "),
            None,
        )
        .unwrap();
        assert!(empty.value.is_none());
        let message = api_message(
            404,
            "application/json",
            "\u{feff}{\"message\":\"Ticket not found\"}".as_bytes(),
            None,
        );
        assert_eq!(message, "Ticket not found");
        let message = api_message(
            404,
            "application/json",
            "\u{feff}{\"error\":\"gone\"}".as_bytes(),
            None,
        );
        assert_eq!(message, "error: gone");
        // Only a leading mark: one in the middle is not JSON.
        let err = decode::<Vec<Item>>(
            &context(),
            response(200, "application/json", "[\u{feff}]"),
            None,
        )
        .unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    }

    #[test]
    fn a_decode_error_message_and_content_type_are_redacted_then_cut() {
        let key = ApiKey::new(LONG_KEY).unwrap();
        let long_text = format!("{}{LONG_KEY}", "v".repeat(MESSAGE_CHARS - 20));
        let body = format!(r#"{{"id":"{long_text}"}}"#);
        let content_type = format!("application/json; x={}{LONG_KEY}", "c".repeat(170));
        let response = http::Response::builder()
            .status(200)
            .header(CONTENT_TYPE, content_type)
            .body(Bytes::from(body))
            .unwrap();
        // A list was expected: the error quotes the value it found.
        let err = decode::<Vec<Item>>(&context(), response, Some(&key)).unwrap_err();
        match &err {
            Error::Decode {
                message,
                content_type,
                ..
            } => {
                assert!(message.chars().count() <= MESSAGE_CHARS + 1, "{message}");
                let content_type = content_type.as_deref().unwrap();
                assert!(
                    content_type.starts_with("application/json"),
                    "{content_type}"
                );
                assert!(content_type.chars().count() <= HEADER_CHARS + 1);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(!format!("{err} {err:?}").contains(&LONG_KEY[..8]), "{err}");
    }
}
