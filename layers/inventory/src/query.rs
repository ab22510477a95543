//! Reading the canonical views and drift, for `secops query` and the other capabilities.

use crate::error::{InventoryError, Result};
use crate::sources;
use deadpool_postgres::Pool;
use serde::Serialize;
use serde_json::Value;

/// The canonical views (migrations V006 to V008), with what each answers.
pub const VIEWS: &[(&str, &str)] = &[
    ("unprotected_hosts", "live instances without a working Falcon sensor, with the reason"),
    ("edr_coverage", "EDR coverage over live instances, per account and in total"),
    ("sensor_versions_by_role", "sensor versions on live instances by Role tag"),
    ("sensor_versions_by_cluster", "sensor versions on live instances by EKS cluster"),
    ("s3_exposure", "buckets that are public or lack a public access block, with reasons"),
    (
        "s3_posture",
        "every bucket's failed checks (public access, block public access, encryption, versioning, logging)",
    ),
    (
        "rds_posture",
        "RDS instances and snapshots failing encryption, public access, backups, multi-AZ, deletion protection",
    ),
    ("open_ingress_production", "internet-open ingress rules on security groups of live production instances"),
    ("active_threats", "open GuardDuty findings and Falcon alerts on live hosts"),
    (
        "exposure",
        "internet-reachable resources with protocol, ports, how (public address or load balancer) and evidence",
    ),
    ("dangling_references", "rules and routes naming groups, prefix lists or gateways the snapshot does not hold"),
    (
        "dns_bridge",
        "Cloudflare and Route 53 names with the AWS resource and network node behind them; dangling names flagged",
    ),
    ("snapshots", "inventory snapshots with their status and failed collector runs"),
    ("shape_changes", "vendor record shapes that changed between snapshots"),
];

/// A result set: column names in order, rows of JSON values.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl Rows {
    /// Rows as JSON objects (one per row, keys in column order).
    pub fn objects(&self) -> Vec<serde_json::Map<String, Value>> {
        self.rows.iter().map(|r| self.columns.iter().cloned().zip(r.iter().cloned()).collect()).collect()
    }
}

