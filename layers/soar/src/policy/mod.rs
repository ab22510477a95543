//! The decide policy: one YAML document with environment weights, account settings, ticket
//! deadlines, auto-remediation switches, incident responses and suppression rules. The built-in
//! one is `config/policy.yaml`, which documents every key.
//!
//! Loading is strict: an unknown key, a wrong type, a value outside a closed set, a malformed
//! duration or glob, or a combination that makes no sense is a [`PolicyError`] with the line and
//! column of the offending node. (The system this replaces read a malformed rule clause as
//! "false" and carried on, so a typo silently switched a suppression off.)

mod build;
mod duration;
mod glob;
mod incidents;
mod locate;
mod raw;
mod rules;

pub use incidents::{IncidentFamily, IncidentResponse};
pub use rules::{Facts, Rule, RuleAction, Subject};

use incidents::IncidentEntry;
use secops_core::asff::SeverityLabel;
use time::Duration;

/// The policy shipped with the code, used when no other is configured.
pub const BUILT_IN_YAML: &str = include_str!("../../../../config/policy.yaml");

/// The environment of accounts whose environment tag is missing or names no environment.
pub const UNSPECIFIED_ENVIRONMENT: &str = "UNSPECIFIED";

/// Why a policy document was rejected, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{source_name} line {line}, column {column}: {message}")]
pub struct PolicyError {
    /// What the text was loaded from (a file name), as given to [`Policy::from_yaml`].
    pub source_name: String,
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub column: usize,
    pub message: String,
}

/// An account's environment: its canonical name and the weight of its findings.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    pub name: String,
    pub weight: f64,
}

/// A loaded, checked policy.
#[derive(Debug, Clone)]
pub struct Policy {
    environments: Vec<EnvironmentClass>,
    unknown_environment_weight: f64,
    new_account_min_age: Duration,
    account_cache_ttl: Duration,
    deadlines: Vec<(SeverityLabel, Duration)>,
    escalate: Vec<SeverityLabel>,
    keep_closed_tickets_for: Duration,
    auto_remediation_controls: Vec<String>,
    incidents: Vec<IncidentEntry>,
    rules: Vec<Rule>,
}

/// One entry of `environments`: the canonical name and the tag values that mean it.
#[derive(Debug, Clone)]
struct EnvironmentClass {
    name: String,
    weight: f64,
    names: Vec<String>,
}

impl EnvironmentClass {
    /// Whether `tag` is this environment's canonical name or one of its names, ignoring case.
    fn is_named(&self, tag: &str) -> bool {
        self.name.eq_ignore_ascii_case(tag) || self.names.iter().any(|n| n.eq_ignore_ascii_case(tag))
    }
}

impl Policy {
    /// Parses and checks a policy document; `source_name` (a file name) prefixes errors.
    pub fn from_yaml(text: &str, source_name: &str) -> Result<Policy, PolicyError> {
        let raw: raw::RawPolicy = serde_yaml_ng::from_str(text).map_err(|err| {
            let at = locate::position_of(&err);
            // The library appends the position to its message; we report it in our own fields.
            let message = err.to_string().replacen(&format!(" at line {} column {}", at.line, at.column), "", 1);
            PolicyError { source_name: source_name.to_owned(), line: at.line, column: at.column, message }
        })?;
        build::build(raw, text).map_err(|issue| {
            let at = locate::locate(text, &issue.path);
            let message =
                if issue.path.is_root() { issue.message } else { format!("{}: {}", issue.path, issue.message) };
            PolicyError { source_name: source_name.to_owned(), line: at.line, column: at.column, message }
        })
    }

    /// The policy in `config/policy.yaml`, compiled in.
    pub fn built_in() -> Policy {
        // A unit test parses BUILT_IN_YAML, so this cannot fail in a build whose tests pass.
        Policy::from_yaml(BUILT_IN_YAML, "config/policy.yaml (built in)").expect("the built-in policy is valid")
    }

    /// The environment an account's environment tag names (case-insensitively, surrounding spaces
    /// ignored), or [`UNSPECIFIED_ENVIRONMENT`] with `unknown_environment_weight` for a missing or
    /// unknown tag.
    pub fn environment(&self, tag_value: Option<&str>) -> Environment {
        match self.environment_class(tag_value) {
            Some(class) => Environment { name: class.name.clone(), weight: class.weight },
            None => Environment { name: UNSPECIFIED_ENVIRONMENT.to_owned(), weight: self.unknown_environment_weight },
        }
    }

    fn environment_class(&self, tag_value: Option<&str>) -> Option<&EnvironmentClass> {
        let tag = tag_value?.trim();
        self.environments.iter().find(|class| class.is_named(tag))
    }

    /// How long a ticket of this severity may stay open; `None`: it is never overdue.
    pub fn deadline(&self, severity: SeverityLabel) -> Option<Duration> {
        self.deadlines.iter().find(|(s, _)| *s == severity).map(|(_, deadline)| *deadline)
    }

    /// Whether an overdue ticket of this severity is escalated.
    pub fn escalates(&self, severity: SeverityLabel) -> bool {
        self.escalate.contains(&severity)
    }

    /// Accounts younger than this are left alone (they are still being set up).
    pub fn new_account_min_age(&self) -> Duration {
        self.new_account_min_age
    }

    /// How long account data may be reused before it is read again.
    pub fn account_cache_ttl(&self) -> Duration {
        self.account_cache_ttl
    }

    /// How long a closed ticket is kept in the state store.
    pub fn keep_closed_tickets_for(&self) -> Duration {
        self.keep_closed_tickets_for
    }

    /// Whether auto-remediation is switched on for this control (listed under
    /// `auto_remediation.controls`).
    pub fn auto_remediates(&self, control_id: &str) -> bool {
        self.auto_remediation_controls.iter().any(|c| c == control_id)
    }

    /// The first rule, in file order, with this action whose subject pattern matches `subject`
    /// and whose clauses hold for `facts`.
    pub fn suppression(&self, subject: Subject<'_>, action: RuleAction, facts: &Facts) -> Option<&Rule> {
        let environment =
            self.environment_class(facts.environment.as_deref()).map_or(UNSPECIFIED_ENVIRONMENT, |c| c.name.as_str());
        self.rules.iter().find(|rule| rule.action == action && rule.applies(subject, facts, environment))
    }

    /// The response of the first `incidents` entry, in file order, that matches; notify only if
    /// none does.
    pub fn incident_response(&self, family: IncidentFamily, severity: SeverityLabel) -> IncidentResponse {
        self.incidents
            .iter()
            .find(|entry| entry.matches(family, severity))
            .map_or(IncidentResponse::NOTIFY_ONLY, |entry| entry.response)
    }

    /// The suppression rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_policy_parses() {
        let policy = Policy::from_yaml(BUILT_IN_YAML, "config/policy.yaml").unwrap();
        assert!(policy.rules().is_empty());
        assert_eq!(policy.environment(Some("live")), Environment { name: "PROD".to_owned(), weight: 10.0 });
    }
}
