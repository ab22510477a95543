//! Attack paths: breadth-first walks over one snapshot's `reachability` graph, with a hop limit.
//!
//! Two kinds of walk:
//! - `internet`: from every node the internet reaches (an `internet → node` row). A path reads
//!   `internet, start, …, target`: the exposure row is its first hop and counts toward the limit.
//! - `east_west`: from a host (every interface of it), by default every instance with an active
//!   threat in the snapshot (an open GuardDuty finding or a Falcon alert that is not closed).
//!
//! A walk never revisits a node and never walks back into `internet`. What it reaches is counted
//! per *resource* (an instance with three interfaces is one host), the start's own resource
//! aside, and the first interface of a resource the walk meets carries its shortest path. Among
//! paths of equal length the walk prefers the lower node ids (neighbours are visited in id order),
//! so the same snapshot always gives the same paths.
//!
//! Ranking of starts: `score = 10 × databases + 5 × unprotected + 5 × vulnerable + reached`,
//! where `reached` counts every resource reached and the others the resources with that trait
//! (a database: an RDS instance; unprotected: an instance without a working Falcon sensor;
//! vulnerable: an instance with an active critical Inspector finding). A database weighs most
//! because it is where the data is; a host without EDR or with a critical hole is where an attacker
//! settles unseen. Rank 1 has the highest score; ties go to more resources reached, then start id.

use crate::error::{InventoryError, Result};
use deadpool_postgres::Pool;
use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Instant;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;

/// The hop limit when none is given.
pub const DEFAULT_MAX_HOPS: u32 = 6;
/// The most hops a walk may be asked for: beyond it every path in a VPC is already found.
pub const MAX_HOPS_LIMIT: u32 = 32;
/// The node every internet exposure starts from.
pub const INTERNET: &str = "internet";

/// Where walks start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Internet,
    EastWest,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Internet => "internet",
            Mode::EastWest => "east_west",
        }
    }
}

/// One hop of a path: the reachability row that allows it (the lowest id when several rows join
/// the same two nodes) and what it says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hop {
    pub from: String,
    pub to: String,
    pub reachability_id: i32,
    pub protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub mechanism: String,
    pub evidence: Value,
}

/// The shortest path from a start to one reached resource (`target` is the interface or load
/// balancer node the walk met it at).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttackPath {
    pub start: String,
    pub target: String,
    pub target_resource_type: Option<String>,
    pub target_resource_id: Option<String>,
    pub target_traits: Vec<String>,
    pub hops: Vec<Hop>,
}

/// A stored starting point with its rank and the stored paths to the resources that matter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankedStart {
    pub mode: Mode,
    pub rank: i32,
    pub start_id: String,
    pub start_resource_type: Option<String>,
    pub start_resource_id: Option<String>,
    pub score: i32,
    pub reached: i32,
    pub reached_databases: i32,
    pub reached_unprotected: i32,
    pub reached_vulnerable: i32,
    pub max_hops: i32,
    pub paths: Vec<AttackPath>,
}

/// What `store_paths` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathsSummary {
    pub snapshot_id: i64,
    pub max_hops: u32,
    pub nodes: usize,
    /// Distinct source → destination pairs.
    pub edges: usize,
    pub reachability_rows: usize,
    pub internet_starts: usize,
    pub east_west_starts: usize,
    pub internet_paths: usize,
    pub east_west_paths: usize,
    pub timings_ms: PathsTimings,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathsTimings {
    pub load: u64,
    pub walk: u64,
    pub store: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Traits {
    database: bool,
    unprotected: bool,
    vulnerable: bool,
}

impl Traits {
    fn any(self) -> bool {
        self.database || self.unprotected || self.vulnerable
    }

    fn names(self) -> Vec<String> {
        [(self.database, "database"), (self.unprotected, "unprotected"), (self.vulnerable, "vulnerable")]
            .into_iter()
            .filter(|(has, _)| *has)
            .map(|(_, name)| name.to_owned())
            .collect()
    }
}

#[derive(Debug)]
struct Node {
    id: String,
    resource_type: Option<String>,
    resource_id: Option<String>,
    /// Dense number of the resource (`resource_id`, or the node id when it has none).
    resource: usize,
    traits: Traits,
}

/// The reachability rows joining one source to one destination, ascending; the first is the one
/// a path cites.
#[derive(Debug)]
struct Edge {
    reachability_ids: Vec<i32>,
}

impl Edge {
    fn hop_row(&self) -> i32 {
        // Never empty: every edge comes from at least one row (array_agg over a group).
        self.reachability_ids.first().copied().unwrap_or_default()
    }
}

/// One snapshot's reachability as a graph, with node labels and traits.
#[derive(Debug)]
pub struct ReachGraph {
    snapshot_id: i64,
    graph: DiGraph<Node, Edge>,
    index: HashMap<String, NodeIndex>,
    internet: Option<NodeIndex>,
    resources: usize,
    reachability_rows: usize,
}

/// Counts of one walk, the start's own resource aside.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Reach {
    reached: i32,
    databases: i32,
    unprotected: i32,
    vulnerable: i32,
}

