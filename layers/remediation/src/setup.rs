//! Choosing the adapters: the member-account sessions (when AWS is in use), the approval book
//! (when there is a database) and the alert channel (notify's, passed in by the wiring).

use aws_config::SdkConfig;
use secops_aws::AssumeRoleCache;
use secops_core::outbound::Alerts;
use secops_core::{Config, RemediationMode};
use std::sync::Arc;

use crate::approval::PgApprovals;
use crate::catalogue::Catalogue;
use crate::runner::{Runner, Sessions};
use crate::step::RemediateStep;

/// The session name member accounts see in CloudTrail for every remediation call.
pub const SESSION_NAME: &str = "secops-remediate";

/// Whether the pipeline's remediations reach for AWS: always to apply; to plan only when AWS is
/// configured (an endpoint override), so the single binary's default never needs credentials —
/// without AWS a remediation ends as a ticket that says what it would change.
pub fn needs_aws(config: &Config) -> bool {
    config.remediation.mode == RemediationMode::Apply || config.aws_endpoint_url.is_some()
}

/// The runner over the standard catalogue; `aws: None` means no member-account sessions.
pub fn runner(config: &Config, aws: Option<&SdkConfig>) -> Runner {
    let sessions = aws.map(|sdk| Arc::new(AssumeRoleCache::new(sdk, SESSION_NAME)) as Arc<dyn Sessions>);
    Runner::new(Arc::new(Catalogue::standard()), sessions, config.remediation.clone())
}

/// The `remediate` step: the runner, approvals in `pool` when there is one, alerts when given.
pub fn step(
    config: &Config,
    aws: Option<&SdkConfig>,
    pool: Option<deadpool_postgres::Pool>,
    alerts: Option<Arc<dyn Alerts>>,
) -> RemediateStep {
    let mut step = RemediateStep::new(runner(config, aws));
    if let Some(pool) = pool {
        step = step.with_approvals(Arc::new(PgApprovals::new(pool)));
    }
    if let Some(alerts) = alerts {
        step = step.with_alerts(alerts);
    }
    step
}
