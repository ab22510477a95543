//! Findings in the AWS Security Finding Format (ASFF), as serde types that lose nothing.
//!
//! The fields the pipeline reads are typed; everything else — top-level fields and the fields of
//! every typed nested object — is kept in an `extra` map, so parse → serialize gives back the
//! same JSON (compared as `serde_json::Value`). Two normalizations are documented exceptions:
//! an explicit `null` on a typed optional field is dropped (AWS never sends nulls), and map keys
//! may come back in a different order.
//!
//! Entry points: [`parse_finding`] / [`parse_finding_value`] (shape + AWS constraints, with
//! errors that name the JSON path), [`AwsSecurityFinding::validate`], and the accessors on
//! [`AwsSecurityFinding`].

mod control_id;
pub(crate) mod enums;
mod error;
mod parts;
mod product;
mod resource;
mod validate;

pub use control_id::{ControlId, ControlIdError};
pub use enums::{
    ComplianceStatus, NormalizedOutOfRange, RecordState, SeverityLabel, UnknownValue, VerificationState, WorkflowState,
    WorkflowStatus,
};
pub use error::{AsffError, AsffProblem};
pub use parts::{
    AssociatedStandard, Compliance, FindingProviderFields, Note, Recommendation, RelatedFinding, Remediation, Severity,
    StatusReason, Workflow,
};
pub use product::{product_arn_names, Product};
pub use resource::{Resource, ResourceType};
pub use validate::{parse_timestamp, FINDING_TYPE_NAMESPACES, SCHEMA_VERSION};

pub(crate) use error::{from_str_with_path, from_value_with_path, join_path, quoted, value_from_str};
pub(crate) use validate::is_account_id;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// One finding in ASFF (`AwsSecurityFinding` in the Security Hub API).
///
/// The twelve attributes AWS requires on every finding are plain fields (a finding without one
/// does not parse); the rest are `Option`s, skipped when absent. Timestamps are kept as the
/// original RFC 3339 strings (use the `*_time()` accessors), numbers as `serde_json::Number`.
/// An explicit `null` on a typed optional field is read as absent and not written back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", expecting = "an ASFF finding object")]
pub struct AwsSecurityFinding {
    /// Always `2018-10-08` so far.
    pub schema_version: String,
    /// The product-specific id; for control findings, an ARN.
    pub id: String,
    /// `arn:aws:securityhub:<region>::product/<company>/<product>`.
    pub product_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The logic that produced the finding; `security-control/EC2.13` for control findings.
    pub generator_id: String,
    pub aws_account_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_account_name: Option<String>,
    /// `namespace/category/classifier` paths.
    pub types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_observed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_observed_at: Option<String>,
    pub created_at: String,
    /// Part of the idempotency key of every side effect (DESIGN §5).
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processed_at: Option<String>,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criticality: Option<Number>,
    pub title: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// Provider-defined string pairs (`aws/securityhub/ProductName`, `aws/guardduty/service/...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_fields: Option<BTreeMap<String, String>>,
    /// Customer-defined string pairs; this pipeline keeps `TicketOpen` / `TicketId` here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_defined_fields: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malware: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_path: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threats: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threat_intel_indicators: Option<Value>,
    pub resources: Vec<Resource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliance: Option<Compliance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_state: Option<VerificationState>,
    /// Deprecated by AWS in favour of `Workflow.Status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_state: Option<WorkflowState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<Workflow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_state: Option<RecordState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_findings: Option<Vec<RelatedFinding>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Note>,
    /// Inspector's CVE details (`Id`, `Cvss[]`, `VulnerablePackages[]`, ...), kept untyped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vulnerabilities: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_summary: Option<Value>,
    /// GuardDuty's observed action (`ActionType`, `AwsApiCallAction`, `DnsRequestAction`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding_provider_fields: Option<FindingProviderFields>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_details: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detection: Option<Value>,
    /// Every other top-level field, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Parses JSON text into a finding and checks AWS's constraints on it.
///
/// Errors name the JSON path and what was expected, e.g.
/// ``Severity.Label: unknown variant `SEVERE`, expected one of `INFORMATIONAL`, ...``,
/// `Resources: required field is missing`, `AwsAccountId: must be 12 digits, got "11112222333" ...`.
pub fn parse_finding(json: &str) -> Result<AwsSecurityFinding, AsffError> {
    let finding: AwsSecurityFinding = from_str_with_path(json)?;
    finding.validate().map_err(|problems| AsffError::Invalid { problems })?;
    Ok(finding)
}

/// [`parse_finding`] for a finding already parsed as JSON.
pub fn parse_finding_value(value: &Value) -> Result<AwsSecurityFinding, AsffError> {
    let finding: AwsSecurityFinding = from_value_with_path(value)?;
    finding.validate().map_err(|problems| AsffError::Invalid { problems })?;
    Ok(finding)
}

impl AwsSecurityFinding {
    /// The Security Hub control this finding checks: `Compliance.SecurityControlId`, else the id
    /// in a `security-control/<id>` generator. `None` when neither is a valid control id.
    pub fn control_id(&self) -> Option<ControlId> {
        let from_compliance = self.security_control_id().and_then(|s| ControlId::parse(s).ok());
        from_compliance
            .or_else(|| self.generator_id.strip_prefix("security-control/").and_then(|s| ControlId::parse(s).ok()))
    }