impl Reach {
    /// See the module documentation for why these weights.
    fn score(self) -> i32 {
        10 * self.databases + 5 * self.unprotected + 5 * self.vulnerable + self.reached
    }
}

/// Per-walk bookkeeping reused across walks: a walk bumps `stamp` instead of clearing vectors.
struct Scratch {
    stamp: u32,
    seen: Vec<u32>,
    resource_seen: Vec<u32>,
    depth: Vec<u32>,
    parent: Vec<Option<EdgeIndex>>,
    queue: VecDeque<NodeIndex>,
}

impl Scratch {
    fn new(graph: &ReachGraph) -> Scratch {
        let nodes = graph.graph.node_count();
        Scratch {
            stamp: 0,
            seen: vec![0; nodes],
            resource_seen: vec![0; graph.resources],
            depth: vec![0; nodes],
            parent: vec![None; nodes],
            queue: VecDeque::new(),
        }
    }
}

/// A path as the walk found it: nodes in order and the reachability row of each hop.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FoundPath {
    target: NodeIndex,
    target_id: String,
    traits: Traits,
    nodes: Vec<String>,
    reachability_ids: Vec<i32>,
}

impl ReachGraph {
    /// Load `snapshot_id`'s graph: one edge per distinct source → destination, node labels from
    /// `network_nodes` and the traits of each node's resource.
    pub async fn load(pool: &Pool, snapshot_id: i64) -> Result<ReachGraph> {
        let client = pool.get().await.map_err(crate::error::pool)?;
        let labelled = client
            .query(
                "SELECT n.node_id, n.resource_type, n.resource_id, \
                        coalesce(n.resource_type = 'rds_db_instance', false), \
                        n.resource_type = 'ec2_instance' AND EXISTS (SELECT 1 FROM edr_instances e \
                            WHERE e.snapshot_id = n.snapshot_id AND e.instance_id = n.resource_id AND e.status = 'unprotected'), \
                        n.resource_type = 'ec2_instance' AND EXISTS (SELECT 1 FROM inspector_findings f \
                            WHERE f.snapshot_id = n.snapshot_id AND f.resource_id = n.resource_id \
                              AND f.severity = 'CRITICAL' AND f.status = 'ACTIVE') \
                 FROM network_nodes n WHERE n.snapshot_id = $1 ORDER BY n.node_id",
                &[&snapshot_id],
            )
            .await
            .map_err(|e| crate::error::database("load network nodes", e))?;
        // Destinations descending: petgraph lists a node's edges newest first, so a walk then
        // visits neighbours in ascending id order.
        let edges = client
            .query(
                "SELECT source_id, destination_id, array_agg(id ORDER BY id) FROM reachability \
                 WHERE snapshot_id = $1 GROUP BY source_id, destination_id ORDER BY source_id, destination_id DESC",
                &[&snapshot_id],
            )
            .await
            .map_err(|e| crate::error::database("load reachability", e))?;

        let mut graph = ReachGraph {
            snapshot_id,
            graph: DiGraph::with_capacity(labelled.len(), edges.len()),
            index: HashMap::with_capacity(labelled.len()),
            internet: None,
            resources: 0,
            reachability_rows: 0,
        };
        let mut resources: HashMap<String, usize> = HashMap::new();
        for row in &labelled {
            let traits = Traits {
                database: row.get(3),
                unprotected: row.get::<_, Option<bool>>(4).unwrap_or(false),
                vulnerable: row.get::<_, Option<bool>>(5).unwrap_or(false),
            };
            graph.add_node(&mut resources, row.get(0), row.get(1), row.get(2), traits);
        }
        for row in &edges {
            let source: String = row.get(0);
            let destination: String = row.get(1);
            let reachability_ids: Vec<i32> = row.get(2);
            // A row may name a node the labels lack; it is still a place on the way.
            let from = graph.node_or_unlabelled(&mut resources, source);
            let to = graph.node_or_unlabelled(&mut resources, destination);
            graph.reachability_rows += reachability_ids.len();
            graph.graph.add_edge(from, to, Edge { reachability_ids });
        }
        graph.resources = resources.len();
        graph.internet = graph.index.get(INTERNET).copied();
        Ok(graph)
    }

