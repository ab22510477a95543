//! How long the offline analysis of one finding takes: `context::gather` (every catalogue query
//! that applies) plus `offline::assess`, on a generated estate in a fresh private database.
//! Budget: under 100 ms per finding.
//!
//! ```text
//! cargo run --release -p secops-triage --example offline_bench -- [--instances N] [--limit N] [--no-analyze]
//! ```
//!
//! `--instances` sizes the estate (default: the default `EstateSpec`, 300 instances); `--limit`
//! caps the findings timed (default 200, heaviest first; 0 = all); `--no-analyze` skips the
//! `ANALYZE` after loading (a database whose statistics autovacuum has not gathered yet).
//! Exits 1 when a finding is over budget or an assessment fails the report schema.

use std::time::{Duration, Instant};

use secops_inventory::fixtures::{generate, EstateSpec};
use secops_store::testing::TestDb;
use secops_triage::bench::{quantile, time_offline_analysis};

const BUDGET: Duration = Duration::from_millis(100);

struct Args {
    instances: Option<usize>,
    limit: i64,
    analyze: bool,
}

fn args() -> Result<Args, String> {
    let mut out = Args { instances: None, limit: 200, analyze: true };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut number = |name: &str| -> Result<usize, String> {
            it.next().ok_or_else(|| format!("{name} needs a number"))?.parse().map_err(|e| format!("{name}: {e}"))
        };
        match flag.as_str() {
            "--instances" => out.instances = Some(number("--instances")?),
            "--limit" => out.limit = i64::try_from(number("--limit")?).map_err(|e| e.to_string())?,
            "--no-analyze" => out.analyze = false,
            "-h" | "--help" => {
                return Err("usage: offline_bench [--instances N] [--limit N (0 = all)] [--no-analyze]".into());
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(out)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    let mut spec = EstateSpec::default();
    if let Some(n) = args.instances {
        spec.instances = n;
    }
    let started = Instant::now();
    let db = TestDb::new().await;
    let dir = tempfile::tempdir()?;
    generate(&spec, dir.path())?;
    let snapshot = secops_inventory::collect_from_dir(&db.pool, dir.path(), 4).await?;
    secops_inventory::reconcile::reconcile(&db.pool, Some(snapshot.snapshot_id)).await?;
    // A live database has statistics (autovacuum analyses new tables within a minute); without
    // them the planner picks nested loops over the freshly loaded snapshot (`--no-analyze` shows
    // that case).
    if args.analyze {
        db.pool.get().await?.batch_execute("ANALYZE").await?;
    }
    println!(
        "estate: {} accounts, {} instances, {} findings asked for; collected and reconciled in {:.1} s",
        spec.accounts,
        spec.instances,
        spec.findings,
        started.elapsed().as_secs_f64()
    );

    let client = db.pool.get().await?;
    let limit = if args.limit == 0 { None } else { Some(args.limit) };
    let t = time_offline_analysis(&client, limit).await?;
    let times = &t.per_finding;
    println!("timing {} of {} findings (gather + assess, one at a time)", times.len(), t.candidates);
    let n = times.len().max(1) as f64;
    let mean = ms(times.iter().sum::<Duration>()) / n;
    let max = times.last().copied().unwrap_or_default();
    println!(
        "findings {}  queries {}  mean {mean:.2} ms  p50 {:.2} ms  p95 {:.2} ms  max {:.2} ms  (gather p50 {:.2} ms, p95 {:.2} ms)",
        times.len(),
        t.queries,
        ms(quantile(times, 0.5)),
        ms(quantile(times, 0.95)),
        ms(max),
        ms(quantile(&t.gather, 0.5)),
        ms(quantile(&t.gather, 0.95)),
    );
    for (source, times) in &t.by_source {
        println!(
            "  {source:<12} {:>4} findings  p50 {:.2} ms  max {:.2} ms",
            times.len(),
            ms(quantile(times, 0.5)),
            ms(times.last().copied().unwrap_or_default())
        );
    }
    let invalid = t.invalid;
    println!("assessments the schema refused: {invalid}");
    let over = times.iter().filter(|t| **t > BUDGET).count();
    if over > 0 || invalid > 0 {
        println!("OVER BUDGET or INVALID: {over} finding(s) took more than {} ms", BUDGET.as_millis());
        std::process::exit(1);
    }
    println!("within budget: every finding under {} ms", BUDGET.as_millis());
    Ok(())
}
