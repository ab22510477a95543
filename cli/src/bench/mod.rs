//! `secops bench`: every performance budget named in the issues, measured in-process and printed
//! as one table (area | benchmark | budget | measured | within budget). The measuring code lives
//! in the library crates (`secops_asl::bench`, `secops_triage::bench`, the collectors, the
//! flattening …); this module sizes the workloads, times them and judges them.
//!
//! Exit 0 when every benchmark ran, whether or not its budget was met (the table says so); 1
//! when one could not run. `--quick` shrinks every workload so the suite is a smoke test of a
//! few seconds: its figures are not comparable with the budgets.

mod adf;
mod asl;
mod audit;
mod decide;
mod inventory;
mod scratch;
mod triage;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use clap::Args;
use secops_core::Config;
use serde::Serialize;

pub use scratch::Scratch;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Small workloads: a smoke test of the whole suite, not figures.
    #[arg(long)]
    quick: bool,
    /// Only these areas or benchmarks (comma separated): asl, audit, redaction, decide, adf,
    /// inventory, network, triage, or a benchmark's id such as audit.verify.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// One JSON document instead of the table.
    #[arg(long)]
    json: bool,
    /// The SAM template that wires the state machines (the findings machine and triage).
    #[arg(long, default_value = "template.yaml")]
    template: PathBuf,
}

/// What every area's benchmarks get.
pub struct Ctx {
    pub quick: bool,
    pub template: PathBuf,
    /// Scratch databases on the configured server (or the private cluster), dropped at the end.
    pub scratch: Scratch,
}

/// One line of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub area: &'static str,
    /// Stable id, `area.name`.
    pub id: &'static str,
    /// What was measured, with the workload's size.
    pub benchmark: String,
    /// The budget in words, with where it comes from.
    pub budget: String,
    /// The headline figure in `unit` (what the budget is judged on).
    pub value: Option<f64>,
    pub unit: &'static str,
    /// The figure for people: p50/p95/max or a rate, with units.
    pub measured: String,
    /// `None` when the issue names no budget for it (the figure is reported only).
    pub within_budget: Option<bool>,
    /// Extra facts: parts, peak memory, counts.
    pub detail: String,
    /// Set when the benchmark could not run; then `value` is `None`.
    pub error: Option<String>,
}

impl Row {
    pub fn new(area: &'static str, id: &'static str, benchmark: impl Into<String>, budget: impl Into<String>) -> Row {
        Row {
            area,
            id,
            benchmark: benchmark.into(),
            budget: budget.into(),
            value: None,
            unit: "",
            measured: String::new(),
            within_budget: None,
            detail: String::new(),
            error: None,
        }
    }

    /// The headline figure, how it reads, and whether it meets the budget.
    pub fn measured(mut self, value: f64, unit: &'static str, text: impl Into<String>, within: Option<bool>) -> Row {
        self.value = Some(value);
        self.unit = unit;
        self.measured = text.into();
        self.within_budget = within;
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Row {
        self.detail = detail.into();
        self
    }
}

/// An area: its name and the benchmarks it runs (ids, for `--only`).
struct Area {
    name: &'static str,
    ids: &'static [&'static str],
}

const AREAS: &[Area] = &[
    Area { name: "asl", ids: &["asl.map_transitions", "asl.findings_machine"] },
    Area { name: "audit", ids: &["audit.verify", "audit.verify_vs_raw", "audit.append"] },
    Area { name: "redaction", ids: &["redaction.throughput"] },
    Area { name: "decide", ids: &["decide.route", "decide.classify", "decide.suppression_200", "decide.policy_load"] },
    Area { name: "adf", ids: &["adf.reports", "adf.commonmark_spec"] },
    Area { name: "inventory", ids: &["inventory.load", "inventory.reconcile"] },
    Area { name: "network", ids: &["network.flatten", "network.attack_paths"] },
    Area { name: "triage", ids: &["triage.offline_per_finding", "triage.batch_wall", "triage.analyst_peak_rss"] },
];

/// Every benchmark id, in table order.
pub fn all_ids() -> Vec<&'static str> {
    AREAS.iter().flat_map(|a| a.ids.iter().copied()).collect()
}