    fn add_node(
        &mut self,
        resources: &mut HashMap<String, usize>,
        id: String,
        resource_type: Option<String>,
        resource_id: Option<String>,
        traits: Traits,
    ) -> NodeIndex {
        let key = resource_id.clone().unwrap_or_else(|| id.clone());
        let next = resources.len();
        let resource = *resources.entry(key).or_insert(next);
        let index = self.graph.add_node(Node { id: id.clone(), resource_type, resource_id, resource, traits });
        self.index.insert(id, index);
        index
    }

    fn node_or_unlabelled(&mut self, resources: &mut HashMap<String, usize>, id: String) -> NodeIndex {
        match self.index.get(&id) {
            Some(index) => *index,
            None => self.add_node(resources, id, None, None, Traits::default()),
        }
    }

    pub fn snapshot_id(&self) -> i64 {
        self.snapshot_id
    }

    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    /// Distinct source → destination pairs.
    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    pub fn reachability_rows(&self) -> usize {
        self.reachability_rows
    }

    /// Every node the internet reaches directly, in id order.
    pub fn exposed_nodes(&self) -> Vec<String> {
        let mut exposed: Vec<String> = match self.internet {
            Some(internet) => self.graph.neighbors(internet).map(|n| self.graph[n].id.clone()).collect(),
            None => Vec::new(),
        };
        exposed.sort();
        exposed
    }

    /// Every node within `max_hops` of the internet through `start` (an exposed node), with its
    /// hop count counting the exposure hop, in id order; nodes, not resources, so a walk in
    /// another engine can be checked against it.
    pub fn hops_from_internet(&self, start: &str, max_hops: u32) -> Vec<(String, u32)> {
        let Some(&start) = self.index.get(start) else {
            return Vec::new();
        };
        let mut scratch = Scratch::new(self);
        self.walk(&[start], max_hops.saturating_sub(1), &mut scratch);
        let stamp = scratch.stamp;
        let mut reached: Vec<(String, u32)> = self
            .graph
            .node_indices()
            .filter(|n| scratch.seen[n.index()] == stamp)
            .map(|n| (self.graph[n].id.clone(), scratch.depth[n.index()] + 1))
            .collect();
        reached.sort();
        reached
    }

    /// Breadth-first from `starts` up to `max_depth` hops; returns the node each other resource
    /// was first met at, in the order met. Each node is queued at most once, so the loop ends.
    fn walk(&self, starts: &[NodeIndex], max_depth: u32, scratch: &mut Scratch) -> Vec<NodeIndex> {
        scratch.stamp += 1;
        let stamp = scratch.stamp;
        scratch.queue.clear();
        for &start in starts {
            scratch.seen[start.index()] = stamp;
            scratch.depth[start.index()] = 0;
            scratch.parent[start.index()] = None;
            scratch.resource_seen[self.graph[start].resource] = stamp;
            scratch.queue.push_back(start);
        }
        let mut targets = Vec::new();
        while let Some(node) = scratch.queue.pop_front() {
            let depth = scratch.depth[node.index()];
            if depth >= max_depth {
                continue;
            }
            for edge in self.graph.edges(node) {
                let next = edge.target();
                if Some(next) == self.internet || scratch.seen[next.index()] == stamp {
                    continue;
                }
                scratch.seen[next.index()] = stamp;
                scratch.depth[next.index()] = depth + 1;
                scratch.parent[next.index()] = Some(edge.id());
                scratch.queue.push_back(next);
                let resource = self.graph[next].resource;
                if scratch.resource_seen[resource] != stamp {
                    scratch.resource_seen[resource] = stamp;
                    targets.push(next);
                }
            }
        }
        targets
    }

