//! Sans-IO request building: a description of one API call that becomes an `http::Request`.
//!
//! A [`Request`] holds the method, the path (its parameters already percent-encoded), the query,
//! extra headers and the body of one operation. It knows nothing about sockets or the middleware
//! stack; [`Request::into_http`] turns it into an `http::Request<Body>` for a given base URL, and
//! [`Client::execute`](crate::Client::execute) sends it. The domain crates build their requests
//! with this type only, which is why they never depend on an HTTP client.
//!
//! ```
//! use la_core::{Method, Request};
//!
//! let request = Request::new(Method::GET, "/tickets/{ticketId}")
//!     .path_param("ticketId", "a/b c")?
//!     .query("includeQuotedMessages", true);
//! assert_eq!(request.path(), "/tickets/a%2Fb%20c");
//! # Ok::<(), la_core::Error>(())
//! ```

use std::borrow::Cow;
use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, Method};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;

use crate::body::Body;
use crate::client::BaseUrl;
use crate::error::{Error, RequestContext};

/// Characters that stay as they are in a path segment: RFC 3986 unreserved characters.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The longest value accepted for one path parameter, in bytes.
pub const MAX_PATH_PARAM_LEN: usize = 1024;

/// How the retry layer may treat a request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Idempotency {
    /// Decided by the method: GET, HEAD, PUT, DELETE and OPTIONS are retried after any
    /// retryable failure; POST and PATCH only when the server cannot have acted on them.
    #[default]
    ByMethod,
    /// The caller guarantees that sending the request twice does no harm: retry it like a GET.
    Idempotent,
    /// Never retry this request.
    Never,
}

/// Per-request information that travels through the stack as an `http::Request` extension.
///
/// A clone leaves out the parsed [`url`](Self::url): the copy of each request that the retry
/// layer keeps for a possible retry stays cheap, and a retried attempt's transport parses the
/// URI instead.
#[derive(Debug)]
pub struct RequestMeta {
    /// The path template of the operation, such as `/tickets/{ticketId}`.
    pub path_template: &'static str,
    /// How the retry layer may treat this request.
    pub idempotency: Idempotency,
    /// The URL parsed when [`Request::into_http`] built the request: the default transport sends
    /// it instead of parsing the request's URI again, unless a layer changed the URI since.
    pub url: Option<url::Url>,
}

impl Idempotency {
    /// Whether a `method` request treated this way may be retried after a failure after which
    /// the server may have acted.
    pub fn is_idempotent(self, method: &Method) -> bool {
        match self {
            Idempotency::Idempotent => true,
            Idempotency::Never => false,
            Idempotency::ByMethod => matches!(
                *method,
                Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
            ),
        }
    }
}

impl Clone for RequestMeta {
    fn clone(&self) -> Self {
        Self {
            path_template: self.path_template,
            idempotency: self.idempotency,
            url: None,
        }
    }
}

impl RequestMeta {
    /// Whether a failure after which the server may have acted can be retried.
    pub fn is_idempotent(&self, method: &Method) -> bool {
        self.idempotency.is_idempotent(method)
    }
}

/// One file of a `multipart/form-data` body.
#[derive(Clone)]
pub struct FilePart {
    bytes: Bytes,
    file_name: String,
    content_type: String,
}

impl FilePart {
    /// A file with its content, name and content type (such as `image/png`).
    pub fn new(
        bytes: impl Into<Bytes>,
        file_name: impl Into<String>,
        content_type: impl Into<String>,
    ) -> Self {
        Self {
            bytes: bytes.into(),
            file_name: file_name.into(),
            content_type: content_type.into(),
        }
    }

    /// The file's content.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The file name sent to the server.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// The content type sent to the server.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }
}

impl fmt::Debug for FilePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilePart")
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// A `multipart/form-data` body: text fields and files.
#[derive(Clone, Debug, Default)]
pub struct Multipart {
    parts: Vec<(String, Part)>,
}

#[derive(Clone, Debug)]
enum Part {
    Text(String),
    File(FilePart),
}

impl Multipart {
    /// An empty form.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a text field.
    pub fn text(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.parts.push((name.into(), Part::Text(value.into())));
        self
    }

    /// Adds a file.
    pub fn file(mut self, name: impl Into<String>, file: FilePart) -> Self {
        self.parts.push((name.into(), Part::File(file)));
        self
    }

