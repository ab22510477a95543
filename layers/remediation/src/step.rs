//! The `remediate` step of `statemachines/remediation.asl.json`: the scratchpad in, the
//! scratchpad out, with the run's report under `remediation` and the flags the parent machine
//! routes on (`actions.suppress_finding`, `reconsider_later`, `autoremediation_not_done`, and
//! `approval_required` for the approval gate).
//!
//! Actions: `remediate`; `request_approval` (with the task token: record the request, tell the
//! people on call); `apply_approved` (after approval: apply only if the fresh plan equals the
//! approved one); `approval_ended` (rejected or timed out: hand the finding to the team).

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

use secops_core::outbound::{Alert, Alerts};
use secops_core::scratchpad::Scratchpad;
use secops_core::StepError;

use crate::approval::{ApprovalBook, NewApproval};
use crate::plan::Plan;
use crate::report::{Outcome, Report};
use crate::runner::{Request, Runner};

/// How long the workflow waits for a decision: the `Ask for approval` state's TimeoutSeconds
/// (a contract test keeps the two equal).
pub const APPROVAL_WAIT_SECONDS: i64 = 86_400;

/// The error `secops reject` ends an approval wait with (SendTaskFailure), caught by the machine.
pub const REJECTED: &str = "Rejected";

/// The actions this step answers.
pub const ACTIONS: [&str; 4] = ["remediate", "request_approval", "apply_approved", "approval_ended"];

/// Where the embedded executor's callback endpoint is (none on AWS).
pub type CallbackUrl = Arc<dyn Fn() -> Option<String> + Send + Sync>;

/// The step, over a runner, the approval book and the alert channel.
#[derive(Clone)]
pub struct RemediateStep {
    runner: Runner,
    approvals: Option<Arc<dyn ApprovalBook>>,
    alerts: Option<Arc<dyn Alerts>>,
    callback_url: CallbackUrl,
}

impl std::fmt::Debug for RemediateStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemediateStep").field("runner", &self.runner).field("approvals", &self.approvals).finish()
    }
}

impl RemediateStep {
    pub fn new(runner: Runner) -> Self {
        Self { runner, approvals: None, alerts: None, callback_url: Arc::new(|| None) }
    }

    /// The approval gate's book, where requests wait for `secops approve`.
    pub fn with_approvals(mut self, approvals: Arc<dyn ApprovalBook>) -> Self {
        self.approvals = Some(approvals);
        self
    }

    /// Where approval requests are announced (notify's alert channel: Slack, or the local file).
    pub fn with_alerts(mut self, alerts: Arc<dyn Alerts>) -> Self {
        self.alerts = Some(alerts);
        self
    }

    /// The embedded executor's callback endpoint, read when a request is recorded.
    pub fn with_callback_url(mut self, url: CallbackUrl) -> Self {
        self.callback_url = url;
        self
    }

    pub fn runner(&self) -> &Runner {
        &self.runner
    }

    pub async fn handle(&self, input: Value) -> Result<Value, StepError> {
        let action = input.get("action").and_then(Value::as_str).unwrap_or_default().to_owned();
        let pad = || -> Result<Scratchpad, StepError> {
            let value = input.get("scratchpad").ok_or_else(|| {
                StepError::invalid_input(format!("remediate: action '{action}' needs input.scratchpad"))
            })?;
            Scratchpad::from_value(value).map_err(|e| StepError::invalid_input(format!("remediate: scratchpad.{e}")))
        };
        match action.as_str() {
            "remediate" => {
                let mut pad = pad()?;
                let report = self.runner.run(&pad.finding, request_of(&pad)).await?;
                record(&mut pad, &report);
                to_value(&pad)
            }
            "apply_approved" => {
                let mut pad = pad()?;
                let decision = pad.extra.get("approval").and_then(|a| a.get("decision")).and_then(Value::as_str);
                if decision != Some("approved") {
                    return Err(StepError::invalid_input(format!(
                        "remediate: apply_approved for finding {} without an approval (approval.decision is {decision:?})",
                        pad.finding.id
                    )));
                }
                let plan = planned(&pad)?;
                let mut request = request_of(&pad);
                request.approved_plan = Some(plan);
                let report = self.runner.run(&pad.finding, request).await?;
                record(&mut pad, &report);
                to_value(&pad)
            }
            "request_approval" => {
                let pad = pad()?;
                let token = input.get("token").and_then(Value::as_str).filter(|t| !t.is_empty()).ok_or_else(|| {
                    StepError::invalid_input("remediate: request_approval needs input.token (the task token)")
                })?;
                let id = self.request_approval(&pad, token).await?;
                Ok(json!({"approval_id": id}))
            }
            "approval_ended" => {
                let mut pad = pad()?;
                let how = input.get("outcome").and_then(Value::as_str).unwrap_or_default();
                self.approval_ended(&mut pad, how).await?;
                to_value(&pad)
            }
            other => Err(StepError::invalid_input(format!(
                "remediate: unknown action '{other}' (known: {})",
                ACTIONS.join(", ")
            ))),
        }
    }

