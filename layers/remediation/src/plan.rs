//! A plan as data: the exact calls a remediation would make, shown by `--dry-run`, written to the
//! audit log, attached to the ticket, and the only calls `apply` may make.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use secops_aws::AwsError;
use secops_core::ErrorClass;

/// One API call: which action, on what, with which values, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The IAM action the call needs, e.g. `s3:PutPublicAccessBlock`.
    pub action: String,
    /// What it acts on (an ARN, id or name).
    pub resource: String,
    /// The call's values, as the remediation will send them.
    pub parameters: Value,
    /// Why this call is needed, for a person reading the plan.
    pub why: String,
}

impl Change {
    pub fn new(action: &str, resource: impl Into<String>, parameters: Value, why: impl Into<String>) -> Self {
        Self { action: action.to_owned(), resource: resource.into(), parameters, why: why.into() }
    }

    /// The parameters as the type the executing code expects. A mismatch is our bug (the plan
    /// was made by the same remediation), so it is Permanent and names the action.
    pub fn params<T: DeserializeOwned>(&self) -> Result<T, AwsError> {
        serde_json::from_value(self.parameters.clone()).map_err(|e| {
            AwsError::new(
                "remediation:plan",
                ErrorClass::Permanent,
                format!("the planned parameters of {} on {} do not fit: {e}", self.action, self.resource),
            )
        })
    }

    /// A string parameter the executing code needs.
    pub fn text(&self, key: &str) -> Result<&str, AwsError> {
        self.parameters.get(key).and_then(Value::as_str).ok_or_else(|| {
            AwsError::new(
                "remediation:plan",
                ErrorClass::Permanent,
                format!("the plan of {} on {} has no string parameter {key:?}", self.action, self.resource),
            )
        })
    }
}

/// The changes one remediation would make to one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub control: String,
    pub resource: String,
    pub account: String,
    pub region: String,
    pub changes: Vec<Change>,
    /// Whether applying it may interrupt a workload (the remediation's declaration).
    pub disruptive: bool,
}

impl Plan {
    /// One line per change, for tickets, the CLI and the audit record.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for (i, c) in self.changes.iter().enumerate() {
            out.push_str(&format!("{}. {} on {} {} — {}\n", i + 1, c.action, c.resource, c.parameters, c.why));
        }
        out
    }
}

/// An error for a change whose action this code does not execute (a bug: plan and execute of one
/// remediation disagree).
pub fn unplanned(change: &Change) -> AwsError {
    AwsError::new(
        "remediation:execute",
        ErrorClass::Permanent,
        format!("this remediation does not execute {} (on {})", change.action, change.resource),
    )
}
