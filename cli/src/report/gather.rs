//! Everything the page shows, read from PostgreSQL (read-only queries) into one [`ReportData`].
//!
//! Where each figure comes from:
//! - estate, exposure, posture, attack paths: the canonical views of the newest reconciled
//!   snapshot (`edr_coverage`, `unprotected_hosts`, `exposure`, `s3_exposure`, `s3_posture`,
//!   `rds_posture`, `open_ingress_production`) and `attack_path_starts` / `attack_paths`;
//! - decide's route per finding: the findings workflow's `findings.<outcome>` audit events, whose
//!   payload is the scratchpad (`decision`, `outcome`, the finding, the ticket and, when decide
//!   auto-remediated, the remediation's report with its plan). The audit log is in PostgreSQL in
//!   both deployments, where the hot state (decide claims) may be in DynamoDB. Replays
//!   ("duplicate delivery") are skipped, and the newest decision per finding counts;
//! - triage: the newest `triage_runs` row and its `triage_reports`;
//! - tickets: `tickets` (decide) and the links the ticketing destination returned (`outbox`);
//! - remediation plans: the remediation reports of those audit events, `remediation_approvals`,
//!   and the plan-only quarantine plans of incidents (`<state_dir>/quarantine-plans.jsonl`, the
//!   only place that mode keeps them);
//! - the audit chain: verified for real, as `secops audit verify` does.

use anyhow::{Context, Result};
use secops_core::Config;
use secops_store::Pool;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::Path;

/// Rows kept for each long table (the totals are always exact).
pub const MAX_ROWS: usize = 50;
/// How many attack paths the page lists.
pub const TOP_PATHS: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct ReportData {
    /// RFC 3339, UTC.
    pub generated_at: String,
    /// The newest reconciled inventory snapshot; `None` before the first `collect --reconcile`.
    pub snapshot: Option<SnapshotInfo>,
    pub estate: Option<Estate>,
    pub exposure: Exposure,
    pub posture: Posture,
    pub findings: Findings,
    pub triage: Option<Triage>,
    pub tickets: Tickets,
    pub attack_paths: AttackPaths,
    pub remediation: Vec<RemediationPlan>,
    pub audit: AuditStatus,
}

