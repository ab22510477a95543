//! The EventBridge envelope that Security Hub findings arrive in.
//!
//! Security Hub emits `Security Hub Findings - Imported` for every new or updated finding and
//! `Security Hub Findings - Custom Action` when a user sends findings to a custom action; both
//! carry ASFF findings in `detail.findings`, and one event may carry several (all are processed,
//! DESIGN §5). `Findings Imported V2` (Security Hub's OCSF format) is refused with a clear message.

use crate::asff::enums::closed_enum;
use crate::asff::{
    from_value_with_path, join_path, parse_timestamp, quoted, value_from_str, AsffError, AsffProblem,
    AwsSecurityFinding,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The EventBridge `source` of Security Hub events.
pub const SECURITY_HUB_SOURCE: &str = "aws.securityhub";

/// The detail-type of Security Hub's OCSF events, which this module does not read.
pub const DETAIL_TYPE_IMPORTED_V2: &str = "Findings Imported V2";

closed_enum! {
    /// The Security Hub detail-types that carry ASFF findings.
    pub enum FindingsDetailType ("detail-type") {
        Imported = "Security Hub Findings - Imported",
        CustomAction = "Security Hub Findings - Custom Action",
    }
}

/// An EventBridge event from Security Hub carrying ASFF findings. Lossless: every field it does
/// not type (in the envelope and in `detail`) is kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(expecting = "an EventBridge event object")]
pub struct SecurityHubFindingsImported {
    pub version: String,
    pub id: String,
    #[serde(rename = "detail-type")]
    pub detail_type: FindingsDetailType,
    pub source: String,
    /// The account that emitted the event (the Security Hub administrator), not necessarily the
    /// account of each finding.
    pub account: String,
    pub time: String,
    pub region: String,
    /// The finding ARNs.
    pub resources: Vec<String>,
    pub detail: FindingsDetail,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `detail` of a Security Hub findings event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(expecting = "an event detail object with findings")]
pub struct FindingsDetail {
    pub findings: Vec<AwsSecurityFinding>,
    /// Custom Action events only.
    #[serde(rename = "actionName", default, skip_serializing_if = "Option::is_none")]
    pub action_name: Option<String>,
    /// Custom Action events only.
    #[serde(rename = "actionDescription", default, skip_serializing_if = "Option::is_none")]
    pub action_description: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Parses an EventBridge event: checks that it is a Security Hub findings event with at least one
/// finding, deserializes every finding and validates each against AWS's constraints. Errors name
/// the place, e.g. `detail.findings[3].AwsAccountId: must be 12 digits, ...`.
pub fn parse_event(json: &str) -> Result<SecurityHubFindingsImported, AsffError> {
    parse_event_value(&value_from_str(json)?)
}

/// [`parse_event`] for an event already parsed as JSON.
pub fn parse_event_value(value: &Value) -> Result<SecurityHubFindingsImported, AsffError> {
    check_envelope(value)?;
    let event: SecurityHubFindingsImported = from_value_with_path(value)?;
    event.validate().map_err(|problems| AsffError::Invalid { problems })?;
    Ok(event)
}

/// Refuses what is not a Security Hub findings event before looking at any finding, so the
/// message is about the envelope rather than about a field deep inside.
fn check_envelope(value: &Value) -> Result<(), AsffError> {
    let wrong = |path: &str, message: String| AsffError::WrongEvent { problem: AsffProblem::new(path, message) };
    let Some(event) = value.as_object() else {
        return Err(wrong("", format!("expected an EventBridge event object, got {}", crate::json::kind(value))));
    };
    match event.get("source") {
        Some(Value::String(s)) if s == SECURITY_HUB_SOURCE => {}
        Some(Value::String(s)) => {
            return Err(wrong("source", format!("expected {SECURITY_HUB_SOURCE:?}, got {}", quoted(s))));
        }
        Some(other) => {
            return Err(wrong("source", format!("expected {SECURITY_HUB_SOURCE:?}, got {}", crate::json::kind(other))))
        }
        None => return Err(wrong("source", "required field is missing".into())),
    }
    let expected = format!("{:?} or {:?}", FindingsDetailType::NAMES[0], FindingsDetailType::NAMES[1]);
    match event.get("detail-type") {
        Some(Value::String(s)) if s.parse::<FindingsDetailType>().is_ok() => {}
        Some(Value::String(s)) if s == DETAIL_TYPE_IMPORTED_V2 => {
            return Err(wrong(
                "detail-type",
                format!("{s:?} carries OCSF findings, which are not supported; expected {expected}"),
            ));
        }
        Some(Value::String(s)) => return Err(wrong("detail-type", format!("expected {expected}, got {}", quoted(s)))),
        Some(other) => {
            return Err(wrong("detail-type", format!("expected {expected}, got {}", crate::json::kind(other))))
        }
        None => return Err(wrong("detail-type", "required field is missing".into())),
    }
    if let Some(Value::Array(findings)) = event.get("detail").and_then(|d| d.get("findings")) {
        if findings.is_empty() {
            return Err(wrong("detail.findings", "the event carries no findings (expected at least one)".into()));
        }
    }
    Ok(())
}

impl SecurityHubFindingsImported {
    /// Checks the envelope and every finding; problem paths start at the event root
    /// (`detail.findings[3].Title`).
    pub fn validate(&self) -> Result<(), Vec<AsffProblem>> {
        let mut problems = Vec::new();
        if self.source != SECURITY_HUB_SOURCE {
            problems.push(AsffProblem::new(
                "source",
                format!("expected {SECURITY_HUB_SOURCE:?}, got {}", quoted(&self.source)),
            ));
        }
        if !crate::asff::is_account_id(&self.account) {
            problems.push(AsffProblem::new("account", format!("must be 12 digits, got {}", quoted(&self.account))));
        }
        if let Err(e) = parse_timestamp(&self.time) {
            problems.push(AsffProblem::new(
                "time",
                format!("must be an RFC 3339 timestamp, got {} ({e})", quoted(&self.time)),
            ));
        }
        if self.detail.findings.is_empty() {
            problems.push(AsffProblem::new("detail.findings", "the event carries no findings (expected at least one)"));
        }
        for (i, finding) in self.detail.findings.iter().enumerate() {
            if let Err(found) = finding.validate() {
                let prefix = join_path("detail.findings", &format!("[{i}]"));
                problems.extend(found.into_iter().map(|p| p.under(&prefix)));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    pub fn findings(&self) -> &[AwsSecurityFinding] {
        &self.detail.findings
    }

    pub fn into_findings(self) -> Vec<AwsSecurityFinding> {
        self.detail.findings
    }
}
