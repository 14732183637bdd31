//! Pagination: streams of pages and of items, for every list style of the API.
//!
//! - **Page-numbered** lists (`_page` from 1, `_perPage`).
//! - **Offset** lists: a page-numbered list whose request sets `_from` (a zero-based offset,
//!   which wins over `_page`), and optionally `_to` (the offset where the listing ends,
//!   exclusive). Each next request asks for `_from` = the previous `_from` + the items received,
//!   and `_to` = the smaller of the listing's end and `_from + _perPage`; items a server
//!   serves past the end are not delivered.
//! - **Cursor** lists (`_cursor`, `_perPage`): the next page's cursor comes back in the
//!   `next_page_cursor` response header; no header, or an empty one, means the last page (a
//!   header that is not text is an [`Error::Pagination`], never taken for the end). An empty
//!   page that names a next cursor does not end the listing: the cursor is followed.
//!
//! # The page size
//!
//! When the request does not set `_perPage` (and, for numbered lists, sets no `_page` either:
//! a page number only means something with the size it was counted in), `.stream()` and
//! `.pages()` ask for [`LARGEST_PER_PAGE`] items per page, so that an export takes as few
//! requests as the server allows, which is what bounds it under the rate limit. If the server
//! refuses that size (400 or 422 on the first page), the same page is asked again with half the
//! size, down to the server's default [`DEFAULT_PER_PAGE`] (at most 7 more requests), and the
//! last refusal is the error if even that is refused. A size set by the caller is sent as it
//! is, and its refusal is the error. (`.send()` of a generated builder sends only what the
//! caller set.)
//!
//! # A server that caps the page size
//!
//! LiveAgent does not document a largest `_perPage`; the simulator serves at most 1,000 items
//! per page. A server that serves fewer items than asked may have reached the end of the list,
//! or may have capped the page size. The rule, for numbered and offset lists:
//!
//! - an **empty** page ends the listing;
//! - a page of **as many items as asked** (or more) is full: the next page follows;
//! - a **shorter**, non-empty page ends the listing when the server has already served a full
//!   page of the current size (it is then the last page); otherwise it is taken as a possible
//!   cap: the listing goes on with `_perPage` = the number of items received, starting right
//!   after the items received.
//!
//! For numbered lists this assumes the server computes the offset of page `n` as
//! `(n - 1) * size` with the size it actually serves (the capped one), as the simulator does
//! (it clamps `_perPage` first). Under a cap of `c`, page `n` asked with a larger size then
//! held the items `(n - 1) * c ..`, so the next page is `n + 1` at size `c`.
//!
//! Cost in requests: a listing whose first page is short takes one request more than before,
//! an empty page at the end (it cannot tell a cap from the end without asking). When a
//! numbered listing starts at a page after the first (`_page` > 1) and that first page is
//! short, the page's place depends on whether the server capped the size, so one probe of
//! page 1 at the asked size (not delivered) tells: a full page 1 means no cap (the short page
//! is the last), a shorter one gives the cap. Beyond these, the number of requests is
//! `ceil(records / served page size)` plus one empty page when the count is a multiple of it.
//!
//! # Listings that cannot go on
//!
//! A listing never runs for ever and never delivers a page twice. It ends with an
//! [`Error::Pagination`] (after the items of every good page) when:
//!
//! - a non-empty page has the same body as a page already loaded in this listing (a server
//!   that ignores `_page`, or hands out a new cursor for the same records): the repeated page's
//!   items are not delivered again ([`PaginationErrorKind::RepeatedPage`]);
//! - a cursor leads back to a page already loaded, directly or after a round such as
//!   A → B → C → A; this is caught before the repeated page is loaded
//!   ([`PaginationErrorKind::CursorLoop`]);
//! - a cursor list served [`MAX_EMPTY_PAGES_IN_A_ROW`] empty pages in a row, each naming a new
//!   cursor ([`PaginationErrorKind::NoProgress`]);
//! - the next page's number or offset does not fit (a page number above `u32::MAX`, an
//!   offset above `i64::MAX`) ([`PaginationErrorKind::Overflow`]);
//! - a paging parameter cannot be used: `_perPage` or `_page` that is not a number from 1 (to
//!   `u32::MAX`), a negative `_from`, a `_to` not after `_from` (`_to` = 0 means no end, the
//!   server's default) ([`PaginationErrorKind::InvalidParameter`]): refused before sending.
//!
//! # Memory
//!
//! Only one page is held at a time. Loop detection keeps a fixed-size 128-bit digest (two
//! 64-bit SipHash digests with independent random keys) of each cursor and of each non-empty
//! page's body, never the cursor or page itself: 16 bytes per page however long the cursor,
//! and at most [`MAX_REMEMBERED_PAGES`] of them (the oldest are forgotten first), so a loop
//! longer than that many pages would not be seen as one.
//!
//! Every page is one request through the whole stack (rate limiter and retries included).
//!
//! ```no_run
//! use futures_util::TryStreamExt;
//! use la_core::{Client, Method, Request, pagination::{self, PageStyle}};
//!
//! # async fn run(client: Client) -> Result<(), la_core::Error> {
//! let request = Request::new(Method::GET, "/tickets");
//! let mut items = pagination::items::<serde_json::Value>(client, request, PageStyle::Numbered);
//! while let Some(ticket) = items.try_next().await? {
//!     println!("{}", ticket["id"]);
//! }
//! # Ok(()) }
//! ```

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::pin::Pin;

