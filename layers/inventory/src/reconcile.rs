//! The `reconcile` pass over one finished snapshot: EC2 ↔ Falcon matching, S3 and RDS posture
//! (rules in SQL, migration V006, next to the data they read), the network flattening and the
//! attack paths walked over it (`crate::network`); this module runs them and records the result.
//!
//! EDR matching, posture and the flattening read and write disjoint tables, so they run at the
//! same time on their own connections, each in its own transaction. Each replaces its own results for the snapshot, and
//! the views only read a snapshot once its `reconciliations` row is written, after both ended:
//! a pass that fails half-way is never visible and is simply run again.

use crate::error::{InventoryError, Result};
use deadpool_postgres::Pool;
use serde_json::{json, Value};
use std::time::Instant;

/// Reconcile `snapshot_id` (default: the newest finished snapshot), walking attack paths up to
/// the default hop limit. Running it again replaces the earlier results of that snapshot.
pub async fn reconcile(pool: &Pool, snapshot_id: Option<i64>) -> Result<Value> {
    reconcile_with(pool, snapshot_id, crate::network::paths::DEFAULT_MAX_HOPS).await
}

/// [`reconcile`], with the stored attack paths walked up to `max_hops` (1 to
/// [`crate::network::paths::MAX_HOPS_LIMIT`]).
pub async fn reconcile_with(pool: &Pool, snapshot_id: Option<i64>, max_hops: u32) -> Result<Value> {
    crate::network::paths::check_max_hops(max_hops)?;
    let snapshot_id = match snapshot_id {
        Some(id) => id,
        None => crate::snapshot::latest(pool).await?.ok_or_else(|| {
            InventoryError::invalid_input("no finished inventory snapshot to reconcile; run collect first")
        })?,
    };
    let status = crate::snapshot::require_finished(pool, snapshot_id, "reconciled").await?;
    let client = pool.get().await.map_err(crate::error::pool)?;

    let edr = async {
        let started = Instant::now();
        let edr: Value = one(pool, "SELECT reconcile_edr($1)", snapshot_id, "EDR reconciliation").await?;
        Ok::<_, InventoryError>((edr, started.elapsed().as_millis() as u64))
    };
    let posture = async {
        let started = Instant::now();
        let s3: i32 = one(pool, "SELECT reconcile_s3_posture($1)", snapshot_id, "S3 posture").await?;
        let s3_ms = started.elapsed().as_millis() as u64;
        let rds: i32 = one(pool, "SELECT reconcile_rds_posture($1)", snapshot_id, "RDS posture").await?;
        Ok::<_, InventoryError>((s3, s3_ms, rds, started.elapsed().as_millis() as u64 - s3_ms))
    };
    let network = crate::network::flatten_snapshot(pool, snapshot_id);
    // The passes take a connection each; hold none meanwhile, so a pool of one still works.
    drop(client);
    let ((edr, edr_ms), (s3_failed, s3_ms, rds_failed, rds_ms), network) = futures::try_join!(edr, posture, network)?;
    // Attack paths rank what a start reaches by EDR status, so they walk once both are stored.
    let paths = crate::network::paths::store_paths(pool, snapshot_id, max_hops).await?;
    let client = pool.get().await.map_err(crate::error::pool)?;

    let failed_runs: Vec<String> = client
        .query(
            "SELECT concat_ws(' ', collector, account_id, region) FROM snapshot_sources WHERE snapshot_id = $1 AND status = 'failed' ORDER BY id",
            &[&snapshot_id],
        )
        .await
        .map_err(|e| crate::error::database("reconcile", e))?
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    // DNS names are bridged at query time (the `dns_bridge` view); the summary counts them.
    let dns = client
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE resource_type IS NOT NULL), count(*) FILTER (WHERE dangling) \
             FROM dns_bridge($1)",
            &[&snapshot_id],
        )
        .await
        .map_err(|e| crate::error::database("count DNS names", e))?;
    let dns =
        json!({"records": dns.get::<_, i64>(0), "resolved": dns.get::<_, i64>(1), "dangling": dns.get::<_, i64>(2)});
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
        "timings_ms": {"edr": edr_ms, "s3_posture": s3_ms, "rds_posture": rds_ms, "network": network.load_ms + network.compute_ms + network.store_ms,
                       "attack_paths": paths.timings_ms.load + paths.timings_ms.walk + paths.timings_ms.store},
        "network": network,
        "attack_paths": paths,
        "dns": dns,
    });
    client
        .execute(
            "INSERT INTO reconciliations (snapshot_id, summary) VALUES ($1, $2) \
             ON CONFLICT (snapshot_id) DO UPDATE SET summary = EXCLUDED.summary, reconciled_at = now()",
            &[&snapshot_id, &summary],
        )
        .await
        .map_err(|e| crate::error::database("record the reconciliation", e))?;
    Ok(summary)
}

/// Run one reconciliation function (its own transaction, on its own connection) and return its
/// single value.
async fn one<T>(pool: &Pool, sql: &str, snapshot_id: i64, what: &'static str) -> Result<T>
where
    T: for<'a> tokio_postgres::types::FromSql<'a>,
{
    let client = pool.get().await.map_err(crate::error::pool)?;
    let row = client.query_one(sql, &[&snapshot_id]).await.map_err(|e| crate::error::database(what, e))?;
    row.try_get(0).map_err(|e| crate::error::database(what, e))
}
