//! The resource a finding points at, validated: which account and region, which resource, its
//! tags as Security Hub reported them.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use time::OffsetDateTime;

use secops_core::asff::AwsSecurityFinding;
use secops_core::StepError;

use crate::spec::Remediation;

/// One finding's resource, as a remediation sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub finding_id: String,
    pub control: String,
    pub account: String,
    pub region: String,
    pub partition: String,
    /// The ASFF resource type (`AwsS3Bucket`, ...).
    pub resource_type: String,
    /// The ASFF resource id as given (usually an ARN).
    pub resource_id: String,
    /// The short name the APIs take (bucket name, group id, ...).
    pub name: String,
    /// Tags from the finding (and, once read, the live resource).
    pub tags: BTreeMap<String, String>,
    #[serde(skip)]
    pub details: Option<Value>,
    #[serde(skip)]
    pub first_observed_at: Option<OffsetDateTime>,
    /// The account's environment (PROD, DEV, ...), when account data names one.
    pub environment: Option<String>,
    /// The account's organizational unit, when known.
    pub organizational_unit: Option<String>,
}

impl Target {
    /// The resource of `finding` that `remediation` acts on, validated. Every problem is
    /// `InvalidInput` and names the finding and the field.
    pub fn from_finding(finding: &AwsSecurityFinding, remediation: &dyn Remediation) -> Result<Target, StepError> {
        let spec = remediation.spec();
        let bad = |what: String| StepError::invalid_input(format!("finding {}: {what}", finding.id));
        let resource =
            finding.resources.iter().find(|r| spec.resource_types.contains(&r.resource_type.as_str())).ok_or_else(
                || {
                    let found: Vec<&str> = finding.resources.iter().map(|r| r.resource_type.as_str()).collect();
                    bad(format!(
                        "{} remediates resources of type {}, but the finding's resources are {}",
                        spec.control,
                        spec.resource_types.join(" or "),
                        if found.is_empty() { "none".to_owned() } else { found.join(", ") }
                    ))
                },
            )?;
        let account = finding.aws_account_id.clone();
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(format!("AwsAccountId {account:?} is not a 12-digit account id")));
        }
        let region = resource.region.clone().or_else(|| finding.region.clone()).unwrap_or_default();
        if !secops_core::config::is_region_name(&region) {
            return Err(bad(format!("Resources[].Region {region:?} of {} is not an AWS region name", resource.id)));
        }
        if let Some(arn) = Arn::parse(&resource.id) {
            if !arn.account.is_empty() && arn.account != account {
                return Err(bad(format!(
                    "resource {} belongs to account {}, but the finding is for account {account}",
                    resource.id, arn.account
                )));
            }
            if !arn.region.is_empty() && arn.region != region {
                return Err(bad(format!(
                    "resource {} is in region {}, but the finding says {region}",
                    resource.id, arn.region
                )));
            }
        }
        let details = resource.details.as_ref().map(|d| Value::Object(d.clone()));
        let name = remediation
            .name_of(&resource.id, details.as_ref())
            .map_err(|e| bad(format!("resource id {:?} of type {}: {e}", resource.id, resource.resource_type)))?;
        let first_observed_at = finding
            .first_observed_at
            .as_deref()
            .or(Some(finding.created_at.as_str()))
            .and_then(|t| OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok());
        Ok(Target {
            finding_id: finding.id.clone(),
            control: spec.control.to_owned(),
            partition: resource.partition.clone().unwrap_or_else(|| secops_aws::assume_role::partition(&region).into()),
            account,
            region,
            resource_type: resource.resource_type.as_str().to_owned(),
            resource_id: resource.id.clone(),
            name,
            tags: resource.tags.clone().unwrap_or_default(),
            details,
            first_observed_at,
            environment: None,
            organizational_unit: None,
        })
    }

    /// An ARN in this target's partition, account and region: `arn(service, resource)`.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!("arn:{}:{service}:{}:{}:{resource}", self.partition, self.region, self.account)
    }

    /// The resource's ARN: the finding's id when it is one, else built from `service`/`resource`.
    pub fn resource_arn(&self, service: &str, resource: &str) -> String {
        if self.resource_id.starts_with("arn:") {
            self.resource_id.clone()
        } else {
            self.arn(service, resource)
        }
    }
}

/// The parts of an ARN (`arn:partition:service:region:account:resource`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    pub fn parse(s: &'a str) -> Option<Arn<'a>> {
        let mut parts = s.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        Some(Arn {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        })
    }
}

/// The last `/`- or `:`-separated part of an ARN's resource, or the id itself when it is not an
/// ARN. Empty results are an error.
pub fn arn_tail(id: &str) -> Result<String, String> {
    let resource = Arn::parse(id).map_or(id, |a| a.resource);
    let tail = resource.rsplit(['/', ':']).next().unwrap_or_default();
    if tail.is_empty() {
        Err("it names no resource".into())
    } else {
        Ok(tail.to_owned())
    }
}

/// The part of an ARN's resource after `prefix` (`security-group/`, `db:`, ...), or the id itself
/// when it already has the expected shape (`starts`, e.g. `sg-`).
pub fn arn_resource_after(id: &str, prefix: &str, starts: &str) -> Result<String, String> {
    if let Some(arn) = Arn::parse(id) {
        return match arn.resource.strip_prefix(prefix) {
            Some(rest) if !rest.is_empty() => Ok(rest.to_owned()),
            _ => Err(format!("the ARN's resource {:?} does not start with {prefix:?}", arn.resource)),
        };
    }
    if id.starts_with(starts) && id.len() > starts.len() {
        Ok(id.to_owned())
    } else {
        Err(format!("expected an ARN or an id starting with {starts:?}"))
    }
}

/// The account id of an `AwsAccount` resource (`AWS::::Account:123456789012` or a bare id).
pub fn account_of(id: &str) -> Result<String, String> {
    let tail = id.rsplit(':').next().unwrap_or_default();
    if tail.len() == 12 && tail.bytes().all(|b| b.is_ascii_digit()) {
        Ok(tail.to_owned())
    } else {
        Err("expected AWS::::Account:<12 digits>".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_parts_and_tails() {
        let a = Arn::parse("arn:aws:ec2:eu-west-1:111122223333:security-group/sg-1").unwrap();
        assert_eq!(
            (a.service, a.region, a.account, a.resource),
            ("ec2", "eu-west-1", "111122223333", "security-group/sg-1")
        );
        assert_eq!(arn_tail("arn:aws:s3:::my-bucket").unwrap(), "my-bucket");
        assert_eq!(arn_tail("arn:aws:rds:eu-west-1:111122223333:db:orders").unwrap(), "orders");
        assert_eq!(arn_tail("sg-1").unwrap(), "sg-1");
        assert!(arn_tail("arn:aws:s3:::").is_err());
        assert_eq!(
            arn_resource_after("arn:aws:ec2:eu-west-1:1:security-group/sg-9", "security-group/", "sg-").unwrap(),
            "sg-9"
        );
        assert_eq!(arn_resource_after("sg-9", "security-group/", "sg-").unwrap(), "sg-9");
        assert!(arn_resource_after("arn:aws:ec2:eu-west-1:1:instance/i-1", "security-group/", "sg-").is_err());
        assert!(arn_resource_after("vpc-1", "security-group/", "sg-").is_err());
        assert_eq!(account_of("AWS::::Account:111122223333").unwrap(), "111122223333");
        assert!(account_of("AWS::::Account:x").is_err());
    }
}
