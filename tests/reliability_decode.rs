//! Pagination against hostile `next_page_cursor` headers and page bodies, through a test
//! double transport: every listing ends, with every page or with a typed error.
//!
//! (The generated models' decoders are fuzzed by each domain crate's generated
//! `tests/decode_fuzz.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use futures_util::TryStreamExt;
use liveagent::prelude::*;
use liveagent::{Body, PageToken, PaginationErrorKind};
use liveagent_tests::reliability::{record, row};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const BINARY: &str = "reliability_decode";
const CASES: u32 = 256;

/// What the double does: the first page carries `header` as `next_page_cursor` (and `body` as
/// its body); a request with a cursor gets a last page.
#[derive(Clone)]
struct Double {
    header: Arc<Vec<u8>>,
    body: Arc<Vec<u8>>,
    cursors: Arc<Mutex<Vec<String>>>,
    requests: Arc<Mutex<usize>>,
}

impl Double {
    fn new(header: Vec<u8>, body: Vec<u8>) -> Self {
        Self {
            header: Arc::new(header),
            body: Arc::new(body),
            cursors: Arc::default(),
            requests: Arc::default(),
        }
    }

    fn client(&self) -> Client {
        let double = self.clone();
        Client::from_service(tower::service_fn(move |request: http::Request<Body>| {
            let double = double.clone();
            async move {
                *double.requests.lock().unwrap() += 1;
                let cursor = request.uri().query().and_then(|query| {
                    url::form_urlencoded::parse(query.as_bytes())
                        .find(|(name, _)| name == "_cursor")
                        .map(|(_, value)| value.into_owned())
                });
                let mut response = http::Response::builder()
                    .status(200)
                    .header("content-type", "application/json");
                let body = match cursor {
                    None => {
                        response = response.header(
                            "next_page_cursor",
                            http::HeaderValue::from_bytes(&double.header).unwrap(),
                        );
                        (*double.body).clone()
                    }
                    Some(cursor) => {
                        double.cursors.lock().unwrap().push(cursor);
                        br#"[{"id":"2"}]"#.to_vec()
                    }
                };
                Ok::<_, Infallible>(response.body(Body::from(body)).unwrap())
            }
        }))
        .base_url("https://acme.ladesk.com/api/v3")
        .api_key("test-key")
        .no_rate_limit()
        .no_retry()
        .build()
        .unwrap()
    }
}

/// Bytes an HTTP header value may hold: tab, visible ASCII, space, and `obs-text` (0x80-0xFF).
fn header_value() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        // Cursors as LiveAgent sends them: base64 of a small JSON object.
        "[A-Za-z0-9+/]{4,40}={0,2}".prop_map(String::into_bytes),
        // Any visible ASCII, spaces and tabs (with `&`, `=`, `#`, `%`, `+`, quotes, ...).
        "[\t -~]{0,64}".prop_map(String::into_bytes),
        // Blank values.
        "[ \t]{0,8}".prop_map(String::into_bytes),
        // Bytes that are not ASCII.
        prop::collection::vec(
            prop_oneof![Just(b'\t'), 0x20u8..=0x7e, 0x80u8..=0xff],
            0..64
        ),
    ]
    .boxed()
}

#[derive(Default)]
struct Tally {
    followed: u64,
    last_page: u64,
    refused: u64,
    body_errors: u64,
}

