//! The result of one remediation run: the outcome, why, the plan, what was applied, and how it
//! was verified. Written to the scratchpad, the audit log and the ticket.

use serde::{Deserialize, Serialize};

use crate::plan::{Change, Plan};

/// How a remediation run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Applied and verified by re-reading: decide may resolve the finding.
    Remediated,
    /// The control already holds; nothing was changed.
    AlreadyCompliant,
    /// The resource is gone, or exempt on purpose.
    Suppress,
    /// A person must act; the reason (and the plan, when there is one) says what and why.
    Ticket,
    /// Too early to act; the next import of the finding looks again.
    ReconsiderLater,
    /// The plan is disruptive in an environment that needs approval.
    ApprovalRequired,
    /// Plan-only mode: the plan was made, nothing was changed.
    Planned,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Remediated => "remediated",
            Outcome::AlreadyCompliant => "already_compliant",
            Outcome::Suppress => "suppress",
            Outcome::Ticket => "ticket",
            Outcome::ReconsiderLater => "reconsider_later",
            Outcome::ApprovalRequired => "approval_required",
            Outcome::Planned => "planned",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One run's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub control: String,
    pub finding_id: String,
    pub account: String,
    pub region: String,
    /// The finding's resource id (usually an ARN).
    pub resource: String,
    pub outcome: Outcome,
    /// Why, in a sentence a person can act on.
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// The changes performed, in order (a subset of the plan's when a call failed).
    #[serde(default)]
    pub applied: Vec<Change>,
    /// What the verifying re-read found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<String>,
    /// The actions the member-account session was limited to (empty when no session was opened).
    #[serde(default)]
    pub session_actions: Vec<String>,
    /// `plan` or `apply`.
    pub mode: String,
}

impl Report {
    /// A run's record before anything happened: a ticket with no reason yet, no plan, nothing applied.
    pub fn begun(control: &str, finding_id: &str, account: &str, region: &str, resource: &str, mode: &str) -> Report {
        Report {
            control: control.to_owned(),
            finding_id: finding_id.to_owned(),
            account: account.to_owned(),
            region: region.to_owned(),
            resource: resource.to_owned(),
            outcome: Outcome::Ticket,
            reason: String::new(),
            plan: None,
            applied: Vec::new(),
            verification: None,
            session_actions: Vec::new(),
            mode: mode.to_owned(),
        }
    }

    /// A short text for `messages.actions_taken` / `actions_required` and the CLI.
    pub fn summary(&self) -> String {
        let mut out = format!("{} on {}: {} — {}", self.control, self.resource, self.outcome, self.reason);
        if !self.applied.is_empty() {
            out.push_str("\nApplied:\n");
            for (i, c) in self.applied.iter().enumerate() {
                out.push_str(&format!("{}. {} on {} {}\n", i + 1, c.action, c.resource, c.parameters));
            }
        }
        if let (Some(plan), true) = (&self.plan, self.applied.len() < self.plan.as_ref().map_or(0, |p| p.changes.len()))
        {
            out.push_str("\nPlan:\n");
            out.push_str(&plan.describe());
        }
        if let Some(v) = &self.verification {
            out.push_str(&format!("\nVerified: {v}"));
        }
        out
    }
}