    /// Encodes the form; returns the body and the boundary.
    fn encode(&self) -> Result<(Bytes, String), Error> {
        let boundary = format!(
            "liveagent-rs-{:016x}{:016x}",
            fastrand::u64(..),
            fastrand::u64(..)
        );
        let mut out = BytesMut::new();
        for (name, part) in &self.parts {
            check_header_text("multipart field name", name)?;
            out.put_slice(b"--");
            out.put_slice(boundary.as_bytes());
            out.put_slice(b"\r\nContent-Disposition: form-data; name=\"");
            out.put_slice(escape_quoted(name).as_bytes());
            out.put_slice(b"\"");
            match part {
                Part::Text(value) => {
                    out.put_slice(b"\r\n\r\n");
                    out.put_slice(value.as_bytes());
                }
                Part::File(file) => {
                    check_header_text("file name", &file.file_name)?;
                    check_header_text("content type", &file.content_type)?;
                    if file.content_type.is_empty() {
                        return Err(Error::invalid_request(
                            "the content type of an uploaded file must not be empty",
                        ));
                    }
                    out.put_slice(b"; filename=\"");
                    out.put_slice(escape_quoted(&file.file_name).as_bytes());
                    out.put_slice(b"\"\r\nContent-Type: ");
                    out.put_slice(file.content_type.as_bytes());
                    out.put_slice(b"\r\n\r\n");
                    out.put_slice(&file.bytes);
                }
            }
            out.put_slice(b"\r\n");
        }
        out.put_slice(b"--");
        out.put_slice(boundary.as_bytes());
        out.put_slice(b"--\r\n");
        Ok((out.freeze(), boundary))
    }
}

fn check_header_text(what: &str, value: &str) -> Result<(), Error> {
    if value.chars().any(|c| c.is_control()) {
        return Err(Error::invalid_request(format!(
            "the {what} {value:?} contains control characters"
        )));
    }
    Ok(())
}

fn escape_quoted(value: &str) -> Cow<'_, str> {
    if value.contains(['"', '\\']) {
        Cow::Owned(value.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        Cow::Borrowed(value)
    }
}

#[derive(Clone, Debug, Default)]
enum RequestBody {
    #[default]
    Empty,
    Json(Bytes),
    Form(Bytes),
    Multipart(Multipart),
}

/// A description of one API call, independent of any transport.
#[derive(Clone, Debug)]
pub struct Request {
    method: Method,
    path_template: &'static str,
    /// The template until a parameter is filled in (no copy for paths without parameters).
    path: Cow<'static, str>,
    query: Vec<(Cow<'static, str>, String)>,
    headers: HeaderMap,
    body: RequestBody,
    idempotency: Idempotency,
}

impl Request {
    /// A request for `method` on `path_template`, a path relative to the API's base URL such as
    /// `/tickets/{ticketId}`. Each `{name}` must be filled with [`Request::path_param`].
    pub fn new(method: Method, path_template: &'static str) -> Self {
        Self {
            method,
            path_template,
            path: Cow::Borrowed(path_template),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: RequestBody::Empty,
            idempotency: Idempotency::ByMethod,
        }
    }

    /// Fills the path parameter `{name}` with `value`, percent-encoded as one path segment.
    ///
    /// Refused with [`Error::InvalidRequest`]: an empty value, `.` or `..` (which would change
    /// the path rather than name a resource), a value longer than [`MAX_PATH_PARAM_LEN`] bytes,
    /// and a name that the template does not contain.
    pub fn path_param(mut self, name: &str, value: impl fmt::Display) -> Result<Self, Error> {
        let value = value.to_string();
        if value.is_empty() {
            return Err(Error::invalid_request(format!(
                "path parameter `{name}` of {} {} must not be empty",
                self.method, self.path_template
            )));
        }
        if value == "." || value == ".." {
            return Err(Error::invalid_request(format!(
                "path parameter `{name}` must not be `{value}`"
            )));
        }
        if value.len() > MAX_PATH_PARAM_LEN {
            return Err(Error::invalid_request(format!(
                "path parameter `{name}` is {} bytes long; the limit is {MAX_PATH_PARAM_LEN}",
                value.len()
            )));
        }
        let is_placeholder = |at: &str| {
            at.strip_prefix('{')
                .and_then(|rest| rest.strip_prefix(name))
                .is_some_and(|rest| rest.starts_with('}'))
        };
        let mut path = String::with_capacity(self.path.len() + value.len() * 3);
        let mut rest = &*self.path;
        let mut filled = false;
        while let Some(i) = rest.find('{') {
            path.push_str(&rest[..i]);
            if is_placeholder(&rest[i..]) {
                path.extend(utf8_percent_encode(&value, PATH_SEGMENT));
                rest = &rest[i + name.len() + 2..];
                filled = true;
            } else {
                path.push('{');
                rest = &rest[i + 1..];
            }
        }
        if !filled {
            return Err(Error::invalid_request(format!(
                "the path {} has no parameter `{name}`",
                self.path_template
            )));
        }
        path.push_str(rest);
        self.path = Cow::Owned(path);
        Ok(self)
    }

