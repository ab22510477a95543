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

pub mod flatten;
pub mod paths;
pub mod rules;
pub mod store;
pub mod topology;

use crate::error::{database, pool as pool_error, Result};
use deadpool_postgres::Pool;
use serde::Serialize;
use std::time::Instant;

/// What one flattening produced, with its timings.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FlattenSummary {
    pub snapshot_id: i64,
    pub nodes: usize,
    pub endpoints: usize,
    pub security_group_rules: usize,
    pub reachability_rows: usize,
    pub internet_exposed_nodes: usize,
    pub findings: usize,
    pub load_ms: u64,
    pub compute_ms: u64,
    pub store_ms: u64,
}

/// Flatten snapshot `snapshot_id` (a finished inventory snapshot) into `network_nodes`,
/// `reachability` and `network_findings`, replacing an earlier flattening of it.
pub async fn flatten_snapshot(pool: &Pool, snapshot_id: i64) -> Result<FlattenSummary> {
    // Checked before the work: a finished snapshot never changes, so it stays valid to the end.
    crate::snapshot::require_finished(pool, snapshot_id, "flattened").await?;
    let started = Instant::now();
    let topology = topology::load(pool, snapshot_id).await?;
    let load_ms = started.elapsed().as_millis() as u64;

    let started = Instant::now();
    let rows = flatten::flatten(&topology);
    let compute_ms = started.elapsed().as_millis() as u64;

    let mut exposed: Vec<usize> =
        rows.iter().filter(|r| r.source == flatten::INTERNET).map(|r| r.destination).collect();
    exposed.sort_unstable();
    exposed.dedup();
    let mut summary = FlattenSummary {
        snapshot_id,
        nodes: topology.nodes.len() + 1,
        endpoints: topology.endpoints.len(),
        security_group_rules: topology.rules.len(),
        reachability_rows: rows.len(),
        internet_exposed_nodes: exposed.len(),
        findings: topology.findings.len(),
        load_ms,
        compute_ms,
        store_ms: 0,
    };

    let started = Instant::now();
    let mut client = pool.get().await.map_err(pool_error)?;
    let tx = client.transaction().await.map_err(|e| database("store the flattening", e))?;
    let recorded = serde_json::to_value(&summary).unwrap_or_default();
    store::store(&tx, snapshot_id, &topology, &rows, &topology.findings, &recorded).await?;
    tx.commit().await.map_err(|e| database("store the flattening", e))?;
    summary.store_ms = started.elapsed().as_millis() as u64;
    Ok(summary)
}
