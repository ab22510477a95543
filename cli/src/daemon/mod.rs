//! `secops daemon --config secops.toml`: the single-machine way to run for real. The schedules
//! (inventory, triage, housekeeping) and Security Hub ingestion start executions of the same
//! state machines `secops run` runs, each booked in `daemon_runs`; SIGTERM stops starting new
//! ones, waits `daemon.shutdown_grace` for those in flight, cancels the rest (their analyst
//! subprocesses die with them) and books them `interrupted`; the next start re-runs every
//! unfinished run before the normal schedule. `/healthz` and `/metrics` are served meanwhile.

mod book;
mod cursor;
mod http;
mod ingest;
pub mod schedule;
pub mod settings;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use secops_asl::{ExecutionResult, ExecutionStatus, TaskRegistry};
use secops_core::Config;
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::asl::{AnalystSetup, Output, RunOptions};
use crate::steps::{with_steps, Decisions, LocalSteps};
use book::{Book, RunKind, RunStatus};
use http::{HttpServer, Metrics};
pub use settings::{DaemonSettings, IngestionSettings, SCHEDULES};

#[derive(Debug, clap::Args)]
pub struct DaemonArgs {
    #[arg(long, default_value = "template.yaml")]
    pub template: PathBuf,
    /// Run every enabled schedule and one ingestion pass (after resuming unfinished runs), then exit.
    #[arg(long)]
    pub once: bool,
}

/// `config` is the product configuration `secops.toml` + environment gave (loaded by `main`);
/// the daemon's own tables ([daemon], [schedules], [ingestion.securityhub]) are read here.
pub async fn run(config: &Config, config_file: Option<&Path>, args: DaemonArgs) -> Result<ExitCode> {
    let path = config_file.context("secops daemon needs a configuration file: --config FILE (or SECOPS_CONFIG)")?;
    let file = secops_core::ConfigFile::read(path).map_err(|problem| anyhow!("{problem}"))?;
    let settings = DaemonSettings::from_doc(file.document()).map_err(|problems| {
        let lines: Vec<String> = problems.iter().map(|(key, message)| format!("  {key}: {message}")).collect();
        anyhow!("{} has problems:\n{}", path.display(), lines.join("\n"))
    })?;
    if !args.template.is_file() {
        anyhow::bail!("{} does not exist (--template): the daemon runs the machines it wires", args.template.display());
    }
    let stop = stop_signal().context("installing the SIGTERM and SIGINT handlers")?;
    let aws = match &settings.ingestion {
        Some(_) => Some(secops_aws::load_sdk_config(&secops_aws::AwsSettings::from_config(config)).await),
        None => None,
    };
    with_steps(config, async |steps: &LocalSteps| {
        let ctx = Arc::new(Shared::new(steps, config, &settings, args.template.clone(), aws));
        serve(ctx, &settings, args.once, stop).await
    })
    .await
}

/// Resolves to true on SIGTERM or SIGINT.
fn stop_signal() -> Result<watch::Receiver<bool>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let (stop, stopping) = watch::channel(false);
    tokio::spawn(async move {
        loop {
            let which = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            if *stop.borrow() {
                tracing::warn!(signal = which, "daemon: already stopping");
            } else {
                tracing::info!(signal = which, "daemon: stopping: no new runs; waiting for those in flight");
                let _ = stop.send(true);
            }
        }
    });
    Ok(stopping)
}

/// What every run needs, owned so runs can be spawned.
struct Shared {
    book: Book,
    metrics: Arc<Metrics>,
    template: PathBuf,
    setup: AnalystSetup,
    /// Every step, for the schedules.
    registry: TaskRegistry,
    /// Every step with decide's answers collected, for ingestion batches (one at a time).
    ingest_registry: TaskRegistry,
    decisions: Decisions,
    /// Runs started and not finished: what SIGTERM books as interrupted.
    in_flight: Mutex<BTreeMap<i64, String>>,
    aws: Option<aws_config::SdkConfig>,
    ingestion: Option<IngestionSettings>,
    regions: Vec<String>,
    notifier: Arc<secops_notify::Notifier>,
}

