//! The `reconcile` pass over one finished snapshot: EC2 ↔ Falcon matching, S3 and RDS posture.
//! The rules live in SQL (migration V006, `reconcile_edr` and friends) next to the data they
//! read; this module runs them in one transaction and records the result.

use crate::error::{InventoryError, Result};
use deadpool_postgres::Pool;
use serde_json::{json, Value};

/// Reconcile `snapshot_id` (default: the newest finished snapshot). Running it again replaces the
/// earlier results of that snapshot.
pub async fn reconcile(pool: &Pool, snapshot_id: Option<i64>) -> Result<Value> {
    let snapshot_id = match snapshot_id {
        Some(id) => id,
        None => crate::snapshot::latest(pool).await?.ok_or_else(|| {
            InventoryError::invalid_input("no finished inventory snapshot to reconcile; run collect first")
        })?,
    };
    let mut client = pool.get().await.map_err(crate::error::pool)?;
    let tx = client.transaction().await.map_err(|e| crate::error::database("reconcile", e))?;
    let snapshot = tx
        .query_opt("SELECT status, source FROM snapshots WHERE id = $1", &[&snapshot_id])
        .await
        .map_err(|e| crate::error::database("reconcile", e))?
        .ok_or_else(|| InventoryError::invalid_input(format!("snapshot {snapshot_id} does not exist")))?;
    let (status, source): (String, String) = (snapshot.get(0), snapshot.get(1));
    if source != "inventory" || !matches!(status.as_str(), "complete" | "partial") {
        return Err(InventoryError::invalid_input(format!(
            "snapshot {snapshot_id} is a {status} {source} snapshot; only a finished inventory snapshot (complete or partial) can be reconciled"
        )));
    }
    let run = |what: &'static str| move |e: tokio_postgres::Error| crate::error::database(what, e);
    let clock = std::time::Instant::now();
    let edr: Value =
        tx.query_one("SELECT reconcile_edr($1)", &[&snapshot_id]).await.map_err(run("EDR reconciliation"))?.get(0);
    let edr_ms = clock.elapsed().as_millis();
    let s3_failed: i32 =
        tx.query_one("SELECT reconcile_s3_posture($1)", &[&snapshot_id]).await.map_err(run("S3 posture"))?.get(0);
    let s3_ms = clock.elapsed().as_millis() - edr_ms;
    let rds_failed: i32 =
        tx.query_one("SELECT reconcile_rds_posture($1)", &[&snapshot_id]).await.map_err(run("RDS posture"))?.get(0);
    let rds_ms = clock.elapsed().as_millis() - edr_ms - s3_ms;
    let failed_runs: Vec<String> = tx
        .query(
            "SELECT concat_ws(' ', collector, account_id, region) FROM snapshot_sources WHERE snapshot_id = $1 AND status = 'failed' ORDER BY id",
            &[&snapshot_id],
        )
        .await
        .map_err(run("reconcile"))?
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    let coverage = match (edr["live_instances"].as_i64(), edr["matched"].as_i64()) {
        (Some(live), Some(matched)) if live > 0 => json!((matched as f64 * 10000.0 / live as f64).round() / 100.0),
        _ => Value::Null,
    };
    let summary = json!({
        "snapshot_id": snapshot_id,
        "snapshot_status": status,
        "edr": edr,
        "edr_coverage_pct": coverage,
        "s3_failed_checks": s3_failed,
        "rds_failed_checks": rds_failed,
        // A partial snapshot's results only cover what was collected; say what was not.
        "not_collected": failed_runs,
        "timings_ms": {"edr": edr_ms as u64, "s3_posture": s3_ms as u64, "rds_posture": rds_ms as u64},
    });
    tx.execute(
        "INSERT INTO reconciliations (snapshot_id, summary) VALUES ($1, $2) \
         ON CONFLICT (snapshot_id) DO UPDATE SET summary = EXCLUDED.summary, reconciled_at = now()",
        &[&snapshot_id, &summary],
    )
    .await
    .map_err(run("record the reconciliation"))?;
    tx.commit().await.map_err(run("reconcile"))?;
    Ok(summary)
}
