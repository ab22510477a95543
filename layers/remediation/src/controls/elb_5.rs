//! ELB.5 — Application and Classic Load Balancers logging should be enabled: send the
//! application load balancer's access logs to the catalogue's log bucket under `elb/<name>`.

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{LoadBalancer, LoadBalancerAttribute, LoadBalancerTypeEnum};
use serde_json::{json, Value};
use std::collections::BTreeMap;

use crate::context::Ctx;
use crate::plan::{unplanned, Change};
use crate::spec::{Assessment, Check, Remediation, Spec, TestedWith};
use crate::support::aws;
use secops_aws::AwsError;
use secops_core::ErrorClass;

use super::s3_common::{execute_log_bucket, log_bucket_changes};

pub struct Elb5;

static SPEC: Spec = Spec {
    control: "ELB.5",
    title: "Application and Classic Load Balancers logging should be enabled",
    change: "turns on access logs of the application load balancer into the catalogue's log bucket (prefix \
             elb/<name>), creating the log bucket when missing",
    resource_types: &["AwsElbv2LoadBalancer"],
    actions: &[
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeTags",
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:ModifyLoadBalancerAttributes",
        "s3:ListBucket",
        "s3:CreateBucket",
        "s3:GetBucketOwnershipControls",
        "s3:PutBucketOwnershipControls",
        "s3:GetBucketPublicAccessBlock",
        "s3:PutBucketPublicAccessBlock",
        "s3:GetEncryptionConfiguration",
        "s3:PutEncryptionConfiguration",
        "s3:GetBucketVersioning",
        "s3:PutBucketVersioning",
        "s3:GetBucketPolicy",
        "s3:PutBucketPolicy",
    ],
    disruptive: false,
    verification: "DescribeLoadBalancerAttributes shows access_logs.s3.enabled true and a bucket",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

#[async_trait]
impl Remediation for Elb5 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    /// The load balancer's name (`arn:…:loadbalancer/app/<name>/<id>`); its ARN stays the id.
    fn name_of(&self, resource_id: &str, _details: Option<&Value>) -> Result<String, String> {
        if crate::target::Arn::parse(resource_id).is_none() {
            return Err("expected a load balancer ARN (arn:…:loadbalancer/<type>/<name>/<id>)".into());
        }
        let rest = crate::target::arn_resource_after(resource_id, "loadbalancer/", "")?;
        match rest.split('/').collect::<Vec<_>>().as_slice() {
            [_, name, id] if !name.is_empty() && !id.is_empty() => Ok((*name).to_owned()),
            _ => Err(format!("expected loadbalancer/<type>/<name>/<id>, got loadbalancer/{rest}")),
        }
    }

    async fn live_tags(&self, ctx: &Ctx) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        let out = ctx
            .elbv2()
            .describe_tags()
            .resource_arns(&ctx.target.resource_id)
            .send()
            .await
            .map_err(aws("elasticloadbalancing:DescribeTags"))?;
        Ok(Some(
            out.tag_descriptions()
                .iter()
                .flat_map(|d| d.tags())
                .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
                .collect(),
        ))
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        let name = &ctx.target.name;
        let lb = load_balancer(ctx).await?;
        if lb.r#type() != Some(&LoadBalancerTypeEnum::Application) {
            return Ok(Assessment::Ticket(format!(
                "load balancer {name} is a {} load balancer; ELB.5 is about application load balancers, and \
                 access logs of other types need their own setup (a TLS listener for network load balancers). \
                 Review the finding, or tag the load balancer secops:exempt=ELB.5",
                lb.r#type().map_or("unknown", |t| t.as_str())
            )));
        }
        let attrs = attributes(ctx).await?;
        if attrs.get("access_logs.s3.enabled").map(String::as_str) == Some("true") {
            return Ok(Assessment::Compliant(format!(
                "load balancer {name} already logs to {}",
                attrs.get("access_logs.s3.bucket").map_or("", String::as_str)
            )));
        }
        let mut changes = log_bucket_changes(ctx).await?;
        changes.push(Change::new(
            "elasticloadbalancing:ModifyLoadBalancerAttributes",
            ctx.target.resource_id.clone(),
            json!({
                "LoadBalancerArn": ctx.target.resource_id,
                "Attributes": {
                    "access_logs.s3.enabled": "true",
                    "access_logs.s3.bucket": ctx.log_bucket(),
                    "access_logs.s3.prefix": format!("elb/{name}"),
                }
            }),
            format!("load balancer {name} has access logs off"),
        ));
        Ok(Assessment::Changes(changes))
    }

    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        if let Some(done) = execute_log_bucket(ctx, change).await {
            return done;
        }
        match change.action.as_str() {
            "elasticloadbalancing:ModifyLoadBalancerAttributes" => {
                #[derive(serde::Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct Params {
                    load_balancer_arn: String,
                    attributes: BTreeMap<String, String>,
                }
                let p: Params = change.params()?;
                let attributes =
                    p.attributes.into_iter().map(|(k, v)| LoadBalancerAttribute::builder().key(k).value(v).build());
                ctx.elbv2()
                    .modify_load_balancer_attributes()
                    .load_balancer_arn(p.load_balancer_arn)
                    .set_attributes(Some(attributes.collect()))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(aws("elasticloadbalancing:ModifyLoadBalancerAttributes"))
            }
            _ => Err(unplanned(change)),
        }
    }

    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        let attrs = attributes(ctx).await?;
        let enabled = attrs.get("access_logs.s3.enabled").map(String::as_str) == Some("true");
        let bucket = attrs.get("access_logs.s3.bucket").cloned().unwrap_or_default();
        let text = format!("access_logs.s3.enabled={enabled}, bucket {bucket:?}");
        Ok(if enabled && !bucket.is_empty() { Check::Holds(text) } else { Check::Fails(text) })
    }
}

/// The finding's load balancer. A missing one is `LoadBalancerNotFound`, which the runner
/// suppresses.
async fn load_balancer(ctx: &Ctx) -> Result<LoadBalancer, AwsError> {
    let out = ctx
        .elbv2()
        .describe_load_balancers()
        .load_balancer_arns(&ctx.target.resource_id)
        .send()
        .await
        .map_err(aws("elasticloadbalancing:DescribeLoadBalancers"))?;
    out.load_balancers().first().cloned().ok_or_else(|| {
        AwsError::new(
            "elasticloadbalancing:DescribeLoadBalancers",
            ErrorClass::Permanent,
            format!("DescribeLoadBalancers of {} returned no load balancer", ctx.target.resource_id),
        )
    })
}

async fn attributes(ctx: &Ctx) -> Result<BTreeMap<String, String>, AwsError> {
    let out = ctx
        .elbv2()
        .describe_load_balancer_attributes()
        .load_balancer_arn(&ctx.target.resource_id)
        .send()
        .await
        .map_err(aws("elasticloadbalancing:DescribeLoadBalancerAttributes"))?;
    Ok(out
        .attributes()
        .iter()
        .filter_map(|a| Some((a.key()?.to_owned(), a.value().unwrap_or_default().to_owned())))
        .collect())
}
