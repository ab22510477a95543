//! The `audit` step as a Lambda function: append to and verify the signed audit chain.
//! Wiring only; the capability lives in `layers/`.

use secops_lambda::{not_built_yet, serve, start};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let _config = start("audit")?;
    serve(not_built_yet("audit", "the audit chain")).await
}
