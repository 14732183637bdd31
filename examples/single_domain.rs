//! Use one domain crate alone, without the `liveagent` facade: `la-tickets` on `la-core`.
//!
//! ```toml
//! [dependencies]
//! la-core = "0.1"
//! la-tickets = "0.1"
//! ```
//!
//! Every domain crate works the same way: build an `la_core::Client`, bring the crate's
//! `ClientExt` into scope, and call its handles (`client.tickets()`, `client.tags()`, ...).
//!
//! ```text
//! cargo run --example single_domain
//! ```

use la_core::Filters;
use la_tickets::ClientExt as _;
use la_tickets::models::{Ticket, TicketStatus};
use liveagent_examples::{BoxError, connect, defaults};

/// Prints the account's tags and its first open tickets.
pub async fn run(client: &la_core::Client) -> Result<Vec<Ticket>, BoxError> {
    let tags = client.tags().get_tags_list().per_page(10).send().await?;
    println!(
        "Tags: {}",
        tags.iter()
            .filter_map(|t| t.name.as_deref())
            .collect::<Vec<_>>()
            .join(", ")
    );
    // The object form of `_filters`: column = value.
    let open = client
        .tickets()
        .get_tickets_list()
        .filters(Filters::by_column().eq("status", TicketStatus::Open.as_str()))
        .per_page(10)
        .send()
        .await?;
    println!("Open tickets:");
    for ticket in &open {
        println!(
            "  {} {}",
            ticket.code.as_deref().unwrap_or("?"),
            ticket.subject.as_deref().unwrap_or("")
        );
    }
    Ok(open)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // `connect` returns an `la_core::Client` (the facade only re-exports it).
    let connection = connect(40, defaults).await?;
    run(&connection.client).await?;
    Ok(())
}