    /// `Compliance.SecurityControlId` as sent.
    pub fn security_control_id(&self) -> Option<&str> {
        self.compliance.as_ref()?.security_control_id.as_deref()
    }

    /// `Severity.Label`, else the label AWS's mapping gives for `Severity.Normalized`.
    pub fn severity_label(&self) -> Option<SeverityLabel> {
        self.severity.effective_label()
    }

    pub fn workflow_status(&self) -> Option<WorkflowStatus> {
        self.workflow.as_ref()?.status
    }

    pub fn compliance_status(&self) -> Option<ComplianceStatus> {
        self.compliance.as_ref()?.status
    }

    pub fn record_state(&self) -> Option<RecordState> {
        self.record_state
    }

    /// `Resources[0]`: the resource the pipeline acts on.
    pub fn first_resource(&self) -> Option<&Resource> {
        self.resources.first()
    }

    pub fn product(&self) -> Product {
        Product::of(self)
    }

    /// A `ProductFields` value, e.g. `aws/securityhub/ProductName`.
    pub fn product_field(&self, key: &str) -> Option<&str> {
        self.product_fields.as_ref()?.get(key).map(String::as_str)
    }

    /// A `UserDefinedFields` value, e.g. `TicketId`.
    pub fn user_defined_field(&self, key: &str) -> Option<&str> {
        self.user_defined_fields.as_ref()?.get(key).map(String::as_str)
    }

    /// The `Vulnerabilities[].Id` values (CVE ids for Inspector findings).
    pub fn vulnerability_ids(&self) -> Vec<&str> {
        self.vulnerabilities.iter().flatten().filter_map(|v| v.get("Id")?.as_str()).collect()
    }

    /// Whether the underlying problem is gone or dealt with, so an open ticket should be closed:
    /// `RecordState` ARCHIVED, or `Workflow.Status` SUPPRESSED or RESOLVED, or NOTIFIED with
    /// `Compliance.Status` PASSED (since July 2025 Security Hub leaves fixed control findings
    /// ACTIVE and NOTIFIED and only flips the compliance status).
    pub fn is_resolved(&self) -> bool {
        self.record_state == Some(RecordState::Archived)
            || matches!(self.workflow_status(), Some(WorkflowStatus::Suppressed | WorkflowStatus::Resolved))
            || (self.workflow_status() == Some(WorkflowStatus::Notified)
                && self.compliance_status() == Some(ComplianceStatus::Passed))
    }

    pub fn created_at_time(&self) -> Result<OffsetDateTime, AsffError> {
        timestamp("CreatedAt", &self.created_at)
    }

    pub fn updated_at_time(&self) -> Result<OffsetDateTime, AsffError> {
        timestamp("UpdatedAt", &self.updated_at)
    }

    pub fn first_observed_at_time(&self) -> Result<Option<OffsetDateTime>, AsffError> {
        self.first_observed_at.as_deref().map(|s| timestamp("FirstObservedAt", s)).transpose()
    }

    pub fn last_observed_at_time(&self) -> Result<Option<OffsetDateTime>, AsffError> {
        self.last_observed_at.as_deref().map(|s| timestamp("LastObservedAt", s)).transpose()
    }

    pub fn processed_at_time(&self) -> Result<Option<OffsetDateTime>, AsffError> {
        self.processed_at.as_deref().map(|s| timestamp("ProcessedAt", s)).transpose()
    }
}

fn timestamp(path: &str, value: &str) -> Result<OffsetDateTime, AsffError> {
    parse_timestamp(value).map_err(|e| AsffError::invalid(path, validate::timestamp_message(value, &e)))
}
