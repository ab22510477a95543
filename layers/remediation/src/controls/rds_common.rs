//! What the RDS controls share: parsing identifiers out of ARNs, reading one instance, cluster or
//! snapshot (absent → `None`, not yet `available` → reconsider later), the one ModifyDBInstance /
//! ModifyDBCluster executor all instance and cluster controls plan for, and each engine's log types.

use aws_sdk_rds::types::{CloudwatchLogsExportConfiguration, DbCluster, DbInstance, Tag};
use serde::Deserialize;
use std::collections::BTreeMap;

use crate::context::Ctx;
use crate::plan::Change;
use crate::spec::{Assessment, Check};
use crate::support::{aws, has_code};
use crate::target::Arn;
use secops_aws::AwsError;

/// The identifier after `prefix` (`db:`, `cluster:`, `snapshot:`, `cluster-snapshot:`) of an RDS
/// ARN, or a bare identifier. Snapshot identifiers may themselves contain `:` (automated
/// snapshots are `rds:<db>-<date>`), so everything after the prefix is kept.
pub(crate) fn identifier(id: &str, prefix: &str) -> Result<String, String> {
    let name = match Arn::parse(id) {
        Some(arn) if arn.service != "rds" => return Err(format!("expected an RDS ARN, got service {:?}", arn.service)),
        Some(arn) => arn.resource.strip_prefix(prefix).ok_or_else(|| {
            format!("expected an RDS ARN whose resource starts with {prefix:?}, got {:?}", arn.resource)
        })?,
        None => id,
    };
    let valid = !name.is_empty()
        && name.len() <= 255
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b':')
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic());
    if valid {
        Ok(name.to_owned())
    } else {
        Err(format!("expected an RDS identifier (a letter, then letters, digits and hyphens), got {name:?}"))
    }
}

pub(crate) fn tags_of(list: &[Tag]) -> BTreeMap<String, String> {
    list.iter().filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned()))).collect()
}

/// The target instance, or `None` when it no longer exists.
pub(crate) async fn instance(ctx: &Ctx) -> Result<Option<DbInstance>, AwsError> {
    let reply = ctx.rds().describe_db_instances().db_instance_identifier(&ctx.target.name).send().await;
    match reply {
        Ok(out) => Ok(out.db_instances().first().cloned()),
        Err(e) if has_code(&e, &["DBInstanceNotFound", "DBInstanceNotFoundFault"]) => Ok(None),
        Err(e) => Err(aws("rds:DescribeDBInstances")(e)),
    }
}

/// The target cluster, or `None` when it no longer exists.
pub(crate) async fn cluster(ctx: &Ctx) -> Result<Option<DbCluster>, AwsError> {
    let reply = ctx.rds().describe_db_clusters().db_cluster_identifier(&ctx.target.name).send().await;
    match reply {
        Ok(out) => Ok(out.db_clusters().first().cloned()),
        Err(e) if has_code(&e, &["DBClusterNotFoundFault"]) => Ok(None),
        Err(e) => Err(aws("rds:DescribeDBClusters")(e)),
    }
}

/// The instance when it exists and is `available`; otherwise what plan must answer.
pub(crate) async fn available_instance(ctx: &Ctx) -> Result<Result<DbInstance, Assessment>, AwsError> {
    let name = &ctx.target.name;
    Ok(match instance(ctx).await? {
        None => Err(Assessment::Gone(format!("DB instance {name} no longer exists"))),
        Some(db) => match db.db_instance_status() {
            Some("available") => Ok(db),
            status => Err(not_available("DB instance", name, status)),
        },
    })
}

/// The cluster when it exists and is `available`; otherwise what plan must answer.
pub(crate) async fn available_cluster(ctx: &Ctx) -> Result<Result<DbCluster, Assessment>, AwsError> {
    let name = &ctx.target.name;
    Ok(match cluster(ctx).await? {
        None => Err(Assessment::Gone(format!("DB cluster {name} no longer exists"))),
        Some(c) => match c.status() {
            Some("available") => Ok(c),
            status => Err(not_available("DB cluster", name, status)),
        },
    })
}

