//! `secops demo`: the whole product on the embedded defaults, through the real state machines on
//! the embedded executor: a seeded estate → `inventory` (collect from its folder, reconcile) →
//! every Security Hub finding as EventBridge events through `findings` (decide; remediation
//! without AWS ends as a ticket that says what it would change) → `triage` (offline analyst, one
//! subprocess per finding) → `housekeeping` (outbox replay, reminders) → audit verification → the
//! HTML report. Every step is idempotent, so running it again adds a snapshot and nothing else;
//! `--fresh` starts over.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use secops_asl::TaskRegistry;
use secops_core::{AccountSource, Config, DatabaseSource, RemediationMode, TriageProvider};
use secops_inventory::fixtures::{EstateSpec, EstateTruth};
use serde_json::{json, Value};

use crate::asl::{Output, RunOptions};
use crate::steps::{Decisions, LocalSteps};

mod samples {
    include!(concat!(env!("OUT_DIR"), "/samples.rs"));
}

/// Findings per EventBridge event: Security Hub batches its imports, and a Map per event keeps
/// one failed finding from stopping the others.
const FINDINGS_PER_EVENT: usize = 20;

/// The accounts of the bundled sample findings (GuardDuty, Inspector, Falcon, Health, Macie, ...),
/// which sit beside the generated estate so every route of the decide policy shows up.
const SAMPLE_ACCOUNTS: [(&str, &str, &str); 2] =
    [("111122223333", "payments-prod", "prod"), ("444455556666", "shop-staging", "staging")];

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Start over: empty the private database and remove the demo's outputs (tickets, chat
    /// messages, plans, checkpoint, report) first. Refused when SECOPS_DATABASE_URL points elsewhere.
    #[arg(long)]
    pub fresh: bool,
    /// Accounts in the generated estate.
    #[arg(long, default_value_t = 3)]
    pub accounts: usize,
    /// Live EC2 instances in the generated estate (25 Falcon ghosts each come with them).
    #[arg(long, default_value_t = 300)]
    pub instances: usize,
    /// Security Hub, GuardDuty and Inspector findings in the generated estate.
    #[arg(long, default_value_t = 300)]
    pub findings: usize,
    /// Findings triage analyses at most in one run (by default all of them, so a second demo
    /// has nothing left to analyse).
    #[arg(long, default_value_t = 1000)]
    pub triage_limit: usize,
    #[arg(long, default_value = "template.yaml")]
    pub template: PathBuf,
}

/// What the demo writes under the state folder.
struct Paths {
    demo: PathBuf,
    estate: PathBuf,
    accounts: PathBuf,
    report: PathBuf,
}

impl Paths {
    fn new(config: &Config) -> Paths {
        let demo = Path::new(&config.state_dir).join("demo");
        Paths { estate: demo.join("estate"), accounts: demo.join("accounts.yaml"), report: demo.join("report"), demo }
    }
}

pub async fn run(config: &Config, args: DemoArgs) -> Result<ExitCode> {
    let started = Instant::now();
    if !args.template.is_file() {
        bail!(
            "{} not found: run the demo from the repository root (./scripts/demo), or pass --template",
            args.template.display()
        );
    }
    println!("SecOps Autopilot demo — embedded defaults (private PostgreSQL, local adapters, offline analyst)");
    let paths = Paths::new(config);
    if args.fresh {
        if !matches!(config.database, DatabaseSource::Embedded) {
            bail!(
                "--fresh empties the database, so it only works on the private one; unset SECOPS_DATABASE_URL \
                 (or point it at a scratch database and drop that yourself)"
            );
        }
        remove_outputs(config, &paths)?;
    }
    let config = demo_config(config, &paths);

    let bar = stage("generating the estate");
    let truth = generate_estate(&args, &paths)?;
    bar.finish_and_clear();
    let records: u64 = truth.counts.values().sum();
    println!(
        "estate: {} accounts in {} regions, {} live instances, {} Falcon host records, {} buckets, {} databases ({} records in {})",
        truth.accounts.len(),
        EstateSpec::default().regions.len(),
        truth.instances.len(),
        truth.falcon_devices.len(),
        truth.counts.get("s3_buckets").copied().unwrap_or(0),
        truth.counts.get("rds_db_instances").copied().unwrap_or(0),
        records,
        paths.estate.display()
    );

    let database = crate::database::Database::open(&config).await?;
    let outcome = async {
        if args.fresh {
            empty_database(database.url()).await?;
        }
        report_migrations(&secops_store::db::migrate(database.url()).await?);
        let steps = LocalSteps::open(&config, database.url()).await?;
        pipeline(&config, &args, &paths, &steps).await
    }
    .await;
    database.finish()?;
    let summary = outcome?;
    summary.print(started.elapsed());
    Ok(if summary.ok() { ExitCode::SUCCESS } else { ExitCode::from(3) })
}

