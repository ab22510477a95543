//! `secops collect`, `reconcile`, `query`, `snapshots`: the inventory for people at a terminal.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use secops_core::Config;
use secops_inventory::fixtures::EstateSpec;
use secops_inventory::network::paths::{self, AttackPath, Mode};
use secops_inventory::query::{self, DriftWindow, Rows};
use serde_json::Value;

use crate::database::with_migrated;

#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// Collect live from AWS (every account in SECOPS_COLLECT_ACCOUNTS through the read-only role)
    /// and the configured Falcon and Cloudflare tenants.
    #[arg(long, conflicts_with = "from_dir")]
    aws: bool,
    /// Import a folder of recorded responses (see the README's "Offline folder"); default
    /// SECOPS_COLLECT_FROM_DIR.
    #[arg(long)]
    from_dir: Option<PathBuf>,
    /// Also reconcile the new snapshot.
    #[arg(long)]
    reconcile: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    /// A view (`secops query list` shows them), or `drift`.
    view: String,
    /// `sensor_versions --tag KEY`: the breakdown by any instance tag.
    #[arg(long)]
    tag: Option<String>,
    /// `drift`: the inventory table (e.g. s3_bucket_policy_status).
    #[arg(long)]
    table: Option<String>,
    /// `drift`: compare consecutive snapshots of the last N days (`30d`).
    #[arg(long, value_parser = parse_days)]
    since: Option<i64>,
    /// `drift`: compare this snapshot id with --to's instead. `paths`: walk from this host (a node
    /// id, instance id, DB instance identifier, load balancer ARN or name) instead of showing the
    /// stored internet-inward ranking.
    #[arg(long, conflicts_with = "since")]
    from: Option<String>,
    #[arg(long, requires = "from")]
    to: Option<i64>,
    /// `paths --from`: how many hops to walk (default 6).
    #[arg(long)]
    max_hops: Option<u32>,
    /// `paths`: the snapshot (default: the current one).
    #[arg(long)]
    snapshot: Option<i64>,
    /// `drift`: only changes of this column (e.g. is_public).
    #[arg(long)]
    attribute: Option<String>,
    /// JSON lines, one object per row, instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum SnapshotsCommand {
    /// The newest snapshots, their status and failed collector runs.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete old snapshots with all their rows: those beyond the newest --keep that are also
    /// older than --older-than.
    Prune {
        #[arg(long)]
        keep: i64,
        #[arg(long, value_parser = parse_days)]
        older_than: i64,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum FixturesCommand {
    /// Write a seeded, reproducible estate as an offline folder (what `collect --from-dir` reads),
    /// with `truth.json`: what reconciliation must find. Unset options take the small default
    /// estate's values, or the benchmark's with --benchmark.
    Estate(EstateArgs),
}

#[derive(Debug, clap::Args)]
pub struct EstateArgs {
    /// An empty or new folder.
    #[arg(long)]
    out: PathBuf,
    /// Start from the benchmark estate (2,000 live instances, 50,000 Falcon records, 10,000
    /// security-group rules, 5,000 buckets).
    #[arg(long)]
    benchmark: bool,
    /// Start from the network benchmark estate (5,000 network interfaces, 2,000 security groups
    /// with 20,000 rules, 500 subnets, 200 NACLs).
    #[arg(long, conflicts_with = "benchmark")]
    network_benchmark: bool,
    #[arg(long)]
    seed: Option<u64>,
    #[arg(long)]
    accounts: Option<usize>,
    /// Comma-separated region names.
    #[arg(long, value_delimiter = ',')]
    regions: Option<Vec<String>>,
    /// Live EC2 instances.
    #[arg(long)]
    instances: Option<usize>,
    /// Dead Falcon host records per live instance (autoscaling ghosts, duplicates).
    #[arg(long)]
    falcon_ghost_ratio: Option<f64>,
    /// Share of live instances without a sensor.
    #[arg(long)]
    unprotected_ratio: Option<f64>,
    #[arg(long)]
    buckets: Option<usize>,
    #[arg(long)]
    public_bucket_ratio: Option<f64>,
    #[arg(long)]
    databases: Option<usize>,
    #[arg(long)]
    unencrypted_db_ratio: Option<f64>,
    #[arg(long)]
    sg_rules: Option<usize>,
    /// Security Hub, GuardDuty and Inspector findings together.
    #[arg(long)]
    findings: Option<usize>,
}

pub fn fixtures(command: FixturesCommand) -> Result<ExitCode> {
    let FixturesCommand::Estate(a) = command;
    let mut spec = if a.benchmark {
        EstateSpec::benchmark()
    } else if a.network_benchmark {
        EstateSpec::network_benchmark()
    } else {
        EstateSpec::default()
    };
    macro_rules! set {
        ($($field:ident),*) => { $( if let Some(v) = a.$field { spec.$field = v; } )* };
    }
    set!(seed, accounts, regions, instances, falcon_ghost_ratio, unprotected_ratio, buckets, public_bucket_ratio);
    set!(databases, unencrypted_db_ratio, sg_rules, findings);
    let truth = secops_inventory::fixtures::generate(&spec, &a.out)?;
    let records: u64 = truth.counts.values().sum();
    println!(
        "wrote {} records to {}: {} accounts, {} live instances, {} Falcon host records, {} buckets; truth in {}",
        records,
        a.out.display(),
        truth.accounts.len(),
        truth.instances.len(),
        truth.falcon_devices.len(),
        truth.counts.get("s3_buckets").copied().unwrap_or(0),
        a.out.join("truth.json").display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `30d` or `30` → 30 days.
fn parse_days(s: &str) -> Result<i64, String> {
    let digits = s.strip_suffix('d').unwrap_or(s);
    digits
        .parse::<i64>()
        .ok()
        .filter(|d| (0..=36_500).contains(d))
        .ok_or_else(|| format!("'{s}' is not a number of days (e.g. 30d)"))
}

async fn with_pool<T>(config: &Config, f: impl AsyncFnOnce(&secops_store::Pool) -> Result<T>) -> Result<T> {
    with_migrated(config, async |url: &str| {
        let pool = secops_store::db::connect_pool(url, config.inventory.concurrency.max(2) + 1).await?;
        f(&pool).await
    })
    .await
}

pub async fn collect(config: &Config, args: CollectArgs) -> Result<ExitCode> {
    let mut config = config.clone();
    if let Some(dir) = &args.from_dir {
        config.inventory.from_dir = Some(dir.display().to_string());
    }
    if args.aws {
        config.inventory.from_dir = None;
    }
    if !args.aws && config.inventory.from_dir.is_none() {
        bail!("say where to collect from: --aws, or --from-dir DIR (or set SECOPS_COLLECT_FROM_DIR)");
    }
    let source = secops_inventory::setup::source(&config, None).await?;
    with_pool(&config, async |pool| {
        let summary = source.collect(pool).await?;
        let reconciled = if args.reconcile && summary.status != "failed" {
            Some(secops_inventory::reconcile::reconcile(pool, Some(summary.snapshot_id)).await?)
        } else {
            None
        };
        if args.json {
            println!("{}", serde_json::json!({"snapshot": summary, "reconcile": reconciled}));
        } else {
            println!(
                "snapshot {}: {} — {} records from {} collector runs",
                summary.snapshot_id, summary.status, summary.records, summary.runs
            );
            for failed in &summary.failed_runs {
                let place = [failed.account_id.as_deref(), failed.region.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                println!("  failed: {} {place}: {} ({})", failed.collector, failed.error, failed.class);
            }
            if summary.shape_changes > 0 {
                println!(
                    "  {} record-shape changes since the previous snapshot (secops query shape_changes)",
                    summary.shape_changes
                );
            }
            if let Some(r) = &reconciled {
                print_reconciliation(r);
            }
        }
        Ok(match summary.status.as_str() {
            "complete" => ExitCode::SUCCESS,
            "partial" => ExitCode::from(3),
            _ => ExitCode::FAILURE,
        })
    })
    .await
}

/// The network flattening's line of a reconciliation summary.
pub(crate) fn print_network(r: &Value) {
    let network = &r["network"];
    println!(
        "  network: {} reachability rows between {} nodes, {} exposed to the internet, {} dangling references \
         (secops query exposure / dangling_references)",
        network["reachability_rows"], network["nodes"], network["internet_exposed_nodes"], network["findings"],
    );
    let paths = &r["attack_paths"];
    println!(
        "  attack paths (up to {} hops): {} internet-exposed starts with {} paths to databases, unprotected or \
         vulnerable hosts; {} threatened hosts with {} (secops query paths)",
        paths["max_hops"],
        paths["internet_starts"],
        paths["internet_paths"],
        paths["east_west_starts"],
        paths["east_west_paths"],
    );
    let dns = &r["dns"];
    println!(
        "  DNS: {} address and alias records, {} resolved to a resource, {} dangling (secops query dns-bridge)",
        dns["records"], dns["resolved"], dns["dangling"],
    );
}

fn print_reconciliation(r: &Value) {
    let edr = &r["edr"];
    println!(
        "reconciled snapshot {}: EDR coverage {}% ({} of {} live instances; {} by instance id, {} by private IP), \
         {} unprotected; Falcon {} live / {} stale; S3 failed checks {}, RDS failed checks {}",
        r["snapshot_id"],
        r["edr_coverage_pct"],
        edr["matched"],
        edr["live_instances"],
        edr["matched_by_instance_id"],
        edr["matched_by_private_ip"],
        edr["unprotected"],
        edr["falcon_live"],
        edr["falcon_stale"],
        r["s3_failed_checks"],
        r["rds_failed_checks"],
    );
    print_network(r);
    if let Some(missing) = r["not_collected"].as_array().filter(|m| !m.is_empty()) {
        println!(
            "  not collected (results exclude them): {}",
            missing.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; ")
        );
    }
}

pub async fn reconcile(config: &Config, snapshot: Option<i64>, max_hops: u32, json: bool) -> Result<ExitCode> {
    with_pool(config, async |pool| {
        let r = secops_inventory::reconcile::reconcile_with(pool, snapshot, max_hops).await?;
        if json {
            println!("{r}");
        } else {
            print_reconciliation(&r);
        }
        Ok(ExitCode::SUCCESS)
    })
    .await
}

pub async fn query(config: &Config, args: QueryArgs) -> Result<ExitCode> {
    if args.view == "list" {
        for (view, about) in query::VIEWS {
            println!("{view:<28} {about}");
        }
        println!(
            "{:<28} resources that appeared, disappeared or changed between snapshots (--table, --since/--from --to)",
            "drift"
        );
        println!("{:<28} sensor versions by any instance tag (--tag KEY)", "sensor_versions");
        println!(
            "{:<28} attack paths: the stored internet-inward ranking, or a walk --from HOST (--max-hops N, --snapshot ID)",
            "paths"
        );
        return Ok(ExitCode::SUCCESS);
    }
    if args.view == "paths" {
        return attack_paths(config, &args).await;
    }
    with_pool(config, async |pool| {
        let rows = if args.view == "drift" {
            let table = args
                .table
                .as_deref()
                .context("drift needs --table (an inventory table, e.g. s3_bucket_policy_status)")?;
            let window = match (args.from.as_deref(), args.to, args.since) {
                (Some(a), Some(b), _) => {
                    let a = a.parse().with_context(|| format!("drift --from takes a snapshot id, not {a:?}"))?;
                    DriftWindow::Between(a, b)
                }
                (Some(_), None, _) => bail!("drift --from needs --to (the snapshot to compare with)"),
                (_, _, Some(days)) => DriftWindow::Days(days),
                _ => DriftWindow::Days(30),
            };
            query::drift(pool, table, window, args.attribute.as_deref()).await?
        } else {
            query::view(pool, &args.view, args.tag.as_deref()).await?
        };
        print_rows(&rows, args.json);
        Ok(ExitCode::SUCCESS)
    })
    .await
}

/// Starts of the stored ranking `query paths` shows (`--json` too).
const TOP_STARTS: i64 = 20;

/// `query paths`: with `--from`, the shortest path from that host to everything it reaches;
/// without, the stored internet-inward ranking with each start's paths to what matters.
async fn attack_paths(config: &Config, args: &QueryArgs) -> Result<ExitCode> {
    if args.to.is_some() || args.tag.is_some() || args.table.is_some() || args.attribute.is_some() {
        bail!("paths takes --from, --max-hops, --snapshot and --json only");
    }
    if args.from.is_none() && args.max_hops.is_some() {
        bail!(
            "--max-hops applies to a walk --from HOST; the stored ranking was walked when the snapshot was reconciled"
        );
    }
    with_pool(config, async |pool| {
        let snapshot = paths::resolve_snapshot(pool, args.snapshot).await?;
        if let Some(from) = &args.from {
            let max_hops = args.max_hops.unwrap_or(paths::DEFAULT_MAX_HOPS);
            let found = paths::paths_from(pool, snapshot, from, max_hops).await?;
            if args.json {
                for path in &found {
                    println!("{}", serde_json::to_value(path)?);
                }
            } else {
                println!("snapshot {snapshot}: {} resources within {max_hops} hops of {from}", found.len());
                for path in &found {
                    println!("  {}", path_line(path));
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        let ranked = paths::top_paths(pool, snapshot, Mode::Internet, TOP_STARTS).await?;
        if args.json {
            for start in &ranked {
                println!("{}", serde_json::to_value(start)?);
            }
            return Ok(ExitCode::SUCCESS);
        }
        println!(
            "snapshot {snapshot}: internet-inward attack paths, best {TOP_STARTS} starts \
             (score = 10×databases + 5×unprotected + 5×vulnerable + resources reached)"
        );
        let columns =
            ["rank", "start", "resource", "score", "reached", "databases", "unprotected", "vulnerable", "max_hops"];
        let rows = Rows {
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: ranked
                .iter()
                .map(|s| {
                    vec![
                        s.rank.into(),
                        s.start_id.clone().into(),
                        s.start_resource_id.clone().into(),
                        s.score.into(),
                        s.reached.into(),
                        s.reached_databases.into(),
                        s.reached_unprotected.into(),
                        s.reached_vulnerable.into(),
                        s.max_hops.into(),
                    ]
                })
                .collect(),
        };
        print_rows(&rows, false);
        for start in ranked.iter().filter(|s| !s.paths.is_empty()) {
            println!("\n#{} {}:", start.rank, start.start_id);
            for path in &start.paths {
                println!("  {}", path_line(path));
            }
        }
        Ok(ExitCode::SUCCESS)
    })
    .await
}

/// `start →tcp/443→ node → … → target  [rds_db_instance orders: database]`
fn path_line(path: &AttackPath) -> String {
    let mut line = path.hops.first().map_or_else(|| path.start.clone(), |h| h.from.clone());
    for hop in &path.hops {
        let ports = match (hop.from_port, hop.to_port) {
            (Some(from), Some(to)) if from == to => format!("/{from}"),
            (Some(from), Some(to)) => format!("/{from}-{to}"),
            _ => String::new(),
        };
        line.push_str(&format!(" →{}{ports}→ {}", hop.protocol, hop.to));
    }
    let resource = [path.target_resource_type.as_deref(), path.target_resource_id.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    match (resource.is_empty(), path.target_traits.is_empty()) {
        (true, true) => line,
        (false, true) => format!("{line}  [{resource}]"),
        (_, false) => format!("{line}  [{resource}: {}]", path.target_traits.join(", ")),
    }
}

pub async fn snapshots(config: &Config, command: SnapshotsCommand) -> Result<ExitCode> {
    with_pool(config, async |pool| match command {
        SnapshotsCommand::List { json } => {
            print_rows(&query::view(pool, "snapshots", None).await?, json);
            Ok(ExitCode::SUCCESS)
        }
        SnapshotsCommand::Prune { keep, older_than } => {
            let deleted = secops_inventory::snapshot::prune(pool, keep, older_than).await?;
            println!(
                "deleted {} snapshots{}",
                deleted.len(),
                if deleted.is_empty() { String::new() } else { format!(": {deleted:?}") }
            );
            Ok(ExitCode::SUCCESS)
        }
    })
    .await
}

/// Widest a table cell gets before it is cut (the JSON output always has everything).
const CELL: usize = 48;

fn cell(value: &Value) -> String {
    let text = match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    };
    let text = text.replace(['\n', '\t'], " ");
    if text.chars().count() > CELL {
        format!("{}…", text.chars().take(CELL - 1).collect::<String>())
    } else {
        text
    }
}

fn print_rows(rows: &Rows, json: bool) {
    if json {
        for object in rows.objects() {
            println!("{}", Value::Object(object));
        }
        return;
    }
    let cells: Vec<Vec<String>> = rows.rows.iter().map(|r| r.iter().map(cell).collect()).collect();
    let widths: Vec<usize> = rows
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| cells.iter().map(|r| r[i].chars().count()).chain([c.len()]).max().unwrap_or(0))
        .collect();
    let line = |values: Vec<&str>| {
        values.iter().zip(&widths).map(|(v, w)| format!("{v:<w$}")).collect::<Vec<_>>().join("  ").trim_end().to_owned()
    };
    println!("{}", line(rows.columns.iter().map(String::as_str).collect()));
    println!(
        "{}",
        line(widths.iter().map(|w| "─".repeat(*w)).collect::<Vec<_>>().iter().map(String::as_str).collect())
    );
    for r in &cells {
        println!("{}", line(r.iter().map(String::as_str).collect()));
    }
    println!("({} rows)", rows.rows.len());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_with_or_without_the_unit() {
        assert_eq!(parse_days("30d"), Ok(30));
        assert_eq!(parse_days("7"), Ok(7));
        assert!(parse_days("-1d").is_err());
        assert!(parse_days("a month").is_err());
    }

    #[test]
    fn a_path_line_shows_each_hop_and_the_target() {
        let hop = |from: &str, to: &str, protocol: &str, ports: Option<(i32, i32)>| paths::Hop {
            from: from.into(),
            to: to.into(),
            reachability_id: 1,
            protocol: protocol.into(),
            from_port: ports.map(|p| p.0),
            to_port: ports.map(|p| p.1),
            mechanism: "vpc".into(),
            evidence: Value::Null,
        };
        let path = AttackPath {
            start: "eni-web".into(),
            target: "eni-db".into(),
            target_resource_type: Some("rds_db_instance".into()),
            target_resource_id: Some("orders".into()),
            target_traits: vec!["database".into()],
            hops: vec![
                hop("internet", "eni-web", "tcp", Some((443, 443))),
                hop("eni-web", "eni-app", "icmp", None),
                hop("eni-app", "eni-db", "tcp", Some((5432, 5433))),
            ],
        };
        assert_eq!(
            path_line(&path),
            "internet →tcp/443→ eni-web →icmp→ eni-app →tcp/5432-5433→ eni-db  [rds_db_instance orders: database]"
        );
    }

    #[test]
    fn long_cells_are_cut_and_arrays_joined() {
        assert_eq!(cell(&serde_json::json!(["sg-1", "sg-2"])), "sg-1,sg-2");
        assert_eq!(cell(&Value::String("x".repeat(100))).chars().count(), CELL);
        assert_eq!(cell(&Value::Null), "");
    }
}
