//! The `remediate` step as a Lambda function: plan, apply and verify one control's auto-remediation
//! in the member account, and the approval gate's requests. Wiring only; the catalogue lives in
//! `layers/remediation`, approval announcements go out through `layers/notify`.

use std::sync::Arc;

use secops_lambda::{serve, start};
use secops_soar::setup::Connections;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = start("remediate")?;
    // Always AWS: the function runs in the SecOps account and assumes the member role.
    let c = Connections::open(&config, true, true).await?;
    let notifier = Arc::new(secops_notify::setup::notifier(&config, c.pool()?, c.aws.as_ref()).await?);
    let step = secops_remediation::setup::step(&config, c.aws.as_ref(), c.pool.clone(), Some(notifier));
    serve(|event| step.handle(event)).await
}