impl Shared {
    fn new(
        steps: &LocalSteps,
        config: &Config,
        settings: &DaemonSettings,
        template: PathBuf,
        aws: Option<aws_config::SdkConfig>,
    ) -> Shared {
        let mut registry = TaskRegistry::new();
        steps.register(&mut registry, None);
        let decisions: Decisions = Default::default();
        let mut ingest_registry = TaskRegistry::new();
        steps.register(&mut ingest_registry, Some(decisions.clone()));
        Shared {
            book: Book::new(steps.pool()),
            metrics: Metrics::new(),
            template,
            setup: steps.analyst_setup(),
            registry,
            ingest_registry,
            decisions,
            in_flight: Mutex::new(BTreeMap::new()),
            aws,
            ingestion: settings.ingestion.clone(),
            regions: settings
                .ingestion
                .as_ref()
                .map(|i| ingest::regions(i.regions.as_ref(), config))
                .unwrap_or_default(),
            notifier: steps.notifier.clone(),
        }
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, BTreeMap<i64, String>> {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Debug, Clone)]
enum Job {
    Schedule { name: String, resumes: Option<i64> },
    Ingestion,
}

impl Job {
    /// At most one job per key runs at a time.
    fn key(&self) -> String {
        match self {
            Job::Schedule { name, .. } => format!("schedule:{name}"),
            Job::Ingestion => "ingestion".into(),
        }
    }
}

/// The jobs running now, by key.
struct Running {
    tasks: JoinSet<bool>,
    keys: BTreeMap<tokio::task::Id, String>,
    all_ok: bool,
}

impl Running {
    fn new() -> Running {
        Running { tasks: JoinSet::new(), keys: BTreeMap::new(), all_ok: true }
    }

    fn is_running(&self, key: &str) -> bool {
        self.keys.values().any(|k| k == key)
    }

    fn spawn(&mut self, ctx: &Arc<Shared>, job: Job) {
        let key = job.key();
        let handle = self.tasks.spawn(run_job(ctx.clone(), job));
        self.keys.insert(handle.id(), key);
    }

    /// Wait for the next job to end (None when none runs).
    async fn join_next(&mut self) -> Option<()> {
        let joined = self.tasks.join_next_with_id().await?;
        let (id, ok) = match joined {
            Ok((id, ok)) => (id, ok),
            Err(e) => {
                tracing::error!(error = %e, "daemon: a run's task ended abnormally");
                (e.id(), false)
            }
        };
        self.keys.remove(&id);
        self.all_ok &= ok;
        Some(())
    }

