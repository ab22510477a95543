//! triage.asl.json end to end on the embedded executor over a generated estate: the real triage,
//! notify and audit steps over PostgreSQL, and the real `analyst` binary as an isolated subprocess
//! per finding (offline analyst, read-only database role). Three analyses are sabotaged — one
//! process crashes, one hangs past its wall-clock limit, one exits without reporting — and are
//! recorded as failed while the rest succeed; a finding that already has a ticket is skipped; every
//! report is schema-valid and filed once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use secops_asl::callback_server::CallbackServer;
use secops_asl::ecs_task::{AnalystLimits, AnalystTaskRunner, RESOURCE as ECS_TASK};
use secops_asl::local::LocalMachines;
use secops_asl::tasks::{function, BoxFuture, CallbackHub, TaskHandler, TaskInvocation};
use secops_asl::{ExecutionStatus, Executor, TaskFailure, TaskRegistry};
use secops_audit::redact::{CorrelationKey, Destination, Policy as RedactionPolicy, Redactor};
use secops_audit::step::AuditStep;
use secops_audit::{AnySigner, FileCheckpointStore, Keyring, PgAuditLog};
use secops_core::outbound::TicketKind;
use secops_core::scratchpad::PipelineFlags;
use secops_core::{StepError, TriageConfig};
use secops_inventory::fixtures::{generate, EstateSpec, MIN_INSTANCES};
use secops_notify::local_chat::JsonlChat;
use secops_notify::local_tickets::LocalTickets;
use secops_notify::notifier::{Notifier, Sinks};
use secops_notify::redact::Redaction;
use secops_notify::step::NotifyStep;
use secops_soar::account::file::FileDirectory;
use secops_soar::clock::SystemClock;
use secops_soar::hub::postgres::PgFindingsHub;
use secops_soar::policy::Policy;
use secops_soar::quarantine::plan::PlanOnlyQuarantine;
use secops_soar::state::postgres::PgStateStore;
use secops_soar::state::TicketRecord;
use secops_soar::{Settings, Soar};
use secops_store::testing::TestDb;
use secops_triage::report::Report;
use secops_triage::selection::OpenTickets;
use secops_triage::TriageStep;
use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn failure(e: StepError) -> TaskFailure {
    TaskFailure::new(e.name(), e.message)
}

/// Runs the real analyst, except for the findings a test sabotages, which get a process that
/// misbehaves in the named way.
#[derive(Debug, Clone)]
struct Sabotage {
    real: AnalystTaskRunner,
    bad: BTreeMap<String, AnalystTaskRunner>,
}

impl TaskHandler for Sabotage {
    fn invoke(&self, call: TaskInvocation, callbacks: CallbackHub) -> BoxFuture<'static, Result<Value, TaskFailure>> {
        let env = call.input.pointer("/Overrides/ContainerOverrides/0/Environment").cloned().unwrap_or_default();
        let finding = env
            .as_array()
            .and_then(|vars| vars.iter().find(|v| v["Name"] == "SECOPS_FINDING_ID"))
            .and_then(|v| v["Value"].as_str())
            .unwrap_or_default()
            .to_owned();
        let runner = self.bad.get(&finding).unwrap_or(&self.real).clone();
        Box::pin(async move { runner.run(call, callbacks).await })
    }
}

struct World {
    db: TestDb,
    _estate: tempfile::TempDir,
    dir: tempfile::TempDir,
    soar: Soar,
    step: TriageStep,
    server: CallbackServer,
    hub: CallbackHub,
    registry: Option<TaskRegistry>,
}

