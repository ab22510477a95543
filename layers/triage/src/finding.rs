//! One finding in the shape triage reads, whatever its source: a row of the `security_findings`
//! view (migration V010). Every field but the key is untrusted text from a vendor or from the
//! resource's owner (titles, names and tags are attacker-controlled).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// Where a finding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A failed Security Hub control.
    SecurityHub,
    /// An Inspector V2 vulnerability (EC2, ECR image, Lambda).
    Inspector,
    /// A GuardDuty threat.
    GuardDuty,
    /// A CrowdStrike Falcon detection.
    Falcon,
    /// A resource reachable from the internet, from the reachability table.
    Exposure,
}

impl Source {
    pub const ALL: [Source; 5] =
        [Source::SecurityHub, Source::Inspector, Source::GuardDuty, Source::Falcon, Source::Exposure];

    /// The name in the view's `source` column, configuration and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::SecurityHub => "securityhub",
            Source::Inspector => "inspector",
            Source::GuardDuty => "guardduty",
            Source::Falcon => "falcon",
            Source::Exposure => "exposure",
        }
    }

    pub fn parse(s: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::Source;

    #[test]
    fn the_serialized_name_is_the_name() {
        for s in Source::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.as_str()));
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding, normalized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityFinding {
    pub source: Source,
    /// The source's own id (a Security Hub or GuardDuty id, an Inspector ARN, a Falcon composite
    /// id, `exposure:<account>:<resource>`).
    pub id: String,
    /// Security Hub's product ARN where there is one; else `secops:<source>`.
    pub product_arn: String,
    pub account_id: Option<String>,
    pub region: Option<String>,
    /// The finding type: the control id, GuardDuty type, CVE, Falcon tactic/technique, port list.
    pub kind: String,
    pub title: String,
    /// INFORMATIONAL, LOW, MEDIUM, HIGH or CRITICAL.
    pub severity: String,
    /// 0–100.
    pub severity_normalized: i32,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    /// The resource's (or else its account's) environment tag, as found.
    pub environment: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub observed_at: OffsetDateTime,
    /// `((normalized + 60) / 100)² × environment weight` (PROD 10, STAGING 2, other 1).
    pub penalty_score: f64,
    /// The source's own record, as collected.
    pub raw: Value,
}

impl SecurityFinding {
    /// The key the state machine passes to the analyst and the bookkeeping uses.
    pub fn key(&self) -> FindingKey {
        FindingKey { source: self.source, id: self.id.clone() }
    }
}

/// Which finding: its source and id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FindingKey {
    pub source: Source,
    pub id: String,
}

/// The class of a finding, which picks the analyst persona.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingClass {
    /// GuardDuty and Falcon: something is happening.
    Threat,
    /// Inspector (EC2, ECR, Lambda): something could happen.
    Vulnerability,
    /// Security Hub controls and network exposure: something is configured wrong.
    Configuration,
}

impl Source {
    pub fn class(self) -> FindingClass {
        match self {
            Source::GuardDuty | Source::Falcon => FindingClass::Threat,
            Source::Inspector => FindingClass::Vulnerability,
            Source::SecurityHub | Source::Exposure => FindingClass::Configuration,
        }
    }
}
