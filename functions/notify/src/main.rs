//! The `notify` step as a Lambda function: tickets (open, close, remind) and incident alerts.
//! Wiring only; the capability lives in `layers/soar` (tickets) and, later, `layers/notify`.

use secops_core::StepError;
use secops_lambda::{serve, start};
use secops_soar::step::TicketStep;
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = start("notify")?;
    let tickets = TicketStep::new(secops_soar::setup::soar_from_config(&config).await?);
    serve(|event: Value| {
        let tickets = tickets.clone();
        async move {
            let action = event.get("action").and_then(Value::as_str).unwrap_or_default();
            if TicketStep::handles(action) {
                tickets.handle(event).await
            } else {
                // The outbox replay and the triage summary come with the notify issue.
                Err(StepError::not_built_yet("notify", "notification (Jira, Slack, outbox)"))
            }
        }
    })
    .await
}