/// The demo's own account directory and estate folder; everything else is the configured default.
fn demo_config(config: &Config, paths: &Paths) -> Config {
    let mut config = config.clone();
    config.inventory.from_dir = Some(paths.estate.display().to_string());
    config.decide.accounts = AccountSource::File(paths.accounts.display().to_string());
    config.remediation.mode = RemediationMode::Plan;
    config.triage.provider = TriageProvider::Offline;
    config
}

/// What `--fresh` removes besides the database: everything the pipeline wrote under the state
/// folder. The cluster itself and the audit keys stay.
fn remove_outputs(config: &Config, paths: &Paths) -> Result<()> {
    let state = Path::new(&config.state_dir);
    let mut targets =
        vec![paths.demo.clone(), PathBuf::from(&config.notify.tickets_dir), state.join("quarantine-plans.jsonl")];
    if let secops_core::config::ChatTarget::File(file) = &config.notify.chat {
        targets.push(PathBuf::from(file));
    }
    if let secops_core::config::CheckpointTarget::File(file) = &config.audit.checkpoints {
        targets.push(PathBuf::from(file));
    }
    for target in targets {
        let removed = if target.is_dir() { std::fs::remove_dir_all(&target) } else { std::fs::remove_file(&target) };
        match removed {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", target.display())),
        }
    }
    println!("fresh: removed the demo's outputs under {}", state.display());
    Ok(())
}

/// Drop every table of the private database so the migrations build it again.
async fn empty_database(url: &str) -> Result<()> {
    let pool = secops_store::db::connect_pool(url, 1).await?;
    let client = pool.get().await?;
    client
        .batch_execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public; GRANT ALL ON SCHEMA public TO PUBLIC;")
        .await
        .context("emptying the private database")?;
    println!("fresh: emptied the private database");
    Ok(())
}

fn report_migrations(applied: &[secops_store::db::MigrationState]) {
    match applied {
        [] => println!("schema: up to date"),
        list => {
            let names: Vec<_> = list.iter().map(|m| format!("V{:03}", m.version)).collect();
            println!("schema: applied {} migrations ({} … {})", names.len(), names[0], names[names.len() - 1]);
        }
    }
}

/// The seeded estate (the same bytes every time for the same sizes) and the account directory
/// that names its accounts and the sample findings' accounts.
fn generate_estate(args: &DemoArgs, paths: &Paths) -> Result<EstateTruth> {
    if args.accounts == 0 || args.instances == 0 {
        bail!("--accounts and --instances must be at least 1");
    }
    if paths.estate.exists() {
        std::fs::remove_dir_all(&paths.estate).with_context(|| format!("clearing {}", paths.estate.display()))?;
    }
    let spec = EstateSpec {
        accounts: args.accounts,
        instances: args.instances,
        findings: args.findings,
        buckets: (args.instances / 5).max(4),
        databases: (args.instances / 12).max(4),
        sg_rules: args.instances * 2,
        ..EstateSpec::default()
    };
    let truth = secops_inventory::fixtures::generate(&spec, &paths.estate)?;
    let mut yaml = String::from(
        "# Written by `secops demo`: the generated estate's accounts and the sample findings' accounts.\naccounts:\n",
    );
    let estate = truth.accounts.iter().map(|a| (a.account_id.as_str(), a.name.as_str(), a.environment.as_str()));
    for (id, name, environment) in estate.chain(SAMPLE_ACCOUNTS) {
        yaml.push_str(&format!(
            "  - {{id: \"{id}\", name: {name}, email: aws+{name}@example.com, status: ACTIVE, joined_at: 2024-01-01T00:00:00Z,\n     ou_path: [Workloads], tags: {{secops:environment: {environment}, secops:team: platform}}}}\n"
        ));
    }
    std::fs::write(&paths.accounts, yaml).with_context(|| format!("writing {}", paths.accounts.display()))?;
    Ok(truth)
}

