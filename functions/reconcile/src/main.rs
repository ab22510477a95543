//! The `reconcile` step as a Lambda function: turn snapshots into answers (EDR coverage, posture, reachability).
//! Wiring only; the capability lives in `layers/`.

use secops_lambda::{not_built_yet, serve, start};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let _config = start("reconcile")?;
    serve(not_built_yet("reconcile", "reconciliation")).await
}
