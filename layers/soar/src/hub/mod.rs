//! The findings-hub port: the writes that record each finding's outcome in Security Hub itself
//! (Workflow.Status, a Note, UserDefinedFields TicketOpen/TicketId).
//!
//! BatchUpdateFindings applies one set of changes to up to 100 finding identifiers, so
//! [`update_findings`] groups updates that make the same change, sends them in batches of at most
//! [`MAX_BATCH`], and retries each finding that a batch reports as unprocessed on its own.

pub mod postgres;
pub mod security_hub;

use std::collections::BTreeMap;

use async_trait::async_trait;
use secops_core::asff::WorkflowStatus;
use serde::Serialize;

use crate::Result;

/// BatchUpdateFindings takes at most 100 finding identifiers per call.
pub const MAX_BATCH: usize = 100;

/// Who the notes say wrote them (`Note.UpdatedBy`).
pub const UPDATED_BY: &str = "secops-autopilot";

/// One finding's identity in Security Hub.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FindingRef {
    pub id: String,
    pub product_arn: String,
}

/// The change to make; every field that is None or empty is left as it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct FindingChange {
    pub workflow_status: Option<WorkflowStatus>,
    pub note: Option<String>,
    pub user_defined_fields: BTreeMap<String, String>,
}

/// One finding and the change it should get.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingUpdate {
    pub finding: FindingRef,
    pub change: FindingChange,
}

/// A finding the hub did not update, with the hub's error code and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unprocessed {
    pub finding: FindingRef,
    pub error_code: String,
    pub error_message: String,
}

/// See the module documentation.
#[async_trait]
pub trait FindingsHub: Send + Sync + std::fmt::Debug {
    /// Apply `change` to every finding in `findings` (at most [`MAX_BATCH`]) in one call; the
    /// findings the hub reports as not updated. An error means the whole call failed.
    async fn batch_update(&self, findings: &[FindingRef], change: &FindingChange) -> Result<Vec<Unprocessed>>;
}

/// What [`update_findings`] achieved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UpdateReport {
    pub updated: usize,
    /// Batch calls made (first attempts and individual retries).
    pub calls: usize,
    /// Still not updated after the individual retries.
    pub failed: Vec<Unprocessed>,
}

/// Group, batch, and retry individually what a batch left unprocessed (each such finding gets
/// `individual_attempts` single-finding calls). A failed call is an error for the caller to
/// classify and retry; partial failures are reported in `failed`.
pub async fn update_findings(
    hub: &dyn FindingsHub,
    updates: &[FindingUpdate],
    individual_attempts: u32,
) -> Result<UpdateReport> {
    let mut groups: BTreeMap<&FindingChange, Vec<FindingRef>> = BTreeMap::new();
    for update in updates {
        let group = groups.entry(&update.change).or_default();
        if !group.contains(&update.finding) {
            group.push(update.finding.clone());
        }
    }
    let mut report = UpdateReport::default();
    for (change, findings) in groups {
        for batch in findings.chunks(MAX_BATCH) {
            report.calls += 1;
            let unprocessed = hub.batch_update(batch, change).await?;
            report.updated += batch.len() - unprocessed.len();
            for first_failure in unprocessed {
                let mut last = first_failure;
                let mut done = false;
                for _ in 0..individual_attempts {
                    report.calls += 1;
                    match hub.batch_update(std::slice::from_ref(&last.finding), change).await?.pop() {
                        None => {
                            done = true;
                            break;
                        }
                        Some(again) => last = again,
                    }
                }
                if done {
                    report.updated += 1;
                } else {
                    tracing::warn!(finding_id = %last.finding.id, code = %last.error_code, "finding not updated: {}", last.error_message);
                    report.failed.push(last);
                }
            }
        }
    }
    Ok(report)
}
