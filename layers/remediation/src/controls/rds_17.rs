//! RDS.17 — RDS DB instances should be configured to copy tags to snapshots: turn CopyTagsToSnapshot on.

use async_trait::async_trait;
use serde_json::json;
use std::collections::BTreeMap;

use super::rds_common::{self, available_instance, instance_arn};
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use secops_aws::AwsError;

pub struct Rds17;

static SPEC: Spec = Spec {
    control: "RDS.17",
    title: "RDS DB instances should be configured to copy tags to snapshots",
    change: "sets CopyTagsToSnapshot=true on the DB instance",
    resource_types: &["AwsRdsDbInstance"],
    actions: &["rds:DescribeDBInstances", "rds:ModifyDBInstance"],
    disruptive: false,
    verification: "DescribeDBInstances shows CopyTagsToSnapshot=true",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Rds17 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        rds_common::identifier(resource_id, "db:")
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        rds_common::instance_tags(ctx).await
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let db = match available_instance(ctx).await? {
            Ok(db) => db,
            Err(answer) => return Ok(answer),
        };
        let name = &ctx.target.name;
        if db.copy_tags_to_snapshot() == Some(true) {
            return Ok(Assessment::Compliant(format!("DB instance {name} copies its tags to snapshots")));
        }
        if let Some(ticket) = rds_common::set_on_cluster(&db, "copying tags to snapshots") {
            return Ok(ticket);
        }
        Ok(Assessment::Changes(vec![Change::new(
            "rds:ModifyDBInstance",
            instance_arn(ctx, &db),
            json!({"DBInstanceIdentifier": name, "ApplyImmediately": true, "CopyTagsToSnapshot": true}),
            "snapshots of the instance do not get its tags (owner, data classification); only new snapshots are \
             affected",
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "rds:ModifyDBInstance" => rds_common::modify_instance(ctx, change).await,
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        rds_common::check_instance(ctx, |db| {
            let on = db.copy_tags_to_snapshot().unwrap_or(false);
            (on, format!("DB instance {}: CopyTagsToSnapshot={on}", ctx.target.name))
        })
        .await
    }
}
