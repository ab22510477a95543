//! RDS.13 — RDS automatic minor version upgrades should be enabled: turn automatic minor version upgrades on.

use async_trait::async_trait;
use serde_json::json;
use std::collections::BTreeMap;

use super::rds_common::{self, available_instance, instance_arn};
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use secops_aws::AwsError;

pub struct Rds13;

static SPEC: Spec = Spec {
    control: "RDS.13",
    title: "RDS automatic minor version upgrades should be enabled",
    change: "sets AutoMinorVersionUpgrade=true on the DB instance",
    resource_types: &["AwsRdsDbInstance"],
    actions: &["rds:DescribeDBInstances", "rds:ModifyDBInstance"],
    disruptive: false,
    verification: "DescribeDBInstances shows AutoMinorVersionUpgrade=true",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Rds13 {
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
        if db.auto_minor_version_upgrade() == Some(true) {
            return Ok(Assessment::Compliant(format!("DB instance {name} upgrades minor versions automatically")));
        }
        Ok(Assessment::Changes(vec![Change::new(
            "rds:ModifyDBInstance",
            instance_arn(ctx, &db),
            json!({"DBInstanceIdentifier": name, "ApplyImmediately": true, "AutoMinorVersionUpgrade": true}),
            "minor version upgrades are off; turned on, they are applied in the instance's maintenance window, not now",
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
            let on = db.auto_minor_version_upgrade().unwrap_or(false);
            (on, format!("DB instance {}: AutoMinorVersionUpgrade={on}", ctx.target.name))
        })
        .await
    }
}
