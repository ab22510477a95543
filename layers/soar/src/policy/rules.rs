//! Suppression rules: which findings a rule is about (its subject) and when it holds (its
//! clauses), evaluated against the facts known about a finding.

use super::glob::Glob;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a finding is, for choosing the rules that apply to it. Control rules never match an
/// incident and incident-type rules never match a control.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// A failed control, by its security control id (`IAM.21`).
    Control(&'a str),
    /// An incident, by its finding type (`Recon:EC2/PortProbeUnprotectedPort`).
    IncidentType(&'a str),
}

/// What a rule does when it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleAction {
    /// Suppress the finding.
    Suppress,
    /// Leave the finding open (ticketed) but do not auto-remediate it. Control rules only.
    SkipAutoremediation,
}

impl RuleAction {
    pub const fn as_str(self) -> &'static str {
        match self {
            RuleAction::Suppress => "suppress",
            RuleAction::SkipAutoremediation => "skip_autoremediation",
        }
    }
}

/// What is known about a finding and its account when rules are evaluated. A clause about a
/// fact that is missing (`None`, empty list) does not hold.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub account_id: String,
    pub account_name: Option<String>,
    pub region: Option<String>,
    /// Names of the organizational units from the root down to the account.
    pub ou_path: Vec<String>,
    /// The account's environment tag as written (`production`, `Dev`...).
    pub environment: Option<String>,
    pub team: Option<String>,
    pub client: Option<String>,
    pub project: Option<String>,
    pub resource_ids: Vec<String>,
    pub resource_types: Vec<String>,
    pub resource_tags: BTreeMap<String, String>,
}

/// One entry of the policy's `suppressions` list.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    /// 1-based line of the rule in the policy text (of its first key: the `- id:` line).
    pub line: usize,
    pub action: RuleAction,
    pub reason: String,
    pub(super) subject: SubjectPattern,
    pub(super) condition: Condition,
}

impl Rule {
    /// The rule's subject pattern as written (`Control("IAM.*")`), for reports.
    pub fn subject_pattern(&self) -> Subject<'_> {
        match &self.subject {
            SubjectPattern::Control(glob) => Subject::Control(glob.as_str()),
            SubjectPattern::IncidentType(glob) => Subject::IncidentType(glob.as_str()),
        }
    }

    /// Whether the rule is about `subject`; `environment` is the canonical environment name of the
    /// facts' environment tag.
    pub(super) fn applies(&self, subject: Subject<'_>, facts: &Facts, environment: &str) -> bool {
        self.subject.matches(subject) && self.condition.holds(facts, environment)
    }
}

#[derive(Debug, Clone)]
pub(super) enum SubjectPattern {
    Control(Glob),
    IncidentType(Glob),
}

impl SubjectPattern {
    fn matches(&self, subject: Subject<'_>) -> bool {
        match (self, subject) {
            (SubjectPattern::Control(glob), Subject::Control(id)) => glob.matches(id),
            (SubjectPattern::IncidentType(glob), Subject::IncidentType(kind)) => glob.matches(kind),
            _ => false,
        }
    }
}

/// A rule's `when`: every clause holds and, if there is a `not`, not all of its clauses hold.
#[derive(Debug, Clone)]
pub(super) struct Condition {
    pub(super) all: Vec<Clause>,
    pub(super) not: Option<Vec<Clause>>,
}

impl Condition {
    fn holds(&self, facts: &Facts, environment: &str) -> bool {
        let all_hold = |clauses: &[Clause]| clauses.iter().all(|c| c.holds(facts, environment));
        all_hold(&self.all) && self.not.as_deref().is_none_or(|negated| !all_hold(negated))
    }
}

/// One clause; the values are never empty (an empty list could never hold and is rejected).
#[derive(Debug, Clone)]
pub(super) enum Clause {
    Account(Vec<String>),
    AccountName(Vec<String>),
    Region(Vec<String>),
    /// Any OU on the account's path is listed.
    Ou(Vec<String>),
    /// The canonical environment name or the raw tag value is listed, ignoring case.
    Environment(Vec<String>),
    Team(Vec<String>),
    Client(Vec<String>),
    Project(Vec<String>),
    /// Any of the finding's resource types is listed.
    ResourceType(Vec<String>),
    /// Any of the finding's resource ids matches any of the globs.
    ResourceId(Vec<Glob>),
    /// Every listed tag is on the resource with a value matching one of its globs.
    ResourceTags(Vec<(String, Vec<Glob>)>),
}

impl Clause {
    fn holds(&self, facts: &Facts, environment: &str) -> bool {
        let listed = |values: &[String], fact: Option<&String>| fact.is_some_and(|f| values.contains(f));
        match self {
            Clause::Account(values) => values.contains(&facts.account_id),
            Clause::AccountName(values) => listed(values, facts.account_name.as_ref()),
            Clause::Region(values) => listed(values, facts.region.as_ref()),
            Clause::Ou(values) => facts.ou_path.iter().any(|ou| values.contains(ou)),
            Clause::Environment(values) => values.iter().any(|v| {
                v.eq_ignore_ascii_case(environment)
                    || facts.environment.as_deref().is_some_and(|raw| v.eq_ignore_ascii_case(raw.trim()))
            }),
            Clause::Team(values) => listed(values, facts.team.as_ref()),
            Clause::Client(values) => listed(values, facts.client.as_ref()),
            Clause::Project(values) => listed(values, facts.project.as_ref()),
            Clause::ResourceType(values) => facts.resource_types.iter().any(|t| values.contains(t)),
            Clause::ResourceId(globs) => facts.resource_ids.iter().any(|id| globs.iter().any(|g| g.matches(id))),
            Clause::ResourceTags(tags) => tags.iter().all(|(key, globs)| {
                facts.resource_tags.get(key).is_some_and(|value| globs.iter().any(|g| g.matches(value)))
            }),
        }
    }
}
