//! EC2.14 — EC2 security groups should not allow ingress from 0.0.0.0/0 or ::/0 to port 3389: revoke
//! the world-open rules covering port 3389 and re-authorize the rest of each rule's range.

use async_trait::async_trait;
use std::collections::BTreeMap;

use super::ec2_common::{
    authorize_openings, ec2_tags, group_id_of, plan_world_ports, revoke_rules, verify_world_ports,
};
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use secops_aws::AwsError;

pub struct Ec2_14;

const PORTS: &[i32] = &[3389];
const WHAT: &str = "port 3389";

static SPEC: Spec = Spec {
    control: "EC2.14",
    title: "EC2 security groups should not allow ingress from 0.0.0.0/0 or ::/0 to port 3389",
    change:
        "revokes the security group's ingress rules that open port 3389 to 0.0.0.0/0 or ::/0 and re-authorizes the \
             rest of each such rule's port range for the same source",
    resource_types: &["AwsEc2SecurityGroup"],
    actions: &[
        "ec2:DescribeTags",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSecurityGroupRules",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupIngress",
    ],
    disruptive: true,
    verification: "DescribeSecurityGroupRules shows no ingress rule from 0.0.0.0/0 or ::/0 covering port 3389",
    exemption_tags: &["secops:ec2:public-rdp-intended"],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Ec2_14 {
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
        plan_world_ports(ctx, PORTS, WHAT).await
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "ec2:AuthorizeSecurityGroupIngress" => authorize_openings(ctx, change).await,
            "ec2:RevokeSecurityGroupIngress" => revoke_rules(ctx, change, false).await,
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        verify_world_ports(ctx, PORTS, WHAT).await
    }
}
