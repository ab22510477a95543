//! The `decide` step as a Lambda function: route one Security Hub finding to suppress / remediate / ticket / incident.
//! Wiring only; the capability lives in `layers/soar`.

use secops_lambda::{serve, start};
use secops_soar::step::DecideStep;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = start("decide")?;
    let step = DecideStep::new(secops_soar::setup::soar_from_config(&config).await?);
    serve(|event| step.handle(event)).await
}
