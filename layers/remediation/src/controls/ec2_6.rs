//! EC2.6 — VPC flow logging should be enabled in all VPCs: log rejected traffic of the VPC to the
//! CloudWatch Logs group `/secops/vpc-flow-logs/<vpc id>`, delivered by the role
//! `SecOpsVpcFlowLogs` (created once per account and reused).

use async_trait::async_trait;
use aws_sdk_ec2::types::{FlowLogsResourceType, LogDestinationType, TrafficType};
use serde_json::json;
use std::collections::BTreeMap;

use super::ec2_common::{ec2_tags, filter, next_token};
use super::iam_common::execute_role_change;
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::policy_doc::role_trusts;
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::{aws, has_code};
use crate::support::{too_many_pages, MAX_PAGES};
use crate::target::arn_resource_after;
use secops_aws::AwsError;
use secops_core::ErrorClass;

pub struct Ec2_6;

const ROLE: &str = "SecOpsVpcFlowLogs";
const ROLE_POLICY: &str = "SecOpsVpcFlowLogsDelivery";
const LOG_GROUP_PREFIX: &str = "/secops/vpc-flow-logs/";
const SERVICE: &str = "vpc-flow-logs.amazonaws.com";

static SPEC: Spec = Spec {
    control: "EC2.6",
    title: "VPC flow logging should be enabled in all VPCs",
    change: "creates a flow log of the VPC's rejected traffic to the CloudWatch Logs group \
             /secops/vpc-flow-logs/<vpc id>, delivered by the role SecOpsVpcFlowLogs (created once and reused)",
    resource_types: &["AwsEc2Vpc"],
    actions: &[
        "ec2:DescribeTags",
        "ec2:DescribeVpcs",
        "ec2:DescribeFlowLogs",
        "ec2:CreateFlowLogs",
        "iam:GetRole",
        "iam:GetRolePolicy",
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:PassRole",
    ],
    disruptive: false,
    verification: "DescribeFlowLogs shows an ACTIVE flow log for the VPC",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Ec2_6 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        arn_resource_after(resource_id, "vpc/", "vpc-")
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        ec2_tags(ctx, &ctx.target.name).await.map(Some)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let vpc = &ctx.target.name;
        // Fails with InvalidVpcID.NotFound (suppressed as gone) for a deleted VPC.
        ctx.ec2().describe_vpcs().vpc_ids(vpc).send().await.map_err(aws("ec2:DescribeVpcs"))?;
        if let Some(active) = active_flow_logs(ctx).await?.first() {
            return Ok(Assessment::Compliant(format!("VPC {vpc} has the active flow log {active}")));
        }
        let role_arn = format!("arn:{}:iam::{}:role/{ROLE}", ctx.target.partition, ctx.account());
        let mut changes = Vec::new();
        match ctx.iam().get_role().role_name(ROLE).send().await {
            Ok(out) => {
                if !role_trusts(out.role().and_then(|r| r.assume_role_policy_document()), SERVICE) {
                    return Ok(Assessment::Ticket(format!(
                        "role {ROLE} exists but does not trust {SERVICE}, so flow logs cannot use it; it was not \
                         created by this remediation: rename it or let it trust {SERVICE}"
                    )));
                }
                match ctx.iam().get_role_policy().role_name(ROLE).policy_name(ROLE_POLICY).send().await {
                    Ok(_) => {}
                    Err(e) if has_code(&e, &["NoSuchEntity"]) => changes.push(put_policy_change(ctx)),
                    Err(e) => return Err(aws("iam:GetRolePolicy")(e)),
                }
            }
            Err(e) if has_code(&e, &["NoSuchEntity"]) => {
                changes.push(Change::new(
                    "iam:CreateRole",
                    role_arn.clone(),
                    json!({
                        "RoleName": ROLE,
                        "AssumeRolePolicyDocument": trust_policy(ctx.account()).to_string(),
                        "Description": "Delivers VPC flow logs to CloudWatch Logs (SecOps Autopilot, EC2.6)",
                    }),
                    "the account has no flow-log delivery role yet; it is created once and reused by every VPC",
                ));
                changes.push(put_policy_change(ctx));
            }
            Err(e) => return Err(aws("iam:GetRole")(e)),
        }
        let log_group = format!("{LOG_GROUP_PREFIX}{vpc}");
        changes.push(Change::new(
            "ec2:CreateFlowLogs",
            vpc.clone(),
            json!({
                "VpcId": vpc,
                "TrafficType": "REJECT",
                "LogGroupName": log_group,
                "DeliverLogsPermissionArn": role_arn,
            }),
            format!("VPC {vpc} has no active flow log; rejected traffic is enough for the control and costs least"),
        ));
        Ok(Assessment::Changes(changes))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        if let Some(done) = execute_role_change(ctx, change, "SecOps Autopilot service role").await {
            return done;
        }
        match change.action.as_str() {
            "ec2:CreateFlowLogs" => {
                let out = ctx
                    .ec2()
                    .create_flow_logs()
                    .resource_type(FlowLogsResourceType::Vpc)
                    .resource_ids(change.text("VpcId")?)
                    .traffic_type(TrafficType::from(change.text("TrafficType")?))
                    .log_destination_type(LogDestinationType::CloudWatchLogs)
                    .log_group_name(change.text("LogGroupName")?)
                    .deliver_logs_permission_arn(change.text("DeliverLogsPermissionArn")?)
                    .send()
                    .await
                    .map_err(aws("ec2:CreateFlowLogs"))?;
                // CreateFlowLogs reports per-resource failures in its answer, not as an error.
                match out.unsuccessful().first() {
                    None => Ok(()),
                    Some(u) => {
                        let (code, message) = u
                            .error()
                            .map_or(("", ""), |e| (e.code().unwrap_or_default(), e.message().unwrap_or_default()));
                        Err(AwsError::new(
                            "ec2:CreateFlowLogs",
                            ErrorClass::Permanent,
                            format!("the flow log was not created: {code} {message}"),
                        ))
                    }
                }
            }
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let vpc = &ctx.target.name;
        Ok(match active_flow_logs(ctx).await?.first() {
            Some(id) => Check::Holds(format!("VPC {vpc} has the active flow log {id}")),
            None => Check::Fails(format!("VPC {vpc} has no active flow log")),
        })
    }
}

