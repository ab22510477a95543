//! Attack-path walk: breadth-first search in Rust (petgraph) against a recursive SQL CTE doing the
//! same walk, on a synthetic estate written straight into `network_nodes` and `reachability`:
//! 20 VPCs of 250 interfaces (25 internet-facing web hosts, 100 app hosts, 120 data-tier hosts,
//! 5 databases each; web → app, app ↔ app, app → data and databases, data ↔ data, two bastions
//! reaching the whole VPC, half the VPCs peered in pairs), seeded: 258,203 rows over 235,589
//! distinct source → destination pairs. Both walk from each of the 500 internet-exposed nodes up
//! to 6 hops (the exposure hop included); the example checks they reach the same nodes at the same hop counts and prints the timings, then
//! the timings of `store_paths` (walk, rank and store both modes).
//!
//! `cargo run --release -p secops-inventory --example paths_compare`

use bytes::Bytes;
use futures::SinkExt;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use secops_inventory::network::paths::{self, ReachGraph};
use secops_store::testing::TestDb;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Instant;

const SEED: u64 = 6;
const VPCS: usize = 20;
const WEB: usize = 25;
const APP: usize = 100;
const DATA: usize = 120;
const DATABASES: usize = 5;
const MAX_HOPS: u32 = 6;

/// Node `n` of VPC `v`: web hosts first, then app, data (the first two are bastions), databases.
fn node(v: usize, n: usize) -> String {
    format!("eni-{v:02}-{n:04}")
}

fn tier(v: usize, start: usize, len: usize) -> Vec<String> {
    (start..start + len).map(|n| node(v, n)).collect()
}

struct Estate {
    nodes: String,
    reachability: String,
    unprotected: String,
    rows: usize,
}

impl Estate {
    fn edge(&mut self, snapshot: i64, from: &str, to: &str, port: u16, mechanism: &str) {
        self.rows += 1;
        // COPY text: snapshot, id, source, destination, protocol, ports, family, mechanism, evidence.
        let _ = writeln!(
            self.reachability,
            "{snapshot}\t{}\t{from}\t{to}\ttcp\t{port}\t{port}\tipv4\t{mechanism}\t{{\"port\": {port}}}",
            self.rows
        );
    }
}

/// Up to `count` distinct members of `pool`, drawn with replacement (so a few fewer at times).
fn some<'a>(rng: &mut StdRng, pool: &'a [String], count: usize) -> BTreeSet<&'a String> {
    (0..count).map(|_| &pool[rng.random_range(0..pool.len())]).collect()
}

fn estate(snapshot: i64) -> Estate {
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut e = Estate { nodes: String::new(), reachability: String::new(), unprotected: String::new(), rows: 0 };
    let _ = writeln!(e.nodes, "{snapshot}\tinternet\tinternet\t\\N\t\\N");
    let mut apps = Vec::new();
    for v in 0..VPCS {
        let web = tier(v, 0, WEB);
        let app = tier(v, WEB, APP);
        let data = tier(v, WEB + APP, DATA);
        let dbs = tier(v, WEB + APP + DATA, DATABASES);
        for (n, id) in web.iter().chain(&app).chain(&data).enumerate() {
            let instance = format!("i-{v:02}{n:04}");
            let _ = writeln!(e.nodes, "{snapshot}\t{id}\teni\tec2_instance\t{instance}");
            // One host in ten has no sensor.
            if rng.random_bool(0.1) {
                let _ =
                    writeln!(e.unprotected, "{snapshot}\t111111111111\tus-east-1\t{instance}\tunprotected\tno sensor");
            }
        }
        for (n, id) in dbs.iter().enumerate() {
            let _ = writeln!(e.nodes, "{snapshot}\t{id}\teni\trds_db_instance\tdb-{v:02}-{n}");
        }
        let everyone: Vec<String> = web.iter().chain(&app).chain(&data).chain(&dbs).cloned().collect();
        for w in &web {
            e.edge(snapshot, "internet", w, 443, "internet");
            for a in some(&mut rng, &app, 60) {
                e.edge(snapshot, w, a, 443, "vpc");
                e.edge(snapshot, w, a, 8080, "vpc");
            }
        }
        for a in &app {
            for peer in some(&mut rng, &app, 40) {
                if peer != a {
                    e.edge(snapshot, a, peer, 8080, "vpc");
                }
            }
            for d in some(&mut rng, &data, 50) {
                e.edge(snapshot, a, d, 9000, "vpc");
            }
            for db in &dbs {
                e.edge(snapshot, a, db, 5432, "vpc");
            }
        }
        for d in &data[2..] {
            for peer in some(&mut rng, &data, 20) {
                if peer != d {
                    e.edge(snapshot, d, peer, 9000, "vpc");
                }
            }
        }
        for bastion in &data[..2] {
            for target in everyone.iter().filter(|t| *t != bastion) {
                e.edge(snapshot, bastion, target, 22, "vpc");
            }
        }
        apps.push(app);
    }
    // VPC 2k and 2k+1 peer for k < 5: twenty app hosts each way reach twenty on the other side.
    for k in 0..VPCS / 4 {
        let (left, right) = (apps[2 * k].clone(), apps[2 * k + 1].clone());
        for (from, to) in [(&left, &right), (&right, &left)] {
            for a in &from[..20] {
                for b in some(&mut rng, &to[..20], 10) {
                    e.edge(snapshot, a, b, 8080, "peering");
                }
            }
        }
    }
    e
}

