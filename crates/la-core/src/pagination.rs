//! Pagination: streams of pages and of items, for both list styles of the API.
//!
//! - **Page-numbered** lists (`_page` from 1, `_perPage`): the stream asks for page after page
//!   until a page comes back shorter than `_perPage` (or empty).
//! - **Cursor** lists (`_cursor`, `_perPage`): the next page's cursor comes back in the
//!   `next_page_cursor` response header; no header, or an empty one, means the last page (a
//!   header that is not text is an [`Error::Decode`], never taken for the end). A cursor whose
//!   page was already loaded (the same one again, or a longer round such as A → B → A) ends
//!   the stream with an [`Error::Decode`] instead of looping for ever.
//!
//! Every page is one request through the whole stack (rate limiter and retries included), and
//! only one page is held at a time (besides the cursors already loaded, a few dozen bytes per
//! page), so memory stays flat however long the list is.
//!
//! ```no_run
//! use futures_util::TryStreamExt;
//! use la_core::{Client, Method, Request, pagination::{self, PageStyle}};
//!
//! # async fn run(client: Client) -> Result<(), la_core::Error> {
//! let request = Request::new(Method::GET, "/tickets").query("_perPage", 100);
//! let mut items = pagination::items::<serde_json::Value>(client, request, PageStyle::Numbered);
//! while let Some(ticket) = items.try_next().await? {
//!     println!("{}", ticket["id"]);
//! }
//! # Ok(()) }
//! ```

use std::collections::HashSet;
use std::fmt;
use std::pin::Pin;

use base64::Engine as _;
use futures_core::Stream;
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::de::DeserializeOwned;

use crate::client::Client;
use crate::error::Error;
use crate::request::Request;

/// The response header holding the next page's cursor.
pub const NEXT_PAGE_CURSOR_HEADER: &str = "next_page_cursor";

/// The server's default page size when `_perPage` is not sent.
pub const DEFAULT_PER_PAGE: u32 = 10;

/// A boxed stream, as returned by the pagination functions.
pub type BoxStream<'a, T> = Pin<Box<dyn Stream<Item = T> + Send + 'a>>;

/// How a list is paged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PageStyle {
    /// `_page` and `_perPage`.
    Numbered,
    /// `_cursor` and `_perPage`, with the next cursor in a response header.
    Cursor,
}

/// Where a page starts: what to send to resume a listing there.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PageToken {
    /// A page number, for `_page`.
    Number(u32),
    /// A cursor, for `_cursor`.
    Cursor(String),
}

impl fmt::Display for PageToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageToken::Number(n) => write!(f, "page {n}"),
            PageToken::Cursor(c) => write!(f, "cursor {c}"),
        }
    }
}

/// One page of a list.
#[derive(Clone, Debug)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Where this page started (`None` for the first page of a cursor list).
    pub this: Option<PageToken>,
    /// Where the next page starts; `None` on the last page, and on a page after which the
    /// stream ends with an error instead (a next-page header that cannot be followed). Save it
    /// to resume a listing later.
    pub next: Option<PageToken>,
}

/// Builds a cursor that loads the records after the one with id `id`.
///
/// LiveAgent's cursors are base64 of a JSON object holding the last record's id; treat cursors
/// from the server as opaque, but use this to resume after a record you know.
pub fn cursor_after_id(id: &str) -> String {
    let json = serde_json::json!({ "id": id }).to_string();
    base64::engine::general_purpose::STANDARD.encode(json)
}

fn per_page_of(request: &Request) -> Result<u32, Error> {
    match request.query_value("_perPage") {
        None => Ok(DEFAULT_PER_PAGE),
        Some(text) => text.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
            Error::invalid_request(format!(
                "_perPage must be a positive number to page through a list, not {text:?}"
            ))
        }),
    }
}

/// Where the stream stands.
enum Position {
    /// The next page to load starts here (`None`: the first page of a cursor list).
    At(Option<PageToken>),
    /// The last page was loaded.
    Done,
    /// The page just delivered cannot be followed (its next-page header is not text, or leads
    /// back to a page already loaded): the stream's next item is this error, then it ends.
    /// The page's own items were good, so they are delivered first rather than lost.
    Refused(Error),
}

struct State {
    client: Client,
    request: Request,
    per_page: u32,
    position: Position,
    /// The cursors loaded so far: a server that hands one back again (directly or after a
    /// longer round, A → B → A) would otherwise keep the stream going for ever.
    loaded_cursors: HashSet<String>,
}

/// The next page's cursor: `None` when the header is missing or blank. A header that is not
/// text is an error, not the last page: taking it for the end would cut the list short
/// without a word.
fn next_cursor(headers: &http::HeaderMap) -> Result<Option<String>, String> {
    let Some(value) = headers.get(NEXT_PAGE_CURSOR_HEADER) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| {
        format!(
            "the {NEXT_PAGE_CURSOR_HEADER} header is not text ({} bytes), so the next page \
             cannot be requested",
            value.len()
        )
    })?;
    let text = text.trim();
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

