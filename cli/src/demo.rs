//! `secops demo`: the whole product on the embedded defaults. In this release: the private
//! database, the schema, and the sample Security Hub findings ingested twice (the second pass
//! must change nothing). Later capabilities extend it step by step.

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

/// The steps a later release adds to the demo; each refuses events today (InvalidInput).
const NOT_BUILT_YET: &[&str] = &["collect", "reconcile", "decide", "remediate", "triage", "notify", "audit"];

pub async fn run(config: &Config) -> Result<ExitCode> {
    let started = Instant::now();
    println!("SecOps Autopilot demo — embedded defaults (private PostgreSQL, local adapters)");
    let database = Database::open(config).await?;
    let outcome = ingest_and_report(&database).await;
    database.finish()?;
    outcome?;
    println!(
        "not built yet: {} (their Lambda functions refuse every event with InvalidInput)",
        NOT_BUILT_YET.join(", ")
    );
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