    /// The path the last walk found to `target`, preceded by the exposure hop when given.
    fn path_to(&self, target: NodeIndex, scratch: &Scratch, exposure: Option<EdgeIndex>) -> FoundPath {
        let mut nodes = vec![self.graph[target].id.clone()];
        let mut reachability_ids = Vec::new();
        let mut at = target;
        // Parents lead back to a start within depth[target] steps.
        while let Some(edge) = scratch.parent[at.index()] {
            let Some((from, _)) = self.graph.edge_endpoints(edge) else { break };
            reachability_ids.push(self.graph[edge].hop_row());
            nodes.push(self.graph[from].id.clone());
            at = from;
        }
        if let Some(edge) = exposure {
            reachability_ids.push(self.graph[edge].hop_row());
            nodes.push(INTERNET.to_owned());
        }
        nodes.reverse();
        reachability_ids.reverse();
        let label = &self.graph[target];
        FoundPath { target, target_id: label.id.clone(), traits: label.traits, nodes, reachability_ids }
    }

    fn reach_of(&self, targets: &[NodeIndex]) -> Reach {
        let mut reach = Reach { reached: targets.len() as i32, ..Reach::default() };
        for &target in targets {
            let traits = self.graph[target].traits;
            reach.databases += i32::from(traits.database);
            reach.unprotected += i32::from(traits.unprotected);
            reach.vulnerable += i32::from(traits.vulnerable);
        }
        reach
    }

    /// The walk from one exposed node: counts, and the paths to resources with a trait (or all).
    fn walk_from_internet(
        &self,
        start: NodeIndex,
        max_hops: u32,
        all: bool,
        scratch: &mut Scratch,
    ) -> (Reach, Vec<FoundPath>) {
        let exposure = self.internet.and_then(|internet| self.graph.find_edge(internet, start));
        let targets = self.walk(&[start], max_hops.saturating_sub(1), scratch);
        let paths = targets
            .iter()
            .filter(|t| all || self.graph[**t].traits.any())
            .map(|t| self.path_to(*t, scratch, exposure))
            .collect();
        (self.reach_of(&targets), paths)
    }

    fn walk_from_hosts(
        &self,
        starts: &[NodeIndex],
        max_hops: u32,
        all: bool,
        scratch: &mut Scratch,
    ) -> (Reach, Vec<FoundPath>) {
        let targets = self.walk(starts, max_hops, scratch);
        let paths = targets
            .iter()
            .filter(|t| all || self.graph[**t].traits.any())
            .map(|t| self.path_to(*t, scratch, None))
            .collect();
        (self.reach_of(&targets), paths)
    }
}

/// Refuse a hop limit outside 1 to [`MAX_HOPS_LIMIT`].
pub(crate) fn check_max_hops(max_hops: u32) -> Result<()> {
    if (1..=MAX_HOPS_LIMIT).contains(&max_hops) {
        Ok(())
    } else {
        Err(InventoryError::invalid_input(format!("max hops must be between 1 and {MAX_HOPS_LIMIT}, not {max_hops}")))
    }
}

async fn check_snapshot(pool: &Pool, snapshot_id: i64) -> Result<()> {
    let client = pool.get().await.map_err(crate::error::pool)?;
    let exists = client
        .query_opt("SELECT 1 FROM snapshots WHERE id = $1", &[&snapshot_id])
        .await
        .map_err(|e| crate::error::database("find the snapshot", e))?;
    match exists {
        Some(_) => Ok(()),
        None => Err(InventoryError::invalid_input(format!("snapshot {snapshot_id} does not exist"))),
    }
}

/// The snapshot to read: the given one, or the current one (the newest reconciled).
pub async fn resolve_snapshot(pool: &Pool, snapshot_id: Option<i64>) -> Result<i64> {
    if let Some(id) = snapshot_id {
        check_snapshot(pool, id).await?;
        return Ok(id);
    }
    let client = pool.get().await.map_err(crate::error::pool)?;
    let row = client
        .query_one("SELECT current_inventory_snapshot()", &[])
        .await
        .map_err(|e| crate::error::database("find the current snapshot", e))?;
    row.get::<_, Option<i64>>(0).ok_or_else(|| {
        InventoryError::invalid_input("no reconciled inventory snapshot yet; run collect --reconcile first")
    })
}

