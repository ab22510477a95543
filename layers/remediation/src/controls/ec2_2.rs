//! EC2.2 — VPC default security groups should not allow inbound or outbound traffic: revoke every
//! rule of the default group, but only while no network interface uses it.

use async_trait::async_trait;
use serde_json::json;
use std::collections::BTreeMap;

use super::ec2_common::{
    ec2_tags, find_security_group, group_id_of, group_rules, interfaces_using, revoke_rules, some_of,
};
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use secops_aws::AwsError;

pub struct Ec2_2;

static SPEC: Spec = Spec {
    control: "EC2.2",
    title: "VPC default security groups should not allow inbound or outbound traffic",
    change: "revokes every ingress and egress rule of the VPC's default security group while no network interface \
             uses it",
    resource_types: &["AwsEc2SecurityGroup"],
    actions: &[
        "ec2:DescribeTags",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSecurityGroupRules",
        "ec2:DescribeNetworkInterfaces",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupEgress",
    ],
    // Only an unused group is changed, so no traffic depends on its rules.
    disruptive: false,
    verification: "DescribeSecurityGroupRules returns no rule for the group",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Ec2_2 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        group_id_of(resource_id)
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        ec2_tags(ctx, &ctx.target.name).await.map(Some)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let id = &ctx.target.name;
        let Some(group) = find_security_group(ctx, id).await? else {
            return Ok(Assessment::Gone(format!("security group {id} does not exist")));
        };
        if group.group_name() != Some("default") {
            return Ok(Assessment::Ticket(format!(
                "EC2.2 applies to a VPC's default security group, but {id} is named {:?}; check the finding",
                group.group_name().unwrap_or_default()
            )));
        }
        let rules = group_rules(ctx, id).await?;
        if rules.is_empty() {
            return Ok(Assessment::Compliant(format!("the default security group {id} has no rules")));
        }
        let users = interfaces_using(ctx, id).await?;
        if !users.is_empty() {
            return Ok(Assessment::Ticket(format!(
                "the default security group {id} is used by network interfaces {}; removing its rules would cut their \
                 traffic. Move them to dedicated security groups, then the rules can be revoked",
                some_of(&users)
            )));
        }
        let ids = |egress: bool| -> Vec<String> {
            rules
                .iter()
                .filter(|r| r.is_egress() == Some(egress))
                .filter_map(|r| r.security_group_rule_id().map(str::to_owned))
                .collect()
        };
        let (ingress, egress) = (ids(false), ids(true));
        let mut changes = Vec::new();
        if !ingress.is_empty() {
            changes.push(Change::new(
                "ec2:RevokeSecurityGroupIngress",
                id.clone(),
                json!({ "GroupId": id, "SecurityGroupRuleIds": ingress }),
                format!("the default group must allow no inbound traffic; no network interface uses {id}"),
            ));
        }
        if !egress.is_empty() {
            changes.push(Change::new(
                "ec2:RevokeSecurityGroupEgress",
                id.clone(),
                json!({ "GroupId": id, "SecurityGroupRuleIds": egress }),
                format!("the default group must allow no outbound traffic; no network interface uses {id}"),
            ));
        }
        Ok(Assessment::Changes(changes))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "ec2:RevokeSecurityGroupIngress" => revoke_rules(ctx, change, false).await,
            "ec2:RevokeSecurityGroupEgress" => revoke_rules(ctx, change, true).await,
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let id = &ctx.target.name;
        let rules = group_rules(ctx, id).await?;
        let left: Vec<&str> = rules.iter().filter_map(|r| r.security_group_rule_id()).collect();
        Ok(if left.is_empty() {
            Check::Holds(format!("the default security group {id} has no rules"))
        } else {
            Check::Fails(format!("the default security group {id} still has rules {}", left.join(", ")))
        })
    }
}
