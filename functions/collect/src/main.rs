//! The `collect` step as a Lambda function: snapshot the estate (AWS, Falcon, Cloudflare) into PostgreSQL.
//! Wiring only; the capability lives in `layers/`.

use secops_lambda::{not_built_yet, serve, start};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let _config = start("collect")?;
    serve(not_built_yet("collect", "inventory collection")).await
}
