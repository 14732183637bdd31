//! The cost of the SDK's own middleware over a mock transport (no network): the full default
//! stack (limiter present but never binding, retries on) against the same stack without the
//! rate-limit and retry layers, and each of the two alone.
//!
//! `cargo bench -p liveagent-benches --bench layers`

#[path = "support.rs"]
mod support;

use std::convert::Infallible;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::Criterion;
use la_core::{Body, Client, RateLimit};
use la_tickets::ClientExt as _;

use support::{Result, env_or, is_bench_run, machine, median};

const TICKET: &[u8] = br#"{"id":"abc123","owner_contactid":"c1","owner_email":"jane@example.com","owner_name":"Jane Doe","departmentid":"d1","agentid":"a1","status":"N","tags":["t1","t2"],"code":"ABC-123","channel_type":"E","date_created":"2024-01-02 03:04:05","date_changed":"2024-01-02 03:04:05","last_activity":"2024-01-02 03:04:05","subject":"Printer on fire","custom_fields":[{"code":"priority","value":"high"}]}"#;

#[derive(Clone, Copy, Debug)]
enum Variant {
    /// The default stack: limiter (not binding) and retries.
    Full,
    /// Without the rate-limit and retry layers.
    Bare,
    /// Limiter only.
    LimiterOnly,
    /// Retries only.
    RetryOnly,
}

const VARIANTS: [(&str, Variant); 4] = [
    ("default_stack", Variant::Full),
    ("without_limiter_and_retry", Variant::Bare),
    ("limiter_only", Variant::LimiterOnly),
    ("retry_only", Variant::RetryOnly),
];

fn client(variant: Variant) -> Result<Client> {
    let transport = tower::service_fn(|_request: http::Request<Body>| async {
        Ok::<_, Infallible>(
            http::Response::builder()
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(Body::full(Bytes::from_static(TICKET)))
                .unwrap_or_default(),
        )
    });
    // A limit so high it never makes a request wait: the limiter's bookkeeping still runs.
    let open_limit = RateLimit::new(1_000_000_000, Duration::from_secs(1))?;
    let builder = Client::from_service(transport)
        .base_url("https://acme.ladesk.com/api/v3")
        .api_key("benchmark-key");
    let builder = match variant {
        Variant::Full => builder.rate_limit(open_limit),
        Variant::Bare => builder.no_rate_limit().no_retry(),
        Variant::LimiterOnly => builder.rate_limit(open_limit).no_retry(),
        Variant::RetryOnly => builder.no_rate_limit(),
    };
    Ok(builder.build()?)
}

async fn requests(client: &Client, n: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        let ticket = client.tickets().get_ticket("abc123").send().await;
        black_box(ticket.ok());
    }
    start.elapsed()
}

fn main() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let clients: Vec<(&str, Client)> = VARIANTS
        .iter()
        .map(|(name, variant)| Ok((*name, client(*variant)?)))
        .collect::<Result<_>>()?;
    for (name, client) in &clients {
        runtime
            .block_on(client.tickets().get_ticket("abc123").send())
            .map_err(|e| format!("{name}: {e}"))?;
    }
    println!("machine: {}", machine());

    let mut criterion = Criterion::default().configure_from_args();
    {
        let mut group = criterion.benchmark_group("stack_over_mock_transport");
        for (name, client) in &clients {
            group.bench_function(*name, |b| {
                b.iter_custom(|iters| runtime.block_on(requests(client, iters)));
            });
        }
        group.finish();
    }
    criterion.final_summary();

    if is_bench_run() {
        let rounds: usize = env_or("BENCH_ROUNDS", 9);
        let per_round: u64 = env_or("BENCH_REQUESTS", 200_000);
        let mut nanos: Vec<Vec<f64>> = vec![Vec::new(); clients.len()];
        for round in 0..rounds {
            for i in 0..clients.len() {
                let index = (i + round) % clients.len();
                let elapsed = runtime.block_on(requests(&clients[index].1, per_round));
                nanos[index].push(elapsed.as_nanos() as f64 / per_round as f64);
            }
        }
        let bare = &nanos[1];
        println!();
        println!(
            "interleaved, {rounds} rounds of {per_round} requests (median ns per request; \
             overhead = variant - without_limiter_and_retry, median of per-round differences):"
        );
        for (index, (name, _)) in clients.iter().enumerate() {
            let overhead: Vec<f64> = nanos[index].iter().zip(bare).map(|(v, b)| v - b).collect();
            println!(
                "  {name:<26} {:>8.0} ns/request   overhead {:>+6.0} ns",
                median(&nanos[index]),
                median(&overhead)
            );
        }
    }
    Ok(())
}
