//! Sans-IO response handling: a status, headers and bytes become a typed value or an [`Error`].

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::{Error, RequestContext};
use crate::stack::auth::ApiKey;
use crate::stack::retry::parse_retry_after;

/// How many characters of a non-JSON error body an [`Error::Api`] message keeps.
const SNIPPET_CHARS: usize = 200;

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
    decode_body(body).map_err(|failure| failure.into_error(&context(), status, headers, key))
}

/// Decodes a JSON body, reporting the JSON path where decoding failed.
pub fn decode_json<T: DeserializeOwned>(
    context: &RequestContext,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    key: Option<&ApiKey>,
) -> Result<T, Error> {
    decode_body(body).map_err(|failure| failure.into_error(context, status, headers, key))
}

/// Decodes a JSON body; an empty one decodes as JSON `null`.
fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    let is_blank = body.iter().all(u8::is_ascii_whitespace);
    let input: &[u8] = if is_blank { b"null" } else { body };
    let mut deserializer = serde_json::Deserializer::from_slice(input);
    let value = T::deserialize(&mut deserializer).map_err(|error| Failure {
        // Found from the error's position (see `json_path`), only now that it is needed.
        json_path: crate::json_path::of_error(input, &error),
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
            content_type: content_type(headers).map(|ct| scrub(&ct, key)),
            json_path: scrub(&self.json_path, key),
            message: scrub(&message, key),
        }
    }
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn scrub(text: &str, key: Option<&ApiKey>) -> String {
    match key {
        Some(key) => key.redact(text),
        None => text.to_owned(),
    }
}

/// The [`Error::Api`] for a response with a failure status.
pub fn api_error(
    context: &RequestContext,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    key: Option<&ApiKey>,
) -> Error {
    let message = server_message(headers, body).map(|m| scrub(&m, key));
    let message = if status.is_redirection() {
        let location = headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("an unknown location");
        Some(format!(
            "redirect to {} not followed: the API key is sent only to the configured origin",
            scrub(location, key)
        ))
    } else {
        message
    };
    Error::Api {
        status,
        message,
        context: context.clone(),
        retry_after: parse_retry_after(headers),
    }
}

/// The `message` of an `ErrorResponse`, or a short description of a body that is not one.
fn server_message(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct ErrorResponse {
        message: Option<serde_json::Value>,
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    if let Ok(ErrorResponse {
        message: Some(message),
    }) = serde_json::from_slice::<ErrorResponse>(body)
    {
        return Some(match message {
            serde_json::Value::String(text) => text,
            other => other.to_string(),
        });
    }
    let text = String::from_utf8_lossy(body);
    let mut snippet: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(SNIPPET_CHARS)
        .collect();
    if text.chars().count() > SNIPPET_CHARS {
        snippet.push('…');
    }
    let kind = content_type(headers).unwrap_or_else(|| "unknown content type".to_owned());
    Some(format!(
        "non-JSON body ({kind}, {} bytes): {snippet}",
        body.len()
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
}