    /// Wait for every job; false when the stop signal came first.
    async fn drain(&mut self, stop: &mut watch::Receiver<bool>) -> bool {
        while !self.tasks.is_empty() {
            tokio::select! {
                _ = stop.wait_for(|&s| s) => return false,
                _ = self.join_next() => {}
            }
        }
        true
    }
}

async fn serve(
    ctx: Arc<Shared>,
    settings: &DaemonSettings,
    once: bool,
    mut stop: watch::Receiver<bool>,
) -> Result<ExitCode> {
    let http = HttpServer::start(settings.listen, ctx.book.clone(), ctx.metrics.clone()).await?;
    tracing::info!(addr = %http.addr(), "daemon: /healthz and /metrics listening");
    let mut running = Running::new();
    let resumed = resume(&ctx, &mut running).await;
    let outcome = match resumed {
        Ok(resumed) if once => run_once(&ctx, settings, &mut running, &resumed, &mut stop).await,
        Ok(resumed) => run_forever(&ctx, settings, &mut running, &resumed, &mut stop).await,
        Err(e) => Err(e),
    };
    shutdown(&ctx, &mut running, settings.shutdown_grace).await;
    http.stop().await;
    outcome?;
    let stopped = *stop.borrow();
    Ok(if running.all_ok || stopped { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Re-run every schedule run a previous daemon left unfinished (once per schedule); unfinished
/// ingestion runs need nothing: their cursor did not advance. Returns the schedules resumed.
async fn resume(ctx: &Arc<Shared>, running: &mut Running) -> Result<BTreeSet<String>> {
    let mut resumed = BTreeSet::new();
    for run in ctx.book.unfinished().await? {
        let known = run.kind == RunKind::Schedule.as_str() && SCHEDULES.contains(&run.name.as_str());
        if !known || resumed.contains(&run.name) {
            // Ingestion, or a second unfinished run of a schedule already being re-run.
            ctx.book.mark_taken_over(run.id).await?;
            continue;
        }
        tracing::info!(schedule = %run.name, machine = %run.machine, resumes = run.id, "daemon: resuming an unfinished run");
        resumed.insert(run.name.clone());
        running.spawn(ctx, Job::Schedule { name: run.name, resumes: Some(run.id) });
    }
    Ok(resumed)
}

/// `--once`: the resumed runs, then every enabled schedule not resumed (one at a time, in
/// order), then one ingestion pass.
async fn run_once(
    ctx: &Arc<Shared>,
    settings: &DaemonSettings,
    running: &mut Running,
    resumed: &BTreeSet<String>,
    stop: &mut watch::Receiver<bool>,
) -> Result<()> {
    if !running.drain(stop).await {
        return Ok(());
    }
    for (name, _) in &settings.schedules {
        if resumed.contains(name) {
            continue;
        }
        running.spawn(ctx, Job::Schedule { name: name.clone(), resumes: None });
        if !running.drain(stop).await {
            return Ok(());
        }
    }
    if ctx.ingestion.is_some() {
        running.spawn(ctx, Job::Ingestion);
        running.drain(stop).await;
    }
    Ok(())
}

/// Start what is due, once a second, until the stop signal.
async fn run_forever(
    ctx: &Arc<Shared>,
    settings: &DaemonSettings,
    running: &mut Running,
    resumed: &BTreeSet<String>,
    stop: &mut watch::Receiver<bool>,
) -> Result<()> {
    let start = OffsetDateTime::now_utc();
    let mut last_started: BTreeMap<String, Option<OffsetDateTime>> = BTreeMap::new();
    for (name, _) in &settings.schedules {
        let last = if resumed.contains(name) { Some(start) } else { ctx.book.last_started(name).await? };
        last_started.insert(name.clone(), last);
    }
    let mut next_ingestion = tokio::time::Instant::now();
    loop {
        let now = OffsetDateTime::now_utc();
        for (name, schedule) in &settings.schedules {
            let job = Job::Schedule { name: name.clone(), resumes: None };
            if running.is_running(&job.key()) {
                continue;
            }
            let last = last_started.get(name).copied().flatten();
            if schedule.next_due(last, now).is_some_and(|due| due <= now) {
                last_started.insert(name.clone(), Some(now));
                running.spawn(ctx, job);
            }
        }
        if let Some(ingestion) = &ctx.ingestion {
            if !running.is_running(&Job::Ingestion.key()) && tokio::time::Instant::now() >= next_ingestion {
                next_ingestion = tokio::time::Instant::now() + ingestion.interval;
                running.spawn(ctx, Job::Ingestion);
            }
        }
        tokio::select! {
            _ = stop.wait_for(|&s| s) => return Ok(()),
            Some(()) = running.join_next(), if !running.tasks.is_empty() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Wait up to the grace for runs in flight, cancel the rest (dropping an execution drops its
/// analyst subprocesses, which are killed on drop), and book those as interrupted.
async fn shutdown(ctx: &Arc<Shared>, running: &mut Running, grace: Duration) {
    if !running.tasks.is_empty() {
        tracing::info!(
            runs = running.tasks.len(),
            grace_seconds = grace.as_secs(),
            "daemon: waiting for runs in flight"
        );
        let finished = tokio::time::timeout(grace, async { while running.join_next().await.is_some() {} }).await;
        if finished.is_err() {
            running.tasks.abort_all();
            while running.join_next().await.is_some() {}
            // A ticket create cut off mid-send is looked up, not sent again, by whoever sends it next.
            match ctx.notifier.release_leases().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(messages = n, "daemon: released the outbox leases of cut-off sends"),
                Err(e) => {
                    tracing::warn!(error = %e, "daemon: cannot release outbox leases; they lapse after the lease period")
                }
            }
        }
    }
    let left: Vec<(i64, String)> = std::mem::take(&mut *ctx.in_flight()).into_iter().collect();
    for (id, name) in left {
        tracing::warn!(run = id, name = %name, "daemon: run cancelled after the shutdown grace; it is resumed at the next start");
        let reason = format!("cancelled by the daemon's shutdown after {}s of grace", grace.as_secs());
        if let Err(e) = ctx.book.finish(id, RunStatus::Interrupted, Some(&reason)).await {
            tracing::error!(run = id, error = %format!("{e:#}"), "daemon: cannot book a run as interrupted (it is resumed anyway: it stays running)");
        }
    }
}

async fn run_job(ctx: Arc<Shared>, job: Job) -> bool {
    match job {
        Job::Schedule { name, resumes } => {
            let input = scheduled_event(&name);
            // Each schedule runs the state machine of its name.
            match execute(&ctx, RunKind::Schedule, &name, &name, input, resumes, ctx.registry.clone()).await {
                Ok((_, result)) => result.status == ExecutionStatus::Succeeded,
                Err(e) => {
                    tracing::error!(schedule = %name, error = %format!("{e:#}"), "daemon: the run could not be started or booked");
                    false
                }
            }
        }
        Job::Ingestion => {
            let mut ok = true;
            for region in &ctx.regions {
                if let Err(e) = ingest_region(&ctx, region).await {
                    tracing::warn!(region = %region, error = %format!("{e:#}"), "daemon: ingestion pass failed; the next pass retries from the cursor");
                    ok = false;
                }
            }
            ok
        }
    }
}

/// What EventBridge sends a scheduled target (the machines read nothing of it).
fn scheduled_event(name: &str) -> Value {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|_| OffsetDateTime::now_utc());
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "resources": [format!("secops-daemon/schedules/{name}")],
        "detail": {},
    })
}

/// Keeps the in-flight gauge right however the run ends (cancellation included).
struct InFlightGauge(Arc<Metrics>);

impl InFlightGauge {
    fn enter(metrics: &Arc<Metrics>) -> InFlightGauge {
        metrics.in_flight.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        InFlightGauge(metrics.clone())
    }
}

impl Drop for InFlightGauge {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Book, run and book again one execution of `machine`.
async fn execute(
    ctx: &Arc<Shared>,
    kind: RunKind,
    name: &str,
    machine: &str,
    input: Value,
    resumes: Option<i64>,
    registry: TaskRegistry,
) -> Result<(i64, ExecutionResult)> {
    let stamp = OffsetDateTime::now_utc();
    let execution_name = format!(
        "{}-{:04}{:02}{:02}T{:02}{:02}{:02}-{}",
        name.replace(':', "-"),
        stamp.year(),
        u8::from(stamp.month()),
        stamp.day(),
        stamp.hour(),
        stamp.minute(),
        stamp.second(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let id = ctx.book.start(kind, name, machine, &execution_name, resumes).await?;
    ctx.in_flight().insert(id, name.to_owned());
    let _gauge = InFlightGauge::enter(&ctx.metrics);
    tracing::info!(run = id, name, machine, execution = %execution_name, resumes, "daemon: run started");
    let options = RunOptions {
        input: PathBuf::from(format!("(daemon {name})")),
        input_value: Some(input),
        task_stubs: None,
        virtual_clock: false,
        output: Output { history: false, json: true },
        execution_name: Some(execution_name.clone()),
    };
    let outcome = crate::asl::run_wired(machine, &ctx.template, &options, registry, &ctx.setup).await;
    let (status, error) = match &outcome {
        Ok(r) if r.status == ExecutionStatus::Succeeded => (RunStatus::Succeeded, None),
        Ok(r) => (
            RunStatus::Failed,
            Some(format!(
                "{} {}: {}",
                r.status.name(),
                r.error.as_deref().unwrap_or("-"),
                r.cause.as_deref().unwrap_or("-")
            )),
        ),
        Err(e) => (RunStatus::Failed, Some(format!("{e:#}"))),
    };
    ctx.book.finish(id, status, error.as_deref()).await?;
    ctx.in_flight().remove(&id);
    match &error {
        None => tracing::info!(run = id, name, machine, execution = %execution_name, "daemon: run succeeded"),
        Some(e) => {
            tracing::warn!(run = id, name, machine, execution = %execution_name, error = %e, "daemon: run failed")
        }
    }
    Ok((id, outcome?))
}

/// One region's pass: everything after the cursor, batch by batch; the cursor advances after
/// each batch's execution succeeded. A failed batch ends the pass (the next pass retries it).
async fn ingest_region(ctx: &Arc<Shared>, region: &str) -> Result<()> {
    let settings = ctx.ingestion.as_ref().context("ingestion is not configured")?;
    let aws = ctx.aws.as_ref().context("ingestion has no AWS configuration")?;
    let mut cursor = ctx.book.cursor(region).await?;
    let findings = ingest::fetch(aws, region, cursor.as_ref().map(|c| c.at), settings.page_size).await?;
    let batches = ingest::batches(cursor.as_ref(), findings, settings.page_size as usize);
    if !batches.is_empty() {
        let total: usize = batches.iter().map(Vec::len).sum();
        tracing::info!(region, findings = total, batches = batches.len(), "daemon: new Security Hub findings");
    }
    for batch in batches {
        ctx.decisions.lock().unwrap_or_else(|p| p.into_inner()).clear();
        let name = format!("securityhub:{region}");
        let event = ingest::event(region, &batch);
        let (run_id, result) =
            execute(ctx, RunKind::Ingestion, &name, "findings", event, None, ctx.ingest_registry.clone()).await?;
        if result.status != ExecutionStatus::Succeeded {
            anyhow::bail!(
                "the findings workflow ended {} ({}); the cursor stays at its place",
                result.status.name(),
                result.error.as_deref().unwrap_or("-")
            );
        }
        let decided = ingest::decisions_by_id(&ctx.decisions.lock().unwrap_or_else(|p| p.into_inner()));
        let delivered: Vec<(String, OffsetDateTime, Option<String>)> =
            batch.iter().map(|p| (p.id.clone(), p.updated_at, decided.get(&p.id).cloned())).collect();
        if let Some(next) = cursor::advance(cursor.as_ref(), &batch) {
            ctx.book.advance(region, &next, run_id, &delivered).await?;
            cursor = Some(next);
        }
        ctx.metrics.findings_ingested.fetch_add(batch.len() as u64, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(())
}