async fn world() -> World {
    let db = TestDb::new().await;
    let estate = tempfile::tempdir().unwrap();
    let spec = EstateSpec { accounts: 2, instances: MIN_INSTANCES.max(24), findings: 80, ..Default::default() };
    generate(&spec, estate.path()).unwrap();
    let snapshot = secops_inventory::collect_from_dir(&db.pool, estate.path(), 4).await.unwrap();
    secops_inventory::reconcile::reconcile(&db.pool, Some(snapshot.snapshot_id)).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let sinks = Sinks {
        tickets: Arc::new(LocalTickets::new(dir.path().join("tickets"))),
        chat: Arc::new(JsonlChat::new(dir.path().join("chat.jsonl"))),
        email: None,
    };
    let redaction = Redaction::defaults(CorrelationKey::new([5; 32]));
    let notifier = Arc::new(Notifier::over_postgres(db.pool.clone(), sinks, redaction, Arc::new(SystemClock)));
    let soar = Soar {
        store: Arc::new(PgStateStore::new(db.pool.clone())),
        hub: Arc::new(PgFindingsHub::new(db.pool.clone())),
        accounts: Arc::new(FileDirectory::from_accounts(vec![]).unwrap()),
        controls: None,
        ticketing: notifier.clone(),
        alerts: notifier.clone(),
        quarantine: Arc::new(PlanOnlyQuarantine::new(dir.path().join("plans.jsonl"))),
        policy: Arc::new(Policy::built_in()),
        clock: Arc::new(SystemClock),
        flags: PipelineFlags::default(),
        regions: vec!["us-east-1".into()],
        settings: Settings::default(),
    };
    let step = TriageStep::new(
        db.pool.clone(),
        Arc::new(OpenTickets::new(soar.store.clone())),
        Some(soar.clone()),
        TriageConfig::default(),
    )
    .unwrap();
    let (ring, _) = Keyring::generate("k").unwrap();
    let redactor = Redactor::new(RedactionPolicy::default_for(Destination::Audit), CorrelationKey::new([5; 32]));
    let log = PgAuditLog::new(db.pool.clone(), "main", AnySigner::Keyring(ring), redactor);
    let audit = Arc::new(AuditStep::new(log, FileCheckpointStore::new(dir.path().join("checkpoint.json"))));

    let mut registry = TaskRegistry::new();
    let triage = step.clone();
    registry.function(
        "triage",
        function(move |input| {
            let triage = triage.clone();
            async move { triage.handle(input).await.map_err(failure) }
        }),
    );
    let notify = NotifyStep::new(notifier);
    registry.function(
        "notify",
        function(move |input| {
            let notify = notify.clone();
            async move { notify.handle(input).await.map_err(failure) }
        }),
    );
    registry.function(
        "audit",
        function(move |input| {
            let audit = audit.clone();
            async move { audit.handle(input).await.map_err(failure) }
        }),
    );
    let hub = CallbackHub::new();
    let server = CallbackServer::start(hub.clone()).await.unwrap();
    World { db, _estate: estate, dir, soar, step, server, hub, registry: Some(registry) }
}

impl World {
    /// The candidates in selection order (source, id).
    async fn candidates(&self) -> Vec<(String, String)> {
        let client = self.db.pool.get().await.unwrap();
        let rows = client
            .query("SELECT source, id FROM get_security_findings('2020-01-01T00:00:00Z', 100)", &[])
            .await
            .unwrap();
        rows.iter().map(|r| (r.get(0), r.get(1))).collect()
    }

    fn runner(&self, program: &str) -> AnalystTaskRunner {
        AnalystTaskRunner::new(program, self.server.endpoint_url())
            .with_temp_root(self.dir.path())
            .with_limits(AnalystLimits::standard())
    }

