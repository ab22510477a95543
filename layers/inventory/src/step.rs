//! The `collect` and `reconcile` steps of `inventory.asl.json`.

use crate::reconcile::reconcile_with;
use crate::setup::Source;
use deadpool_postgres::Pool;
use secops_core::json::step_input;
use secops_core::{ErrorClass, StepError};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

pub const INVENTORY_ACTIONS: &[&str] = &["collect", "reconcile"];

#[derive(Debug, Clone)]
pub struct InventoryStep {
    pool: Pool,
    /// `None` in the reconcile function, which never collects.
    source: Option<Arc<Source>>,
}

#[derive(Debug, Deserialize)]
struct ReconcileInput {
    /// The collect step's result (`{snapshot_id, …}`), or
    collect: Option<CollectResult>,
    /// a snapshot named directly; neither means the newest finished one.
    snapshot_id: Option<i64>,
    /// How far the stored attack paths walk (default 6).
    max_hops: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct CollectResult {
    snapshot_id: i64,
}

impl InventoryStep {
    pub fn new(pool: Pool, source: Option<Source>) -> Self {
        Self { pool, source: source.map(Arc::new) }
    }

    pub fn handles(action: &str) -> bool {
        INVENTORY_ACTIONS.contains(&action)
    }

    pub async fn handle(&self, input: Value) -> Result<Value, StepError> {
        match input.get("action").and_then(Value::as_str) {
            Some("collect") => self.collect().await,
            Some("reconcile") => {
                let args: ReconcileInput = step_input(&input, "reconcile")?;
                let snapshot = args.collect.map(|c| c.snapshot_id).or(args.snapshot_id);
                let max_hops = args.max_hops.unwrap_or(crate::network::paths::DEFAULT_MAX_HOPS);
                Ok(reconcile_with(&self.pool, snapshot, max_hops).await?)
            }
            other => Err(StepError::invalid_input(format!(
                "inventory step: unknown action {other:?}; expected one of {INVENTORY_ACTIONS:?}"
            ))),
        }
    }

    /// Collect one snapshot. A partial snapshot is a result (reconcile covers what landed and
    /// says what did not); a snapshot where every run failed is an error of the failures' class,
    /// so the state machine retries throttling and outages.
    async fn collect(&self) -> Result<Value, StepError> {
        let source = self.source.as_deref().ok_or_else(|| {
            StepError::invalid_input("this function reconciles; collect runs in the collect function")
        })?;
        let summary = source.collect(&self.pool).await?;
        if summary.status == "failed" {
            let class = summary
                .failed_runs
                .iter()
                .filter_map(|r| ErrorClass::from_name(&r.class))
                .min_by_key(|c| match c {
                    ErrorClass::Throttled => 0,
                    ErrorClass::Transient => 1,
                    _ => 2,
                })
                .unwrap_or(ErrorClass::Permanent);
            let first = summary.failed_runs.first().map(|r| r.error.clone()).unwrap_or_default();
            return Err(StepError::new(
                class,
                format!(
                    "snapshot {}: every collector run failed ({} runs); first: {first}",
                    summary.snapshot_id, summary.runs
                ),
            ));
        }
        serde_json::to_value(&summary).map_err(|e| StepError::permanent(format!("collect result: {e}")))
    }
}
