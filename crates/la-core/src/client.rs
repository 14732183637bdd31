//! The client: configuration, the default middleware stack, and sending requests.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt as _;
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use tower::util::{BoxCloneSyncService, Either, option_layer};
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

use crate::body::Body;
use crate::call::Call;
use crate::error::{BoxError, Error};
use crate::request::Request;
use crate::response::{self, Decoded};
use crate::stack::auth::{ApiKey, AuthLayer};
use crate::stack::rate_limit::{Limiter, LocalLimiter, RateLimit, RateLimitLayer, RateLimitMode};
use crate::stack::retry::{RetryConfig, RetryPolicy};
use crate::stack::timeout::TimeoutLayer;
use crate::stack::trace::TracingLayer;
use crate::stack::transport::{DEFAULT_MAX_RESPONSE_BYTES, ReqwestTransport};

/// The type-erased middleware stack: a cloneable, thread-safe tower service.
pub type BoxService = BoxCloneSyncService<http::Request<Body>, http::Response<Body>, Error>;

/// The user agent sent with every request.
pub const USER_AGENT: &str = concat!("liveagent-rs/", env!("CARGO_PKG_VERSION"));

/// The environment variable holding the API's base URL (or an account name).
pub const ENV_URL: &str = "LIVEAGENT_URL";
/// The environment variable holding the API key.
pub const ENV_API_KEY: &str = "LIVEAGENT_API_KEY";

/// Default timeout of one attempt.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default timeout of a whole operation, retries and rate-limit waits included.
pub const DEFAULT_TOTAL_TIMEOUT: Duration = Duration::from_secs(120);
/// Default timeout for establishing a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The scheme, host and port of a URL: where the API key may be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
    /// The authority exactly as the base URL writes it (`host` or `host:port`): the URIs the
    /// SDK builds carry it byte for byte, so most checks end with one comparison.
    authority: String,
}

impl Origin {
    /// Whether `uri` points at this origin.
    pub fn matches(&self, uri: &http::Uri) -> bool {
        // The common case, cheaply: the same scheme and authority text as the base URL.
        if uri.scheme_str() == Some(self.scheme.as_str())
            && uri.authority().map(http::uri::Authority::as_str) == Some(self.authority.as_str())
        {
            return true;
        }
        let Some(scheme) = uri.scheme_str() else {
            return false;
        };
        let Some(host) = uri.host() else {
            return false;
        };
        let port = uri.port_u16().or(match scheme {
            "https" => Some(443),
            "http" => Some(80),
            _ => None,
        });
        scheme.eq_ignore_ascii_case(&self.scheme)
            && host.eq_ignore_ascii_case(&self.host)
            && port == Some(self.port)
    }
}

impl Origin {
    /// Whether the origin uses `https`.
    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// The validated base URL of the API, such as `https://acme.ladesk.com/api/v3`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUrl {
    /// Parsed once: each request's URL starts as a copy of it.
    url: url::Url,
    origin: Origin,
}

impl BaseUrl {
    /// Parses and checks a base URL.
    ///
    /// Refused with [`Error::Config`]: anything that is not an absolute `https://` URL (plain
    /// `http://` is accepted only for loopback hosts, such as a local simulator), URLs with a
    /// user name or password, a query or a fragment.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let url = url::Url::parse(text.trim())
            .map_err(|e| Error::config(format!("the base URL {text:?} is not a valid URL: {e}")))?;
        let host = url
            .host_str()
            .ok_or_else(|| Error::config(format!("the base URL {text:?} has no host")))?
            .to_owned();
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            "http" => {
                return Err(Error::config(format!(
                    "refusing plain http:// for {host}: the API key would travel unencrypted; \
                     use https:// (http:// is allowed only for loopback hosts such as 127.0.0.1)"
                )));
            }
            other => {
                return Err(Error::config(format!(
                    "the base URL must use https://, not {other}://"
                )));
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::config(
                "the base URL must not contain a user name or password",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(Error::config(
                "the base URL must not contain a query or a fragment",
            ));
        }
        let port = url
            .port_or_known_default()
            .ok_or_else(|| Error::config("the base URL has no port"))?;
        let origin = Origin {
            scheme: url.scheme().to_owned(),
            host,
            port,
            authority: url.authority().to_owned(),
        };
        Ok(Self { url, origin })
    }

