//! Sessions in member accounts: AssumeRole once per account + role + region (+ session policy),
//! reused until shortly before the credentials expire.
//!
//! Why per region: a session token from the global STS endpoint is not valid in opt-in regions,
//! so each region's session comes from that region's STS endpoint.

use crate::config::in_region;
use crate::errors::AwsError;
use aws_config::SdkConfig;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use secops_core::ErrorClass;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};
use tokio::sync::Mutex;

/// Refresh a session this long before it expires, so no call runs on credentials about to lapse.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Which session to open.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoleRequest {
    pub account_id: String,
    pub role_name: String,
    pub region: String,
    /// An inline session policy that narrows the role to what one task declares (least privilege).
    pub session_policy: Option<String>,
}

impl RoleRequest {
    pub fn new(account_id: impl Into<String>, role_name: impl Into<String>, region: impl Into<String>) -> Self {
        Self { account_id: account_id.into(), role_name: role_name.into(), region: region.into(), session_policy: None }
    }

    pub fn with_session_policy(mut self, policy: impl Into<String>) -> Self {
        self.session_policy = Some(policy.into());
        self
    }

    pub fn role_arn(&self) -> String {
        format!("arn:{}:iam::{}:role/{}", partition(&self.region), self.account_id, self.role_name)
    }

    fn validate(&self) -> Result<(), AwsError> {
        let invalid = |message: String| AwsError::new("sts:AssumeRole", ErrorClass::InvalidInput, message);
        if self.account_id.len() != 12 || !self.account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(format!("account id {:?} is not 12 digits", self.account_id)));
        }
        if !secops_core::config::is_region_name(&self.region) {
            return Err(invalid(format!("region {:?} is not an AWS region name", self.region)));
        }
        Ok(())
    }
}

/// The account the given credentials belong to (`sts:GetCallerIdentity`).
pub async fn caller_account(config: &SdkConfig) -> Result<String, AwsError> {
    let out = aws_sdk_sts::Client::new(config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("sts:GetCallerIdentity", e))?;
    out.account()
        .map(str::to_owned)
        .ok_or_else(|| AwsError::new("sts:GetCallerIdentity", ErrorClass::Permanent, "the reply names no account"))
}

/// The partition of a region: `aws`, `aws-cn` or `aws-us-gov`.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

#[derive(Debug, Clone)]
struct Session {
    config: SdkConfig,
    expires: SystemTime,
}

/// The cache of member-account sessions of one process.
#[derive(Debug)]
pub struct AssumeRoleCache {
    base: SdkConfig,
    session_name: String,
    sessions: Mutex<HashMap<RoleRequest, Session>>,
}

impl AssumeRoleCache {
    /// `session_name` shows up in the member account's CloudTrail (e.g. `secops-remediate`).
    pub fn new(base: &SdkConfig, session_name: impl Into<String>) -> Self {
        Self { base: base.clone(), session_name: session_name.into(), sessions: Mutex::new(HashMap::new()) }
    }

    /// An SDK configuration acting as `request.role_name` in `request.account_id`, in `request.region`.
    pub async fn config_for(&self, request: &RoleRequest) -> Result<SdkConfig, AwsError> {
        request.validate()?;
        // One lock for the whole look-up-or-assume: concurrent callers for the same key wait for
        // one AssumeRole instead of each making their own.
        let mut sessions = self.sessions.lock().await;
        if let Some(s) = sessions.get(request) {
            if s.expires > SystemTime::now() + REFRESH_MARGIN {
                return Ok(s.config.clone());
            }
        }
        let session = self.assume(request).await?;
        let config = session.config.clone();
        sessions.insert(request.clone(), session);
        Ok(config)
    }

    /// Number of cached sessions (for tests and metrics).
    pub async fn len(&self) -> usize {
        self.sessions.lock().await.len()
    }

    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }

    async fn assume(&self, request: &RoleRequest) -> Result<Session, AwsError> {
        let regional = in_region(&self.base, &request.region);
        let sts = aws_sdk_sts::Client::new(&regional);
        let out = sts
            .assume_role()
            .role_arn(request.role_arn())
            .role_session_name(&self.session_name)
            .set_policy(request.session_policy.clone())
            .duration_seconds(3600)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("sts:AssumeRole", e))?;
        let creds = out.credentials().ok_or_else(|| {
            AwsError::new("sts:AssumeRole", ErrorClass::Transient, "the response carried no credentials")
        })?;
        let expires = SystemTime::try_from(*creds.expiration())
            .unwrap_or_else(|_| SystemTime::now() + Duration::from_secs(15 * 60));
        let credentials = Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key(),
            Some(creds.session_token().to_owned()),
            Some(expires),
            "secops-assume-role",
        );
        let config = regional.to_builder().credentials_provider(SharedCredentialsProvider::new(credentials)).build();
        tracing::debug!(role = %request.role_arn(), region = %request.region, "assumed role");
        Ok(Session { config, expires })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_follow_the_partition() {
        assert_eq!(RoleRequest::new("111122223333", "R", "eu-west-1").role_arn(), "arn:aws:iam::111122223333:role/R");
        assert_eq!(
            RoleRequest::new("111122223333", "R", "cn-north-1").role_arn(),
            "arn:aws-cn:iam::111122223333:role/R"
        );
        assert_eq!(
            RoleRequest::new("111122223333", "R", "us-gov-west-1").role_arn(),
            "arn:aws-us-gov:iam::111122223333:role/R"
        );
    }

    #[test]
    fn bad_requests_are_invalid_input() {
        let e = RoleRequest::new("11112222333", "R", "eu-west-1").validate().unwrap_err();
        assert_eq!(e.class, ErrorClass::InvalidInput);
        assert!(e.message.contains("11112222333"));
        let e = RoleRequest::new("111122223333", "R", "moon-1").validate().unwrap_err();
        assert!(e.message.contains("moon-1"));
    }
}
