//! The `remediate` step as a Lambda function: plan, apply and verify one control's auto-remediation.
//! Wiring only; the capability lives in `layers/`.

use secops_lambda::{not_built_yet, serve, start};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let _config = start("remediate")?;
    serve(not_built_yet("remediate", "the remediation catalogue")).await
}
