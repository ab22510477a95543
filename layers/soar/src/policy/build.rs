//! From the document as parsed to a [`Policy`]: the checks serde cannot make (durations, globs,
//! weights, duplicates, combinations of keys), each reported at the node it is about.

use super::duration::parse_duration;
use super::glob::Glob;
use super::incidents::{IncidentEntry, IncidentResponse};
use super::locate::{element_lines, NodePath};
use super::raw::{Entries, OneOrMany, RawClauses, RawEnvironment, RawIncident, RawPolicy, RawRule, ResponseAction};
use super::rules::{Clause, Condition, Rule, RuleAction, SubjectPattern};
use super::{EnvironmentClass, Policy, UNSPECIFIED_ENVIRONMENT};
use secops_core::asff::{ControlId, SeverityLabel};
use std::fmt;
use time::Duration;

/// A problem with the node at `path`.
#[derive(Debug)]
pub(super) struct Issue {
    pub(super) path: NodePath,
    pub(super) message: String,
}

type Checked<T> = Result<T, Issue>;

fn issue(path: &NodePath, message: impl Into<String>) -> Issue {
    Issue { path: path.clone(), message: message.into() }
}

/// `text` is the document `raw` was parsed from; rules record their line in it.
pub(super) fn build(raw: RawPolicy, text: &str) -> Checked<Policy> {
    let root = NodePath::default();
    let accounts = root.key("accounts");
    let tickets = root.key("tickets");
    let auto_remediation = root.key("auto_remediation").key("controls");
    Ok(Policy {
        environments: environments(raw.environments, &root.key("environments"))?,
        unknown_environment_weight: weight(raw.unknown_environment_weight, &root.key("unknown_environment_weight"))?,
        new_account_min_age: duration(&raw.accounts.new_account_min_age, &accounts.key("new_account_min_age"))?,
        account_cache_ttl: duration(&raw.accounts.cache_ttl, &accounts.key("cache_ttl"))?,
        deadlines: deadlines(raw.tickets.deadlines, &tickets.key("deadlines"))?,
        escalate: distinct(raw.tickets.escalate, &tickets.key("escalate"))?,
        keep_closed_tickets_for: duration(&raw.tickets.keep_closed_for, &tickets.key("keep_closed_for"))?,
        auto_remediation_controls: control_ids(raw.auto_remediation.controls, &auto_remediation)?,
        incidents: incidents(raw.incidents, &root.key("incidents"))?,
        rules: rules(raw.suppressions, &root.key("suppressions"), text)?,
    })
}

fn duration(text: &str, path: &NodePath) -> Checked<Duration> {
    parse_duration(text).map_err(|message| issue(path, message))
}

fn weight(value: f64, path: &NodePath) -> Checked<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(issue(path, format!("weight {value} is not allowed: a weight is a finite number of at least 0")))
    }
}

/// The list unchanged, or an issue at the first element that repeats an earlier one.
fn distinct<T: PartialEq + fmt::Display>(items: Vec<T>, path: &NodePath) -> Checked<Vec<T>> {
    match (1..items.len()).find(|&i| items[..i].contains(&items[i])) {
        Some(i) => Err(issue(&path.index(i), format!("`{}` is listed twice", items[i]))),
        None => Ok(items),
    }
}

fn environments(raw: Entries<String, RawEnvironment>, path: &NodePath) -> Checked<Vec<EnvironmentClass>> {
    let mut classes: Vec<EnvironmentClass> = Vec::new();
    for (index, (name, raw_class)) in raw.0.into_iter().enumerate() {
        let at = path.entry(index, &name);
        if name.trim().is_empty() {
            return Err(issue(&at, "an environment name cannot be empty"));
        }
        if name.eq_ignore_ascii_case(UNSPECIFIED_ENVIRONMENT) {
            return Err(issue(
                &at,
                format!("`{name}` is reserved for accounts whose environment tag is missing or unknown; their weight is `unknown_environment_weight`"),
            ));
        }
        if let Some(other) = classes.iter().find(|c| c.is_named(&name)) {
            return Err(issue(
                &at,
                format!("environment `{name}` is already defined or named by environment `{}`", other.name),
            ));
        }
        let weight = weight(raw_class.weight, &at.key("weight"))?;
        let names_path = at.key("names");
        for (i, alias) in raw_class.names.iter().enumerate() {
            let alias_path = names_path.index(i);
            if alias.trim().is_empty() {
                return Err(issue(&alias_path, "an environment name cannot be empty"));
            }
            if raw_class.names[..i].iter().any(|earlier| earlier.eq_ignore_ascii_case(alias)) {
                return Err(issue(
                    &alias_path,
                    format!("`{alias}` is listed twice (names are compared ignoring case)"),
                ));
            }
            if let Some(other) = classes.iter().find(|c| c.is_named(alias)) {
                return Err(issue(
                    &alias_path,
                    format!(
                        "`{alias}` already names environment `{}`; a name belongs to one environment only (names are compared ignoring case)",
                        other.name
                    ),
                ));
            }
        }
        classes.push(EnvironmentClass { name, weight, names: raw_class.names });
    }
    Ok(classes)
}

