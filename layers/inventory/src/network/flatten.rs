//! Topology → reachability rows. For every destination, the sources its security groups admit
//! are found through indexes (group members, addresses sorted per VPC), then each pair is checked
//! the whole way: the source's egress, routing (local or an active peering both ways), and the
//! NACLs of both subnets in both directions. Internet exposure and load balancers are checked the
//! same way with the internet (or the load balancer) as the source.

use crate::network::rules::{
    default_route, longest_prefix_match, nacl_allows, nacl_is_protocol_blind, nacl_reply_range, split_all, Peer, Ports,
    Protocol, Traffic,
};
use crate::network::topology::{Endpoint, LoadBalancer, NodeKind, RulePeer, SgRule, Topology};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

/// The `source` of internet exposure rows.
pub const INTERNET: usize = usize::MAX;

/// Why a row exists, naming the rules by id (the rule, group and peer are one join away in
/// `ec2_security_group_rules`). Stored as the row's `evidence` JSON.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Evidence<'t> {
    /// Interface to interface (or load balancer).
    Pair(PairEvidence<'t>),
    /// The internet to an interface with a public address.
    Exposure(ExposureEvidence<'t>),
    /// The internet to a load balancer's listener, through one of its subnets.
    Front { listener_port: u16, subnet: &'t str, exposure: ExposureEvidence<'t> },
    /// A load balancer to a target it forwards to.
    Forward { via: Via<'t>, forward: PairEvidence<'t> },
    /// The internet to a target, through a load balancer.
    Through { via: Via<'t>, exposure: ExposureEvidence<'t>, forward: PairEvidence<'t> },
}

#[derive(Debug, Clone, Serialize)]
pub struct PairEvidence<'t> {
    /// The destination's ingress rule.
    pub ingress: &'t str,
    /// The source's egress rule (none for a load balancer without security groups).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub egress: Option<&'t str>,
    pub route: RouteEvidence<'t>,
    /// None within one subnet (no NACL is crossed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nacl: Option<NaclEvidence<'t>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExposureEvidence<'t> {
    /// The public address the internet reaches (none for a load balancer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<IpAddr>,
    /// The ingress rule admitting the internet (none for a load balancer without groups).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingress: Option<&'t str>,
    pub route: RouteEvidence<'t>,
    pub nacl: NaclEvidence<'t>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum RouteEvidence<'t> {
    /// Within one VPC: the local route.
    Local(&'static str),
    /// Across a peering: the route out of the source's table and the one back.
    Peering { peering: &'t str, out: &'t str, back: &'t str },
    /// From the internet: the subnet's table and the gateway its default route names.
    Gateway { table: &'t str, to: &'t str },
}

/// NACL rules by (ACL id, rule number): the request out of the source subnet (absent from the
/// internet), into the destination subnet, and the ephemeral range replies may reach.
#[derive(Debug, Clone, Serialize)]
pub struct NaclEvidence<'t> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out: Option<(&'t str, i64)>,
    #[serde(rename = "in")]
    pub inbound: (&'t str, i64),
    pub reply: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Via<'t> {
    pub load_balancer: &'t str,
    pub listener_port: u16,
    pub target_group: &'t str,
    pub target_port: u16,
}

/// One reachability row before it is numbered and stored.
#[derive(Debug, Clone)]
pub struct Reach<'t> {
    /// A node index, or [`INTERNET`].
    pub source: usize,
    pub destination: usize,
    pub traffic: Traffic,
    pub ipv6: bool,
    pub mechanism: &'static str,
    pub evidence: Evidence<'t>,
}

/// Indexes over the topology that the pair search needs.
struct Index<'t> {
    t: &'t Topology,
    /// Endpoints that are members of each group.
    members: HashMap<&'t str, Vec<usize>>,
    /// Per VPC, network interface endpoints sorted by address, per family.
    by_v4: HashMap<&'t str, Vec<(u128, usize)>>,
    by_v6: HashMap<&'t str, Vec<(u128, usize)>>,
    /// Per VPC, the VPCs it has an active peering with.
    peers: HashMap<&'t str, Vec<&'t str>>,
    /// The region of each VPC (from its subnets).
    regions: HashMap<&'t str, Option<&'t str>>,
}

fn numeric(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

impl<'t> Index<'t> {
    fn new(t: &'t Topology) -> Index<'t> {
        let mut index = Index {
            t,
            members: HashMap::new(),
            by_v4: HashMap::new(),
            by_v6: HashMap::new(),
            peers: HashMap::new(),
            regions: HashMap::new(),
        };
        for subnet in &t.subnets {
            index.regions.insert(subnet.vpc_id.as_str(), subnet.region.as_deref());
        }
        for (e, endpoint) in t.endpoints.iter().enumerate() {
            for g in &endpoint.groups {
                index.members.entry(g.as_str()).or_default().push(e);
            }
            if t.nodes[endpoint.node].kind != NodeKind::Eni {
                continue;
            }
            let vpc = t.vpc_of(endpoint);
            if let Some(ip) = endpoint.private_v4 {
                index.by_v4.entry(vpc).or_default().push((numeric(ip), e));
            }
            if let Some(ip) = endpoint.ipv6 {
                index.by_v6.entry(vpc).or_default().push((numeric(ip), e));
            }
        }
        for list in index.by_v4.values_mut().chain(index.by_v6.values_mut()) {
            list.sort_unstable();
        }
        for (a, b) in t.peerings.values() {
            index.peers.entry(a.as_str()).or_default().push(b.as_str());
            index.peers.entry(b.as_str()).or_default().push(a.as_str());
        }
        index
    }

    fn peered(&self, a: &str, b: &str) -> bool {
        a == b || self.peers.get(a).is_some_and(|p| p.contains(&b))
    }

    /// Whether a rule in VPC `a` may name a security group of VPC `b`: the same VPC, or a VPC
    /// peered with it in the same region (AWS refuses group references across regions).
    fn group_reference_reaches(&self, a: &str, b: &str) -> bool {
        a == b
            || (self.peered(a, b) && self.regions.get(a).copied().flatten() == self.regions.get(b).copied().flatten())
    }

    fn address(&self, endpoint: &Endpoint, ipv6: bool) -> Option<IpAddr> {
        if ipv6 {
            endpoint.ipv6
        } else {
            endpoint.private_v4
        }
    }

    /// Interface endpoints a rule could admit as sources of traffic into `vpc`.
    fn sources_named_by(&self, rule: &SgRule, vpc: &str, out: &mut HashSet<usize>) {
        let t = self.t;
        let mut by_cidr = |c: &ipnet::IpNet| {
            let vpcs = std::iter::once(vpc).chain(self.peers.get(vpc).into_iter().flatten().copied());
            for v in vpcs {
                let list = match c {
                    ipnet::IpNet::V4(_) => self.by_v4.get(v),
                    ipnet::IpNet::V6(_) => self.by_v6.get(v),
                };
                let Some(list) = list else { continue };
                let (low, high) = (numeric(c.network()), numeric(c.broadcast()));
                let start = list.partition_point(|(ip, _)| *ip < low);
                out.extend(list[start..].iter().take_while(|(ip, _)| *ip <= high).map(|(_, e)| *e));
            }
        };
        match &rule.peer {
            RulePeer::Cidr(c) => by_cidr(c),
            RulePeer::PrefixList { cidrs, .. } => cidrs.iter().for_each(by_cidr),
            RulePeer::Group(g) => out.extend(self.members.get(g.as_str()).into_iter().flatten().filter(|e| {
                t.nodes[t.endpoints[**e].node].kind == NodeKind::Eni
                    && self.group_reference_reaches(vpc, t.vpc_of(&t.endpoints[**e]))
            })),
        }
    }

    /// Whether `rule`, of a group in VPC `own_vpc`, names `peer` (by address of the family, or
    /// by group membership where a group reference reaches).
    fn rule_names(&self, rule: &SgRule, own_vpc: &str, peer: &Endpoint, ipv6: bool) -> bool {
        match &rule.peer {
            RulePeer::Group(g) => peer.groups.contains(g) && self.group_reference_reaches(own_vpc, self.t.vpc_of(peer)),
            _ => self.address(peer, ipv6).is_some_and(|ip| rule.names_address(ip)),
        }
    }
}

fn reply_text(range: Ports) -> String {
    if range == Ports::ALL {
        "all".to_owned()
    } else {
        format!("{}-{}", range.from, range.to)
    }
}

/// The NACL checks between two subnets for `traffic`: request out of the source subnet and into
/// the destination subnet, the reply out of the destination subnet and into the source subnet.
/// Returns the allowed parts with evidence; the same subnet crosses no NACL.
fn through_nacls<'t>(
    t: &'t Topology,
    s: &Endpoint,
    d: &Endpoint,
    s_peer: Peer,
    d_peer: Peer,
    traffic: Traffic,
) -> Vec<(Traffic, Option<NaclEvidence<'t>>)> {
    if s.subnet == d.subnet {
        return vec![(traffic, None)];
    }
    let (Some(s_nacl), Some(d_nacl)) = (t.subnets[s.subnet].nacl, t.subnets[d.subnet].nacl) else { return Vec::new() };
    let (s_acl, d_acl) = (&t.nacls[s_nacl], &t.nacls[d_nacl]);
    let pieces: Vec<Traffic> = if traffic.protocol == Protocol::All
        && !(nacl_is_protocol_blind(&s_acl.entries, true, d_peer)
            && nacl_is_protocol_blind(&d_acl.entries, false, s_peer)
            && nacl_is_protocol_blind(&d_acl.entries, true, s_peer)
            && nacl_is_protocol_blind(&s_acl.entries, false, d_peer))
    {
        let ipv6 = matches!(d_peer, Peer::Address(IpAddr::V6(_)));
        split_all(ipv6).to_vec()
    } else {
        vec![traffic]
    };
    let replies = [(d_acl.entries.as_slice(), true, s_peer), (s_acl.entries.as_slice(), false, d_peer)];
    let mut allowed = Vec::new();
    for piece in pieces {
        let Some(reply) = nacl_reply_range(&replies, piece.protocol) else { continue };
        for (out, out_rule) in nacl_allows(&s_acl.entries, true, d_peer, piece) {
            for (inbound, in_rule) in nacl_allows(&d_acl.entries, false, s_peer, out) {
                let evidence = NaclEvidence {
                    out: Some((&s_acl.id, out_rule)),
                    inbound: (&d_acl.id, in_rule),
                    reply: reply_text(reply),
                };
                allowed.push((inbound, Some(evidence)));
            }
        }
    }
    allowed
}

/// The route between two endpoints' VPCs: local within one VPC, else an active peering that the
/// source's route table uses for the destination and the destination's uses back.
fn route_between<'t>(
    t: &'t Topology,
    index: &Index,
    s: &Endpoint,
    d: &Endpoint,
    s_ip: IpAddr,
    d_ip: IpAddr,
) -> Option<(&'static str, RouteEvidence<'t>)> {
    let (s_vpc, d_vpc) = (t.vpc_of(s), t.vpc_of(d));
    if s_vpc == d_vpc {
        return Some(("vpc", RouteEvidence::Local("local")));
    }
    if !index.peered(s_vpc, d_vpc) {
        return None;
    }
    let s_table = &t.route_tables[t.subnets[s.subnet].route_table?];
    let d_table = &t.route_tables[t.subnets[d.subnet].route_table?];
    let there = longest_prefix_match(&s_table.routes, d_ip)?;
    let back = longest_prefix_match(&d_table.routes, s_ip)?;
    let (peering, (a, b)) = t.peerings.get_key_value(&there.target)?;
    let connects = (a == s_vpc && b == d_vpc) || (a == d_vpc && b == s_vpc);
    (connects && back.target == there.target)
        .then_some(("peering", RouteEvidence::Peering { peering, out: &s_table.id, back: &d_table.id }))
}

/// Everything `s` may send `d` (over one address family), each allowed part with its evidence.
/// `only` restricts to what a listener or target port accepts; `source_has_groups` false skips
/// the source's egress check (a load balancer without security groups).
fn pair<'t>(
    t: &'t Topology,
    index: &Index,
    s: &Endpoint,
    d: &Endpoint,
    ipv6: bool,
    only: Option<Traffic>,
    source_has_groups: bool,
) -> Vec<(Traffic, &'static str, PairEvidence<'t>)> {
    let (Some(s_ip), Some(d_ip)) = (index.address(s, ipv6), index.address(d, ipv6)) else { return Vec::new() };
    let ingress: Vec<&'t SgRule> = d
        .groups
        .iter()
        .flat_map(|g| t.ingress_of.get(g).into_iter().flatten())
        .map(|r| &t.rules[*r])
        .filter(|r| index.rule_names(r, t.vpc_of(d), s, ipv6))
        .collect();
    if ingress.is_empty() {
        return Vec::new();
    }
    let egress: Vec<Option<&'t SgRule>> = if source_has_groups {
        s.groups
            .iter()
            .flat_map(|g| t.egress_of.get(g).into_iter().flatten())
            .map(|r| &t.rules[*r])
            .filter(|r| index.rule_names(r, t.vpc_of(s), d, ipv6))
            .map(Some)
            .collect()
    } else {
        vec![None]
    };
    let mut candidates: Vec<(Traffic, &'t SgRule, Option<&'t SgRule>)> = Vec::new();
    for i in &ingress {
        let allowed_in = Traffic::new(i.protocol, i.ports);
        for e in &egress {
            let allowed = match e {
                Some(e) => allowed_in.intersect(Traffic::new(e.protocol, e.ports)),
                None => Some(allowed_in),
            };
            let allowed = match (allowed, only) {
                (Some(a), Some(o)) => a.intersect(o),
                (a, None) => a,
                (None, _) => None,
            };
            if let Some(a) = allowed {
                if !candidates.iter().any(|(c, _, _)| *c == a) {
                    candidates.push((a, i, *e));
                }
            }
        }
    }
    if candidates.is_empty() {
        return Vec::new();
    }
    let Some((mechanism, route)) = route_between(t, index, s, d, s_ip, d_ip) else { return Vec::new() };
    let mut out = Vec::new();
    for (traffic, i, e) in candidates {
        for (allowed, nacl) in through_nacls(t, s, d, Peer::Address(s_ip), Peer::Address(d_ip), traffic) {
            let evidence =
                PairEvidence { ingress: &i.id, egress: e.map(|e| e.id.as_str()), route: route.clone(), nacl };
            out.push((allowed, mechanism, evidence));
        }
    }
    out
}

