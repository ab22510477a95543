//! Network exposure: one snapshot's VPC topology flattened into `reachability` rows ("source can
//! reach destination over protocol/ports via mechanism", with the rules that allow it), attack
//! paths walked over them, and DNS names bridged to the resources behind them.
//!
//! Nodes (`network_nodes`): `internet`, every network interface (by ENI id, labelled with the
//! instance, database or load balancer it belongs to) and every load balancer (by ARN).
//!
//! The AWS semantics followed, all of them required for a row to exist:
//! - security groups are stateful allow-lists, matched by CIDR (v4/v6), by group membership of
//!   the peer's interfaces (within the VPC, or across an active peering) and by managed prefix
//!   list entries; the source's egress and the destination's ingress must both allow;
//! - network ACLs are stateless, first match by rule number wins, and are only crossed between
//!   different subnets: the request through the source subnet's outbound and destination
//!   subnet's inbound rules, the reply to the client's ephemeral ports back through both;
//! - routes: within a VPC the local route; across VPCs an active peering with a route each way;
//!   from the internet, the subnet's route table (or the VPC's main one) must send the default
//!   route of that address family to an internet gateway attached to the VPC, and the interface
//!   needs a public address (public IP or EIP for IPv4, a global address for IPv6);
//! - an internet-facing load balancer exposes the targets its listeners forward to, when the
//!   path from the load balancer to the target is itself allowed.
//!
//! Anything the rules name but the snapshot does not hold (a deleted group or prefix list, a
//! route to a missing gateway) becomes a `network_findings` row and never reachability.