/// The ids of the VPC's ACTIVE flow logs (every page).
async fn active_flow_logs(ctx: &Ctx) -> Result<Vec<String>, AwsError> {
    let mut active = Vec::new();
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let out = ctx
            .ec2()
            .describe_flow_logs()
            .filter(filter("resource-id", &ctx.target.name))
            .set_next_token(token)
            .send()
            .await
            .map_err(aws("ec2:DescribeFlowLogs"))?;
        active.extend(
            out.flow_logs()
                .iter()
                .filter(|f| f.flow_log_status() == Some("ACTIVE"))
                .filter_map(|f| f.flow_log_id().map(str::to_owned)),
        );
        token = next_token(out.next_token());
        if token.is_none() {
            return Ok(active);
        }
    }
    Err(too_many_pages("ec2:DescribeFlowLogs"))
}

/// Only the flow-logs service, and only for this account (confused-deputy protection).
fn trust_policy(account: &str) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": SERVICE},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}}
        }]
    })
}

/// The role may write only to the flow-log groups of this remediation.
fn put_policy_change(ctx: &Ctx) -> Change {
    let groups = format!("arn:{}:logs:*:{}:log-group:{LOG_GROUP_PREFIX}*", ctx.target.partition, ctx.account());
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": [groups.clone(), format!("{groups}:log-stream:*")]
            },
            {
                // DescribeLogGroups lists groups and has no group-level resource.
                "Effect": "Allow",
                "Action": "logs:DescribeLogGroups",
                "Resource": "*"
            }
        ]
    });
    Change::new(
        "iam:PutRolePolicy",
        format!("arn:{}:iam::{}:role/{ROLE}", ctx.target.partition, ctx.account()),
        json!({ "RoleName": ROLE, "PolicyName": ROLE_POLICY, "PolicyDocument": policy.to_string() }),
        format!("lets the flow-logs service write to the log groups under {LOG_GROUP_PREFIX} only"),
    )
}
