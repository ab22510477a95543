//! The `decide` function's actions: build the scratchpad and route the finding (`decide`), write
//! its outcome to Security Hub (`suppress_finding`, `resolve_finding`), classify an incident
//! (`classify_incident`) and sync the enabled controls (`sync_enabled_controls`, hourly).

use std::collections::BTreeMap;

use secops_core::asff::{parse_finding_value, AwsSecurityFinding, SeverityLabel, WorkflowStatus};
use secops_core::scratchpad::{AccountData, Decision, Scratchpad, TicketRef};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::account::{account_data, ou_path};
use crate::deps::{Once, Soar};
use crate::hub::{update_findings, FindingChange, FindingRef, FindingUpdate, Unprocessed};
use crate::incident::{classify, Classification};
use crate::policy::{Facts, RuleAction, Subject};
use crate::route::{control_id, route};
use crate::score::{normalized_severity, penalty_score};
use crate::state::{ClaimKey, DeadLetter, EnabledControls, TicketKind};
use crate::{Result, SoarError};

/// Which event a finding came in.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EventRef {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub time: String,
}

/// The `decide` action's input: one finding of an event, as the Map hands it over.
#[derive(Debug, Clone, Deserialize)]
pub struct DecideInput {
    pub finding: Value,
    #[serde(default)]
    pub event: EventRef,
    #[serde(default)]
    pub index: Option<u32>,
    /// The execution deciding; a retry of the same execution continues its own claims.
    #[serde(default)]
    pub execution_id: Option<String>,
}

/// The scratchpad key holding the id of the execution that decided the finding.
pub const EXECUTION_KEY: &str = "execution_id";

/// Who owns the claims of this scratchpad: the deciding execution, else a one-off id.
pub fn owner_of(pad: &Scratchpad) -> String {
    owner_or_one_off(pad.extra.get(EXECUTION_KEY).and_then(Value::as_str))
}

/// The execution as claim owner; a call without one owns its claims alone.
pub fn owner_or_one_off(execution_id: Option<&str>) -> String {
    execution_id.map(str::to_owned).unwrap_or_else(|| format!("call-{}", uuid::Uuid::new_v4()))
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| SoarError::InvalidInput(format!("cannot serialize: {e}")))
}

/// The finding's region: `Region`, else the first resource's.
pub fn region_of(finding: &AwsSecurityFinding) -> Option<String> {
    finding.region.clone().or_else(|| finding.resources.iter().find_map(|r| r.region.clone()))
}

/// `decide`: parse, deduplicate, route. A finding that does not parse becomes a dead letter and an
/// `InvalidInput` error (the state machine then records it in the audit log and tickets it).
pub async fn decide(soar: &Soar, input: DecideInput) -> Result<Scratchpad> {
    let finding = match parse_finding_value(&input.finding) {
        Ok(f) => f,
        Err(e) => return Err(dead_letter(soar, &input, &e.to_string()).await),
    };
    let owner = owner_or_one_off(input.execution_id.as_deref());
    let key = ClaimKey::new(&finding.id, "decide", &finding.updated_at);
    let (id, updated_at) = (finding.id.clone(), finding.updated_at.clone());
    let outcome = soar
        .once(key, &owner, || async {
            let pad = decide_finding(soar, finding.clone(), &owner).await?;
            to_value(&pad)
        })
        .await?;
    let duplicate = |by: &str, what: String| -> Result<Scratchpad> {
        let mut pad = Scratchpad::new(finding.clone(), &soar.flags);
        pad.extra.insert(EXECUTION_KEY.into(), json!(owner));
        pad.decide(
            Decision::DoNothing,
            format!("duplicate delivery: this version of the finding (UpdatedAt {updated_at}) {what} by {by}"),
        );
        Ok(pad)
    };
    match outcome {
        Once::Ran(v) => Scratchpad::from_value(&v).map_err(|e| SoarError::InvalidInput(e.to_string())),
        Once::Replayed(v) => {
            let stored = Scratchpad::from_value(&v).map_err(|e| {
                SoarError::store(secops_core::ErrorClass::Permanent, format!("stored decision for {id}: {e}"))
            })?;
            let by = stored.extra.get(EXECUTION_KEY).and_then(Value::as_str).unwrap_or("another execution").to_owned();
            if by == owner {
                Ok(stored) // our own retry: the same answer again
            } else {
                let what =
                    format!("was already decided ({})", stored.decision.map(|d| d.as_str()).unwrap_or("no decision"));
                duplicate(&by, what)
            }
        }
        Once::Busy { owner: by } => duplicate(&by, "is being handled right now".into()),
    }
}

