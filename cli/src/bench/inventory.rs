//! Inventory (issue 5) and network exposure (issue 6) on their benchmark estates: generated into
//! a temporary folder, loaded with the offline collectors into a scratch database, then
//! reconciled, flattened and walked.

use std::time::Instant;

use anyhow::{bail, Result};
use secops_inventory::fixtures::{generate, EdrStatus, EstateSpec};
use secops_inventory::network::{flatten_snapshot, paths};
use secops_inventory::SnapshotSummary;

use super::{peak_note, reset_peak_rss, thousands, Ctx, Row};

async fn load(pool: &secops_store::Pool, dir: &std::path::Path) -> Result<(SnapshotSummary, std::time::Duration)> {
    let started = Instant::now();
    let summary = secops_inventory::collect_from_dir(pool, dir, 4).await?;
    let took = started.elapsed();
    if summary.status != "complete" {
        bail!("snapshot {} is {}: {:?}", summary.snapshot_id, summary.status, summary.failed_runs);
    }
    Ok((summary, took))
}

pub async fn run(ctx: &mut Ctx) -> Result<Vec<Row>> {
    let spec = if ctx.quick { super::quick_estate() } else { EstateSpec::benchmark() };
    let dir = tempfile::tempdir()?;
    let truth = generate(&spec, dir.path())?;
    let db = ctx.scratch.fresh(4).await?;

    let separate = reset_peak_rss();
    let (summary, took) = load(&db.pool, dir.path()).await?;
    let load_peak = peak_note(separate);
    let expected: u64 = truth.counts.values().sum();
    if summary.records as u64 != expected {
        bail!("loaded {} records, the generated estate holds {expected}", summary.records);
    }
    let rate = summary.records as f64 / took.as_secs_f64();
    let falcon = truth.counts.get("falcon_hosts").copied().unwrap_or(0);
    let estate = format!(
        "{} live instances, {falcon} Falcon records, {} SG rules, {} buckets",
        spec.instances, spec.sg_rules, spec.buckets
    );
    let load_row = Row::new(
        "inventory",
        "inventory.load",
        format!(
            "load {} records in {} collector runs from the offline folder ({estate})",
            summary.records, summary.runs
        ),
        "≥ 20,000 records/s (issue 5)",
    )
    .measured(
        rate,
        "records/s",
        format!("{} records/s ({:.2} s)", thousands(rate), took.as_secs_f64()),
        Some(rate >= 20_000.0),
    )
    .detail(load_peak);

    reset_peak_rss();
    let started = Instant::now();
    let reconciled = secops_inventory::reconcile::reconcile(&db.pool, Some(summary.snapshot_id)).await?;
    let took = started.elapsed();
    let peak = peak_note(separate);
    let matched = truth.instances.iter().filter(|i| i.edr == EdrStatus::Matched).count() as u64;
    if reconciled["edr"]["matched"].as_u64() != Some(matched) {
        bail!("reconciliation matched {} instances, the generated truth says {matched}", reconciled["edr"]["matched"]);
    }
    let seconds = took.as_secs_f64();
    let reconcile_row = Row::new(
        "inventory",
        "inventory.reconcile",
        "whole reconciliation of that snapshot (EDR, S3/RDS posture, network flattening, attack paths)",
        "< 2 s (issue 5, set before the network pass joined reconciliation)",
    )
    .measured(seconds, "s", format!("{seconds:.2} s"), Some(seconds < 2.0))
    .detail(format!("parts in ms (run side by side) {}; {peak}", reconciled["timings_ms"]));
    Ok(vec![load_row, reconcile_row])
}

pub async fn network(ctx: &mut Ctx) -> Result<Vec<Row>> {
    let spec = if ctx.quick { super::quick_estate() } else { EstateSpec::network_benchmark() };
    let dir = tempfile::tempdir()?;
    generate(&spec, dir.path())?;
    let db = ctx.scratch.fresh(4).await?;
    let (snapshot, _) = load(&db.pool, dir.path()).await?;
    let client = db.pool.get().await?;
    let mut counts = Vec::new();
    for table in
        ["ec2_network_interfaces", "ec2_security_groups", "ec2_security_group_rules", "ec2_subnets", "ec2_network_acls"]
    {
        let row = client
            .query_one(&format!("SELECT count(*) FROM {table} WHERE snapshot_id = $1"), &[&snapshot.snapshot_id])
            .await?;
        counts.push(row.get::<_, i64>(0));
    }
    drop(client);
    let estate = format!(
        "{} interfaces, {} groups, {} rules, {} subnets, {} NACLs",
        counts[0], counts[1], counts[2], counts[3], counts[4]
    );

    let separate = reset_peak_rss();
    let started = Instant::now();
    let flattened = flatten_snapshot(&db.pool, snapshot.snapshot_id).await?;
    let flatten = started.elapsed().as_secs_f64();
    let flatten_peak = peak_note(separate);

    reset_peak_rss();
    let started = Instant::now();
    let walked = paths::store_paths(&db.pool, snapshot.snapshot_id, paths::DEFAULT_MAX_HOPS).await?;
    let walk = started.elapsed().as_secs_f64();
    let walk_peak = peak_note(separate);
    Ok(vec![
        Row::new("network", "network.flatten", format!("flatten into reachability ({estate})"), "< 10 s (issue 6)")
            .measured(flatten, "s", format!("{flatten:.2} s"), Some(flatten < 10.0))
            .detail(format!(
                "read {} / compute {} / store {} ms, {} reachability rows, {} internet-exposed nodes; {flatten_peak}",
                flattened.load_ms,
                flattened.compute_ms,
                flattened.store_ms,
                flattened.reachability_rows,
                flattened.internet_exposed_nodes
            )),
        Row::new(
            "network",
            "network.attack_paths",
            format!(
                "attack paths to {} hops, internet-inward and east-west, stored",
                paths::DEFAULT_MAX_HOPS
            ),
            "internet-inward < 5 s (issue 6; this times both modes)",
        )
        .measured(walk, "s", format!("{walk:.2} s"), Some(walk < 5.0))
        .detail(format!(
            "{} internet starts / {} paths, {} east-west starts / {} paths; read {} / walk {} / store {} ms; {walk_peak}",
            walked.internet_starts,
            walked.internet_paths,
            walked.east_west_starts,
            walked.east_west_paths,
            walked.timings_ms.load,
            walked.timings_ms.walk,
            walked.timings_ms.store
        )),
    ])
}
