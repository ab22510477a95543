//! The `decide` step as a Lambda function: route one Security Hub finding to suppress / remediate / ticket / incident.
//! Wiring only; the capability lives in `layers/`.

use secops_lambda::{not_built_yet, serve, start};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let _config = start("decide")?;
    serve(not_built_yet("decide", "the per-finding decision")).await
}
