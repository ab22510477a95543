//! Application, network and gateway load balancers (`elasticloadbalancing:DescribeLoadBalancers`,
//! v2) and their listeners, fetched per load balancer.

use crate::collector::{AwsCollector, AwsScope, AwsTarget, RecordSink};
use crate::error::Result;
use crate::schema::*;
use crate::sources::aws::{each_page, emit};

pub static COLLECTOR: AwsCollector = AwsCollector {
    name: "elbv2",
    scope: AwsScope::Regional,
    tables: &[&LOAD_BALANCERS, &LISTENERS],
    actions: &["elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeListeners"],
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
