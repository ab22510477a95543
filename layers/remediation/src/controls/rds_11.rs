//! RDS.11 — RDS instances should have automatic backups enabled: keep automated backups for at least 7 days.

use async_trait::async_trait;
use serde_json::json;
use std::collections::BTreeMap;

use super::rds_common::{self, available_instance, instance_arn};
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use secops_aws::AwsError;

pub struct Rds11;

/// The control's minimum retention, in days.
const MIN_DAYS: i32 = 7;

static SPEC: Spec = Spec {
    control: "RDS.11",
    title: "RDS instances should have automatic backups enabled",
    change: "raises BackupRetentionPeriod of the DB instance to 7 days when it is shorter (a longer period is kept)",
    resource_types: &["AwsRdsDbInstance"],
    actions: &["rds:DescribeDBInstances", "rds:ModifyDBInstance"],
    disruptive: true,
    verification: "DescribeDBInstances shows BackupRetentionPeriod of at least 7",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Rds11 {
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
        let days = db.backup_retention_period().unwrap_or(0);
        if days >= MIN_DAYS {
            return Ok(Assessment::Compliant(format!("DB instance {name} keeps automated backups for {days} days")));
        }
        if let Some(ticket) = rds_common::set_on_cluster(&db, "the backup retention period") {
            return Ok(ticket);
        }
        Ok(Assessment::Changes(vec![Change::new(
            "rds:ModifyDBInstance",
            instance_arn(ctx, &db),
            json!({"DBInstanceIdentifier": name, "ApplyImmediately": true, "BackupRetentionPeriod": MIN_DAYS}),
            format!(
                "automated backups are kept for {days} days; 7 is the control's minimum (turning backups on from 0 \
                 briefly suspends I/O while the first backup starts)"
            ),
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
            let days = db.backup_retention_period().unwrap_or(0);
            (days >= MIN_DAYS, format!("DB instance {}: BackupRetentionPeriod={days}", ctx.target.name))
        })
        .await
    }
}
