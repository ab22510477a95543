//! Snapshots: one per collection run, immutable once finished. Each collector run inside it (one
//! collector × account × region) is a `snapshot_sources` row that lands whole or is recorded as
//! failed with its error; a snapshot with any failed run is `partial`, never `complete`.

use crate::error::{InventoryError, Result};
use crate::load::Shapes;
use crate::schema::Table;
use deadpool_postgres::Pool;
use secops_core::ErrorClass;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SnapshotSummary {
    pub snapshot_id: i64,
    /// `complete`, `partial` or `failed`.
    pub status: String,
    pub origin: String,
    pub records: i64,
    pub runs: i64,
    pub failed_runs: Vec<FailedRun>,
    /// JSON-shape changes against the previous snapshot of each table.
    pub shape_changes: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FailedRun {
    pub collector: String,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub class: String,
    pub error: String,
}

/// Open a new snapshot. `origin` says where the data comes from (`aws`, `dir:/path`).
pub async fn begin(pool: &Pool, origin: &str) -> Result<i64> {
    let client = pool.get().await.map_err(crate::error::pool)?;
    let row = client
        .query_one("INSERT INTO snapshots (source, origin) VALUES ('inventory', $1) RETURNING id", &[&origin])
        .await
        .map_err(|e| crate::error::database("open a snapshot", e))?;
    Ok(row.get(0))
}

/// Open one collector run inside a snapshot.
pub async fn begin_run(
    pool: &Pool,
    snapshot_id: i64,
    collector: &str,
    account_id: Option<&str>,
    region: Option<&str>,
) -> Result<i64> {
    let client = pool.get().await.map_err(crate::error::pool)?;
    let row = client
        .query_one(
            "INSERT INTO snapshot_sources (snapshot_id, collector, account_id, region) VALUES ($1, $2, $3, $4) RETURNING id",
            &[&snapshot_id, &collector, &account_id, &region],
        )
        .await
        .map_err(|e| crate::error::database("open a collector run", e))?;
    Ok(row.get(0))
}

/// Close a collector run: its records and shapes on success; on failure its rows are removed
/// (a run lands whole or not at all) and the error is kept.
pub async fn finish_run(
    pool: &Pool,
    snapshot_id: i64,
    run_id: i64,
    tables: &[&Table],
    outcome: std::result::Result<(i64, &Shapes), &InventoryError>,
) -> Result<()> {
    let mut client = pool.get().await.map_err(crate::error::pool)?;
    let tx = client.transaction().await.map_err(|e| crate::error::database("close a collector run", e))?;
    match outcome {
        Ok((records, shapes)) => {
            tx.execute(
                "UPDATE snapshot_sources SET status = 'complete', record_count = $2, completed_at = now() WHERE id = $1",
                &[&run_id, &(records as i32)],
            )
            .await
            .map_err(|e| crate::error::database("close a collector run", e))?;
            // Every (table, key, type) count of the run in one statement; runs of the same table in
            // other accounts and regions add to the same rows.
            let (mut names, mut keys, mut types, mut counts) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (table, table_keys) in shapes {
                for (key, key_types) in table_keys {
                    for (json_type, count) in key_types {
                        names.push(*table);
                        keys.push(key.as_str());
                        types.push(*json_type);
                        counts.push(*count);
                    }
                }
            }
            tx.execute(
                "INSERT INTO record_shapes (snapshot_id, table_name, key, json_type, records) \
                 SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[]) \
                 ON CONFLICT (snapshot_id, table_name, key, json_type) DO UPDATE SET records = record_shapes.records + EXCLUDED.records",
                &[&snapshot_id, &names, &keys, &types, &counts],
            )
            .await
            .map_err(|e| crate::error::database("record shapes", e))?;
        }
        Err(error) => {
            for table in tables {
                tx.execute(
                    &format!("DELETE FROM {} WHERE snapshot_id = $2 AND source_run = $1", table.name),
                    &[&run_id, &snapshot_id],
                )
                .await
                .map_err(|e| crate::error::database("discard a failed run", e))?;
            }
            tx.execute(
                "UPDATE snapshot_sources SET status = 'failed', error_class = $2, error = $3, completed_at = now() WHERE id = $1",
                &[&run_id, &error.class.to_string(), &error.message],
            )
            .await
            .map_err(|e| crate::error::database("close a collector run", e))?;
        }
    }
    tx.commit().await.map_err(|e| crate::error::database("close a collector run", e))
}

/// Close a snapshot: status from its runs, then its shape changes against the previous snapshot of
/// each table. After this, the snapshot never changes (a trigger refuses updates).
pub async fn finish(pool: &Pool, snapshot_id: i64) -> Result<SnapshotSummary> {
    let mut client = pool.get().await.map_err(crate::error::pool)?;
    let tx = client.transaction().await.map_err(|e| crate::error::database("close a snapshot", e))?;
    let counts = tx
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE status = 'failed'), coalesce(sum(record_count), 0)::bigint, \
                    count(*) FILTER (WHERE status = 'running') \
             FROM snapshot_sources WHERE snapshot_id = $1",
            &[&snapshot_id],
        )
        .await
        .map_err(|e| crate::error::database("close a snapshot", e))?;
    let (runs, failed, records, running): (i64, i64, i64, i64) =
        (counts.get(0), counts.get(1), counts.get(2), counts.get(3));
    if running > 0 {
        return Err(InventoryError::new(
            ErrorClass::Conflict,
            format!("snapshot {snapshot_id} still has {running} collector runs in progress"),
        ));
    }
    let status = if runs == 0 || failed == runs {
        "failed"
    } else if failed > 0 {
        "partial"
    } else {
        "complete"
    };
    let errors = (failed > 0).then(|| format!("{failed} of {runs} collector runs failed"));
    let origin: String = tx
        .query_one(
            "UPDATE snapshots SET status = $2, completed_at = now(), record_count = $3, error = $4 WHERE id = $1 \
             RETURNING coalesce(origin, '')",
            &[&snapshot_id, &status, &(records.min(i32::MAX as i64) as i32), &errors],
        )
        .await
        .map_err(|e| crate::error::database("close a snapshot", e))?
        .get(0);
    let changes: i32 = tx
        .query_one("SELECT record_shape_changes($1)", &[&snapshot_id])
        .await
        .map_err(|e| crate::error::database("compare record shapes", e))?
        .get(0);
    let failed_runs = tx
        .query(
            "SELECT collector, account_id, region, error_class, error FROM snapshot_sources \
             WHERE snapshot_id = $1 AND status = 'failed' ORDER BY id",
            &[&snapshot_id],
        )
        .await
        .map_err(|e| crate::error::database("close a snapshot", e))?
        .into_iter()
        .map(|r| FailedRun {
            collector: r.get(0),
            account_id: r.get(1),
            region: r.get(2),
            class: r.get::<_, Option<String>>(3).unwrap_or_default(),
            error: r.get::<_, Option<String>>(4).unwrap_or_default(),
        })
        .collect();
    tx.commit().await.map_err(|e| crate::error::database("close a snapshot", e))?;
    Ok(SnapshotSummary {
        snapshot_id,
        status: status.to_owned(),
        origin,
        records,
        runs,
        failed_runs,
        shape_changes: i64::from(changes),
    })
}

