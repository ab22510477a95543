//! The `collect` step as a Lambda function: snapshot the estate (AWS across accounts, Falcon,
//! Cloudflare) into PostgreSQL. Wiring only; the capability lives in `layers/inventory`.

use secops_inventory::step::InventoryStep;
use secops_lambda::{serve, start};
use secops_soar::setup::Connections;
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = start("collect")?;
    let c = Connections::open(&config, true, secops_inventory::setup::needs_aws(&config)).await?;
    let source = secops_inventory::setup::source(&config, c.aws.as_ref()).await?;
    let step = InventoryStep::new(c.pool()?, Some(source));
    serve(|event: Value| {
        let step = step.clone();
        async move { step.handle(event).await }
    })
    .await
}
