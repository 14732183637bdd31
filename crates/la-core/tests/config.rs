#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Building a client: what is refused, and where it can be built.

mod common;

use common::{KEY, assert_no_key};
use la_core::{Client, Error, Method, Request};

fn config_message(result: Result<Client, Error>) -> String {
    let err = result.expect_err("expected a configuration error");
    assert!(
        matches!(err, Error::Config { .. }),
        "expected a configuration error, got {err:?}"
    );
    err.to_string()
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    for url in [
        "http://acme.ladesk.com/api/v3",
        "http://10.0.0.8:8080/api/v3",
        "http://localhost.evil.com/api/v3",
    ] {
        let message = config_message(Client::builder().base_url(url).api_key(KEY).build());
        assert!(message.contains("http://"), "{url}: {message}");
    }
    for url in [
        "http://127.0.0.1:8080/api/v3",
        "http://localhost:3000/api/v3",
        "http://[::1]:3000/api/v3",
        "https://acme.ladesk.com/api/v3",
    ] {
        assert!(
            Client::builder().base_url(url).api_key(KEY).build().is_ok(),
            "{url}"
        );
    }
}

#[test]
fn bad_account_names_are_refused() {
    let long = "a".repeat(64);
    for account in [
        "",
        "acme.evil.com",
        "acme/x",
        "acme@evil.com",
        "-acme",
        "acme-",
        "ac me",
        "acme:443",
        long.as_str(),
    ] {
        let message = config_message(Client::builder().account(account).api_key(KEY).build());
        assert!(message.contains("account name"), "{account:?}: {message}");
    }
    let client = Client::builder()
        .account("Acme-2")
        .api_key(KEY)
        .build()
        .unwrap();
    assert_eq!(
        client.base_url().as_str(),
        "https://acme-2.ladesk.com/api/v3"
    );
}

#[test]
fn missing_or_unusable_keys_are_refused_without_echoing_them() {
    config_message(Client::builder().account("acme").build());
    config_message(Client::builder().account("acme").api_key("   ").build());
    let bad = format!("{KEY}\n");
    let message = config_message(
        Client::builder()
            .account("acme")
            .api_key(format!("{bad}x"))
            .build(),
    );
    assert_no_key("configuration error", &message);
    config_message(Client::builder().api_key(KEY).build());
}

#[test]
fn a_client_built_outside_a_runtime_works_inside_one() {
    let mut server = mockito::Server::new();
    let mock = server
        .mock("GET", "/api/v3/tickets")
        .match_header("apikey", KEY)
        .with_status(200)
        .with_body(r#"[{"id":"t1"}]"#)
        .expect(2)
        .create();
    // Built with every default: reqwest transport, local rate limiter, retry budget.
    let client = Client::builder()
        .base_url(&format!("{}/api/v3", server.url()))
        .api_key(KEY)
        .build()
        .unwrap();
    for _ in 0..2 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let items: Vec<serde_json::Value> = runtime
            .block_on(client.execute(Request::new(Method::GET, "/tickets")))
            .unwrap();
        assert_eq!(items[0]["id"], "t1");
    }
    mock.assert();
}