    /// The base URL of a LiveAgent account: `https://{account}.ladesk.com/api/v3`.
    ///
    /// The account name is the first label of the account's domain; it is refused unless it is
    /// 1 to 63 letters, digits and inner hyphens.
    pub fn for_account(account: &str) -> Result<Self, Error> {
        let valid = !account.is_empty()
            && account.len() <= 63
            && account
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !account.starts_with('-')
            && !account.ends_with('-');
        if !valid {
            return Err(Error::config(format!(
                "{account:?} is not a valid LiveAgent account name \
                 (expected the first part of ACCOUNT.ladesk.com: letters, digits and hyphens)"
            )));
        }
        Self::parse(&format!(
            "https://{}.ladesk.com/api/v3",
            account.to_ascii_lowercase()
        ))
    }

    /// The URL as text, without a trailing slash.
    pub fn as_str(&self) -> &str {
        self.url.as_str().trim_end_matches('/')
    }

    /// The path part, such as `/api/v3` (empty for a URL without a path).
    pub fn path(&self) -> &str {
        self.url.path().trim_end_matches('/')
    }

    /// The origin the API key is sent to.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The URL, parsed.
    pub fn url(&self) -> &url::Url {
        &self.url
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

type LayerFn = Box<dyn FnOnce(BoxService) -> BoxService + Send>;

/// Configures and builds a [`Client`].
///
/// ```no_run
/// use std::time::Duration;
/// use la_core::{Client, RateLimit};
///
/// let client = Client::builder()
///     .account("acme")
///     .api_key("your-api-key")
///     .total_timeout(Duration::from_secs(30))
///     .rate_limit(RateLimit::per_minute(180)?.burst(10)?)
///     .build()?;
/// # Ok::<(), la_core::Error>(())
/// ```
pub struct ClientBuilder {
    base: Option<Result<BaseUrl, Error>>,
    api_key: Option<Result<ApiKey, Error>>,
    attempt_timeout: Duration,
    total_timeout: Duration,
    connect_timeout: Duration,
    rate_limit: Option<RateLimit>,
    limiter: Option<Arc<dyn Limiter>>,
    #[cfg(feature = "redis-limiter")]
    redis_url: Option<String>,
    rate_limit_mode: RateLimitMode,
    retry: RetryConfig,
    max_response_bytes: usize,
    reqwest_client: Option<reqwest::Client>,
    transport: Option<BoxService>,
    outer: Vec<LayerFn>,
    inner: Vec<LayerFn>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("ClientBuilder");
        debug
            .field(
                "base",
                &self.base.as_ref().map(|b| b.as_ref().map(BaseUrl::as_str)),
            )
            .field("api_key", &self.api_key.as_ref().map(|_| "[REDACTED]"))
            .field("attempt_timeout", &self.attempt_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("rate_limit", &self.rate_limit)
            .field("limiter", &self.limiter);
        #[cfg(feature = "redis-limiter")]
        debug.field(
            "redis_limiter",
            &self
                .redis_url
                .as_deref()
                .map(crate::stack::redis_limiter::redact_url),
        );
        debug
            .field("rate_limit_mode", &self.rate_limit_mode)
            .field("retry", &self.retry)
            .field("custom_transport", &self.transport.is_some())
            .field("outer_layers", &self.outer.len())
            .field("inner_layers", &self.inner.len())
            .finish()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            base: None,
            api_key: None,
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            total_timeout: DEFAULT_TOTAL_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            rate_limit: Some(RateLimit::default()),
            limiter: None,
            #[cfg(feature = "redis-limiter")]
            redis_url: None,
            rate_limit_mode: RateLimitMode::Wait,
            retry: RetryConfig::default(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            reqwest_client: None,
            transport: None,
            outer: Vec::new(),
            inner: Vec::new(),
        }
    }
}

/// Turns any body into a [`Body`] without re-wrapping one that already is.
fn into_body<B>(body: B) -> Body
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let mut slot = Some(body);
    if let Some(body) = (&mut slot as &mut dyn Any).downcast_mut::<Option<Body>>() {
        return body.take().unwrap_or_default();
    }
    match slot {
        Some(body) => Body::new(body),
        None => Body::empty(),
    }
}

/// Turns any error into an [`Error`] without boxing one that already is.
fn into_error<E: Into<BoxError> + 'static>(error: E) -> Error {
    let mut slot = Some(error);
    if let Some(error) = (&mut slot as &mut dyn Any)
        .downcast_mut::<Option<Error>>()
        .and_then(Option::take)
    {
        return error;
    }
    match slot {
        Some(error) => Error::from_boxed(error.into()),
        None => Error::config("an error was lost while converting it"),
    }
}