async fn fetch<T: DeserializeOwned>(mut state: State) -> Result<Option<(Page<T>, State)>, Error> {
    let this = match std::mem::replace(&mut state.position, Position::Done) {
        Position::Done => return Ok(None),
        Position::Refused(error) => return Err(error),
        Position::At(token) => token,
    };
    let request = match &this {
        Some(PageToken::Number(n)) => state.request.clone().set_query("_page", n),
        Some(PageToken::Cursor(c)) => {
            state.loaded_cursors.insert(c.clone());
            state.request.clone().set_query("_cursor", c)
        }
        None => state.request.clone().remove_query("_cursor"),
    };
    let decoded = state.client.execute_decoded::<Vec<T>>(request).await?;
    let items = decoded.value;
    state.position = if items.is_empty() {
        Position::Done
    } else {
        // A numbered listing always holds a page number; a cursor listing never does.
        match &this {
            Some(PageToken::Number(n)) => {
                if items.len() as u64 >= u64::from(state.per_page) {
                    Position::At(Some(PageToken::Number(n + 1)))
                } else {
                    Position::Done
                }
            }
            _ => {
                let cursor_error = |message| Error::Decode {
                    context: state.request.context(state.client.base_url()),
                    status: decoded.status,
                    content_type: None,
                    json_path: ".".to_owned(),
                    message,
                };
                match next_cursor(&decoded.headers) {
                    Err(message) => Position::Refused(cursor_error(message)),
                    Ok(Some(cursor)) if state.loaded_cursors.contains(&cursor) => {
                        // The cursor is the server's text: redacted, then cut.
                        let shown = crate::response::excerpt(
                            &cursor,
                            Some(state.client.key()),
                            crate::response::HEADER_CHARS,
                        );
                        Position::Refused(cursor_error(format!(
                            "the server returned a cursor whose page was already loaded \
                             ({shown}); stopping to avoid an endless loop"
                        )))
                    }
                    Ok(Some(cursor)) => Position::At(Some(PageToken::Cursor(cursor))),
                    Ok(None) => Position::Done,
                }
            }
        }
    };
    let next = match &state.position {
        Position::At(next) => next.clone(),
        Position::Done | Position::Refused(_) => None,
    };
    Ok(Some((Page { items, this, next }, state)))
}

/// The page size and the first page of a listing, from the request's own parameters.
fn start_of(request: &Request, style: PageStyle) -> Result<(u32, Option<PageToken>), Error> {
    let per_page = per_page_of(request)?;
    let start = match style {
        PageStyle::Numbered => match request.query_value("_page").map(str::parse::<u32>) {
            None => Some(PageToken::Number(1)),
            Some(Ok(n)) if n >= 1 => Some(PageToken::Number(n)),
            Some(_) => return Err(Error::invalid_request("_page must be a number from 1")),
        },
        PageStyle::Cursor => request
            .query_value("_cursor")
            .filter(|c| !c.is_empty())
            .map(|c| PageToken::Cursor(c.to_owned())),
    };
    Ok((per_page, start))
}

/// A stream of the pages of a list, starting where `request` says (its `_page` or `_cursor`,
/// or the first page).
pub fn pages<T>(
    client: Client,
    request: Request,
    style: PageStyle,
) -> BoxStream<'static, Result<Page<T>, Error>>
where
    T: DeserializeOwned + Send + 'static,
{
    let (per_page, start) = match start_of(&request, style) {
        Ok(start) => start,
        Err(error) => return failed(error),
    };
    let state = State {
        client,
        request,
        per_page,
        position: Position::At(start),
        loaded_cursors: HashSet::new(),
    };
    Box::pin(stream::try_unfold(state, fetch::<T>))
}

/// A stream that yields one error: for a listing whose request could not be built.
pub fn failed<T: Send + 'static>(error: Error) -> BoxStream<'static, Result<T, Error>> {
    Box::pin(stream::once(async move { Err(error) }))
}

/// A stream of the items of a list, page after page.
pub fn items<T>(
    client: Client,
    request: Request,
    style: PageStyle,
) -> BoxStream<'static, Result<T, Error>>
where
    T: DeserializeOwned + Send + 'static,
{
    pages::<T>(client, request, style)
        .map_ok(|page| stream::iter(page.items.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_after_id_matches_the_documented_form() {
        assert_eq!(cursor_after_id("5"), "eyJpZCI6IjUifQ==");
    }

    #[test]
    fn a_cursor_header_that_is_not_text_is_an_error() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(next_cursor(&headers), Ok(None));
        headers.insert(
            NEXT_PAGE_CURSOR_HEADER,
            http::HeaderValue::from_static(" \t"),
        );
        assert_eq!(next_cursor(&headers), Ok(None));
        headers.insert(
            NEXT_PAGE_CURSOR_HEADER,
            http::HeaderValue::from_static(" abc= "),
        );
        assert_eq!(next_cursor(&headers), Ok(Some("abc=".to_owned())));
        let bytes = http::HeaderValue::from_bytes(b"ab\xff").unwrap();
        headers.insert(NEXT_PAGE_CURSOR_HEADER, bytes);
        assert!(next_cursor(&headers).is_err());
    }

    #[test]
    fn per_page_must_be_positive() {
        let request = Request::new(http::Method::GET, "/tickets").query("_perPage", 0);
        assert!(per_page_of(&request).is_err());
        let request = Request::new(http::Method::GET, "/tickets");
        assert_eq!(per_page_of(&request).unwrap(), DEFAULT_PER_PAGE);
    }
}
