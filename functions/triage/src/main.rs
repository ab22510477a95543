//! The `triage` step as a Lambda function: select new findings, book each analysis (and file its
//! ticket once), close the batch. Wiring only; the capability lives in `layers/triage`, tickets go
//! out through `layers/notify` and are recorded in decide's ticket store (`layers/soar`).

use std::sync::Arc;

use secops_lambda::{serve, start};
use secops_soar::setup::{Connections, Outbound};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = start("triage")?;
    let aws = secops_soar::setup::needs_aws(&config) || secops_notify::setup::needs_aws(&config);
    let c = Connections::open(&config, true, aws).await?;
    let notifier = Arc::new(secops_notify::setup::notifier(&config, c.pool()?, c.aws.as_ref()).await?);
    let outbound = Outbound { ticketing: notifier.clone(), alerts: notifier };
    let soar = secops_soar::setup::soar(&config, c.pool.clone(), c.aws.as_ref(), outbound).await?;
    let step = secops_triage::setup::step(&config, c.pool()?, Some(soar))?;
    serve(|event| step.handle(event)).await
}