    /// Adds a query parameter.
    pub fn query(mut self, name: impl Into<Cow<'static, str>>, value: impl fmt::Display) -> Self {
        self.query.push((name.into(), value.to_string()));
        self
    }

    /// Adds a query parameter when `value` is `Some`.
    pub fn query_opt<V: fmt::Display>(
        self,
        name: impl Into<Cow<'static, str>>,
        value: Option<V>,
    ) -> Self {
        match value {
            Some(value) => self.query(name, value),
            None => self,
        }
    }

    /// Adds a query parameter once per value (`name=a&name=b`).
    pub fn query_each<I>(mut self, name: &'static str, values: I) -> Self
    where
        I: IntoIterator,
        I::Item: fmt::Display,
    {
        for value in values {
            self.query.push((Cow::Borrowed(name), value.to_string()));
        }
        self
    }

    /// Sets a query parameter, replacing every earlier value of the same name.
    pub fn set_query(mut self, name: &'static str, value: impl fmt::Display) -> Self {
        self.query.retain(|(n, _)| n != name);
        self.query(name, value)
    }

    /// Removes a query parameter.
    pub fn remove_query(mut self, name: &str) -> Self {
        self.query.retain(|(n, _)| n != name);
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Adds a header from text, refusing values that are not valid header text.
    pub fn header_str(self, name: &'static str, value: impl fmt::Display) -> Result<Self, Error> {
        let header = HeaderName::try_from(name)
            .map_err(|_| Error::invalid_request(format!("`{name}` is not a valid header name")))?;
        let value = HeaderValue::try_from(value.to_string()).map_err(|_| {
            Error::invalid_request(format!(
                "the value of header `{name}` is not valid header text"
            ))
        })?;
        Ok(self.header(header, value))
    }

    /// Sets a JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            Error::invalid_request(format!("the request body cannot be encoded as JSON: {e}"))
        })?;
        self.body = RequestBody::Json(Bytes::from(bytes));
        Ok(self)
    }

    /// Sets an `application/x-www-form-urlencoded` body from a serializable value (a struct or a
    /// slice of pairs).
    pub fn form<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self, Error> {
        let text = serde_urlencoded::to_string(body).map_err(|e| {
            Error::invalid_request(format!("the request body cannot be form-encoded: {e}"))
        })?;
        self.body = RequestBody::Form(Bytes::from(text));
        Ok(self)
    }

    /// Sets a `multipart/form-data` body.
    pub fn multipart(mut self, form: Multipart) -> Self {
        self.body = RequestBody::Multipart(form);
        self
    }

    /// Tells the retry layer how to treat this request.
    pub fn idempotency(mut self, idempotency: Idempotency) -> Self {
        self.idempotency = idempotency;
        self
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path template, such as `/tickets/{ticketId}`.
    pub fn path_template(&self) -> &'static str {
        self.path_template
    }

