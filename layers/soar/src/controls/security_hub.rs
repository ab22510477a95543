//! [`ControlCatalog`] from Security Hub in the member account itself: the enabled standards, each
//! standard's controls, and each control's association status in that standard.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_securityhub::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_securityhub::types::{
    AssociationStatus, StandardsControlAssociationId, StandardsStatus, UnprocessedErrorCode,
};
use secops_aws::{AssumeRoleCache, AwsError, RoleRequest};
use secops_core::ErrorClass;

use super::ControlCatalog;
use crate::{Result, SoarError};

/// Pages of one listing we read before calling it a runaway pagination (Security Hub has a few
/// hundred controls; a page holds up to 100).
const MAX_PAGES: usize = 500;

/// Page size of the listings (the maximum both operations accept).
const PAGE_SIZE: i32 = 100;

/// BatchGetStandardsControlAssociations takes at most 100 association ids per call.
const MAX_ASSOCIATIONS_PER_CALL: usize = 100;

/// The session name member accounts see in CloudTrail.
const SESSION_NAME: &str = "secops-controls-sync";

/// See the module documentation.
#[derive(Debug)]
pub struct SecurityHubControls {
    access: Access,
}

#[derive(Debug)]
enum Access {
    /// Use this configuration's credentials as they are (in the region asked for).
    Direct(aws_config::SdkConfig),
    /// Assume `role_name` in each member account.
    AssumeRole { sessions: AssumeRoleCache, role_name: String },
}

impl SecurityHubControls {
    /// Reads each member account as `member_role_name`, assumed from `base`.
    pub fn new(base: &aws_config::SdkConfig, member_role_name: impl Into<String>) -> Self {
        Self {
            access: Access::AssumeRole {
                sessions: AssumeRoleCache::new(base, SESSION_NAME),
                role_name: member_role_name.into(),
            },
        }
    }

    /// Reads with `config`'s own credentials, which must belong to the account asked about (the
    /// account the code runs in, or a test server).
    pub fn direct(config: &aws_config::SdkConfig) -> Self {
        Self { access: Access::Direct(config.clone()) }
    }

    async fn client(&self, account_id: &str, region: &str) -> Result<aws_sdk_securityhub::Client> {
        let config = match &self.access {
            Access::Direct(config) => secops_aws::config::in_region(config, region),
            Access::AssumeRole { sessions, role_name } => {
                sessions.config_for(&RoleRequest::new(account_id, role_name.as_str(), region)).await?
            }
        };
        Ok(aws_sdk_securityhub::Client::new(&config))
    }
}

#[async_trait]
impl ControlCatalog for SecurityHubControls {
    async fn enabled_controls(&self, account_id: &str, region: &str) -> Result<BTreeSet<String>> {
        let client = self.client(account_id, region).await?;
        let place = Place { account_id, region };
        let mut associations = Vec::new();
        for standards_arn in enabled_standards(&client, &place).await? {
            for control_id in standard_controls(&client, &place, &standards_arn).await? {
                associations.push(
                    StandardsControlAssociationId::builder()
                        .security_control_id(control_id)
                        .standards_arn(&standards_arn)
                        .build(),
                );
            }
        }
        let mut enabled = BTreeSet::new();
        for chunk in associations.chunks(MAX_ASSOCIATIONS_PER_CALL) {
            const OPERATION: &str = "securityhub:BatchGetStandardsControlAssociations";
            let output = client
                .batch_get_standards_control_associations()
                .set_standards_control_association_ids(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| place.error(OPERATION, e))?;
            // A control we could not read might be enabled; leaving it out would suppress its
            // findings, so the whole sync fails instead.
            if let Some(failed) = output.unprocessed_associations().first() {
                let id = failed.standards_control_association_id();
                let code = failed.error_code().map(UnprocessedErrorCode::as_str).unwrap_or_default();
                return Err(SoarError::aws(
                    unprocessed_class(failed.error_code()),
                    format!(
                        "{OPERATION}: control {} in standard {} of {account_id}/{region} not read: {code}: {}",
                        id.and_then(|i| i.security_control_id()).unwrap_or_default(),
                        id.and_then(|i| i.standards_arn()).unwrap_or_default(),
                        failed.error_reason().unwrap_or_default(),
                    ),
                ));
            }
            for detail in output.standards_control_association_details() {
                if let (Some(AssociationStatus::Enabled), Some(control_id)) =
                    (detail.association_status(), detail.security_control_id())
                {
                    enabled.insert(control_id.to_owned());
                }
            }
        }
        Ok(enabled)
    }
}