fn deadlines(raw: Entries<SeverityLabel, String>, path: &NodePath) -> Checked<Vec<(SeverityLabel, Duration)>> {
    let mut deadlines: Vec<(SeverityLabel, Duration)> = Vec::new();
    for (index, (severity, text)) in raw.0.into_iter().enumerate() {
        let at = path.entry(index, severity.as_str());
        if deadlines.iter().any(|(seen, _)| *seen == severity) {
            return Err(issue(&at, format!("severity {severity} has two deadlines")));
        }
        deadlines.push((severity, duration(&text, &at)?));
    }
    Ok(deadlines)
}

fn control_ids(raw: Vec<String>, path: &NodePath) -> Checked<Vec<String>> {
    let controls = distinct(raw, path)?;
    for (index, control) in controls.iter().enumerate() {
        ControlId::parse(control).map_err(|e| issue(&path.index(index), e.to_string()))?;
    }
    Ok(controls)
}

fn incidents(raw: Vec<RawIncident>, path: &NodePath) -> Checked<Vec<IncidentEntry>> {
    raw.into_iter().enumerate().map(|(index, entry)| incident(entry, &path.index(index))).collect()
}

fn incident(raw: RawIncident, path: &NodePath) -> Checked<IncidentEntry> {
    let families = raw.families.map(|list| non_empty_selector(list, &path.key("families"), "family")).transpose()?;
    let severities =
        raw.severities.map(|list| non_empty_selector(list, &path.key("severities"), "severity")).transpose()?;
    let respond_path = path.key("respond");
    if raw.respond.is_empty() {
        return Err(issue(
            &respond_path,
            format!("`respond` is empty; list at least one of {}", ResponseAction::NAMES.join(", ")),
        ));
    }
    let mut response = IncidentResponse::default();
    for action in distinct(raw.respond, &respond_path)? {
        let flag = match action {
            ResponseAction::Notify => &mut response.notify,
            ResponseAction::SocTicket => &mut response.soc_ticket,
            ResponseAction::TeamTicket => &mut response.team_ticket,
            ResponseAction::Isolate => &mut response.isolate,
            ResponseAction::Terminate => &mut response.terminate,
            ResponseAction::Suppress => &mut response.suppress,
        };
        *flag = true;
    }
    if response.terminate && !response.isolate {
        return Err(issue(
            &respond_path,
            "`terminate` without `isolate`: an instance is isolated before it is terminated, so list `isolate` too",
        ));
    }
    Ok(IncidentEntry { families, severities, response })
}

/// A `families` or `severities` list: an empty one would make its entry match nothing.
fn non_empty_selector<T: PartialEq + fmt::Display>(list: Vec<T>, path: &NodePath, what: &str) -> Checked<Vec<T>> {
    if list.is_empty() {
        return Err(issue(
            path,
            format!("the list is empty, so the entry would match no {what}; leave the key out to match every {what}"),
        ));
    }
    distinct(list, path)
}

fn rules(raw: Vec<RawRule>, path: &NodePath, text: &str) -> Checked<Vec<Rule>> {
    let lines = element_lines(text, path, raw.len());
    let mut rules: Vec<Rule> = Vec::with_capacity(raw.len());
    for ((index, raw_rule), line) in raw.into_iter().enumerate().zip(lines) {
        rules.push(rule(raw_rule, &path.index(index), line, &rules)?);
    }
    Ok(rules)
}

/// `earlier` are the rules before this one, for the duplicate-id check.
fn rule(raw: RawRule, path: &NodePath, line: usize, earlier: &[Rule]) -> Checked<Rule> {
    if raw.id.trim().is_empty() {
        return Err(issue(&path.key("id"), "a rule id cannot be empty"));
    }
    if let Some(first) = earlier.iter().find(|r| r.id == raw.id) {
        return Err(issue(
            &path.key("id"),
            format!(
                "duplicate rule id `{}`: the rule at line {} already has it; ids must be unique",
                raw.id, first.line
            ),
        ));
    }
    let subject = match (raw.control, raw.incident_type) {
        (Some(control), None) => SubjectPattern::Control(glob(&control, &path.key("control"))?),
        (None, Some(incident_type)) => {
            if raw.action == RuleAction::SkipAutoremediation {
                return Err(issue(
                    &path.key("action"),
                    "`skip_autoremediation` applies to `control` rules only; an `incident_type` rule can only `suppress`",
                ));
            }
            SubjectPattern::IncidentType(glob(&incident_type, &path.key("incident_type"))?)
        }
        (Some(_), Some(_)) => {
            return Err(issue(path, "the rule has both `control` and `incident_type`; a rule has exactly one of them"))
        }
        (None, None) => {
            return Err(issue(
                path,
                "the rule has neither `control` nor `incident_type`; a rule has exactly one of them (a control id such as IAM.21 or a finding type such as Recon:EC2/*, globs allowed)",
            ))
        }
    };
    if raw.reason.trim().is_empty() {
        return Err(issue(&path.key("reason"), "a rule needs a `reason`; it is shown in the decision"));
    }
    Ok(Rule {
        id: raw.id,
        line,
        action: raw.action,
        reason: raw.reason,
        subject,
        condition: condition(raw.when, &path.key("when"))?,
    })
}

