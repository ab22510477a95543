//! The decision table: where one finding goes, from the finding alone and the switches. Pure.
//!
//! In order (first rule that applies wins):
//! 1. the pipeline is switched off → do nothing;
//! 2. the finding is resolved (ARCHIVED, SUPPRESSED, RESOLVED, or NOTIFIED with compliance PASSED
//!    — Security Hub's behaviour since July 2025) → close its ticket when one is open, else nothing;
//! 3. it was already notified → do nothing (our own status write comes back as an update);
//! 4. a control check with compliance WARNING or NOT_AVAILABLE → suppress;
//! 5. a control check that PASSED → do nothing;
//! 6. a control check that FAILED (or has no status) → failed control;
//! 7. a vulnerability finding (Inspector, or a `Software and Configuration Checks/Vulnerabilities`
//!    type) → do nothing here: the daily triage analyses those with database context;
//! 8. anything else is a threat or an operational alarm → incident (do nothing when incidents
//!    are deferred).

use secops_core::asff::{AwsSecurityFinding, ComplianceStatus, Product, WorkflowStatus};
use secops_core::scratchpad::{Decision, PipelineFlags};

/// The `UserDefinedFields` the pipeline writes (and reads back) on a ticketed finding.
pub const TICKET_OPEN_FIELD: &str = "TicketOpen";
pub const TICKET_ID_FIELD: &str = "TicketId";

/// Where a finding goes and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub decision: Decision,
    pub reason: String,
    /// For `close_ticket`: the ticket to close.
    pub ticket_id: Option<String>,
}

impl Route {
    fn new(decision: Decision, reason: impl Into<String>) -> Self {
        Route { decision, reason: reason.into(), ticket_id: None }
    }
}

/// The security control a finding checks: `Compliance.SecurityControlId` or a
/// `security-control/<id>` generator, else the standards-era `ProductFields.ControlId`.
pub fn control_id(finding: &AwsSecurityFinding) -> Option<String> {
    finding
        .control_id()
        .map(|c| c.as_str().to_owned())
        .or_else(|| finding.product_field("ControlId").map(str::to_owned))
}

/// The open ticket the finding itself records (`TicketOpen` = `Yes` and a `TicketId`).
pub fn ticket_in_finding(finding: &AwsSecurityFinding) -> Option<String> {
    let open = finding.user_defined_field(TICKET_OPEN_FIELD).is_some_and(|v| v.eq_ignore_ascii_case("yes"));
    let id = finding.user_defined_field(TICKET_ID_FIELD).map(str::trim).filter(|id| !id.is_empty());
    id.filter(|_| open).map(str::to_owned)
}

pub fn is_vulnerability(finding: &AwsSecurityFinding) -> bool {
    finding.product() == Product::Inspector
        || finding.types.iter().any(|t| t.starts_with("Software and Configuration Checks/Vulnerabilities"))
}

/// Apply the decision table. `stored_ticket` is the open ticket the hot state store knows of, for
/// findings whose `UserDefinedFields` were lost or never written.
pub fn route(finding: &AwsSecurityFinding, flags: &PipelineFlags, stored_ticket: Option<&str>) -> Route {
    if !flags.pipeline_enabled {
        return Route::new(Decision::DoNothing, "the pipeline is switched off (SECOPS_PIPELINE_ENABLED=false)");
    }
    if finding.is_resolved() {
        let why = resolved_why(finding);
        return match ticket_in_finding(finding).or_else(|| stored_ticket.map(str::to_owned)) {
            Some(id) => Route {
                decision: Decision::CloseTicket,
                reason: format!("{why}; its ticket {id} is still open"),
                ticket_id: Some(id),
            },
            None => Route::new(Decision::DoNothing, format!("{why}; no ticket is open")),
        };
    }
    if finding.workflow_status() == Some(WorkflowStatus::Notified) {
        return Route::new(Decision::DoNothing, "already notified (Workflow.Status NOTIFIED)");
    }
    if finding.product() == Product::SecurityHubControl || control_id(finding).is_some() {
        let control = control_id(finding).unwrap_or_else(|| finding.generator_id.clone());
        return match finding.compliance_status() {
            Some(s @ (ComplianceStatus::Warning | ComplianceStatus::NotAvailable)) => Route::new(
                Decision::Suppress,
                format!("control {control} reports compliance {s}: the check could not be evaluated"),
            ),
            Some(ComplianceStatus::Passed) => Route::new(Decision::DoNothing, format!("control {control} passed")),
            Some(ComplianceStatus::Failed) | None => {
                Route::new(Decision::FailedControl, format!("control {control} failed"))
            }
        };
    }
    if is_vulnerability(finding) {
        return Route::new(
            Decision::DoNothing,
            format!(
                "{} vulnerability finding: analysed by the daily triage, not handled as an incident",
                finding.product().name()
            ),
        );
    }
    if flags.defer_incidents {
        return Route::new(Decision::DoNothing, "incidents are deferred (SECOPS_DEFER_INCIDENTS)");
    }
    Route::new(Decision::Incident, format!("{} finding that is not a control check", finding.product().name()))
}

fn resolved_why(finding: &AwsSecurityFinding) -> String {
    use secops_core::asff::RecordState;
    if finding.record_state() == Some(RecordState::Archived) {
        return "the finding is archived".into();
    }
    match finding.workflow_status() {
        Some(WorkflowStatus::Notified) => "the finding was notified and its control now passes".into(),
        Some(s) => format!("the finding is {s}"),
        None => "the finding is resolved".into(),
    }
}
