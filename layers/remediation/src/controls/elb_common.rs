//! What ELB.1 and ELB.4 share: the Application Load Balancer's ARN from the finding, its tags, and
//! whether it still exists.

use aws_sdk_elasticloadbalancingv2::types::LoadBalancer;
use std::collections::BTreeMap;

use crate::context::Ctx;
use crate::support::{aws, has_code};
use crate::target::Arn;
use secops_aws::AwsError;

/// The ARN of an Application Load Balancer (the ELBv2 APIs take the ARN, not the name).
pub(crate) fn alb_arn_of(resource_id: &str) -> Result<String, String> {
    let arn = Arn::parse(resource_id).ok_or("expected a load balancer ARN (arn:…:loadbalancer/app/<name>/<id>)")?;
    if arn.service != "elasticloadbalancing" || !arn.resource.starts_with("loadbalancer/app/") {
        return Err(format!(
            "expected an Application Load Balancer ARN (resource loadbalancer/app/<name>/<id>), got {:?}",
            arn.resource
        ));
    }
    Ok(resource_id.to_owned())
}

/// The load balancer's tags.
pub(crate) async fn lb_tags(ctx: &Ctx) -> Result<BTreeMap<String, String>, AwsError> {
    let out = ctx
        .elbv2()
        .describe_tags()
        .resource_arns(&ctx.target.name)
        .send()
        .await
        .map_err(aws("elasticloadbalancing:DescribeTags"))?;
    Ok(out
        .tag_descriptions()
        .iter()
        .flat_map(|d| d.tags())
        .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
        .collect())
}

/// The load balancer, or `None` when it no longer exists.
pub(crate) async fn find_load_balancer(ctx: &Ctx) -> Result<Option<LoadBalancer>, AwsError> {
    match ctx.elbv2().describe_load_balancers().load_balancer_arns(&ctx.target.name).send().await {
        Ok(out) => Ok(out.load_balancers().first().cloned()),
        Err(e) if has_code(&e, &["LoadBalancerNotFound"]) => Ok(None),
        Err(e) => Err(aws("elasticloadbalancing:DescribeLoadBalancers")(e)),
    }
}