use base64::Engine as _;
use futures_core::Stream;
use futures_util::{StreamExt, TryStreamExt, stream};
use http::StatusCode;
use serde::de::{DeserializeOwned, IgnoredAny};

use crate::client::Client;
use crate::error::{Error, RequestContext};
use crate::request::Request;
use crate::response;

/// The response header holding the next page's cursor.
pub const NEXT_PAGE_CURSOR_HEADER: &str = "next_page_cursor";

/// The server's default page size when `_perPage` is not sent.
pub const DEFAULT_PER_PAGE: u32 = 10;

/// The page size `.stream()` and `.pages()` ask for when the caller sets none: the largest page
/// the simulator serves, and a guess for LiveAgent's, whose description documents no largest
/// `_perPage`. A server that serves fewer is followed at its size (see the module docs).
pub const LARGEST_PER_PAGE: u32 = 1000;

/// How many pages (digests of cursors and of page bodies) a listing remembers to catch a
/// server that leads back to a page already loaded; the oldest are forgotten first.
pub const MAX_REMEMBERED_PAGES: usize = 100_000;

/// How many empty pages in a row a cursor listing follows (each naming a next cursor) before it
/// ends with [`PaginationErrorKind::NoProgress`].
pub const MAX_EMPTY_PAGES_IN_A_ROW: u32 = 100;

/// The largest offset a request may carry (`_from` is a signed 64-bit integer on the server).
const MAX_OFFSET: u64 = i64::MAX as u64;

/// A boxed stream, as returned by the pagination functions.
pub type BoxStream<'a, T> = Pin<Box<dyn Stream<Item = T> + Send + 'a>>;

/// How a list is paged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PageStyle {
    /// `_page` and `_perPage` (or `_from` and `_to`, when the request sets `_from`).
    Numbered,
    /// `_cursor` and `_perPage`, with the next cursor in a response header.
    Cursor,
}

/// Where a page starts: what to send to resume a listing there.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PageToken {
    /// A page number, for `_page` (counted in the page size of [`Page::per_page`]).
    Number(u32),
    /// A zero-based offset, for `_from`.
    Offset(u64),
    /// A cursor, for `_cursor`.
    Cursor(String),
}

impl fmt::Display for PageToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageToken::Number(n) => write!(f, "page {n}"),
            PageToken::Offset(n) => write!(f, "offset {n}"),
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
    /// stream ends with an error instead (a next page that cannot be followed). Save it, with
    /// [`Page::per_page`], to resume a listing later.
    pub next: Option<PageToken>,
    /// The `_perPage` the listing asks the next page with: the size it started with, or the
    /// smaller size the server turned out to serve. A page number in `next` counts pages of
    /// this size.
    pub per_page: u32,
}

