//! Small VPC estates written in the offline folder format (AWS CLI shapes), one account and
//! region, built call by call so each test states exactly the topology it is about.

#![allow(dead_code)]
// Builders take a resource's fields positionally, like the rows they write.
#![allow(clippy::too_many_arguments)]

use secops_inventory::offline::parent_file_name;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

pub const ACCOUNT: &str = "111111111111";
pub const REGION: &str = "eu-west-1";

/// The other side a security group rule names.
pub enum Peer<'a> {
    Cidr(&'a str),
    Group(&'a str),
    PrefixList(&'a str),
}

#[derive(Default)]
pub struct Net {
    files: BTreeMap<String, Vec<Value>>,
    per_parent: BTreeMap<(String, String), Value>,
    rule_counter: usize,
}

fn target_key(target: &str) -> &'static str {
    if target.starts_with("nat-") {
        "NatGatewayId"
    } else if target.starts_with("pcx-") {
        "VpcPeeringConnectionId"
    } else if target.starts_with("eigw-") {
        "EgressOnlyInternetGatewayId"
    } else {
        "GatewayId"
    }
}

impl Net {
    pub fn new() -> Net {
        Net::default()
    }

    fn push(&mut self, file: &str, record: Value) {
        self.files.entry(file.to_owned()).or_default().push(record);
    }

    pub fn vpc(&mut self, id: &str, cidr: &str) -> &mut Self {
        self.push("ec2.describe-vpcs", json!({"VpcId": id, "CidrBlock": cidr, "CidrBlockAssociationSet": [{"CidrBlock": cidr}], "State": "available", "OwnerId": ACCOUNT, "IsDefault": false}));
        self
    }

    pub fn subnet(&mut self, id: &str, vpc: &str, cidr: &str, ipv6: Option<&str>) -> &mut Self {
        let ipv6: Vec<Value> = ipv6.into_iter().map(|c| json!({"Ipv6CidrBlock": c})).collect();
        self.push(
            "ec2.describe-subnets",
            json!({"SubnetId": id, "VpcId": vpc, "CidrBlock": cidr, "Ipv6CidrBlockAssociationSet": ipv6, "AvailabilityZone": format!("{REGION}a"), "MapPublicIpOnLaunch": false}),
        );
        self
    }

    pub fn internet_gateway(&mut self, id: &str, vpc: &str) -> &mut Self {
        self.push(
            "ec2.describe-internet-gateways",
            json!({"InternetGatewayId": id, "Attachments": [{"VpcId": vpc, "State": "available"}], "OwnerId": ACCOUNT}),
        );
        self
    }

    pub fn nat_gateway(&mut self, id: &str, vpc: &str, subnet: &str) -> &mut Self {
        self.push("ec2.describe-nat-gateways", json!({"NatGatewayId": id, "VpcId": vpc, "SubnetId": subnet, "State": "available", "ConnectivityType": "public"}));
        self
    }

    /// A route table; `routes` are (destination CIDR, target) besides the VPC's local route.
    pub fn route_table(
        &mut self,
        id: &str,
        vpc: &str,
        vpc_cidr: &str,
        main: bool,
        subnets: &[&str],
        routes: &[(&str, &str)],
    ) -> &mut Self {
        let mut associations: Vec<Value> =
            subnets.iter().map(|s| json!({"Main": false, "RouteTableId": id, "SubnetId": s})).collect();
        if main {
            associations.push(json!({"Main": true, "RouteTableId": id}));
        }
        let mut all = vec![
            json!({"DestinationCidrBlock": vpc_cidr, "GatewayId": "local", "State": "active", "Origin": "CreateRouteTable"}),
        ];
        for (destination, target) in routes {
            let key = if destination.contains(':') { "DestinationIpv6CidrBlock" } else { "DestinationCidrBlock" };
            let mut route = json!({"State": "active", "Origin": "CreateRoute"});
            route[key] = json!(destination);
            route[target_key(target)] = json!(target);
            all.push(route);
        }
        self.push(
            "ec2.describe-route-tables",
            json!({"RouteTableId": id, "VpcId": vpc, "Associations": associations, "Routes": all, "OwnerId": ACCOUNT}),
        );
        self
    }

    /// A NACL; entries are (rule number, egress, protocol, from port, to port, CIDR, allow). The
    /// `*` deny entries AWS lists are added.
    pub fn nacl(
        &mut self,
        id: &str,
        vpc: &str,
        default: bool,
        subnets: &[&str],
        entries: &[(i64, bool, &str, i64, i64, &str, bool)],
    ) -> &mut Self {
        let mut all: Vec<Value> = entries
            .iter()
            .map(|(rule, egress, protocol, from, to, cidr, allow)| {
                let mut e = json!({"RuleNumber": rule, "Egress": egress, "Protocol": protocol, "RuleAction": if *allow { "allow" } else { "deny" }});
                e[if cidr.contains(':') { "Ipv6CidrBlock" } else { "CidrBlock" }] = json!(cidr);
                if *protocol == "6" || *protocol == "17" {
                    e["PortRange"] = json!({"From": from, "To": to});
                }
                e
            })
            .collect();
        for egress in [false, true] {
            all.push(json!({"RuleNumber": 32767, "Egress": egress, "Protocol": "-1", "RuleAction": "deny", "CidrBlock": "0.0.0.0/0"}));
            all.push(json!({"RuleNumber": 32768, "Egress": egress, "Protocol": "-1", "RuleAction": "deny", "Ipv6CidrBlock": "::/0"}));
        }
        let associations: Vec<Value> = subnets.iter().enumerate().map(|(i, s)| json!({"NetworkAclAssociationId": format!("aclassoc-{id}-{i}"), "NetworkAclId": id, "SubnetId": s})).collect();
        self.push("ec2.describe-network-acls", json!({"NetworkAclId": id, "VpcId": vpc, "IsDefault": default, "Associations": associations, "Entries": all, "OwnerId": ACCOUNT}));
        self
    }

    /// The default NACL that allows everything both ways, for both families.
    pub fn open_nacl(&mut self, id: &str, vpc: &str, subnets: &[&str]) -> &mut Self {
        self.nacl(
            id,
            vpc,
            true,
            subnets,
            &[
                (100, false, "-1", 0, 0, "0.0.0.0/0", true),
                (101, false, "-1", 0, 0, "::/0", true),
                (100, true, "-1", 0, 0, "0.0.0.0/0", true),
                (101, true, "-1", 0, 0, "::/0", true),
            ],
        )
    }

    pub fn security_group(&mut self, id: &str, vpc: &str) -> &mut Self {
        self.push(
            "ec2.describe-security-groups",
            json!({"GroupId": id, "GroupName": id, "VpcId": vpc, "OwnerId": ACCOUNT, "Description": id}),
        );
        self
    }

    fn rule(&mut self, group: &str, egress: bool, protocol: &str, from: i64, to: i64, peer: Peer) -> String {
        self.rule_counter += 1;
        let id = format!("sgr-{:017x}", self.rule_counter);
        let mut rule = json!({"SecurityGroupRuleId": id, "GroupId": group, "GroupOwnerId": ACCOUNT, "IsEgress": egress, "IpProtocol": protocol, "FromPort": from, "ToPort": to});
        match peer {
            Peer::Cidr(c) if c.contains(':') => rule["CidrIpv6"] = json!(c),
            Peer::Cidr(c) => rule["CidrIpv4"] = json!(c),
            Peer::Group(g) => rule["ReferencedGroupInfo"] = json!({"GroupId": g, "UserId": ACCOUNT}),
            Peer::PrefixList(p) => rule["PrefixListId"] = json!(p),
        }
        self.push("ec2.describe-security-group-rules", rule);
        id
    }

    pub fn ingress(&mut self, group: &str, protocol: &str, from: i64, to: i64, peer: Peer) -> String {
        self.rule(group, false, protocol, from, to, peer)
    }

    pub fn egress(&mut self, group: &str, protocol: &str, from: i64, to: i64, peer: Peer) -> String {
        self.rule(group, true, protocol, from, to, peer)
    }

    /// AWS's default egress rules: everything to anywhere, both families.
    pub fn egress_anywhere(&mut self, group: &str) -> &mut Self {
        self.egress(group, "-1", -1, -1, Peer::Cidr("0.0.0.0/0"));
        self.egress(group, "-1", -1, -1, Peer::Cidr("::/0"));
        self
    }

    pub fn prefix_list(&mut self, id: &str, cidrs: &[&str]) -> &mut Self {
        self.push("ec2.describe-managed-prefix-lists", json!({"PrefixListId": id, "PrefixListName": id, "AddressFamily": "IPv4", "State": "create-complete", "OwnerId": ACCOUNT, "MaxEntries": 10}));
        let entries: Vec<Value> = cidrs.iter().map(|c| json!({"Cidr": c})).collect();
        self.per_parent.insert(("ec2.get-managed-prefix-list-entries".into(), id.into()), json!({"Entries": entries}));
        self
    }

    pub fn peering(&mut self, id: &str, requester: &str, accepter: &str) -> &mut Self {
        self.push(
            "ec2.describe-vpc-peering-connections",
            json!({"VpcPeeringConnectionId": id, "Status": {"Code": "active", "Message": "Active"},
                   "RequesterVpcInfo": {"VpcId": requester, "OwnerId": ACCOUNT, "Region": REGION},
                   "AccepterVpcInfo": {"VpcId": accepter, "OwnerId": ACCOUNT, "Region": REGION}}),
        );
        self
    }

    fn interface(
        &mut self,
        eni: &str,
        subnet: &str,
        vpc: &str,
        ip: &str,
        public: Option<&str>,
        ipv6: Option<&str>,
        groups: &[&str],
        extra: Value,
    ) {
        let mut record = json!({
            "NetworkInterfaceId": eni, "InterfaceType": "interface", "Status": "in-use", "PrivateIpAddress": ip,
            "PrivateIpAddresses": [{"PrivateIpAddress": ip, "Primary": true}], "VpcId": vpc, "SubnetId": subnet,
            "Groups": groups.iter().map(|g| json!({"GroupId": g, "GroupName": g})).collect::<Vec<_>>(),
            "Ipv6Addresses": ipv6.into_iter().map(|a| json!({"Ipv6Address": a})).collect::<Vec<_>>(),
            "Description": "", "RequesterManaged": false, "OwnerId": ACCOUNT,
        });
        if let Some(public) = public {
            record["Association"] = json!({"PublicIp": public, "IpOwnerId": "amazon"});
        }
        if let Value::Object(extra) = extra {
            for (k, v) in extra {
                record[k] = v;
            }
        }
        self.push("ec2.describe-network-interfaces", record);
    }

    /// A running instance `i-<name>` with its primary interface `eni-<name>`.
    pub fn instance(
        &mut self,
        name: &str,
        vpc: &str,
        subnet: &str,
        ip: &str,
        public: Option<&str>,
        ipv6: Option<&str>,
        groups: &[&str],
    ) -> &mut Self {
        let id = format!("i-{name}");
        let mut instance = json!({
            "InstanceId": id, "State": {"Code": 16, "Name": "running"}, "PrivateIpAddress": ip, "VpcId": vpc, "SubnetId": subnet,
            "SecurityGroups": groups.iter().map(|g| json!({"GroupId": g, "GroupName": g})).collect::<Vec<_>>(),
            "Tags": [{"Key": "Name", "Value": name}], "LaunchTime": "2026-01-01T00:00:00+00:00",
        });
        if let Some(public) = public {
            instance["PublicIpAddress"] = json!(public);
        }
        self.push(
            "ec2.describe-instances",
            json!({"Instances": [instance], "ReservationId": format!("r-{name}"), "OwnerId": ACCOUNT}),
        );
        self.interface(
            &format!("eni-{name}"),
            subnet,
            vpc,
            ip,
            public,
            ipv6,
            groups,
            json!({"Attachment": {"InstanceId": id, "DeviceIndex": 0, "Status": "attached"}}),
        );
        self
    }

    /// An RDS instance `name` with its interface `eni-rds-<name>`.
    pub fn database(
        &mut self,
        name: &str,
        vpc: &str,
        subnet: &str,
        ip: &str,
        groups: &[&str],
        encrypted: bool,
    ) -> &mut Self {
        self.push(
            "rds.describe-db-instances",
            json!({
                "DBInstanceIdentifier": name, "DBInstanceArn": format!("arn:aws:rds:{REGION}:{ACCOUNT}:db:{name}"), "Engine": "postgres",
                "DBInstanceStatus": "available", "StorageEncrypted": encrypted, "PubliclyAccessible": false, "AvailabilityZone": format!("{REGION}a"),
                "DBSubnetGroup": {"DBSubnetGroupName": format!("{name}-subnets"), "VpcId": vpc, "Subnets": [{"SubnetIdentifier": subnet, "SubnetAvailabilityZone": {"Name": format!("{REGION}a")}}]},
                "VpcSecurityGroups": groups.iter().map(|g| json!({"VpcSecurityGroupId": g, "Status": "active"})).collect::<Vec<_>>(),
                "Endpoint": {"Address": format!("{name}.abc.{REGION}.rds.amazonaws.com"), "Port": 5432},
            }),
        );
        self.interface(
            &format!("eni-rds-{name}"),
            subnet,
            vpc,
            ip,
            None,
            None,
            groups,
            json!({"Description": "RDSNetworkInterface", "RequesterId": "amazon-rds", "RequesterManaged": true}),
        );
        self
    }

    /// An application load balancer with one listener forwarding to one target group of
    /// instance targets; returns the load balancer's ARN.
    pub fn application_load_balancer(
        &mut self,
        name: &str,
        vpc: &str,
        internet_facing: bool,
        subnets: &[&str],
        groups: &[&str],
        listener_port: i64,
        targets: &[&str],
        target_port: i64,
    ) -> String {
        let arn = format!("arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/{name}/0123456789abcdef");
        let group_arn =
            format!("arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/{name}-tg/fedcba9876543210");
        self.push(
            "elbv2.describe-load-balancers",
            json!({
                "LoadBalancerArn": arn, "LoadBalancerName": name, "Type": "application",
                "Scheme": if internet_facing { "internet-facing" } else { "internal" }, "VpcId": vpc,
                "DNSName": format!("{name}-1234567890.{REGION}.elb.amazonaws.com"), "State": {"Code": "active"},
                "SecurityGroups": groups, "AvailabilityZones": subnets.iter().map(|s| json!({"SubnetId": s, "ZoneName": format!("{REGION}a")})).collect::<Vec<_>>(),
            }),
        );
        self.per_parent.insert(
            ("elbv2.describe-listeners".into(), arn.clone()),
            json!({"Listeners": [{"ListenerArn": format!("{arn}/listener"), "LoadBalancerArn": arn, "Port": listener_port, "Protocol": "HTTPS",
                                   "DefaultActions": [{"Type": "forward", "TargetGroupArn": group_arn}]}]}),
        );
        self.push(
            "elbv2.describe-target-groups",
            json!({"TargetGroupArn": group_arn, "TargetGroupName": format!("{name}-tg"), "Protocol": "HTTP", "Port": target_port, "VpcId": vpc, "TargetType": "instance", "LoadBalancerArns": [arn]}),
        );
        self.per_parent.insert(
            ("elbv2.describe-target-health".into(), group_arn),
            json!({"TargetHealthDescriptions": targets.iter().map(|t| json!({"Target": {"Id": format!("i-{t}"), "Port": target_port}, "TargetHealth": {"State": "healthy"}})).collect::<Vec<_>>()}),
        );
        arn
    }

    /// Write the estate under `dir` (aws/<account>/<region>/…).
    pub fn write(&self, dir: &Path) {
        self.write_in(dir, REGION);
    }

    /// Write the estate under `dir` as region `region`'s.
    pub fn write_in(&self, dir: &Path, region: &str) {
        let region = dir.join("aws").join(ACCOUNT).join(region);
        std::fs::create_dir_all(&region).unwrap();
        for (file, records) in &self.files {
            let key = match file.as_str() {
                "ec2.describe-vpcs" => "Vpcs",
                "ec2.describe-subnets" => "Subnets",
                "ec2.describe-internet-gateways" => "InternetGateways",
                "ec2.describe-nat-gateways" => "NatGateways",
                "ec2.describe-route-tables" => "RouteTables",
                "ec2.describe-network-acls" => "NetworkAcls",
                "ec2.describe-security-groups" => "SecurityGroups",
                "ec2.describe-security-group-rules" => "SecurityGroupRules",
                "ec2.describe-managed-prefix-lists" => "PrefixLists",
                "ec2.describe-vpc-peering-connections" => "VpcPeeringConnections",
                "ec2.describe-instances" => "Reservations",
                "ec2.describe-network-interfaces" => "NetworkInterfaces",
                "rds.describe-db-instances" => "DBInstances",
                "elbv2.describe-load-balancers" => "LoadBalancers",
                "elbv2.describe-target-groups" => "TargetGroups",
                other => panic!("no page key for {other}"),
            };
            std::fs::write(
                region.join(format!("{file}.json")),
                serde_json::to_vec_pretty(&json!({ key: records })).unwrap(),
            )
            .unwrap();
        }
        for ((file, parent), page) in &self.per_parent {
            let folder = region.join(file);
            std::fs::create_dir_all(&folder).unwrap();
            std::fs::write(
                folder.join(format!("{}.json", parent_file_name(parent))),
                serde_json::to_vec_pretty(page).unwrap(),
            )
            .unwrap();
        }
    }
}

/// One reachability row, as the tests compare them.
pub type Row = (String, String, String, Option<i32>, Option<i32>, String, String);

/// Collect `net` into a fresh snapshot of `pool`, flatten it, and return the snapshot id.
pub async fn load_and_flatten(
    pool: &deadpool_postgres::Pool,
    net: &Net,
) -> (i64, secops_inventory::network::FlattenSummary) {
    let dir = tempfile::tempdir().unwrap();
    net.write(dir.path());
    let snapshot = secops_inventory::collect_from_dir(pool, dir.path(), 2).await.unwrap();
    assert_eq!(snapshot.status, "complete", "{snapshot:?}");
    let summary = secops_inventory::network::flatten_snapshot(pool, snapshot.snapshot_id).await.unwrap();
    (snapshot.snapshot_id, summary)
}

/// Every reachability row of the snapshot: (source, destination, protocol, from, to, family,
/// mechanism), sorted.
pub async fn reachability(pool: &deadpool_postgres::Pool, snapshot_id: i64) -> Vec<Row> {
    let client = pool.get().await.unwrap();
    let rows = client
        .query(
            "SELECT source_id, destination_id, protocol, from_port, to_port, address_family, mechanism FROM reachability \
             WHERE snapshot_id = $1 ORDER BY 1, 2, 3, 4, 6, 7",
            &[&snapshot_id],
        )
        .await
        .unwrap();
    rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6))).collect()
}

/// A row literal for assertions.
pub fn row(
    source: &str,
    destination: &str,
    protocol: &str,
    ports: Option<(i32, i32)>,
    family: &str,
    mechanism: &str,
) -> Row {
    (
        source.into(),
        destination.into(),
        protocol.into(),
        ports.map(|p| p.0),
        ports.map(|p| p.1),
        family.into(),
        mechanism.into(),
    )
}

/// The evidence of the one row from `source` to `destination`.
pub async fn evidence(pool: &deadpool_postgres::Pool, snapshot_id: i64, source: &str, destination: &str) -> Value {
    let client = pool.get().await.unwrap();
    let rows = client
        .query(
            "SELECT evidence FROM reachability WHERE snapshot_id = $1 AND source_id = $2 AND destination_id = $3",
            &[&snapshot_id, &source, &destination],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "expected one row {source} → {destination}");
    rows[0].get(0)
}