    async fn request_approval(&self, pad: &Scratchpad, token: &str) -> Result<String, StepError> {
        let approvals = self.approvals.as_ref().ok_or_else(|| {
            StepError::permanent("remediate: an approval was requested but no approval book is configured (database)")
        })?;
        let plan = planned(pad)?;
        let new = NewApproval {
            task_token: token.to_owned(),
            callback_url: (self.callback_url)(),
            finding_id: pad.finding.id.clone(),
            environment: pad.account.environment.clone(),
            plan: plan.clone(),
            wait: time::Duration::seconds(APPROVAL_WAIT_SECONDS),
        };
        let id = approvals.request(&new).await?;
        if let Some(alerts) = &self.alerts {
            let text = format!(
                "{control} wants to change {resource} in account {account} ({env}), and the change may interrupt a \
                 workload:\n{plan}\nApprove with `secops approve {id}` or reject with `secops reject {id} --reason \
                 \"...\"` within {hours} hours; otherwise the finding is ticketed.",
                control = plan.control,
                resource = plan.resource,
                account = plan.account,
                env = pad.account.environment.as_deref().unwrap_or("unknown environment"),
                plan = plan.describe(),
                hours = APPROVAL_WAIT_SECONDS / 3600,
            );
            let alert = Alert {
                finding_id: pad.finding.id.clone(),
                account_id: plan.account.clone(),
                severity: pad
                    .finding
                    .severity_label()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_else(|| "UNKNOWN".into()),
                title: format!("Approval needed ({id}): {} on {}", plan.control, plan.resource),
                text,
            };
            alerts.send(&alert).await?;
        }
        tracing::info!(approval = %id, finding_id = %pad.finding.id, "remediation approval requested");
        Ok(id)
    }

    async fn approval_ended(&self, pad: &mut Scratchpad, how: &str) -> Result<(), StepError> {
        let why = match how {
            "timed_out" => {
                if let Some(approvals) = &self.approvals {
                    approvals.expire_finding(&pad.finding.id).await?;
                }
                format!("nobody approved it within {} hours", APPROVAL_WAIT_SECONDS / 3600)
            }
            "rejected" => {
                let cause = pad.error.as_ref().and_then(|e| e.get("Cause")).and_then(Value::as_str).unwrap_or_default();
                format!("it was rejected{}", if cause.is_empty() { String::new() } else { format!(": {cause}") })
            }
            other => {
                return Err(StepError::invalid_input(format!(
                    "remediate: approval_ended needs outcome timed_out or rejected, got '{other}'"
                )))
            }
        };
        let plan = planned(pad).map(|p| p.describe()).unwrap_or_default();
        pad.actions.extra.remove("approval_required");
        pad.actions.autoremediation_not_done = true;
        pad.actions.suppress_finding = false;
        pad.actions.reconsider_later = false;
        pad.messages.actions_required =
            format!("The auto-remediation needed approval and was not applied: {why}. The planned change:\n{plan}");
        Ok(())
    }
}

/// What the runner needs from the scratchpad besides the finding.
fn request_of(pad: &Scratchpad) -> Request {
    let tags: BTreeMap<String, String> = pad.tags.resource.iter().map(|t| (t.key.clone(), t.value.clone())).collect();
    Request {
        environment: pad.account.environment.clone(),
        organizational_unit: pad.account.organizational_unit.clone(),
        tags,
        approved_plan: None,
        mode: None,
    }
}

/// The plan the first run stored in the scratchpad.
fn planned(pad: &Scratchpad) -> Result<Plan, StepError> {
    let plan = pad.extra.get("remediation").and_then(|r| r.get("plan")).ok_or_else(|| {
        StepError::invalid_input(format!("remediate: finding {} has no remediation.plan to approve", pad.finding.id))
    })?;
    serde_json::from_value(plan.clone()).map_err(|e| {
        StepError::invalid_input(format!("remediate: remediation.plan of finding {}: {e}", pad.finding.id))
    })
}

/// Write the report into the scratchpad: the flags the parent routes on and the messages the
/// ticket and the audit record carry.
pub fn record(pad: &mut Scratchpad, report: &Report) {
    let actions = &mut pad.actions;
    actions.suppress_finding = report.outcome == Outcome::Suppress;
    actions.reconsider_later = report.outcome == Outcome::ReconsiderLater;
    actions.autoremediation_not_done = matches!(report.outcome, Outcome::Ticket | Outcome::Planned);
    if report.outcome == Outcome::ApprovalRequired {
        actions.extra.insert("approval_required".into(), Value::Bool(true));
    } else {
        actions.extra.remove("approval_required");
    }
    match report.outcome {
        Outcome::Remediated | Outcome::AlreadyCompliant | Outcome::Suppress | Outcome::ReconsiderLater => {
            pad.messages.actions_taken = report.summary();
        }
        Outcome::Ticket | Outcome::Planned | Outcome::ApprovalRequired => {
            pad.messages.actions_required = format!(
                "The auto-remediation did not fix this: {}\n{}",
                report.reason,
                report.plan.as_ref().map(|p| format!("The planned change:\n{}", p.describe())).unwrap_or_default()
            );
            if !report.applied.is_empty() {
                pad.messages.actions_taken = report.summary();
            }
        }
    }
    pad.extra.insert("remediation".into(), serde_json::to_value(report).unwrap_or(Value::Null));
}

fn to_value(pad: &Scratchpad) -> Result<Value, StepError> {
    serde_json::to_value(pad).map_err(|e| StepError::permanent(format!("remediate: scratchpad: {e}")))
}
