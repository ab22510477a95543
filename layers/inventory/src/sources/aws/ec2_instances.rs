//! EC2 instances and their network interfaces (`ec2:DescribeInstances`,
//! `ec2:DescribeNetworkInterfaces`), one region at a time.

use crate::collector::{AwsCollector, AwsScope, AwsTarget, RecordSink};
use crate::error::Result;
use crate::schema::*;
use crate::sources::aws::{each_page, emit};

pub static COLLECTOR: AwsCollector = AwsCollector {
    name: "ec2.instances",
    scope: AwsScope::Regional,
    tables: &[&INSTANCES, &NETWORK_INTERFACES],
    actions: &["ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces"],
    fetch: |target, out| Box::pin(fetch(target, out)),
};

async fn fetch(target: &AwsTarget, out: &mut dyn RecordSink) -> Result<()> {
    let ec2 = aws_sdk_ec2::Client::new(&target.sdk);
    each_page!(ec2.describe_instances().into_paginator().send(), "ec2:DescribeInstances", |page| {
        emit(out, &INSTANCES, None, &page).await?;
    });
    each_page!(ec2.describe_network_interfaces().into_paginator().send(), "ec2:DescribeNetworkInterfaces", |page| {
        emit(out, &NETWORK_INTERFACES, None, &page).await?;
    });
    Ok(())
}

pub static INSTANCES: Table = Table {
    name: "ec2_instances",
    file: "ec2.describe-instances",
    records: "/Reservations/*/Instances/*",
    parent: None,
    key: &["instance_id"],
    placement: Placement::Target,
    columns: &[
        text("instance_id", "/InstanceId"),
        text("instance_type", "/InstanceType"),
        text("state", "/State/Name"),
        ip("private_ip", "/PrivateIpAddress"),
        ip("public_ip", "/PublicIpAddress"),
        text("vpc_id", "/VpcId"),
        text("subnet_id", "/SubnetId"),
        timestamp("launch_time", "/LaunchTime"),
        text("image_id", "/ImageId"),
        text("platform", "/PlatformDetails"),
        text("iam_profile_arn", "/IamInstanceProfile/Arn"),
        text("http_tokens", "/MetadataOptions/HttpTokens"),
        all("security_group_ids", "/SecurityGroups/*/GroupId"),
        all("private_ips", "/NetworkInterfaces/*/PrivateIpAddresses/*/PrivateIpAddress"),
        tags("tags", "/Tags"),
        tag("name", "/Tags", NAME_TAGS),
        tag("environment", "/Tags", ENVIRONMENT_TAGS),
        tag("role", "/Tags", ROLE_TAGS),
        Column { name: "eks_cluster", ty: ColumnType::Text, from: Extract::Computed(eks_cluster) },
        tag("asg_name", "/Tags", ASG_TAGS),
    ],
};

/// The EKS cluster of a node: the `eks:cluster-name` tag, else the `kubernetes.io/cluster/<name>`
/// tag key.
fn eks_cluster(record: &serde_json::Value) -> Option<serde_json::Value> {
    extract(&Extract::Tag { path: "/Tags", keys: EKS_CLUSTER_TAGS }, record, None)
        .or_else(|| extract(&Extract::TagKeySuffix { path: "/Tags", prefix: "kubernetes.io/cluster/" }, record, None))
}

pub static NETWORK_INTERFACES: Table = Table {
    name: "ec2_network_interfaces",
    file: "ec2.describe-network-interfaces",
    records: "/NetworkInterfaces/*",
    parent: None,
    key: &["network_interface_id"],
    placement: Placement::Target,
    columns: &[
        text("network_interface_id", "/NetworkInterfaceId"),
        text("instance_id", "/Attachment/InstanceId"),
        text("interface_type", "/InterfaceType"),
        text("status", "/Status"),
        ip("private_ip", "/PrivateIpAddress"),
        all("private_ips", "/PrivateIpAddresses/*/PrivateIpAddress"),
        ip("public_ip", "/Association/PublicIp"),
        text("mac_address", "/MacAddress"),
        text("vpc_id", "/VpcId"),
        text("subnet_id", "/SubnetId"),
        all("security_group_ids", "/Groups/*/GroupId"),
        text("description", "/Description"),
        flag("requester_managed", "/RequesterManaged"),
        tags("tags", "/TagSet"),
    ],
};
