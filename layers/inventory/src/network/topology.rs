//! One snapshot's network topology, read from the inventory tables into typed form: subnets
//! with their route table and NACL resolved, security groups with their rules, prefix lists,
//! gateways, peerings, network interfaces labelled with what they belong to, and load
//! balancers with what their listeners forward to.

use crate::error::{database, pool as pool_error, Result};
use crate::network::rules::{NaclEntry, Ports, Protocol, Route};
use deadpool_postgres::Pool;
use ipnet::IpNet;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

/// Something the topology names but the snapshot does not hold, or cannot be followed.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: &'static str,
    pub resource_id: String,
    pub reference: Option<String>,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub availability_zone: Option<String>,
    pub cidrs: Vec<IpNet>,
    /// Index into `Topology::route_tables`: the explicit association, else the VPC's main table.
    pub route_table: Option<usize>,
    /// Index into `Topology::nacls`: the explicit association, else the VPC's default NACL.
    pub nacl: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct RouteTable {
    pub id: String,
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone)]
pub struct Nacl {
    pub id: String,
    /// Sorted by rule number.
    pub entries: Vec<NaclEntry>,
}

/// What a security group rule names as the other side.
#[derive(Debug, Clone, PartialEq)]
pub enum RulePeer {
    Cidr(IpNet),
    /// A group's members; resolved only when the group is in the snapshot.
    Group(String),
    /// A managed prefix list, expanded to its entries.
    PrefixList {
        id: String,
        cidrs: Vec<IpNet>,
    },
}

#[derive(Debug, Clone)]
pub struct SgRule {
    pub id: String,
    pub group_id: String,
    pub egress: bool,
    pub protocol: Protocol,
    pub ports: Ports,
    pub peer: RulePeer,
}

impl SgRule {
    /// The peer as evidence text: the CIDR, group id or prefix list id.
    pub fn peer_text(&self) -> String {
        match &self.peer {
            RulePeer::Cidr(c) => c.to_string(),
            RulePeer::Group(g) => g.clone(),
            RulePeer::PrefixList { id, .. } => id.clone(),
        }
    }

    /// Whether the rule names `address` by CIDR or prefix list.
    pub fn names_address(&self, address: IpAddr) -> bool {
        match &self.peer {
            RulePeer::Cidr(c) => c.contains(&address),
            RulePeer::PrefixList { cidrs, .. } => cidrs.iter().any(|c| c.contains(&address)),
            RulePeer::Group(_) => false,
        }
    }

    /// Whether the rule admits the whole internet of one family (`0.0.0.0/0`, `::/0`, or a
    /// prefix list holding one).
    pub fn names_internet(&self, ipv6: bool) -> bool {
        let whole = |c: &IpNet| c.prefix_len() == 0 && matches!(c, IpNet::V6(_)) == ipv6;
        match &self.peer {
            RulePeer::Cidr(c) => whole(c),
            RulePeer::PrefixList { cidrs, .. } => cidrs.iter().any(whole),
            RulePeer::Group(_) => false,
        }
    }
}

/// A network interface, or one subnet's presence of a load balancer, as reachability sees it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Index into `Topology::nodes`.
    pub node: usize,
    pub subnet: usize,
    pub private_v4: Option<IpAddr>,
    pub ipv6: Option<IpAddr>,
    pub public_v4: Option<IpAddr>,
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    Eni,
    LoadBalancer,
}

