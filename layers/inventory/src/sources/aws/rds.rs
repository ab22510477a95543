//! RDS instances, snapshots, and who may restore each manual snapshot
//! (`rds:DescribeDBSnapshotAttributes`, per snapshot).

use crate::collector::{AwsCollector, AwsScope, AwsTarget, RecordSink};
use crate::error::Result;
use crate::schema::*;
use crate::sources::aws::{each_page, emit};
use secops_aws::AwsError;
use serde_json::Value;

pub static COLLECTOR: AwsCollector = AwsCollector {
    name: "rds",
    scope: AwsScope::Regional,
    tables: &[&DB_INSTANCES, &DB_SNAPSHOTS, &DB_SNAPSHOT_ATTRIBUTES],
    actions: &["rds:DescribeDBInstances", "rds:DescribeDBSnapshots", "rds:DescribeDBSnapshotAttributes"],
    fetch: |target, out| Box::pin(fetch(target, out)),
};

async fn fetch(target: &AwsTarget, out: &mut dyn RecordSink) -> Result<()> {
    let rds = aws_sdk_rds::Client::new(&target.sdk);
    each_page!(rds.describe_db_instances().into_paginator().send(), "rds:DescribeDBInstances", |page| {
        emit(out, &DB_INSTANCES, None, &page).await?;
    });
    // Only manual snapshots can be shared, so only they have restore attributes worth reading.
    let mut manual = Vec::new();
    each_page!(rds.describe_db_snapshots().into_paginator().send(), "rds:DescribeDBSnapshots", |page| {
        manual.extend(
            page.db_snapshots()
                .iter()
                .filter(|s| s.snapshot_type() == Some("manual"))
                .filter_map(|s| s.db_snapshot_identifier().map(str::to_owned)),
        );
        emit(out, &DB_SNAPSHOTS, None, &page).await?;
    });
    for id in &manual {
        let page = rds
            .describe_db_snapshot_attributes()
            .db_snapshot_identifier(id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("rds:DescribeDBSnapshotAttributes", e))?;
        emit(out, &DB_SNAPSHOT_ATTRIBUTES, Some(id), &page).await?;
    }
    Ok(())
}

pub static DB_INSTANCES: Table = Table {
    name: "rds_db_instances",
    file: "rds.describe-db-instances",
    records: "/DBInstances/*",
    parent: None,
    key: &["db_instance_id"],
    placement: Placement::Target,
    columns: &[
        text("db_instance_id", "/DBInstanceIdentifier"),
        text("db_instance_arn", "/DBInstanceArn"),
        text("engine", "/Engine"),
        text("engine_version", "/EngineVersion"),
        text("instance_class", "/DBInstanceClass"),
        text("status", "/DBInstanceStatus"),
        flag("storage_encrypted", "/StorageEncrypted"),
        text("kms_key_id", "/KmsKeyId"),
        flag("publicly_accessible", "/PubliclyAccessible"),
        int("backup_retention_period", "/BackupRetentionPeriod"),
        flag("multi_az", "/MultiAZ"),
        flag("deletion_protection", "/DeletionProtection"),
        text("vpc_id", "/DBSubnetGroup/VpcId"),
        text("endpoint_address", "/Endpoint/Address"),
        int("endpoint_port", "/Endpoint/Port"),
        all("security_group_ids", "/VpcSecurityGroups/*/VpcSecurityGroupId"),
        tags("tags", "/TagList"),
        tag("environment", "/TagList", ENVIRONMENT_TAGS),
    ],
};

pub static DB_SNAPSHOTS: Table = Table {
    name: "rds_db_snapshots",
    file: "rds.describe-db-snapshots",
    records: "/DBSnapshots/*",
    parent: None,
    key: &["db_snapshot_id"],
    placement: Placement::Target,
    columns: &[
        text("db_snapshot_id", "/DBSnapshotIdentifier"),
        text("db_snapshot_arn", "/DBSnapshotArn"),
        text("db_instance_id", "/DBInstanceIdentifier"),
        text("snapshot_type", "/SnapshotType"),
        flag("encrypted", "/Encrypted"),
        timestamp("created_at", "/SnapshotCreateTime"),
        tags("tags", "/TagList"),
    ],
};

pub static DB_SNAPSHOT_ATTRIBUTES: Table = Table {
    name: "rds_db_snapshot_attributes",
    file: "rds.describe-db-snapshot-attributes",
    records: "/DBSnapshotAttributesResult",
    parent: Some("db_snapshot_id"),
    key: &["db_snapshot_id"],
    placement: Placement::Target,
    columns: &[parent("db_snapshot_id"), computed("restorable_by", ColumnType::TextArray, restorable_by)],
};

/// The accounts (or `all`) allowed to restore the snapshot.
fn restorable_by(result: &Value) -> Option<Value> {
    let attributes = result.get("DBSnapshotAttributes")?.as_array()?;
    let restore = attributes.iter().find(|a| a.get("AttributeName").and_then(Value::as_str) == Some("restore"))?;
    restore.get("AttributeValues").cloned()
}
