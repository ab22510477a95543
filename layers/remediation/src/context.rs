//! What a remediation works with: the session in the member account (already narrowed to its
//! declared actions), the target, the time, and the catalogue's settings.

use aws_config::SdkConfig;
use secops_core::RemediationConfig;
use std::sync::Arc;
use time::OffsetDateTime;

use crate::target::Target;

/// One remediation run's context.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The member-account session, in the target's region.
    pub sdk: SdkConfig,
    pub target: Target,
    /// "Now" for age rules (key age, grace periods); tests move it.
    pub now: OffsetDateTime,
    pub settings: Arc<RemediationConfig>,
}

macro_rules! clients {
    ($($name:ident => $krate:ident),+ $(,)?) => {
        impl Ctx {
            $(
                pub fn $name(&self) -> $krate::Client {
                    $krate::Client::new(&self.sdk)
                }
            )+
        }
    };
}

clients! {
    cloudtrail => aws_sdk_cloudtrail,
    config_service => aws_sdk_config,
    dynamodb => aws_sdk_dynamodb,
    ec2 => aws_sdk_ec2,
    ecr => aws_sdk_ecr,
    ecs => aws_sdk_ecs,
    elbv2 => aws_sdk_elasticloadbalancingv2,
    guardduty => aws_sdk_guardduty,
    iam => aws_sdk_iam,
    kms => aws_sdk_kms,
    lambda => aws_sdk_lambda,
    logs => aws_sdk_cloudwatchlogs,
    rds => aws_sdk_rds,
    s3 => aws_sdk_s3,
    s3control => aws_sdk_s3control,
    secretsmanager => aws_sdk_secretsmanager,
    sns => aws_sdk_sns,
    sqs => aws_sdk_sqs,
    ssm => aws_sdk_ssm,
}

impl Ctx {
    /// The target's account id.
    pub fn account(&self) -> &str {
        &self.target.account
    }

    /// The target's region.
    pub fn region(&self) -> &str {
        &self.target.region
    }

    /// Whole days from `then` to now (negative when `then` is in the future).
    pub fn days_since(&self, then: OffsetDateTime) -> i64 {
        (self.now - then).whole_days()
    }

    /// The log bucket the catalogue uses in this account and region.
    pub fn log_bucket(&self) -> String {
        format!("{}-{}-{}", self.settings.log_bucket_prefix, self.target.account, self.target.region)
    }
}

/// An SDK timestamp as `OffsetDateTime` (SDK times are seconds + nanos since the epoch).
pub fn to_offset(t: &aws_smithy_types::DateTime) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(t.as_nanos()).ok()
}