/// The status of `snapshot_id` when it is a finished (complete or partial) inventory snapshot,
/// else InvalidInput saying why `what` (e.g. "reconciled") cannot use it.
pub async fn require_finished(pool: &Pool, snapshot_id: i64, what: &str) -> Result<String> {
    let client = pool.get().await.map_err(crate::error::pool)?;
    let snapshot = client
        .query_opt("SELECT status, source FROM snapshots WHERE id = $1", &[&snapshot_id])
        .await
        .map_err(|e| crate::error::database("read the snapshot", e))?
        .ok_or_else(|| InventoryError::invalid_input(format!("snapshot {snapshot_id} does not exist")))?;
    let (status, source): (String, String) = (snapshot.get(0), snapshot.get(1));
    if source != "inventory" || !matches!(status.as_str(), "complete" | "partial") {
        return Err(InventoryError::invalid_input(format!(
            "snapshot {snapshot_id} is a {status} {source} snapshot; only a finished inventory snapshot (complete or partial) can be {what}"
        )));
    }
    Ok(status)
}

/// The newest finished snapshot that has data (`complete` or `partial`).
pub async fn latest(pool: &Pool) -> Result<Option<i64>> {
    let client = pool.get().await.map_err(crate::error::pool)?;
    let row = client
        .query_opt(
            "SELECT id FROM snapshots WHERE source = 'inventory' AND status IN ('complete', 'partial') ORDER BY id DESC LIMIT 1",
            &[],
        )
        .await
        .map_err(|e| crate::error::database("find the latest snapshot", e))?;
    Ok(row.map(|r| r.get(0)))
}

/// Retention: delete finished inventory snapshots beyond the newest `keep` that are older than
/// `older_than_days` (both must hold), with all their rows. Returns the deleted ids.
pub async fn prune(pool: &Pool, keep: i64, older_than_days: i64) -> Result<Vec<i64>> {
    if keep < 1 {
        return Err(InventoryError::invalid_input(format!("--keep {keep}: keep at least the newest snapshot")));
    }
    let client = pool.get().await.map_err(crate::error::pool)?;
    let rows = client
        .query(
            "DELETE FROM snapshots WHERE id IN ( \
                 SELECT id FROM snapshots WHERE source = 'inventory' AND status <> 'running' \
                 ORDER BY id DESC OFFSET $1) \
             AND started_at < now() - make_interval(days => $2::int) RETURNING id",
            &[&keep, &(older_than_days as i32)],
        )
        .await
        .map_err(|e| crate::error::database("prune snapshots", e))?;
    let mut ids: Vec<i64> = rows.into_iter().map(|r| r.get(0)).collect();
    ids.sort_unstable();
    Ok(ids)
}
