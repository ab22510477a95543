//! The `notify` step as a Lambda function: send tickets and chat summaries through the outbox.
//! Wiring only; the capability lives in `layers/`.

use secops_lambda::{not_built_yet, serve, start};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let _config = start("notify")?;
    serve(not_built_yet("notify", "notification (Jira, Slack, outbox)")).await
}