/// Every stage through its state machine; the figures for the summary.
async fn pipeline(config: &Config, args: &DemoArgs, paths: &Paths, steps: &LocalSteps) -> Result<Summary> {
    let mut summary = Summary::default();

    // 1. Inventory: collect the folder and reconcile, as the 6-hourly schedule does.
    let bar = stage("inventory: collecting and reconciling");
    let inventory = run_machine(steps, "inventory", json!({}), &args.template, None).await?;
    bar.finish_and_clear();
    summary.inventory_ok = inventory["status"] == "SUCCEEDED";
    if !summary.inventory_ok {
        bail!("the inventory workflow ended {}: {} {}", inventory["status"], inventory["error"], inventory["cause"]);
    }
    print_inventory(steps).await?;

    // 2. Findings: Security Hub's import events through decide.
    let events = finding_events(&paths.estate)?;
    let total: usize = events.iter().map(|e| e["detail"]["findings"].as_array().map_or(0, Vec::len)).sum();
    let bar = counter(total as u64, "findings decided");
    let decisions: Decisions = Default::default();
    let mut failed_events = 0;
    for event in events {
        let n = event["detail"]["findings"].as_array().map_or(0, Vec::len) as u64;
        let out = run_machine(steps, "findings", event, &args.template, Some(decisions.clone())).await?;
        if out["status"] != "SUCCEEDED" {
            failed_events += 1;
            bar.println(format!("  an event's workflow ended {}: {} {}", out["status"], out["error"], out["cause"]));
        }
        bar.inc(n);
    }
    bar.finish_and_clear();
    summary.findings = total;
    summary.failed_events = failed_events;
    summary.routes = routes(&decisions);
    println!("findings: {total} findings in Security Hub import events through findings.asl.json");
    for (route, count) in &summary.routes {
        println!("  {route:<22} {count}");
    }

    // 3. Triage: the newest findings of five sources, each in its own analyst process.
    let progress = crate::triage::Progress::start(steps.pool(), true);
    let input = json!({"since": "2000-01-01T00:00:00Z", "limit": args.triage_limit});
    let triage = run_machine(steps, "triage", input, &args.template, None).await;
    progress.stop().await;
    let triage = triage?;
    if triage["status"] != "SUCCEEDED" {
        bail!("the triage workflow ended {}: {} {}", triage["status"], triage["error"], triage["cause"]);
    }
    let counts = &triage["output"]["counts"];
    let totals = &triage["output"]["batch"]["totals"];
    summary.triage_analysed = totals["analysed"].as_u64().unwrap_or(0);
    summary.triage_failed = totals["failed"].as_u64().unwrap_or(0);
    println!(
        "triage: {} selected of {} candidates ({} already ticketed); {} analysed, {} failed; {} ms mean per finding",
        counts["selected"],
        counts["candidates"],
        counts["already_ticketed"],
        totals["analysed"],
        totals["failed"],
        totals["duration_ms"]["mean"]
    );
    for (verdict, n) in verdicts(&triage["output"]) {
        println!("  {verdict:<22} {n}");
    }

    // 4. Notify: replay anything the outbox still holds and send due reminders (hourly on AWS).
    let bar = stage("notify: housekeeping (outbox replay, reminders)");
    let housekeeping = run_machine(steps, "housekeeping", json!({}), &args.template, None).await?;
    bar.finish_and_clear();
    if housekeeping["status"] != "SUCCEEDED" {
        bail!(
            "the housekeeping workflow ended {}: {} {}",
            housekeeping["status"],
            housekeeping["error"],
            housekeeping["cause"]
        );
    }
    summary.outputs = outputs(config, steps).await?;
    let o = &summary.outputs;
    println!(
        "notify: {} tickets as Markdown + ADF in {}, {} chat messages in {}, outbox {} pending",
        o.ticket_files, config.notify.tickets_dir, o.chat_lines, o.chat_file, o.outbox_pending
    );

    // 5 and 6. The report, which walks the whole chain as `secops audit verify` does: its
    // verdict is the audit stage's.
    let bar = stage("audit and report: verifying the chain, writing the HTML page");
    let page = crate::report::write(config, &steps.pool(), &paths.report).await;
    bar.finish_and_clear();
    let page = page?;
    summary.audit_ok = page.audit_ok;
    summary.audit_events = page.audit_events;
    println!(
        "audit: {} ({} events)",
        if page.audit_ok {
            "chain verified: every payload, signature and link"
        } else {
            "CHAIN BROKEN (see the report)"
        },
        page.audit_events
    );
    println!("report: {}", page.index_html.display());
    summary.report = Some(page);
    Ok(summary)
}

