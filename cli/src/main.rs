//! `secops`: SecOps Autopilot as one binary — the embedded default a new user meets first.

mod asff_check;
mod asl;
mod audit;
mod bench;
mod configuration;
mod daemon;
mod database;
mod decide;
mod demo;
mod inventory;
mod notify;
mod redact;
mod remediate;
mod report;
mod steps;
mod triage;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "secops", version, about = "Security-findings automation for an AWS organization")]
struct Cli {
    /// A secops.toml with the settings (SECOPS_* variables override its keys); without it,
    /// the settings are the SECOPS_* variables alone.
    #[arg(long, global = true, env = "SECOPS_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The configuration: check a secops.toml (every problem with its key), show where each
    /// setting comes from.
    #[command(subcommand)]
    Config(configuration::ConfigCommand),
    /// The database: migrations, status, the private cluster.
    #[command(subcommand)]
    Db(DbCommand),
    /// AWS Security Finding Format tools.
    #[command(subcommand)]
    Asff(AsffCommand),
    /// The whole pipeline on the embedded defaults, through the real state machines: a seeded
    /// estate → inventory → findings (decide) → triage → notify → audit verify → HTML report.
    Demo(demo::DemoArgs),
    /// Measure every performance budget the issues name and print one table (scratch databases
    /// on the configured server, dropped afterwards). Exits 1 only when a benchmark could not run.
    Bench(bench::BenchArgs),
    /// The embedded Step Functions executor: run or validate any ASL definition.
    #[command(subcommand)]
    Asl(AslCommand),
    /// The tamper-evident audit chain: append, export, checkpoint, verify, keys.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Redact personal data and secrets from standard input for a destination's policy.
    Redact {
        /// jira (lenient), slack (strict) or audit (full).
        #[arg(long)]
        policy: secops_audit::redact::Destination,
        /// Standard input is JSON (one document, or one value per line); string leaves are redacted.
        #[arg(long)]
        json: bool,
        /// Print what was found, one JSON line per input line, instead of redacting.
        #[arg(long)]
        detect: bool,
        /// Overrides of the default policies (YAML); default SECOPS_REDACTION_POLICY_FILE.
        #[arg(long)]
        policy_file: Option<PathBuf>,
    },
    /// Decide one EventBridge event of Security Hub findings: run findings.asl.json (suppress,
    /// ticket, remediate, incident) and print each finding's route, score and reason.
    Decide {
        /// The event (`-` for standard input).
        #[arg(long)]
        event: PathBuf,
        /// Only decide; change nothing (no claims, tickets or status writes).
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value = "template.yaml")]
        template: PathBuf,
    },
    /// Convert Markdown (standard input) to Atlassian Document Format (standard output), as
    /// tickets are sent to Jira.
    Md2adf,
    /// Outgoing messages: replay the outbox, export it, show the circuit breakers.
    #[command(subcommand)]
    Notify(notify::NotifyCommand),
    /// The decide policy: suppression rules, environment weights, ticket deadlines, incident responses.
    #[command(subcommand)]
    Policy(decide::PolicyCommand),
    /// Snapshot the estate into PostgreSQL: live (--aws) or from a folder of recorded responses
    /// (--from-dir). Exits 0 when complete, 3 when partial (some collector runs failed), 1 when
    /// nothing landed.
    Collect(inventory::CollectArgs),
    /// Reconcile a snapshot (default: the newest): EDR coverage, S3 and RDS posture, network reachability.
    Reconcile {
        #[arg(long)]
        snapshot: Option<i64>,
        /// How far the stored attack paths walk.
        #[arg(long, default_value_t = secops_inventory::network::paths::DEFAULT_MAX_HOPS)]
        max_hops: u32,
        #[arg(long)]
        json: bool,
    },
    /// Read a canonical view (`secops query list`), or drift between snapshots.
    Query(inventory::QueryArgs),
    /// Generated test data: `fixtures estate` writes a seeded estate as an offline folder.
    #[command(subcommand)]
    Fixtures(inventory::FixturesCommand),
    /// Inventory snapshots: list, prune.
    #[command(subcommand)]
    Snapshots(inventory::SnapshotsCommand),
    /// The auto-remediation catalogue: list it, plan or apply one finding's remediation, and
    /// the approval requests waiting for a decision.
    #[command(subcommand)]
    Remediate(remediate::RemediateCommand),
    /// Triage: select new findings (five sources, exclusions, skipping ticketed ones), analyse
    /// each in its own analyst process (at most --concurrency at once), file a ticket per report,
    /// and print the run's books. `secops triage one ID` re-runs one finding.
    Triage(triage::TriageArgs),
    /// Approve a waiting remediation (`secops remediate approvals` lists them): the workflow
    /// applies the plan if the resource still needs exactly that change.
    Approve {
        /// The approval id (apr-...).
        id: String,
        /// Who approves (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
    /// Reject a waiting remediation: the finding is ticketed with the reason.
    Reject {
        id: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        by: Option<String>,
    },
    /// Write the HTML report (index.html, self-contained) and report.json: the estate at a glance,
    /// findings by route and severity, triage verdicts with their tickets, the top attack paths,
    /// remediation plans and the audit chain's verified status.
    Report {
        /// The folder to write into (default: <state dir>/report).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run for real on one machine: the schedules (inventory, triage, housekeeping) and Security
    /// Hub ingestion, booked in the database, with /healthz and /metrics on loopback. SIGTERM
    /// waits `daemon.shutdown_grace` for runs in flight; a restart resumes the rest.
    Daemon(daemon::DaemonArgs),
    /// Run one of the product's state machines (findings, remediation, incidents, inventory,
    /// triage, housekeeping) in-process, wired exactly as template.yaml wires it on AWS.
    Run {
        /// The machine: the file stem in statemachines/.
        machine: String,
        #[arg(long, default_value = "template.yaml")]
        template: PathBuf,
        #[command(flatten)]
        run: RunArgs,
    },
}

/// What every way of running a state machine takes.
#[derive(Debug, clap::Args)]
struct RunArgs {
    /// The execution input (`-` for standard input).
    #[arg(long)]
    input: PathBuf,
    /// Recorded task results to answer Task states with (see the README).
    #[arg(long)]
    task_stubs: Option<PathBuf>,
    /// Waits and retry delays take no real time.
    #[arg(long)]
    virtual_clock: bool,
    /// Also print the execution history.
    #[arg(long)]
    history: bool,
    /// One line of JSON (with the history under "history" when asked).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum AslCommand {
    /// Run a definition in-process. Prints {"status", "output"} or {"status", "error", "cause"};
    /// exits 0 on SUCCEEDED, 1 otherwise.
    Run {
        #[arg(long)]
        definition: PathBuf,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Check definitions the way CreateStateMachine would; exits 1 if any is invalid.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Apply pending migrations.
    Migrate,
    /// Show where the database is and which migrations are applied or pending.
    Status,
    /// Start the private cluster under the state folder and leave it running.
    Start,
    /// Stop the private cluster.
    Stop,
}

#[derive(Debug, Subcommand)]
enum AsffCommand {
    /// Check findings: a finding, an array of findings, `{"Findings": [...]}`, or an EventBridge
    /// event. Prints every problem with its JSON path; exits 1 if any finding is invalid.
    Check {
        /// Files to check (`-` for standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Checking comes before loading: it must report a configuration that does not load.
    if let Command::Config(command) = &cli.command {
        return configuration::run(cli.config.as_deref(), command);
    }
    let config = match configuration::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("secops: {e}");
            return ExitCode::from(2);
        }
    };
    // A daemon says what it runs; one-shot commands stay quiet unless asked.
    init_logging(if matches!(cli.command, Command::Daemon(_)) { "info" } else { "warn" });
    // Workers get the main thread's stack: the daemon runs executions on them, and an
    // execution's future is deep (nested states), more so in debug builds.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(64 * 1024 * 1024)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("secops: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Config(command) => Ok(configuration::run(cli.config.as_deref(), &command)),
            Command::Db(DbCommand::Migrate) => database::migrate(&config).await,
            Command::Db(DbCommand::Status) => database::status(&config).await,
            Command::Db(DbCommand::Start) => database::start(&config).await,
            Command::Db(DbCommand::Stop) => database::stop(&config),
            Command::Asff(AsffCommand::Check { files }) => asff_check::run(&files),
            Command::Demo(args) => demo::run(&config, args).await,
            Command::Bench(args) => bench::run(&config, args).await,
            Command::Asl(AslCommand::Run { definition, run }) => asl::run_definition(&definition, &run.into()).await,
            Command::Asl(AslCommand::Validate { files }) => asl::validate(&files),
            Command::Run { machine, template, run } => {
                asl::run_machine(&config, &machine, &template, &run.into()).await
            }
            Command::Decide { event, dry_run, json, template } => {
                decide::run(&config, &event, &template, dry_run, json).await
            }
            Command::Policy(command) => decide::policy(&config, command).await,
            Command::Collect(args) => inventory::collect(&config, args).await,
            Command::Reconcile { snapshot, max_hops, json } => {
                inventory::reconcile(&config, snapshot, max_hops, json).await
            }
            Command::Query(args) => inventory::query(&config, args).await,
            Command::Snapshots(command) => inventory::snapshots(&config, command).await,
            Command::Fixtures(command) => inventory::fixtures(command),
            Command::Md2adf => notify::md2adf(),
            Command::Remediate(command) => remediate::run(&config, command).await,
            Command::Triage(args) => triage::run(&config, args).await,
            Command::Daemon(args) => daemon::run(&config, cli.config.as_deref(), args).await,
            Command::Approve { id, by } => {
                remediate::decide(&config, &id, secops_remediation::Decision::Approved, by, None).await
            }
            Command::Reject { id, reason, by } => {
                remediate::decide(&config, &id, secops_remediation::Decision::Rejected, by, Some(reason)).await
            }
            Command::Notify(command) => notify::run(&config, command).await,
            Command::Report { out } => report::run(&config, out).await,
            Command::Audit(command) => Ok(audit::run(&config, command).await),
            Command::Redact { policy, json, detect, policy_file } => {
                let policy_file = policy_file.or_else(|| config.audit.redaction_policy_file.clone().map(PathBuf::from));
                let key = audit::correlation_key(&config).await?;
                redact::run(policy, policy_file.as_deref(), json, detect, key)
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("secops: {e:#}");
            ExitCode::FAILURE
        }
    }
}

impl From<RunArgs> for asl::RunOptions {
    fn from(a: RunArgs) -> Self {
        asl::RunOptions {
            input_value: None,
            input: a.input,
            task_stubs: a.task_stubs,
            virtual_clock: a.virtual_clock,
            output: asl::Output { history: a.history, json: a.json },
            execution_name: None,
        }
    }
}

/// `default_level` and worse to stderr unless RUST_LOG says otherwise; results go to stdout.
fn init_logging(default_level: &str) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(default_level));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).compact().try_init();
}
