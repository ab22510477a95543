//! The `reconcile` step as a Lambda function: EDR matching and S3/RDS posture over the newest
//! snapshot. Wiring only; the capability lives in `layers/inventory`.

use secops_inventory::step::InventoryStep;
use secops_lambda::{serve, start};
use secops_soar::setup::Connections;
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = start("reconcile")?;
    let c = Connections::open(&config, true, false).await?;
    let step = InventoryStep::new(c.pool()?, None);
    serve(|event: Value| {
        let step = step.clone();
        async move { step.handle(event).await }
    })
    .await
}