/// `decide` without claims or dead letters: what would happen to the finding now (`--dry-run`).
/// Reads the state store (open tickets, enabled controls) and fills the account cache, nothing else.
pub async fn preview(soar: &Soar, input: DecideInput) -> Result<Scratchpad> {
    let finding = parse_finding_value(&input.finding)
        .map_err(|e| SoarError::InvalidInput(format!("finding #{}: {e}", input.index.unwrap_or_default())))?;
    decide_finding(soar, finding, "dry-run").await
}

async fn dead_letter(soar: &Soar, input: &DecideInput, error: &str) -> SoarError {
    let at = input.index.map(|i| format!("#{i}")).unwrap_or_default();
    let id = format!("{}{at}", if input.event.id.is_empty() { "no-event-id" } else { &input.event.id });
    let letter = DeadLetter {
        id: id.clone(),
        event_id: input.event.id.clone(),
        index: input.index,
        error: error.to_owned(),
        raw: input.finding.clone(),
        received_at: soar.clock.now(),
    };
    let recorded = match soar.store.put_dead_letter(&letter).await {
        Ok(()) => format!("recorded as dead letter {id}"),
        Err(e) => format!("and the dead letter could not be recorded ({e})"),
    };
    SoarError::InvalidInput(format!("event {} finding {at}: {error}; {recorded}", input.event.id))
}

/// The account data: from the cache, else from the organization (then cached). An account the
/// organization does not know is a `Permanent` error: a person has to look.
pub async fn account(soar: &Soar, account_id: &str) -> Result<AccountData> {
    let now = soar.clock.now();
    if let Some(cached) = soar.store.cached_account(account_id, now).await? {
        return Ok(cached);
    }
    let org = soar.accounts.account(account_id).await?.ok_or_else(|| {
        SoarError::Permanent(format!(
            "account {account_id} is not a member of the organization, so there is no owner, environment or team \
             to decide with; a person has to route this finding"
        ))
    })?;
    let (data, _) = account_data(&org, now, soar.policy.new_account_min_age());
    soar.store.cache_account(&data, now + soar.policy.account_cache_ttl()).await?;
    Ok(data)
}

/// The account tags the decision would have liked but did not find.
fn missing_tags(data: &AccountData) -> Vec<&'static str> {
    let mut missing = Vec::new();
    if data.environment.is_none() {
        missing.push(crate::account::ENVIRONMENT_TAGS[0]);
    }
    if data.team.is_none() {
        missing.push(crate::account::TEAM_TAGS[0]);
    }
    missing
}

