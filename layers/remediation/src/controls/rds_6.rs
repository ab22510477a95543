//! RDS.6 — Enhanced monitoring should be configured for RDS DB instances: turn it on every 60
//! seconds with the account's `rds-monitoring-role`, created (with AWS's managed policy) only when
//! it does not exist yet.

use async_trait::async_trait;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

use super::iam_common::execute_role_change;
use super::rds_common::{self, available_instance, instance_arn};
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::policy_doc::role_trusts;
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::{aws, has_code};
use secops_aws::AwsError;
use secops_core::ErrorClass;

pub struct Rds6;

/// The role RDS's console creates for enhanced monitoring; reusing its name reuses that role.
const ROLE: &str = "rds-monitoring-role";
const SERVICE: &str = "monitoring.rds.amazonaws.com";
const INTERVAL: i32 = 60;
/// A role created moments ago may not be usable by RDS yet (IAM is eventually consistent).
const ROLE_WAIT_ATTEMPTS: u32 = 6;
const ROLE_WAIT: Duration = Duration::from_secs(5);

static SPEC: Spec = Spec {
    control: "RDS.6",
    title: "Enhanced monitoring should be configured for RDS DB instances",
    change: "turns on enhanced monitoring every 60 seconds with the IAM role rds-monitoring-role (created with \
             AmazonRDSEnhancedMonitoringRole when absent)",
    resource_types: &["AwsRdsDbInstance"],
    actions: &[
        "rds:DescribeDBInstances",
        "iam:GetRole",
        "iam:ListAttachedRolePolicies",
        "iam:CreateRole",
        "iam:AttachRolePolicy",
        "iam:PassRole",
        "rds:ModifyDBInstance",
    ],
    disruptive: false,
    verification: "DescribeDBInstances shows MonitoringInterval > 0 and a MonitoringRoleArn",
    exemption_tags: &[],
    // IAM runs against wiremock: moto has no AmazonRDSEnhancedMonitoringRole to attach.
    tested_with: TestedWith::Wiremock,
};

#[async_trait]
impl Remediation for Rds6 {
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
        let interval = db.monitoring_interval().unwrap_or(0);
        if interval > 0 && db.monitoring_role_arn().is_some_and(|a| !a.is_empty()) {
            return Ok(Assessment::Compliant(format!(
                "DB instance {name} sends enhanced monitoring every {interval} s"
            )));
        }
        let policy = managed_policy(ctx);
        let mut changes = Vec::new();
        let role_arn = match role(ctx).await? {
            None => {
                changes.push(Change::new(
                    "iam:CreateRole",
                    format!("arn:{}:iam::{}:role/{ROLE}", ctx.target.partition, ctx.account()),
                    json!({
                        "RoleName": ROLE,
                        "AssumeRolePolicyDocument": trust_policy().to_string(),
                        "Description": "Lets RDS publish enhanced monitoring metrics to CloudWatch Logs",
                    }),
                    "the account has no rds-monitoring-role yet; RDS needs a role to publish the metrics",
                ));
                changes.push(attach(ROLE, &policy));
                format!("arn:{}:iam::{}:role/{ROLE}", ctx.target.partition, ctx.account())
            }
            Some((arn, trust)) => {
                // Another trust policy means the role was made for something else: do not repurpose it.
                if !role_trusts(Some(&trust), SERVICE) {
                    return Ok(Assessment::Ticket(format!(
                        "the IAM role {ROLE} exists but does not trust {SERVICE}; fix its trust policy (or remove \
                         it) so RDS can use it, then enhanced monitoring can be turned on"
                    )));
                }
                if !attached(ctx, &policy).await? {
                    changes.push(attach(ROLE, &policy));
                }
                arn
            }
        };
        // A shorter interval someone chose (1, 5, 10, 15 or 30 s) is finer than 60 and kept.
        let interval = if interval > 0 { interval } else { INTERVAL };
        changes.push(Change::new(
            "rds:ModifyDBInstance",
            instance_arn(ctx, &db),
            json!({
                "DBInstanceIdentifier": name,
                "ApplyImmediately": true,
                "MonitoringInterval": interval,
                "MonitoringRoleArn": role_arn,
            }),
            format!("enhanced monitoring is off; every {interval} s with {ROLE} gives OS-level metrics"),
        ));
        Ok(Assessment::Changes(changes))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        if let Some(done) = execute_role_change(ctx, change, "SecOps Autopilot service role").await {
            return done;
        }
        match change.action.as_str() {
            "rds:ModifyDBInstance" => modify_when_role_is_usable(ctx, change).await,
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        rds_common::check_instance(ctx, |db| {
            let interval = db.monitoring_interval().unwrap_or(0);
            let role = db.monitoring_role_arn().unwrap_or_default();
            (
                interval > 0 && !role.is_empty(),
                format!("DB instance {}: MonitoringInterval={interval}, MonitoringRoleArn={role:?}", ctx.target.name),
            )
        })
        .await
    }
}

fn managed_policy(ctx: &Ctx) -> String {
    format!("arn:{}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole", ctx.target.partition)
}

fn trust_policy() -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": SERVICE}, "Action": "sts:AssumeRole"}],
    })
}

fn attach(role: &str, policy: &str) -> Change {
    Change::new(
        "iam:AttachRolePolicy",
        policy.to_owned(),
        json!({"RoleName": role, "PolicyArn": policy}),
        format!("{role} needs AWS's managed policy to publish the metrics"),
    )
}

/// The monitoring role's ARN and trust policy (URL-encoded, as IAM returns it), or `None` when it does not exist.
async fn role(ctx: &Ctx) -> Result<Option<(String, String)>, AwsError> {
    match ctx.iam().get_role().role_name(ROLE).send().await {
        Ok(out) => {
            Ok(out.role().map(|r| (r.arn().to_owned(), r.assume_role_policy_document().unwrap_or_default().to_owned())))
        }
        Err(e) if has_code(&e, &["NoSuchEntity"]) => Ok(None),
        Err(e) => Err(aws("iam:GetRole")(e)),
    }
}

/// Whether the monitoring role has `policy` attached (every page read).
async fn attached(ctx: &Ctx, policy: &str) -> Result<bool, AwsError> {
    let mut marker: Option<String> = None;
    for _ in 0..crate::support::MAX_PAGES {
        let out = ctx
            .iam()
            .list_attached_role_policies()
            .role_name(ROLE)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(aws("iam:ListAttachedRolePolicies"))?;
        if out.attached_policies().iter().any(|p| p.policy_arn() == Some(policy)) {
            return Ok(true);
        }
        match out.marker() {
            Some(m) if out.is_truncated() => marker = Some(m.to_owned()),
            _ => return Ok(false),
        }
    }
    Err(crate::support::too_many_pages("iam:ListAttachedRolePolicies"))
}

/// ModifyDBInstance, retried a few times while RDS still rejects a role created moments ago.
async fn modify_when_role_is_usable(ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
    let mut attempt = 1;
    loop {
        match rds_common::modify_instance(ctx, change).await {
            Err(e)
                if attempt < ROLE_WAIT_ATTEMPTS
                    && e.class == ErrorClass::Permanent
                    && e.code.as_deref() == Some("InvalidParameterCombination")
                    && e.message.contains("ENHANCED_MONITORING") =>
            {
                attempt += 1;
                tokio::time::sleep(ROLE_WAIT).await;
            }
            other => return other,
        }
    }
}
