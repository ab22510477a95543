//! RDS.4 — RDS cluster snapshots and database snapshots should be encrypted at rest: copy an
//! unencrypted snapshot to `<id>-encrypted` under the AWS managed key `alias/aws/rds` (with its
//! tags), then delete the original once the copy is available.

use async_trait::async_trait;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

use super::rds_common::{self, snapshot, snapshot_arn, Snapshot, SnapshotKind};
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use secops_aws::AwsError;
use secops_core::ErrorClass;

pub struct Rds4;

const SUFFIX: &str = "-encrypted";
const KEY: &str = "alias/aws/rds";
/// How long the delete waits for the encrypted copy: 60 polls, 10 s apart.
const COPY_POLLS: u32 = 60;
const COPY_POLL: Duration = Duration::from_secs(10);

static SPEC: Spec = Spec {
    control: "RDS.4",
    title: "RDS cluster snapshots and database snapshots should be encrypted at rest",
    change: "copies the unencrypted snapshot to <id>-encrypted, encrypted with alias/aws/rds and with its tags, and \
             deletes the original once the copy is available",
    resource_types: &["AwsRdsDbSnapshot", "AwsRdsDbClusterSnapshot"],
    actions: &[
        "rds:DescribeDBSnapshots",
        "rds:DescribeDBClusterSnapshots",
        "rds:CopyDBSnapshot",
        "rds:CopyDBClusterSnapshot",
        // CopyTags tags the new snapshot; copying under a KMS key needs the key's description and a grant.
        "rds:AddTagsToResource",
        "kms:DescribeKey",
        "kms:CreateGrant",
        "rds:DeleteDBSnapshot",
        "rds:DeleteDBClusterSnapshot",
    ],
    disruptive: true,
    verification: "the original snapshot no longer exists (or is encrypted) and <id>-encrypted exists and is encrypted",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Rds4 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        rds_common::snapshot_identifier(resource_id)
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        let found = snapshot(ctx, SnapshotKind::of(ctx), &ctx.target.name).await?;
        Ok(Some(found.map(|s| s.tags).unwrap_or_default()))
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let kind = SnapshotKind::of(ctx);
        let noun = kind.noun();
        let name = &ctx.target.name;
        let copy_id = copy_id(name);
        let original = snapshot(ctx, kind, name).await?;
        let copy = snapshot(ctx, kind, &copy_id).await?;
        let Some(original) = original else {
            return Ok(match copy {
                Some(c) if c.encrypted => {
                    Assessment::Compliant(format!("{noun} {name} was replaced by its encrypted copy {copy_id}"))
                }
                _ => Assessment::Gone(format!("{noun} {name} no longer exists")),
            });
        };
        if original.encrypted {
            return Ok(Assessment::Compliant(format!("{noun} {name} is encrypted")));
        }
        if original.snapshot_type != "manual" {
            return Ok(Assessment::Ticket(format!(
                "{noun} {name} is an {} snapshot, which cannot be deleted or replaced by itself; encrypt its source \
                 (restore from an encrypted copy) so that new snapshots are encrypted",
                original.snapshot_type
            )));
        }
        if original.status != "available" {
            return Ok(rds_common::not_available(noun, name, Some(&original.status)));
        }
        let mut changes = Vec::new();
        match copy {
            Some(c) if !c.encrypted => {
                return Ok(Assessment::Ticket(format!(
                    "{noun} {copy_id} already exists and is not encrypted, so the encrypted copy of {name} cannot \
                     take that name; rename or delete {copy_id}, then run again"
                )))
            }
            // A copy made by an earlier run: only the delete remains.
            Some(_) => {}
            None => changes.push(copy_change(ctx, kind, &original, &copy_id)),
        }
        changes.push(delete_change(ctx, kind, &original, &copy_id));
        Ok(Assessment::Changes(changes))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "rds:CopyDBSnapshot" => ctx
                .rds()
                .copy_db_snapshot()
                .source_db_snapshot_identifier(change.text("SourceDBSnapshotIdentifier")?)
                .target_db_snapshot_identifier(change.text("TargetDBSnapshotIdentifier")?)
                .kms_key_id(change.text("KmsKeyId")?)
                .copy_tags(copy_tags(change))
                .send()
                .await
                .map(|_| ())
                .map_err(aws("rds:CopyDBSnapshot")),
            "rds:CopyDBClusterSnapshot" => ctx
                .rds()
                .copy_db_cluster_snapshot()
                .source_db_cluster_snapshot_identifier(change.text("SourceDBClusterSnapshotIdentifier")?)
                .target_db_cluster_snapshot_identifier(change.text("TargetDBClusterSnapshotIdentifier")?)
                .kms_key_id(change.text("KmsKeyId")?)
                .copy_tags(copy_tags(change))
                .send()
                .await
                .map(|_| ())
                .map_err(aws("rds:CopyDBClusterSnapshot")),
            "rds:DeleteDBSnapshot" => {
                wait_for_copy(ctx, SnapshotKind::Db, change.text("AfterCopyIsAvailable")?).await?;
                ctx.rds()
                    .delete_db_snapshot()
                    .db_snapshot_identifier(change.text("DBSnapshotIdentifier")?)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws("rds:DeleteDBSnapshot"))
            }
            "rds:DeleteDBClusterSnapshot" => {
                wait_for_copy(ctx, SnapshotKind::Cluster, change.text("AfterCopyIsAvailable")?).await?;
                ctx.rds()
                    .delete_db_cluster_snapshot()
                    .db_cluster_snapshot_identifier(change.text("DBClusterSnapshotIdentifier")?)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws("rds:DeleteDBClusterSnapshot"))
            }
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let kind = SnapshotKind::of(ctx);
        let name = &ctx.target.name;
        let copy_id = copy_id(name);
        let original = snapshot(ctx, kind, name).await?;
        let copy = snapshot(ctx, kind, &copy_id).await?;
        let original_ok = original.as_ref().is_none_or(|s| s.encrypted);
        let copy_ok = copy.as_ref().is_some_and(|s| s.encrypted);
        let text = format!(
            "{name}: {}; {copy_id}: {}",
            describe(original.as_ref(), "deleted"),
            describe(copy.as_ref(), "missing")
        );
        Ok(if original_ok && copy_ok { Check::Holds(text) } else { Check::Fails(text) })
    }
}

