//! The triage world shared by the end-to-end test and the benchmark: a generated estate in a
//! fresh database, the real triage, notify and audit steps, and the executor's callback endpoint.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use secops_asl::callback_server::CallbackServer;
use secops_asl::ecs_task::{AnalystLimits, AnalystTaskRunner, RESOURCE as ECS_TASK};
use secops_asl::local::LocalMachines;
use secops_asl::tasks::{function, BoxFuture, CallbackHub, TaskHandler, TaskInvocation};
use secops_asl::{Executor, TaskFailure, TaskRegistry};
use secops_audit::redact::{CorrelationKey, Destination, Policy as RedactionPolicy, Redactor};
use secops_audit::step::AuditStep;
use secops_audit::{AnySigner, FileCheckpointStore, Keyring, PgAuditLog};
use secops_core::scratchpad::PipelineFlags;
use secops_core::{StepError, TriageConfig};
use secops_inventory::fixtures::{generate, EstateSpec};
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
use secops_soar::{Settings, Soar};
use secops_store::testing::TestDb;
use secops_triage::selection::OpenTickets;
use secops_triage::TriageStep;
use serde_json::Value;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn failure(e: StepError) -> TaskFailure {
    TaskFailure::new(e.name(), e.message)
}

/// Runs the real analyst, except for the findings a test sabotages, which get a process that
/// misbehaves in the named way.
#[derive(Debug, Clone)]
pub struct Sabotage {
    pub real: AnalystTaskRunner,
    pub bad: BTreeMap<String, AnalystTaskRunner>,
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

pub struct World {
    pub db: TestDb,
    pub _estate: tempfile::TempDir,
    pub dir: tempfile::TempDir,
    pub soar: Soar,
    pub step: TriageStep,
    pub server: CallbackServer,
    pub hub: CallbackHub,
    pub registry: Option<TaskRegistry>,
}

pub async fn world(spec: &EstateSpec) -> World {
    let db = TestDb::new().await;
    let estate = tempfile::tempdir().unwrap();
    generate(spec, estate.path()).unwrap();
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
    pub async fn candidates(&self) -> Vec<(String, String)> {
        let client = self.db.pool.get().await.unwrap();
        let rows = client
            .query("SELECT source, id FROM get_security_findings('2020-01-01T00:00:00Z', 100)", &[])
            .await
            .unwrap();
        rows.iter().map(|r| (r.get(0), r.get(1))).collect()
    }

    pub fn runner(&self, program: &str) -> AnalystTaskRunner {
        AnalystTaskRunner::new(program, self.server.endpoint_url())
            .with_temp_root(self.dir.path())
            .with_limits(AnalystLimits::standard())
    }

    /// The real analyst binary, over the read-only role, with the offline analyst unless `env`
    /// says otherwise.
    pub fn analyst(&self, program: &str, env: &[(&str, &str)]) -> AnalystTaskRunner {
        let mut runner = self
            .runner(program)
            .with_env("SECOPS_DATABASE_URL", secops_triage::analyst::read_only_url(&self.db.url))
            .with_env("SECOPS_TRIAGE_PROVIDER", "offline")
            .with_env("RUST_LOG", "warn");
        for (k, v) in env {
            runner = runner.with_env(*k, *v);
        }
        runner
    }

    /// Run triage.asl.json once with `real` for every finding but the `bad` ones.
    pub async fn run(
        &mut self,
        input: Value,
        real: AnalystTaskRunner,
        bad: BTreeMap<String, AnalystTaskRunner>,
    ) -> secops_asl::ExecutionResult {
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
