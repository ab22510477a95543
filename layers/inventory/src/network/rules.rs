//! The rule semantics the flattening applies: protocols and port ranges, security group rule
//! intersection, network ACL evaluation (first match by rule number wins) and longest-prefix
//! route lookup. Pure functions over the topology's types, tested on their own.

use ipnet::IpNet;
use std::net::IpAddr;

/// IANA protocol numbers the rules name; anything else is kept as its number.
pub const TCP: u8 = 6;
pub const UDP: u8 = 17;
pub const ICMP: u8 = 1;
pub const ICMPV6: u8 = 58;

/// A protocol as security group and NACL rules state it: every protocol (`-1`) or one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    All,
    Number(u8),
}

impl Protocol {
    /// `-1`/`all`, a name (`tcp`, `udp`, `icmp`, `icmpv6`) or a number, as the EC2 API spells them.
    pub fn parse(text: &str) -> Option<Protocol> {
        match text.trim().to_ascii_lowercase().as_str() {
            "-1" | "all" => Some(Protocol::All),
            "tcp" => Some(Protocol::Number(TCP)),
            "udp" => Some(Protocol::Number(UDP)),
            "icmp" => Some(Protocol::Number(ICMP)),
            "icmpv6" => Some(Protocol::Number(ICMPV6)),
            number => number.parse::<u8>().ok().map(Protocol::Number),
        }
    }

    /// Only TCP and UDP have ports; for other protocols a rule's port fields are ICMP type/code
    /// or unused.
    pub fn has_ports(self) -> bool {
        matches!(self, Protocol::Number(TCP) | Protocol::Number(UDP))
    }

    pub fn name(self) -> String {
        match self {
            Protocol::All => "all".into(),
            Protocol::Number(TCP) => "tcp".into(),
            Protocol::Number(UDP) => "udp".into(),
            Protocol::Number(ICMP) => "icmp".into(),
            Protocol::Number(ICMPV6) => "icmpv6".into(),
            Protocol::Number(n) => n.to_string(),
        }
    }
}

/// An inclusive port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ports {
    pub from: u16,
    pub to: u16,
}

impl Ports {
    pub const ALL: Ports = Ports { from: 0, to: 65535 };

    /// A rule's FromPort/ToPort; `-1`, missing or inverted means every port.
    pub fn from_rule(from: Option<i64>, to: Option<i64>) -> Ports {
        match (from, to) {
            (Some(f), Some(t)) if (0..=65535).contains(&f) && (0..=65535).contains(&t) && f <= t => {
                Ports { from: f as u16, to: t as u16 }
            }
            _ => Ports::ALL,
        }
    }

    pub fn intersect(self, other: Ports) -> Option<Ports> {
        let from = self.from.max(other.from);
        let to = self.to.min(other.to);
        (from <= to).then_some(Ports { from, to })
    }

    /// `self` minus `other`: zero, one or two ranges.
    pub fn minus(self, other: Ports) -> Vec<Ports> {
        let Some(overlap) = self.intersect(other) else { return vec![self] };
        let mut rest = Vec::new();
        if overlap.from > self.from {
            rest.push(Ports { from: self.from, to: overlap.from - 1 });
        }
        if overlap.to < self.to {
            rest.push(Ports { from: overlap.to + 1, to: self.to });
        }
        rest
    }
}

/// Traffic a rule allows: a protocol and, for TCP/UDP, a port range (ALL otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Traffic {
    pub protocol: Protocol,
    pub ports: Ports,
}

impl Traffic {
    pub fn new(protocol: Protocol, ports: Ports) -> Traffic {
        Traffic { protocol, ports: if protocol.has_ports() { ports } else { Ports::ALL } }
    }