async fn copy(
    client: &tokio_postgres::Client,
    statement: &str,
    data: String,
) -> Result<(), Box<dyn std::error::Error>> {
    let sink = client.copy_in::<_, Bytes>(statement).await?;
    futures::pin_mut!(sink);
    sink.send(Bytes::from(data)).await?;
    sink.finish().await?;
    Ok(())
}

/// (start, node, hop count) of every node the internet reaches through each exposed start.
type Reached = BTreeSet<(String, String, u32)>;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = TestDb::try_new().await?;
    let client = db.pool.get().await?;
    let snapshot: i64 = client
        .query_one(
            "INSERT INTO snapshots (source, origin, status, completed_at) VALUES ('inventory', 'paths_compare', 'complete', now()) RETURNING id",
            &[],
        )
        .await?
        .get(0);
    let started = Instant::now();
    let e = estate(snapshot);
    let rows = e.rows;
    copy(&client, "COPY network_nodes (snapshot_id, node_id, kind, resource_type, resource_id) FROM STDIN", e.nodes)
        .await?;
    copy(
        &client,
        "COPY reachability (snapshot_id, id, source_id, destination_id, protocol, from_port, to_port, address_family, mechanism, evidence) FROM STDIN",
        e.reachability,
    )
    .await?;
    copy(
        &client,
        "COPY edr_instances (snapshot_id, account_id, region, instance_id, status, reason) FROM STDIN",
        e.unprotected,
    )
    .await?;
    client.batch_execute("ANALYZE network_nodes; ANALYZE reachability; ANALYZE edr_instances").await?;
    let setup = started.elapsed();

    let started = Instant::now();
    let graph = ReachGraph::load(&db.pool, snapshot).await?;
    let load = started.elapsed();
    let started = Instant::now();
    let exposed = graph.exposed_nodes();
    let mut rust: Reached = BTreeSet::new();
    for start in &exposed {
        for (node, hops) in graph.hops_from_internet(start, MAX_HOPS) {
            rust.insert((start.clone(), node, hops));
        }
    }
    let walk = started.elapsed();

    // The same walk in SQL. A recursive term only sees the previous level, so nodes cannot be
    // marked visited: a level is every node at that many steps, kept once per (start, node, depth)
    // by UNION, and the shortest count is the minimum afterwards.
    let started = Instant::now();
    let sql: Reached = client
        .query(
            "WITH RECURSIVE edges AS MATERIALIZED ( \
                 SELECT DISTINCT source_id, destination_id FROM reachability WHERE snapshot_id = $1 \
             ), walk (start_id, node_id, depth) AS ( \
                 SELECT destination_id, destination_id, 1 FROM edges WHERE source_id = 'internet' \
                 UNION \
                 SELECT w.start_id, e.destination_id, w.depth + 1 \
                 FROM walk w JOIN edges e ON e.source_id = w.node_id \
                 WHERE w.depth < $2 AND e.destination_id <> 'internet' \
             ) \
             SELECT start_id, node_id, min(depth) FROM walk GROUP BY start_id, node_id",
            &[&snapshot, &(MAX_HOPS as i32)],
        )
        .await?
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get::<_, i32>(2) as u32))
        .collect();
    let cte = started.elapsed();
    drop(client);

    if rust != sql {
        let only_rust = rust.difference(&sql).take(3).collect::<Vec<_>>();
        let only_sql = sql.difference(&rust).take(3).collect::<Vec<_>>();
        return Err(format!(
            "the walks disagree: {} (start, node, hops) in Rust, {} in SQL; only in Rust e.g. {only_rust:?}, only in SQL e.g. {only_sql:?}",
            rust.len(),
            sql.len()
        )
        .into());
    }

    let stored = paths::store_paths(&db.pool, snapshot, MAX_HOPS).await?;

    println!("attack-path walk comparison ({} build)", if cfg!(debug_assertions) { "debug" } else { "release" });
    println!(
        "graph: {} nodes, {} distinct edges from {rows} reachability rows, {} internet-exposed starts, max {MAX_HOPS} hops",
        graph.node_count(),
        graph.edge_count(),
        exposed.len()
    );
    println!("both agree on {} (start, node, hops) triples", rust.len());
    println!("{:<44} {:>10}", "step", "ms");
    println!("{:<44} {:>10}", "write the synthetic estate (COPY)", setup.as_millis());
    println!("{:<44} {:>10}", "Rust: load graph (2 queries)", load.as_millis());
    println!("{:<44} {:>10}", "Rust: BFS from every exposed node", walk.as_millis());
    println!("{:<44} {:>10}", "Rust: load + BFS", (load + walk).as_millis());
    println!("{:<44} {:>10}", "SQL: recursive CTE", cte.as_millis());
    println!(
        "store_paths: {} internet starts / {} paths stored; load {} ms, walk + rank {} ms, store {} ms",
        stored.internet_starts,
        stored.internet_paths,
        stored.timings_ms.load,
        stored.timings_ms.walk,
        stored.timings_ms.store
    );
    Ok(())
}