/// Interface nodes of the instances with an active threat in the snapshot: the `active_threats`
/// view's two sources (an unarchived GuardDuty finding on a live instance; an alert that is not
/// closed or resolved on a live Falcon host matched to an instance), for this snapshot.
async fn threatened_nodes(pool: &Pool, snapshot_id: i64) -> Result<Vec<String>> {
    let client = pool.get().await.map_err(crate::error::pool)?;
    let rows = client
        .query(
            "SELECT n.node_id FROM network_nodes n \
             WHERE n.snapshot_id = $1 AND n.resource_type = 'ec2_instance' AND n.resource_id IN ( \
                 SELECT g.instance_id FROM guardduty_findings g \
                 JOIN edr_instances e ON e.snapshot_id = g.snapshot_id AND e.instance_id = g.instance_id \
                 WHERE g.snapshot_id = $1 AND NOT coalesce(g.archived, false) \
                 UNION \
                 SELECT f.instance_id FROM falcon_alerts a \
                 JOIN edr_falcon_hosts f ON f.snapshot_id = a.snapshot_id AND f.device_id = a.device_id AND f.status = 'live' \
                 WHERE a.snapshot_id = $1 AND coalesce(a.status, 'new') NOT IN ('closed', 'resolved')) \
             ORDER BY n.node_id",
            &[&snapshot_id],
        )
        .await
        .map_err(|e| crate::error::database("find threatened hosts", e))?;
    Ok(rows.into_iter().map(|r| r.get(0)).collect())
}

/// One walked start, ready to rank and store.
struct WalkedStart {
    mode: Mode,
    start_id: String,
    reach: Reach,
    paths: Vec<FoundPath>,
}

fn walk_all(graph: &ReachGraph, threatened: &[String], max_hops: u32) -> Vec<WalkedStart> {
    let mut scratch = Scratch::new(graph);
    let mut walked = Vec::new();
    for start_id in graph.exposed_nodes() {
        if let Some(&start) = graph.index.get(&start_id) {
            let (reach, paths) = graph.walk_from_internet(start, max_hops, false, &mut scratch);
            walked.push(WalkedStart { mode: Mode::Internet, start_id, reach, paths });
        }
    }
    for start_id in threatened {
        if let Some(&start) = graph.index.get(start_id) {
            let (reach, paths) = graph.walk_from_hosts(&[start], max_hops, false, &mut scratch);
            walked.push(WalkedStart { mode: Mode::EastWest, start_id: start_id.clone(), reach, paths });
        }
    }
    walked
}

/// Rank within each mode: highest score first, then more reached, then start id.
fn ranked(mut walked: Vec<WalkedStart>) -> Vec<(i32, WalkedStart)> {
    walked.sort_by(|a, b| {
        (a.mode.as_str(), b.reach.score(), b.reach.reached, &a.start_id).cmp(&(
            b.mode.as_str(),
            a.reach.score(),
            a.reach.reached,
            &b.start_id,
        ))
    });
    let mut rank_in_mode: BTreeMap<&'static str, i32> = BTreeMap::new();
    walked
        .into_iter()
        .map(|w| {
            let rank = rank_in_mode.entry(w.mode.as_str()).or_insert(0);
            *rank += 1;
            (*rank, w)
        })
        .collect()
}