/// A `network_nodes` row.
#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub kind: NodeKind,
    pub resource_type: &'static str,
    pub resource_id: Option<String>,
    pub name: Option<String>,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub vpc_id: String,
    pub subnet_id: Option<String>,
    pub private_ips: Vec<IpAddr>,
    pub public_ips: Vec<IpAddr>,
    pub groups: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Listener {
    pub port: u16,
    pub protocol: Protocol,
    pub target_groups: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct LoadBalancer {
    pub node: usize,
    pub internet_facing: bool,
    /// Network load balancers without security groups pass the client's address through, so
    /// the target's rules must admit the client itself.
    pub has_groups: bool,
    pub listeners: Vec<Listener>,
    /// Indexes into `Topology::endpoints`, one per subnet.
    pub endpoints: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct Target {
    /// The target's endpoint (an instance's primary interface, or the interface holding the IP).
    pub endpoint: usize,
    pub port: u16,
}

#[derive(Debug, Clone, Default)]
pub struct Topology {
    pub subnets: Vec<Subnet>,
    pub route_tables: Vec<RouteTable>,
    pub nacls: Vec<Nacl>,
    pub groups: HashSet<String>,
    pub rules: Vec<SgRule>,
    /// Rule indexes per group, ingress and egress apart.
    pub ingress_of: HashMap<String, Vec<usize>>,
    pub egress_of: HashMap<String, Vec<usize>>,
    pub nodes: Vec<Node>,
    pub endpoints: Vec<Endpoint>,
    pub load_balancers: Vec<LoadBalancer>,
    pub target_groups: HashMap<String, Vec<Target>>,
    /// Internet gateways by id, with the VPCs they are attached to.
    pub internet_gateways: HashMap<String, Vec<String>>,
    /// Active peerings: id → the two VPCs.
    pub peerings: HashMap<String, (String, String)>,
    pub findings: Vec<Finding>,
}

impl Topology {
    pub fn vpc_of(&self, endpoint: &Endpoint) -> &str {
        &self.subnets[endpoint.subnet].vpc_id
    }
}

fn cidr(text: &str) -> Option<IpNet> {
    text.parse::<IpNet>().ok().or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

fn strings(value: &Value, path: &str) -> Vec<String> {
    let mut found = Vec::new();
    crate::schema::walk(value, path, &mut found);
    found.into_iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()
}

/// Read snapshot `snapshot_id`'s topology.
pub async fn load(pool: &Pool, snapshot_id: i64) -> Result<Topology> {
    let client = pool.get().await.map_err(pool_error)?;
    let rows = |sql: &'static str| {
        let client = &client;
        async move { client.query(sql, &[&snapshot_id]).await.map_err(|e| database("read the network topology", e)) }
    };
    let mut t = Topology::default();

    // Prefix lists first: rules and routes name them.
    let mut prefix_lists: HashMap<String, Vec<IpNet>> = HashMap::new();
    for r in rows("SELECT prefix_list_id FROM ec2_managed_prefix_lists WHERE snapshot_id = $1").await? {
        prefix_lists.entry(r.get(0)).or_default();
    }
    for r in rows(
        "SELECT prefix_list_id, host(cidr) || '/' || masklen(cidr) FROM ec2_prefix_list_entries WHERE snapshot_id = $1",
    )
    .await?
    {
        let (id, text): (String, Option<String>) = (r.get(0), r.get(1));
        if let Some(c) = text.as_deref().and_then(cidr) {
            prefix_lists.entry(id).or_default().push(c);
        }
    }

    for r in rows("SELECT internet_gateway_id, vpc_ids FROM ec2_internet_gateways WHERE snapshot_id = $1").await? {
        let vpcs: Option<Vec<String>> = r.get(1);
        t.internet_gateways.insert(r.get(0), vpcs.unwrap_or_default());
    }
    let nat_gateways: HashSet<String> =
        rows("SELECT nat_gateway_id FROM ec2_nat_gateways WHERE snapshot_id = $1 AND state = 'available'")
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
    for r in rows(
        "SELECT DISTINCT ON (vpc_peering_connection_id) vpc_peering_connection_id, requester_vpc_id, accepter_vpc_id \
         FROM ec2_vpc_peering_connections WHERE snapshot_id = $1 AND status = 'active'",
    )
    .await?
    {
        t.peerings.insert(r.get(0), (r.get(1), r.get(2)));
    }

    // Route tables, with every route's target checked against the snapshot.
    let mut main_table: HashMap<String, usize> = HashMap::new();
    let mut table_of_subnet: HashMap<String, usize> = HashMap::new();
    for r in rows("SELECT route_table_id, vpc_id, account_id, region, raw FROM ec2_route_tables WHERE snapshot_id = $1 ORDER BY route_table_id").await? {
        let (id, vpc, account, region, raw): (String, Option<String>, Option<String>, Option<String>, Value) =
            (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
        let index = t.route_tables.len();
        for association in raw["Associations"].as_array().into_iter().flatten() {
            if association["Main"].as_bool() == Some(true) {
                if let Some(vpc) = &vpc {
                    main_table.insert(vpc.clone(), index);
                }
            }
            if let Some(subnet) = association["SubnetId"].as_str() {
                table_of_subnet.insert(subnet.to_owned(), index);
            }
        }
        let mut routes = Vec::new();
        for route in raw["Routes"].as_array().into_iter().flatten() {
            let target = ["GatewayId", "NatGatewayId", "VpcPeeringConnectionId", "TransitGatewayId", "EgressOnlyInternetGatewayId", "NetworkInterfaceId", "InstanceId", "LocalGatewayId", "CarrierGatewayId", "CoreNetworkArn"]
                .iter()
                .find_map(|k| route[*k].as_str())
                .unwrap_or("")
                .to_owned();
            let mut destinations = Vec::new();
            for key in ["DestinationCidrBlock", "DestinationIpv6CidrBlock"] {
                destinations.extend(route[key].as_str().and_then(cidr));
            }
            if let Some(list) = route["DestinationPrefixListId"].as_str() {
                match prefix_lists.get(list) {
                    Some(cidrs) => destinations.extend(cidrs.iter().copied()),
                    None => t.findings.push(Finding {
                        kind: "dangling_prefix_list_reference",
                        resource_id: id.clone(),
                        reference: Some(list.to_owned()),
                        account_id: account.clone(),
                        region: region.clone(),
                        detail: format!("route table {id} routes prefix list {list}, which is not in the snapshot"),
                    }),
                }
            }
            let blackhole = route["State"].as_str() == Some("blackhole");
            let missing = if target.starts_with("igw-") {
                !t.internet_gateways.get(&target).is_some_and(|vpcs| vpc.as_ref().is_some_and(|v| vpcs.contains(v)))
            } else if target.starts_with("nat-") {
                !nat_gateways.contains(&target)
            } else if target.starts_with("pcx-") {
                !t.peerings.contains_key(&target)
            } else {
                false
            };
            if blackhole || missing {
                t.findings.push(Finding {
                    kind: "route_to_missing_gateway",
                    resource_id: id.clone(),
                    reference: Some(target.clone()),
                    account_id: account.clone(),
                    region: region.clone(),
                    detail: format!(
                        "route table {id} sends {} to {}, which {}",
                        destinations.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                        if target.is_empty() { "an unnamed target" } else { &target },
                        if blackhole { "is a blackhole (its target was deleted)" } else { "is not in the snapshot, not attached to this VPC, or not active" }
                    ),
                });
            }
            let active = !blackhole && !missing;
            routes.extend(destinations.into_iter().map(|destination| Route { destination, target: target.clone(), active }));
        }
        t.route_tables.push(RouteTable { id, routes });
    }

    // NACLs with their entries in rule order.
    let mut default_nacl: HashMap<String, usize> = HashMap::new();
    let mut nacl_of_subnet: HashMap<String, usize> = HashMap::new();
    for r in rows("SELECT network_acl_id, vpc_id, is_default, raw FROM ec2_network_acls WHERE snapshot_id = $1 ORDER BY network_acl_id").await? {
        let (id, vpc, is_default, raw): (String, Option<String>, Option<bool>, Value) = (r.get(0), r.get(1), r.get(2), r.get(3));
        let index = t.nacls.len();
        if is_default == Some(true) {
            if let Some(vpc) = vpc {
                default_nacl.insert(vpc, index);
            }
        }
        for subnet in strings(&raw, "/Associations/*/SubnetId") {
            nacl_of_subnet.insert(subnet, index);
        }
        let mut entries: Vec<NaclEntry> = raw["Entries"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let cidr = e["CidrBlock"].as_str().or(e["Ipv6CidrBlock"].as_str()).and_then(cidr)?;
                Some(NaclEntry {
                    rule_number: e["RuleNumber"].as_i64()?,
                    egress: e["Egress"].as_bool().unwrap_or(false),
                    protocol: Protocol::parse(e["Protocol"].as_str()?)?,
                    ports: Ports::from_rule(e["PortRange"]["From"].as_i64(), e["PortRange"]["To"].as_i64()),
                    cidr,
                    allow: e["RuleAction"].as_str() == Some("allow"),
                })
            })
            .collect();
        entries.sort_by_key(|e| (e.egress, e.rule_number));
        t.nacls.push(Nacl { id, entries });
    }

    let mut subnet_index: HashMap<String, usize> = HashMap::new();
    for r in rows(
        "SELECT subnet_id, vpc_id, account_id, region, host(cidr_block) || '/' || masklen(cidr_block), ipv6_cidr_blocks, \
                availability_zone \
         FROM ec2_subnets WHERE snapshot_id = $1 ORDER BY subnet_id",
    )
    .await?
    {
        let id: String = r.get(0);
        let vpc_id: String = r.get::<_, Option<String>>(1).unwrap_or_default();
        let (account_id, region): (Option<String>, Option<String>) = (r.get(2), r.get(3));
        let (v4, v6): (Option<String>, Option<Vec<String>>) = (r.get(4), r.get(5));
        let availability_zone: Option<String> = r.get(6);
        let route_table = table_of_subnet.get(&id).or_else(|| main_table.get(&vpc_id)).copied();
        let nacl = nacl_of_subnet.get(&id).or_else(|| default_nacl.get(&vpc_id)).copied();
        let mut cidrs: Vec<IpNet> = v4.as_deref().and_then(cidr).into_iter().collect();
        cidrs.extend(v6.unwrap_or_default().iter().filter_map(|c| cidr(c)));
        for (missing, what) in [(route_table.is_none(), "route table"), (nacl.is_none(), "network ACL")] {
            if missing {
                t.findings.push(Finding {
                    kind: "subnet_without_routing_or_acl",
                    resource_id: id.clone(),
                    reference: None,
                    account_id: account_id.clone(),
                    region: region.clone(),
                    detail: format!("subnet {id} has no {what} in the snapshot (no association and no VPC default); nothing reaches it"),
                });
            }
        }
        subnet_index.insert(id.clone(), t.subnets.len());
        t.subnets.push(Subnet { id, vpc_id, account_id, region, availability_zone, cidrs, route_table, nacl });
    }

    // Security groups and their rules; references to what the snapshot lacks are findings.
    t.groups = rows("SELECT group_id FROM ec2_security_groups WHERE snapshot_id = $1")
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for r in rows(
        "SELECT security_group_rule_id, group_id, is_egress, ip_protocol, from_port, to_port, \
                host(cidr_ipv4) || '/' || masklen(cidr_ipv4), host(cidr_ipv6) || '/' || masklen(cidr_ipv6), \
                prefix_list_id, referenced_group_id, account_id, region \
         FROM ec2_security_group_rules WHERE snapshot_id = $1 ORDER BY security_group_rule_id",
    )
    .await?
    {
        let id: String = r.get(0);
        let group_id: String = r.get(1);
        let egress: bool = r.get::<_, Option<bool>>(2).unwrap_or(false);
        let account_id: Option<String> = r.get(10);
        let region: Option<String> = r.get(11);
        let Some(protocol) = r.get::<_, Option<String>>(3).as_deref().and_then(Protocol::parse) else { continue };
        let ports = Ports::from_rule(r.get(4), r.get(5));
        let dangling = |kind: &'static str, reference: &str, what: &str| {
            Finding {
            kind,
            resource_id: id.clone(),
            reference: Some(reference.to_owned()),
            account_id: account_id.clone(),
            region: region.clone(),
            detail: format!("rule {id} of {group_id} names {what} {reference}, which is not in the snapshot; it allows nothing here"),
        }
        };
        let peer = if let Some(c) = r.get::<_, Option<String>>(6).or(r.get(7)).as_deref().and_then(cidr) {
            RulePeer::Cidr(c)
        } else if let Some(list) = r.get::<_, Option<String>>(8) {
            match prefix_lists.get(&list) {
                Some(cidrs) => RulePeer::PrefixList { id: list, cidrs: cidrs.clone() },
                None => {
                    t.findings.push(dangling("dangling_prefix_list_reference", &list, "prefix list"));
                    continue;
                }
            }
        } else if let Some(group) = r.get::<_, Option<String>>(9) {
            if !t.groups.contains(&group) {
                t.findings.push(dangling("dangling_security_group_reference", &group, "security group"));
                continue;
            }
            RulePeer::Group(group)
        } else {
            continue;
        };
        let index = t.rules.len();
        let by_group = if egress { &mut t.egress_of } else { &mut t.ingress_of };
        by_group.entry(group_id.clone()).or_default().push(index);
        t.rules.push(SgRule { id, group_id, egress, protocol, ports, peer });
    }

    load_nodes(&rows, &mut t, &subnet_index).await?;
    Ok(t)
}

/// Network interfaces, labelled; load balancers with their listeners and targets.
async fn load_nodes<F, Fut>(rows: &F, t: &mut Topology, subnet_index: &HashMap<String, usize>) -> Result<()>
where
    F: Fn(&'static str) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<tokio_postgres::Row>>>,
{
    // Instances: running or starting ones only (a stopped instance's interface answers nothing,
    // though EDR still counts it live), with names.
    let mut instances: HashMap<String, (Option<String>, bool)> = HashMap::new();
    for r in rows("SELECT instance_id, name, coalesce(state IN ('pending', 'running'), false) FROM ec2_instances WHERE snapshot_id = $1")
        .await?
    {
        instances.insert(r.get(0), (r.get(1), r.get::<_, Option<bool>>(2).unwrap_or(false)));
    }
    // Databases: an RDS interface carries no DB name, so it is matched by VPC, security groups
    // and DB subnet group (and the AZ when several databases share those).
    struct Database {
        id: String,
        vpc: Option<String>,
        groups: Vec<String>,
        subnets: Vec<String>,
        az: Option<String>,
    }
    let databases: Vec<Database> = rows(
        "SELECT db_instance_id, vpc_id, coalesce(security_group_ids, '{}'), raw FROM rds_db_instances WHERE snapshot_id = $1 ORDER BY db_instance_id",
    )
    .await?
    .iter()
    .map(|r| {
        let raw: Value = r.get(3);
        let mut groups: Vec<String> = r.get(2);
        groups.sort();
        Database {
            id: r.get(0),
            vpc: r.get(1),
            groups,
            subnets: strings(&raw, "/DBSubnetGroup/Subnets/*/SubnetIdentifier"),
            az: raw["AvailabilityZone"].as_str().map(str::to_owned),
        }
    })
    .collect();

    let lb_rows = rows(
        "SELECT load_balancer_arn, name, type, scheme, vpc_id, coalesce(subnet_ids, '{}'), coalesce(security_group_ids, '{}'), account_id, region \
         FROM elb_load_balancers WHERE snapshot_id = $1 AND coalesce(state, 'active') IN ('active', 'active_impaired') ORDER BY load_balancer_arn",
    )
    .await?;
    // "ELB app/<name>/<id>" interfaces belong to the load balancer whose ARN ends that way.
    let lb_suffix: HashMap<String, String> = lb_rows
        .iter()
        .filter_map(|r| {
            let arn: String = r.get(0);
            let suffix = arn.split_once(":loadbalancer/")?.1.to_owned();
            Some((suffix, arn))
        })
        .collect();
    let mut lb_addresses: HashMap<String, Vec<(String, IpAddr)>> = HashMap::new();
    let mut primary_endpoint: HashMap<String, usize> = HashMap::new();
    let mut endpoint_by_ip: HashMap<(String, IpAddr), usize> = HashMap::new();

    for r in rows(
        "SELECT network_interface_id, account_id, region, vpc_id, subnet_id, host(private_ip), host(public_ip), \
                coalesce(security_group_ids, '{}'), instance_id, interface_type, description, status, raw \
         FROM ec2_network_interfaces WHERE snapshot_id = $1 ORDER BY network_interface_id",
    )
    .await?
    {
        let id: String = r.get(0);
        let subnet_id: Option<String> = r.get(4);
        let private_v4: Option<IpAddr> = r.get::<_, Option<String>>(5).and_then(|s| s.parse().ok());
        let description: String = r.get::<_, Option<String>>(10).unwrap_or_default();
        let raw: Value = r.get(12);
        if let Some(suffix) = description.strip_prefix("ELB ") {
            if let (Some(arn), Some(subnet), Some(ip)) = (lb_suffix.get(suffix), &subnet_id, private_v4) {
                lb_addresses.entry(arn.clone()).or_default().push((subnet.clone(), ip));
                continue;
            }
        }
        if r.get::<_, Option<String>>(11).as_deref() != Some("in-use") {
            continue;
        }
        let instance_id: Option<String> = r.get(8);
        if let Some(instance) = &instance_id {
            if !instances.get(instance).is_some_and(|(_, live)| *live) {
                continue;
            }
        }
        let Some(subnet) = subnet_id.as_ref().and_then(|s| subnet_index.get(s)).copied() else { continue };
        let mut groups: Vec<String> = r.get(7);
        groups.sort();
        let interface_type: Option<String> = r.get(9);
        let (resource_type, resource_id, name) = if let Some(instance) = &instance_id {
            ("ec2_instance", Some(instance.clone()), instances.get(instance).and_then(|(n, _)| n.clone()))
        } else if description == "RDSNetworkInterface" {
            let vpc: Option<String> = r.get(3);
            let candidates: Vec<&Database> = databases
                .iter()
                .filter(|d| {
                    d.vpc == vpc && d.groups == groups && subnet_id.as_ref().is_some_and(|s| d.subnets.contains(s))
                })
                .collect();
            let chosen = match candidates.as_slice() {
                [one] => Some(one.id.clone()),
                many => {
                    let az = &t.subnets[subnet].availability_zone;
                    let in_az: Vec<&&Database> = many.iter().filter(|d| &d.az == az).collect();
                    (in_az.len() == 1).then(|| in_az[0].id.clone())
                }
            };
            ("rds_db_instance", chosen.clone(), chosen)
        } else if interface_type.as_deref() == Some("nat_gateway") {
            ("nat_gateway", None, None)
        } else {
            ("eni", None, None)
        };
        let ipv6: Vec<IpAddr> =
            strings(&raw, "/Ipv6Addresses/*/Ipv6Address").iter().filter_map(|s| s.parse().ok()).collect();
        let public_v4: Option<IpAddr> = r.get::<_, Option<String>>(6).and_then(|s| s.parse().ok());
        let node = t.nodes.len();
        t.nodes.push(Node {
            id: id.clone(),
            kind: NodeKind::Eni,
            resource_type,
            resource_id: resource_id.clone(),
            name,
            account_id: r.get(1),
            region: r.get(2),
            vpc_id: t.subnets[subnet].vpc_id.clone(),
            subnet_id: subnet_id.clone(),
            private_ips: private_v4.into_iter().chain(ipv6.iter().copied()).collect(),
            public_ips: public_v4.into_iter().collect(),
            groups: groups.clone(),
        });
        let endpoint = t.endpoints.len();
        t.endpoints.push(Endpoint { node, subnet, private_v4, ipv6: ipv6.first().copied(), public_v4, groups });
        if let Some(ip) = private_v4 {
            endpoint_by_ip.insert((t.subnets[subnet].vpc_id.clone(), ip), endpoint);
        }
        if let (Some(instance), "ec2_instance") = (&instance_id, resource_type) {
            let device_index = raw["Attachment"]["DeviceIndex"].as_i64().unwrap_or(0);
            if device_index == 0 || !primary_endpoint.contains_key(instance) {
                primary_endpoint.insert(instance.clone(), endpoint);
            }
        }
    }

    // Target groups: the interface each registered target resolves to.
    struct TargetGroup {
        target_type: Option<String>,
        port: Option<i64>,
        vpc: Option<String>,
    }
    let mut group_info: HashMap<String, TargetGroup> = HashMap::new();
    for r in
        rows("SELECT target_group_arn, target_type, port, vpc_id FROM elb_target_groups WHERE snapshot_id = $1").await?
    {
        group_info.insert(r.get(0), TargetGroup { target_type: r.get(1), port: r.get(2), vpc: r.get(3) });
    }
    for r in rows("SELECT target_group_arn, target_id, port, account_id, region FROM elb_target_health WHERE snapshot_id = $1 ORDER BY target_group_arn, target_id, port").await? {
        let (arn, target_id): (String, String) = (r.get(0), r.get(1));
        let Some(group) = group_info.get(&arn) else { continue };
        let port = r.get::<_, Option<i64>>(2).or(group.port).and_then(|p| u16::try_from(p).ok());
        let endpoint = match group.target_type.as_deref() {
            Some("ip") => target_id.parse::<IpAddr>().ok().and_then(|ip| endpoint_by_ip.get(&(group.vpc.clone().unwrap_or_default(), ip))).copied(),
            Some("instance") | None => primary_endpoint.get(&target_id).copied(),
            // Lambda and ALB targets are not network interfaces of the snapshot.
            _ => continue,
        };
        match (endpoint, port) {
            (Some(endpoint), Some(port)) => t.target_groups.entry(arn).or_default().push(Target { endpoint, port }),
            _ => t.findings.push(Finding {
                kind: "target_not_found",
                resource_id: arn.clone(),
                reference: Some(target_id.clone()),
                account_id: r.get(3),
                region: r.get(4),
                detail: format!("target {target_id} of {arn} is not a live interface of the snapshot (or has no port); nothing is forwarded to it"),
            }),
        }
    }

    let mut listeners: HashMap<String, Vec<Listener>> = HashMap::new();
    for r in rows(
        "SELECT load_balancer_arn, port, protocol, raw FROM elb_listeners WHERE snapshot_id = $1 ORDER BY listener_arn",
    )
    .await?
    {
        let raw: Value = r.get(3);
        let Some(port) = r.get::<_, Option<i64>>(1).and_then(|p| u16::try_from(p).ok()) else { continue };
        let protocol = match r.get::<_, Option<String>>(2).as_deref() {
            Some("UDP") => Protocol::Number(crate::network::rules::UDP),
            Some("TCP_UDP") => Protocol::All,
            Some("GENEVE") => continue,
            _ => Protocol::Number(crate::network::rules::TCP),
        };
        let mut target_groups = strings(&raw, "/DefaultActions/*/TargetGroupArn");
        target_groups.extend(strings(&raw, "/DefaultActions/*/ForwardConfig/TargetGroups/*/TargetGroupArn"));
        target_groups.sort();
        target_groups.dedup();
        listeners.entry(r.get(0)).or_default().push(Listener { port, protocol, target_groups });
    }

    for r in &lb_rows {
        let arn: String = r.get(0);
        let subnets: Vec<String> = r.get(5);
        let mut groups: Vec<String> = r.get(6);
        groups.sort();
        let addresses = lb_addresses.remove(&arn).unwrap_or_default();
        let node = t.nodes.len();
        let mut endpoints = Vec::new();
        for subnet_id in &subnets {
            let Some(&subnet) = subnet_index.get(subnet_id) else { continue };
            // The load balancer's own interface address in that subnet, else a stand-in inside
            // the subnet (its network address + 4, the first one AWS hands out).
            let address = addresses.iter().find(|(s, _)| s == subnet_id).map(|(_, ip)| *ip).or_else(|| {
                t.subnets[subnet].cidrs.iter().find_map(|c| match c {
                    IpNet::V4(v4) => {
                        Some(IpAddr::V4(std::net::Ipv4Addr::from(u32::from(v4.network()).saturating_add(4))))
                    }
                    IpNet::V6(_) => None,
                })
            });
            endpoints.push(t.endpoints.len());
            t.endpoints.push(Endpoint {
                node,
                subnet,
                private_v4: address,
                ipv6: None,
                public_v4: None,
                groups: groups.clone(),
            });
        }
        t.nodes.push(Node {
            id: arn.clone(),
            kind: NodeKind::LoadBalancer,
            resource_type: "load_balancer",
            resource_id: Some(arn.clone()),
            name: r.get(1),
            account_id: r.get(7),
            region: r.get(8),
            vpc_id: r.get::<_, Option<String>>(4).unwrap_or_default(),
            subnet_id: None,
            private_ips: endpoints.iter().filter_map(|e| t.endpoints[*e].private_v4).collect(),
            public_ips: Vec::new(),
            groups: groups.clone(),
        });
        t.load_balancers.push(LoadBalancer {
            node,
            internet_facing: r.get::<_, Option<String>>(3).as_deref() == Some("internet-facing"),
            has_groups: !groups.is_empty(),
            listeners: listeners.remove(&arn).unwrap_or_default(),
            endpoints,
        });
    }
    Ok(())
}
