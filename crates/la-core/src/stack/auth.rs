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
    /// The shortest key accepted. Real LiveAgent keys are much longer; a key of a few characters
    /// is a mistake (a placeholder, a truncated variable), and redacting it from the server's
    /// text would mangle ordinary words.
    pub const MIN_LEN: usize = 8;

    /// Wraps a key, refusing one that cannot be a LiveAgent key.
    ///
    /// Leading and trailing whitespace is removed. Refused with [`Error::Config`] (whose message
    /// never contains the key): an empty key, a key shorter than [`ApiKey::MIN_LEN`]
    /// characters, and a key with anything but visible ASCII characters (no spaces, control
    /// characters or non-ASCII letters).
    pub fn new(key: impl Into<SecretString>) -> Result<Self, Error> {
        let secret: SecretString = key.into();
        let text = secret.expose_secret().trim();
        if text.is_empty() {
            return Err(Error::config("the API key is empty"));
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::config(
                "the API key may hold only visible ASCII characters \
                 (letters, digits and punctuation; no spaces, control characters or non-ASCII)",
            ));
        }
        if text.len() < Self::MIN_LEN {
            return Err(Error::config(format!(
                "the API key is {} characters long, which is too short for a LiveAgent key \
                 (at least {} expected): check that the whole key was passed",
                text.len(),
                Self::MIN_LEN
            )));
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
    ///
    /// Redact a text whole, before shortening it: a key cut in two by shortening is no longer
    /// found, and its first part would stay. [`crate::response::excerpt`] does both in that
    /// order.
    pub fn redact(&self, text: &str) -> String {
        text.replace(self.expose(), REDACTED)
    }
}

/// What [`ApiKey::redact`] puts in place of the key.
pub const REDACTED: &str = "[REDACTED]";

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
        assert!(matches!(
            ApiKey::new("abcd\nefgh"),
            Err(Error::Config { .. })
        ));
    }

    /// Each refusal is a configuration error that says what is wrong and never shows the key.
    fn refusal(key: &str) -> String {
        match ApiKey::new(key.to_owned()) {
            Err(error @ Error::Config { .. }) => {
                let text = error.to_string();
                let shown = format!("{error:?}");
                for part in [key.trim(), &key.trim().chars().take(4).collect::<String>()] {
                    if part.chars().count() >= 2 {
                        assert!(!text.contains(part), "{key:?}: {text}");
                        assert!(!shown.contains(part), "{key:?}: {shown}");
                    }
                }
                text
            }
            Err(other) => panic!("{key:?}: not a configuration error: {other:?}"),
            Ok(_) => panic!("{key:?}: accepted"),
        }
    }

    #[test]
    fn keys_shorter_than_eight_characters_are_refused() {
        let full = "Zq7Wm3Kp";
        for len in 1..ApiKey::MIN_LEN {
            let key = &full[..len];
            let message = refusal(key);
            assert!(message.contains("too short"), "{key:?}: {message}");
            assert!(
                message.contains(&format!("{len} characters")),
                "{key:?}: {message}"
            );
            // Surrounding whitespace does not count towards the length.
            refusal(&format!("  {key}  "));
        }
        assert!(ApiKey::new(full).is_ok());
        assert_eq!(ApiKey::new(" Zq7Wm3Kp\t").unwrap().expose(), full);
    }

    #[test]
    fn keys_with_anything_but_visible_ascii_are_refused() {
        for key in [
            "clé-secrète-123",
            "kéy12345",
            "Zk9 12345678",
            "key\t12345678",
            "key\u{7f}12345678",
            "key\u{0}12345678",
            "\u{200b}key12345678",
            "ключключключ",
        ] {
            let message = refusal(key);
            assert!(message.contains("visible ASCII"), "{key:?}: {message}");
        }
        // Every visible ASCII character is fine.
        let all: String = (b'!'..=b'~').map(char::from).collect();
        assert!(ApiKey::new(all).is_ok());
    }

    #[test]
    fn redact_removes_every_occurrence() {
        let key = ApiKey::new("k3y-4567").unwrap();
        assert_eq!(
            key.redact("bad key k3y-4567, k3y-4567!"),
            "bad key [REDACTED], [REDACTED]!"
        );
        assert_eq!(key.redact("nothing"), "nothing");
        // Ordinary text that shares letters with the key is left alone.
        assert_eq!(key.redact("Ticket k3y-456"), "Ticket k3y-456");
    }
}