/// Walk the snapshot from every internet-exposed node and every threatened host, rank the starts
/// and replace the snapshot's `attack_path_starts` and `attack_paths` (both modes) in one
/// transaction. Only the paths to resources with a trait are stored.
pub async fn store_paths(pool: &Pool, snapshot_id: i64, max_hops: u32) -> Result<PathsSummary> {
    check_max_hops(max_hops)?;
    check_snapshot(pool, snapshot_id).await?;
    let started = Instant::now();
    let graph = ReachGraph::load(pool, snapshot_id).await?;
    let threatened = threatened_nodes(pool, snapshot_id).await?;
    let load_ms = started.elapsed().as_millis() as u64;

    let started = Instant::now();
    // The walk is CPU-bound; keep it off the async workers.
    let (graph, walked) = tokio::task::spawn_blocking(move || {
        let walked = walk_all(&graph, &threatened, max_hops);
        (graph, walked)
    })
    .await
    .map_err(|e| InventoryError::permanent(format!("the attack-path walk of snapshot {snapshot_id} failed: {e}")))?;
    let ranked = ranked(walked);
    let walk_ms = started.elapsed().as_millis() as u64;

    let started = Instant::now();
    let (internet_paths, east_west_paths) = store(pool, snapshot_id, max_hops, &ranked).await?;
    let store_ms = started.elapsed().as_millis() as u64;

    let starts = |mode: Mode| ranked.iter().filter(|(_, w)| w.mode == mode).count();
    Ok(PathsSummary {
        snapshot_id,
        max_hops,
        nodes: graph.node_count(),
        edges: graph.edge_count(),
        reachability_rows: graph.reachability_rows,
        internet_starts: starts(Mode::Internet),
        east_west_starts: starts(Mode::EastWest),
        internet_paths,
        east_west_paths,
        timings_ms: PathsTimings { load: load_ms, walk: walk_ms, store: store_ms },
    })
}

/// Replace the snapshot's stored starts and paths; returns the paths stored per mode.
async fn store(pool: &Pool, snapshot_id: i64, max_hops: u32, ranked: &[(i32, WalkedStart)]) -> Result<(usize, usize)> {
    let what = "store attack paths";
    let mut client = pool.get().await.map_err(crate::error::pool)?;
    let tx = client.transaction().await.map_err(|e| crate::error::database(what, e))?;
    tx.execute("DELETE FROM attack_paths WHERE snapshot_id = $1", &[&snapshot_id])
        .await
        .map_err(|e| crate::error::database(what, e))?;
    tx.execute("DELETE FROM attack_path_starts WHERE snapshot_id = $1", &[&snapshot_id])
        .await
        .map_err(|e| crate::error::database(what, e))?;
    let max_hops = max_hops as i32;

    let sink = tx
        .copy_in(
            "COPY attack_path_starts (snapshot_id, mode, start_id, max_hops, rank, score, reached, \
             reached_databases, reached_unprotected, reached_vulnerable) FROM STDIN BINARY",
        )
        .await
        .map_err(|e| crate::error::database(what, e))?;
    let types = [
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::INT4,
        Type::INT4,
        Type::INT4,
        Type::INT4,
        Type::INT4,
        Type::INT4,
        Type::INT4,
    ];
    let writer = BinaryCopyInWriter::new(sink, &types);
    futures::pin_mut!(writer);
    for (rank, w) in ranked {
        let r = w.reach;
        writer
            .as_mut()
            .write(&[
                &snapshot_id,
                &w.mode.as_str(),
                &w.start_id,
                &max_hops,
                rank,
                &r.score(),
                &r.reached,
                &r.databases,
                &r.unprotected,
                &r.vulnerable,
            ])
            .await
            .map_err(|e| crate::error::database(what, e))?;
    }
    writer.finish().await.map_err(|e| crate::error::database(what, e))?;

    let sink = tx
        .copy_in(
            "COPY attack_paths (snapshot_id, mode, start_id, target_id, target_traits, hops, nodes, reachability_ids) \
             FROM STDIN BINARY",
        )
        .await
        .map_err(|e| crate::error::database(what, e))?;
    let types = [
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT_ARRAY,
        Type::INT4,
        Type::TEXT_ARRAY,
        Type::INT4_ARRAY,
    ];
    let writer = BinaryCopyInWriter::new(sink, &types);
    futures::pin_mut!(writer);
    let (mut internet_paths, mut east_west_paths) = (0, 0);
    for (_, w) in ranked {
        for path in &w.paths {
            let traits = path.traits.names();
            let hops = path.reachability_ids.len() as i32;
            writer
                .as_mut()
                .write(&[
                    &snapshot_id,
                    &w.mode.as_str(),
                    &w.start_id,
                    &path.target_id,
                    &traits,
                    &hops,
                    &path.nodes,
                    &path.reachability_ids,
                ])
                .await
                .map_err(|e| crate::error::database(what, e))?;
            match w.mode {
                Mode::Internet => internet_paths += 1,
                Mode::EastWest => east_west_paths += 1,
            }
        }
    }
    writer.finish().await.map_err(|e| crate::error::database(what, e))?;
    tx.commit().await.map_err(|e| crate::error::database(what, e))?;
    Ok((internet_paths, east_west_paths))
}

