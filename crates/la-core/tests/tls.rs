#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! TLS: whichever TLS feature is on, the default client speaks TLS to an `https` base URL.
//!
//! CI also runs this file alone with `--no-default-features --features rustls-ring`, where
//! reqwest has no crypto provider of its own: the client must install ring first, or building it
//! would panic.

use std::io::Read;
use std::net::TcpListener;
use std::time::Duration;

use la_core::{Client, Error, Method, Request, TransportKind};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_base_url_gets_a_tls_handshake() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // A server that reads the first bytes of the connection and hangs up: the client's
    // handshake then fails, after showing what it sent.
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut head = [0u8; 3];
        stream.read_exact(&mut head).unwrap();
        head
    });
    let client = Client::builder()
        .base_url(&format!("https://127.0.0.1:{port}/api/v3"))
        .api_key("test-api-key-4567")
        .no_retry()
        .no_rate_limit()
        .build()
        .unwrap();
    let result = client.send(Request::new(Method::GET, "/ping")).await;
    let head = server.join().unwrap();
    assert_eq!(head[0], 0x16, "a TLS handshake record, got {head:02x?}");
    assert_eq!(head[1], 0x03, "a TLS record version, got {head:02x?}");
    match result {
        Err(Error::Transport {
            kind: TransportKind::Connect,
            ..
        }) => {}
        other => panic!("expected a failed TLS connection, got {other:?}"),
    }
}

#[cfg(feature = "rustls-ring")]
fn suites(provider: &rustls::crypto::CryptoProvider) -> Vec<rustls::CipherSuite> {
    provider.cipher_suites.iter().map(|s| s.suite()).collect()
}

#[cfg(feature = "rustls-ring")]
fn groups(provider: &rustls::crypto::CryptoProvider) -> Vec<rustls::NamedGroup> {
    provider.kx_groups.iter().map(|g| g.name()).collect()
}

/// Builds a client with the default reqwest client, and returns the process's rustls provider
/// afterwards.
#[cfg(feature = "rustls-ring")]
fn provider_after_building_a_client() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    Client::builder()
        .account("acme")
        .api_key("test-api-key-4567")
        .build()
        .unwrap();
    rustls::crypto::CryptoProvider::get_default()
        .expect("a default provider")
        .clone()
}

#[cfg(feature = "rustls-ring")]
#[test]
fn with_rustls_ring_the_default_client_installs_ring() {
    let installed = provider_after_building_a_client();
    let ring = rustls::crypto::ring::default_provider();
    assert_eq!(suites(&installed), suites(&ring));
    assert_eq!(groups(&installed), groups(&ring));
}

/// Set in the child process that [`a_provider_the_application_installed_stays`] starts.
#[cfg(all(feature = "rustls-ring", feature = "rustls"))]
const CHILD: &str = "LA_CORE_TLS_TEST_INSTALL_FIRST";

/// With both rustls features (`--all-features`), a provider the application installed first
/// stays.
///
/// The process's provider can be installed once and never removed, and the other tests of this
/// file install ring through the default client; so the check runs in a fresh process of this
/// test binary (the same under `cargo test`, where tests share a process, and nextest).
#[cfg(all(feature = "rustls-ring", feature = "rustls"))]
#[test]
fn a_provider_the_application_installed_stays() {
    if std::env::var_os(CHILD).is_none() {
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_provider_the_application_installed_stays",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "the check failed in its own process:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains("1 passed"),
            "the check did not run:\n{stdout}"
        );
        return;
    }
    let aws_lc = rustls::crypto::aws_lc_rs::default_provider();
    aws_lc.clone().install_default().unwrap();
    let installed = provider_after_building_a_client();
    assert_eq!(groups(&installed), groups(&aws_lc));
    assert_ne!(
        groups(&installed),
        groups(&rustls::crypto::ring::default_provider())
    );
}