    async fn run(&mut self, input: Value, bad: BTreeMap<String, AnalystTaskRunner>) -> secops_asl::ExecutionResult {
        let real = self
            .runner(env!("CARGO_BIN_EXE_analyst"))
            .with_env("SECOPS_DATABASE_URL", secops_triage::analyst::read_only_url(&self.db.url))
            .with_env("SECOPS_TRIAGE_PROVIDER", "offline")
            .with_env("RUST_LOG", "warn");
        let mut registry = self.registry.take().expect("one run per world");
        registry.integration(ECS_TASK, Arc::new(Sabotage { real, bad }));
        let executor = Executor::builder().registry(registry).callbacks(self.hub.clone()).build();
        let machines = LocalMachines::load(&root().join("template.yaml"), &executor).unwrap();
        let local = machines.get("triage").expect("the template wires triage");
        tokio::time::timeout(Duration::from_secs(600), executor.run(&local.machine, &local.name, input))
            .await
            .expect("the run ends")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_selected_finding_is_analysed_or_recorded_as_failed_and_ticketed_ones_are_skipped() {
    let mut w = world().await;
    let candidates = w.candidates().await;
    let sources: std::collections::BTreeSet<&str> = candidates.iter().map(|(s, _)| s.as_str()).collect();
    assert!(candidates.len() >= 20, "the estate has findings to triage: {}", candidates.len());
    assert!(sources.len() >= 3, "several sources among the heaviest findings: {sources:?}");

    // One finding already has an open ticket: it must be skipped.
    let (ticketed_source, ticketed) = candidates[1].clone();
    w.soar
        .store
        .insert_ticket(&TicketRecord {
            finding_id: ticketed.clone(),
            ticket_id: "SEC-1".into(),
            kind: TicketKind::Team,
            account_id: String::new(),
            control_id: None,
            title: "already ticketed".into(),
            severity: "HIGH".into(),
            environment: None,
            team: None,
            penalty_score: 1.0,
            opened_at: time::OffsetDateTime::now_utc(),
            closed_at: None,
            reminders: vec![],
            expires_at: None,
        })
        .await
        .unwrap();

    // Three sabotaged analyses: a crash, a hang, and an exit without a report.
    let (crash, hang, silent) = (candidates[0].1.clone(), candidates[3].1.clone(), candidates[5].1.clone());
    let bad = BTreeMap::from([
        (crash.clone(), w.runner("/bin/sh").with_command(["-c", "echo 'segfault in analyse' >&2; kill -SEGV $$"])),
        (
            hang.clone(),
            w.runner("/bin/sleep")
                .with_command(["600"])
                .with_limits(AnalystLimits { wall_clock: Some(Duration::from_secs(2)), ..AnalystLimits::standard() }),
        ),
        (silent.clone(), w.runner("/bin/sh").with_command(["-c", "echo '{not json'"])),
    ]);
    let result = w.run(json!({"since": "2020-01-01T00:00:00Z", "limit": 12, "concurrency": 4}), bad).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{:#}", result.summary());
    let output = result.summary()["output"].clone();

    assert_eq!(output["counts"]["already_ticketed"], 1, "{:#}", output["counts"]);
    assert_eq!(output["counts"]["selected"], 12);
    let totals = &output["batch"]["totals"];
    assert_eq!((totals["analysed"].as_u64(), totals["failed"].as_u64()), (Some(9), Some(3)), "{totals:#}");
    assert_eq!(totals["unfinished"], 0);

    // The failures carry their reasons.
    let failures: BTreeMap<String, String> = totals["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["finding_id"].as_str().unwrap().to_owned(), f["reason"].as_str().unwrap().to_owned()))
        .collect();
    assert!(failures[&crash].contains("SIGSEGV") || failures[&crash].contains("signal 11"), "{}", failures[&crash]);
    assert!(failures[&hang].contains("wall-clock limit"), "{}", failures[&hang]);
    assert!(failures[&silent].contains("without reporting"), "{}", failures[&silent]);

    // Every analysed finding has a schema-valid report, a rendering and one ticket; the ticketed
    // finding was never selected.
    let client = w.db.pool.get().await.unwrap();
    let rows = client
        .query("SELECT source, finding_id, status, report, markdown, ticket_id FROM triage_reports", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 12);
    assert!(!rows.iter().any(|r| r.get::<_, String>(1) == ticketed && r.get::<_, String>(0) == ticketed_source));
    let mut tickets = std::collections::BTreeSet::new();
    for row in rows.iter().filter(|r| r.get::<_, String>(2) == "analysed") {
        let report: Value = row.get(3);
        let parsed = Report::parse(&report).unwrap_or_else(|e| panic!("{e}: {report:#}"));
        assert_eq!(parsed.finding.id, row.get::<_, String>(1));
        assert_eq!(parsed.analyst.provider, "offline");
        assert!(!parsed.analyst.fallback);
        assert!(row.get::<_, String>(4).contains(parsed.assessment.verdict.label()));
        tickets.insert(row.get::<_, Option<String>>(5).expect("a ticket per analysed finding"));
    }
    assert_eq!(tickets.len(), 9, "one distinct ticket per analysed finding");
    let open = w.soar.store.open_tickets().await.unwrap();
    assert_eq!(open.len(), 10, "nine filed by triage and the one that was there");

    // Each failure is in the audit log.
    let audited: i64 = client
        .query_one("SELECT count(*) FROM audit_events WHERE event_type = 'triage.failure.analysis'", &[])
        .await
        .map(|r| r.get(0))
        .unwrap_or(-1);
    assert_eq!(audited, 3);

    // The next run skips everything that is now ticketed and selects the three failures again.
    let again = w
        .step
        .handle(json!({"action": "select_findings", "execution_id": "run-2", "input": {"since": "2020-01-01T00:00:00Z", "limit": 12}}))
        .await
        .unwrap();
    assert_eq!(again["counts"]["already_ticketed"], 10, "{again:#}");
    let again_ids: Vec<&str> =
        again["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    for id in [&crash, &hang, &silent] {
        assert!(again_ids.contains(&id.as_str()), "{id} is selected again");
    }
    w.server.stop().await;
}