    /// What both rules allow (a source's egress rule and a destination's ingress rule).
    pub fn intersect(self, other: Traffic) -> Option<Traffic> {
        match (self.protocol, other.protocol) {
            (Protocol::All, Protocol::All) => Some(self),
            (Protocol::All, p) | (p, Protocol::All) => {
                let ports = if self.protocol == Protocol::All { other.ports } else { self.ports };
                Some(Traffic::new(p, ports))
            }
            (a, b) if a == b => self.ports.intersect(other.ports).map(|ports| Traffic::new(a, ports)),
            _ => None,
        }
    }

    /// The ports column pair of a reachability row (NULL for portless traffic).
    pub fn port_columns(self) -> (Option<i32>, Option<i32>) {
        if self.protocol.has_ports() {
            (Some(i32::from(self.ports.from)), Some(i32::from(self.ports.to)))
        } else {
            (None, None)
        }
    }
}

/// Who a NACL entry is evaluated against: one address, or "the internet at large" (any public
/// client), which only entries covering the whole address family (`/0`) match — a narrower
/// entry decides for part of the internet, not for the host's exposure to everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Address(IpAddr),
    Internet { ipv6: bool },
}

impl Peer {
    fn matched_by(self, cidr: &IpNet) -> bool {
        match self {
            Peer::Address(ip) => cidr.contains(&ip),
            Peer::Internet { ipv6 } => cidr.prefix_len() == 0 && matches!(cidr, IpNet::V6(_)) == ipv6,
        }
    }
}

/// One NACL entry (`Entries[*]` of DescribeNetworkAcls).
#[derive(Debug, Clone, PartialEq)]
pub struct NaclEntry {
    pub rule_number: i64,
    pub egress: bool,
    pub protocol: Protocol,
    pub ports: Ports,
    pub cidr: IpNet,
    pub allow: bool,
}

/// The parts of `traffic` (to or from `peer`, in one direction) a NACL allows, each with the
/// number of the rule that allowed it. Entries must be sorted by rule number; the first entry
/// matching a packet decides, and what no entry allows is denied (the `*` rule).
pub fn nacl_allows(entries: &[NaclEntry], egress: bool, peer: Peer, traffic: Traffic) -> Vec<(Traffic, i64)> {
    let mut undecided = vec![traffic.ports];
    let mut allowed = Vec::new();
    for entry in entries.iter().filter(|e| e.egress == egress && peer.matched_by(&e.cidr)) {
        let covers = match (entry.protocol, traffic.protocol) {
            (Protocol::All, _) => Ports::ALL,
            (p, q) if p == q => {
                if p.has_ports() {
                    entry.ports
                } else {
                    Ports::ALL
                }
            }
            // A rule for one protocol says nothing about traffic of every protocol as a whole;
            // callers split `all` into protocols first (see `split_all`).
            _ => continue,
        };
        let mut still = Vec::new();
        for range in undecided {
            if let Some(hit) = range.intersect(covers) {
                if entry.allow {
                    allowed.push((Traffic::new(traffic.protocol, hit), entry.rule_number));
                }
                still.extend(range.minus(covers));
            } else {
                still.push(range);
            }
        }
        undecided = still;
        if undecided.is_empty() {
            break;
        }
    }
    allowed
}

/// Whether a NACL decides every protocol alike for this peer and direction before any
/// protocol-specific rule does, so `all` traffic need not be split.
pub fn nacl_is_protocol_blind(entries: &[NaclEntry], egress: bool, peer: Peer) -> bool {
    entries
        .iter()
        .find(|e| e.egress == egress && peer.matched_by(&e.cidr))
        .is_none_or(|first| first.protocol == Protocol::All)
}

/// `all` traffic as the protocols a protocol-specific NACL decides separately. Other IP protocols
/// are not followed through such a NACL (see the README).
pub fn split_all(ipv6: bool) -> [Traffic; 3] {
    [
        Traffic::new(Protocol::Number(TCP), Ports::ALL),
        Traffic::new(Protocol::Number(UDP), Ports::ALL),
        Traffic::new(Protocol::Number(if ipv6 { ICMPV6 } else { ICMP }), Ports::ALL),
    ]
}

