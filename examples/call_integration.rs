//! Drive a call through its lifecycle, as a telephony integration (a PBX or a softphone bridge)
//! reports it to LiveAgent: the call is created, rings, is answered, transferred, gets a note and
//! a recording, and ends.
//!
//! ```text
//! cargo run --example call_integration
//! ```
//!
//! Without `LIVEAGENT_URL` and `LIVEAGENT_API_KEY` it runs against the built-in simulator.

use liveagent::FilePart;
use liveagent::calls::models::CallMessage;
use liveagent::prelude::*;
use liveagent_examples::{BoxError, connect, defaults};

/// The call statuses seen after each step, as sent by the server.
pub type Trace = Vec<(&'static str, String)>;

/// Runs the lifecycle of a call with id `call_id`; returns the status after each step.
pub async fn run(client: &Client, call_id: &str) -> Result<Trace, BoxError> {
    let calls = client.calls();
    let mut trace = Trace::new();
    let mut record = |step: &'static str, status: Option<String>| {
        let status = status.unwrap_or_else(|| "?".to_owned());
        println!("{step:<10} -> status {status}");
        trace.push((step, status));
    };
    let status_of = |call_id: &str| {
        let calls = client.calls();
        let call_id = call_id.to_owned();
        async move {
            let status = calls.call_get_status(call_id).send().await?;
            Ok::<_, Error>(status.status.map(|s| s.as_str().to_owned()))
        }
    };

    // A customer calls the support line: the PBX announces the call.
    let call = calls
        .call_create(call_id, "+421900111222", "+421255500100")
        .direction("in")
        .send()
        .await?;
    println!(
        "created call {} ({})",
        call.id.as_deref().unwrap_or(call_id),
        call.direction.as_ref().map_or("?", |d| d.as_str())
    );
    record("created", status_of(call_id).await?);

    // The phones of the department ring.
    let ringing = calls.call_ring(call_id).send().await?;
    record("ringing", ringing.status.map(|s| s.as_str().to_owned()));

    // An agent picks up.
    calls.call_answer(call_id, "+421255500100").send().await?;
    record("answered", status_of(call_id).await?);

    // The agent transfers the caller to a colleague's extension.
    let transfer = calls
        .call_transfer(call_id)
        .to("+421255500101")
        .send()
        .await?;
    println!(
        "transferred to {}",
        transfer.to_number.as_deref().unwrap_or("?")
    );
    record("transfer", status_of(call_id).await?);

    // The integration adds a note and the recording to the call.
    calls
        .call_add_message(call_id)
        .body(CallMessage::new(
            "Customer asked for a callback about invoice 2024-117.",
            "T",
        ))
        .send()
        .await?;
    calls
        .call_add_recording(
            call_id,
            FilePart::new(
                b"RIFF....WAVEfmt ".to_vec(),
                format!("{call_id}.wav"),
                "audio/wav",
            ),
        )
        .send()
        .await?;
    record("annotated", status_of(call_id).await?);

    // The caller hangs up.
    calls.call_stop(call_id).send().await?;
    record("stopped", status_of(call_id).await?);
    Ok(trace)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let connection = connect(10, defaults).await?;
    let call_id = format!("example-{}", std::process::id());
    let trace = run(&connection.client, &call_id).await?;
    println!(
        "\nThe call went through {}.",
        trace
            .iter()
            .map(|(step, status)| format!("{step} ({status})"))
            .collect::<Vec<_>>()
            .join(" → ")
    );
    Ok(())
}
