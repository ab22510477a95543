//! The `audit` step as a Lambda function: append to, checkpoint and verify the signed audit chain.
//! Wiring only; the capability lives in `layers/audit`.

use secops_audit::step::AuditStep;
use secops_lambda::{serve, start};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = start("audit")?;
    let step = AuditStep::from_config(&config).await?;
    serve(|event| step.handle(event)).await
}