/// The hop details of the given reachability rows of a snapshot, by id.
async fn hop_rows(pool: &Pool, snapshot_id: i64, ids: &[i32]) -> Result<HashMap<i32, Hop>> {
    let client = pool.get().await.map_err(crate::error::pool)?;
    let rows = client
        .query(
            "SELECT id, source_id, destination_id, protocol, from_port, to_port, mechanism, evidence \
             FROM reachability WHERE snapshot_id = $1 AND id = ANY($2)",
            &[&snapshot_id, &ids],
        )
        .await
        .map_err(|e| crate::error::database("read the hops of attack paths", e))?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let hop = Hop {
                from: r.get(1),
                to: r.get(2),
                reachability_id: r.get(0),
                protocol: r.get(3),
                from_port: r.get(4),
                to_port: r.get(5),
                mechanism: r.get(6),
                evidence: r.get(7),
            };
            (hop.reachability_id, hop)
        })
        .collect())
}

/// A path's hops from its reachability ids; a row missing from the snapshot is an error, never a
/// silently shorter path.
fn hops_of(snapshot_id: i64, ids: &[i32], rows: &HashMap<i32, Hop>) -> Result<Vec<Hop>> {
    ids.iter()
        .map(|id| {
            rows.get(id).cloned().ok_or_else(|| {
                InventoryError::permanent(format!(
                    "snapshot {snapshot_id} has no reachability row {id} an attack path cites"
                ))
            })
        })
        .collect()
}

/// The nodes `from` names in the snapshot: a node id, or the resource behind nodes (instance id,
/// DB instance identifier, load balancer ARN), or a load balancer's name.
async fn resolve_nodes(pool: &Pool, snapshot_id: i64, from: &str) -> Result<Vec<String>> {
    if from == INTERNET {
        return Err(InventoryError::invalid_input(
            "the internet is not a host to walk from; the stored internet-inward ranking (no --from) covers it",
        ));
    }
    let client = pool.get().await.map_err(crate::error::pool)?;
    let rows = client
        .query(
            "SELECT node_id FROM network_nodes WHERE snapshot_id = $1 AND node_id <> 'internet' \
               AND (node_id = $2 OR resource_id = $2 OR (kind = 'load_balancer' AND name = $2)) \
             ORDER BY node_id",
            &[&snapshot_id, &from],
        )
        .await
        .map_err(|e| crate::error::database("find the start of a walk", e))?;
    if rows.is_empty() {
        return Err(InventoryError::invalid_input(format!(
            "snapshot {snapshot_id} has no network node, instance, database or load balancer called {from:?}"
        )));
    }
    Ok(rows.into_iter().map(|r| r.get(0)).collect())
}

