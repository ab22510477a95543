//! ELB.4 — Application Load Balancers should be configured to drop invalid HTTP headers: turn on
//! routing.http.drop_invalid_header_fields.enabled.

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::LoadBalancerAttribute;
use serde_json::json;
use std::collections::BTreeMap;

use super::elb_common::{alb_arn_of, find_load_balancer, lb_tags};
use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use secops_aws::AwsError;

pub struct Elb4;

const KEY: &str = "routing.http.drop_invalid_header_fields.enabled";

static SPEC: Spec = Spec {
    control: "ELB.4",
    title: "Application Load Balancers should be configured to drop invalid HTTP headers",
    change: "sets the load balancer attribute routing.http.drop_invalid_header_fields.enabled to true",
    resource_types: &["AwsElbv2LoadBalancer"],
    actions: &[
        "elasticloadbalancing:DescribeTags",
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:ModifyLoadBalancerAttributes",
    ],
    disruptive: false,
    verification: "DescribeLoadBalancerAttributes shows routing.http.drop_invalid_header_fields.enabled=true",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Elb4 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn name_of(&self, resource_id: &str, _details: Option<&serde_json::Value>) -> Result<String, String> {
        alb_arn_of(resource_id)
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        lb_tags(ctx).await.map(Some)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let arn = &ctx.target.name;
        let Some(lb) = find_load_balancer(ctx).await? else {
            return Ok(Assessment::Gone(format!("load balancer {arn} does not exist")));
        };
        let name = lb.load_balancer_name().unwrap_or_default();
        let value = drop_invalid(ctx).await?;
        if value == "true" {
            return Ok(Assessment::Compliant(format!("load balancer {name} drops invalid header fields")));
        }
        Ok(Assessment::Changes(vec![Change::new(
            "elasticloadbalancing:ModifyLoadBalancerAttributes",
            arn.clone(),
            json!({ "LoadBalancerArn": arn, "Key": KEY, "Value": "true" }),
            format!("{KEY} is {value} on {name}: requests with invalid header names are passed to the targets"),
        )]))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        match change.action.as_str() {
            "elasticloadbalancing:ModifyLoadBalancerAttributes" => ctx
                .elbv2()
                .modify_load_balancer_attributes()
                .load_balancer_arn(change.text("LoadBalancerArn")?)
                .attributes(
                    LoadBalancerAttribute::builder().key(change.text("Key")?).value(change.text("Value")?).build(),
                )
                .send()
                .await
                .map(|_| ())
                .map_err(aws("elasticloadbalancing:ModifyLoadBalancerAttributes")),
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let value = drop_invalid(ctx).await?;
        let text = format!("{KEY}={value}");
        Ok(if value == "true" { Check::Holds(text) } else { Check::Fails(text) })
    }
}

/// The attribute's value (`false` when the load balancer does not list it).
async fn drop_invalid(ctx: &Ctx) -> Result<String, AwsError> {
    let out = ctx
        .elbv2()
        .describe_load_balancer_attributes()
        .load_balancer_arn(&ctx.target.name)
        .send()
        .await
        .map_err(aws("elasticloadbalancing:DescribeLoadBalancerAttributes"))?;
    Ok(out
        .attributes()
        .iter()
        .find(|a| a.key() == Some(KEY))
        .and_then(|a| a.value())
        .unwrap_or("false")
        .to_ascii_lowercase())
}
