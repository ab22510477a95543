//! The VPC topology of one region: VPCs, subnets, gateways, security groups and their rules,
//! network ACLs, route tables, managed prefix lists (with their entries, fetched per list), VPC
//! peering connections and Elastic IP addresses.

use crate::collector::{AwsCollector, AwsScope, AwsTarget, RecordSink};
use crate::error::Result;
use crate::schema::*;
use crate::sources::aws::{each_page, emit};

pub static COLLECTOR: AwsCollector = AwsCollector {
    name: "ec2.network",
    scope: AwsScope::Regional,
    tables: &[
        &VPCS,
        &SUBNETS,
        &INTERNET_GATEWAYS,
        &NAT_GATEWAYS,
        &SECURITY_GROUPS,
        &SECURITY_GROUP_RULES,
        &NETWORK_ACLS,
        &ROUTE_TABLES,
        &MANAGED_PREFIX_LISTS,
        &PREFIX_LIST_ENTRIES,
        &VPC_PEERING_CONNECTIONS,
        &ADDRESSES,
    ],
    actions: &[
        "ec2:DescribeVpcs",
        "ec2:DescribeSubnets",
        "ec2:DescribeInternetGateways",
        "ec2:DescribeNatGateways",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSecurityGroupRules",
        "ec2:DescribeNetworkAcls",
        "ec2:DescribeRouteTables",
        "ec2:DescribeManagedPrefixLists",
        "ec2:GetManagedPrefixListEntries",
        "ec2:DescribeVpcPeeringConnections",
        "ec2:DescribeAddresses",
    ],
    fetch: |target, out| Box::pin(fetch(target, out)),
};

async fn fetch(target: &AwsTarget, out: &mut dyn RecordSink) -> Result<()> {
    let ec2 = aws_sdk_ec2::Client::new(&target.sdk);
    each_page!(ec2.describe_vpcs().into_paginator().send(), "ec2:DescribeVpcs", |page| {
        emit(out, &VPCS, None, &page).await?;
    });
    each_page!(ec2.describe_subnets().into_paginator().send(), "ec2:DescribeSubnets", |page| {
        emit(out, &SUBNETS, None, &page).await?;
    });
    each_page!(ec2.describe_internet_gateways().into_paginator().send(), "ec2:DescribeInternetGateways", |page| {
        emit(out, &INTERNET_GATEWAYS, None, &page).await?;
    });
    each_page!(ec2.describe_nat_gateways().into_paginator().send(), "ec2:DescribeNatGateways", |page| {
        emit(out, &NAT_GATEWAYS, None, &page).await?;
    });
    each_page!(ec2.describe_security_groups().into_paginator().send(), "ec2:DescribeSecurityGroups", |page| {
        emit(out, &SECURITY_GROUPS, None, &page).await?;
    });
    each_page!(ec2.describe_security_group_rules().into_paginator().send(), "ec2:DescribeSecurityGroupRules", |page| {
        emit(out, &SECURITY_GROUP_RULES, None, &page).await?;
    });
    each_page!(ec2.describe_network_acls().into_paginator().send(), "ec2:DescribeNetworkAcls", |page| {
        emit(out, &NETWORK_ACLS, None, &page).await?;
    });
    each_page!(ec2.describe_route_tables().into_paginator().send(), "ec2:DescribeRouteTables", |page| {
        emit(out, &ROUTE_TABLES, None, &page).await?;
    });
    let peerings = ec2.describe_vpc_peering_connections().into_paginator().send();
    each_page!(peerings, "ec2:DescribeVpcPeeringConnections", |page| {
        emit(out, &VPC_PEERING_CONNECTIONS, None, &page).await?;
    });
    // One call: DescribeAddresses has no pagination.
    let addresses = ec2
        .describe_addresses()
        .send()
        .await
        .map_err(|e| secops_aws::AwsError::from_sdk("ec2:DescribeAddresses", e))?;
    emit(out, &ADDRESSES, None, &addresses).await?;
    let mut prefix_lists = Vec::new();
    each_page!(ec2.describe_managed_prefix_lists().into_paginator().send(), "ec2:DescribeManagedPrefixLists", |page| {
        prefix_lists.extend(page.prefix_lists().iter().filter_map(|l| l.prefix_list_id().map(str::to_owned)));
        emit(out, &MANAGED_PREFIX_LISTS, None, &page).await?;
    });
    for id in &prefix_lists {
        let entries = ec2.get_managed_prefix_list_entries().prefix_list_id(id).into_paginator().send();
        each_page!(entries, "ec2:GetManagedPrefixListEntries", |page| {
            emit(out, &PREFIX_LIST_ENTRIES, Some(id), &page).await?;
        });
    }
    Ok(())
}

