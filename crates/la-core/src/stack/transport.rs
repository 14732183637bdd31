//! The innermost service: sends an `http::Request<Body>` with reqwest and reads the whole answer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};

use crate::body::Body;
use crate::client::Origin;
use crate::error::{BoxError, Error, RequestContext, Target, TransportKind};
use crate::request::RequestMeta;

/// The default limit on the size of one response body: 32 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// A tower service that sends requests with a [`reqwest::Client`].
///
/// It reads the whole response body (refusing bodies above a size limit, so a broken or hostile
/// server cannot exhaust memory) and maps reqwest's errors to [`Error::Transport`] with a
/// [`TransportKind`] that tells the retry layer whether the server may have seen the request.
#[derive(Clone, Debug)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    max_response_bytes: usize,
}

impl ReqwestTransport {
    /// A transport over the given client, with the default response size limit.
    pub fn new(client: reqwest::Client) -> Self {
        Self {
            client,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// Sets the largest response body accepted, in bytes.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// The reqwest client the SDK builds by default, without any proxy: the given user agent and
    /// connect timeout, no cookies, no retries of its own (the retry layer decides), and
    /// redirects followed only within the same origin so the API key never reaches another
    /// host.
    ///
    /// [`ReqwestTransport::client_for`] is the same client for one API origin, which uses the
    /// system's proxy for an `https://` origin.
    pub fn default_client(
        user_agent: &str,
        connect_timeout: std::time::Duration,
    ) -> Result<reqwest::Client, Error> {
        Self::build_client(
            reqwest::Client::builder().no_proxy(),
            user_agent,
            connect_timeout,
        )
    }

    /// The reqwest client [`ClientBuilder::build`](crate::ClientBuilder::build) makes for the
    /// API at `origin` (see [`ReqwestTransport::default_client`]), with this rule for proxies:
    ///
    /// - a plain `http://` origin (a loopback simulator) is always reached directly: a proxy set
    ///   in the environment (`HTTP_PROXY`, `ALL_PROXY`, ...) or by the system is not used,
    ///   since it would receive every request, `apikey` header included, in clear text;
    /// - an `https://` origin uses the system's proxy, as reqwest finds it (`HTTPS_PROXY`,
    ///   `ALL_PROXY`, `NO_PROXY`, ...): the proxy is asked for a `CONNECT` tunnel to the API's
    ///   host and port, and sees only that host name; the requests, the key among their
    ///   headers, travel inside TLS to the API itself, which the client authenticates.
    pub fn client_for(
        origin: &Origin,
        user_agent: &str,
        connect_timeout: std::time::Duration,
    ) -> Result<reqwest::Client, Error> {
        let builder = reqwest::Client::builder();
        let builder = if origin.is_https() {
            builder
        } else {
            builder.no_proxy()
        };
        Self::build_client(builder, user_agent, connect_timeout)
    }

    fn build_client(
        builder: reqwest::ClientBuilder,
        user_agent: &str,
        connect_timeout: std::time::Duration,
    ) -> Result<reqwest::Client, Error> {
        #[cfg(feature = "rustls-ring")]
        install_ring_provider();
        #[cfg(feature = "native-tls")]
        let builder = builder.tls_backend_native();
        builder
            .user_agent(user_agent)
            .connect_timeout(connect_timeout)
            .redirect(same_origin_redirects())
            .retry(reqwest::retry::never())
            .build()
            .map_err(|e| Error::config(format!("the HTTP client could not be built: {e}")))
    }
}

/// Makes ring the process's default rustls crypto provider, which reqwest's rustls backend uses
/// when it is built without a provider of its own (the `rustls-ring` feature). A provider the
/// application installed first stays.
#[cfg(feature = "rustls-ring")]
fn install_ring_provider() {
    // An error only says that a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A redirect policy that follows at most 5 redirects, all to the origin (scheme, host and port)
/// of the first request. A redirect anywhere else is not followed: the 3xx answer is returned,
/// so a custom `apikey` header (which reqwest does not strip on cross-host redirects) is never
/// sent to another host.
pub fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if same_origin && attempt.previous().len() <= 5 {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

impl tower::Service<http::Request<Body>> for ReqwestTransport {
    type Response = http::Response<Body>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let target = Target::of(&request);
        let (parts, body) = request.into_parts();
        match body.into_bytes() {
            // A buffered body (every request the SDK builds): reqwest gets the request now, and
            // the future holds only what is left to do.
            Ok(bytes) => {
                let pending = match self.execute(parts, bytes, &target) {
                    Ok(pending) => pending,
                    Err(error) => return Box::pin(std::future::ready(Err(error))),
                };
                Box::pin(receive(pending, self.max_response_bytes, target))
            }
            // A streaming body (a custom layer's): read it first.
            Err(streaming) => {
                let transport = self.clone();
                Box::pin(async move {
                    let bytes = streaming
                        .collect()
                        .await
                        .map_err(|source| Error::Transport {
                            kind: TransportKind::Request,
                            context: target.context(),
                            source,
                        })?;
                    let pending = transport.execute(parts, bytes, &target)?;
                    receive(pending, transport.max_response_bytes, target).await
                })
            }
        }
    }
}

impl ReqwestTransport {
    /// Hands a request to reqwest: the returned future sends it when polled.
    fn execute(
        &self,
        mut parts: http::request::Parts,
        body: Bytes,
        target: &Target,
    ) -> Result<impl Future<Output = Result<reqwest::Response, reqwest::Error>> + Send + use<>, Error>
    {
        // The URL parsed when the request was built, unless a layer changed the URI since.
        let built = parts
            .extensions
            .get_mut::<RequestMeta>()
            .and_then(|meta| meta.url.take());
        let url = match built {
            Some(url) if same_target(&parts.uri, &url) => url,
            _ => reqwest::Url::parse(&parts.uri.to_string()).map_err(|e| {
                Error::invalid_request(format!(
                    "{}: the request URL cannot be sent: {e}",
                    target.context()
                ))
            })?,
        };
        let mut request = reqwest::Request::new(parts.method, url);
        *request.headers_mut() = parts.headers;
        *request.version_mut() = parts.version;
        if !body.is_empty() || !matches!(*request.method(), http::Method::GET | http::Method::HEAD)
        {
            *request.body_mut() = Some(reqwest::Body::from(body));
        }
        Ok(self.client.execute(request))
    }
}

/// Waits for reqwest's answer to a request handed over by [`ReqwestTransport::execute`] and
/// reads its whole body.
// Not an `async fn`: its future would keep a second copy of each argument (72 bytes more on
// every request's future).
#[allow(clippy::manual_async_fn)]
fn receive(
    pending: impl Future<Output = Result<reqwest::Response, reqwest::Error>>,
    limit: usize,
    target: Target,
) -> impl Future<Output = Result<http::Response<Body>, Error>> {
    async move {
        let response = pending
            .await
            .map_err(|e| map_reqwest_error(e, target.context()))?;
        read_response(response, limit, &target).await
    }
}

/// Whether `uri` still names `url`, byte for byte (it was parsed from it when the request was
/// built); any difference, even one that does not change the meaning, counts as a change.
fn same_target(uri: &http::Uri, url: &url::Url) -> bool {
    uri.scheme_str() == Some(url.scheme())
        && uri.authority().map(http::uri::Authority::as_str) == Some(url.authority())
        && uri.path_and_query().map(http::uri::PathAndQuery::as_str)
            == Some(&url[url::Position::BeforePath..])
}

fn map_reqwest_error(error: reqwest::Error, context: RequestContext) -> Error {
    let kind = if error.is_connect() {
        TransportKind::Connect
    } else if error.is_body() || error.is_decode() {
        TransportKind::Body
    } else {
        TransportKind::Request
    };
    // reqwest's error text holds the whole URL, query string included (filters, e-mail
    // addresses); the context already names the method and path.
    Error::Transport {
        kind,
        context,
        source: Box::new(error.without_url()) as BoxError,
    }
}

async fn read_response(
    mut response: reqwest::Response,
    limit: usize,
    target: &Target,
) -> Result<http::Response<Body>, Error> {
    let too_large = || Error::ResponseTooLarge {
        context: target.context(),
        limit,
    };
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(too_large());
    }
    let status = response.status();
    let version = response.version();
    let headers = std::mem::take(response.headers_mut());

    let mut first: Option<Bytes> = None;
    let mut rest: Option<BytesMut> = None;
    let mut total = 0usize;
    while let Some(chunk) = response.chunk().await.map_err(|e| Error::Transport {
        kind: TransportKind::Body,
        context: target.context(),
        source: Box::new(e.without_url()),
    })? {
        total += chunk.len();
        if total > limit {
            return Err(too_large());
        }
        match (&mut first, &mut rest) {
            (None, _) => first = Some(chunk),
            (Some(head), None) => {
                let mut buf = BytesMut::with_capacity(head.len() + chunk.len());
                buf.extend_from_slice(head);
                buf.extend_from_slice(&chunk);
                rest = Some(buf);
            }
            (Some(_), Some(buf)) => buf.extend_from_slice(&chunk),
        }
    }
    let bytes = match (first, rest) {
        (_, Some(buf)) => buf.freeze(),
        (Some(head), None) => head,
        (None, None) => Bytes::new(),
    };
    let mut answer = http::Response::new(Body::full(bytes));
    *answer.status_mut() = status;
    *answer.version_mut() = version;
    *answer.headers_mut() = headers;
    Ok(answer)
}
