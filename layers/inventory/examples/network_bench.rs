//! Network benchmark: generate the network benchmark estate (about 5,000 network interfaces,
//! 2,000 security groups with 20,000 rules, a quarter of them referencing groups, 500 subnets,
//! 200 NACLs) into a temporary folder, load it into a fresh PostgreSQL database, then time the
//! flattening into reachability, the attack-path walks (every internet-exposed start and every
//! threatened host, 6 hops) and a whole reconciliation, with each step's peak memory. The
//! budgets: flattening under 10 s, internet-inward paths to 6 hops under 5 s.
//!
//! `cargo run --release -p secops-inventory --example network_bench`

use secops_inventory::fixtures::{generate, EstateSpec};
use secops_inventory::network::{flatten_snapshot, paths};
use secops_store::testing::TestDb;
use std::time::Instant;

mod bench_support;
use bench_support::{mib, peak_rss_mib, reset_peak_rss};

fn seconds(d: std::time::Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let spec = EstateSpec::network_benchmark();
    let started = Instant::now();
    generate(&spec, dir.path())?;
    let generation = started.elapsed();

    let db = TestDb::try_new().await?;
    let started = Instant::now();
    let snapshot = secops_inventory::collect_from_dir(&db.pool, dir.path(), 4).await?;
    let load = started.elapsed();
    if snapshot.status != "complete" {
        return Err(
            format!("snapshot {} is {}: {:?}", snapshot.snapshot_id, snapshot.status, snapshot.failed_runs).into()
        );
    }
    let client = db.pool.get().await?;
    let count = |table: &'static str| {
        let client = &client;
        async move {
            client
                .query_one(&format!("SELECT count(*) FROM {table} WHERE snapshot_id = $1"), &[&snapshot.snapshot_id])
                .await
                .map(|r| r.get::<_, i64>(0))
        }
    };
    let interfaces = count("ec2_network_interfaces").await?;
    let groups = count("ec2_security_groups").await?;
    let rules = count("ec2_security_group_rules").await?;
    let subnets = count("ec2_subnets").await?;
    let acls = count("ec2_network_acls").await?;

    let separate_peaks = reset_peak_rss();
    let started = Instant::now();
    let flattened = flatten_snapshot(&db.pool, snapshot.snapshot_id).await?;
    let flatten_time = started.elapsed();
    let flatten_rss = peak_rss_mib();

    reset_peak_rss();
    let started = Instant::now();
    let walked = paths::store_paths(&db.pool, snapshot.snapshot_id, paths::DEFAULT_MAX_HOPS).await?;
    let paths_time = started.elapsed();
    let paths_rss = peak_rss_mib();

    reset_peak_rss();
    let started = Instant::now();
    let reconciled = secops_inventory::reconcile::reconcile(&db.pool, Some(snapshot.snapshot_id)).await?;
    let reconcile_time = started.elapsed();
    let reconcile_rss = peak_rss_mib();

    let peak = if separate_peaks { "peak RSS (this step)" } else { "peak RSS (process so far)" };
    println!("network benchmark ({} build)", if cfg!(debug_assertions) { "debug" } else { "release" });
    println!("{:<34} {:>16}", "step", "value");
    println!("{:<34} {:>16}", "estate generation", seconds(generation));
    println!("{:<34} {:>16}", "interfaces / groups / rules", format!("{interfaces} / {groups} / {rules}"));
    println!("{:<34} {:>16}", "subnets / NACLs", format!("{subnets} / {acls}"));
    println!("{:<34} {:>16}", "load (collect_from_dir)", seconds(load));
    println!("{:<34} {:>16}", "flattening", seconds(flatten_time));
    println!(
        "{:<34} {:>16}",
        "  read / compute / store",
        format!("{} / {} / {} ms", flattened.load_ms, flattened.compute_ms, flattened.store_ms)
    );
    println!("{:<34} {:>16}", "  nodes", flattened.nodes);
    println!("{:<34} {:>16}", "  reachability rows", flattened.reachability_rows);
    println!("{:<34} {:>16}", "  internet-exposed nodes", flattened.internet_exposed_nodes);
    println!("{:<34} {:>16}", "  dangling references", flattened.findings);
    println!("{:<34} {:>16}", format!("  {peak}"), mib(flatten_rss));
    println!("{:<34} {:>16}", "attack paths (6 hops, both modes)", seconds(paths_time));
    println!(
        "{:<34} {:>16}",
        "  read / walk / store",
        format!("{} / {} / {} ms", walked.timings_ms.load, walked.timings_ms.walk, walked.timings_ms.store)
    );
    println!(
        "{:<34} {:>16}",
        "  internet starts / paths",
        format!("{} / {}", walked.internet_starts, walked.internet_paths)
    );
    println!(
        "{:<34} {:>16}",
        "  east-west starts / paths",
        format!("{} / {}", walked.east_west_starts, walked.east_west_paths)
    );
    println!("{:<34} {:>16}", format!("  {peak}"), mib(paths_rss));
    println!("{:<34} {:>16}", "whole reconciliation", seconds(reconcile_time));
    println!("{:<34} {:>16}", "  of which (ms)", reconciled["timings_ms"].to_string());
    println!("{:<34} {:>16}", format!("  {peak}"), mib(reconcile_rss));
    Ok(())
}