/// What the internet may send `d` over one family: a public address (unless `addressable`, a
/// load balancer), the subnet's default route to an internet gateway, ingress from the whole
/// internet (unless the endpoint has no groups), NACL in and the reply out.
fn exposure<'t>(
    t: &'t Topology,
    d: &Endpoint,
    ipv6: bool,
    only: Option<Traffic>,
    has_groups: bool,
    addressable: bool,
) -> Vec<(Traffic, ExposureEvidence<'t>)> {
    let address = if ipv6 { d.ipv6 } else { d.public_v4 };
    if !addressable && address.is_none() {
        return Vec::new();
    }
    let subnet = &t.subnets[d.subnet];
    let Some(table) = subnet.route_table.map(|r| &t.route_tables[r]) else { return Vec::new() };
    let Some(route) = default_route(&table.routes, ipv6).filter(|r| r.target.starts_with("igw-")) else {
        return Vec::new();
    };
    let Some(nacl) = subnet.nacl.map(|n| &t.nacls[n]) else { return Vec::new() };
    let internet = Peer::Internet { ipv6 };
    let ingress: Vec<(Traffic, Option<&'t str>)> = if has_groups {
        d.groups
            .iter()
            .flat_map(|g| t.ingress_of.get(g).into_iter().flatten())
            .map(|r| &t.rules[*r])
            .filter(|r| r.names_internet(ipv6))
            .filter_map(|r| {
                let allowed = Traffic::new(r.protocol, r.ports);
                let allowed = match only {
                    Some(o) => allowed.intersect(o)?,
                    None => allowed,
                };
                Some((allowed, Some(r.id.as_str())))
            })
            .collect()
    } else {
        only.map(|o| (o, None)).into_iter().collect()
    };
    let mut out = Vec::new();
    for (traffic, rule) in ingress {
        let pieces = if traffic.protocol == Protocol::All && !nacl_is_protocol_blind(&nacl.entries, false, internet) {
            split_all(ipv6).to_vec()
        } else {
            vec![traffic]
        };
        for piece in pieces {
            let Some(reply) = nacl_reply_range(&[(nacl.entries.as_slice(), true, internet)], piece.protocol) else {
                continue;
            };
            for (allowed, in_rule) in nacl_allows(&nacl.entries, false, internet, piece) {
                let evidence = ExposureEvidence {
                    address,
                    ingress: rule,
                    route: RouteEvidence::Gateway { table: &table.id, to: &route.target },
                    nacl: NaclEvidence { out: None, inbound: (&nacl.id, in_rule), reply: reply_text(reply) },
                };
                out.push((allowed, evidence));
            }
        }
    }
    out
}