/// Walk east-west from `from` (every node of it) up to `max_hops` and return the shortest path to
/// every resource reached, nearest first. Nothing is stored.
pub async fn paths_from(pool: &Pool, snapshot_id: i64, from: &str, max_hops: u32) -> Result<Vec<AttackPath>> {
    check_max_hops(max_hops)?;
    let start_ids = resolve_nodes(pool, snapshot_id, from).await?;
    let graph = ReachGraph::load(pool, snapshot_id).await?;
    let starts: Vec<NodeIndex> = start_ids.iter().filter_map(|id| graph.index.get(id).copied()).collect();
    let mut scratch = Scratch::new(&graph);
    let (_, found) = graph.walk_from_hosts(&starts, max_hops, true, &mut scratch);
    let ids: Vec<i32> = found.iter().flat_map(|p| p.reachability_ids.iter().copied()).collect();
    let rows = hop_rows(pool, snapshot_id, &ids).await?;
    let mut paths = found
        .iter()
        .map(|p| {
            let target = &graph.graph[p.target];
            Ok(AttackPath {
                start: p.nodes.first().cloned().unwrap_or_default(),
                target: p.target_id.clone(),
                target_resource_type: target.resource_type.clone(),
                target_resource_id: target.resource_id.clone(),
                target_traits: p.traits.names(),
                hops: hops_of(snapshot_id, &p.reachability_ids, &rows)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    paths.sort_by(|a, b| (a.hops.len(), &a.target).cmp(&(b.hops.len(), &b.target)));
    Ok(paths)
}

/// The stored ranking of `mode` (best first, at most `limit` starts), each start with its stored
/// paths, nearest first.
pub async fn top_paths(pool: &Pool, snapshot_id: i64, mode: Mode, limit: i64) -> Result<Vec<RankedStart>> {
    let what = "read the attack-path ranking";
    let client = pool.get().await.map_err(crate::error::pool)?;
    let starts = client
        .query(
            "SELECT s.start_id, n.resource_type, n.resource_id, s.rank, s.score, s.reached, s.reached_databases, \
                    s.reached_unprotected, s.reached_vulnerable, s.max_hops \
             FROM attack_path_starts s \
             LEFT JOIN network_nodes n ON n.snapshot_id = s.snapshot_id AND n.node_id = s.start_id \
             WHERE s.snapshot_id = $1 AND s.mode = $2 ORDER BY s.rank LIMIT $3",
            &[&snapshot_id, &mode.as_str(), &limit.max(0)],
        )
        .await
        .map_err(|e| crate::error::database(what, e))?;
    let start_ids: Vec<String> = starts.iter().map(|r| r.get(0)).collect();
    let stored = client
        .query(
            "SELECT p.start_id, p.target_id, n.resource_type, n.resource_id, p.target_traits, p.reachability_ids \
             FROM attack_paths p \
             LEFT JOIN network_nodes n ON n.snapshot_id = p.snapshot_id AND n.node_id = p.target_id \
             WHERE p.snapshot_id = $1 AND p.mode = $2 AND p.start_id = ANY($3) \
             ORDER BY p.start_id, p.hops, p.target_id",
            &[&snapshot_id, &mode.as_str(), &start_ids],
        )
        .await
        .map_err(|e| crate::error::database(what, e))?;
    drop(client);
    let ids: Vec<i32> = stored.iter().flat_map(|r| r.get::<_, Vec<i32>>(5)).collect();
    let rows = hop_rows(pool, snapshot_id, &ids).await?;
    let mut paths_by_start: HashMap<String, Vec<AttackPath>> = HashMap::new();
    for r in &stored {
        let start: String = r.get(0);
        let ids: Vec<i32> = r.get(5);
        let path = AttackPath {
            start: start.clone(),
            target: r.get(1),
            target_resource_type: r.get(2),
            target_resource_id: r.get(3),
            target_traits: r.get(4),
            hops: hops_of(snapshot_id, &ids, &rows)?,
        };
        paths_by_start.entry(start).or_default().push(path);
    }
    Ok(starts
        .iter()
        .map(|r| {
            let start_id: String = r.get(0);
            RankedStart {
                mode,
                paths: paths_by_start.remove(&start_id).unwrap_or_default(),
                start_id,
                start_resource_type: r.get(1),
                start_resource_id: r.get(2),
                rank: r.get(3),
                score: r.get(4),
                reached: r.get(5),
                reached_databases: r.get(6),
                reached_unprotected: r.get(7),
                reached_vulnerable: r.get(8),
                max_hops: r.get(9),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_weighs_databases_most_then_unprotected_and_vulnerable_hosts() {
        let reach = Reach { reached: 7, databases: 2, unprotected: 1, vulnerable: 3 };
        assert_eq!(reach.score(), 20 + 5 + 15 + 7);
        assert_eq!(Reach::default().score(), 0);
    }

    #[test]
    fn trait_names_follow_a_fixed_order() {
        let all = Traits { database: true, unprotected: true, vulnerable: true };
        assert_eq!(all.names(), ["database", "unprotected", "vulnerable"]);
        assert!(!Traits::default().any());
        assert_eq!(Traits { vulnerable: true, ..Traits::default() }.names(), ["vulnerable"]);
    }

    #[test]
    fn max_hops_outside_the_range_is_refused() {
        assert!(check_max_hops(0).is_err());
        assert!(check_max_hops(MAX_HOPS_LIMIT + 1).is_err());
        assert!(check_max_hops(1).is_ok());
        assert!(check_max_hops(MAX_HOPS_LIMIT).is_ok());
    }
}
