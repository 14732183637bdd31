//! Add your own tower layers around and inside the default middleware stack, keeping every
//! default (tracing, timeouts, retries, rate limit, authentication).
//!
//! - an **outer** layer sees each call once, as your program made it: here, metrics per
//!   operation (calls and total time, retries and rate-limit waits included);
//! - an **inner** layer sits next to the transport and sees every attempt: here, a request id
//!   header set on each attempt, with tower-http's `SetRequestHeaderLayer`.
//!
//! To show the difference, the simulator fails the first two attempts of one call with 503: the
//! outer layer counts one call, the inner layer stamps three attempts.
//!
//! ```text
//! cargo run --example custom_layer
//! ```

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue};
use liveagent::prelude::*;
use liveagent::request::RequestMeta;
use liveagent::{Body, ClientBuilder};
use liveagent_examples::{BoxError, connect};
use tower::{Layer, Service};
use tower_http::set_header::SetRequestHeaderLayer;

/// Calls and total time per operation.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    by_operation: Arc<Mutex<BTreeMap<String, (u64, Duration)>>>,
}

impl Metrics {
    fn record(&self, operation: &str, elapsed: Duration) {
        let mut map = self
            .by_operation
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = map.entry(operation.to_owned()).or_default();
        entry.0 += 1;
        entry.1 += elapsed;
    }

    /// A copy of the figures: operation → (calls, total time).
    pub fn snapshot(&self) -> BTreeMap<String, (u64, Duration)> {
        self.by_operation
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// The layer that records [`Metrics`].
#[derive(Clone, Debug)]
pub struct MetricsLayer(pub Metrics);

impl<S> Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> MetricsService<S> {
        MetricsService {
            inner,
            metrics: self.0.clone(),
        }
    }
}

/// The service made by [`MetricsLayer`].
#[derive(Clone, Debug)]
pub struct MetricsService<S> {
    inner: S,
    metrics: Metrics,
}

impl<S> Service<http::Request<Body>> for MetricsService<S>
where
    S: Service<http::Request<Body>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The path template ("/tickets/{ticketId}") names the operation without its ids.
        let operation = format!(
            "{} {}",
            request.method(),
            request
                .extensions()
                .get::<RequestMeta>()
                .map_or("?", |meta| meta.path_template)
        );
        let metrics = self.metrics.clone();
        let started = Instant::now();
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            metrics.record(&operation, started.elapsed());
            result
        })
    }
}

/// Request ids handed out to attempts.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The request-id header.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Adds both layers to a client builder.
pub fn with_layers(builder: ClientBuilder, metrics: Metrics) -> ClientBuilder {
    builder
        .layer_outer(MetricsLayer(metrics))
        .layer_inner(SetRequestHeaderLayer::overriding(
            REQUEST_ID,
            |_: &http::Request<Body>| {
                let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
                HeaderValue::from_str(&format!("req-{id}")).ok()
            },
        ))
}

/// Makes a few calls and prints what the layers saw.
pub async fn run(client: &Client, metrics: &Metrics) -> Result<(), BoxError> {
    client.default_api().ping().send().await?;
    let tickets = client
        .tickets()
        .get_tickets_list()
        .per_page(5)
        .send()
        .await?;
    for ticket in tickets.iter().take(2) {
        if let Some(id) = &ticket.id {
            client.tickets().get_ticket(id.as_str()).send().await?;
        }
    }
    println!("Calls seen by the outer (metrics) layer:");
    for (operation, (calls, total)) in metrics.snapshot() {
        println!("  {operation:<28} {calls} call(s), {total:?} in total");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let metrics = Metrics::default();
    let connection = connect(20, |builder| with_layers(builder, metrics.clone())).await?;
    if let Some(sim) = &connection.simulator {
        // Fail the first two pings with 503, so the retry layer (between the two custom
        // layers) retries: one call for the outer layer, three attempts for the inner one.
        sim.add_fault(la_mock::FaultRule::operation("ping", la_mock::Fault::status(503)).times(2));
    }
    let before = NEXT_ID.load(Ordering::Relaxed);
    run(&connection.client, &metrics).await?;
    let stamped = NEXT_ID.load(Ordering::Relaxed) - before;
    println!(
        "Attempts stamped with an x-request-id by the inner layer: {stamped} \
         (the failed pings were retried inside the outer layer's single call)"
    );
    Ok(())
}
