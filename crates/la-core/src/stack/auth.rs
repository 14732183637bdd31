//! Authentication: adds the `apikey` header, and only for the API's own origin.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::{Either, Ready, ready};
use http::HeaderValue;
use http::header::HeaderName;
use secrecy::{ExposeSecret, SecretString};

use crate::body::Body;
use crate::client::Origin;
use crate::error::{Error, RequestContext};

/// The name of LiveAgent's authentication header.
pub const API_KEY_HEADER: HeaderName = HeaderName::from_static("apikey");

/// A LiveAgent API key.
///
/// The key is held in a [`secrecy::SecretString`]; `Debug` prints `ApiKey([REDACTED])` and there
/// is no `Display`. Clones share one allocation.
#[derive(Clone)]
pub struct ApiKey {
    secret: Arc<SecretString>,
    header: HeaderValue,
}

impl ApiKey {
    /// Wraps a key, refusing one that is empty or cannot be sent as a header value.
    pub fn new(key: impl Into<SecretString>) -> Result<Self, Error> {
        let secret: SecretString = key.into();
        let text = secret.expose_secret().trim();
        if text.is_empty() {
            return Err(Error::config("the API key is empty"));
        }
        let mut header = HeaderValue::from_str(text).map_err(|_| {
            Error::config("the API key contains characters that cannot be sent in a header")
        })?;
        header.set_sensitive(true);
        let secret = Arc::new(SecretString::from(text.to_owned()));
        Ok(Self { secret, header })
    }

    /// The key's text. Use with care: everything that prints it defeats the redaction.
    pub fn expose(&self) -> &str {
        self.secret.expose_secret()
    }

    /// The key as a header value marked sensitive.
    pub fn header_value(&self) -> &HeaderValue {
        &self.header
    }

    /// Replaces every occurrence of the key in `text` with `[REDACTED]`.
    pub fn redact(&self, text: &str) -> String {
        text.replace(self.expose(), "[REDACTED]")
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([REDACTED])")
    }
}

/// A layer that adds the `apikey` header to requests for one origin and refuses all others.
#[derive(Clone, Debug)]
pub struct AuthLayer {
    shared: Arc<Credentials>,
}

/// The key and the origin it may be sent to, behind one reference count: the stack is cloned
/// for every call.
#[derive(Debug)]
struct Credentials {
    key: ApiKey,
    origin: Origin,
}

impl AuthLayer {
    /// Authenticates requests to `origin` with `key`.
    pub fn new(key: ApiKey, origin: Origin) -> Self {
        Self {
            shared: Arc::new(Credentials { key, origin }),
        }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Auth<S> {
        Auth {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service made by [`AuthLayer`].
#[derive(Clone, Debug)]
pub struct Auth<S> {
    inner: S,
    shared: Arc<Credentials>,
}

impl<S> tower::Service<http::Request<Body>> for Auth<S>
where
    S: tower::Service<http::Request<Body>, Error = Error>,
{
    type Response = S::Response;
    type Error = Error;
    type Future = Either<S::Future, Ready<Result<S::Response, Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let Credentials { key, origin } = &*self.shared;
        if !origin.matches(request.uri()) {
            return Either::Right(ready(Err(Error::invalid_request(format!(
                "{}: refusing to send the API key to {}, which is not the configured API origin {}",
                RequestContext::of(&request),
                request
                    .uri()
                    .authority()
                    .map_or("an unknown host", |a| a.as_str()),
                origin
            )))));
        }
        request
            .headers_mut()
            .insert(API_KEY_HEADER, key.header_value().clone());
        Either::Left(self.inner.call(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let key = ApiKey::new("s3cr3t-key").unwrap();
        assert_eq!(format!("{key:?}"), "ApiKey([REDACTED])");
        assert!(!format!("{:?}", key.header_value()).contains("s3cr3t"));
    }

    #[test]
    fn empty_or_unprintable_keys_are_refused() {
        assert!(matches!(ApiKey::new("  "), Err(Error::Config { .. })));
        assert!(matches!(ApiKey::new("a\nb"), Err(Error::Config { .. })));
    }

    #[test]
    fn redact_removes_every_occurrence() {
        let key = ApiKey::new("k3y").unwrap();
        assert_eq!(
            key.redact("bad key k3y, k3y!"),
            "bad key [REDACTED], [REDACTED]!"
        );
        assert_eq!(key.redact("nothing"), "nothing");
    }
}
