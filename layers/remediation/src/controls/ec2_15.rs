//! EC2.15 — EC2 subnets should not automatically assign public IP addresses: turn off
//! MapPublicIpOnLaunch on the subnet.

use async_trait::async_trait;
use aws_sdk_ec2::types::AttributeBooleanValue;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

use super::ec2_common::ec2_tags;
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use crate::target::arn_resource_after;
use secops_aws::AwsError;

pub struct Ec2_15;

static SPEC: Spec = Spec {
    control: "EC2.15",
    title: "EC2 subnets should not automatically assign public IP addresses",
    change: "sets the subnet's MapPublicIpOnLaunch to false (instances already running keep their addresses)",
    resource_types: &["AwsEc2Subnet"],
    actions: &["ec2:DescribeTags", "ec2:DescribeSubnets", "ec2:ModifySubnetAttribute"],
    // Instances launched later get no public address unless they ask for one.
    disruptive: true,
    verification: "DescribeSubnets shows MapPublicIpOnLaunch=false",
    exemption_tags: &["secops:ec2:public-subnet-intended"],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Ec2_15 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        arn_resource_after(resource_id, "subnet/", "subnet-")
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        ec2_tags(ctx, &ctx.target.name).await.map(Some)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let id = &ctx.target.name;
        if !maps_public_ip(ctx).await? {
            return Ok(Assessment::Compliant(format!("subnet {id} does not assign public IPv4 addresses")));
        }
        Ok(Assessment::Changes(vec![Change::new(
            "ec2:ModifySubnetAttribute",
            id.clone(),
            json!({ "SubnetId": id, "MapPublicIpOnLaunch": false }),
            format!(
                "instances launched in {id} get a public IPv4 address by default; launches that need one must ask \
                 for it (AssociatePublicIpAddress) from now on"
            ),
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "ec2:ModifySubnetAttribute" => {
                let p: Modify = change.params()?;
                ctx.ec2()
                    .modify_subnet_attribute()
                    .subnet_id(p.subnet_id)
                    .map_public_ip_on_launch(AttributeBooleanValue::builder().value(p.map_public_ip_on_launch).build())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws("ec2:ModifySubnetAttribute"))
            }
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let on = maps_public_ip(ctx).await?;
        let text = format!("subnet {}: MapPublicIpOnLaunch={on}", ctx.target.name);
        Ok(if on { Check::Fails(text) } else { Check::Holds(text) })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Modify {
    subnet_id: String,
    map_public_ip_on_launch: bool,
}

async fn maps_public_ip(ctx: &Ctx) -> Result<bool, AwsError> {
    let out =
        ctx.ec2().describe_subnets().subnet_ids(&ctx.target.name).send().await.map_err(aws("ec2:DescribeSubnets"))?;
    Ok(out.subnets().iter().any(|s| s.map_public_ip_on_launch() == Some(true)))
}
