//! The analysis report: a versioned JSON document (`schema/report-v1.json`) that every analyst —
//! the offline rules or a language model — produces, plus its Markdown rendering for the ticket.
//!
//! A model writes only the [`Assessment`]; the analysis loop wraps it with what we know for a
//! fact (the finding, the persona, who analysed it) into a [`Report`]. Anything a model writes is
//! parsed with [`Assessment::parse`], which checks the schema and the rules a schema cannot say
//! (evidence must cite a query that was run, actions are numbered 1..n).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::finding::{SecurityFinding, Source};
use crate::persona::Persona;

/// The `schema_version` of this shape; a change that breaks readers gets a new version.
pub const SCHEMA_VERSION: &str = "secops.triage.report/v1";
/// The JSON Schema of a whole report (what the ticket and the database keep).
pub const REPORT_SCHEMA: &str = include_str!("../schema/report-v1.json");

/// The analyst's judgement of the finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    TruePositive,
    LikelyBenign,
    NeedsHuman,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::TruePositive => "true_positive",
            Verdict::LikelyBenign => "likely_benign",
            Verdict::NeedsHuman => "needs_human",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Verdict::TruePositive => "True positive",
            Verdict::LikelyBenign => "Likely benign",
            Verdict::NeedsHuman => "Needs a human",
        }
    }
}

/// Risk 1 (negligible) to 5 (critical), with the reasons for the number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Risk {
    pub score: u8,
    pub reasons: Vec<String>,
}

/// A resource the finding touches, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AffectedResource {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// `subject` (the finding's own resource), `same_vpc`, `same_group`, `same_cluster`,
    /// `reachable`, `reaches`, `shares_image`, …
    pub relation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// How far a compromise of the resource could spread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlastRadius {
    pub summary: String,
    pub internet_exposed: bool,
    /// Resources reachable from it (reachability table, within the hop limit).
    pub reachable_resources: u32,
    pub reachable_databases: u32,
    pub reachable_unprotected_hosts: u32,
}

/// One observation and the query that produced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    pub observation: String,
    /// The name of a context query or tool call that ran for this analysis.
    pub query: String,
}

/// How soon an action should happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Now,
    ThisWeek,
    Backlog,
}

impl Urgency {
    pub fn label(self) -> &'static str {
        match self {
            Urgency::Now => "now",
            Urgency::ThisWeek => "this week",
            Urgency::Backlog => "backlog",
        }
    }
}

/// One recommended action; `order` numbers them 1..n, first is most important.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    pub order: u32,
    pub action: String,
    pub why: String,
    pub urgency: Urgency,
}

/// Who should act.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Owner {
    pub team: Option<String>,
    pub environment: Option<String>,
    /// Where the owner came from: `resource_tag`, `account`, `unknown`.
    pub basis: String,
}

/// What an analyst decides: the part a language model writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assessment {
    pub verdict: Verdict,
    pub summary: String,
    pub risk: Risk,
    pub affected_resources: Vec<AffectedResource>,
    pub blast_radius: BlastRadius,
    pub evidence: Vec<Evidence>,
    pub recommended_actions: Vec<Action>,
    pub owner: Owner,
}

/// The finding a report is about, as we know it (never as the model retold it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingRef {
    pub source: Source,
    pub id: String,
    pub title: String,
    pub severity: String,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
}

impl From<&SecurityFinding> for FindingRef {
    fn from(f: &SecurityFinding) -> Self {
        FindingRef {
            source: f.source,
            id: f.id.clone(),
            title: f.title.clone(),
            severity: f.severity.clone(),
            account_id: f.account_id.clone(),
            region: f.region.clone(),
            resource_type: f.resource_type.clone(),
            resource_id: f.resource_id.clone(),
        }
    }
}

/// Who produced the assessment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalystInfo {
    /// `offline`, `bedrock`, `openai`.
    pub provider: String,
    pub model: Option<String>,
    /// True when a model's answer was unusable and the offline rules wrote this report instead.
    pub fallback: bool,
    pub fallback_reason: Option<String>,
}

