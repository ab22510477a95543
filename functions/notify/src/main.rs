//! The `notify` step as a Lambda function: send tickets and chat summaries through the outbox.
//! Wiring only; the capability lives in `layers/`.

use secops_lambda::{init_tracing, not_built_yet, serve};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = secops_core::Config::from_env()?;
    init_tracing(config.log_format);
    tracing::info!(step = "notify", regions = ?config.regions, "starting");
    serve(not_built_yet("notify", "notification (Jira, Slack, outbox)")).await
}