/// Client ephemeral port ranges a reply may go to: the IANA dynamic range (Windows, macOS, most
/// clients) and Linux's default. A return path is open when a NACL lets replies reach all of one.
pub const EPHEMERAL_RANGES: [Ports; 2] = [Ports { from: 49152, to: 65535 }, Ports { from: 32768, to: 60999 }];

/// The client ephemeral range replies of `protocol` may reach through every one of `crossings`
/// (a NACL's entries, the reply's direction through it, and the client as its peer): the first
/// of [`EPHEMERAL_RANGES`] each of them allows whole. Portless protocols only need the protocol
/// allowed (reported as every port).
pub fn nacl_reply_range(crossings: &[(&[NaclEntry], bool, Peer)], protocol: Protocol) -> Option<Ports> {
    let allows_whole = |range: Ports| {
        crossings.iter().all(|(entries, egress, peer)| {
            let wanted = Traffic::new(protocol, range);
            let allowed = nacl_allows(entries, *egress, *peer, wanted);
            let covered: u32 = allowed.iter().map(|(t, _)| u32::from(t.ports.to) - u32::from(t.ports.from) + 1).sum();
            covered == u32::from(wanted.ports.to) - u32::from(wanted.ports.from) + 1
        })
    };
    if !protocol.has_ports() {
        return allows_whole(Ports::ALL).then_some(Ports::ALL);
    }
    EPHEMERAL_RANGES.iter().copied().find(|range| allows_whole(*range))
}

/// A route as DescribeRouteTables lists it, its destination resolved (prefix lists expanded by
/// the caller) and its target named by id (`local`, `igw-…`, `nat-…`, `pcx-…`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub destination: IpNet,
    pub target: String,
    pub active: bool,
}

/// The route a packet to `address` takes: the longest matching prefix among active routes.
pub fn longest_prefix_match(routes: &[Route], address: IpAddr) -> Option<&Route> {
    routes.iter().filter(|r| r.active && r.destination.contains(&address)).max_by_key(|r| r.destination.prefix_len())
}