/// Erases the type of a service speaking `http` with any body and error types.
pub fn boxed<S, B, E>(service: S) -> BoxService
where
    S: Service<http::Request<Body>, Response = http::Response<B>, Error = E>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    E: Into<BoxError> + 'static,
{
    BoxCloneSyncService::new(
        service
            .map_response(|response: http::Response<B>| response.map(into_body))
            .map_err(into_error),
    )
}

impl ClientBuilder {
    /// Uses the API of a LiveAgent account: `https://{account}.ladesk.com/api/v3`.
    pub fn account(mut self, account: &str) -> Self {
        self.base = Some(BaseUrl::for_account(account));
        self
    }

    /// Uses the API at `url`, such as `https://acme.ladesk.com/api/v3` or a simulator's
    /// `http://127.0.0.1:8080/api/v3`.
    ///
    /// A plain `http://` URL (loopback hosts only) is reached directly, never through a proxy;
    /// an `https://` URL goes through the system's proxy when one is set, which sees only a
    /// `CONNECT` tunnel to the host (see [`ClientBuilder::reqwest_client`] for a client of your
    /// own).
    pub fn base_url(mut self, url: &str) -> Self {
        self.base = Some(BaseUrl::parse(url));
        self
    }

    /// Sets the API key (held in a [`secrecy::SecretString`]).
    pub fn api_key(mut self, key: impl Into<SecretString>) -> Self {
        self.api_key = Some(ApiKey::new(key));
        self
    }

    /// Sets the timeout of one attempt: connecting, sending and reading the whole answer.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// Sets the timeout of a whole operation, retries and rate-limit waits included.
    pub fn total_timeout(mut self, timeout: Duration) -> Self {
        self.total_timeout = timeout;
        self
    }