pub async fn run(config: &Config, args: BenchArgs) -> Result<ExitCode> {
    let known = all_ids();
    for name in &args.only {
        if !AREAS.iter().any(|a| a.name == name) && !known.contains(&name.as_str()) {
            let areas: Vec<&str> = AREAS.iter().map(|a| a.name).collect();
            bail!("--only {name:?}: not an area ({}) or a benchmark id ({})", areas.join(", "), known.join(", "));
        }
    }
    let wanted = |area: &Area| {
        args.only.is_empty() || args.only.iter().any(|n| n == area.name || area.ids.contains(&n.as_str()))
    };
    let selected: Vec<&Area> = AREAS.iter().filter(|a| wanted(a)).collect();
    if !args.template.is_file() && selected.iter().any(|a| matches!(a.name, "asl" | "triage")) {
        bail!(
            "--template {}: no such file (run from the repository root, or point --template at template.yaml)",
            args.template.display()
        );
    }

    let started = Instant::now();
    let needs_db = selected.iter().any(|a| matches!(a.name, "audit" | "inventory" | "network" | "triage"));
    let scratch = if needs_db { Scratch::open(config).await? } else { Scratch::none() };
    let mut ctx = Ctx { quick: args.quick, template: args.template.clone(), scratch };
    let mut rows = Vec::new();
    for area in selected {
        if !args.json {
            eprintln!("bench: {} …", area.name);
        }
        let area_started = Instant::now();
        let outcome = match area.name {
            "asl" => asl::run(&ctx).await,
            "audit" => audit::run(&mut ctx).await,
            "redaction" => audit::redaction(&ctx).await,
            "decide" => decide::run(&ctx).await,
            "adf" => adf::run(&ctx).await,
            "inventory" => inventory::run(&mut ctx).await,
            "network" => inventory::network(&mut ctx).await,
            "triage" => triage::run(&mut ctx).await,
            other => Err(anyhow::anyhow!("no benchmarks for area {other}")),
        };
        match outcome {
            Ok(area_rows) => rows.extend(
                area_rows
                    .into_iter()
                    .filter(|r| args.only.is_empty() || args.only.iter().any(|n| n == r.area || n == r.id)),
            ),
            Err(e) => {
                // The area's benchmarks could not run: one error row per benchmark asked for.
                for id in area
                    .ids
                    .iter()
                    .filter(|id| args.only.is_empty() || args.only.iter().any(|n| n == area.name || n == *id))
                {
                    let mut row = Row::new(area.name, id, *id, "");
                    row.error = Some(format!("{e:#}"));
                    rows.push(row);
                }
            }
        }
        tracing::debug!(area = area.name, seconds = area_started.elapsed().as_secs_f64(), "bench area done");
    }
    let cleanup = ctx.scratch.finish().await;

    let failed = rows.iter().filter(|r| r.error.is_some()).count();
    if args.json {
        let doc = serde_json::json!({
            "quick": args.quick,
            "build": if cfg!(debug_assertions) { "debug" } else { "release" },
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "load_average": load_average(),
            "seconds": started.elapsed().as_secs_f64(),
            "rows": rows,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print_table(&rows, args.quick, started.elapsed());
    }
    cleanup?;
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_table(rows: &[Row], quick: bool, took: Duration) {
    let header = ["area", "benchmark", "budget", "measured", "within budget"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            let within = match (&r.error, r.within_budget) {
                (Some(_), _) => "ERROR".to_owned(),
                (None, Some(true)) => "yes".to_owned(),
                (None, Some(false)) => "NO".to_owned(),
                (None, None) => "n/a".to_owned(),
            };
            let measured = match &r.error {
                Some(e) => e.clone(),
                None => r.measured.clone(),
            };
            [r.area.to_owned(), r.benchmark.clone(), r.budget.clone(), measured, within]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: [&str; 5]| {
        let mut out = String::new();
        for (i, (c, w)) in cols.iter().zip(widths).enumerate() {
            if i > 0 {
                out.push_str(" | ");
            }
            out.push_str(c);
            if i < 4 {
                out.push_str(&" ".repeat(w - c.chars().count()));
            }
        }
        println!("{out}");
    };
    line(header);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    line([&rule[0], &rule[1], &rule[2], &rule[3], &rule[4]]);
    for row in &cells {
        line([&row[0], &row[1], &row[2], &row[3], &row[4]]);
    }
    let details: Vec<&Row> = rows.iter().filter(|r| !r.detail.is_empty()).collect();
    if !details.is_empty() {
        println!();
        for r in details {
            println!("{}: {}", r.id, r.detail);
        }
    }
    println!();
    println!(
        "{} build, {} cores, load average {}; {:.1} s{}",
        if cfg!(debug_assertions) { "debug" } else { "release" },
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        load_average().unwrap_or_else(|| "unknown".into()),
        took.as_secs_f64(),
        if quick { " — --quick: small workloads, a smoke test; the figures are not judged fairly" } else { "" }
    );
}

/// The 1/5/15-minute load averages, when /proc tells them.
fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

// ---------------------------------------------------------------------------------------------
// Shared measuring helpers

/// Run CPU-bound work on a thread of its own with a current-thread runtime: "on one core", as
/// the budgets say, and without stalling the main runtime.
pub async fn on_one_core<T: Send + 'static>(
    work: impl FnOnce(&tokio::runtime::Runtime) -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        work(&runtime)
    })
    .await?
}

/// Run `f` `runs` times and return each run's duration, sorted.
pub fn time_runs(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed());
    }
    times.sort();
    Ok(times)
}

/// The median of sorted durations.
pub fn median(sorted: &[Duration]) -> Duration {
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `12,345` (thousands separated; rates read better so).
pub fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The quick runs' estate (inventory and triage): a fraction of the default one.
pub fn quick_estate() -> secops_inventory::fixtures::EstateSpec {
    secops_inventory::fixtures::EstateSpec {
        instances: 60,
        falcon_ghost_ratio: 4.0,
        buckets: 20,
        databases: 6,
        sg_rules: 150,
        findings: 60,
        ..Default::default()
    }
}

/// The process's peak resident set (VmHWM) in MiB, when /proc tells it.
pub fn peak_rss_mib() -> Option<f64> {
    secops_triage::analyst::peak_memory_kb().map(|kib| kib as f64 / 1024.0)
}

/// Reset the peak so the next step's peak is its own (Linux: writing 5 to clear_refs).
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// "peak RSS 123 MiB" for a detail column (process-wide when the peak could not be reset).
pub fn peak_note(separate: bool) -> String {
    match peak_rss_mib() {
        Some(v) if separate => format!("peak RSS {v:.0} MiB"),
        Some(v) => format!("peak RSS of the process so far {v:.0} MiB"),
        None => "peak RSS unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
    }

    #[test]
    fn every_id_belongs_to_its_area() {
        for area in AREAS {
            for id in area.ids {
                assert!(id.starts_with(&format!("{}.", area.name)), "{id}");
            }
        }
    }
}