/// Why a listing could not go on, in an [`Error::Pagination`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PaginationErrorKind {
    /// The server served a page with the same body as one already loaded (it ignores `_page`,
    /// or gave a new cursor for the same records); its items were not delivered again.
    RepeatedPage,
    /// The server's next cursor leads back to a page already loaded.
    CursorLoop,
    /// The next page's number or offset does not fit in what the API accepts.
    Overflow,
    /// A paging parameter of the request cannot be used; nothing was sent.
    InvalidParameter,
    /// The `next_page_cursor` header is not text, so the next page cannot be asked for.
    UnreadableCursor,
    /// The server sent [`MAX_EMPTY_PAGES_IN_A_ROW`] empty pages in a row, each naming a new
    /// next cursor: a listing that makes no progress.
    NoProgress,
}

impl fmt::Display for PaginationErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PaginationErrorKind::RepeatedPage => "the server served a page already loaded",
            PaginationErrorKind::CursorLoop => "the server's cursors lead round in a loop",
            PaginationErrorKind::Overflow => "the next page cannot be numbered",
            PaginationErrorKind::InvalidParameter => "invalid paging parameter",
            PaginationErrorKind::UnreadableCursor => "unreadable next-page cursor",
            PaginationErrorKind::NoProgress => "the server's pages bring nothing",
        })
    }
}

/// Builds a cursor that loads the records after the one with id `id`.
///
/// LiveAgent's cursors are base64 of a JSON object holding the last record's id; treat cursors
/// from the server as opaque, but use this to resume after a record you know.
pub fn cursor_after_id(id: &str) -> String {
    let json = serde_json::json!({ "id": id }).to_string();
    base64::engine::general_purpose::STANDARD.encode(json)
}

/// What a digest was taken of, so that a cursor never matches a page body.
#[derive(Clone, Copy)]
enum DigestOf {
    Cursor = 1,
    Body = 2,
}

/// Fixed-size digests of the cursors and page bodies a listing has loaded, the most recent
/// `limit` of them.
#[derive(Debug)]
struct Seen {
    keys: [RandomState; 2],
    digests: HashSet<u128>,
    order: VecDeque<u128>,
    limit: usize,
}

impl Seen {
    fn new(limit: usize) -> Self {
        Self {
            keys: [RandomState::new(), RandomState::new()],
            digests: HashSet::new(),
            order: VecDeque::new(),
            limit,
        }
    }

    /// A 128-bit digest: two 64-bit SipHash digests with independent random keys.
    fn digest(&self, of: DigestOf, bytes: &[u8]) -> u128 {
        let [first, second] = self.keys.each_ref().map(|key| {
            let mut hasher = key.build_hasher();
            hasher.write_u8(of as u8);
            hasher.write(bytes);
            hasher.finish()
        });
        (u128::from(first) << 64) | u128::from(second)
    }

    fn contains(&self, digest: u128) -> bool {
        self.digests.contains(&digest)
    }

    fn insert(&mut self, digest: u128) {
        if self.limit == 0 || !self.digests.insert(digest) {
            return;
        }
        self.order.push_back(digest);
        if self.order.len() > self.limit
            && let Some(oldest) = self.order.pop_front()
        {
            self.digests.remove(&oldest);
        }
    }

    /// The bytes the digests take on the heap (an upper bound of the tables' payload).
    #[cfg(test)]
    fn heap_bytes(&self) -> usize {
        (self.digests.capacity() + self.order.capacity()) * std::mem::size_of::<u128>()
    }
}

/// How the listing moves from page to page.
#[derive(Clone, Copy, Debug)]
enum Mode {
    Numbered,
    /// `_from` offsets; `end` is the `_to` the listing stops at.
    Offset {
        end: Option<u64>,
    },
    Cursor,
}