#[test]
fn next_page_cursor_headers_are_followed_exactly_or_refused() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tally = Arc::new(Mutex::new(Tally::default()));
    let runner = || {
        TestRunner::new(Config {
            cases: CASES,
            failure_persistence: None,
            ..Config::default()
        })
    };
    let t = tally.clone();
    runner()
        .run(&header_value(), |header| {
            let double = Double::new(header.clone(), br#"[{"id":"1"}]"#.to_vec());
            let client = double.client();
            let pages = runtime.block_on(async {
                client
                    .calls()
                    .get_calls_list()
                    .per_page(1)
                    .pages()
                    .try_collect::<Vec<_>>()
                    .await
            });
            let requests = *double.requests.lock().unwrap();
            let cursors = double.cursors.lock().unwrap().clone();
            let visible = header
                .iter()
                .all(|b| *b == b'\t' || (0x20..0x7f).contains(b));
            let text = String::from_utf8_lossy(&header).into_owned();
            let trimmed = text.trim();
            let mut tally = t.lock().unwrap();
            match pages {
                Ok(pages) => {
                    prop_assert!(
                        visible,
                        "a header that is not text was taken as the last page"
                    );
                    let ids: Vec<Option<String>> = pages
                        .iter()
                        .flat_map(|p| p.items.iter().map(|c| c.id.clone()))
                        .collect();
                    if trimmed.is_empty() {
                        prop_assert_eq!(ids, vec![Some("1".to_owned())]);
                        prop_assert_eq!(requests, 1);
                        tally.last_page += 1;
                    } else {
                        prop_assert_eq!(ids, vec![Some("1".to_owned()), Some("2".to_owned())]);
                        prop_assert_eq!(&cursors, &vec![trimmed.to_owned()]);
                        prop_assert_eq!(
                            &pages[0].next,
                            &Some(PageToken::Cursor(trimmed.to_owned()))
                        );
                        tally.followed += 1;
                    }
                }
                Err(error) => {
                    prop_assert!(!visible, "a text cursor was refused: {}", error);
                    prop_assert!(
                        matches!(
                            error,
                            Error::Pagination {
                                kind: PaginationErrorKind::UnreadableCursor,
                                ..
                            }
                        ),
                        "not an unreadable-cursor error: {:?}",
                        error
                    );
                    prop_assert!(error.to_string().contains("next_page_cursor"), "{}", error);
                    prop_assert_eq!(requests, 1);
                    tally.refused += 1;
                }
            }
            Ok(())
        })
        .unwrap();

    // Page bodies: arbitrary bytes never panic and never pass for a page.
    let t = tally.clone();
    runner()
        .run(&prop::collection::vec(any::<u8>(), 0..256), |body| {
            let double = Double::new(b"eyJpZCI6IjEifQ==".to_vec(), body);
            let client = double.client();
            let result = runtime.block_on(async {
                client
                    .calls()
                    .get_calls_list()
                    .per_page(1)
                    .stream()
                    .try_collect::<Vec<_>>()
                    .await
            });
            if let Err(error) = result {
                prop_assert!(matches!(error, Error::Decode { .. }), "{:?}", error);
                t.lock().unwrap().body_errors += 1;
            }
            Ok(())
        })
        .unwrap();

    // A server that hands back the cursor it was given would loop forever.
    let looping = Client::from_service(tower::service_fn(|_request: http::Request<Body>| async {
        Ok::<_, Infallible>(
            http::Response::builder()
                .status(200)
                .header("next_page_cursor", "same")
                .body(Body::from(r#"[{"id":"1"}]"#))
                .unwrap(),
        )
    }))
    .base_url("https://acme.ladesk.com/api/v3")
    .api_key("test-key")
    .no_rate_limit()
    .build()
    .unwrap();
    let loop_result = runtime.block_on(async {
        looping
            .calls()
            .get_calls_list()
            .per_page(1)
            .stream()
            .try_collect::<Vec<_>>()
            .await
    });

    let tally = tally.lock().unwrap();
    record(
        BINARY,
        "next_page_cursor_headers_are_followed_exactly_or_refused",
        &[
            row(
                "Decoders",
                20,
                "`next_page_cursor` headers",
                "proptest: base64 cursors, any visible ASCII with spaces and tabs, blank \
                 values, bytes beyond ASCII; `getCallsList` pages through a test double \
                 transport (`Client::from_service`) that checks the `_cursor` it gets back",
                u64::from(CASES),
                format!(
                    "0 panics, 0 endless listings; {} cursors sent back exactly (trimmed, \
                     through the query string), {} blank ones ended the listing, {} that are \
                     not text ended it with `Error::Pagination` (unreadable cursor) naming the header",
                    tally.followed, tally.last_page, tally.refused
                ),
            ),
            row(
                "Decoders",
                21,
                "page bodies",
                "proptest: arbitrary bytes as the body of a page",
                u64::from(CASES),
                format!(
                    "0 panics; {} ended in `Error::Decode`, {} decoded as a page",
                    tally.body_errors,
                    u64::from(CASES) - tally.body_errors
                ),
            ),
            row(
                "Decoders",
                22,
                "a server that returns the cursor it was given",
                "`next_page_cursor: same` on every page",
                1,
                match &loop_result {
                    Err(Error::Pagination { kind, .. }) => format!(
                        "stopped after the first page with `Error::Pagination` ({kind}); the \
                         repeated page was not delivered"
                    ),
                    other => format!("{other:?}"),
                },
            ),
        ],
    );
    assert!(matches!(loop_result, Err(Error::Pagination { .. })));
}