fn glob(pattern: &str, path: &NodePath) -> Checked<Glob> {
    Glob::new(pattern).map_err(|message| issue(path, message))
}

fn condition(mut raw: RawClauses, path: &NodePath) -> Checked<Condition> {
    let negated = raw.not.take();
    let all = clauses(raw, path)?;
    let not = match negated {
        None => None,
        Some(inner) => {
            let not_path = path.key("not");
            if inner.not.is_some() {
                return Err(issue(
                    &not_path.key("not"),
                    "`not` cannot be nested; write the alternatives as separate rules",
                ));
            }
            let negated = clauses(*inner, &not_path)?;
            if negated.is_empty() {
                return Err(issue(
                    &not_path,
                    "`not` has no clauses, so the rule could never match; list the clauses that must not all hold",
                ));
            }
            Some(negated)
        }
    };
    Ok(Condition { all, not })
}

/// A clause over plain strings: its values, its key, how each value is checked, and the clause
/// the checked values make.
type StringClause = (Option<OneOrMany>, &'static str, fn(String) -> Result<String, String>, fn(Vec<String>) -> Clause);

/// The clauses of a `when` or `not`, except `not` itself.
fn clauses(raw: RawClauses, path: &NodePath) -> Checked<Vec<Clause>> {
    let string_clauses: [StringClause; 9] = [
        (raw.account, "account", account_id, Clause::Account),
        (raw.account_name, "account_name", non_empty, Clause::AccountName),
        (raw.region, "region", non_empty, Clause::Region),
        (raw.ou, "ou", non_empty, Clause::Ou),
        (raw.environment, "environment", non_empty, Clause::Environment),
        (raw.team, "team", non_empty, Clause::Team),
        (raw.client, "client", non_empty, Clause::Client),
        (raw.project, "project", non_empty, Clause::Project),
        (raw.resource_type, "resource_type", non_empty, Clause::ResourceType),
    ];
    let mut clauses = Vec::new();
    for (list, key, check, clause) in string_clauses {
        if let Some(list) = list {
            clauses.push(clause(each(list, &path.key(key), check)?));
        }
    }
    if let Some(list) = raw.resource_id {
        clauses.push(Clause::ResourceId(each(list, &path.key("resource_id"), |v| Glob::new(&v))?));
    }
    if let Some(tags) = raw.resource_tags {
        clauses.push(Clause::ResourceTags(resource_tags(tags, &path.key("resource_tags"))?));
    }
    Ok(clauses)
}

/// Each value of a clause through `convert`; an error points at the value it is about.
fn each<T>(list: OneOrMany, path: &NodePath, convert: impl Fn(String) -> Result<T, String>) -> Checked<Vec<T>> {
    if list.values.is_empty() {
        return Err(issue(
            path,
            "the list is empty, so the clause could never hold; list at least one value or remove the clause",
        ));
    }
    let single = list.single;
    let value_path = |index: usize| if single { path.clone() } else { path.index(index) };
    list.values
        .into_iter()
        .enumerate()
        .map(|(index, value)| convert(value).map_err(|m| issue(&value_path(index), m)))
        .collect()
}

fn non_empty(value: String) -> Result<String, String> {
    if value.is_empty() {
        Err("an empty value never matches; remove it".to_owned())
    } else {
        Ok(value)
    }
}

fn account_id(value: String) -> Result<String, String> {
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value)
    } else {
        Err(format!("`{value}` is not an AWS account id (12 digits)"))
    }
}

/// `resource_tags`: tag key to the globs its value may match (`"*"`: any value, but the tag must be there).
fn resource_tags(raw: Entries<String, OneOrMany>, path: &NodePath) -> Checked<Vec<(String, Vec<Glob>)>> {
    if raw.0.is_empty() {
        return Err(issue(
            path,
            "`resource_tags` is empty, so the clause would always hold; list tags or remove the clause",
        ));
    }
    let mut tags: Vec<(String, Vec<Glob>)> = Vec::new();
    for (index, (key, values)) in raw.0.into_iter().enumerate() {
        let at = path.entry(index, &key);
        if key.is_empty() {
            return Err(issue(&at, "a tag key cannot be empty"));
        }
        if tags.iter().any(|(seen, _)| *seen == key) {
            return Err(issue(&at, format!("tag `{key}` is listed twice")));
        }
        let globs = each(values, &at, |v| Glob::new(&v))?;
        tags.push((key, globs));
    }
    Ok(tags)
}