/// Where the stream stands.
enum Position {
    /// The next page to load starts here (`None`: the first page of a cursor list).
    At(Option<PageToken>),
    /// The last page was loaded.
    Done,
    /// The page just delivered cannot be followed: the stream's next item is this error, then
    /// it ends. The page's own items were good, so they are delivered first rather than lost.
    Refused(Error),
}

struct State {
    client: Client,
    /// The request, without the parameters the stream sets for each page.
    request: Request,
    context: RequestContext,
    mode: Mode,
    /// The `_perPage` the next request asks for.
    size: u32,
    /// The size is the SDK's own choice and the server has not accepted it yet: a refusal
    /// (400, 422) halves it.
    adaptable: bool,
    /// The server has served a full page of the current size: a shorter page is the last.
    served_full: bool,
    position: Position,
    seen: Seen,
    /// Empty pages in a row (cursor lists).
    empty_in_a_row: u32,
}

impl State {
    fn error(&self, kind: PaginationErrorKind, message: String) -> Error {
        Error::Pagination {
            context: self.context.clone(),
            kind,
            message: self.client.key().redact(&message),
        }
    }

    /// The request for the page at `token`, asking for `size` items.
    fn request_for(&self, token: Option<&PageToken>, size: u32) -> Request {
        let mut request = self.request.clone();
        request = match token {
            Some(PageToken::Number(n)) => request.set_query("_page", n),
            Some(PageToken::Offset(from)) => {
                let request = request.set_query("_from", from);
                match self.mode {
                    Mode::Offset { end: Some(end) } => {
                        request.set_query("_to", end.min(from.saturating_add(u64::from(size))))
                    }
                    _ => request,
                }
            }
            Some(PageToken::Cursor(cursor)) => request.set_query("_cursor", cursor),
            None => request,
        };
        let size_text = size.to_string();
        if request.query_value("_perPage") == Some(size_text.as_str()) {
            request
        } else {
            request.set_query("_perPage", size_text)
        }
    }