/// What suppression rules can match, from the account and the finding.
pub fn facts(finding: &AwsSecurityFinding, account: &AccountData) -> Facts {
    let mut resource_tags = BTreeMap::new();
    for r in &finding.resources {
        for (k, v) in r.tags.iter().flatten() {
            resource_tags.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    Facts {
        account_id: finding.aws_account_id.clone(),
        account_name: account.name.clone(),
        region: region_of(finding),
        ou_path: ou_path(account),
        environment: account.environment.clone(),
        team: account.team.clone(),
        client: account.client.clone(),
        project: account.project_name.clone(),
        resource_ids: finding.resources.iter().map(|r| r.id.clone()).collect(),
        resource_types: finding.resources.iter().map(|r| r.resource_type.to_string()).collect(),
        resource_tags,
    }
}

fn with_missing(reason: String, data: &AccountData) -> String {
    let missing = missing_tags(data);
    if missing.is_empty() {
        reason
    } else {
        format!("{reason} (account {} has no {} tag)", data.id.as_deref().unwrap_or("?"), missing.join(" or "))
    }
}

async fn decide_finding(soar: &Soar, finding: AwsSecurityFinding, owner: &str) -> Result<Scratchpad> {
    let mut pad = Scratchpad::new(finding, &soar.flags);
    pad.extra.insert(EXECUTION_KEY.into(), json!(owner));
    let f = pad.finding.clone();
    // Only team and failure tickets follow the finding's lifecycle; incident tickets belong to the SOC.
    // The stored ticket matters only to a resolved finding whose own fields name none: the one
    // read per finding that would otherwise be spent on every NEW import is skipped.
    let stored = if soar.flags.pipeline_enabled && f.is_resolved() && crate::route::ticket_in_finding(&f).is_none() {
        soar.store
            .ticket(&f.id)
            .await?
            .filter(|t| t.is_open() && matches!(t.kind, TicketKind::Team | TicketKind::Failure))
    } else {
        None
    };
    if let Some(t) = &stored {
        pad.db.insert("ticket".into(), to_value(t)?);
    }
    let routed = route(&f, &soar.flags, stored.as_ref().map(|t| t.ticket_id.as_str()));
    match routed.decision {
        Decision::DoNothing | Decision::Suppress => pad.decide(routed.decision, routed.reason),
        Decision::CloseTicket => {
            pad.ticket = routed.ticket_id.clone().map(|id| TicketRef { open: true, id });
            pad.decide(Decision::CloseTicket, routed.reason);
        }
        Decision::FailedControl => failed_control(soar, &mut pad, routed.reason).await?,
        Decision::Incident => incident(soar, &mut pad, routed.reason).await?,
    }
    Ok(pad)
}

fn score(soar: &Soar, pad: &mut Scratchpad, normalized: i64) {
    let (score, environment) = penalty_score(&soar.policy, normalized, pad.account.environment.as_deref());
    pad.penalty_score = Some(score);
    pad.extra.insert("environment".into(), json!(environment));
}

async fn failed_control(soar: &Soar, pad: &mut Scratchpad, reason: String) -> Result<()> {
    let f = pad.finding.clone();
    let control = control_id(&f).unwrap_or_else(|| f.generator_id.clone());
    pad.account = account(soar, &f.aws_account_id).await?;
    if pad.account.account_new {
        let age = soar.policy.new_account_min_age();
        pad.decide(
            Decision::DoNothing,
            format!(
                "account {} joined the organization less than {age} ago: deferred until it is set up",
                f.aws_account_id
            ),
        );
        return Ok(());
    }
    if let Some(region) = region_of(&f) {
        if let Some(enabled) = soar.store.enabled_controls(&f.aws_account_id, &region).await? {
            pad.db.insert(
                "enabled_controls".into(),
                json!({"synced_at": enabled.synced_at.to_string(), "count": enabled.controls.len()}),
            );
            if !enabled.controls.contains(&control) {
                pad.decide(
                    Decision::Suppress,
                    format!(
                        "control {control} is disabled in {}/{region} (enabled controls synced {})",
                        f.aws_account_id, enabled.synced_at
                    ),
                );
                return Ok(());
            }
        }
    }
    let facts = facts(&f, &pad.account);
    if let Some(rule) = soar.policy.suppression(Subject::Control(&control), RuleAction::Suppress, &facts) {
        pad.decide(Decision::Suppress, format!("suppression rule '{}' (line {}): {}", rule.id, rule.line, rule.reason));
        return Ok(());
    }
    let label = f.severity_label();
    score(soar, pad, normalized_severity(&f, label));
    let skip = soar.policy.suppression(Subject::Control(&control), RuleAction::SkipAutoremediation, &facts);
    let remediable = soar.policy.auto_remediates(&control) && skip.is_none();
    pad.actions.extra.insert("remediable".into(), json!(remediable));
    if let Some(rule) = skip {
        pad.messages.extra.insert(
            "autoremediation_skipped".into(),
            json!(format!("rule '{}' (line {}): {}", rule.id, rule.line, rule.reason)),
        );
    }
    if remediable && soar.flags.defer_autoremediations {
        pad.decide(
            Decision::DoNothing,
            format!("{reason}; auto-remediation is deferred (SECOPS_DEFER_AUTOREMEDIATIONS)"),
        );
        return Ok(());
    }
    let next = if remediable { "auto-remediate" } else { "ticket the team" };
    let reason = with_missing(format!("{reason}: {next}"), &pad.account);
    pad.decide(Decision::FailedControl, reason);
    Ok(())
}

async fn incident(soar: &Soar, pad: &mut Scratchpad, reason: String) -> Result<()> {
    let f = pad.finding.clone();
    pad.account = account(soar, &f.aws_account_id).await?;
    let c = classify(&f);
    let facts = facts(&f, &pad.account);
    if let Some(rule) = soar.policy.suppression(Subject::IncidentType(&c.finding_type), RuleAction::Suppress, &facts) {
        pad.decide(Decision::Suppress, format!("suppression rule '{}' (line {}): {}", rule.id, rule.line, rule.reason));
        return Ok(());
    }
    // Alarms carry their severity in the name; everything else in the finding.
    let normalized = if c.severity != f.severity_label().unwrap_or(SeverityLabel::Informational) {
        c.severity.normalized()
    } else {
        normalized_severity(&f, Some(c.severity))
    };
    score(soar, pad, normalized);
    let reason = with_missing(format!("{reason}: {} incident {}", c.family.as_str(), c.finding_type), &pad.account);
    pad.extra.insert("incident".into(), to_value(&incident_doc(soar, &c))?);
    pad.decide(Decision::Incident, reason);
    Ok(())
}

/// The `incident` object of the scratchpad: the classification and the policy's response.
pub fn incident_doc(soar: &Soar, c: &Classification) -> Value {
    let response = soar.policy.incident_response(c.family, c.severity);
    json!({
        "family": c.family,
        "finding_type": c.finding_type,
        "severity": c.severity.as_str(),
        "domain": c.domain,
        "instance_id": c.instance_id,
        "response": response,
        "suppress": response.suppress,
    })
}

/// `classify_incident`: the `incident` object (recomputed: the policy may have changed since decide).
pub fn classify_incident(soar: &Soar, mut pad: Scratchpad) -> Result<Scratchpad> {
    let c = classify(&pad.finding);
    pad.extra.insert("incident".into(), incident_doc(soar, &c));
    Ok(pad)
}

/// The class of a finding the hub would not update, from its error code.
fn unprocessed_error(u: &Unprocessed, status: WorkflowStatus) -> SoarError {
    let message = format!(
        "Security Hub did not set finding {} to {status}: {} ({})",
        u.finding.id, u.error_message, u.error_code
    );
    let code = u.error_code.to_ascii_lowercase();
    let class = if code.contains("throttl") || code.contains("toomanyrequests") || code.contains("limitexceeded") {
        secops_core::ErrorClass::Throttled
    } else if code.contains("notfound") || code.contains("invalid") || code.contains("accessdenied") {
        secops_core::ErrorClass::Permanent
    } else {
        secops_core::ErrorClass::Transient
    };
    SoarError::aws(class, message)
}

/// Write `change` for the scratchpad's finding once per finding version and `what`.
pub async fn write_status(soar: &Soar, pad: &Scratchpad, what: &str, change: FindingChange) -> Result<Value> {
    let f = &pad.finding;
    let key = ClaimKey::new(&f.id, what, &f.updated_at);
    let update = FindingUpdate {
        finding: FindingRef { id: f.id.clone(), product_arn: f.product_arn.clone() },
        change: change.clone(),
    };
    let owner = owner_of(pad);
    let outcome = soar
        .once(key, &owner, || async {
            let report = update_findings(soar.hub.as_ref(), &[update], soar.settings.hub_individual_attempts).await?;
            if let Some(failed) = report.failed.first() {
                return Err(unprocessed_error(failed, change.workflow_status.unwrap_or(WorkflowStatus::Notified)));
            }
            Ok(json!({"written": what, "calls": report.calls, "by": owner}))
        })
        .await?;
    Ok(outcome.report())
}

fn note(prefix: &str, pad: &Scratchpad) -> String {
    match &pad.decision_reason {
        Some(reason) => format!("{prefix}: {reason}"),
        None => prefix.to_owned(),
    }
}

/// `suppress_finding`: Workflow.Status SUPPRESSED, with the reason as the note.
pub async fn suppress_finding(soar: &Soar, mut pad: Scratchpad) -> Result<Scratchpad> {
    let text = match pad.extra.get("incident") {
        Some(i) => format!(
            "Incident handled by SecOps Autopilot ({} {})",
            i["family"].as_str().unwrap_or("?"),
            i["finding_type"].as_str().unwrap_or("?")
        ),
        None => note("Suppressed by SecOps Autopilot", &pad),
    };
    let change =
        FindingChange { workflow_status: Some(WorkflowStatus::Suppressed), note: Some(text), ..Default::default() };
    let written = write_status(soar, &pad, "status:SUPPRESSED", change).await?;
    pad.extra.insert("status_update".into(), written);
    Ok(pad)
}

/// `resolve_finding`: Workflow.Status RESOLVED after a verified auto-remediation.
pub async fn resolve_finding(soar: &Soar, mut pad: Scratchpad) -> Result<Scratchpad> {
    let text = format!("Auto-remediated by SecOps Autopilot: {}", pad.messages.actions_taken);
    let change =
        FindingChange { workflow_status: Some(WorkflowStatus::Resolved), note: Some(text), ..Default::default() };
    let written = write_status(soar, &pad, "status:RESOLVED", change).await?;
    pad.extra.insert("status_update".into(), written);
    Ok(pad)
}

/// `sync_enabled_controls`: every active account × configured region, into the state store.
/// One account failing does not stop the others; the call fails only when none could be synced.
pub async fn sync_enabled_controls(soar: &Soar) -> Result<Value> {
    let Some(catalog) = &soar.controls else {
        return Ok(
            json!({"synced": 0, "skipped": "Security Hub is not configured (no AWS): enabled controls are not synced"}),
        );
    };
    let accounts = soar.accounts.account_ids().await?;
    let (mut synced, mut failed, mut first_error) = (0usize, Vec::new(), None);
    for account_id in &accounts {
        for region in &soar.regions {
            match catalog.enabled_controls(account_id, region).await {
                Ok(controls) => {
                    let record = EnabledControls {
                        account_id: account_id.clone(),
                        region: region.clone(),
                        controls,
                        synced_at: soar.clock.now(),
                    };
                    soar.store.put_enabled_controls(&record).await?;
                    synced += 1;
                }
                Err(e) => {
                    failed.push(json!({"account_id": account_id, "region": region, "error": e.to_string(), "class": e.class().name()}));
                    first_error.get_or_insert(e);
                }
            }
        }
    }
    if synced == 0 {
        if let Some(e) = first_error {
            return Err(e);
        }
    }
    Ok(json!({"synced": synced, "failed": failed, "accounts": accounts.len(), "regions": soar.regions}))
}