/// Every reachability row of the topology.
pub fn flatten(t: &Topology) -> Vec<Reach<'_>> {
    let index = Index::new(t);
    let mut rows = Vec::new();

    // Listener traffic a load balancer node accepts, by node.
    let mut listening: HashMap<usize, Vec<Traffic>> = HashMap::new();
    for lb in &t.load_balancers {
        listening.insert(
            lb.node,
            lb.listeners.iter().map(|l| Traffic::new(l.protocol, Ports { from: l.port, to: l.port })).collect(),
        );
    }

    // Destinations grouped by node (a load balancer has one endpoint per subnet).
    let mut by_node: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (e, endpoint) in t.endpoints.iter().enumerate() {
        by_node.entry(endpoint.node).or_default().push(e);
    }
    for (&node, endpoints) in &by_node {
        let accepts: Vec<Option<Traffic>> = match listening.get(&node) {
            Some(list) => list.iter().copied().map(Some).collect(),
            None => vec![None],
        };
        for &e in endpoints {
            let d = &t.endpoints[e];
            let mut sources = HashSet::new();
            for g in &d.groups {
                for r in t.ingress_of.get(g).into_iter().flatten() {
                    index.sources_named_by(&t.rules[*r], t.vpc_of(d), &mut sources);
                }
            }
            let mut sources: Vec<usize> = sources.into_iter().collect();
            sources.sort_unstable();
            for s_index in sources {
                let s = &t.endpoints[s_index];
                // Managed interfaces that never start connections are no sources.
                if s.node == node || matches!(t.nodes[s.node].resource_type, "rds_db_instance" | "nat_gateway") {
                    continue;
                }
                for ipv6 in [false, true] {
                    for only in &accepts {
                        for (traffic, mechanism, evidence) in pair(t, &index, s, d, ipv6, *only, true) {
                            let evidence = Evidence::Pair(evidence);
                            rows.push(Reach { source: s.node, destination: node, traffic, ipv6, mechanism, evidence });
                        }
                    }
                }
            }
            // Interfaces with their own public address; load balancers are handled below.
            if t.nodes[node].kind == NodeKind::Eni {
                for ipv6 in [false, true] {
                    for (traffic, evidence) in exposure(t, d, ipv6, None, true, false) {
                        rows.push(Reach {
                            source: INTERNET,
                            destination: node,
                            traffic,
                            ipv6,
                            mechanism: "internet",
                            evidence: Evidence::Exposure(evidence),
                        });
                    }
                }
            }
        }
    }

    for lb in &t.load_balancers {
        load_balancer_rows(t, &index, lb, &mut rows);
    }
    // The same row can come from several rules, subnets of a load balancer, listeners or target
    // groups; keep its first evidence.
    let mut distinct = HashSet::new();
    rows.retain(|r| distinct.insert((r.source, r.destination, r.traffic, r.ipv6, r.mechanism)));
    rows
}