/// The account and region being read, for error messages.
struct Place<'a> {
    account_id: &'a str,
    region: &'a str,
}

impl Place<'_> {
    /// An SDK error as a [`SoarError`]. InvalidAccessException means Security Hub is not enabled
    /// here: an error, not an empty set, since no enabled controls would suppress every finding.
    fn error<E>(&self, operation: &'static str, err: SdkError<E>) -> SoarError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        if err.code() == Some("InvalidAccessException") {
            return SoarError::Permanent(format!(
                "Security Hub is not enabled in {}/{} ({operation}: {})",
                self.account_id,
                self.region,
                err.message().unwrap_or_default()
            ));
        }
        AwsError::from_sdk(operation, err).into()
    }

    fn too_many_pages(&self, operation: &str) -> SoarError {
        SoarError::aws(
            ErrorClass::Permanent,
            format!("{operation}: more than {MAX_PAGES} pages in {}/{}", self.account_id, self.region),
        )
    }
}

/// The ARNs of the standards that are enabled and usable (READY, or INCOMPLETE: some controls
/// could not be enabled but the rest run). PENDING, DELETING and FAILED standards evaluate nothing.
async fn enabled_standards(client: &aws_sdk_securityhub::Client, place: &Place<'_>) -> Result<Vec<String>> {
    const OPERATION: &str = "securityhub:GetEnabledStandards";
    let mut arns = Vec::new();
    let mut next_token: Option<String> = None;
    for _page in 0..MAX_PAGES {
        let output = client
            .get_enabled_standards()
            .set_next_token(next_token)
            .max_results(PAGE_SIZE)
            .send()
            .await
            .map_err(|e| place.error(OPERATION, e))?;
        for subscription in output.standards_subscriptions() {
            if matches!(subscription.standards_status(), Some(StandardsStatus::Ready | StandardsStatus::Incomplete)) {
                if let Some(arn) = subscription.standards_arn() {
                    arns.push(arn.to_owned());
                }
            }
        }
        match output.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
            _ => return Ok(arns),
        }
    }
    Err(place.too_many_pages(OPERATION))
}

/// The security control ids that belong to `standards_arn`.
async fn standard_controls(
    client: &aws_sdk_securityhub::Client,
    place: &Place<'_>,
    standards_arn: &str,
) -> Result<Vec<String>> {
    const OPERATION: &str = "securityhub:ListSecurityControlDefinitions";
    let mut ids = Vec::new();
    let mut next_token: Option<String> = None;
    for _page in 0..MAX_PAGES {
        let output = client
            .list_security_control_definitions()
            .standards_arn(standards_arn)
            .set_next_token(next_token)
            .max_results(PAGE_SIZE)
            .send()
            .await
            .map_err(|e| place.error(OPERATION, e))?;
        ids.extend(
            output.security_control_definitions().iter().filter_map(|d| d.security_control_id()).map(str::to_owned),
        );
        match output.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
            _ => return Ok(ids),
        }
    }
    Err(place.too_many_pages(OPERATION))
}

/// LIMIT_EXCEEDED passes with time (Throttled, like the LimitExceededException of a whole call);
/// access, input and not-found problems do not (Permanent), nor do codes we do not know.
fn unprocessed_class(code: Option<&UnprocessedErrorCode>) -> ErrorClass {
    match code {
        Some(UnprocessedErrorCode::LimitExceeded) => ErrorClass::Throttled,
        _ => ErrorClass::Permanent,
    }
}
