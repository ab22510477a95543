//! The `notify` function's own actions: replay the outbox, announce a batch, summarise it.

use std::sync::Arc;

use secops_core::json::step_input;
use secops_core::StepError;
use serde::Deserialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::message::{BatchStarted, BatchSummary, FailedItem, TicketLink, TopRisk};
use crate::notifier::Notifier;
use crate::outbox::OutboxEntry;

/// The actions this crate answers (the ticket actions come from the decide capability).
pub const NOTIFY_ACTIONS: &[&str] = &["replay_outbox", "announce_batch", "summarize_triage"];

/// How many messages per destination one replay handles (the housekeeping Lambda has 150 s).
const REPLAY_BUDGET: usize = 500;
/// Top risks listed in a summary.
const TOP_RISKS: usize = 5;

#[derive(Debug, Clone)]
pub struct NotifyStep {
    pub notifier: Arc<Notifier>,
}

#[derive(Debug, Deserialize)]
struct Announce {
    execution_id: String,
    #[serde(default = "triage")]
    workflow: String,
    started_at: Option<String>,
    /// The number of findings, or the selected findings themselves.
    findings: Value,
}

fn triage() -> String {
    "triage".into()
}

/// One result of the triage Map.
#[derive(Debug, Deserialize)]
struct TriageResult {
    finding_id: String,
    status: String,
    error: Option<Value>,
    title: Option<String>,
    severity: Option<String>,
    risk_score: Option<f64>,
    ticket_key: Option<String>,
    ticket_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Summarize {
    execution_id: String,
    started_at: Option<String>,
    results: Vec<TriageResult>,
}

fn delivery(entry: &OutboxEntry) -> Value {
    json!({"outbox_seq": entry.seq, "status": entry.status, "remote_id": entry.remote_id})
}

/// A failure's reason (see [`secops_core::json::error_reason`]).
fn reason(error: Option<&Value>) -> String {
    error.map(secops_core::json::error_reason).unwrap_or_else(|| "no reason recorded".into())
}

fn duration_ms(started_at: Option<&str>) -> u64 {
    started_at
        .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
        .map(|t| (OffsetDateTime::now_utc() - t).whole_milliseconds().clamp(0, i128::from(u64::MAX)) as u64)
        .unwrap_or(0)
}

fn summary(input: Summarize) -> BatchSummary {
    let analysed = input.results.len() as u64;
    let succeeded = input.results.iter().filter(|r| r.status == "analysed").count() as u64;
    let failures = input
        .results
        .iter()
        .filter(|r| r.status != "analysed")
        .map(|r| FailedItem { finding_id: r.finding_id.clone(), reason: reason(r.error.as_ref()) })
        .collect();
    let tickets = input
        .results
        .iter()
        .filter_map(|r| {
            r.ticket_key.as_ref().map(|key| TicketLink {
                finding_id: r.finding_id.clone(),
                key: key.clone(),
                url: r.ticket_url.clone(),
            })
        })
        .collect();
    let mut top_risks: Vec<TopRisk> = input
        .results
        .iter()
        .filter_map(|r| {
            r.risk_score.map(|score| TopRisk {
                finding_id: r.finding_id.clone(),
                title: r.title.clone().unwrap_or_else(|| r.finding_id.clone()),
                severity: r.severity.clone().unwrap_or_else(|| "UNKNOWN".into()),
                score,
            })
        })
        .collect();
    top_risks.sort_by(|a, b| b.score.total_cmp(&a.score));
    top_risks.truncate(TOP_RISKS);
    BatchSummary {
        run_id: input.execution_id,
        workflow: "triage".into(),
        analysed,
        succeeded,
        duration_ms: duration_ms(input.started_at.as_deref()),
        tickets,
        failures,
        top_risks,
    }
}

impl NotifyStep {
    pub fn new(notifier: Arc<Notifier>) -> Self {
        NotifyStep { notifier }
    }

    pub fn handles(action: &str) -> bool {
        NOTIFY_ACTIONS.contains(&action)
    }

    pub async fn handle(&self, input: Value) -> Result<Value, StepError> {
        let name = input.get("action").and_then(Value::as_str).unwrap_or_default().to_owned();
        match name.as_str() {
            "replay_outbox" => {
                let report = self.notifier.replay(REPLAY_BUDGET).await?;
                tracing::info!(?report, "outbox replayed");
                serde_json::to_value(&report).map_err(|e| StepError::permanent(format!("replay report: {e}")))
            }
            "announce_batch" => {
                let a: Announce = step_input(&input, &name)?;
                let findings = match &a.findings {
                    Value::Array(items) => items.len() as u64,
                    other => other.as_u64().ok_or_else(|| {
                        StepError::invalid_input(
                            "announce_batch: input.findings: expected a count or a list of findings",
                        )
                    })?,
                };
                let started_at =
                    a.started_at.unwrap_or_else(|| OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default());
                let entry = self
                    .notifier
                    .batch_started(BatchStarted { run_id: a.execution_id, workflow: a.workflow, findings, started_at })
                    .await?;
                Ok(delivery(&entry))
            }
            "summarize_triage" => {
                let s = summary(step_input(&input, &name)?);
                let counts = json!({"analysed": s.analysed, "succeeded": s.succeeded, "failed": s.failures.len()});
                let entry = self.notifier.batch_summary(s).await?;
                Ok(json!({"summary": counts, "delivery": delivery(&entry)}))
            }
            other => Err(StepError::invalid_input(format!(
                "notify: unknown action '{other}' (known: {})",
                NOTIFY_ACTIONS.join(", ")
            ))),
        }
    }
}