/// Run one of the product's machines with the steps in-process; the execution's summary.
async fn run_machine(
    steps: &LocalSteps,
    machine: &str,
    input: Value,
    template: &Path,
    decisions: Option<Decisions>,
) -> Result<Value> {
    let mut registry = TaskRegistry::new();
    steps.register(&mut registry, decisions);
    let options = RunOptions {
        input: PathBuf::from(format!("(demo {machine})")),
        input_value: Some(input),
        execution_name: None,
        task_stubs: None,
        virtual_clock: false,
        output: Output { history: false, json: false },
    };
    let result = crate::asl::run_wired(machine, template, &options, registry, &steps.analyst_setup()).await?;
    Ok(result.summary())
}

async fn print_inventory(steps: &LocalSteps) -> Result<()> {
    let pool = steps.pool();
    let coverage = secops_inventory::query::view(&pool, "edr_coverage", None).await?;
    // The view rolls up per account; the row without an account is the whole estate.
    let total = coverage
        .objects()
        .into_iter()
        .find(|row| row.get("account_id").is_none_or(Value::is_null))
        .map_or(Value::Null, Value::Object);
    let exposure = secops_inventory::query::view(&pool, "s3_exposure", None).await?;
    let public = exposure.objects().iter().filter(|b| b["public"] == true).count();
    let rds = secops_inventory::query::view(&pool, "rds_posture", None).await?;
    let ingress = secops_inventory::query::view(&pool, "open_ingress_production", None).await?;
    let exposed = secops_inventory::query::view(&pool, "exposure", None).await?;
    println!(
        "inventory: {} live instances, EDR coverage {}% ({} without a sensor); {} internet-exposed resources, \
         {} public buckets, {} RDS resources failing a check, {} internet-open ingress rules on production",
        total["live_instances"],
        total["coverage_pct"],
        total["unprotected"],
        exposed.rows.len(),
        public,
        rds.rows.len(),
        ingress.rows.len()
    );
    Ok(())
}

/// Security Hub import events: the estate's findings (grouped by account and region, at most
/// [`FINDINGS_PER_EVENT`] each), then the bundled samples (GuardDuty, Inspector, Falcon, ...).
/// Ids are derived from the findings, so a second demo replays the same events.
fn finding_events(estate: &Path) -> Result<Vec<Value>> {
    let mut by_place: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
    for file in securityhub_files(estate)? {
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let page: Value =
                serde_json::from_str(line).with_context(|| format!("{} line {}: not JSON", file.display(), n + 1))?;
            for f in page["Findings"].as_array().into_iter().flatten() {
                by_place.entry(place(f)).or_default().push(f.clone());
            }
        }
    }
    for (kind, name, text) in samples::SAMPLES {
        let value: Value = serde_json::from_str(text).with_context(|| format!("sample {name}"))?;
        let findings = match *kind {
            "events" => value["detail"]["findings"].as_array().cloned().unwrap_or_default(),
            _ => vec![value],
        };
        for f in findings {
            // Samples repeat across files (an event and the finding alone): one of each.
            let list = by_place.entry(place(&f)).or_default();
            if !list.iter().any(|g| g["Id"] == f["Id"] && g["UpdatedAt"] == f["UpdatedAt"]) {
                list.push(f);
            }
        }
    }
    let mut events = Vec::new();
    for ((account, region), findings) in by_place {
        for (i, chunk) in findings.chunks(FINDINGS_PER_EVENT).enumerate() {
            let resources: Vec<Value> = chunk
                .iter()
                .map(|f| {
                    json!(format!(
                        "{}/{}",
                        f["ProductArn"].as_str().unwrap_or_default(),
                        f["Id"].as_str().unwrap_or_default()
                    ))
                })
                .collect();
            let time = chunk.iter().filter_map(|f| f["UpdatedAt"].as_str()).max().unwrap_or("2026-03-01T00:00:00Z");
            events.push(json!({
                "version": "0",
                "id": format!("demo-{account}-{region}-{i}"),
                "detail-type": "Security Hub Findings - Imported",
                "source": "aws.securityhub",
                "account": account,
                "time": time,
                "region": region,
                "resources": resources,
                "detail": {"findings": chunk},
            }));
        }
    }
    Ok(events)
}

/// The account and region a finding belongs to (events group by them).
fn place(finding: &Value) -> (String, String) {
    let text = |key: &str| finding[key].as_str().unwrap_or_default().to_owned();
    (text("AwsAccountId"), text("Region"))
}