pub static VPCS: Table = Table {
    name: "ec2_vpcs",
    file: "ec2.describe-vpcs",
    records: "/Vpcs/*",
    parent: None,
    key: &["vpc_id"],
    placement: Placement::Target,
    columns: &[
        text("vpc_id", "/VpcId"),
        ip("cidr_block", "/CidrBlock"),
        all("cidr_blocks", "/CidrBlockAssociationSet/*/CidrBlock"),
        all("ipv6_cidr_blocks", "/Ipv6CidrBlockAssociationSet/*/Ipv6CidrBlock"),
        flag("is_default", "/IsDefault"),
        text("state", "/State"),
        text("owner_id", "/OwnerId"),
        tags("tags", "/Tags"),
        tag("name", "/Tags", NAME_TAGS),
        tag("environment", "/Tags", ENVIRONMENT_TAGS),
    ],
};

pub static SUBNETS: Table = Table {
    name: "ec2_subnets",
    file: "ec2.describe-subnets",
    records: "/Subnets/*",
    parent: None,
    key: &["subnet_id"],
    placement: Placement::Target,
    columns: &[
        text("subnet_id", "/SubnetId"),
        text("vpc_id", "/VpcId"),
        ip("cidr_block", "/CidrBlock"),
        all("ipv6_cidr_blocks", "/Ipv6CidrBlockAssociationSet/*/Ipv6CidrBlock"),
        text("availability_zone", "/AvailabilityZone"),
        flag("map_public_ip_on_launch", "/MapPublicIpOnLaunch"),
        tags("tags", "/Tags"),
        tag("name", "/Tags", NAME_TAGS),
    ],
};

pub static INTERNET_GATEWAYS: Table = Table {
    name: "ec2_internet_gateways",
    file: "ec2.describe-internet-gateways",
    records: "/InternetGateways/*",
    parent: None,
    key: &["internet_gateway_id"],
    placement: Placement::Target,
    columns: &[
        text("internet_gateway_id", "/InternetGatewayId"),
        all("vpc_ids", "/Attachments/*/VpcId"),
        text("owner_id", "/OwnerId"),
        tags("tags", "/Tags"),
    ],
};

pub static NAT_GATEWAYS: Table = Table {
    name: "ec2_nat_gateways",
    file: "ec2.describe-nat-gateways",
    records: "/NatGateways/*",
    parent: None,
    key: &["nat_gateway_id"],
    placement: Placement::Target,
    columns: &[
        text("nat_gateway_id", "/NatGatewayId"),
        text("vpc_id", "/VpcId"),
        text("subnet_id", "/SubnetId"),
        text("state", "/State"),
        text("connectivity_type", "/ConnectivityType"),
        all("public_ips", "/NatGatewayAddresses/*/PublicIp"),
        all("private_ips", "/NatGatewayAddresses/*/PrivateIp"),
        tags("tags", "/Tags"),
    ],
};

pub static SECURITY_GROUPS: Table = Table {
    name: "ec2_security_groups",
    file: "ec2.describe-security-groups",
    records: "/SecurityGroups/*",
    parent: None,
    key: &["group_id"],
    placement: Placement::Target,
    columns: &[
        text("group_id", "/GroupId"),
        text("group_name", "/GroupName"),
        text("vpc_id", "/VpcId"),
        text("owner_id", "/OwnerId"),
        text("description", "/Description"),
        tags("tags", "/Tags"),
    ],
};

/// One row per rule, as `ec2:DescribeSecurityGroupRules` returns them (one CIDR, prefix list or
/// referenced group each), which is the form reachability needs.
pub static SECURITY_GROUP_RULES: Table = Table {
    name: "ec2_security_group_rules",
    file: "ec2.describe-security-group-rules",
    records: "/SecurityGroupRules/*",
    parent: None,
    key: &["security_group_rule_id"],
    placement: Placement::Target,
    columns: &[
        text("security_group_rule_id", "/SecurityGroupRuleId"),
        text("group_id", "/GroupId"),
        text("group_owner_id", "/GroupOwnerId"),
        flag("is_egress", "/IsEgress"),
        text("ip_protocol", "/IpProtocol"),
        int("from_port", "/FromPort"),
        int("to_port", "/ToPort"),
        ip("cidr_ipv4", "/CidrIpv4"),
        ip("cidr_ipv6", "/CidrIpv6"),
        text("prefix_list_id", "/PrefixListId"),
        text("referenced_group_id", "/ReferencedGroupInfo/GroupId"),
        text("referenced_user_id", "/ReferencedGroupInfo/UserId"),
        text("referenced_vpc_peering_id", "/ReferencedGroupInfo/VpcPeeringConnectionId"),
        text("description", "/Description"),
    ],
};

