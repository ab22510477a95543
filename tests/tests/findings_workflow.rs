//! findings.asl.json end to end on the embedded executor, with the real decide, notify (tickets)
//! and audit handlers over PostgreSQL: replayed events never duplicate a ticket or a status write,
//! and a malformed finding is dead-lettered, audited and ticketed while the good ones go on.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use secops_asl::local::LocalMachines;
use secops_asl::tasks::function;
use secops_asl::{ExecutionStatus, Executor, TaskFailure, TaskRegistry};
use secops_audit::redact::{CorrelationKey, Destination, Policy as RedactionPolicy, Redactor};
use secops_audit::step::AuditStep;
use secops_audit::{AnySigner, FileCheckpointStore, Keyring, PgAuditLog};
use secops_core::scratchpad::PipelineFlags;
use secops_core::StepError;
use secops_notify::local_chat::JsonlChat;
use secops_notify::local_tickets::LocalTickets;
use secops_notify::notifier::{Notifier, Sinks};
use secops_notify::redact::Redaction;
use secops_soar::account::file::FileDirectory;
use secops_soar::account::OrgAccount;
use secops_soar::clock::SystemClock;
use secops_soar::hub::postgres::PgFindingsHub;
use secops_soar::policy::Policy;
use secops_soar::quarantine::plan::PlanOnlyQuarantine;
use secops_soar::state::postgres::PgStateStore;
use secops_soar::step::{DecideStep, TicketStep};
use secops_soar::{Settings, Soar};
use secops_store::testing::TestDb;
use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn failure(e: StepError) -> TaskFailure {
    TaskFailure::new(e.name(), e.message)
}

struct World {
    db: TestDb,
    dir: tempfile::TempDir,
    executor: Executor,
    machines: LocalMachines,
}

async fn world() -> World {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let account = OrgAccount {
        id: "111122223333".into(),
        name: "payments-prod".into(),
        email: "aws+payments@example.com".into(),
        status: "ACTIVE".into(),
        joined_at: Some(time::macros::datetime!(2023-01-01 00:00 UTC)),
        ou_path: vec!["Workloads".into()],
        tags: [("secops:environment".to_owned(), "prod".to_owned())].into(),
    };
    let sinks = Sinks {
        tickets: Arc::new(LocalTickets::new(dir.path().join("tickets"))),
        chat: Arc::new(JsonlChat::new(dir.path().join("alerts.jsonl"))),
        email: None,
    };
    let redaction = Redaction::defaults(CorrelationKey::new([5; 32]));
    let notifier = Arc::new(Notifier::over_postgres(db.pool.clone(), sinks, redaction, Arc::new(SystemClock)));
    let soar = Soar {
        store: Arc::new(PgStateStore::new(db.pool.clone())),
        hub: Arc::new(PgFindingsHub::new(db.pool.clone())),
        accounts: Arc::new(FileDirectory::from_accounts(vec![account]).unwrap()),
        controls: None,
        ticketing: notifier.clone(),
        alerts: notifier,
        quarantine: Arc::new(PlanOnlyQuarantine::new(dir.path().join("plans.jsonl"))),
        policy: Arc::new(Policy::built_in()),
        clock: Arc::new(SystemClock),
        flags: PipelineFlags::default(),
        regions: vec!["us-east-1".into()],
        settings: Settings::default(),
    };
    let (ring, _) = Keyring::generate("k").unwrap();
    let redactor = Redactor::new(RedactionPolicy::default_for(Destination::Audit), CorrelationKey::new([5; 32]));
    let log = PgAuditLog::new(db.pool.clone(), "main", AnySigner::Keyring(ring), redactor);
    let audit = Arc::new(AuditStep::new(log, FileCheckpointStore::new(dir.path().join("checkpoint.json"))));

    let mut registry = TaskRegistry::new();
    let decide = DecideStep::new(soar.clone());
    registry.function(
        "decide",
        function(move |input| {
            let decide = decide.clone();
            async move { decide.handle(input).await.map_err(failure) }
        }),
    );
    let tickets = TicketStep::new(soar);
    registry.function(
        "notify",
        function(move |input| {
            let tickets = tickets.clone();
            async move { tickets.handle(input).await.map_err(failure) }
        }),
    );
    registry.function(
        "audit",
        function(move |input| {
            let audit = audit.clone();
            async move { audit.handle(input).await.map_err(failure) }
        }),
    );
    let executor = Executor::builder().registry(registry).build();
    let machines = LocalMachines::load(&root().join("template.yaml"), &executor).unwrap();
    World { db, dir, executor, machines }
}