fn securityhub_files(estate: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let aws = estate.join("aws");
    for account in std::fs::read_dir(&aws).with_context(|| format!("reading {}", aws.display()))? {
        let account = account?.path();
        for region in std::fs::read_dir(&account)? {
            let file = region?.path().join("securityhub.get-findings.jsonl");
            if file.is_file() {
                files.push(file);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Findings per decision, from every `decide` answer.
fn routes(decisions: &Decisions) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let decided = decisions.lock().unwrap_or_else(|p| p.into_inner());
    for pad in decided.iter() {
        let route = match pad.get("decision").and_then(Value::as_str) {
            Some(d) => d.to_owned(),
            None => format!("not decided ({})", pad["class"].as_str().unwrap_or("error")),
        };
        *out.entry(route).or_default() += 1;
    }
    out
}

fn verdicts(output: &Value) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in output.pointer("/batch/results").and_then(Value::as_array).into_iter().flatten() {
        let verdict = match r["status"].as_str() {
            Some("analysed") => r["verdict"].as_str().unwrap_or("?").to_owned(),
            _ => "analysis failed".to_owned(),
        };
        *out.entry(verdict).or_default() += 1;
    }
    out
}

#[derive(Debug, Default)]
struct Outputs {
    ticket_files: usize,
    chat_lines: usize,
    chat_file: String,
    outbox_pending: i64,
    tickets_open: i64,
}

/// What notify produced: the ticket files, the chat lines, what the outbox still holds.
async fn outputs(config: &Config, steps: &LocalSteps) -> Result<Outputs> {
    let tickets = Path::new(&config.notify.tickets_dir);
    let ticket_files = match std::fs::read_dir(tickets) {
        Ok(dir) => dir.filter_map(|e| e.ok()).filter(|e| e.path().extension().is_some_and(|x| x == "md")).count(),
        Err(_) => 0,
    };
    let chat_file = match &config.notify.chat {
        secops_core::config::ChatTarget::File(f) => f.clone(),
        _ => String::from("(Slack)"),
    };
    let chat_lines = std::fs::read_to_string(&chat_file).map(|t| t.lines().count()).unwrap_or(0);
    let client = steps.pool().get().await?;
    let outbox_pending: i64 = client
        .query_one("SELECT count(*) FROM outbox WHERE status = 'queued'", &[])
        .await
        .context("counting the outbox")?
        .get(0);
    let tickets_open: i64 =
        client.query_one("SELECT count(*) FROM tickets", &[]).await.context("counting tickets")?.get(0);
    Ok(Outputs { ticket_files, chat_lines, chat_file, outbox_pending, tickets_open })
}

#[derive(Debug, Default)]
struct Summary {
    inventory_ok: bool,
    findings: usize,
    failed_events: usize,
    routes: BTreeMap<String, usize>,
    triage_analysed: u64,
    triage_failed: u64,
    outputs: Outputs,
    audit_ok: bool,
    audit_events: u64,
    report: Option<crate::report::ReportSummary>,
}

impl Summary {
    fn ok(&self) -> bool {
        self.inventory_ok && self.failed_events == 0 && self.triage_failed == 0 && self.audit_ok
    }

    fn print(&self, elapsed: Duration) {
        println!();
        println!("summary");
        println!("  inventory   {}", if self.inventory_ok { "snapshot collected and reconciled" } else { "FAILED" });
        println!("  decide      {} findings, {} event workflows failed", self.findings, self.failed_events);
        println!("  triage      {} analysed, {} failed", self.triage_analysed, self.triage_failed);
        println!(
            "  notify      {} tickets on record, {} ticket files, {} chat messages, {} outbox entries pending",
            self.outputs.tickets_open, self.outputs.ticket_files, self.outputs.chat_lines, self.outputs.outbox_pending
        );
        println!(
            "  audit       {} ({} events)",
            if self.audit_ok { "chain verified" } else { "CHAIN BROKEN" },
            self.audit_events
        );
        if let Some(report) = &self.report {
            println!(
                "  report      {} ({} attack paths, {} remediation plans, {} tickets linked)",
                report.index_html.display(),
                report.attack_paths,
                report.remediation_plans,
                report.tickets
            );
        }
        println!(
            "demo finished in {:.1} s{}",
            elapsed.as_secs_f64(),
            if self.ok() { "" } else { " — with failures (above)" }
        );
    }
}

/// A spinner for a stage without a count (hidden when stderr is not a terminal).
fn stage(message: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A bar for a stage with a count.
fn counter(len: u64, message: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{bar:32} {pos}/{len} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(message.to_owned());
    bar
}