/// The instance's live tags (none when it no longer exists: plan then says so).
pub(crate) async fn instance_tags(ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
    Ok(Some(instance(ctx).await?.map(|db| tags_of(db.tag_list())).unwrap_or_default()))
}

/// The cluster's live tags (none when it no longer exists: plan then says so).
pub(crate) async fn cluster_tags(ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
    Ok(Some(cluster(ctx).await?.map(|c| tags_of(c.tag_list())).unwrap_or_default()))
}

/// Verify an instance setting by re-reading the instance: `holds` says whether the control
/// holds and what was read.
pub(crate) async fn check_instance(
    ctx: &Ctx,
    holds: impl FnOnce(&DbInstance) -> (bool, String),
) -> Result<Check, AwsError> {
    Ok(match instance(ctx).await? {
        None => Check::Fails(format!("DB instance {} no longer exists", ctx.target.name)),
        Some(db) => match holds(&db) {
            (true, found) => Check::Holds(found),
            (false, found) => Check::Fails(found),
        },
    })
}

/// A setting Aurora keeps on the cluster, not on its instances: ModifyDBInstance cannot change
/// it, so a person fixes it on the cluster (RDS.7 covers deletion protection there).
pub(crate) fn set_on_cluster(db: &DbInstance, setting: &str) -> Option<Assessment> {
    let cluster = db.db_cluster_identifier()?;
    Some(Assessment::Ticket(format!(
        "DB instance {} belongs to DB cluster {cluster}, which manages {setting} for its instances; set {setting} \
         on the cluster (ModifyDBCluster) instead",
        db.db_instance_identifier().unwrap_or_default()
    )))
}

/// A resource that is being created, modified, stopped or backed up: changing it now would fail
/// or queue behind the current operation, so the next run looks again.
pub(crate) fn not_available(kind: &str, name: &str, status: Option<&str>) -> Assessment {
    Assessment::ReconsiderLater(format!(
        "{kind} {name} is {}, not available; it is changed only once it is available again",
        status.unwrap_or("in an unknown state")
    ))
}

/// The values of one planned ModifyDBInstance (only the settings a control changes are set).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModifyInstance {
    #[serde(rename = "DBInstanceIdentifier")]
    pub id: String,
    #[serde(rename = "ApplyImmediately")]
    pub apply_immediately: bool,
    #[serde(rename = "PubliclyAccessible", default)]
    pub publicly_accessible: Option<bool>,
    #[serde(rename = "DeletionProtection", default)]
    pub deletion_protection: Option<bool>,
    #[serde(rename = "BackupRetentionPeriod", default)]
    pub backup_retention_period: Option<i32>,
    #[serde(rename = "AutoMinorVersionUpgrade", default)]
    pub auto_minor_version_upgrade: Option<bool>,
    #[serde(rename = "CopyTagsToSnapshot", default)]
    pub copy_tags_to_snapshot: Option<bool>,
    #[serde(rename = "MonitoringInterval", default)]
    pub monitoring_interval: Option<i32>,
    #[serde(rename = "MonitoringRoleArn", default)]
    pub monitoring_role_arn: Option<String>,
    #[serde(rename = "CloudwatchLogsExportConfiguration", default)]
    pub logs: Option<LogExports>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogExports {
    #[serde(rename = "EnableLogTypes")]
    pub enable: Vec<String>,
}

/// Performs one planned `rds:ModifyDBInstance` exactly as its parameters say.
pub(crate) async fn modify_instance(ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
    let p: ModifyInstance = change.params()?;
    let logs =
        p.logs.map(|l| CloudwatchLogsExportConfiguration::builder().set_enable_log_types(Some(l.enable)).build());
    ctx.rds()
        .modify_db_instance()
        .db_instance_identifier(p.id)
        .apply_immediately(p.apply_immediately)
        .set_publicly_accessible(p.publicly_accessible)
        .set_deletion_protection(p.deletion_protection)
        .set_backup_retention_period(p.backup_retention_period)
        .set_auto_minor_version_upgrade(p.auto_minor_version_upgrade)
        .set_copy_tags_to_snapshot(p.copy_tags_to_snapshot)
        .set_monitoring_interval(p.monitoring_interval)
        .set_monitoring_role_arn(p.monitoring_role_arn)
        .set_cloudwatch_logs_export_configuration(logs)
        .send()
        .await
        .map(|_| ())
        .map_err(aws("rds:ModifyDBInstance"))
}

