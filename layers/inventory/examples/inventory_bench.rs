//! Inventory benchmark: generate the benchmark estate (2,000 live instances, 50,000 Falcon host
//! records, 10,000 security-group rules, 5,000 buckets) into a temporary folder, load it into a
//! fresh PostgreSQL database with `collect_from_dir`, reconcile it, and print how long each step
//! took, the load rate and the peak memory of each step. The budgets: load ≥ 20,000 records/s,
//! reconciliation under 2 s.
//!
//! `cargo run --release -p secops-inventory --example inventory_bench`

use secops_inventory::fixtures::{generate, EstateSpec};
use secops_store::testing::TestDb;
use std::time::Instant;

mod bench_support;
use bench_support::{mib, peak_rss_mib, reset_peak_rss};

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let spec = EstateSpec::benchmark();

    let started = Instant::now();
    let truth = generate(&spec, dir.path())?;
    let generation = started.elapsed();
    let generation_rss = peak_rss_mib();
    let separate_peaks = reset_peak_rss();

    let db = TestDb::try_new().await?;
    let started = Instant::now();
    let summary = secops_inventory::collect_from_dir(&db.pool, dir.path(), 4).await?;
    let load = started.elapsed();
    let load_rss = peak_rss_mib();
    if summary.status != "complete" {
        return Err(format!("snapshot {} is {}: {:?}", summary.snapshot_id, summary.status, summary.failed_runs).into());
    }
    let expected: u64 = truth.counts.values().sum();
    if summary.records as u64 != expected {
        return Err(format!("loaded {} records, the estate holds {expected}", summary.records).into());
    }

    let slowest = db
        .pool
        .get()
        .await?
        .query(
            "SELECT concat_ws(' ', collector, account_id, region), record_count, \
                    extract(epoch FROM completed_at - started_at)::float8 \
             FROM snapshot_sources WHERE snapshot_id = $1 ORDER BY completed_at - started_at DESC LIMIT 3",
            &[&summary.snapshot_id],
        )
        .await?;
    reset_peak_rss();
    let started = Instant::now();
    let reconciled = secops_inventory::reconcile::reconcile(&db.pool, Some(summary.snapshot_id)).await?;
    let reconcile_time = started.elapsed();
    let reconcile_rss = peak_rss_mib();
    let matched = truth.instances.iter().filter(|i| i.edr == secops_inventory::fixtures::EdrStatus::Matched).count();
    if reconciled["edr"]["matched"].as_u64() != Some(matched as u64) {
        return Err(format!("reconciliation matched {}, the truth says {matched}", reconciled["edr"]["matched"]).into());
    }

    let rate = summary.records as f64 / load.as_secs_f64().max(f64::EPSILON);
    let peak_label = if separate_peaks { "peak RSS (this step)" } else { "peak RSS (process so far)" };
    println!("inventory load benchmark ({} build)", if cfg!(debug_assertions) { "debug" } else { "release" });
    println!("{:<28} {:>14}", "step", "value");
    println!("{:<28} {:>14}", "generation time", format!("{:.2} s", generation.as_secs_f64()));
    println!("{:<28} {:>14}", format!("generation {peak_label}"), mib(generation_rss));
    println!("{:<28} {:>14}", "falcon host records", truth.counts.get("falcon_hosts").copied().unwrap_or(0));
    println!("{:<28} {:>14}", "records loaded", summary.records);
    println!("{:<28} {:>14}", "collector runs", summary.runs);
    println!("{:<28} {:>14}", "load time", format!("{:.2} s", load.as_secs_f64()));
    println!("{:<28} {:>14}", "load rate", format!("{rate:.0} rec/s"));
    println!("{:<28} {:>14}", format!("load {peak_label}"), mib(load_rss));
    for run in &slowest {
        let (name, records, seconds): (String, i32, f64) = (run.get(0), run.get(1), run.get(2));
        println!("{:<28} {:>14}", format!("  slow run: {name}"), format!("{records} in {seconds:.2} s"));
    }
    println!("{:<28} {:>14}", "reconciliation time", format!("{:.2} s", reconcile_time.as_secs_f64()));
    println!("{:<28} {:>14}", "  of which (ms)", reconciled["timings_ms"].to_string());
    println!("{:<28} {:>14}", format!("reconciliation {peak_label}"), mib(reconcile_rss));
    println!("{:<28} {:>14}", "EDR coverage", format!("{}%", reconciled["edr_coverage_pct"]));
    Ok(())
}