    /// How many items the page at `token` is asked for.
    fn asked(&self, token: Option<&PageToken>) -> u32 {
        match (self.mode, token) {
            (Mode::Offset { end: Some(end) }, Some(PageToken::Offset(from))) => {
                u32::try_from(end.saturating_sub(*from))
                    .map_or(self.size, |left| left.min(self.size))
            }
            _ => self.size,
        }
    }
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

/// Whether the server refused the size: what a smaller `_perPage` may cure.
fn refuses_size(status: StatusCode) -> bool {
    status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY
}

/// The item count, as a page size (a page longer than `u32::MAX` items counts as full).
fn count_of(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

async fn fetch<T: DeserializeOwned>(mut state: State) -> Result<Option<(Page<T>, State)>, Error> {
    let this = match std::mem::replace(&mut state.position, Position::Done) {
        Position::Done => return Ok(None),
        Position::Refused(error) => return Err(error),
        Position::At(token) => token,
    };
    let (response, asked) = loop {
        let asked = state.asked(this.as_ref());
        let request = state.request_for(this.as_ref(), state.size);
        let response = state.client.send(request).await?;
        if state.adaptable && refuses_size(response.status()) && state.size > DEFAULT_PER_PAGE {
            state.size = (state.size / 2).max(DEFAULT_PER_PAGE);
            continue;
        }
        state.adaptable = false;
        break (response, asked);
    };
    let body_digest = state.seen.digest(DigestOf::Body, response.body());
    let context = state.context.clone();
    let decoded = response::decode_with::<Vec<T>>(|| context, response, Some(state.client.key()))?;
    let mut items = decoded.value;
    if let (Mode::Offset { end: Some(end) }, Some(PageToken::Offset(from))) = (state.mode, &this) {
        // A server that ignores `_to` may serve past the listing's end.
        let left = usize::try_from(end.saturating_sub(*from)).unwrap_or(usize::MAX);
        items.truncate(left);
    }
    if !items.is_empty() {
        if state.seen.contains(body_digest) {
            let at = this
                .as_ref()
                .map_or_else(|| "the first page".to_owned(), PageToken::to_string);
            return Err(state.error(
                PaginationErrorKind::RepeatedPage,
                format!(
                    "{at} has the same records as a page already loaded (the server ignores \
                     the paging parameters?); stopping instead of delivering them again"
                ),
            ));
        }
        state.seen.insert(body_digest);
    }
    let received = count_of(items.len());
    state.position = match (state.mode, &this) {
        (Mode::Numbered, Some(PageToken::Number(n))) => {
            next_numbered(&mut state, *n, received, asked).await
        }
        (Mode::Offset { end }, Some(PageToken::Offset(from))) => {
            next_offset(&mut state, *from, end, received, asked)
        }
        _ => {
            state.empty_in_a_row = if items.is_empty() {
                state.empty_in_a_row.saturating_add(1)
            } else {
                0
            };
            next_cursor_position(&mut state, &decoded.headers)
        }
    };
    let next = match &state.position {
        Position::At(next) => next.clone(),
        Position::Done | Position::Refused(_) => None,
    };
    let per_page = state.size;
    Ok(Some((
        Page {
            items,
            this,
            next,
            per_page,
        },
        state,
    )))
}

/// After page `n` of a numbered listing brought `received` of `asked` items.
async fn next_numbered(state: &mut State, n: u32, received: u32, asked: u32) -> Position {
    let follow = |state: &State| match n.checked_add(1) {
        Some(next) => Position::At(Some(PageToken::Number(next))),
        None => Position::Refused(state.error(
            PaginationErrorKind::Overflow,
            format!(
                "page {n} was full, and the page after it has no number (the largest is {})",
                u32::MAX
            ),
        )),
    };
    if received == 0 {
        return Position::Done;
    }
    if received >= asked {
        state.served_full = true;
        return follow(state);
    }
    if state.served_full {
        return Position::Done;
    }
    if n == 1 {
        // A possible cap: go on at the size served; page 2 of it starts right after.
        state.size = received;
        state.served_full = true;
        return follow(state);
    }
    // Where page n's items lie depends on whether the server capped the size: page 1 at the
    // size asked tells (a full page 1: no cap, this short page was the last).
    let probe = state.request_for(Some(&PageToken::Number(1)), asked);
    let first = match state.client.execute_decoded::<Vec<IgnoredAny>>(probe).await {
        Ok(first) => first,
        // The page's items are good: deliver them, then the error.
        Err(error) => return Position::Refused(error),
    };
    let cap = count_of(first.value.len());
    state.served_full = true;
    if cap >= asked || cap == 0 {
        return Position::Done;
    }
    state.size = cap;
    if received < cap {
        Position::Done
    } else {
        follow(state)
    }
}

/// After the page at offset `from` brought `received` of `asked` items.
fn next_offset(
    state: &mut State,
    from: u64,
    end: Option<u64>,
    received: u32,
    asked: u32,
) -> Position {
    if received == 0 {
        return Position::Done;
    }
    let Some(next) = from
        .checked_add(u64::from(received))
        .filter(|next| *next <= MAX_OFFSET)
    else {
        return Position::Refused(state.error(
            PaginationErrorKind::Overflow,
            format!("the offset after {from} + {received} items exceeds {MAX_OFFSET}"),
        ));
    };
    if end.is_some_and(|end| next >= end) {
        return Position::Done;
    }
    if received >= asked {
        if asked == state.size {
            state.served_full = true;
        }
    } else if state.served_full {
        return Position::Done;
    } else {
        // A possible cap: go on at the size served.
        state.size = received;
        state.served_full = true;
    }
    Position::At(Some(PageToken::Offset(next)))
}

/// After a page of a cursor listing: its header says where the next page starts.
fn next_cursor_position(state: &mut State, headers: &http::HeaderMap) -> Position {
    match next_cursor(headers) {
        Err(message) => {
            Position::Refused(state.error(PaginationErrorKind::UnreadableCursor, message))
        }
        Ok(None) => Position::Done,
        Ok(Some(_)) if state.empty_in_a_row >= MAX_EMPTY_PAGES_IN_A_ROW => {
            Position::Refused(state.error(
                PaginationErrorKind::NoProgress,
                format!(
                    "{MAX_EMPTY_PAGES_IN_A_ROW} empty pages in a row, each with a new next \
                     cursor; stopping to avoid an endless listing"
                ),
            ))
        }
        Ok(Some(cursor)) => {
            let digest = state.seen.digest(DigestOf::Cursor, cursor.as_bytes());
            if state.seen.contains(digest) {
                // The cursor is the server's text: redacted whole, then cut.
                let shown = crate::response::excerpt(
                    &cursor,
                    Some(state.client.key()),
                    crate::response::HEADER_CHARS,
                );
                Position::Refused(state.error(
                    PaginationErrorKind::CursorLoop,
                    format!(
                        "the server returned a cursor whose page was already loaded ({shown}); \
                         stopping to avoid an endless loop"
                    ),
                ))
            } else {
                state.seen.insert(digest);
                Position::At(Some(PageToken::Cursor(cursor)))
            }
        }
    }
}

/// A paging parameter as a number in `min..=max`.
fn parameter(request: &Request, name: &str, min: i64, max: i64) -> Result<Option<i64>, String> {
    let Some(text) = request.query_value(name) else {
        return Ok(None);
    };
    match text.trim().parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(format!(
            "{name} must be a whole number from {min} to {max} to page through a list, not {text:?}"
        )),
    }
}

/// How a listing starts.
struct Start {
    mode: Mode,
    size: u32,
    adaptable: bool,
    token: Option<PageToken>,
    /// The request without the parameters the stream sets for each page.
    request: Request,
}

/// The mode, page size and first page of a listing, from the request's own parameters.
fn start_of(request: Request, style: PageStyle) -> Result<Start, String> {
    let max_u32 = i64::from(u32::MAX);
    let max_offset = i64::MAX;
    let per_page = parameter(&request, "_perPage", 1, max_u32)?.and_then(|n| u32::try_from(n).ok());
    let sized = |default: u32| (per_page.unwrap_or(default), per_page.is_none());
    match style {
        PageStyle::Cursor => {
            let token = request
                .query_value("_cursor")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(|c| PageToken::Cursor(c.to_owned()));
            let (size, adaptable) = sized(LARGEST_PER_PAGE);
            Ok(Start {
                mode: Mode::Cursor,
                size,
                adaptable,
                token,
                request: request.remove_query("_cursor"),
            })
        }
        PageStyle::Numbered => {
            if let Some(from) = parameter(&request, "_from", 0, max_offset)? {
                let from = u64::try_from(from).unwrap_or(0);
                let end = match parameter(&request, "_to", 0, max_offset)? {
                    None | Some(0) => None,
                    Some(to) => match u64::try_from(to) {
                        Ok(to) if to > from => Some(to),
                        _ => {
                            return Err(format!(
                                "_to ({to}) must be after _from ({from}), or 0 for no end"
                            ));
                        }
                    },
                };
                let (size, adaptable) = sized(LARGEST_PER_PAGE);
                return Ok(Start {
                    mode: Mode::Offset { end },
                    size,
                    adaptable,
                    token: Some(PageToken::Offset(from)),
                    request: request
                        .remove_query("_page")
                        .remove_query("_from")
                        .remove_query("_to"),
                });
            }
            let page = parameter(&request, "_page", 1, max_u32)?
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(1);
            // A page number counts pages of the size it was given with: without one, the
            // server's default.
            let (size, adaptable) = if page == 1 {
                sized(LARGEST_PER_PAGE)
            } else {
                (per_page.unwrap_or(DEFAULT_PER_PAGE), false)
            };
            Ok(Start {
                mode: Mode::Numbered,
                size,
                adaptable,
                token: Some(PageToken::Number(page)),
                request: request.remove_query("_page"),
            })
        }
    }
}

/// A stream of the pages of a list, starting where `request` says (its `_page`, `_from` or
/// `_cursor`, or the first page).
pub fn pages<T>(
    client: Client,
    request: Request,
    style: PageStyle,
) -> BoxStream<'static, Result<Page<T>, Error>>
where
    T: DeserializeOwned + Send + 'static,
{
    let context = request.context(client.base_url());
    let start = match start_of(request, style) {
        Ok(start) => start,
        Err(message) => {
            return failed(Error::Pagination {
                context,
                kind: PaginationErrorKind::InvalidParameter,
                message: client.key().redact(&message),
            });
        }
    };
    Box::pin(stream::try_unfold(
        new_state(client, context, start),
        fetch::<T>,
    ))
}

fn new_state(client: Client, context: RequestContext, start: Start) -> State {
    let mut seen = Seen::new(MAX_REMEMBERED_PAGES);
    if let Some(PageToken::Cursor(cursor)) = &start.token {
        let digest = seen.digest(DigestOf::Cursor, cursor.as_bytes());
        seen.insert(digest);
    }
    State {
        client,
        request: start.request,
        context,
        mode: start.mode,
        size: start.size,
        adaptable: start.adaptable,
        served_full: false,
        position: Position::At(start.token),
        seen,
        empty_in_a_row: 0,
    }
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

    fn start(request: Request, style: PageStyle) -> Result<Start, String> {
        start_of(request, style)
    }

    #[test]
    fn the_page_size_is_the_callers_or_the_largest() {
        let list = || Request::new(http::Method::GET, "/tickets");
        let s = start(list(), PageStyle::Numbered).unwrap();
        assert_eq!((s.size, s.adaptable), (LARGEST_PER_PAGE, true));
        let s = start(list().query("_perPage", 7), PageStyle::Numbered).unwrap();
        assert_eq!((s.size, s.adaptable), (7, false));
        // A page number without a size counts pages of the server's default size.
        let s = start(list().query("_page", 3), PageStyle::Numbered).unwrap();
        assert_eq!((s.size, s.adaptable), (DEFAULT_PER_PAGE, false));
        assert_eq!(s.token, Some(PageToken::Number(3)));
        let s = start(list().query("_from", 5), PageStyle::Numbered).unwrap();
        assert_eq!((s.size, s.adaptable), (LARGEST_PER_PAGE, true));
        assert_eq!(s.token, Some(PageToken::Offset(5)));
        let s = start(list(), PageStyle::Cursor).unwrap();
        assert_eq!(
            (s.size, s.adaptable, s.token),
            (LARGEST_PER_PAGE, true, None)
        );
    }

    #[test]
    fn paging_parameters_out_of_range_are_refused() {
        let list = || Request::new(http::Method::GET, "/tickets");
        for bad in [
            list().query("_perPage", 0),
            list().query("_perPage", -1),
            list().query("_perPage", i64::MAX),
            list().query("_perPage", "many"),
            list().query("_page", 0),
            list().query("_page", -5),
            list().query("_page", i64::MAX),
            list().query("_page", u64::MAX),
            list().query("_from", -1),
            list().query("_from", 10).query("_to", 10),
            list().query("_from", 10).query("_to", 3),
            list().query("_from", 0).query("_to", -3),
        ] {
            assert!(start(bad.clone(), PageStyle::Numbered).is_err(), "{bad:?}");
        }
        assert!(start(list().query("_page", u32::MAX), PageStyle::Numbered).is_ok());
        assert!(start(list().query("_from", i64::MAX), PageStyle::Numbered).is_ok());
        let s = start(
            list().query("_from", 4).query("_to", 0),
            PageStyle::Numbered,
        )
        .unwrap();
        assert!(matches!(s.mode, Mode::Offset { end: None }));
    }

    #[test]
    fn digests_are_fixed_size_and_forget_the_oldest() {
        let mut seen = Seen::new(3);
        let long = "x".repeat(60 * 1024);
        let a = seen.digest(DigestOf::Cursor, long.as_bytes());
        assert_eq!(a, seen.digest(DigestOf::Cursor, long.as_bytes()));
        assert_ne!(a, seen.digest(DigestOf::Body, long.as_bytes()));
        assert_ne!(a, seen.digest(DigestOf::Cursor, b"x"));
        seen.insert(a);
        for n in 0..3u8 {
            let d = seen.digest(DigestOf::Cursor, &[n]);
            seen.insert(d);
        }
        assert!(
            !seen.contains(a),
            "the oldest digest is forgotten past the limit"
        );
        assert_eq!(seen.digests.len(), 3);
        assert_eq!(seen.order.len(), 3);
    }

    /// A transport that answers every cursor page with 2 new items and a fresh 60 KiB cursor.
    fn fresh_cursor_client() -> Client {
        let served = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let transport = tower::service_fn(move |_request: http::Request<crate::Body>| {
            let n = served.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                let cursor = format!("{n:020}{}", "c".repeat(60 * 1024));
                let body = format!(r#"[{{"id":{}}},{{"id":{}}}]"#, 2 * n, 2 * n + 1);
                http::Response::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .header(NEXT_PAGE_CURSOR_HEADER, cursor)
                    .body(http_body_util::Full::new(bytes::Bytes::from(body)))
                    .map_err(|e| Box::new(e) as crate::BoxError)
            }
        });
        Client::builder()
            .base_url("https://acme.ladesk.com/api/v3")
            .api_key("test-api-key-0123456789")
            .no_rate_limit()
            .transport(transport)
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn empty_pages_with_fresh_cursors_end_after_a_bounded_number() {
        let served = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = served.clone();
        let transport = tower::service_fn(move |_request: http::Request<crate::Body>| {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                http::Response::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .header(NEXT_PAGE_CURSOR_HEADER, format!("cursor-{n}"))
                    .body(http_body_util::Full::new(bytes::Bytes::from_static(b"[]")))
                    .map_err(|e| Box::new(e) as crate::BoxError)
            }
        });
        let client = Client::builder()
            .base_url("https://acme.ladesk.com/api/v3")
            .api_key("test-api-key-0123456789")
            .no_rate_limit()
            .transport(transport)
            .build()
            .unwrap();
        let request = Request::new(http::Method::GET, "/tickets/history");
        let results: Vec<Result<Page<serde_json::Value>, Error>> =
            pages(client, request, PageStyle::Cursor).collect().await;
        let pages_served = usize::try_from(MAX_EMPTY_PAGES_IN_A_ROW).unwrap();
        assert_eq!(results.len(), pages_served + 1);
        assert!(matches!(
            results.last(),
            Some(Err(Error::Pagination {
                kind: PaginationErrorKind::NoProgress,
                ..
            }))
        ));
        assert_eq!(
            served.load(std::sync::atomic::Ordering::SeqCst),
            u64::from(MAX_EMPTY_PAGES_IN_A_ROW)
        );
    }

    #[tokio::test]
    async fn fresh_long_cursors_keep_the_listings_memory_bounded() {
        let client = fresh_cursor_client();
        let request = Request::new(http::Method::GET, "/tickets/history");
        let context = request.context(client.base_url());
        let start = start_of(request, PageStyle::Cursor).unwrap();
        let mut state = new_state(client, context, start);
        let pages = 400;
        let mut largest = 0;
        for page in 0..pages {
            let (page_read, next) = fetch::<serde_json::Value>(state).await.unwrap().unwrap();
            assert_eq!(page_read.items.len(), 2, "page {page}");
            state = next;
            largest = largest.max(state.seen.heap_bytes());
        }
        // Two digests per page (the cursor's and the body's), 16 bytes each, in two tables:
        // whatever the cursors' length (60 KiB each, 24 MiB in all), the state holds a few
        // dozen bytes per page, far below one cursor.
        assert_eq!(state.seen.digests.len(), 2 * pages);
        assert!(largest <= 4 * 2 * pages * 16 * 2, "{largest} bytes");
        assert!(largest < 60 * 1024, "{largest} bytes");
    }
}