/// The values of one planned ModifyDBCluster.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModifyCluster {
    #[serde(rename = "DBClusterIdentifier")]
    pub id: String,
    #[serde(rename = "ApplyImmediately")]
    pub apply_immediately: bool,
    #[serde(rename = "DeletionProtection", default)]
    pub deletion_protection: Option<bool>,
}

/// Performs one planned `rds:ModifyDBCluster` exactly as its parameters say.
pub(crate) async fn modify_cluster(ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
    let p: ModifyCluster = change.params()?;
    ctx.rds()
        .modify_db_cluster()
        .db_cluster_identifier(p.id)
        .apply_immediately(p.apply_immediately)
        .set_deletion_protection(p.deletion_protection)
        .send()
        .await
        .map(|_| ())
        .map_err(aws("rds:ModifyDBCluster"))
}

/// The instance's ARN (from the read, else built from the target).
pub(crate) fn instance_arn(ctx: &Ctx, db: &DbInstance) -> String {
    db.db_instance_arn()
        .map_or_else(|| ctx.target.resource_arn("rds", &format!("db:{}", ctx.target.name)), str::to_owned)
}

/// The cluster's ARN (from the read, else built from the target).
pub(crate) fn cluster_arn(ctx: &Ctx, c: &DbCluster) -> String {
    c.db_cluster_arn()
        .map_or_else(|| ctx.target.resource_arn("rds", &format!("cluster:{}", ctx.target.name)), str::to_owned)
}

/// The log types an engine can publish to CloudWatch Logs (`None`: no mapping, e.g. Aurora,
/// whose logs are configured on the cluster, or Db2).
pub(crate) fn log_types(engine: &str) -> Option<&'static [&'static str]> {
    match engine {
        "postgres" => Some(&["postgresql", "upgrade"]),
        "mysql" | "mariadb" => Some(&["audit", "error", "general", "slowquery"]),
        // SQL Server Express has no SQL Server Agent, so it has no agent log to publish.
        "sqlserver-ex" => Some(&["error"]),
        e if e.starts_with("sqlserver-") => Some(&["agent", "error"]),
        e if e.starts_with("oracle-") => Some(&["alert", "audit", "listener", "trace"]),
        _ => None,
    }
}

/// Which snapshot API family a finding's resource belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SnapshotKind {
    Db,
    Cluster,
}

impl SnapshotKind {
    pub(crate) fn of(ctx: &Ctx) -> SnapshotKind {
        if ctx.target.resource_type == "AwsRdsDbClusterSnapshot" {
            SnapshotKind::Cluster
        } else {
            SnapshotKind::Db
        }
    }

    /// The ARN resource prefix (`snapshot:` / `cluster-snapshot:`).
    pub(crate) fn prefix(self) -> &'static str {
        match self {
            SnapshotKind::Db => "snapshot:",
            SnapshotKind::Cluster => "cluster-snapshot:",
        }
    }

    pub(crate) fn noun(self) -> &'static str {
        match self {
            SnapshotKind::Db => "DB snapshot",
            SnapshotKind::Cluster => "DB cluster snapshot",
        }
    }
}

/// The identifier of a DB or cluster snapshot finding.
pub(crate) fn snapshot_identifier(id: &str) -> Result<String, String> {
    // The ARN itself says which kind it is; a bare id is accepted as either.
    let prefix = match Arn::parse(id) {
        Some(arn) if arn.resource.starts_with("cluster-snapshot:") => "cluster-snapshot:",
        _ => "snapshot:",
    };
    identifier(id, prefix)
}

/// One DB or cluster snapshot, as the snapshot controls need it.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub id: String,
    pub arn: Option<String>,
    pub status: String,
    pub encrypted: bool,
    /// `manual`, `automated`, `shared`, `public`, `awsbackup`.
    pub snapshot_type: String,
    pub tags: BTreeMap<String, String>,
}

