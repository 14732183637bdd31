//! Bad input from the caller: path parameters, filter values, query values, base URLs, account
//! names and keys are percent-encoded or refused before anything is sent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use la_mock::{Resource, Simulator};
use liveagent::StatusCode;
use liveagent::prelude::*;
use liveagent::tickets::models::{Ticket, TicketUpdatable};
use liveagent_tests::reliability::{Recorder, record, row};
use liveagent_tests::{builder_for, simulator};

const BINARY: &str = "reliability_input";

/// The path the simulator counted for `GET /tickets/...` requests, if exactly one.
fn counted_ticket_paths(sim: &Simulator) -> Vec<String> {
    sim.counters()
        .routes()
        .keys()
        .filter_map(|route| route.strip_prefix("GET "))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn path_parameters_are_encoded_or_refused_before_sending() {
    let sim = simulator(5).await;
    let recorder = Recorder::new();
    let client = builder_for(&sim)
        .no_retry()
        .layer_inner(recorder.clone())
        .build()
        .unwrap();
    let long_ok = "x".repeat(1024);
    let accepted: Vec<(&str, String, String)> = vec![
        ("`/`", "a/b".into(), "a%2Fb".into()),
        ("`?`", "a?b".into(), "a%3Fb".into()),
        ("`#`", "a#b".into(), "a%23b".into()),
        ("`../` prefix", "../admin".into(), "..%2Fadmin".into()),
        ("encoded dots", "%2e%2e".into(), "%252e%252e".into()),
        ("three dots", "...".into(), "...".into()),
        ("space and `;`", "1; DROP".into(), "1%3B%20DROP".into()),
        ("CR LF", "a\r\nb".into(), "a%0D%0Ab".into()),
        ("NUL", "\u{0}".into(), "%00".into()),
        ("unicode", "tĭcket-ü".into(), "t%C4%ADcket-%C3%BC".into()),
        ("emoji", "😀".into(), "%F0%9F%98%80".into()),
        ("1024 bytes (the limit)", long_ok.clone(), long_ok),
    ];
    let mut exact = 0;
    let mut problems = Vec::new();
    for (name, id, encoded) in &accepted {
        sim.reset_counters();
        let before = recorder.count();
        let error = client
            .tickets()
            .get_ticket(id.as_str())
            .send()
            .await
            .unwrap_err();
        let expected = format!("/tickets/{encoded}");
        let sent = recorder.attempts()[before as usize..]
            .iter()
            .map(|a| a.uri.clone())
            .collect::<Vec<_>>();
        let counted = counted_ticket_paths(&sim);
        if error.is_not_found()
            && counted == vec![expected.clone()]
            && sent == vec![format!("{}{expected}", sim.base_url())]
        {
            exact += 1;
        } else {
            problems.push(format!(
                "{name}: {error}; the server counted {counted:?}, the client sent {sent:?}"
            ));
        }
    }

    let too_long = "x".repeat(1025);
    let refused: Vec<(&str, &str)> = vec![
        ("empty", ""),
        ("`.`", "."),
        ("`..`", ".."),
        ("1025 bytes", too_long.as_str()),
    ];
    sim.reset_counters();
    let before = recorder.count();
    let mut refused_ok = 0;
    for (name, id) in &refused {
        let get = client.tickets().get_ticket(*id).send().await;
        let put = client
            .tickets()
            .update_ticket(*id)
            .body(TicketUpdatable::default())
            .send()
            .await;
        let delete = client.tickets().delete_ticket(*id).send().await;
        let all_invalid = [get.err(), put.err(), delete.err()]
            .iter()
            .all(|e| matches!(e, Some(Error::InvalidRequest { .. })));
        if all_invalid {
            refused_ok += 1;
        } else {
            problems.push(format!("{name}: not refused as an invalid request"));
        }
    }
    let received = sim.counters().total().received;
    let sent_after_refusals = recorder.count() - before;
    record(
        BINARY,
        "path_parameters_are_encoded_or_refused_before_sending",
        &[
            row(
                "Bad input",
                1,
                "ticket ids that need encoding",
                format!(
                    "`getTicket` with {}",
                    accepted
                        .iter()
                        .map(|(name, _, _)| *name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                accepted.len() as u64,
                format!(
                    "{exact} of {} sent as one percent-encoded segment, exactly the expected \
                     path at the simulator and in the URI (e.g. `a/b` -> `/tickets/a%2Fb`); \
                     each answered 404 Not Found",
                    accepted.len()
                ),
            ),
            row(
                "Bad input",
                2,
                "ticket ids that cannot name a ticket",
                "`getTicket`, `updateTicket` and `deleteTicket` with an empty id, `.`, `..` and \
                 1025 bytes",
                (refused.len() * 3) as u64,
                format!(
                    "{refused_ok} of {} ids refused with `Error::InvalidRequest` by all three \
                     operations; requests received by the simulator: {received}; attempts sent: \
                     {sent_after_refusals}",
                    refused.len()
                ),
            ),
        ],
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(received, 0);
    assert_eq!(sent_after_refusals, 0);
}

#[tokio::test]
async fn filter_and_query_values_round_trip_through_the_server() {
    let sim = simulator(0).await;
    let recorder = Recorder::new();
    let client = builder_for(&sim)
        .no_retry()
        .layer_inner(recorder.clone())
        .build()
        .unwrap();
    let subjects = [
        "He said \"hi\"",
        "back\\slash \\\" escaped",
        "tab\there",
        "line\nbreak\r\n",
        "nul\u{0}byte",
        "unit\u{1f}separator\u{7f}",
        "ünïcödé 😀 \u{202e}rtl",
        "100% _like_",
        "a&b=c#d?e+f",
        "[[\"status\",\"=\",\"N\"]]",
        "'; DROP TABLE tickets; --",
        "   spaced   ",
    ];
    for (i, subject) in subjects.iter().enumerate() {
        sim.insert_record(
            Resource::Tickets,
            serde_json::json!({
                "id": format!("t{i}"),
                "subject": subject,
                "status": "N",
                "date_created": "2024-01-02 03:04:05",
            }),
        );
    }
    let mut exact = 0;
    let mut problems = Vec::new();
    for subject in subjects {
        for (form, filters) in [
            ("array", Filters::conditions().eq("subject", subject)),
            ("object", Filters::by_column().eq("subject", subject)),
        ] {
            let found: Vec<Ticket> = client
                .tickets()
                .get_tickets_list()
                .filters(filters)
                .send()
                .await
                .unwrap();
            let subjects: Vec<Option<&str>> = found.iter().map(|t| t.subject.as_deref()).collect();
            if subjects == vec![Some(subject)] {
                exact += 1;
            } else {
                problems.push(format!("{form} form, {subject:?}: found {subjects:?}"));
            }
        }
    }

    // A query value that tries to add parameters stays one value.
    let before = recorder.count() as usize;
    let error = client
        .tickets()
        .get_tickets_list()
        .sort_field("subject&_perPage=1#x")
        .send()
        .await
        .unwrap_err();
    let uri = recorder.attempts()[before].uri.clone();
    let one_value = uri.contains("_sortField=subject%26_perPage%3D1%23x") && !uri.contains('#');
    let server_saw_it = error.status() == Some(StatusCode::UNPROCESSABLE_ENTITY)
        && error.to_string().contains("subject&_perPage=1#x");

    // An IN list value with a comma would be split by the server: refused before sending.
    sim.reset_counters();
    let comma = client
        .tickets()
        .get_tickets_list()
        .filters(Filters::conditions().is_in("subject", ["a,b", "c"]))
        .send()
        .await;
    let comma_refused =
        matches!(comma, Err(Error::InvalidRequest { .. })) && sim.counters().total().received == 0;

    record(
        BINARY,
        "filter_and_query_values_round_trip_through_the_server",
        &[
            row(
                "Bad input",
                3,
                "filter values with quotes and control characters",
                "12 stored subjects (quotes, backslashes, tab, CR LF, NUL, U+001F, DEL, \
                 unicode with U+202E, `%` and `_`, `&=#?+`, JSON, SQL) looked up with `=` in \
                 both `_filters` forms; the simulator parses `_filters` as JSON",
                (subjects.len() * 2) as u64,
                format!(
                    "{exact} of {} lookups found exactly the one ticket with that subject",
                    subjects.len() * 2
                ),
            ),
            row(
                "Bad input",
                4,
                "a query value that carries `&`, `=` and `#`",
                "`_sortField=subject&_perPage=1#x`",
                1,
                format!(
                    "sent as one encoded value: {}; the simulator read it whole and refused the \
                     unknown column with 422: {}",
                    if one_value { "yes" } else { "no" },
                    if server_saw_it { "yes" } else { "no" }
                ),
            ),
            row(
                "Bad input",
                5,
                "an `IN` list value holding a comma",
                "`Filters::conditions().is_in(\"subject\", [\"a,b\", \"c\"])`",
                1,
                if comma_refused {
                    "refused with `Error::InvalidRequest`; the simulator received nothing"
                        .to_owned()
                } else {
                    format!("not refused before sending: {comma:?}")
                },
            ),
        ],
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(one_value, "{uri}");
    assert!(server_saw_it, "{error}");
    assert!(comma_refused);
}

#[test]
fn bad_configuration_is_a_configuration_error() {
    let base_urls = [
        "",
        "not a url",
        "acme.ladesk.com/api/v3",
        "ftp://acme.ladesk.com/api/v3",
        "http://acme.ladesk.com/api/v3",
        "https://user:secret@acme.ladesk.com/api/v3",
        "https://acme.ladesk.com/api/v3?apikey=x",
        "https://acme.ladesk.com/api/v3#top",
        "https://",
        "javascript:alert(1)",
        "https://acme.ladesk.com:99999/api/v3",
        "https://acme ladesk.com/api/v3",
    ];
    let accounts = [
        "",
        "-acme",
        "acme-",
        "ac me",
        "acme.evil.com",
        "a/b",
        "a?b",
        "a#b",
        "ünï",
        "acme\n",
        "evil.com/",
    ];
    let long_account = "x".repeat(64);
    let keys = [
        "",
        "   ",
        "abcd\nefgh",
        "key-1234\u{7f}",
        "key\u{0}-5678",
        "k",
        "seven77",
        "clé-secrète-123",
        "key with spaces",
    ];
    let mut checked = 0;
    let mut problems = Vec::new();
    let mut check = |what: String, result: Result<Client, Error>| {
        checked += 1;
        if !matches!(result, Err(Error::Config { .. })) {
            problems.push(format!("{what}: {result:?}"));
        }
    };
    for url in base_urls {
        check(
            format!("base URL {url:?}"),
            Client::builder()
                .base_url(url)
                .api_key("test-key-1")
                .build(),
        );
    }
    for account in accounts.iter().copied().chain([long_account.as_str()]) {
        check(
            format!("account {account:?}"),
            Client::builder()
                .account(account)
                .api_key("test-key-1")
                .build(),
        );
    }
    for key in keys {
        check(
            format!("key {key:?}"),
            Client::builder().account("acme").api_key(key).build(),
        );
    }
    check(
        "zero attempt timeout".into(),
        Client::builder()
            .account("acme")
            .api_key("test-key-1")
            .attempt_timeout(Duration::ZERO)
            .build(),
    );
    check("no key".into(), Client::builder().account("acme").build());
    check(
        "no base URL".into(),
        Client::builder().api_key("test-key-1").build(),
    );
    let total = base_urls.len() + accounts.len() + 1 + keys.len() + 3;
    record(
        BINARY,
        "bad_configuration_is_a_configuration_error",
        &[row(
            "Bad input",
            6,
            "bad base URLs, account names, keys and settings",
            format!(
                "{} base URLs (no scheme, ftp, plain http to a remote host, user info, query, \
                 fragment, no host, bad port, ...), {} account names (dots, slashes, spaces, \
                 unicode, 64 characters, ...), {} keys (empty, blank, CR LF, DEL, NUL), a zero \
                 timeout, a missing key, a missing URL",
                base_urls.len(),
                accounts.len() + 1,
                keys.len()
            ),
            total as u64,
            format!(
                "{} of {total} refused by `build()` with `Error::Config`",
                total - problems.len()
            ),
        )],
    );
    assert_eq!(checked, total);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
