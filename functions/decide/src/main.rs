//! The `decide` step as a Lambda function: route one Security Hub finding to suppress / remediate / ticket / incident.
//! Wiring only; the capability lives in `layers/soar`, tickets and alerts go out through `layers/notify`.

use std::sync::Arc;

use secops_lambda::{serve, start};
use secops_soar::setup::{Connections, Outbound};
use secops_soar::step::DecideStep;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = start("decide")?;
    let aws = secops_soar::setup::needs_aws(&config) || secops_notify::setup::needs_aws(&config);
    let c = Connections::open(&config, true, aws).await?;
    let notifier = Arc::new(secops_notify::setup::notifier(&config, c.pool()?, c.aws.as_ref()).await?);
    let outbound = Outbound { ticketing: notifier.clone(), alerts: notifier };
    let step = DecideStep::new(secops_soar::setup::soar(&config, c.pool.clone(), c.aws.as_ref(), outbound).await?);
    serve(|event| step.handle(event)).await
}
