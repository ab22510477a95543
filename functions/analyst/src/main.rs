//! The per-finding analysis binary: one finding, in isolation (an ECS Fargate task on AWS, a
//! subprocess locally). Not a Lambda. It reports on its task token with `aws-sdk-sfn` — to Step
//! Functions on AWS, to the executor's loopback endpoint locally (`AWS_ENDPOINT_URL_SFN`).
//!
//! Until the triage capability is built it sends one heartbeat and then SendTaskFailure with the
//! `InvalidInput` class a step would report, naming the finding, and exits 0: it reported
//! correctly. Exit 2: bad configuration (no task token); exit 1: the report itself failed.

use std::process::ExitCode;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_sfn::error::DisplayErrorContext;

/// Step Functions' limit on SendTaskFailure's `cause`.
const MAX_CAUSE_CHARS: usize = 32_768;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    if let Err(e) = secops_lambda::start("analyst") {
        eprintln!("analyst: {e}");
        return ExitCode::from(2);
    }
    let var = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let Some(token) = var("SECOPS_TASK_TOKEN") else {
        eprintln!("analyst: SECOPS_TASK_TOKEN is not set: the task token to report on is required");
        return ExitCode::from(2);
    };
    let finding_id = var("SECOPS_FINDING_ID").unwrap_or_else(|| "<none given>".into());
    let product_arn = var("SECOPS_FINDING_PRODUCT_ARN").unwrap_or_default();
    let execution_id = var("SECOPS_EXECUTION_ID").unwrap_or_default();
    let span = tracing::info_span!("analyst", finding_id = %finding_id, product_arn = %product_arn, execution_id = %execution_id);
    let _entered = span.enter();

    // The default chain: AWS_REGION, the credentials of the task role (or the local dummies), and
    // AWS_ENDPOINT_URL_SFN when it is set.
    let config = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(30))
                .build(),
        )
        .load()
        .await;
    let sfn = aws_sdk_sfn::Client::new(&config);

    if let Err(e) = sfn.send_task_heartbeat().task_token(&token).send().await {
        tracing::error!(error = %DisplayErrorContext(&e), "SendTaskHeartbeat failed");
        return ExitCode::from(1);
    }

    let err = secops_core::StepError::not_built_yet("analyst", "per-finding analysis");
    let mut cause = format!("per-finding analysis is not built yet, so finding {finding_id} was not analysed");
    if cause.chars().count() > MAX_CAUSE_CHARS {
        cause = cause.chars().take(MAX_CAUSE_CHARS).collect();
    }
    tracing::warn!(error_type = err.name(), "{cause}");
    if let Err(e) = sfn.send_task_failure().task_token(&token).error(err.name()).cause(cause).send().await {
        tracing::error!(error = %DisplayErrorContext(&e), "SendTaskFailure failed");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
