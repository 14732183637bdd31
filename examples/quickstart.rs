//! Quickstart: check the connection, create a ticket, read its messages, list tickets with a
//! filter, stream every page, and print a short summary.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! Without `LIVEAGENT_URL` and `LIVEAGENT_API_KEY` it runs against the built-in simulator.

use futures_util::TryStreamExt;
use liveagent::prelude::*;
use liveagent::tickets::models::{TicketListItem, TicketStatus};
use liveagent_examples::{BoxError, connect, defaults};

/// What the quickstart did.
#[derive(Debug)]
pub struct Summary {
    /// The id of the ticket it created.
    pub ticket_id: String,
    /// Its code, as agents see it.
    pub ticket_code: String,
    /// Messages found on the new ticket.
    pub messages: usize,
    /// New tickets on the first filtered page.
    pub new_tickets: usize,
    /// Pages streamed.
    pub pages: usize,
    /// Tickets streamed.
    pub tickets: usize,
}

/// The quickstart's steps, on any client.
pub async fn run(client: &Client) -> Result<Summary, BoxError> {
    // 1. Is the API reachable, and is the key accepted?
    client.default_api().ping().send().await?;
    println!("1. ping: the API answered and accepted the key");

    // 2. Create a ticket in the first department. Required fields are the constructor's
    //    arguments (departmentid, message, recipient, subject, useridentifier).
    let departments = client
        .departments()
        .get_department_list()
        .per_page(1)
        .send()
        .await?;
    let department = departments
        .first()
        .and_then(|d| d.department_id.clone())
        .ok_or("the account has no department to file the ticket in")?;
    let mut ticket = TicketListItem::new(
        department,
        "My printer prints only question marks. Can you help?",
        "support@example.com",
        "Printer trouble",
        "jane.doe@example.com",
    );
    ticket.tags = Some(vec!["printer".to_owned()]);
    let created = client.tickets().create_ticket().body(ticket).send().await?;
    let ticket_id = created
        .id
        .clone()
        .ok_or("the server returned no ticket id")?;
    let ticket_code = created.code.clone().unwrap_or_default();
    println!("2. created ticket {ticket_code} (id {ticket_id})");

    // 3. The ticket's message groups hold the message it was created with.
    let groups = client
        .tickets()
        .get_ticket_message_groups(ticket_id.as_str())
        .send()
        .await?;
    let messages: usize = groups
        .iter()
        .map(|group| group.messages.as_ref().map_or(0, Vec::len))
        .sum();
    println!(
        "3. the ticket has {} message group(s) with {messages} message(s)",
        groups.len()
    );

    // 4. List new tickets: `_filters` is built and checked by `Filters`.
    let new_tickets = client
        .tickets()
        .get_tickets_list()
        .filters(Filters::conditions().eq("status", TicketStatus::New.as_str()))
        .per_page(5)
        .send()
        .await?;
    println!(
        "4. first page of new tickets: {}",
        new_tickets
            .iter()
            .filter_map(|t| t.subject.as_deref())
            .collect::<Vec<_>>()
            .join(" | ")
    );

    // 5. Stream every page of the ticket list (one request per page, through the rate limiter).
    let mut pages = client.tickets().get_tickets_list().per_page(25).pages();
    let (mut page_count, mut tickets) = (0, 0);
    while let Some(page) = pages.try_next().await? {
        page_count += 1;
        tickets += page.items.len();
    }
    println!("5. streamed {tickets} tickets in {page_count} pages");

    Ok(Summary {
        ticket_id,
        ticket_code,
        messages,
        new_tickets: new_tickets.len(),
        pages: page_count,
        tickets,
    })
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let connection = connect(60, defaults).await?;
    let summary = run(&connection.client).await?;
    println!(
        "\nSummary: created ticket {} with {} message(s); {} new ticket(s) on the first filtered page; \
         {} tickets in {} pages.",
        summary.ticket_code, summary.messages, summary.new_tickets, summary.tickets, summary.pages
    );
    Ok(())
}
