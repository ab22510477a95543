//! CloudTrail.5 — CloudTrail trails should be integrated with Amazon CloudWatch Logs: deliver the
//! trail to the log group `/secops/cloudtrail/<trail>` (365 days' retention) through the role
//! `SecOpsCloudTrailToLogs`, both created once and reused.

use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::{aws, has_code};
use secops_aws::AwsError;

use super::cloudtrail_common::{get_trail, trail_arn, trail_name_of, trail_tags};
use super::iam_common::execute_role_change;
use crate::policy_doc::{iam_document, trusts_service};
use crate::support::{too_many_pages, MAX_PAGES};

pub struct CloudTrail5;

pub(crate) const ROLE: &str = "SecOpsCloudTrailToLogs";
const RETENTION_DAYS: i32 = 365;

static SPEC: Spec = Spec {
    control: "CloudTrail.5",
    title: "CloudTrail trails should be integrated with Amazon CloudWatch Logs",
    change: "delivers the trail to the log group /secops/cloudtrail/<trail> (365 days' retention) through the role \
             SecOpsCloudTrailToLogs, which may only write to that group",
    resource_types: &["AwsCloudTrailTrail"],
    actions: &[
        "cloudtrail:GetTrail",
        "cloudtrail:ListTags",
        "cloudtrail:UpdateTrail",
        "logs:DescribeLogGroups",
        "logs:CreateLogGroup",
        "logs:PutRetentionPolicy",
        "iam:GetRole",
        "iam:CreateRole",
        "iam:GetRolePolicy",
        "iam:PutRolePolicy",
        "iam:PassRole",
    ],
    disruptive: false,
    verification: "GetTrail shows a CloudWatch Logs log group and role",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for CloudTrail5 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&Value>) -> Result<String, String> {
        trail_name_of(resource_id)
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        trail_tags(ctx).await.map(Some)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let name = &ctx.target.name;
        let trail = get_trail(ctx).await?;
        if let Some(group) = trail.cloud_watch_logs_log_group_arn().filter(|g| !g.is_empty()) {
            return Ok(Assessment::Compliant(format!("trail {name} already delivers to {group}")));
        }
        let p = &ctx.target.partition;
        let group = format!("/secops/cloudtrail/{name}");
        let group_arn = format!("arn:{p}:logs:{}:{}:log-group:{group}", ctx.region(), ctx.account());
        let mut changes = Vec::new();

        match log_group_retention(ctx, &group).await? {
            None => {
                changes.push(Change::new(
                    "logs:CreateLogGroup",
                    group_arn.clone(),
                    json!({"LogGroupName": group}),
                    "the trail's log group does not exist yet",
                ));
                changes.push(retention_change(&group, &group_arn, "a new log group keeps events forever by default"));
            }
            Some(Some(days)) if days < RETENTION_DAYS => changes.push(retention_change(
                &group,
                &group_arn,
                &format!("the log group keeps events only {days} days"),
            )),
            Some(_) => {}
        }

        let role_arn = match ctx.iam().get_role().role_name(ROLE).send().await {
            Ok(out) => {
                let Some(role) = out.role() else {
                    return Ok(Assessment::Ticket(format!("GetRole of {ROLE} returned no role; re-run later")));
                };
                let trusted = role
                    .assume_role_policy_document()
                    .and_then(iam_document)
                    .is_some_and(|t| trusts_service(&t, "cloudtrail.amazonaws.com"));
                if !trusted {
                    return Ok(Assessment::Ticket(format!(
                        "role {ROLE} exists but does not trust cloudtrail.amazonaws.com; someone else uses that name. \
                         Rename or fix it, then re-run"
                    )));
                }
                role.arn().to_owned()
            }
            // NoSuchEntity: the role is created below (the first trail that needs it).
            Err(e) if has_code(&e, &["NoSuchEntity"]) => {
                changes.push(Change::new(
                    "iam:CreateRole",
                    format!("arn:{p}:iam::{}:role/{ROLE}", ctx.account()),
                    json!({"RoleName": ROLE, "AssumeRolePolicyDocument": trust_policy(ctx).to_string()}),
                    "the role CloudTrail uses to write to CloudWatch Logs does not exist yet",
                ));
                format!("arn:{p}:iam::{}:role/{ROLE}", ctx.account())
            }
            Err(e) => return Err(aws("iam:GetRole")(e)),
        };

        let policy_name = format!("secops-cloudtrail-logs-{name}");
        let wanted = write_policy(&group_arn);
        let current = match ctx.iam().get_role_policy().role_name(ROLE).policy_name(&policy_name).send().await {
            Ok(out) => iam_document(out.policy_document()),
            Err(e) if has_code(&e, &["NoSuchEntity"]) => None,
            Err(e) => return Err(aws("iam:GetRolePolicy")(e)),
        };
        if current.as_ref() != Some(&wanted) {
            changes.push(Change::new(
                "iam:PutRolePolicy",
                role_arn.clone(),
                json!({"RoleName": ROLE, "PolicyName": policy_name, "PolicyDocument": wanted.to_string()}),
                format!("the role may write log streams and events to {group} only"),
            ));
        }

        changes.push(Change::new(
            "cloudtrail:UpdateTrail",
            trail_arn(ctx),
            json!({"Name": trail_arn(ctx), "CloudWatchLogsLogGroupArn": format!("{group_arn}:*"), "CloudWatchLogsRoleArn": role_arn}),
            format!("trail {name} is not integrated with CloudWatch Logs"),
        ));
        Ok(Assessment::Changes(changes))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        if let Some(done) =
            execute_role_change(ctx, change, "SecOps Autopilot: CloudTrail delivers trails to CloudWatch Logs").await
        {
            return done;
        }
        match change.action.as_str() {
            "logs:CreateLogGroup" => ctx
                .logs()
                .create_log_group()
                .log_group_name(change.text("LogGroupName")?)
                .send()
                .await
                .map(|_| ())
                .map_err(aws("logs:CreateLogGroup")),
            "logs:PutRetentionPolicy" => {
                #[derive(serde::Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct Retention {
                    log_group_name: String,
                    retention_in_days: i32,
                }
                let p: Retention = change.params()?;
                ctx.logs()
                    .put_retention_policy()
                    .log_group_name(p.log_group_name)
                    .retention_in_days(p.retention_in_days)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws("logs:PutRetentionPolicy"))
            }
            "cloudtrail:UpdateTrail" => update_trail(ctx, change).await,
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let trail = get_trail(ctx).await?;
        let group = trail.cloud_watch_logs_log_group_arn().unwrap_or_default();
        let role = trail.cloud_watch_logs_role_arn().unwrap_or_default();
        let text = format!("trail {}: log group {group:?}, role {role:?}", ctx.target.name);
        Ok(if !group.is_empty() && !role.is_empty() { Check::Holds(text) } else { Check::Fails(text) })
    }
}