/// A failed-control finding (the core crate's real-shaped EC2.19 fixture) with id `n`.
fn finding(n: usize) -> Value {
    let path = root().join("layers/core/tests/fixtures/asff/securityhub-ec2-19-security-group.json");
    let mut f: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    f["Id"] =
        json!(format!("arn:aws:securityhub:us-east-1:111122223333:security-control/EC2.19/finding/replay-{n:03}"));
    f["Compliance"]["Status"] = json!("FAILED");
    f["Workflow"] = json!({"Status": "NEW"});
    f
}

fn event(findings: Vec<Value>) -> Value {
    json!({
        "version": "0",
        "id": "4a2f0d1e-replay",
        "detail-type": "Security Hub Findings - Imported",
        "source": "aws.securityhub",
        "account": "111122223333",
        "time": "2026-03-04T09:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"findings": findings}
    })
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    db.pool.get().await.unwrap().query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_50_finding_event_three_times_at_once_makes_one_ticket_and_one_status_write_each() {
    let w = world().await;
    let input = event((0..50).map(finding).collect());
    let machine = w.machines.get("findings").unwrap();
    let runs = (0..3).map(|_| {
        let (executor, machine_def, input) = (w.executor.clone(), machine.machine.clone(), input.clone());
        let name = machine.name.clone();
        tokio::spawn(async move { executor.run(&machine_def, &name, input).await })
    });
    let results: Vec<_> = futures_join(runs).await;
    let mut outcomes: std::collections::BTreeMap<String, usize> = Default::default();
    for r in &results {
        assert_eq!(r.status, ExecutionStatus::Succeeded, "{}", r.summary());
        for item in r.summary()["output"]["results"].as_array().unwrap() {
            assert_eq!(item["status"], "processed", "{item}");
            *outcomes.entry(item["outcome"].as_str().unwrap().to_owned()).or_default() += 1;
        }
    }
    assert_eq!(outcomes.get("ticketed"), Some(&50), "{outcomes:?}");
    assert_eq!(outcomes.get("nothing_to_do"), Some(&100), "the two replays are duplicates: {outcomes:?}");

    let tickets = std::fs::read_dir(w.dir.path().join("tickets")).unwrap().filter_map(Result::ok);
    assert_eq!(tickets.filter(|e| e.path().extension().is_some_and(|x| x == "md")).count(), 50);
    assert_eq!(count(&w.db, "SELECT count(*) FROM tickets WHERE closed_at IS NULL").await, 50);
    assert_eq!(count(&w.db, "SELECT count(*) FROM finding_updates").await, 50);
    assert_eq!(
        count(&w.db, "SELECT count(DISTINCT finding_id) FROM finding_updates WHERE workflow_status = 'NOTIFIED'").await,
        50
    );
    // Every execution audited its event and every finding's outcome.
    assert_eq!(
        count(&w.db, "SELECT count(*) FROM audit_events WHERE event_type = 'findings.event_processed'").await,
        3
    );
    assert_eq!(count(&w.db, "SELECT count(*) FROM audit_events WHERE event_type = 'findings.ticketed'").await, 50);
}

async fn futures_join<T: Send + 'static>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_finding_is_dead_lettered_audited_and_ticketed_and_the_others_go_on() {
    let w = world().await;
    let mut bad = finding(2);
    bad["Severity"]["Label"] = json!("SEVERE");
    let input = event(vec![finding(0), finding(1), bad]);
    let machine = w.machines.get("findings").unwrap();
    let result = w.executor.run(&machine.machine, &machine.name, input).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{}", result.summary());
    let results = result.summary()["output"]["results"].clone();
    let outcomes: Vec<&str> = results.as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["ticketed", "ticketed", "ticketed_after_failure"]);

    assert_eq!(count(&w.db, "SELECT count(*) FROM dead_letters WHERE error LIKE '%Severity.Label%'").await, 1);
    assert_eq!(
        count(&w.db, "SELECT count(*) FROM audit_events WHERE event_type = 'findings.failure.finding'").await,
        1
    );
    let failure_tickets = std::fs::read_dir(w.dir.path().join("tickets"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "md"))
        .filter(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains("NEEDS A PERSON")))
        .count();
    assert_eq!(failure_tickets, 1);
}
