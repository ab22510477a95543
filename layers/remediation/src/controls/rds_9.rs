//! RDS.9 — RDS DB instances should publish logs to CloudWatch Logs: enable the export of every
//! log type the engine has that is not exported yet.

use async_trait::async_trait;
use serde_json::json;
use std::collections::BTreeMap;

use super::rds_common::{self, available_instance, instance_arn, log_types};
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use secops_aws::AwsError;

pub struct Rds9;

static SPEC: Spec = Spec {
    control: "RDS.9",
    title: "RDS DB instances should publish logs to CloudWatch Logs",
    change: "enables the export to CloudWatch Logs of the engine's log types that are not exported yet (already \
             exported types are kept)",
    resource_types: &["AwsRdsDbInstance"],
    actions: &["rds:DescribeDBInstances", "rds:ModifyDBInstance"],
    disruptive: false,
    verification: "DescribeDBInstances lists every log type of the engine in EnabledCloudwatchLogsExports",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Rds9 {
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
        let engine = db.engine().unwrap_or_default();
        let Some(wanted) = log_types(engine) else {
            return Ok(Assessment::Ticket(format!(
                "DB instance {name} runs engine {engine:?}, for which the catalogue knows no log types to publish \
                 (Aurora publishes logs from the cluster); choose the log types and enable their export by hand"
            )));
        };
        let missing = missing(wanted, db.enabled_cloudwatch_logs_exports());
        if missing.is_empty() {
            return Ok(Assessment::Compliant(format!(
                "DB instance {name} publishes {} to CloudWatch Logs",
                wanted.join(", ")
            )));
        }
        Ok(Assessment::Changes(vec![Change::new(
            "rds:ModifyDBInstance",
            instance_arn(ctx, &db),
            json!({
                "DBInstanceIdentifier": name,
                "ApplyImmediately": true,
                "CloudwatchLogsExportConfiguration": {"EnableLogTypes": missing},
            }),
            format!(
                "engine {engine} does not publish {} yet (now: {}); the types already exported stay",
                missing.join(", "),
                listed(db.enabled_cloudwatch_logs_exports())
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
            let enabled = db.enabled_cloudwatch_logs_exports();
            let holds = log_types(db.engine().unwrap_or_default()).is_some_and(|w| missing(w, enabled).is_empty());
            (holds, format!("DB instance {}: EnabledCloudwatchLogsExports={}", ctx.target.name, listed(enabled)))
        })
        .await
    }
}

/// The wanted log types not yet enabled, in the engine's order.
fn missing(wanted: &[&str], enabled: &[String]) -> Vec<String> {
    wanted.iter().filter(|w| !enabled.iter().any(|e| e == *w)).map(|w| (*w).to_owned()).collect()
}

fn listed(types: &[String]) -> String {
    if types.is_empty() {
        "none".into()
    } else {
        types.join(", ")
    }
}
