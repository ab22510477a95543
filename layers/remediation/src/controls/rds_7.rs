//! RDS.7 — RDS clusters should have deletion protection enabled: turn it on.

use async_trait::async_trait;
use serde_json::json;
use std::collections::BTreeMap;

use super::rds_common::{self, available_cluster, cluster_arn};
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use secops_aws::AwsError;

pub struct Rds7;

static SPEC: Spec = Spec {
    control: "RDS.7",
    title: "RDS clusters should have deletion protection enabled",
    change: "sets DeletionProtection=true on the DB cluster",
    resource_types: &["AwsRdsDbCluster"],
    actions: &["rds:DescribeDBClusters", "rds:ModifyDBCluster"],
    disruptive: false,
    verification: "DescribeDBClusters shows DeletionProtection=true",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Rds7 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        rds_common::identifier(resource_id, "cluster:")
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        rds_common::cluster_tags(ctx).await
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let cluster = match available_cluster(ctx).await? {
            Ok(c) => c,
            Err(answer) => return Ok(answer),
        };
        let name = &ctx.target.name;
        if cluster.deletion_protection() == Some(true) {
            return Ok(Assessment::Compliant(format!("DB cluster {name} has deletion protection")));
        }
        Ok(Assessment::Changes(vec![Change::new(
            "rds:ModifyDBCluster",
            cluster_arn(ctx, &cluster),
            json!({"DBClusterIdentifier": name, "ApplyImmediately": true, "DeletionProtection": true}),
            "deletion protection is off, so one DeleteDBCluster call removes the cluster; turning it on changes \
             nothing else",
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "rds:ModifyDBCluster" => rds_common::modify_cluster(ctx, change).await,
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let name = &ctx.target.name;
        Ok(match rds_common::cluster(ctx).await? {
            None => Check::Fails(format!("DB cluster {name} no longer exists")),
            Some(c) if c.deletion_protection() == Some(true) => {
                Check::Holds(format!("DB cluster {name}: DeletionProtection=true"))
            }
            Some(_) => Check::Fails(format!("DB cluster {name}: DeletionProtection=false")),
        })
    }
}
