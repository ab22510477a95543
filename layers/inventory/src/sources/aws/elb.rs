//! Application, network and gateway load balancers (`elasticloadbalancing:DescribeLoadBalancers`,
//! v2), their listeners (fetched per load balancer), target groups and the targets registered in
//! each (`DescribeTargetHealth`, per target group), which is what a listener forwards to.

use crate::collector::{AwsCollector, AwsScope, AwsTarget, RecordSink};
use crate::error::Result;
use crate::schema::*;
use crate::sources::aws::{each_page, emit};

pub static COLLECTOR: AwsCollector = AwsCollector {
    name: "elbv2",
    scope: AwsScope::Regional,
    tables: &[&LOAD_BALANCERS, &LISTENERS, &TARGET_GROUPS, &TARGET_HEALTH],
    actions: &[
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetHealth",
    ],
    fetch: |target, out| Box::pin(fetch(target, out)),
};

async fn fetch(target: &AwsTarget, out: &mut dyn RecordSink) -> Result<()> {
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&target.sdk);
    let mut arns = Vec::new();
    let load_balancers = elb.describe_load_balancers().into_paginator().send();
    each_page!(load_balancers, "elasticloadbalancing:DescribeLoadBalancers", |page| {
        arns.extend(page.load_balancers().iter().filter_map(|lb| lb.load_balancer_arn().map(str::to_owned)));
        emit(out, &LOAD_BALANCERS, None, &page).await?;
    });
    for arn in &arns {
        let listeners = elb.describe_listeners().load_balancer_arn(arn).into_paginator().send();
        each_page!(listeners, "elasticloadbalancing:DescribeListeners", |page| {
            emit(out, &LISTENERS, Some(arn), &page).await?;
        });
    }
    let mut groups = Vec::new();
    let target_groups = elb.describe_target_groups().into_paginator().send();
    each_page!(target_groups, "elasticloadbalancing:DescribeTargetGroups", |page| {
        groups.extend(page.target_groups().iter().filter_map(|g| g.target_group_arn().map(str::to_owned)));
        emit(out, &TARGET_GROUPS, None, &page).await?;
    });
    for arn in &groups {
        // One call per group: DescribeTargetHealth has no pagination.
        let health = elb
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(|e| secops_aws::AwsError::from_sdk("elasticloadbalancing:DescribeTargetHealth", e))?;
        emit(out, &TARGET_HEALTH, Some(arn), &health).await?;
    }
    Ok(())
}

pub static LOAD_BALANCERS: Table = Table {
    name: "elb_load_balancers",
    file: "elbv2.describe-load-balancers",
    records: "/LoadBalancers/*",
    parent: None,
    key: &["load_balancer_arn"],
    placement: Placement::Target,
    columns: &[
        text("load_balancer_arn", "/LoadBalancerArn"),
        text("name", "/LoadBalancerName"),
        text("type", "/Type"),
        text("scheme", "/Scheme"),
        text("vpc_id", "/VpcId"),
        text("dns_name", "/DNSName"),
        text("state", "/State/Code"),
        all("security_group_ids", "/SecurityGroups/*"),
        all("subnet_ids", "/AvailabilityZones/*/SubnetId"),
    ],
};

pub static LISTENERS: Table = Table {
    name: "elb_listeners",
    file: "elbv2.describe-listeners",
    records: "/Listeners/*",
    parent: Some("load_balancer_arn"),
    key: &["listener_arn"],
    placement: Placement::Target,
    columns: &[
        parent("load_balancer_arn"),
        text("listener_arn", "/ListenerArn"),
        int("port", "/Port"),
        text("protocol", "/Protocol"),
        text("ssl_policy", "/SslPolicy"),
        all("target_group_arns", "/DefaultActions/*/TargetGroupArn"),
    ],
};

pub static TARGET_GROUPS: Table = Table {
    name: "elb_target_groups",
    file: "elbv2.describe-target-groups",
    records: "/TargetGroups/*",
    parent: None,
    key: &["target_group_arn"],
    placement: Placement::Target,
    columns: &[
        text("target_group_arn", "/TargetGroupArn"),
        text("name", "/TargetGroupName"),
        text("protocol", "/Protocol"),
        int("port", "/Port"),
        text("vpc_id", "/VpcId"),
        text("target_type", "/TargetType"),
        all("load_balancer_arns", "/LoadBalancerArns/*"),
    ],
};

/// One row per registered target of a target group (the parent), with its health.
pub static TARGET_HEALTH: Table = Table {
    name: "elb_target_health",
    file: "elbv2.describe-target-health",
    records: "/TargetHealthDescriptions/*",
    parent: Some("target_group_arn"),
    key: &["target_group_arn", "target_id", "port"],
    placement: Placement::Target,
    columns: &[
        parent("target_group_arn"),
        text("target_id", "/Target/Id"),
        int("port", "/Target/Port"),
        text("availability_zone", "/Target/AvailabilityZone"),
        text("state", "/TargetHealth/State"),
        text("reason", "/TargetHealth/Reason"),
    ],
};
