//! The typed nested objects of a finding. Each keeps the fields it does not type in `extra`,
//! so a finding written back is the finding that was read.

use super::enums::{ComplianceStatus, SeverityLabel, WorkflowStatus};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

/// `Severity`. Numbers are kept as `serde_json::Number` so `7` stays `7` and `7.0` stays `7.0`
/// when the finding is written back; use the accessors for typed values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", expecting = "a Severity object such as {\"Label\": \"HIGH\"}")]
pub struct Severity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<SeverityLabel>,
    /// Deprecated by AWS in favour of `Label`, still sent; an integer 0..=100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalized: Option<Number>,
    /// The provider's native score (deprecated in favour of `Original`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<Number>,
    /// The provider's native severity, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Severity {
    /// `Normalized` when it is a whole number (`40` or `40.0`).
    pub fn normalized_value(&self) -> Option<i64> {
        super::validate::whole_number(self.normalized.as_ref()?)
    }

    /// `Product` as a float.
    pub fn product_value(&self) -> Option<f64> {
        self.product.as_ref()?.as_f64()
    }

    /// `Label`, or the label AWS's mapping gives for `Normalized` when the label is absent.
    pub fn effective_label(&self) -> Option<SeverityLabel> {
        self.label.or_else(|| SeverityLabel::from_normalized(self.normalized_value()?).ok())
    }
}

/// `Remediation`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", expecting = "a Remediation object")]
pub struct Remediation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommendation: Option<Recommendation>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `Remediation.Recommendation`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", expecting = "a Recommendation object with Text and Url")]
pub struct Recommendation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `Compliance`: present on control findings (and on some third-party compliance checks).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", expecting = "a Compliance object")]
pub struct Compliance {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ComplianceStatus>,
    /// Kept as the original string; `AwsSecurityFinding::control_id()` gives the parsed id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_control_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_requirements: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reasons: Option<Vec<StatusReason>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associated_standards: Option<Vec<AssociatedStandard>>,
    /// Name/Value pairs whose `Value` is a union of typed lists; kept untyped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_control_parameters: Option<Vec<Value>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `Compliance.StatusReasons[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", expecting = "a StatusReason object with ReasonCode")]
pub struct StatusReason {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `Compliance.AssociatedStandards[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", expecting = "an AssociatedStandard object with StandardsId")]
pub struct AssociatedStandard {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standards_id: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `Workflow`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", expecting = "a Workflow object with Status")]
pub struct Workflow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<WorkflowStatus>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `Note`: AWS requires all three fields whenever a note is present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", expecting = "a Note object with Text, UpdatedBy and UpdatedAt")]
pub struct Note {
    pub text: String,
    pub updated_by: String,
    /// RFC 3339, kept as sent.
    pub updated_at: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `RelatedFindings[]` (top level and in `FindingProviderFields`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", expecting = "a RelatedFinding object with ProductArn and Id")]
pub struct RelatedFinding {
    pub product_arn: String,
    pub id: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `FindingProviderFields`: the provider's own values, which customers' `BatchUpdateFindings`
/// calls do not overwrite (unlike the top-level `Severity`, `Types`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", expecting = "a FindingProviderFields object")]
pub struct FindingProviderFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criticality: Option<Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_findings: Option<Vec<RelatedFinding>>,
    /// Only `Label` and `Original` are defined here; the type is shared with the top level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub types: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