/// An internet-facing load balancer's own exposure (per listener, through any of its subnets),
/// what it forwards to each target, and the exposure of those targets through it.
fn load_balancer_rows<'t>(t: &'t Topology, index: &Index, lb: &'t LoadBalancer, rows: &mut Vec<Reach<'t>>) {
    let arn = &t.nodes[lb.node].id;
    for listener in &lb.listeners {
        let front = Traffic::new(listener.protocol, Ports { from: listener.port, to: listener.port });
        let exposed = if lb.internet_facing {
            lb.endpoints.iter().find_map(|e| {
                let found = exposure(t, &t.endpoints[*e], false, Some(front), lb.has_groups, true);
                found
                    .into_iter()
                    .next()
                    .map(|(traffic, evidence)| (traffic, evidence, t.subnets[t.endpoints[*e].subnet].id.as_str()))
            })
        } else {
            None
        };
        if let Some((traffic, evidence, subnet)) = &exposed {
            rows.push(Reach {
                source: INTERNET,
                destination: lb.node,
                traffic: *traffic,
                ipv6: false,
                mechanism: "internet",
                evidence: Evidence::Front { listener_port: listener.port, subnet, exposure: evidence.clone() },
            });
        }
        for group in &listener.target_groups {
            for target in t.target_groups.get(group).into_iter().flatten() {
                let d = &t.endpoints[target.endpoint];
                let to_target = Traffic::new(listener.protocol, Ports { from: target.port, to: target.port });
                let forward = lb.endpoints.iter().find_map(|e| {
                    pair(t, index, &t.endpoints[*e], d, false, Some(to_target), lb.has_groups).into_iter().next()
                });
                let Some((traffic, _, forward)) = forward else { continue };
                let via = Via {
                    load_balancer: arn,
                    listener_port: listener.port,
                    target_group: group,
                    target_port: target.port,
                };
                rows.push(Reach {
                    source: lb.node,
                    destination: d.node,
                    traffic,
                    ipv6: false,
                    mechanism: "load_balancer",
                    evidence: Evidence::Forward { via: via.clone(), forward: forward.clone() },
                });
                // A network load balancer without security groups keeps the client's address, so
                // the target itself must admit the internet.
                let target_admits_client = lb.has_groups
                    || d.groups.iter().flat_map(|g| t.ingress_of.get(g).into_iter().flatten()).any(|r| {
                        let rule = &t.rules[*r];
                        rule.names_internet(false)
                            && Traffic::new(rule.protocol, rule.ports).intersect(to_target).is_some()
                    });
                if let (Some((front_traffic, exposure, _)), true) = (&exposed, target_admits_client) {
                    rows.push(Reach {
                        source: INTERNET,
                        destination: d.node,
                        traffic: *front_traffic,
                        ipv6: false,
                        mechanism: "load_balancer",
                        evidence: Evidence::Through { via, exposure: exposure.clone(), forward },
                    });
                }
            }
        }
    }
}