    /// Sets the timeout for establishing a connection (for the default transport).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the client-side rate limit (default: 180 per minute, burst 5, the burst counted
    /// within the 180; see [`RateLimit`] for the guarantee and its cost).
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Turns the client-side rate limiter off (the server's limit still applies).
    pub fn no_rate_limit(mut self) -> Self {
        self.rate_limit = None;
        self.limiter = None;
        #[cfg(feature = "redis-limiter")]
        {
            self.redis_url = None;
        }
        self
    }

    /// Uses a limiter of your own, such as one shared between processes, instead of the
    /// in-process one. Pass the same `Arc` to several builders to share one limit.
    pub fn limiter(mut self, limiter: Arc<dyn Limiter>) -> Self {
        self.limiter = Some(limiter);
        #[cfg(feature = "redis-limiter")]
        {
            self.redis_url = None;
        }
        self
    }

    /// Shares the rate limit with every process that uses the same API key and the Redis at
    /// `redis_url` (`redis://[user:password@]host[:port][/db]`), instead of limiting this
    /// process alone. Needs the `redis-limiter` feature.
    ///
    /// At [`build`](Self::build), this makes a
    /// [`RedisLimiter`](crate::stack::redis_limiter::RedisLimiter) for the client's API key and
    /// [rate limit](Self::rate_limit), with the default settings: it connects on the first
    /// request, and while Redis is unreachable or slower than 250 ms an in-process limiter
    /// takes over. [`build`](Self::build) fails with [`Error::Config`] when the URL is not a
    /// valid Redis URL. For other settings, build the limiter with
    /// [`RedisLimiter::builder`](crate::stack::redis_limiter::RedisLimiter::builder) and pass
    /// it to [`limiter`](Self::limiter).
    ///
    /// ```no_run
    /// use la_core::Client;
    ///
    /// let client = Client::builder()
    ///     .account("acme")
    ///     .api_key("your-api-key")
    ///     .redis_limiter("redis://redis.internal:6379")
    ///     .build()?;
    /// # Ok::<(), la_core::Error>(())
    /// ```
    #[cfg(feature = "redis-limiter")]
    pub fn redis_limiter(mut self, redis_url: &str) -> Self {
        self.redis_url = Some(redis_url.to_owned());
        self.limiter = None;
        self
    }

    /// Chooses between waiting for the rate limiter (default) and failing at once.
    pub fn rate_limit_mode(mut self, mode: RateLimitMode) -> Self {
        self.rate_limit_mode = mode;
        self
    }

    /// Sets the retry behaviour.
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Turns retries off.
    pub fn no_retry(mut self) -> Self {
        self.retry = RetryConfig::disabled();
        self
    }

    /// Sets the largest response body accepted (default 32 MiB), for the default transport.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Uses this reqwest client for the default transport (for proxies, custom TLS roots, ...).
    ///
    /// Proxies: the client the SDK builds itself never sends a plain `http://` API's requests
    /// through a proxy, and uses the system's proxy for an `https://` API, where the proxy
    /// only sees a `CONNECT` tunnel to the API's host (see
    /// [`ReqwestTransport::client_for`](crate::stack::transport::ReqwestTransport::client_for)).
    /// A client you pass here is used as it is: reqwest's clients use the proxies of the
    /// environment (`HTTP_PROXY`, `ALL_PROXY`, ...) unless built with `no_proxy()`, and a proxy
    /// that carries a plain `http://` request receives it whole, `apikey` header included. With
    /// a plain `http://` base URL, build your client with `no_proxy()`.
    ///
    /// Configure its redirect policy with
    /// [`same_origin_redirects`](crate::stack::transport::same_origin_redirects) (or none): a
    /// policy that follows redirects to other hosts would send them the `apikey` header. Leave
    /// its `connection_verbose` off: it logs the bytes written to each connection at TRACE level,
    /// the `apikey` header included (the SDK's own client never turns it on).
    pub fn reqwest_client(mut self, client: reqwest::Client) -> Self {
        self.reqwest_client = Some(client);
        self
    }

    /// Uses any tower service as the transport instead of reqwest (hyper, a recorder, a test
    /// double). It receives requests with the `apikey` header already set.
    pub fn transport<S, B, E>(mut self, service: S) -> Self
    where
        S: Service<http::Request<Body>, Response = http::Response<B>, Error = E>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
        E: Into<BoxError> + 'static,
    {
        self.transport = Some(boxed(service));
        self
    }

    /// Adds a layer **outside** the default stack: it sees each call once, before tracing,
    /// timeouts, retries and rate limiting (for metrics per operation, request ids, ...). Layers
    /// added later wrap the ones added earlier.
    pub fn layer_outer<L, B, E>(mut self, layer: L) -> Self
    where
        L: Layer<BoxService> + Send + 'static,
        L::Service: Service<http::Request<Body>, Response = http::Response<B>, Error = E>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as Service<http::Request<Body>>>::Future: Send + 'static,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
        E: Into<BoxError> + 'static,
    {
        self.outer
            .push(Box::new(move |service| boxed(layer.layer(service))));
        self
    }

    /// Adds a layer **inside** the default stack, next to the transport: it sees every attempt
    /// (retries included) with the `apikey` header set (marked sensitive). Layers added later
    /// wrap the ones added earlier.
    pub fn layer_inner<L, B, E>(mut self, layer: L) -> Self
    where
        L: Layer<BoxService> + Send + 'static,
        L::Service: Service<http::Request<Body>, Response = http::Response<B>, Error = E>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as Service<http::Request<Body>>>::Future: Send + 'static,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
        E: Into<BoxError> + 'static,
    {
        self.inner
            .push(Box::new(move |service| boxed(layer.layer(service))));
        self
    }

    /// Builds the client.
    ///
    /// Fails with [`Error::Config`] when the base URL or the key is missing or invalid.
    /// Needs no tokio runtime: a client may be built anywhere and used in any runtime.
    pub fn build(self) -> Result<Client, Error> {
        let base = self.base.ok_or_else(|| {
            Error::config(
                "no API base URL: call .account(\"name\") or .base_url(\"https://...\"), \
                 or set LIVEAGENT_URL for Client::from_env()",
            )
        })??;
        let key = self.api_key.ok_or_else(|| {
            Error::config(
                "no API key: call .api_key(..), or set LIVEAGENT_API_KEY for Client::from_env()",
            )
        })??;
        if self.attempt_timeout.is_zero() || self.total_timeout.is_zero() {
            return Err(Error::config("timeouts must be longer than zero"));
        }
        let retry = RetryPolicy::new(self.retry)?;

        #[cfg(not(any(feature = "rustls", feature = "rustls-ring", feature = "native-tls")))]
        if self.transport.is_none() && base.origin().is_https() {
            return Err(Error::config(
                "no TLS support is compiled in: enable the `rustls`, `rustls-ring` or \
                 `native-tls` feature (of `liveagent` or `la-core`) to reach an https:// API",
            ));
        }
        let transport = match self.transport {
            Some(custom) => Either::Right(custom),
            None => {
                let client = match self.reqwest_client {
                    Some(client) => client,
                    None => ReqwestTransport::client_for(
                        base.origin(),
                        USER_AGENT,
                        self.connect_timeout,
                    )?,
                };
                Either::Left(
                    ReqwestTransport::new(client).max_response_bytes(self.max_response_bytes),
                )
            }
        };
        // The default transport keeps its type (the futures of its attempts are not boxed
        // again) unless inner layers need a type-erased service to wrap.
        let transport = if self.inner.is_empty() {
            transport
        } else {
            let transport = match transport {
                Either::Left(reqwest) => BoxCloneSyncService::new(reqwest),
                Either::Right(custom) => custom,
            };
            Either::Right(
                self.inner
                    .into_iter()
                    .fold(transport, |service, layer| layer(service)),
            )
        };

        #[cfg(feature = "redis-limiter")]
        let limiter = match (self.limiter, &self.redis_url, self.rate_limit) {
            (Some(limiter), _, _) => Some(limiter),
            (None, Some(url), Some(limit)) => {
                let limiter: Arc<dyn Limiter> = Arc::new(
                    crate::stack::redis_limiter::RedisLimiter::builder(url, key.expose(), limit)
                        .build_lazy()?,
                );
                Some(limiter)
            }
            (None, _, _) => None,
        };
        #[cfg(not(feature = "redis-limiter"))]
        let limiter = self.limiter;
        let limiter: Option<Arc<dyn Limiter>> = match (limiter, self.rate_limit) {
            (Some(limiter), _) => Some(limiter),
            (None, Some(limit)) => Some(Arc::new(LocalLimiter::new(limit))),
            (None, None) => None,
        };
        let rate_limit = limiter.map(|l| RateLimitLayer::new(l, self.rate_limit_mode));

        let stack = ServiceBuilder::new()
            .layer(TracingLayer::new())
            .layer(TimeoutLayer::total(self.total_timeout))
            .layer(retry.layer())
            .layer(option_layer(rate_limit))
            .layer(AuthLayer::new(key.clone(), base.origin().clone()))
            .layer(TimeoutLayer::attempt(self.attempt_timeout))
            .service(transport);
        // The default stack already speaks `Body` and `Error`: boxed as it is, without the
        // conversions `boxed` wraps around other services (each would copy the future again).
        let service = self
            .outer
            .into_iter()
            .fold(BoxCloneSyncService::new(stack), |service, layer| {
                layer(service)
            });

        Ok(Client {
            inner: Arc::new(Inner { base, key, service }),
        })
    }
}

struct Inner {
    base: BaseUrl,
    key: ApiKey,
    service: BoxService,
}

/// A LiveAgent API client.
///
/// Cheap to clone (one reference count): clones share the connection pool, the rate limiter and
/// the retry budget. `Send + Sync`, so one client serves every task of a program.
///
/// The domain crates (`la-tickets`, `la-calls`, ...) add the API's operations to it through
/// their `ClientExt` traits; [`Client::execute`] sends any [`Request`] directly.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base.as_str())
            .field("api_key", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client for the account and key in the environment: `LIVEAGENT_URL` (a base URL, or an
    /// account name) and `LIVEAGENT_API_KEY`.
    pub fn from_env() -> Result<Client, Error> {
        Self::builder_from_env()?.build()
    }

    /// A builder preset from the environment (see [`Client::from_env`]), to adjust further.
    pub fn builder_from_env() -> Result<ClientBuilder, Error> {
        let url = std::env::var(ENV_URL)
            .map_err(|_| Error::config(format!("{ENV_URL} is not set (or not valid UTF-8)")))?;
        let key = std::env::var(ENV_API_KEY)
            .map_err(|_| Error::config(format!("{ENV_API_KEY} is not set (or not valid UTF-8)")))?;
        let builder = Self::builder().api_key(key);
        Ok(if url.contains("://") {
            builder.base_url(&url)
        } else {
            builder.account(url.trim())
        })
    }

    /// A builder whose transport is `service` instead of reqwest; see
    /// [`ClientBuilder::transport`].
    pub fn from_service<S, B, E>(service: S) -> ClientBuilder
    where
        S: Service<http::Request<Body>, Response = http::Response<B>, Error = E>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
        E: Into<BoxError> + 'static,
    {
        Self::builder().transport(service)
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &BaseUrl {
        &self.inner.base
    }

    /// The API key, to scrub it from text the server sends back.
    pub(crate) fn key(&self) -> &ApiKey {
        &self.inner.key
    }

    /// The whole middleware stack as a tower service, for use with tower utilities.
    pub fn service(&self) -> BoxService {
        self.inner.service.clone()
    }

    /// The stack, for the calls of this client.
    pub(crate) fn stack(&self) -> &BoxService {
        &self.inner.service
    }

    /// Sends a request through the stack and returns the answer, whatever its status.
    ///
    /// The request is built when this is called (one that cannot be built fails from the
    /// future); nothing is sent before the future is polled. The future does not borrow the
    /// client.
    pub fn send(
        &self,
        request: Request,
    ) -> impl Future<Output = Result<http::Response<Bytes>, Error>> + Send + 'static {
        Call::new(self, request).map(|result| result.map(|(response, _)| response))
    }

    /// Sends a request and decodes a successful JSON answer into `T`; a failure status becomes
    /// [`Error::Api`].
    ///
    /// The request is built when this is called (one that cannot be built fails from the
    /// future); nothing is sent before the future is polled. The future does not borrow the
    /// client.
    pub fn execute<T: DeserializeOwned>(
        &self,
        request: Request,
    ) -> impl Future<Output = Result<T, Error>> + Send + 'static {
        self.clone().execute_built(Ok(request))
    }

    /// [`Client::execute`] for a client handed over by value and a request that may have failed
    /// to build (the error then comes out of the future): what the generated operations'
    /// `send` methods return as it is.
    pub fn execute_built<T: DeserializeOwned>(
        self,
        request: Result<Request, Error>,
    ) -> impl Future<Output = Result<T, Error>> + Send + 'static {
        let call = match request {
            Ok(request) => Call::new(&self, request),
            Err(error) => Call::refused(error),
        };
        call.map(move |result| {
            let (response, target) = result?;
            response::decode_value(|| target.context(), &response, Some(self.key()))
        })
    }