/// The SQL a view name stands for (`sensor_versions` with a tag is the by-tag function).
fn view_sql(name: &str, tag: Option<&str>) -> Result<String> {
    // `dns-bridge` on the command line is the `dns_bridge` view.
    let name = name.replace('-', "_");
    match (name.as_str(), tag) {
        ("sensor_versions", Some(_)) | ("sensor_versions_by_tag", Some(_)) => Ok("SELECT * FROM sensor_versions_by_tag($1)".into()),
        ("sensor_versions", None) | ("sensor_versions_by_tag", None) => {
            Err(InventoryError::invalid_input("sensor_versions needs --tag <tag key> (or use sensor_versions_by_role)"))
        }
        ("snapshots", _) => Ok("SELECT s.id, s.status, s.origin, s.started_at, s.completed_at, s.record_count, \
                    (SELECT count(*) FROM snapshot_sources r WHERE r.snapshot_id = s.id) AS collector_runs, \
                    (SELECT array_agg(concat_ws(' ', r.collector, r.account_id, r.region, r.error_class || ': ' || r.error) ORDER BY r.id) \
                       FROM snapshot_sources r WHERE r.snapshot_id = s.id AND r.status = 'failed') AS failed_runs, \
                    (SELECT rc.reconciled_at FROM reconciliations rc WHERE rc.snapshot_id = s.id) AS reconciled_at \
                 FROM snapshots s WHERE s.source = 'inventory' ORDER BY s.id DESC LIMIT 50"
            .into()),
        ("shape_changes", _) => Ok("SELECT snapshot_id, previous_snapshot_id, table_name, key, change, before_types, after_types \
                 FROM shape_changes ORDER BY snapshot_id DESC, table_name, key LIMIT 500"
            .into()),
        (view, _) if VIEWS.iter().any(|(v, _)| *v == view) => Ok(format!("SELECT * FROM {view}")),
        (other, _) => Err(InventoryError::invalid_input(format!(
            "no view called {other:?}; the views are: {}",
            VIEWS.iter().map(|(v, _)| *v).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// Every row of a view. Values come back as JSON (each column through `to_jsonb`), so any column
/// type prints and serialises the same way.
pub async fn view(pool: &Pool, name: &str, tag: Option<&str>) -> Result<Rows> {
    let sql = view_sql(name, tag)?;
    let client = pool.get().await.map_err(crate::error::pool)?;
    let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = match &tag {
        Some(t) if sql.contains("$1") => vec![t],
        _ => vec![],
    };
    let shape = client
        .prepare(&format!("SELECT * FROM ({sql}) v LIMIT 0"))
        .await
        .map_err(|e| crate::error::database("a view", e))?;
    let columns: Vec<String> = shape.columns().iter().map(|c| c.name().to_owned()).collect();
    let select = columns.iter().map(|c| format!("to_jsonb(v.{})", quote_ident(c))).collect::<Vec<_>>().join(", ");
    let rows = client
        .query(&format!("SELECT {select} FROM ({sql}) v"), &params)
        .await
        .map_err(|e| crate::error::database("a view", e))?;
    let rows = rows
        .iter()
        .map(|r| (0..columns.len()).map(|i| r.get::<_, Option<Value>>(i).unwrap_or(Value::Null)).collect())
        .collect();
    Ok(Rows { columns, rows })
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// What to compare for drift.
#[derive(Debug, Clone)]
pub enum DriftWindow {
    /// Two given snapshots.
    Between(i64, i64),
    /// Every consecutive pair of finished snapshots in the last `days` (plus the one before, as
    /// the baseline): catches a bucket that became public and was fixed again inside the window.
    Days(i64),
}

/// Resources of `table` that appeared, disappeared or changed, optionally one attribute only.
pub async fn drift(pool: &Pool, table: &str, window: DriftWindow, attribute: Option<&str>) -> Result<Rows> {
    let declared = sources::table(table).ok_or_else(|| {
        InventoryError::invalid_input(format!(
            "no inventory table called {table:?}; the tables are: {}",
            sources::all_tables().iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
        ))
    })?;
    if let Some(a) = attribute {
        if !declared.columns.iter().any(|c| c.name == a) {
            return Err(InventoryError::invalid_input(format!(
                "{table} has no column {a:?}; its columns are: {}",
                declared.columns.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let client = pool.get().await.map_err(crate::error::pool)?;
    let pairs: Vec<(i64, i64)> = match window {
        DriftWindow::Between(a, b) => vec![(a, b)],
        DriftWindow::Days(days) => {
            let ids: Vec<i64> = client
                .query(
                    "WITH finished AS (SELECT id, started_at FROM snapshots WHERE source = 'inventory' AND status IN ('complete', 'partial')) \
                     SELECT id FROM finished WHERE started_at >= now() - make_interval(days => $1::int) \
                     UNION SELECT max(id) FROM finished WHERE started_at < now() - make_interval(days => $1::int) \
                     ORDER BY 1",
                    &[&(days as i32)],
                )
                .await
                .map_err(|e| crate::error::database("list snapshots", e))?
                .into_iter()
                .filter_map(|r| r.get::<_, Option<i64>>(0))
                .collect();
            ids.windows(2).map(|w| (w[0], w[1])).collect()
        }
    };
    let keys: Vec<String> = declared.key.iter().map(|k| (*k).to_owned()).collect();
    let mut out = Rows {
        columns: [
            "from_snapshot",
            "to_snapshot",
            "change",
            "account_id",
            "region",
            "resource",
            "attribute",
            "before",
            "after",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows: Vec::new(),
    };
    for (from, to) in pairs {
        let rows = client
            .query(
                "SELECT change, account_id, region, resource_key, attribute, before, after \
                 FROM inventory_drift($1::text::regclass, $2, $3, $4) \
                 WHERE $5::text IS NULL OR attribute = $5 ORDER BY resource_key, change, attribute",
                &[&declared.name, &keys, &from, &to, &attribute],
            )
            .await
            .map_err(|e| crate::error::database("drift", e))?;
        for r in rows {
            let text = |i: usize| r.get::<_, Option<String>>(i).map(Value::String).unwrap_or(Value::Null);
            out.rows.push(vec![
                Value::from(from),
                Value::from(to),
                text(0),
                text(1),
                text(2),
                text(3),
                text(4),
                r.get::<_, Option<Value>>(5).unwrap_or(Value::Null),
                r.get::<_, Option<Value>>(6).unwrap_or(Value::Null),
            ]);
        }
    }
    Ok(out)
}
