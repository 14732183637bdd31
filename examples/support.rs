//! What the examples share: a client for your LiveAgent account, or for the built-in simulator
//! when no account is configured.
//!
//! Set `LIVEAGENT_URL` (your API's base URL, such as `https://acme.ladesk.com/api/v3`, or just
//! the account name `acme`) and `LIVEAGENT_API_KEY` to run an example against a real account.
//! Without them, the example starts the simulator from the `la-mock` crate on 127.0.0.1 and says
//! so: no account and no network needed.

#![forbid(unsafe_code)]

use liveagent::client::{ENV_API_KEY, ENV_URL};
use liveagent::{Client, ClientBuilder};

pub use la_mock::Simulator;

/// The error type of the examples' `main`s.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A client, and the simulator it talks to when no account is configured.
pub struct Connection {
    /// The client.
    pub client: Client,
    /// The simulator, kept alive as long as the connection (it stops when dropped).
    pub simulator: Option<Simulator>,
}

/// Connects to the account in the environment, or starts the simulator with `seed_tickets`
/// tickets. `configure` may adjust the client (add layers, change limits) either way.
pub async fn connect(
    seed_tickets: usize,
    configure: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> Result<Connection, BoxError> {
    let url = std::env::var(ENV_URL).ok().filter(|v| !v.trim().is_empty());
    let key = std::env::var(ENV_API_KEY)
        .ok()
        .filter(|v| !v.trim().is_empty());
    match (url, key) {
        (Some(_), Some(_)) => {
            let client = configure(Client::builder_from_env()?).build()?;
            eprintln!("Using the LiveAgent API at {}.", client.base_url());
            Ok(Connection {
                client,
                simulator: None,
            })
        }
        (None, None) => {
            let simulator = Simulator::builder().tickets(seed_tickets).start().await?;
            eprintln!(
                "{ENV_URL} and {ENV_API_KEY} are not set: using the built-in LiveAgent simulator at {} \
                 (no account, no network).",
                simulator.base_url()
            );
            let builder = Client::builder()
                .base_url(simulator.base_url())
                .api_key(simulator.api_key());
            let client = configure(builder).build()?;
            Ok(Connection {
                client,
                simulator: Some(simulator),
            })
        }
        _ => Err(format!(
            "set both {ENV_URL} and {ENV_API_KEY} to use your account, or neither to use the simulator"
        )
        .into()),
    }
}

/// Leaves the client as it is.
pub fn defaults(builder: ClientBuilder) -> ClientBuilder {
    builder
}
