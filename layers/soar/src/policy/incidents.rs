//! Incident families and what the policy says to do about an incident.

use secops_core::asff::{SeverityLabel, UnknownValue};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The family an incident's finding type belongs to (classification lives in `incident`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentFamily {
    Ec2,
    Iam,
    S3,
    Kubernetes,
    Runtime,
    Malware,
    Rds,
    Lambda,
    Threat,
    Operational,
}

impl IncidentFamily {
    /// Every family, in order.
    pub const ALL: &'static [IncidentFamily] = &[
        IncidentFamily::Ec2,
        IncidentFamily::Iam,
        IncidentFamily::S3,
        IncidentFamily::Kubernetes,
        IncidentFamily::Runtime,
        IncidentFamily::Malware,
        IncidentFamily::Rds,
        IncidentFamily::Lambda,
        IncidentFamily::Threat,
        IncidentFamily::Operational,
    ];
    /// The names used in the policy and in serde, in the same order as `ALL`.
    pub const NAMES: &'static [&'static str] =
        &["ec2", "iam", "s3", "kubernetes", "runtime", "malware", "rds", "lambda", "threat", "operational"];

    pub const fn as_str(self) -> &'static str {
        match self {
            IncidentFamily::Ec2 => "ec2",
            IncidentFamily::Iam => "iam",
            IncidentFamily::S3 => "s3",
            IncidentFamily::Kubernetes => "kubernetes",
            IncidentFamily::Runtime => "runtime",
            IncidentFamily::Malware => "malware",
            IncidentFamily::Rds => "rds",
            IncidentFamily::Lambda => "lambda",
            IncidentFamily::Threat => "threat",
            IncidentFamily::Operational => "operational",
        }
    }
}

impl fmt::Display for IncidentFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IncidentFamily {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IncidentFamily::ALL.iter().copied().find(|family| family.as_str() == s).ok_or_else(|| UnknownValue {
            what: "incident family",
            value: s.to_owned(),
            expected: IncidentFamily::NAMES,
        })
    }
}

/// What to do about an incident. `terminate` implies `isolate` (the policy rejects one without
/// the other).
/// Deserialize: it travels in the scratchpad between the incident steps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct IncidentResponse {
    pub notify: bool,
    pub soc_ticket: bool,
    pub team_ticket: bool,
    pub isolate: bool,
    pub terminate: bool,
    pub suppress: bool,
}

impl IncidentResponse {
    /// What happens to an incident that no entry of the policy matches.
    pub const NOTIFY_ONLY: IncidentResponse = IncidentResponse {
        notify: true,
        soc_ticket: false,
        team_ticket: false,
        isolate: false,
        terminate: false,
        suppress: false,
    };
}

/// One entry of the policy's `incidents` list; `None` matches every family or severity.
#[derive(Debug, Clone)]
pub(super) struct IncidentEntry {
    pub(super) families: Option<Vec<IncidentFamily>>,
    pub(super) severities: Option<Vec<SeverityLabel>>,
    pub(super) response: IncidentResponse,
}

impl IncidentEntry {
    pub(super) fn matches(&self, family: IncidentFamily, severity: SeverityLabel) -> bool {
        self.families.as_ref().is_none_or(|f| f.contains(&family))
            && self.severities.as_ref().is_none_or(|s| s.contains(&severity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_as_str_parse_and_serde() {
        assert_eq!(IncidentFamily::ALL.len(), IncidentFamily::NAMES.len());
        for (family, name) in IncidentFamily::ALL.iter().zip(IncidentFamily::NAMES) {
            assert_eq!(family.as_str(), *name);
            assert_eq!(name.parse::<IncidentFamily>().unwrap(), *family);
            assert_eq!(serde_json::to_string(family).unwrap(), format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<IncidentFamily>(&format!("\"{name}\"")).unwrap(), *family);
        }
    }

    #[test]
    fn an_unknown_family_lists_the_known_ones() {
        let err = "EC2".parse::<IncidentFamily>().unwrap_err().to_string();
        assert!(err.contains("unknown incident family \"EC2\""), "{err}");
        assert!(err.contains("ec2, iam, s3, kubernetes, runtime, malware, rds, lambda, threat, operational"), "{err}");
    }
}
