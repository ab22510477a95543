//! `secops report`: one self-contained HTML page (inline CSS and SVG, no script, no external
//! asset) with the estate at a glance, findings by route and severity, triage verdicts with their
//! tickets, the top attack paths, remediation plans and the audit chain's verified status; and
//! `report.json` beside it with the same data for machines.

mod gather;
mod html;
mod svg;

use anyhow::{Context, Result};
use secops_core::Config;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The headline figures of a written report, for a caller to print.
#[derive(Debug, Clone, Serialize)]
pub struct ReportSummary {
    pub index_html: PathBuf,
    pub report_json: PathBuf,
    pub snapshot_id: Option<i64>,
    pub live_instances: u64,
    pub edr_coverage_pct: Option<f64>,
    pub exposed_resources: u64,
    pub public_buckets: u64,
    pub findings_decided: u64,
    pub findings_per_route: BTreeMap<String, u64>,
    pub triage_analysed: u64,
    pub triage_failed: u64,
    pub tickets: u64,
    pub attack_paths: u64,
    pub remediation_plans: usize,
    pub audit_ok: bool,
    pub audit_events: u64,
}

/// Read the database, write `index.html` and `report.json` into `out` (created if missing), and
/// return the headline figures. Only reads; an empty database gives a page that says so.
pub async fn write(config: &Config, pool: &secops_store::Pool, out: &Path) -> Result<ReportSummary> {
    let data = gather::gather(config, pool).await?;
    std::fs::create_dir_all(out).with_context(|| format!("creating the report folder {}", out.display()))?;
    let index_html = out.join("index.html");
    let report_json = out.join("report.json");
    write_atomically(&index_html, html::render(&data).as_bytes())?;
    let json = serde_json::to_vec_pretty(&data).context("serializing the report data")?;
    write_atomically(&report_json, &json)?;
    Ok(ReportSummary {
        index_html,
        report_json,
        snapshot_id: data.snapshot.as_ref().map(|s| s.id),
        live_instances: data.estate.as_ref().map_or(0, |e| e.live_instances),
        edr_coverage_pct: data.estate.as_ref().and_then(|e| e.edr_coverage_pct),
        exposed_resources: data.exposure.exposed_resources,
        public_buckets: data.exposure.public_buckets,
        findings_decided: data.findings.decided,
        findings_per_route: data.findings.per_route.clone(),
        triage_analysed: data.triage.as_ref().map_or(0, |t| t.analysed),
        triage_failed: data.triage.as_ref().map_or(0, |t| t.failed),
        tickets: data.tickets.total,
        attack_paths: data.attack_paths.paths,
        remediation_plans: data.remediation.len(),
        audit_ok: data.audit.ok,
        audit_events: data.audit.events,
    })
}

/// A reader never sees half a page: write beside the file, then rename over it.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let partial = path.with_file_name(format!(".{name}.partial"));
    std::fs::write(&partial, bytes).with_context(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, path).with_context(|| format!("renaming {} to {}", partial.display(), path.display()))
}

/// `secops report [--out DIR]`: write the report (default `<state_dir>/report`) and print where
/// it is with the headline figures.
pub async fn run(config: &Config, out: Option<PathBuf>) -> Result<ExitCode> {
    let out = out.unwrap_or_else(|| Path::new(&config.state_dir).join("report"));
    let summary = crate::database::with_migrated(config, async |url: &str| {
        let pool = secops_store::db::connect_pool(url, 2).await?;
        write(config, &pool, &out).await
    })
    .await?;
    print_summary(&summary);
    Ok(ExitCode::SUCCESS)
}

pub fn print_summary(s: &ReportSummary) {
    println!("report: {}", s.index_html.display());
    println!("  data: {}", s.report_json.display());
    match (s.snapshot_id, s.edr_coverage_pct) {
        (None, _) => println!("  estate: no snapshot yet (secops collect --reconcile)"),
        (Some(id), pct) => println!(
            "  estate: snapshot {id}, {} live instances, EDR coverage {}; {} internet-exposed resources, {} public buckets",
            s.live_instances,
            pct.map_or("n/a".to_owned(), |p| format!("{p:.1}%")),
            s.exposed_resources,
            s.public_buckets
        ),
    }
    let routes: Vec<String> = s.findings_per_route.iter().map(|(r, n)| format!("{r} {n}")).collect();
    println!(
        "  findings: {} decided{}",
        s.findings_decided,
        if routes.is_empty() { String::new() } else { format!(" ({})", routes.join(", ")) }
    );
    println!(
        "  triage: {} analysed, {} failed (newest run); tickets: {}",
        s.triage_analysed, s.triage_failed, s.tickets
    );
    println!("  attack paths: {}; remediation plans: {}", s.attack_paths, s.remediation_plans);
    println!("  audit chain: {} ({} events)", if s.audit_ok { "verified" } else { "NOT verified" }, s.audit_events);
}

/// Verify the audit chain as `secops audit verify` does; a chain that cannot be verified is
/// reported as such on the page, never a reason not to write the page.
async fn audit_status(
    config: &Config,
    pool: &secops_store::Pool,
    client: &tokio_postgres::Client,
    chain: &str,
) -> gather::AuditStatus {
    let by_family: BTreeMap<String, u64> = match client
        .query(
            "SELECT split_part(event_type, '.', 1), count(*)::int8 FROM audit_events WHERE chain = $1 GROUP BY 1",
            &[&chain],
        )
        .await
    {
        Ok(rows) => rows.iter().map(|r| (r.get(0), u64::try_from(r.get::<_, i64>(1)).unwrap_or(0))).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "counting audit events by type");
            BTreeMap::new()
        }
    };
    let stored: u64 = by_family.values().sum();
    let mut status = gather::AuditStatus {
        ok: false,
        verified: false,
        chain: chain.to_owned(),
        events: stored,
        head_seq: None,
        summary: String::new(),
        first_break: None,
        problem_count: 0,
        by_family,
    };
    match crate::audit::verify_database(config, pool).await {
        Ok(report) => {
            status.verified = true;
            status.ok = report.ok;
            status.events = report.events;
            status.head_seq = report.head.as_ref().map(|h| h.seq);
            status.problem_count = report.problem_count;
            status.summary = report.summary.clone();
            status.first_break = report.problems.first().map(|p| {
                let seq = p.seq.map_or("-".to_owned(), |s| s.to_string());
                format!("seq {seq}: {} — {}", p.kind, p.message)
            });
        }
        Err(e) if stored == 0 => {
            tracing::debug!(error = %format!("{e:#}"), "audit chain not verified: it is empty");
            status.summary = "no audit events yet: nothing to verify".to_owned();
        }
        Err(e) => status.summary = format!("could not verify the chain: {e:#}"),
    }
    status
}