/// A whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub schema_version: String,
    pub finding: FindingRef,
    pub persona: Persona,
    pub analyst: AnalystInfo,
    #[serde(flatten)]
    pub assessment: Assessment,
}

/// Why an assessment or report was refused: every problem, each with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the report is invalid: {}", problems.join("; "))]
pub struct InvalidReport {
    pub problems: Vec<String>,
}

fn compiled(schema: &Value) -> jsonschema::Validator {
    jsonschema::validator_for(schema).expect("the bundled report schema compiles (a test checks it)")
}

fn report_validator() -> &'static jsonschema::Validator {
    static V: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    V.get_or_init(|| compiled(&serde_json::from_str(REPORT_SCHEMA).expect("the bundled report schema is JSON")))
}

/// The assessment part of the schema (`$defs.assessment` with the definitions it uses): what a
/// model is shown and what its answer is checked against.
pub fn assessment_schema() -> Value {
    let schema: Value = serde_json::from_str(REPORT_SCHEMA).expect("the bundled report schema is JSON");
    let mut assessment = schema["$defs"]["assessment"].clone();
    assessment["$defs"] = schema["$defs"].clone();
    if let Some(defs) = assessment["$defs"].as_object_mut() {
        defs.remove("assessment");
    }
    assessment
}

fn assessment_validator() -> &'static jsonschema::Validator {
    static V: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    V.get_or_init(|| compiled(&assessment_schema()))
}

/// Actions must be numbered 1..n in order.
fn numbering_problems(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .enumerate()
        .filter(|(i, a)| a.order != *i as u32 + 1)
        .map(|(i, a)| format!("/recommended_actions/{i}/order: expected {}, found {}", i + 1, a.order))
        .collect()
}

fn schema_problems(validator: &jsonschema::Validator, value: &Value) -> Vec<String> {
    validator
        .iter_errors(value)
        .map(|e| {
            let at = e.instance_path().to_string();
            format!("{}: {e}", if at.is_empty() { "(top level)".to_owned() } else { at })
        })
        .collect()
}

impl Assessment {
    /// Check what a model (or anyone) wrote: the schema, then the rules beyond it. `queries`
    /// are the names of the queries and tool calls that actually ran for this analysis.
    pub fn parse(value: &Value, queries: &BTreeSet<String>) -> Result<Assessment, InvalidReport> {
        let problems = schema_problems(assessment_validator(), value);
        if !problems.is_empty() {
            return Err(InvalidReport { problems });
        }
        let assessment: Assessment = serde_json::from_value(value.clone())
            .map_err(|e| InvalidReport { problems: vec![format!("(top level): {e}")] })?;
        assessment.check(queries)?;
        Ok(assessment)
    }

    /// The rules a schema cannot say.
    pub fn check(&self, queries: &BTreeSet<String>) -> Result<(), InvalidReport> {
        let mut problems = Vec::new();
        for (i, e) in self.evidence.iter().enumerate() {
            if !queries.contains(&e.query) {
                problems.push(format!(
                    "/evidence/{i}/query: {:?} is not a query that ran for this analysis (ran: {})",
                    e.query,
                    queries.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
        }
        problems.extend(numbering_problems(&self.recommended_actions));
        if problems.is_empty() {
            Ok(())
        } else {
            Err(InvalidReport { problems })
        }
    }
}

impl Report {
    pub fn new(finding: &SecurityFinding, persona: Persona, analyst: AnalystInfo, assessment: Assessment) -> Report {
        Report { schema_version: SCHEMA_VERSION.into(), finding: finding.into(), persona, analyst, assessment }
    }

    /// Check a whole report read back from somewhere (the analyst's task output, the database).
    pub fn parse(value: &Value) -> Result<Report, InvalidReport> {
        let problems = schema_problems(report_validator(), value);
        if !problems.is_empty() {
            return Err(InvalidReport { problems });
        }
        let report: Report = serde_json::from_value(value.clone())
            .map_err(|e| InvalidReport { problems: vec![format!("(top level): {e}")] })?;
        let problems = numbering_problems(&report.assessment.recommended_actions);
        if problems.is_empty() {
            Ok(report)
        } else {
            Err(InvalidReport { problems })
        }
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a report serializes")
    }
}