/// Snapshot `id` of `kind`, or `None` when it does not exist.
pub(crate) async fn snapshot(ctx: &Ctx, kind: SnapshotKind, id: &str) -> Result<Option<Snapshot>, AwsError> {
    match kind {
        SnapshotKind::Db => {
            let reply = ctx.rds().describe_db_snapshots().db_snapshot_identifier(id).send().await;
            let out = match reply {
                Ok(out) => out,
                Err(e) if has_code(&e, &["DBSnapshotNotFound", "DBSnapshotNotFoundFault"]) => return Ok(None),
                Err(e) => return Err(aws("rds:DescribeDBSnapshots")(e)),
            };
            Ok(out.db_snapshots().first().map(|s| Snapshot {
                id: s.db_snapshot_identifier().unwrap_or(id).to_owned(),
                arn: s.db_snapshot_arn().map(str::to_owned),
                status: s.status().unwrap_or_default().to_owned(),
                encrypted: s.encrypted().unwrap_or(false),
                snapshot_type: s.snapshot_type().unwrap_or_default().to_owned(),
                tags: tags_of(s.tag_list()),
            }))
        }
        SnapshotKind::Cluster => {
            let reply = ctx.rds().describe_db_cluster_snapshots().db_cluster_snapshot_identifier(id).send().await;
            let out = match reply {
                Ok(out) => out,
                Err(e) if has_code(&e, &["DBClusterSnapshotNotFoundFault"]) => return Ok(None),
                Err(e) => return Err(aws("rds:DescribeDBClusterSnapshots")(e)),
            };
            Ok(out.db_cluster_snapshots().first().map(|s| Snapshot {
                id: s.db_cluster_snapshot_identifier().unwrap_or(id).to_owned(),
                arn: s.db_cluster_snapshot_arn().map(str::to_owned),
                status: s.status().unwrap_or_default().to_owned(),
                encrypted: s.storage_encrypted().unwrap_or(false),
                snapshot_type: s.snapshot_type().unwrap_or_default().to_owned(),
                tags: tags_of(s.tag_list()),
            }))
        }
    }
}

/// The target snapshot's ARN (from the read, else built from the target).
pub(crate) fn snapshot_arn(ctx: &Ctx, kind: SnapshotKind, s: &Snapshot) -> String {
    s.arn.clone().unwrap_or_else(|| ctx.target.resource_arn("rds", &format!("{}{}", kind.prefix(), s.id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_from_arns() {
        assert_eq!(identifier("arn:aws:rds:eu-west-1:111122223333:db:orders-1", "db:").unwrap(), "orders-1");
        assert_eq!(identifier("orders-1", "db:").unwrap(), "orders-1");
        assert_eq!(
            snapshot_identifier("arn:aws:rds:eu-west-1:111122223333:snapshot:rds:orders-2026-11-01-00-05").unwrap(),
            "rds:orders-2026-11-01-00-05"
        );
        assert_eq!(
            snapshot_identifier("arn:aws:rds:eu-west-1:111122223333:cluster-snapshot:c-snap").unwrap(),
            "c-snap"
        );
        assert!(identifier("arn:aws:rds:eu-west-1:111122223333:cluster:c1", "db:").unwrap_err().contains("\"db:\""));
        assert!(identifier("arn:aws:s3:::bucket", "db:").is_err());
        assert!(identifier("1orders", "db:").is_err());
        assert!(identifier("orders_1", "db:").is_err());
    }

    #[test]
    fn engines_and_their_log_types() {
        assert_eq!(log_types("postgres"), Some(&["postgresql", "upgrade"][..]));
        assert_eq!(log_types("mariadb"), Some(&["audit", "error", "general", "slowquery"][..]));
        assert_eq!(log_types("oracle-ee"), Some(&["alert", "audit", "listener", "trace"][..]));
        assert_eq!(log_types("sqlserver-se"), Some(&["agent", "error"][..]));
        assert_eq!(log_types("sqlserver-ex"), Some(&["error"][..]));
        assert_eq!(log_types("aurora-postgresql"), None);
    }
}
