//! The `audit` step as a Lambda function: append to and verify the signed audit chain.
//! Wiring only; the capability lives in `layers/`.

use secops_lambda::{init_tracing, not_built_yet, serve};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = secops_core::Config::from_env()?;
    init_tracing(config.log_format);
    tracing::info!(step = "audit", regions = ?config.regions, "starting");
    serve(not_built_yet("audit", "the audit chain")).await
}
