//! RDS.1 — RDS snapshots should be private: remove the public ("all") restore permission of a DB
//! or cluster snapshot; shares with named accounts are kept.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

use super::rds_common::{self, snapshot, snapshot_arn, SnapshotKind};
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use secops_aws::AwsError;

pub struct Rds1;

/// The restore-attribute value that shares a snapshot with every AWS account.
const PUBLIC: &str = "all";

static SPEC: Spec = Spec {
    control: "RDS.1",
    title: "RDS snapshot should be private",
    change: "removes the public restore permission (\"all\") of the DB or cluster snapshot; shares with named \
             accounts stay",
    resource_types: &["AwsRdsDbSnapshot", "AwsRdsDbClusterSnapshot"],
    actions: &[
        "rds:DescribeDBSnapshots",
        "rds:DescribeDBClusterSnapshots",
        "rds:DescribeDBSnapshotAttributes",
        "rds:DescribeDBClusterSnapshotAttributes",
        "rds:ModifyDBSnapshotAttribute",
        "rds:ModifyDBClusterSnapshotAttribute",
    ],
    disruptive: false,
    verification: "Describe(DB|DBCluster)SnapshotAttributes shows no \"all\" among the restore attribute's values",
    exemption_tags: &["secops:rds:public-snapshot-intended"],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Rds1 {
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
        let Some(snap) = snapshot(ctx, kind, name).await? else {
            return Ok(Assessment::Gone(format!("{noun} {name} no longer exists")));
        };
        if snap.status != "available" {
            return Ok(rds_common::not_available(noun, name, Some(&snap.status)));
        }
        let shared = restore_accounts(ctx, kind).await?;
        if !shared.iter().any(|a| a == PUBLIC) {
            return Ok(Assessment::Compliant(format!(
                "{noun} {name} is not public (restorable by: {})",
                listed(&shared)
            )));
        }
        let kept: Vec<String> = shared.into_iter().filter(|a| a != PUBLIC).collect();
        let (action, id_key) = match kind {
            SnapshotKind::Db => ("rds:ModifyDBSnapshotAttribute", "DBSnapshotIdentifier"),
            SnapshotKind::Cluster => ("rds:ModifyDBClusterSnapshotAttribute", "DBClusterSnapshotIdentifier"),
        };
        Ok(Assessment::Changes(vec![Change::new(
            action,
            snapshot_arn(ctx, kind, &snap),
            json!({id_key: name, "AttributeName": "restore", "ValuesToRemove": [PUBLIC]}),
            format!(
                "any AWS account can restore (copy) this snapshot's data; removing \"all\" keeps the shares with \
                 named accounts: {}",
                listed(&kept)
            ),
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        let values = change.params::<Remove>()?.values;
        match change.action.as_str() {
            "rds:ModifyDBSnapshotAttribute" => ctx
                .rds()
                .modify_db_snapshot_attribute()
                .db_snapshot_identifier(change.text("DBSnapshotIdentifier")?)
                .attribute_name(change.text("AttributeName")?)
                .set_values_to_remove(Some(values))
                .send()
                .await
                .map(|_| ())
                .map_err(aws("rds:ModifyDBSnapshotAttribute")),
            "rds:ModifyDBClusterSnapshotAttribute" => ctx
                .rds()
                .modify_db_cluster_snapshot_attribute()
                .db_cluster_snapshot_identifier(change.text("DBClusterSnapshotIdentifier")?)
                .attribute_name(change.text("AttributeName")?)
                .set_values_to_remove(Some(values))
                .send()
                .await
                .map(|_| ())
                .map_err(aws("rds:ModifyDBClusterSnapshotAttribute")),
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let shared = restore_accounts(ctx, SnapshotKind::of(ctx)).await?;
        let text =
            format!("{} {} is restorable by: {}", SnapshotKind::of(ctx).noun(), ctx.target.name, listed(&shared));
        Ok(if shared.iter().any(|a| a == PUBLIC) { Check::Fails(text) } else { Check::Holds(text) })
    }
}

/// The values a planned attribute change removes.
#[derive(Debug, Deserialize)]
struct Remove {
    #[serde(rename = "ValuesToRemove")]
    values: Vec<String>,
}

/// The values of the snapshot's `restore` attribute (account ids, or "all" when public).
async fn restore_accounts(ctx: &Ctx, kind: SnapshotKind) -> Result<Vec<String>, AwsError> {
    let name = &ctx.target.name;
    let values = match kind {
        SnapshotKind::Db => {
            let out = ctx
                .rds()
                .describe_db_snapshot_attributes()
                .db_snapshot_identifier(name)
                .send()
                .await
                .map_err(aws("rds:DescribeDBSnapshotAttributes"))?;
            out.db_snapshot_attributes_result()
                .map(|r| r.db_snapshot_attributes())
                .unwrap_or_default()
                .iter()
                .filter(|a| a.attribute_name() == Some("restore"))
                .flat_map(|a| a.attribute_values().to_vec())
                .collect()
        }
        SnapshotKind::Cluster => {
            let out = ctx
                .rds()
                .describe_db_cluster_snapshot_attributes()
                .db_cluster_snapshot_identifier(name)
                .send()
                .await
                .map_err(aws("rds:DescribeDBClusterSnapshotAttributes"))?;
            out.db_cluster_snapshot_attributes_result()
                .map(|r| r.db_cluster_snapshot_attributes())
                .unwrap_or_default()
                .iter()
                .filter(|a| a.attribute_name() == Some("restore"))
                .flat_map(|a| a.attribute_values().to_vec())
                .collect()
        }
    };
    Ok(values)
}

fn listed(accounts: &[String]) -> String {
    if accounts.is_empty() {
        "no other account".into()
    } else {
        accounts.join(", ")
    }
}
