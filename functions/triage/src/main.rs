//! The `triage` step as a Lambda function: select new findings and track the analysis batch.
//! Wiring only; the capability lives in `layers/`.

use secops_lambda::{not_built_yet, serve, start};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let _config = start("triage")?;
    serve(not_built_yet("triage", "triage selection")).await
}