    /// Like [`Client::execute`], keeping the status and headers of the answer.
    pub fn execute_decoded<T: DeserializeOwned>(
        &self,
        request: Request,
    ) -> impl Future<Output = Result<Decoded<T>, Error>> + Send + 'static {
        let client = self.clone();
        Call::new(self, request).map(move |result| {
            let (response, target) = result?;
            response::decode_with(|| target.context(), response, Some(client.key()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names_map_to_ladesk_urls() {
        let base = BaseUrl::for_account("Acme-1").unwrap();
        assert_eq!(base.as_str(), "https://acme-1.ladesk.com/api/v3");
        assert_eq!(base.path(), "/api/v3");
        for bad in ["", "-acme", "acme-", "ac me", "acme.evil.com", "a/b", "a?b"] {
            assert!(
                matches!(BaseUrl::for_account(bad), Err(Error::Config { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn plain_http_is_refused_except_for_loopback() {
        let err = BaseUrl::parse("http://acme.ladesk.com/api/v3").unwrap_err();
        assert!(err.to_string().contains("refusing plain http://"), "{err}");
        for ok in [
            "http://127.0.0.1:8080/api/v3",
            "http://localhost/api/v3/",
            "http://[::1]:9000/api/v3",
            "https://acme.ladesk.com/api/v3",
        ] {
            assert!(BaseUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ftp://acme.ladesk.com/api/v3",
            "https://user:pw@acme.ladesk.com/api/v3",
            "https://acme.ladesk.com/api/v3?apikey=x",
            "not a url",
        ] {
            assert!(
                matches!(BaseUrl::parse(bad), Err(Error::Config { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn base_url_is_normalised_without_trailing_slash() {
        let base = BaseUrl::parse("http://localhost:8080/api/v3/").unwrap();
        assert_eq!(base.as_str(), "http://localhost:8080/api/v3");
        assert_eq!(base.path(), "/api/v3");
        let bare = BaseUrl::parse("https://example.com").unwrap();
        assert_eq!(bare.as_str(), "https://example.com");
        assert_eq!(bare.path(), "");
    }

    #[test]
    fn origin_matches_scheme_host_and_port() {
        let base = BaseUrl::parse("https://acme.ladesk.com/api/v3").unwrap();
        let origin = base.origin();
        assert!(origin.matches(&"https://acme.ladesk.com/api/v3/x".parse().unwrap()));
        assert!(origin.matches(&"https://ACME.ladesk.com:443/x".parse().unwrap()));
        assert!(!origin.matches(&"http://acme.ladesk.com/x".parse().unwrap()));
        assert!(!origin.matches(&"https://evil.com/x".parse().unwrap()));
        assert!(!origin.matches(&"https://acme.ladesk.com:8443/x".parse().unwrap()));

        // A base URL with a port: the same text, the same port written another way, and others.
        let local = BaseUrl::parse("http://127.0.0.1:8080/api/v3").unwrap();
        let origin = local.origin();
        assert!(origin.matches(&"http://127.0.0.1:8080/api/v3/x".parse().unwrap()));
        assert!(origin.matches(&"http://127.0.0.1:08080/x".parse().unwrap()));
        assert!(!origin.matches(&"http://127.0.0.1/x".parse().unwrap()));
        assert!(!origin.matches(&"http://127.0.0.1:8081/x".parse().unwrap()));
        assert!(!origin.matches(&"https://127.0.0.1:8080/x".parse().unwrap()));
        assert!(!origin.matches(&"http://127.0.0.2:8080/x".parse().unwrap()));
        assert!(!origin.matches(&"/api/v3/x".parse().unwrap()));
    }

    #[test]
    fn build_reports_missing_settings() {
        let err = Client::builder().api_key("k-123456").build().unwrap_err();
        assert!(err.to_string().contains("no API base URL"), "{err}");
        let err = Client::builder().account("acme").build().unwrap_err();
        assert!(err.to_string().contains("no API key"), "{err}");
    }

    #[test]
    fn client_builds_outside_a_runtime_and_hides_the_key() {
        let client = Client::builder()
            .account("acme")
            .api_key("super-secret-key")
            .build()
            .unwrap();
        let debug = format!("{client:?}");
        assert!(!debug.contains("super-secret-key"), "{debug}");
        let builder = Client::builder()
            .account("acme")
            .api_key("super-secret-key");
        assert!(!format!("{builder:?}").contains("super-secret-key"));
    }
}