fn copy_tags(change: &Change) -> bool {
    change.parameters.get("CopyTags").and_then(serde_json::Value::as_bool).unwrap_or(false)
}

/// The encrypted copy's fixed name, so a later run finds the copy an earlier run made.
fn copy_id(name: &str) -> String {
    format!("{name}{SUFFIX}")
}

fn copy_change(ctx: &Ctx, kind: SnapshotKind, original: &Snapshot, copy_id: &str) -> Change {
    let (action, params) = match kind {
        SnapshotKind::Db => (
            "rds:CopyDBSnapshot",
            json!({
                "SourceDBSnapshotIdentifier": original.id,
                "TargetDBSnapshotIdentifier": copy_id,
                "KmsKeyId": KEY,
                "CopyTags": true,
            }),
        ),
        SnapshotKind::Cluster => (
            "rds:CopyDBClusterSnapshot",
            json!({
                "SourceDBClusterSnapshotIdentifier": original.id,
                "TargetDBClusterSnapshotIdentifier": copy_id,
                "KmsKeyId": KEY,
                "CopyTags": true,
            }),
        ),
    };
    Change::new(
        action,
        snapshot_arn(ctx, kind, original),
        params,
        format!("a snapshot cannot be encrypted in place; {copy_id} is an encrypted copy with the same tags"),
    )
}

fn delete_change(ctx: &Ctx, kind: SnapshotKind, original: &Snapshot, copy_id: &str) -> Change {
    let (action, id_key) = match kind {
        SnapshotKind::Db => ("rds:DeleteDBSnapshot", "DBSnapshotIdentifier"),
        SnapshotKind::Cluster => ("rds:DeleteDBClusterSnapshot", "DBClusterSnapshotIdentifier"),
    };
    Change::new(
        action,
        snapshot_arn(ctx, kind, original),
        json!({id_key: original.id, "AfterCopyIsAvailable": copy_id}),
        format!("the unencrypted original is deleted only once {copy_id} is available; restore from {copy_id} instead"),
    )
}

/// Waits (bounded) until the encrypted copy is available; the original is never deleted before.
async fn wait_for_copy(ctx: &Ctx, kind: SnapshotKind, copy_id: &str) -> Result<(), AwsError> {
    let mut last = String::from("missing");
    for poll in 1..=COPY_POLLS {
        match snapshot(ctx, kind, copy_id).await? {
            Some(s) if s.encrypted && s.status == "available" => return Ok(()),
            Some(s) if !s.encrypted => {
                return Err(AwsError::new(
                    "remediation:execute",
                    ErrorClass::Permanent,
                    format!("{} {copy_id} is not encrypted; the original was not deleted", kind.noun()),
                ))
            }
            found => last = describe(found.as_ref(), "missing"),
        }
        if poll < COPY_POLLS {
            tokio::time::sleep(COPY_POLL).await;
        }
    }
    // The copy is still being made: the next run finds it and only the delete remains.
    Err(AwsError::new(
        "remediation:execute",
        ErrorClass::Transient,
        format!("{} {copy_id} is still {last} after {COPY_POLLS} polls; the original was not deleted", kind.noun()),
    ))
}

fn describe(s: Option<&Snapshot>, absent: &str) -> String {
    match s {
        None => absent.to_owned(),
        Some(s) => format!("{}, {}", s.status, if s.encrypted { "encrypted" } else { "unencrypted" }),
    }
}
