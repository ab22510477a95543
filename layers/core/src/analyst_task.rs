//! What one analyst task is told through its environment: the container overrides the triage
//! state machine sets on `ecs:runTask.waitForTaskToken` (and the local subprocess runner copies).

use crate::ConfigError;

pub const TASK_TOKEN: &str = "SECOPS_TASK_TOKEN";
pub const FINDING_ID: &str = "SECOPS_FINDING_ID";
pub const FINDING_PRODUCT_ARN: &str = "SECOPS_FINDING_PRODUCT_ARN";
/// Which source the finding is from (`securityhub`, `inspector`, `guardduty`, `falcon`, `exposure`).
pub const FINDING_SOURCE: &str = "SECOPS_FINDING_SOURCE";
pub const EXECUTION_ID: &str = "SECOPS_EXECUTION_ID";

/// One finding to analyse and the token to report on.
#[derive(Clone, PartialEq, Eq)]
pub struct AnalystTask {
    /// The capability to report on: never logged.
    pub task_token: String,
    pub finding_id: Option<String>,
    pub product_arn: Option<String>,
    pub source: Option<String>,
    pub execution_id: Option<String>,
}

impl std::fmt::Debug for AnalystTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalystTask")
            .field("task_token", &"<redacted>")
            .field("finding_id", &self.finding_id)
            .field("product_arn", &self.product_arn)
            .field("source", &self.source)
            .field("execution_id", &self.execution_id)
            .finish()
    }
}

impl AnalystTask {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The token is required; the finding identity is optional (the failure report says so).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let task_token = var(TASK_TOKEN).ok_or(ConfigError {
            var: TASK_TOKEN,
            value: String::new(),
            expected: "the task token to report on (set by the state machine's container overrides)",
        })?;
        Ok(Self {
            task_token,
            finding_id: var(FINDING_ID),
            product_arn: var(FINDING_PRODUCT_ARN),
            source: var(FINDING_SOURCE),
            execution_id: var(EXECUTION_ID),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_required_and_never_printed() {
        let err = AnalystTask::from_lookup(|_| None).unwrap_err();
        assert_eq!(err.var, TASK_TOKEN);
        let task = AnalystTask::from_lookup(|name| match name {
            TASK_TOKEN => Some(" secret-token ".into()),
            FINDING_ID => Some("f-1".into()),
            _ => Some("  ".into()),
        })
        .unwrap();
        assert_eq!(task.task_token, "secret-token");
        assert_eq!(task.finding_id.as_deref(), Some("f-1"));
        assert_eq!(task.execution_id, None);
        assert!(!format!("{task:?}").contains("secret-token"));
    }
}
