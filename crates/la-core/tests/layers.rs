#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Custom layers outside and inside the default stack.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{CountingLimiter, Double, KEY, Reply};
use la_core::{Body, BoxService, Error, Method, Request, TimeoutKind};
use tower::ServiceExt;
use tower::util::{MapRequestLayer, MapResponseLayer};

#[derive(Clone, Debug)]
struct Observed {
    apikey: Option<String>,
    sensitive: bool,
    header: Option<String>,
}

#[tokio::test(start_paused = true)]
async fn outer_and_inner_layers_run_with_the_defaults_intact() {
    let double = Double::sequence(vec![
        Reply::status(503),
        Reply::status(503),
        Reply::json(r#"{"id":"t1"}"#),
    ]);
    let outer_calls = Arc::new(AtomicUsize::new(0));
    let inner_calls = Arc::new(AtomicUsize::new(0));
    let observed = Arc::new(Mutex::new(Vec::new()));
    let limiter = CountingLimiter::new();

    let outer = {
        let calls = outer_calls.clone();
        MapRequestLayer::new(move |mut request: http::Request<Body>| {
            calls.fetch_add(1, Ordering::SeqCst);
            // The key is not set yet out here.
            assert!(request.headers().get("apikey").is_none());
            request
                .headers_mut()
                .insert("x-request-id", http::HeaderValue::from_static("req-1"));
            request
        })
    };
    let inner = {
        let calls = inner_calls.clone();
        let observed = observed.clone();
        MapRequestLayer::new(move |request: http::Request<Body>| {
            calls.fetch_add(1, Ordering::SeqCst);
            let apikey = request.headers().get("apikey");
            observed.lock().unwrap().push(Observed {
                apikey: apikey.and_then(|v| v.to_str().ok()).map(str::to_owned),
                sensitive: apikey.is_some_and(http::HeaderValue::is_sensitive),
                header: request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
            });
            request
        })
    };
    let client = double
        .builder()
        .limiter(limiter.clone())
        .layer_outer(outer)
        .layer_inner(inner)
        .build()
        .unwrap();
    let value: serde_json::Value = client
        .execute(Request::new(Method::GET, "/tickets/t1"))
        .await
        .unwrap();
    assert_eq!(value["id"], "t1");

    assert_eq!(
        outer_calls.load(Ordering::SeqCst),
        1,
        "outer layer: once per call"
    );
    assert_eq!(
        inner_calls.load(Ordering::SeqCst),
        3,
        "inner layer: once per attempt"
    );
    assert_eq!(double.calls(), 3);
    assert_eq!(limiter.count(), 3);
    let observed = observed.lock().unwrap();
    for seen in observed.iter() {
        assert_eq!(seen.apikey.as_deref(), Some(KEY));
        assert!(seen.sensitive, "the apikey header is not marked sensitive");
        assert_eq!(seen.header.as_deref(), Some("req-1"));
    }
    assert!(double.seen().iter().all(|s| s.headers["apikey"] == KEY));
}

#[tokio::test(start_paused = true)]
async fn inner_layers_sit_inside_the_attempt_timeout() {
    // An inner layer that delays every attempt by 10 s: the 2 s attempt timeout covers it.
    let delay = tower::layer::layer_fn(|service: BoxService| {
        tower::service_fn(move |request: http::Request<Body>| {
            let service = service.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(10)).await;
                service.oneshot(request).await
            }
        })
    });
    let double = Double::always(Reply::json("{}"));
    let client = double
        .builder()
        .attempt_timeout(Duration::from_secs(2))
        .layer_inner(delay)
        .build()
        .unwrap();
    let err = client
        .execute::<serde_json::Value>(Request::new(Method::POST, "/tickets"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                kind: TimeoutKind::Attempt,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(double.calls(), 0);
}

#[tokio::test]
async fn layers_added_later_wrap_earlier_ones() {
    let order = Arc::new(Mutex::new(Vec::new()));
    let mark = |name: &'static str| {
        let order = order.clone();
        MapRequestLayer::new(move |request: http::Request<Body>| {
            order.lock().unwrap().push(name);
            request
        })
    };
    let double = Double::always(Reply::json("{}"));
    let client = double
        .builder()
        .layer_outer(mark("outer 1"))
        .layer_outer(mark("outer 2"))
        .layer_inner(mark("inner 1"))
        .layer_inner(mark("inner 2"))
        .build()
        .unwrap();
    let _: serde_json::Value = client
        .execute(Request::new(Method::GET, "/tickets"))
        .await
        .unwrap();
    assert_eq!(
        *order.lock().unwrap(),
        vec!["outer 2", "outer 1", "inner 2", "inner 1"]
    );
}

#[tokio::test]
async fn a_layer_may_change_the_response_and_fail_with_its_own_error() {
    #[derive(Debug)]
    struct Refused;
    impl std::fmt::Display for Refused {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("refused by policy")
        }
    }
    impl std::error::Error for Refused {}

    let double = Double::always(Reply::json(r#"{"from":"server"}"#));
    let rewrite = MapResponseLayer::new(|response: http::Response<Body>| {
        response.map(|_| Body::from(r#"{"from":"layer"}"#))
    });
    let client = double.builder().layer_inner(rewrite).build().unwrap();
    let value: serde_json::Value = client
        .execute(Request::new(Method::GET, "/tickets"))
        .await
        .unwrap();
    assert_eq!(value["from"], "layer");

    let refuse = tower::layer::layer_fn(|_service: BoxService| {
        tower::service_fn(|_request: http::Request<Body>| async {
            Err::<http::Response<Body>, _>(Refused)
        })
    });
    let client = double.builder().layer_outer(refuse).build().unwrap();
    let err = client
        .execute::<serde_json::Value>(Request::new(Method::GET, "/tickets"))
        .await
        .unwrap_err();
    match &err {
        Error::Middleware(source) => assert_eq!(source.to_string(), "refused by policy"),
        other => panic!("expected a Middleware error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_inner_layer_that_changes_the_uri_is_honoured_by_the_reqwest_transport() {
    let mut server = mockito::Server::new_async().await;
    let original = server
        .mock("GET", "/api/v3/tickets/t1")
        .expect(0)
        .create_async()
        .await;
    let rewritten = server
        .mock("GET", "/api/v3/tickets/t2")
        .match_query(mockito::Matcher::UrlEncoded("x".into(), "1".into()))
        .with_status(200)
        .with_body(r#"{"id":"t2"}"#)
        .expect(1)
        .create_async()
        .await;
    // The transport normally sends the URL parsed when the request was built; a layer that
    // points the request elsewhere must win over it.
    let rewrite = MapRequestLayer::new(|mut request: http::Request<Body>| {
        let uri = request.uri().to_string().replace("/t1", "/t2?x=1");
        *request.uri_mut() = uri.parse().unwrap();
        request
    });
    let client = common::mock_builder(&server.url())
        .layer_inner(rewrite)
        .build()
        .unwrap();
    let value: serde_json::Value = client
        .execute(Request::new(Method::GET, "/tickets/t1"))
        .await
        .unwrap();
    assert_eq!(value["id"], "t2");
    original.assert_async().await;
    rewritten.assert_async().await;
}