fn retention_change(group: &str, group_arn: &str, why: &str) -> Change {
    Change::new(
        "logs:PutRetentionPolicy",
        group_arn,
        json!({"LogGroupName": group, "RetentionInDays": RETENTION_DAYS}),
        format!("{why}; keep {RETENTION_DAYS} days"),
    )
}

/// `None`: no such log group; `Some(retention)` otherwise (`Some(None)`: kept forever).
async fn log_group_retention(ctx: &Ctx, group: &str) -> Result<Option<Option<i32>>, AwsError> {
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let out = ctx
            .logs()
            .describe_log_groups()
            .log_group_name_prefix(group)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(aws("logs:DescribeLogGroups"))?;
        if let Some(g) = out.log_groups().iter().find(|g| g.log_group_name() == Some(group)) {
            return Ok(Some(g.retention_in_days()));
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(None),
        }
    }
    Err(too_many_pages("logs:DescribeLogGroups"))
}

fn trust_policy(ctx: &Ctx) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account()}}
        }]
    })
}

fn write_policy(group_arn: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "CloudTrailWritesItsLogGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": format!("{group_arn}:log-stream:*")
        }]
    })
}

/// UpdateTrail, retried a few times while a just-created role is not yet visible to CloudTrail
/// (IAM is eventually consistent; CloudTrail answers InvalidCloudWatchLogsRoleArnException).
async fn update_trail(ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
    const ATTEMPTS: u32 = 6;
    let mut attempt = 1;
    loop {
        let reply = ctx
            .cloudtrail()
            .update_trail()
            .name(change.text("Name")?)
            .cloud_watch_logs_log_group_arn(change.text("CloudWatchLogsLogGroupArn")?)
            .cloud_watch_logs_role_arn(change.text("CloudWatchLogsRoleArn")?)
            .send()
            .await;
        match reply {
            Ok(_) => return Ok(()),
            Err(e) if attempt < ATTEMPTS && has_code(&e, &["InvalidCloudWatchLogsRoleArnException"]) => {
                tokio::time::sleep(Duration::from_secs(5)).await;
                attempt += 1;
            }
            Err(e) => return Err(aws("cloudtrail:UpdateTrail")(e)),
        }
    }
}
