//! The body type that travels through the middleware stack.
//!
//! Requests and responses of the LiveAgent API are small JSON (or form, or multipart) documents,
//! so the SDK buffers them: a request body is a [`Bytes`] that can be cloned for a retry at no
//! cost, and the transport reads a whole response (up to a size limit) before the layers above
//! look at it. A custom layer may still wrap a response in a body type of its own (tower-http's
//! layers do); [`Body::new`] accepts any `http_body::Body` and [`Body::collect`] reads it back.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;

use crate::error::BoxError;

/// A request or response body.
pub struct Body {
    kind: Kind,
}

enum Kind {
    Full(Option<Bytes>),
    Boxed(UnsyncBoxBody<Bytes, BoxError>),
}

impl Body {
    /// An empty body.
    pub fn empty() -> Self {
        Self {
            kind: Kind::Full(None),
        }
    }

    /// A body holding the given bytes.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        Self {
            kind: Kind::Full((!bytes.is_empty()).then_some(bytes)),
        }
    }

    /// Wraps any `http_body::Body` whose chunks are [`Bytes`].
    pub fn new<B>(body: B) -> Self
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Self {
            kind: Kind::Boxed(body.map_err(Into::into).boxed_unsync()),
        }
    }

    /// The bytes of a buffered body without reading anything; `None` for a streaming body.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.kind {
            Kind::Full(Some(bytes)) => Some(bytes),
            Kind::Full(None) => Some(&[]),
            Kind::Boxed(_) => None,
        }
    }

    /// The bytes of a buffered body, without reading anything; a streaming body comes back as
    /// the error, unread.
    pub fn into_bytes(self) -> Result<Bytes, Body> {
        match self.kind {
            Kind::Full(bytes) => Ok(bytes.unwrap_or_default()),
            kind @ Kind::Boxed(_) => Err(Body { kind }),
        }
    }

    /// A cheap copy of a buffered body (the bytes are reference-counted); `None` for a streaming
    /// body, which can be read only once.
    pub fn try_clone(&self) -> Option<Body> {
        match &self.kind {
            Kind::Full(bytes) => Some(Body {
                kind: Kind::Full(bytes.clone()),
            }),
            Kind::Boxed(_) => None,
        }
    }

    /// Reads the whole body.
    pub async fn collect(self) -> Result<Bytes, BoxError> {
        match self.kind {
            Kind::Full(bytes) => Ok(bytes.unwrap_or_default()),
            Kind::Boxed(body) => Ok(BodyExt::collect(body).await?.to_bytes()),
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Self::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Full(bytes) => f
                .debug_struct("Body")
                .field("len", &bytes.as_ref().map_or(0, Bytes::len))
                .finish(),
            Kind::Boxed(_) => f.debug_struct("Body").field("streaming", &true).finish(),
        }
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Self::full(bytes)
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Self::full(bytes)
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Self::full(text)
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Self {
        Self::full(Bytes::from_static(text.as_bytes()))
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().kind {
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Boxed(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(bytes) => bytes.is_none(),
            Kind::Boxed(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, Bytes::len) as u64),
            Kind::Boxed(body) => body.size_hint(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn full_body_round_trips_and_clones() {
        let body = Body::full("hello");
        assert_eq!(body.as_bytes(), Some(&b"hello"[..]));
        let copy = body.try_clone().map(|b| b.as_bytes().map(<[u8]>::to_vec));
        assert_eq!(copy, Some(Some(b"hello".to_vec())));
        assert_eq!(
            body.collect().await.ok(),
            Some(Bytes::from_static(b"hello"))
        );
    }

    #[tokio::test]
    async fn boxed_body_is_collected() {
        let inner = http_body_util::Full::new(Bytes::from_static(b"abc"));
        let body = Body::new(inner);
        assert!(body.as_bytes().is_none());
        assert!(body.try_clone().is_none());
        assert_eq!(body.collect().await.ok(), Some(Bytes::from_static(b"abc")));
    }

    #[test]
    fn empty_body_reports_end_of_stream() {
        use http_body::Body as _;
        let body = Body::full(Vec::new());
        assert!(body.is_end_stream());
        assert_eq!(body.size_hint().exact(), Some(0));
    }
}
