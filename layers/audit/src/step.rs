//! The `audit` step: what the state machines send the audit function.
//!
//! - `record` `{workflow, execution_id, outcome, details}` → one event `<workflow>.<outcome>`
//! - `record_failure` `{workflow, execution_id, stage, error, details}` → `<workflow>.failure.<stage>`
//! - `record_batch` `{events: [{event_type, actor, payload}]}` → one append (at most 1000)
//! - `checkpoint` → verify since the latest checkpoint, then publish a new one (housekeeping)
//! - `verify` → the whole chain against the latest checkpoint; the report is the output

use crate::chain::AuditSink;
use crate::checkpoint::{AnyCheckpointStore, CheckpointStore};
use crate::event::NewEvent;
use crate::ops;
use crate::pg::PgAuditLog;
use crate::redact::Destination;
use crate::signer::AnySigner;
use crate::AuditError;
use secops_core::{Config, StepError};
use serde::Deserialize;
use serde_json::{json, Value};

/// Every `action` this step answers.
pub const ACTIONS: &[&str] = &["record", "record_failure", "record_batch", "checkpoint", "verify"];

#[derive(Debug, Deserialize)]
struct RecordInput {
    workflow: String,
    execution_id: String,
    outcome: String,
    #[serde(default)]
    details: Value,
}

#[derive(Debug, Deserialize)]
struct RecordFailureInput {
    workflow: String,
    execution_id: String,
    stage: String,
    #[serde(default)]
    error: Value,
    #[serde(default)]
    details: Value,
}

#[derive(Debug, Deserialize)]
struct RecordBatchInput {
    events: Vec<NewEvent>,
}

/// The action's fields, with the JSON path of the first bad one in the error.
fn parse<T: serde::de::DeserializeOwned>(input: &Value, action: &str) -> Result<T, StepError> {
    secops_core::json::step_input(input, &format!("audit {action}"))
}

fn actor(workflow: &str, execution_id: &str) -> String {
    format!("statemachine/{workflow} execution {execution_id}")
}

#[derive(Debug)]
pub struct AuditStep<C: CheckpointStore = AnyCheckpointStore> {
    log: PgAuditLog<AnySigner>,
    checkpoints: C,
}

impl AuditStep<AnyCheckpointStore> {
    /// Everything the function needs, built once per sandbox: the database pool, the signer,
    /// the checkpoint store and the `audit` redaction policy.
    pub async fn from_config(config: &Config) -> Result<Self, AuditError> {
        let settings = secops_aws::AwsSettings::from_config(config);
        let aws = secops_aws::load_sdk_config(&settings).await;
        let url = secops_aws::resolve_database_url(config, &settings, Some(&aws)).await?.ok_or_else(|| {
            AuditError::InvalidInput(
                "the audit function needs SECOPS_DATABASE_URL or SECOPS_DATABASE_URL_PARAMETER".into(),
            )
        })?;
        let pool = {
            use secrecy::ExposeSecret;
            secops_store::db::connect_pool(url.expose_secret(), config.database_pool_size).await?
        };
        let signer = crate::setup::signer(&config.audit, Some(&aws)).await?;
        let redactor = crate::setup::redactor(&config.audit, &signer, Destination::Audit).await?;
        let checkpoints = crate::setup::checkpoint_store(&config.audit, Some(&aws))?;
        Ok(AuditStep { log: PgAuditLog::new(pool, config.audit.chain.clone(), signer, redactor), checkpoints })
    }
}

impl<C: CheckpointStore> AuditStep<C> {
    pub fn new(log: PgAuditLog<AnySigner>, checkpoints: C) -> Self {
        AuditStep { log, checkpoints }
    }

    pub async fn handle(&self, input: Value) -> Result<Value, StepError> {
        let action = input.get("action").and_then(Value::as_str).unwrap_or_default();
        match action {
            "record" => {
                let RecordInput { workflow, execution_id, outcome, details } = parse(&input, action)?;
                let event = NewEvent::new(format!("{workflow}.{outcome}"), actor(&workflow, &execution_id), details);
                self.append(vec![event]).await
            }
            "record_failure" => {
                let RecordFailureInput { workflow, execution_id, stage, error, details } = parse(&input, action)?;
                let event = NewEvent::new(
                    format!("{workflow}.failure.{stage}"),
                    actor(&workflow, &execution_id),
                    json!({"stage": stage, "error": error, "details": details}),
                );
                self.append(vec![event]).await
            }
            "record_batch" => {
                let RecordBatchInput { events } = parse(&input, action)?;
                self.append(events).await
            }
            "checkpoint" => {
                let outcome = ops::checkpoint(&self.log, &self.checkpoints).await?;
                if !outcome.report.ok {
                    return Err(StepError::permanent(format!(
                        "audit chain {}: {}; no checkpoint was published. {}",
                        self.log.chain(),
                        outcome.report.summary,
                        first_problem(&outcome.report)
                    )));
                }
                Ok(json!({
                    "chain": self.log.chain(),
                    "verified_events": outcome.verified_events,
                    "checkpoint": outcome.checkpoint,
                    "published_to": outcome.published_to,
                }))
            }
            "verify" => {
                let latest = self.checkpoints.latest().await.map_err(StepError::from)?;
                let report = ops::verify_table(&self.log, latest).await?;
                serde_json::to_value(report).map_err(|e| StepError::permanent(e.to_string()))
            }
            other => Err(StepError::invalid_input(format!(
                "audit: input.action {other:?} is not one of {}",
                ACTIONS.join(", ")
            ))),
        }
    }

    async fn append(&self, events: Vec<NewEvent>) -> Result<Value, StepError> {
        let receipts = self.log.append(events).await?;
        Ok(json!({"chain": self.log.chain(), "recorded": receipts}))
    }
}

fn first_problem(report: &crate::verify::Report) -> String {
    report
        .problems
        .first()
        .map(|p| {
            format!(
                "First: seq {} {}: {}",
                p.seq.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
                p.kind,
                p.message
            )
        })
        .unwrap_or_default()
}