#[derive(Debug, Clone, Serialize)]
pub struct SnapshotInfo {
    pub id: i64,
    pub started_at: String,
    pub reconciled_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Estate {
    pub accounts: u64,
    pub live_instances: u64,
    pub matched: u64,
    pub unprotected: u64,
    /// Falcon host records of no live instance (autoscaling ghosts, duplicates).
    pub falcon_stale: u64,
    /// `None` when there are no live instances.
    pub edr_coverage_pct: Option<f64>,
    pub per_account: Vec<AccountCoverage>,
    /// The first [`MAX_ROWS`] unprotected hosts.
    pub unprotected_hosts: Vec<UnprotectedHost>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AccountCoverage {
    pub account_id: String,
    pub live_instances: u64,
    pub matched: u64,
    pub unprotected: u64,
    pub coverage_pct: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnprotectedHost {
    pub account_id: String,
    pub region: String,
    pub instance_id: String,
    pub name: String,
    pub environment: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Exposure {
    /// Internet-reachable resources by kind (resource type), most first.
    pub by_kind: Vec<(String, u64)>,
    pub exposed_resources: u64,
    /// The first [`MAX_ROWS`] exposed resources with their open ports.
    pub resources: Vec<ExposedResource>,
    pub public_buckets: u64,
    /// Buckets that are public or lack a public access block.
    pub buckets: Vec<BucketExposure>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExposedResource {
    pub account_id: String,
    pub kind: String,
    pub resource: String,
    pub name: String,
    pub ports: String,
    pub via: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BucketExposure {
    pub account_id: String,
    pub bucket: String,
    pub public: bool,
    pub failed_checks: String,
    pub reasons: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Posture {
    pub s3_buckets: u64,
    pub s3_failing: u64,
    pub rds_failing: u64,
    pub rds: Vec<PostureFailure>,
    pub open_ingress_rules: u64,
    pub open_ingress: Vec<OpenIngress>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PostureFailure {
    pub resource_type: String,
    pub account_id: String,
    pub resource_id: String,
    pub failed_checks: String,
    pub reasons: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct OpenIngress {
    pub account_id: String,
    pub instance_id: String,
    pub name: String,
    pub group_id: String,
    pub protocol: String,
    pub ports: String,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Findings {
    /// Findings decided (replays aside), newest decision per finding.
    pub decided: u64,
    /// Findings the workflow could not process (`findings.failure.*` audit events).
    pub failures: u64,
    /// Decide's routes, in order of first appearance by count.
    pub routes: Vec<String>,
    /// Severities present, most severe first.
    pub severities: Vec<String>,
    /// `counts[severity index][route index]`.
    pub counts: Vec<Vec<u64>>,
    /// Decided findings per route.
    pub per_route: BTreeMap<String, u64>,
    /// The first [`MAX_ROWS`] decided findings, highest penalty score first.
    pub rows: Vec<DecidedFinding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DecidedFinding {
    pub finding_id: String,
    pub title: String,
    pub severity: String,
    pub account_id: String,
    pub route: String,
    pub outcome: String,
    pub score: Option<f64>,
    pub ticket: Option<TicketLink>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TicketLink {
    pub key: String,
    /// `file://` for local tickets, the browse URL for Jira; `None` when unknown.
    pub url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Triage {
    pub execution_id: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub provider: String,
    pub candidates: i64,
    pub excluded: i64,
    pub already_ticketed: i64,
    pub over_limit: i64,
    pub selected: i64,
    pub analysed: u64,
    pub failed: u64,
    pub fallbacks: u64,
    pub verdicts: BTreeMap<String, u64>,
    pub reports: Vec<TriageRow>,
    /// Every run's reports, for context.
    pub runs_total: u64,
    pub reports_total: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TriageRow {
    pub source: String,
    pub finding_id: String,
    pub title: String,
    pub severity: String,
    pub status: String,
    pub verdict: Option<String>,
    pub risk_score: Option<i16>,
    pub fallback: Option<bool>,
    pub ticket: Option<TicketLink>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Tickets {
    pub total: u64,
    pub open: u64,
    pub by_kind: BTreeMap<String, u64>,
    /// Tickets opened by triage runs (`triage_reports.ticket_id`).
    pub triage: u64,
    /// Where tickets are filed: "Jira" or the local folder.
    pub destination: String,
    /// The newest [`MAX_ROWS`] decide tickets.
    pub recent: Vec<TicketRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TicketRow {
    pub ticket: TicketLink,
    pub kind: String,
    pub title: String,
    pub severity: String,
    pub account_id: String,
    pub opened_at: String,
    pub open: bool,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct AttackPaths {
    /// Starts per mode (internet, east_west) in the current snapshot.
    pub starts: BTreeMap<String, u64>,
    pub paths: u64,
    /// The top [`TOP_PATHS`] starts: internet-exposed ones first, by their rank.
    pub top: Vec<AttackPath>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AttackPath {
    pub mode: String,
    pub rank: i32,
    pub score: i32,
    pub start: String,
    pub start_kind: String,
    pub account_id: String,
    pub reached: i32,
    pub reached_databases: i32,
    pub reached_unprotected: i32,
    pub reached_vulnerable: i32,
    /// One path from this start, preferring one that ends at a database: node names in order.
    pub example: Vec<String>,
    pub example_traits: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RemediationPlan {
    pub control: String,
    pub finding_id: String,
    pub resource: String,
    pub account_id: String,
    pub region: String,
    /// The planned changes, one line each.
    pub changes: Vec<String>,
    /// The run's outcome (`planned`, `remediated`, `approval_required`, …) or the approval's state.
    pub status: String,
    pub mode: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditStatus {
    /// `true` only when the verification ran and found no problem.
    pub ok: bool,
    pub verified: bool,
    pub chain: String,
    pub events: u64,
    pub head_seq: Option<i64>,
    pub summary: String,
    /// The first problem, when there is one.
    pub first_break: Option<String>,
    pub problem_count: u64,
    /// Events per type family (`findings`, `triage`, …).
    pub by_family: BTreeMap<String, u64>,
}

/// Read everything the page shows.
pub async fn gather(config: &Config, pool: &Pool) -> Result<ReportData> {
    let object = pool.get().await.context("connecting to the database for the report")?;
    let client: &Client = &object;
    let links = ticket_links(client, config).await?;
    let snapshot = snapshot(client).await?;
    let estate = match &snapshot {
        Some(_) => Some(estate(client).await?),
        None => None,
    };
    let chain = config.audit.chain.clone();
    Ok(ReportData {
        generated_at: now_rfc3339(),
        estate,
        exposure: exposure(client).await?,
        posture: posture(client).await?,
        findings: findings(client, &chain, &links).await?,
        triage: triage(client, &links).await?,
        tickets: tickets(client, config, &links).await?,
        attack_paths: attack_paths(client).await?,
        remediation: remediation(client, &chain, Path::new(&config.state_dir)).await?,
        audit: super::audit_status(config, pool, client, &chain).await,
        snapshot,
    })
}

type Client = tokio_postgres::Client;

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// A timestamp column as the page prints it.
macro_rules! ts {
    ($col:literal) => {
        concat!("to_char(", $col, " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"')")
    };
}

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

async fn snapshot(client: &Client) -> Result<Option<SnapshotInfo>> {
    let row = client
        .query_opt(
            concat!(
                "SELECT r.snapshot_id, ",
                ts!("s.started_at"),
                ", ",
                ts!("r.reconciled_at"),
                " FROM reconciliations r JOIN snapshots s ON s.id = r.snapshot_id ORDER BY r.snapshot_id DESC LIMIT 1"
            ),
            &[],
        )
        .await
        .context("reading the newest reconciled snapshot (reconciliations)")?;
    Ok(row.map(|r| SnapshotInfo { id: r.get(0), started_at: r.get(1), reconciled_at: r.get(2) }))
}

async fn estate(client: &Client) -> Result<Estate> {
    let rows = client
        .query(
            "SELECT account_id, live_instances::int8, protected::int8, unprotected::int8, coverage_pct::float8 FROM edr_coverage",
            &[],
        )
        .await
        .context("reading the view edr_coverage")?;
    let mut estate = Estate {
        accounts: 0,
        live_instances: 0,
        matched: 0,
        unprotected: 0,
        falcon_stale: 0,
        edr_coverage_pct: None,
        per_account: Vec::new(),
        unprotected_hosts: Vec::new(),
    };
    for r in rows {
        let account: Option<String> = r.get(0);
        let (live, matched, unprotected) = (count(r.get(1)), count(r.get(2)), count(r.get(3)));
        let pct: Option<f64> = r.get(4);
        match account {
            // The ROLLUP's total row.
            None => {
                estate.live_instances = live;
                estate.matched = matched;
                estate.unprotected = unprotected;
                estate.edr_coverage_pct = pct;
            }
            Some(account_id) => estate.per_account.push(AccountCoverage {
                account_id,
                live_instances: live,
                matched,
                unprotected,
                coverage_pct: pct,
            }),
        }
    }
    let accounts = client
        .query_one(
            "SELECT count(DISTINCT account_id)::int8 FROM snapshot_sources \
             WHERE snapshot_id = current_inventory_snapshot() AND account_id IS NOT NULL",
            &[],
        )
        .await
        .context("counting the accounts of the snapshot (snapshot_sources)")?;
    estate.accounts = count(accounts.get(0)).max(estate.per_account.len() as u64);
    let stale = client
        .query_one(
            "SELECT count(*)::int8 FROM edr_falcon_hosts WHERE snapshot_id = current_inventory_snapshot() AND status = 'stale'",
            &[],
        )
        .await
        .context("counting stale Falcon hosts (edr_falcon_hosts)")?;
    estate.falcon_stale = count(stale.get(0));
    let hosts = client
        .query(
            "SELECT account_id, region, instance_id, coalesce(name, ''), coalesce(environment, ''), reason \
             FROM unprotected_hosts LIMIT $1",
            &[&(MAX_ROWS as i64)],
        )
        .await
        .context("reading the view unprotected_hosts")?;
    estate.unprotected_hosts = hosts
        .iter()
        .map(|r| UnprotectedHost {
            account_id: r.get(0),
            region: r.get(1),
            instance_id: r.get(2),
            name: r.get(3),
            environment: r.get(4),
            reason: r.get(5),
        })
        .collect();
    Ok(estate)
}

async fn exposure(client: &Client) -> Result<Exposure> {
    let by_kind = client
        .query(
            "SELECT coalesce(resource_type, 'other'), count(DISTINCT resource)::int8 FROM exposure GROUP BY 1 ORDER BY 2 DESC, 1",
            &[],
        )
        .await
        .context("reading the view exposure")?;
    let by_kind: Vec<(String, u64)> = by_kind.iter().map(|r| (r.get(0), count(r.get(1)))).collect();
    let resources = client
        .query(
            "SELECT coalesce(account_id, ''), coalesce(resource_type, 'other'), resource, coalesce(name, ''), \
                    string_agg(DISTINCT CASE WHEN from_port IS NULL THEN protocol \
                                             WHEN from_port = to_port THEN protocol || '/' || from_port \
                                             ELSE protocol || '/' || from_port || '-' || to_port END, ', '), \
                    string_agg(DISTINCT coalesce(via_load_balancer, mechanism), ', ') \
             FROM exposure GROUP BY 1, 2, 3, 4 ORDER BY 2, 1, 3 LIMIT $1",
            &[&(MAX_ROWS as i64)],
        )
        .await
        .context("reading the view exposure")?;
    let buckets = client
        .query(
            "SELECT account_id, bucket, coalesce(public, false), coalesce(array_to_string(failed_checks, ', '), ''), \
                    coalesce(reasons, '') FROM s3_exposure",
            &[],
        )
        .await
        .context("reading the view s3_exposure")?;
    let buckets: Vec<BucketExposure> = buckets
        .iter()
        .map(|r| BucketExposure {
            account_id: r.get(0),
            bucket: r.get(1),
            public: r.get(2),
            failed_checks: r.get(3),
            reasons: r.get(4),
        })
        .collect();
    Ok(Exposure {
        exposed_resources: by_kind.iter().map(|(_, n)| n).sum(),
        by_kind,
        resources: resources
            .iter()
            .map(|r| ExposedResource {
                account_id: r.get(0),
                kind: r.get(1),
                resource: r.get(2),
                name: r.get(3),
                ports: r.get::<_, Option<String>>(4).unwrap_or_default(),
                via: r.get::<_, Option<String>>(5).unwrap_or_default(),
            })
            .collect(),
        public_buckets: buckets.iter().filter(|b| b.public).count() as u64,
        buckets: buckets.into_iter().take(MAX_ROWS).collect(),
    })
}

async fn posture(client: &Client) -> Result<Posture> {
    let s3 = client
        .query_one("SELECT count(*)::int8, count(*) FILTER (WHERE NOT compliant)::int8 FROM s3_posture", &[])
        .await
        .context("reading the view s3_posture")?;
    let rds = client
        .query(
            "SELECT resource_type, account_id, resource_id, coalesce(array_to_string(failed_checks, ', '), ''), \
                    coalesce(reasons, '') FROM rds_posture",
            &[],
        )
        .await
        .context("reading the view rds_posture")?;
    let ingress = client
        .query(
            "SELECT account_id, instance_id, coalesce(name, ''), group_id, coalesce(ip_protocol, ''), \
                    from_port::int8, to_port::int8, coalesce(source, '') FROM open_ingress_production",
            &[],
        )
        .await
        .context("reading the view open_ingress_production")?;
    Ok(Posture {
        s3_buckets: count(s3.get(0)),
        s3_failing: count(s3.get(1)),
        rds_failing: rds.len() as u64,
        rds: rds
            .iter()
            .take(MAX_ROWS)
            .map(|r| PostureFailure {
                resource_type: r.get(0),
                account_id: r.get(1),
                resource_id: r.get(2),
                failed_checks: r.get(3),
                reasons: r.get(4),
            })
            .collect(),
        open_ingress_rules: ingress.len() as u64,
        open_ingress: ingress
            .iter()
            .take(MAX_ROWS)
            .map(|r| {
                let protocol: String = r.get(4);
                let (from, to): (Option<i64>, Option<i64>) = (r.get(5), r.get(6));
                OpenIngress {
                    account_id: r.get(0),
                    instance_id: r.get(1),
                    name: r.get(2),
                    group_id: r.get(3),
                    protocol: if protocol == "-1" { "all".to_owned() } else { protocol },
                    ports: match (from, to) {
                        (Some(f), Some(t)) if f == t => f.to_string(),
                        (Some(f), Some(t)) => format!("{f}-{t}"),
                        _ => "all".to_owned(),
                    },
                    source: r.get(7),
                }
            })
            .collect(),
    })
}

/// Severities, most severe first; unknown labels after them.
const SEVERITY_ORDER: &[&str] = &["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"];

fn severity_rank(s: &str) -> usize {
    SEVERITY_ORDER.iter().position(|x| *x == s).unwrap_or(SEVERITY_ORDER.len())
}

async fn findings(client: &Client, chain: &str, links: &Links) -> Result<Findings> {
    let rows = client
        .query(
            "SELECT DISTINCT ON (payload->'finding'->>'Id') \
                    payload->'finding'->>'Id', coalesce(payload->'finding'->>'Title', ''), \
                    upper(coalesce(payload->'finding'->'Severity'->>'Label', 'UNKNOWN')), \
                    coalesce(payload->'finding'->>'AwsAccountId', ''), payload->>'decision', \
                    coalesce(payload->>'outcome', substr(event_type, 10)), \
                    CASE WHEN jsonb_typeof(payload->'penalty_score') = 'number' THEN (payload->>'penalty_score')::float8 END, \
                    payload->'ticket'->>'id' \
             FROM audit_events \
             WHERE chain = $1 AND event_type LIKE 'findings.%' AND jsonb_typeof(payload->'decision') = 'string' \
               AND jsonb_typeof(payload->'finding'->'Id') = 'string' \
               AND coalesce(payload->>'decision_reason', '') NOT LIKE 'duplicate delivery%' \
             ORDER BY payload->'finding'->>'Id', seq DESC",
            &[&chain],
        )
        .await
        .context("reading decide's outcomes from the audit log (audit_events findings.*)")?;
    let failures = client
        .query_one(
            "SELECT count(*)::int8 FROM audit_events WHERE chain = $1 AND event_type LIKE 'findings.failure.%'",
            &[&chain],
        )
        .await
        .context("counting findings.failure.* audit events")?;
    let mut decided: Vec<DecidedFinding> = rows
        .iter()
        .map(|r| DecidedFinding {
            finding_id: r.get(0),
            title: r.get(1),
            severity: r.get(2),
            account_id: r.get(3),
            route: r.get(4),
            outcome: r.get(5),
            score: r.get(6),
            ticket: r.get::<_, Option<String>>(7).map(|key| links.link(&key)),
        })
        .collect();
    let mut per_route: BTreeMap<String, u64> = BTreeMap::new();
    for f in &decided {
        *per_route.entry(f.route.clone()).or_default() += 1;
    }
    let mut routes: Vec<String> = per_route.keys().cloned().collect();
    routes.sort_by(|a, b| per_route[b].cmp(&per_route[a]).then(a.cmp(b)));
    let mut severities: Vec<String> = decided.iter().map(|f| f.severity.clone()).collect();
    severities.sort_by(|a, b| severity_rank(a).cmp(&severity_rank(b)).then(a.cmp(b)));
    severities.dedup();
    let mut counts = vec![vec![0u64; routes.len()]; severities.len()];
    for f in &decided {
        let s = severities.iter().position(|x| *x == f.severity).unwrap_or(0);
        let r = routes.iter().position(|x| *x == f.route).unwrap_or(0);
        counts[s][r] += 1;
    }
    decided.sort_by(|a, b| {
        b.score
            .unwrap_or(0.0)
            .total_cmp(&a.score.unwrap_or(0.0))
            .then(severity_rank(&a.severity).cmp(&severity_rank(&b.severity)))
            .then(a.finding_id.cmp(&b.finding_id))
    });
    Ok(Findings {
        decided: decided.len() as u64,
        failures: count(failures.get(0)),
        routes,
        severities,
        counts,
        per_route,
        rows: decided.into_iter().take(MAX_ROWS).collect(),
    })
}

async fn triage(client: &Client, links: &Links) -> Result<Option<Triage>> {
    let Some(run) = client
        .query_opt(
            concat!(
                "SELECT execution_id, ",
                ts!("started_at"),
                ", ",
                ts!("finished_at"),
                ", provider, candidates::int8, excluded::int8, already_ticketed::int8, over_limit::int8, selected::int8 \
                 FROM triage_runs ORDER BY started_at DESC, execution_id DESC LIMIT 1"
            ),
            &[],
        )
        .await
        .context("reading the newest triage run (triage_runs)")?
    else {
        return Ok(None);
    };
    let execution_id: String = run.get(0);
    let rows = client
        .query(
            "SELECT source, finding_id, title, severity, status, verdict, risk_score, fallback, ticket_id \
             FROM triage_reports WHERE execution_id = $1 ORDER BY position, source, finding_id",
            &[&execution_id],
        )
        .await
        .context("reading the run's triage_reports")?;
    let reports: Vec<TriageRow> = rows
        .iter()
        .map(|r| TriageRow {
            source: r.get(0),
            finding_id: r.get(1),
            title: r.get(2),
            severity: r.get(3),
            status: r.get(4),
            verdict: r.get(5),
            risk_score: r.get(6),
            fallback: r.get(7),
            ticket: r.get::<_, Option<String>>(8).map(|key| links.link(&key)),
        })
        .collect();
    let mut verdicts = BTreeMap::new();
    for r in &reports {
        if let Some(v) = &r.verdict {
            *verdicts.entry(v.clone()).or_default() += 1;
        }
    }
    let totals = client
        .query_one("SELECT (SELECT count(*) FROM triage_runs)::int8, (SELECT count(*) FROM triage_reports)::int8", &[])
        .await
        .context("counting triage runs and reports")?;
    Ok(Some(Triage {
        execution_id,
        started_at: run.get(1),
        finished_at: run.get(2),
        provider: run.get(3),
        candidates: run.get(4),
        excluded: run.get(5),
        already_ticketed: run.get(6),
        over_limit: run.get(7),
        selected: run.get(8),
        analysed: reports.iter().filter(|r| r.status == "analysed").count() as u64,
        failed: reports.iter().filter(|r| r.status == "failed").count() as u64,
        fallbacks: reports.iter().filter(|r| r.fallback == Some(true)).count() as u64,
        verdicts,
        reports,
        runs_total: count(totals.get(0)),
        reports_total: count(totals.get(1)),
    }))
}

/// Where each ticket key leads.
pub struct Links {
    /// What the ticketing destination answered when the ticket was filed.
    recorded: HashMap<String, String>,
    jira_site: Option<String>,
    tickets_dir: String,
}

impl Links {
    pub fn link(&self, key: &str) -> TicketLink {
        let url = self
            .recorded
            .get(key)
            .filter(|u| is_ticket_url(u))
            .cloned()
            .or_else(|| self.jira_site.as_ref().map(|site| format!("{}/browse/{key}", site.trim_end_matches('/'))))
            .or_else(|| {
                // A local ticket's file, when the key is a plain name (never a path).
                let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                plain.then(|| file_url(&Path::new(&self.tickets_dir).join(format!("{key}.md"))))
            });
        TicketLink { key: key.to_owned(), url }
    }
}

/// Only these schemes become links; anything else (`javascript:`, …) is shown as text.
pub fn is_ticket_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("file:///")
}

/// A `file://` URL for an absolute path (relative paths are made absolute against the current
/// folder), with the characters that are not safe in a URL path percent-encoded.
pub fn file_url(path: &Path) -> String {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_path_buf())
    };
    let mut url = String::from("file://");
    for b in absolute.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

async fn ticket_links(client: &Client, config: &Config) -> Result<Links> {
    let rows = client
        .query(
            "SELECT DISTINCT ON (remote_id) remote_id, remote_url FROM outbox \
             WHERE destination = 'tickets' AND remote_id IS NOT NULL AND remote_url IS NOT NULL \
             ORDER BY remote_id, seq DESC",
            &[],
        )
        .await
        .context("reading ticket links from the outbox")?;
    Ok(Links {
        recorded: rows.iter().map(|r| (r.get(0), r.get(1))).collect(),
        jira_site: config.notify.jira.as_ref().map(|j| j.url.clone()),
        tickets_dir: config.notify.tickets_dir.clone(),
    })
}

async fn tickets(client: &Client, config: &Config, links: &Links) -> Result<Tickets> {
    let kinds = client
        .query(
            "SELECT kind, count(*)::int8, count(*) FILTER (WHERE closed_at IS NULL)::int8 FROM tickets GROUP BY kind",
            &[],
        )
        .await
        .context("counting tickets")?;
    let mut tickets = Tickets {
        destination: match &config.notify.jira {
            Some(j) => format!("Jira ({})", j.url),
            None => format!("local Markdown files in {}", config.notify.tickets_dir),
        },
        ..Tickets::default()
    };
    for r in &kinds {
        let (n, open) = (count(r.get(1)), count(r.get(2)));
        tickets.by_kind.insert(r.get(0), n);
        tickets.total += n;
        tickets.open += open;
    }
    let triage = client
        .query_one("SELECT count(DISTINCT ticket_id)::int8 FROM triage_reports WHERE ticket_id IS NOT NULL", &[])
        .await
        .context("counting triage tickets")?;
    tickets.triage = count(triage.get(0));
    let recent = client
        .query(
            concat!(
                "SELECT ticket_id, kind, title, severity, account_id, ",
                ts!("opened_at"),
                ", closed_at IS NULL FROM tickets ORDER BY opened_at DESC, ticket_id LIMIT $1"
            ),
            &[&(MAX_ROWS as i64)],
        )
        .await
        .context("reading the newest tickets")?;
    tickets.recent = recent
        .iter()
        .map(|r| TicketRow {
            ticket: links.link(r.get(0)),
            kind: r.get(1),
            title: r.get(2),
            severity: r.get(3),
            account_id: r.get(4),
            opened_at: r.get(5),
            open: r.get(6),
        })
        .collect();
    Ok(tickets)
}

async fn attack_paths(client: &Client) -> Result<AttackPaths> {
    let starts = client
        .query(
            "SELECT mode, count(*)::int8 FROM attack_path_starts WHERE snapshot_id = current_inventory_snapshot() GROUP BY mode",
            &[],
        )
        .await
        .context("counting attack_path_starts")?;
    let paths = client
        .query_one("SELECT count(*)::int8 FROM attack_paths WHERE snapshot_id = current_inventory_snapshot()", &[])
        .await
        .context("counting attack_paths")?;
    let top = client
        .query(
            "SELECT s.mode, s.rank, s.score, \
                    coalesce(n.name || ' (' || coalesce(n.resource_id, s.start_id) || ')', n.resource_id, s.start_id), \
                    coalesce(n.resource_type, n.kind, ''), coalesce(n.account_id, ''), \
                    s.reached, s.reached_databases, s.reached_unprotected, s.reached_vulnerable, \
                    p.names, coalesce(p.traits, '') \
             FROM attack_path_starts s \
             LEFT JOIN network_nodes n ON n.snapshot_id = s.snapshot_id AND n.node_id = s.start_id \
             LEFT JOIN LATERAL ( \
                 SELECT ARRAY(SELECT coalesce(nn.name, nn.resource_id, x.node) \
                              FROM unnest(ap.nodes) WITH ORDINALITY AS x(node, i) \
                              LEFT JOIN network_nodes nn ON nn.snapshot_id = ap.snapshot_id AND nn.node_id = x.node \
                              ORDER BY x.i) AS names, \
                        array_to_string(ap.target_traits, ', ') AS traits \
                 FROM attack_paths ap \
                 WHERE ap.snapshot_id = s.snapshot_id AND ap.mode = s.mode AND ap.start_id = s.start_id \
                 ORDER BY ('database' = ANY (ap.target_traits)) DESC, ap.hops DESC, ap.target_id LIMIT 1) p ON true \
             WHERE s.snapshot_id = current_inventory_snapshot() \
             ORDER BY (s.mode = 'internet') DESC, s.rank, s.start_id LIMIT $1",
            &[&(TOP_PATHS as i64)],
        )
        .await
        .context("reading the top attack paths (attack_path_starts, attack_paths)")?;
    Ok(AttackPaths {
        starts: starts.iter().map(|r| (r.get(0), count(r.get(1)))).collect(),
        paths: count(paths.get(0)),
        top: top
            .iter()
            .map(|r| AttackPath {
                mode: r.get(0),
                rank: r.get(1),
                score: r.get(2),
                start: r.get(3),
                start_kind: r.get(4),
                account_id: r.get(5),
                reached: r.get(6),
                reached_databases: r.get(7),
                reached_unprotected: r.get(8),
                reached_vulnerable: r.get(9),
                example: r.get::<_, Option<Vec<String>>>(10).unwrap_or_default(),
                example_traits: r.get(11),
            })
            .collect(),
    })
}

/// One change of a remediation plan, as a line.
fn change_line(change: &Value) -> String {
    let text = |k: &str| change.get(k).and_then(Value::as_str).unwrap_or("?");
    format!("{} on {} — {}", text("action"), text("resource"), text("why"))
}

fn plan_changes(plan: Option<&Value>) -> Vec<String> {
    plan.and_then(|p| p.get("changes"))
        .and_then(Value::as_array)
        .map(|c| c.iter().map(change_line).collect())
        .unwrap_or_default()
}

async fn remediation(client: &Client, chain: &str, state_dir: &Path) -> Result<Vec<RemediationPlan>> {
    let rows = client
        .query(
            "SELECT DISTINCT ON (payload->'finding'->>'Id') payload->'remediation', coalesce(payload->'finding'->>'Id', '') \
             FROM audit_events \
             WHERE chain = $1 AND event_type LIKE 'findings.%' AND jsonb_typeof(payload->'remediation') = 'object' \
             ORDER BY payload->'finding'->>'Id', seq DESC",
            &[&chain],
        )
        .await
        .context("reading remediation reports from the audit log")?;
    let approvals = client
        .query(
            "SELECT finding_id, control, account_id, region, resource, plan, coalesce(decision, 'waiting for approval'), \
                    coalesce(decided_by, '') FROM remediation_approvals ORDER BY requested_at DESC",
            &[],
        )
        .await
        .context("reading remediation_approvals")?;
    let mut approval_of: HashMap<String, String> = HashMap::new();
    for a in &approvals {
        let (finding, decision, by): (String, String, String) = (a.get(0), a.get(6), a.get(7));
        let status =
            if by.is_empty() { format!("approval: {decision}") } else { format!("approval: {decision} by {by}") };
        approval_of.entry(finding).or_insert(status);
    }
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let mut plans = Vec::new();
    for r in &rows {
        let report: Value = r.get(0);
        let finding_id: String = r.get(1);
        let finding_id = if finding_id.is_empty() { text(&report, "finding_id") } else { finding_id };
        let mut status = text(&report, "outcome");
        if let Some(approval) = approval_of.remove(&finding_id) {
            status = format!("{status}; {approval}");
        }
        plans.push(RemediationPlan {
            control: text(&report, "control"),
            resource: text(&report, "resource"),
            account_id: text(&report, "account"),
            region: text(&report, "region"),
            changes: plan_changes(report.get("plan")),
            status,
            mode: text(&report, "mode"),
            reason: text(&report, "reason"),
            finding_id,
        });
    }
    // Approvals whose finding's report is not in the log (yet).
    for a in &approvals {
        let finding_id: String = a.get(0);
        if let Some(status) = approval_of.remove(&finding_id) {
            let plan: Value = a.get(5);
            plans.push(RemediationPlan {
                control: a.get(1),
                account_id: a.get(2),
                region: a.get(3),
                resource: a.get(4),
                changes: plan_changes(Some(&plan)),
                status,
                mode: "plan".to_owned(),
                reason: String::new(),
                finding_id,
            });
        }
    }
    plans.extend(quarantine_plans(&state_dir.join("quarantine-plans.jsonl"))?);
    Ok(plans)
}

/// The plan-only isolations of incidents, newest [`MAX_ROWS`]; none when the file is absent.
fn quarantine_plans(path: &Path) -> Result<Vec<RemediationPlan>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading the quarantine plans in {}", path.display())),
    };
    let mut plans = std::collections::VecDeque::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading line {} of {}", n + 1, path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let plan: Value =
            serde_json::from_str(&line).with_context(|| format!("line {} of {} is not JSON", n + 1, path.display()))?;
        let request = plan.get("request").cloned().unwrap_or(Value::Null);
        let text = |k: &str| request.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let steps = plan.get("steps").and_then(Value::as_array).cloned().unwrap_or_default();
        plans.push_back(RemediationPlan {
            control: "incident: quarantine".to_owned(),
            finding_id: text("finding_id"),
            resource: text("instance_id"),
            account_id: text("account_id"),
            region: text("region"),
            changes: steps.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            status: "planned".to_owned(),
            mode: "plan".to_owned(),
            reason: format!("planned at {}", plan.get("planned_at").and_then(Value::as_str).unwrap_or("?")),
        });
        if plans.len() > MAX_ROWS {
            plans.pop_front();
        }
    }
    Ok(plans.into_iter().rev().collect())
}
