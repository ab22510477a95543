//! `secops demo`: the whole product on the embedded defaults. In this release: the private
//! database, the schema, the sample Security Hub findings ingested twice (the second pass must
//! change nothing), and a generated estate collected and reconciled. Later capabilities extend it
//! step by step.

use crate::database::Database;
use anyhow::{Context, Result};
use secops_core::asff::AwsSecurityFinding;
use secops_core::{event, Config};
use secops_store::findings::{self, Upserted};
use secops_store::{db, Pool};
use std::process::ExitCode;
use std::time::Instant;

mod samples {
    include!(concat!(env!("OUT_DIR"), "/samples.rs"));
}

pub async fn run(config: &Config) -> Result<ExitCode> {
    let started = Instant::now();
    println!("SecOps Autopilot demo — embedded defaults (private PostgreSQL, local adapters)");
    let database = Database::open(config).await?;
    let outcome = match ingest_and_report(&database).await {
        Ok(()) => inventory(config, &database).await,
        Err(e) => Err(e),
    };
    database.finish()?;
    outcome?;
    println!("next: `secops triage --since 365d` analyses the estate's findings (offline analyst, one process each)");
    println!("demo finished in {:.1} s", started.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

async fn ingest_and_report(database: &Database) -> Result<()> {
    let applied = db::migrate(database.url()).await?;
    match applied.as_slice() {
        [] => println!("schema: up to date"),
        list => {
            let names: Vec<_> = list.iter().map(|m| format!("V{:03}__{}", m.version, m.name)).collect();
            println!("schema: applied {}", names.join(", "));
        }
    }
    let pool = secops_store::db::connect_pool(database.url(), 2).await?;
    let findings = sample_findings()?;
    let distinct: std::collections::BTreeSet<(&str, &str)> =
        findings.iter().map(|f| (f.product_arn.as_str(), f.id.as_str())).collect();
    println!(
        "findings: {} sample findings ({} distinct) from {} files, every finding of each event",
        findings.len(),
        distinct.len(),
        samples::SAMPLES.len()
    );

    let first = ingest(&pool, &findings).await?;
    println!("  first pass:  {} inserted, {} updated, {} unchanged", first.inserted, first.updated, first.unchanged);
    let second = ingest(&pool, &findings).await?;
    println!(
        "  second pass: {} inserted, {} updated, {} unchanged (replays change nothing)",
        second.inserted, second.updated, second.unchanged
    );
    anyhow::ensure!(second.inserted == 0 && second.updated == 0, "re-ingesting the same findings changed rows");

    println!("  stored by product:");
    for (product, count) in findings::count_by_product(&pool).await? {
        println!("    {product:<28} {count}");
    }
    Ok(())
}

#[derive(Debug, Default)]
struct Tally {
    inserted: usize,
    updated: usize,
    unchanged: usize,
}

async fn ingest(pool: &Pool, findings: &[AwsSecurityFinding]) -> Result<Tally> {
    let mut tally = Tally::default();
    for f in findings {
        match findings::upsert(pool, f).await.with_context(|| format!("storing finding {}", f.id))? {
            Upserted::Inserted => tally.inserted += 1,
            Upserted::Updated => tally.updated += 1,
            Upserted::Unchanged => tally.unchanged += 1,
        }
    }
    Ok(tally)
}

/// Generate the seeded demo estate (the same bytes every time), collect it from its folder and
/// reconcile it. Each run is a new snapshot; the figures are the same every time.
async fn inventory(config: &Config, database: &Database) -> Result<()> {
    let folder = std::path::Path::new(&config.state_dir).join("demo-estate");
    if folder.exists() {
        std::fs::remove_dir_all(&folder).with_context(|| format!("clearing {}", folder.display()))?;
    }
    let spec = secops_inventory::fixtures::EstateSpec::default();
    let truth = secops_inventory::fixtures::generate(&spec, &folder)?;
    let records: u64 = truth.counts.values().sum();
    println!(
        "estate: {} accounts, {} live instances, {} Falcon host records, {} buckets ({} records in {})",
        truth.accounts.len(),
        truth.instances.len(),
        truth.falcon_devices.len(),
        truth.counts.get("s3_buckets").copied().unwrap_or(0),
        records,
        folder.display()
    );
    let pool = secops_store::db::connect_pool(database.url(), 5).await?;
    let started = Instant::now();
    let snapshot = secops_inventory::collect_from_dir(&pool, &folder, 4).await?;
    println!(
        "  collected snapshot {}: {} ({} records, {} collector runs) in {:.1} s",
        snapshot.snapshot_id,
        snapshot.status,
        snapshot.records,
        snapshot.runs,
        started.elapsed().as_secs_f64()
    );
    let r = secops_inventory::reconcile::reconcile(&pool, Some(snapshot.snapshot_id)).await?;
    let edr = &r["edr"];
    println!(
        "  reconciled: EDR coverage {}% ({} of {} live instances), {} unprotected; Falcon {} live, {} stale",
        r["edr_coverage_pct"],
        edr["matched"],
        edr["live_instances"],
        edr["unprotected"],
        edr["falcon_live"],
        edr["falcon_stale"]
    );
    crate::inventory::print_network(&r);
    let exposure = secops_inventory::query::view(&pool, "s3_exposure", None).await?;
    let public = exposure.objects().iter().filter(|b| b["public"] == true).count();
    let rds = secops_inventory::query::view(&pool, "rds_posture", None).await?;
    let ingress = secops_inventory::query::view(&pool, "open_ingress_production", None).await?;
    println!(
        "  posture: {public} public buckets, {} RDS resources failing a check, {} internet-open ingress rules on production",
        rds.rows.len(),
        ingress.rows.len()
    );
    println!("  (secops query list shows every view; the demo database is under {})", config.state_dir);
    Ok(())
}

fn sample_findings() -> Result<Vec<AwsSecurityFinding>> {
    let mut out = Vec::new();
    for (kind, name, json) in samples::SAMPLES {
        match *kind {
            "events" => {
                out.extend(event::parse_event(json).with_context(|| format!("sample event {name}"))?.into_findings())
            }
            _ => out.push(secops_core::asff::parse_finding(json).with_context(|| format!("sample finding {name}"))?),
        }
    }
    Ok(out)
}