    /// The path with its parameters filled in and percent-encoded, relative to the base URL.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query parameters, in order.
    pub fn query_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.query.iter().map(|(n, v)| (n.as_ref(), v.as_str()))
    }

    /// The value of the first query parameter called `name`.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query_pairs().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The request body's bytes for JSON and form bodies (multipart bodies are encoded when the
    /// request is built).
    pub fn body_bytes(&self) -> Option<&Bytes> {
        match &self.body {
            RequestBody::Json(bytes) | RequestBody::Form(bytes) => Some(bytes),
            RequestBody::Empty | RequestBody::Multipart(_) => None,
        }
    }

    /// The method and path, for error messages.
    pub fn context(&self, base: &BaseUrl) -> RequestContext {
        RequestContext::new(self.method.clone(), format!("{}{}", base.path(), self.path))
    }

    /// Builds the `http::Request` for the API at `base`.
    ///
    /// Fails when a path parameter was left unfilled or a header or multipart part is invalid.
    pub fn into_http(self, base: &BaseUrl) -> Result<http::Request<Body>, Error> {
        if let Some(start) = self.path.find('{') {
            let rest = &self.path[start..];
            let name = rest.split('}').next().unwrap_or(rest);
            return Err(Error::invalid_request(format!(
                "path parameter `{}` of {} {} was not given",
                name.trim_start_matches('{'),
                self.method,
                self.path_template
            )));
        }
        // The URL is built from the parsed base URL (no full parse per request) and handed to
        // the transport with the request, so that it is not parsed again there.
        let mut url = base.url().clone();
        let mut path = String::with_capacity(base.path().len() + self.path.len());
        path.push_str(base.path());
        path.push_str(&self.path);
        url.set_path(&path);
        if !self.query.is_empty() {
            let mut query = url.query_pairs_mut();
            for (name, value) in &self.query {
                query.append_pair(name, value);
            }
        }
        let uri: http::Uri = url
            .as_str()
            .parse()
            .map_err(|e| Error::invalid_request(format!("the request URL is invalid: {e}")))?;

        let (body, content_type) = match self.body {
            RequestBody::Empty => (Body::empty(), None),
            RequestBody::Json(bytes) => (
                Body::full(bytes),
                Some(HeaderValue::from_static("application/json")),
            ),
            RequestBody::Form(bytes) => (
                Body::full(bytes),
                Some(HeaderValue::from_static(
                    "application/x-www-form-urlencoded",
                )),
            ),
            RequestBody::Multipart(form) => {
                let (bytes, boundary) = form.encode()?;
                let value =
                    HeaderValue::try_from(format!("multipart/form-data; boundary={boundary}"))
                        .map_err(|_| Error::invalid_request("invalid multipart boundary"))?;
                (Body::full(bytes), Some(value))
            }
        };

        let mut request = http::Request::new(body);
        *request.method_mut() = self.method;
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        *headers = self.headers;
        if let Some(content_type) = content_type {
            headers.insert(CONTENT_TYPE, content_type);
        }
        request.extensions_mut().insert(RequestMeta {
            path_template: self.path_template,
            idempotency: self.idempotency,
            url: Some(url),
        });
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> BaseUrl {
        BaseUrl::parse("https://acme.ladesk.com/api/v3").unwrap()
    }

    #[test]
    fn path_params_are_percent_encoded_as_one_segment() {
        let request = Request::new(Method::GET, "/tickets/{ticketId}/messages")
            .path_param("ticketId", "a/b?c#d é")
            .unwrap();
        assert_eq!(request.path(), "/tickets/a%2Fb%3Fc%23d%20%C3%A9/messages");
    }

    #[test]
    fn dangerous_or_empty_path_params_are_refused() {
        for bad in ["", ".", ".."] {
            let err = Request::new(Method::GET, "/tickets/{ticketId}")
                .path_param("ticketId", bad)
                .err();
            assert!(matches!(err, Some(Error::InvalidRequest { .. })), "{bad:?}");
        }
        let long = "x".repeat(MAX_PATH_PARAM_LEN + 1);
        assert!(
            Request::new(Method::GET, "/tickets/{ticketId}")
                .path_param("ticketId", long)
                .is_err()
        );
        assert!(
            Request::new(Method::GET, "/tickets/{ticketId}")
                .path_param("other", "1")
                .is_err()
        );
    }

    #[test]
    fn a_missing_path_param_is_an_error_at_build_time() {
        let err = Request::new(Method::GET, "/tickets/{ticketId}")
            .into_http(&base())
            .err();
        match err {
            Some(Error::InvalidRequest { message }) => assert!(message.contains("ticketId")),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn query_is_form_encoded_in_order() {
        let request = Request::new(Method::GET, "/tickets")
            .query("_page", 2)
            .query_opt("_perPage", Some(50))
            .query_opt::<u32>("_from", None)
            .query("_filters", r#"[["subject","L","a&b=c"]]"#)
            .query_each("settingsNames", ["x", "y"]);
        let http = request.into_http(&base()).unwrap();
        assert_eq!(
            http.uri().to_string(),
            "https://acme.ladesk.com/api/v3/tickets?_page=2&_perPage=50&_filters=%5B%5B%22subject%22%2C%22L%22%2C%22a%26b%3Dc%22%5D%5D&settingsNames=x&settingsNames=y"
        );
    }

    #[test]
    fn header_names_may_use_capitals_and_bad_values_are_refused() {
        let request = Request::new(Method::GET, "/calls")
            .header_str("Timezone-Offset", 60)
            .unwrap();
        let http = request.into_http(&base()).unwrap();
        assert_eq!(http.headers()["timezone-offset"], "60");
        let err = Request::new(Method::GET, "/calls").header_str("X-Test", "a\nb");
        assert!(matches!(err, Err(Error::InvalidRequest { .. })));
    }

    #[test]
    fn the_parsed_url_travels_with_the_request_and_matches_its_uri() {
        for base in [
            "https://acme.ladesk.com/api/v3",
            "http://127.0.0.1:8080/api/v3/",
            "http://[::1]:9000",
        ] {
            let base = BaseUrl::parse(base).unwrap();
            let http = Request::new(Method::GET, "/tickets/{ticketId}")
                .path_param("ticketId", "a/b é%")
                .unwrap()
                .query("_filters", r#"[["subject","L","%a+b&c=é"]]"#)
                .query("x", "")
                .into_http(&base)
                .unwrap();
            let meta = http.extensions().get::<RequestMeta>().unwrap();
            let url = meta.url.as_ref().unwrap();
            assert_eq!(http.uri().to_string(), url.as_str());
            assert!(*http.uri() == *url.as_str());
            assert!(url.path().ends_with("/tickets/a%2Fb%20%C3%A9%25"), "{url}");
        }
    }

    #[test]
    fn set_query_replaces_earlier_values() {
        let request = Request::new(Method::GET, "/tickets")
            .query("_page", 1)
            .set_query("_page", 3);
        assert_eq!(
            request.query_pairs().collect::<Vec<_>>(),
            vec![("_page", "3")]
        );
    }

    #[test]
    fn json_and_form_bodies_set_their_content_type() {
        let json = Request::new(Method::POST, "/tickets")
            .json(&serde_json::json!({"subject": "Hi"}))
            .and_then(|r| r.into_http(&base()))
            .unwrap();
        assert_eq!(json.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(json.body().as_bytes(), Some(&br#"{"subject":"Hi"}"#[..]));

        let form = Request::new(Method::POST, "/calls/{callId}/_answer")
            .path_param("callId", "c1")
            .and_then(|r| r.form(&[("status", "a b&c")]))
            .and_then(|r| r.into_http(&base()))
            .unwrap();
        assert_eq!(
            form.headers()[CONTENT_TYPE],
            "application/x-www-form-urlencoded"
        );
        assert_eq!(form.body().as_bytes(), Some(&b"status=a+b%26c"[..]));
    }

    #[test]
    fn multipart_body_holds_the_file_with_name_and_type() {
        let file = FilePart::new(&b"\x89PNG"[..], "logo \"1\".png", "image/png");
        let http = Request::new(Method::POST, "/files")
            .multipart(Multipart::new().file("file", file))
            .into_http(&base())
            .unwrap();
        let content_type = http.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap_or_else(|| panic!("{content_type}"));
        let body = http.body().as_bytes().unwrap_or_default();
        let expected = [
            format!("--{boundary}\r\n").into_bytes(),
            b"Content-Disposition: form-data; name=\"file\"; filename=\"logo \\\"1\\\".png\"\r\n"
                .to_vec(),
            b"Content-Type: image/png\r\n\r\n\x89PNG\r\n".to_vec(),
            format!("--{boundary}--\r\n").into_bytes(),
        ]
        .concat();
        assert_eq!(body, &expected[..]);
    }

    #[test]
    fn multipart_refuses_control_characters_in_names() {
        let file = FilePart::new(&b"x"[..], "a\r\nb", "text/plain");
        let err = Request::new(Method::POST, "/files")
            .multipart(Multipart::new().file("file", file))
            .into_http(&base())
            .err();
        assert!(matches!(err, Some(Error::InvalidRequest { .. })));
    }

    #[test]
    fn idempotency_follows_the_method_unless_overridden() {
        let meta = |i| RequestMeta {
            path_template: "/x",
            idempotency: i,
            url: None,
        };
        assert!(meta(Idempotency::ByMethod).is_idempotent(&Method::GET));
        assert!(meta(Idempotency::ByMethod).is_idempotent(&Method::PUT));
        assert!(!meta(Idempotency::ByMethod).is_idempotent(&Method::POST));
        assert!(meta(Idempotency::Idempotent).is_idempotent(&Method::POST));
        assert!(!meta(Idempotency::Never).is_idempotent(&Method::GET));
    }
}