/// The route "the internet" takes from a subnet: the active default route of the family.
pub fn default_route(routes: &[Route], ipv6: bool) -> Option<&Route> {
    routes.iter().find(|r| r.active && r.destination.prefix_len() == 0 && matches!(r.destination, IpNet::V6(_)) == ipv6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(rule_number: i64, egress: bool, protocol: &str, ports: (i64, i64), cidr: &str, allow: bool) -> NaclEntry {
        NaclEntry {
            rule_number,
            egress,
            protocol: Protocol::parse(protocol).unwrap(),
            ports: Ports::from_rule(Some(ports.0), Some(ports.1)),
            cidr: cidr.parse().unwrap(),
            allow,
        }
    }

    fn tcp(from: u16, to: u16) -> Traffic {
        Traffic::new(Protocol::Number(TCP), Ports { from, to })
    }

    #[test]
    fn first_matching_nacl_rule_wins_and_the_rest_is_denied() {
        let entries = vec![
            entry(90, false, "6", (22, 22), "0.0.0.0/0", false),
            entry(100, false, "6", (0, 1023), "0.0.0.0/0", true),
            entry(200, false, "-1", (0, 0), "10.0.0.0/8", true),
        ];
        let from_internet = nacl_allows(&entries, false, Peer::Address("203.0.113.9".parse().unwrap()), tcp(0, 2000));
        assert_eq!(from_internet, vec![(tcp(0, 21), 100), (tcp(23, 1023), 100)]);
        let from_inside = nacl_allows(&entries, false, Peer::Address("10.1.2.3".parse().unwrap()), tcp(20, 2000));
        assert_eq!(from_inside, vec![(tcp(20, 21), 100), (tcp(23, 1023), 100), (tcp(1024, 2000), 200)]);
        assert!(nacl_allows(&entries, true, Peer::Address("10.1.2.3".parse().unwrap()), tcp(0, 10)).is_empty());
    }

    #[test]
    fn the_internet_at_large_is_only_matched_by_whole_family_entries() {
        let entries = vec![
            entry(10, false, "-1", (0, 0), "198.51.100.0/24", false),
            entry(20, false, "6", (443, 443), "0.0.0.0/0", true),
        ];
        assert_eq!(
            nacl_allows(&entries, false, Peer::Internet { ipv6: false }, tcp(443, 443)),
            vec![(tcp(443, 443), 20)]
        );
        assert!(nacl_allows(&entries, false, Peer::Internet { ipv6: true }, tcp(443, 443)).is_empty());
    }

    #[test]
    fn a_return_path_needs_a_whole_ephemeral_range_through_every_crossing() {
        let internet = Peer::Internet { ipv6: false };
        let tcp_only = Protocol::Number(TCP);
        let only_https = vec![entry(100, true, "6", (443, 443), "0.0.0.0/0", true)];
        assert_eq!(nacl_reply_range(&[(&only_https, true, internet)], tcp_only), None);
        let linux = vec![entry(100, true, "6", (32768, 61000), "0.0.0.0/0", true)];
        assert_eq!(nacl_reply_range(&[(&linux, true, internet)], tcp_only), Some(Ports { from: 32768, to: 60999 }));
        let partial = vec![entry(100, true, "6", (1024, 50000), "0.0.0.0/0", true)];
        assert_eq!(nacl_reply_range(&[(&partial, true, internet)], tcp_only), None);
        // One side allows only the IANA range, the other only Linux's: no client gets both.
        let iana = vec![entry(100, false, "6", (49152, 65535), "0.0.0.0/0", true)];
        let linux_only = vec![entry(100, true, "6", (32768, 60999), "0.0.0.0/0", true)];
        assert_eq!(nacl_reply_range(&[(&iana, false, internet)], tcp_only), Some(Ports { from: 49152, to: 65535 }));
        assert_eq!(
            nacl_reply_range(&[(&linux_only, true, internet)], tcp_only),
            Some(Ports { from: 32768, to: 60999 })
        );
        assert_eq!(nacl_reply_range(&[(&iana, false, internet), (&linux_only, true, internet)], tcp_only), None);
        let everything = vec![entry(100, true, "-1", (0, 0), "0.0.0.0/0", true)];
        assert_eq!(nacl_reply_range(&[(&everything, true, internet)], Protocol::Number(ICMP)), Some(Ports::ALL));
    }

    #[test]
    fn traffic_intersection_follows_protocols_and_ports() {
        let all = Traffic::new(Protocol::All, Ports::ALL);
        assert_eq!(all.intersect(tcp(80, 90)), Some(tcp(80, 90)));
        assert_eq!(tcp(80, 90).intersect(tcp(85, 100)), Some(tcp(85, 90)));
        assert_eq!(tcp(80, 90).intersect(Traffic::new(Protocol::Number(UDP), Ports::ALL)), None);
        assert_eq!(Traffic::new(Protocol::Number(ICMP), Ports { from: 8, to: 8 }).port_columns(), (None, None));
    }

    #[test]
    fn routes_take_the_longest_prefix() {
        let routes = vec![
            Route { destination: "10.0.0.0/16".parse().unwrap(), target: "local".into(), active: true },
            Route { destination: "0.0.0.0/0".parse().unwrap(), target: "igw-1".into(), active: true },
            Route { destination: "10.1.0.0/16".parse().unwrap(), target: "pcx-1".into(), active: true },
            Route { destination: "10.1.5.0/24".parse().unwrap(), target: "nat-1".into(), active: false },
        ];
        assert_eq!(longest_prefix_match(&routes, "10.1.5.9".parse().unwrap()).unwrap().target, "pcx-1");
        assert_eq!(longest_prefix_match(&routes, "10.0.3.3".parse().unwrap()).unwrap().target, "local");
        assert_eq!(default_route(&routes, false).unwrap().target, "igw-1");
        assert!(default_route(&routes, true).is_none());
    }
}
