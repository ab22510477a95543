//! The `notify` step as a Lambda function: tickets (open, close, remind), incident alerts, batch
//! announcements and summaries, and the outbox replay. Wiring only; the capability lives in
//! `layers/notify` (delivery) and `layers/soar` (the ticket lifecycle).

use std::sync::Arc;

use secops_lambda::{serve, start};
use secops_notify::step::NotifyStep;
use secops_soar::setup::{Connections, Outbound};
use secops_soar::step::TicketStep;
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = start("notify")?;
    let aws = secops_soar::setup::needs_aws(&config) || secops_notify::setup::needs_aws(&config);
    let c = Connections::open(&config, true, aws).await?;
    let notifier = Arc::new(secops_notify::setup::notifier(&config, c.pool()?, c.aws.as_ref()).await?);
    let outbound = Outbound { ticketing: notifier.clone(), alerts: notifier.clone() };
    let tickets = TicketStep::new(secops_soar::setup::soar(&config, c.pool.clone(), c.aws.as_ref(), outbound).await?);
    let own = NotifyStep::new(notifier);
    serve(|event: Value| {
        let (tickets, own) = (tickets.clone(), own.clone());
        async move {
            match event.get("action").and_then(Value::as_str) {
                Some(action) if TicketStep::handles(action) => tickets.handle(event).await,
                _ => own.handle(event).await,
            }
        }
    })
    .await
}
