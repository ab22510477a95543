//! Reporting on a Step Functions task token (SendTaskHeartbeat / SendTaskSuccess /
//! SendTaskFailure): to Step Functions on AWS, to the executor's loopback endpoint locally (the
//! SDK honours `AWS_ENDPOINT_URL_SFN`).

use aws_types::SdkConfig;
use secops_core::StepError;
use serde_json::Value;

use crate::errors::AwsError;

/// Step Functions' limit on SendTaskFailure's `cause`.
const MAX_CAUSE_CHARS: usize = 32_768;

/// One task token and the client to report on it with.
#[derive(Debug, Clone)]
pub struct TaskTokenReporter {
    client: aws_sdk_sfn::Client,
    token: String,
}

impl TaskTokenReporter {
    pub fn new(config: &SdkConfig, token: impl Into<String>) -> Self {
        Self { client: aws_sdk_sfn::Client::new(config), token: token.into() }
    }

    pub async fn heartbeat(&self) -> Result<(), AwsError> {
        let call = self.client.send_task_heartbeat().task_token(&self.token).send().await;
        call.map(|_| ()).map_err(|e| AwsError::from_sdk("states:SendTaskHeartbeat", e))
    }

    pub async fn succeed(&self, output: &Value) -> Result<(), AwsError> {
        let call = self.client.send_task_success().task_token(&self.token).output(output.to_string()).send().await;
        call.map(|_| ()).map_err(|e| AwsError::from_sdk("states:SendTaskSuccess", e))
    }

    /// Report a step's outcome: its output, or its error.
    pub async fn report(&self, outcome: &Result<Value, StepError>) -> Result<(), AwsError> {
        match outcome {
            Ok(output) => self.succeed(output).await,
            Err(error) => self.fail(error).await,
        }
    }

    /// Report a step error: its class is the error name the state machine's Retry/Catch match.
    pub async fn fail(&self, error: &StepError) -> Result<(), AwsError> {
        self.fail_named(error.name(), &error.message).await
    }

    /// Fail the task with an error name of the caller's choosing (e.g. `Rejected`).
    pub async fn fail_named(&self, error: &str, cause: &str) -> Result<(), AwsError> {
        let cause: String = cause.chars().take(MAX_CAUSE_CHARS).collect();
        let call = self.client.send_task_failure().task_token(&self.token).error(error).cause(cause).send().await;
        call.map(|_| ()).map_err(|e| AwsError::from_sdk("states:SendTaskFailure", e))
    }
}