/// Entries stay in `raw` (ordered by rule number there); the network pass reads them.
pub static NETWORK_ACLS: Table = Table {
    name: "ec2_network_acls",
    file: "ec2.describe-network-acls",
    records: "/NetworkAcls/*",
    parent: None,
    key: &["network_acl_id"],
    placement: Placement::Target,
    columns: &[
        text("network_acl_id", "/NetworkAclId"),
        text("vpc_id", "/VpcId"),
        flag("is_default", "/IsDefault"),
        all("subnet_ids", "/Associations/*/SubnetId"),
        tags("tags", "/Tags"),
    ],
};

/// Routes stay in `raw`; the network pass reads them.
pub static ROUTE_TABLES: Table = Table {
    name: "ec2_route_tables",
    file: "ec2.describe-route-tables",
    records: "/RouteTables/*",
    parent: None,
    key: &["route_table_id"],
    placement: Placement::Target,
    columns: &[
        text("route_table_id", "/RouteTableId"),
        text("vpc_id", "/VpcId"),
        any("is_main", "/Associations/*/Main"),
        all("subnet_ids", "/Associations/*/SubnetId"),
        all("gateway_ids", "/Routes/*/GatewayId"),
        tags("tags", "/Tags"),
    ],
};

pub static MANAGED_PREFIX_LISTS: Table = Table {
    name: "ec2_managed_prefix_lists",
    file: "ec2.describe-managed-prefix-lists",
    records: "/PrefixLists/*",
    parent: None,
    key: &["prefix_list_id"],
    placement: Placement::Target,
    columns: &[
        text("prefix_list_id", "/PrefixListId"),
        text("prefix_list_name", "/PrefixListName"),
        text("address_family", "/AddressFamily"),
        text("owner_id", "/OwnerId"),
        int("max_entries", "/MaxEntries"),
        text("state", "/State"),
        tags("tags", "/Tags"),
    ],
};

/// `ec2:GetManagedPrefixListEntries`, one page set per prefix list (the parent).
pub static PREFIX_LIST_ENTRIES: Table = Table {
    name: "ec2_prefix_list_entries",
    file: "ec2.get-managed-prefix-list-entries",
    records: "/Entries/*",
    parent: Some("prefix_list_id"),
    key: &["prefix_list_id", "cidr"],
    placement: Placement::Target,
    columns: &[parent("prefix_list_id"), ip("cidr", "/Cidr"), text("description", "/Description")],
};

/// Peering connections as either side sees them; reachability crosses one only while it is
/// `active` and both sides route through it.
pub static VPC_PEERING_CONNECTIONS: Table = Table {
    name: "ec2_vpc_peering_connections",
    file: "ec2.describe-vpc-peering-connections",
    records: "/VpcPeeringConnections/*",
    parent: None,
    key: &["vpc_peering_connection_id"],
    placement: Placement::Target,
    columns: &[
        text("vpc_peering_connection_id", "/VpcPeeringConnectionId"),
        text("status", "/Status/Code"),
        text("requester_vpc_id", "/RequesterVpcInfo/VpcId"),
        text("requester_owner_id", "/RequesterVpcInfo/OwnerId"),
        text("requester_region", "/RequesterVpcInfo/Region"),
        text("accepter_vpc_id", "/AccepterVpcInfo/VpcId"),
        text("accepter_owner_id", "/AccepterVpcInfo/OwnerId"),
        text("accepter_region", "/AccepterVpcInfo/Region"),
        tags("tags", "/Tags"),
    ],
};

/// Elastic IP addresses, attached or not (an unattached one can still be named by DNS).
pub static ADDRESSES: Table = Table {
    name: "ec2_addresses",
    file: "ec2.describe-addresses",
    records: "/Addresses/*",
    parent: None,
    key: &["allocation_id"],
    placement: Placement::Target,
    columns: &[
        text("allocation_id", "/AllocationId"),
        ip("public_ip", "/PublicIp"),
        ip("private_ip", "/PrivateIpAddress"),
        text("network_interface_id", "/NetworkInterfaceId"),
        text("instance_id", "/InstanceId"),
        text("association_id", "/AssociationId"),
        text("domain", "/Domain"),
        tags("tags", "/Tags"),
    ],
};
