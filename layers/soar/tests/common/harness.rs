//! A `Soar` over real components for tests: a fresh PostgreSQL database (state store, findings
//! hub, notify's outbox), Markdown tickets and JSON-line chat in a temporary folder, the plan-only quarantine, a
//! file account directory and a clock the test moves.

use std::path::PathBuf;
use std::sync::Arc;

use secops_audit::redact::CorrelationKey;
use secops_core::scratchpad::PipelineFlags;
use secops_notify::local_chat::JsonlChat;
use secops_notify::local_tickets::LocalTickets;
use secops_notify::notifier::{Notifier, Sinks};
use secops_notify::redact::Redaction;
use secops_soar::account::file::FileDirectory;
use secops_soar::account::OrgAccount;
use secops_soar::clock::ManualClock;
use secops_soar::hub::postgres::PgFindingsHub;
use secops_soar::policy::Policy;
use secops_soar::quarantine::plan::PlanOnlyQuarantine;
use secops_soar::state::postgres::PgStateStore;
use secops_soar::{Settings, Soar};
use secops_store::testing::TestDb;
use serde_json::Value;
use time::macros::datetime;
use time::OffsetDateTime;

pub const PROD: &str = "111122223333";
pub const STAGING: &str = "444455556666";
pub const NEW: &str = "777788889999";
pub const UNTAGGED: &str = "222233334444";

/// The moment the tests' clock starts at.
pub const T0: OffsetDateTime = datetime!(2026-03-04 09:00 UTC);

pub fn accounts() -> Vec<OrgAccount> {
    let tags = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    vec![
        OrgAccount {
            id: PROD.into(),
            name: "payments-prod".into(),
            email: "aws+payments-prod@example.com".into(),
            status: "ACTIVE".into(),
            joined_at: Some(datetime!(2023-05-01 00:00 UTC)),
            ou_path: vec!["Workloads".into(), "Prod".into()],
            tags: tags(&[
                ("secops:environment", "production"),
                ("secops:team", "payments"),
                ("secops:team-email", "payments@example.com"),
                ("secops:ticket-project", "PAY"),
            ]),
        },
        OrgAccount {
            id: STAGING.into(),
            name: "payments-staging".into(),
            email: "aws+payments-staging@example.com".into(),
            status: "ACTIVE".into(),
            joined_at: Some(datetime!(2024-01-10 00:00 UTC)),
            ou_path: vec!["Workloads".into(), "NonProd".into()],
            tags: tags(&[("secops:environment", "UAT"), ("secops:team", "payments")]),
        },
        OrgAccount {
            id: NEW.into(),
            name: "fresh-sandbox".into(),
            email: "aws+fresh@example.com".into(),
            status: "ACTIVE".into(),
            joined_at: Some(T0 - time::Duration::hours(3)),
            ou_path: vec!["Sandbox".into()],
            tags: tags(&[("secops:environment", "dev"), ("secops:team", "platform")]),
        },
        OrgAccount {
            id: UNTAGGED.into(),
            name: "legacy".into(),
            email: "aws+legacy@example.com".into(),
            status: "ACTIVE".into(),
            joined_at: Some(datetime!(2019-01-01 00:00 UTC)),
            ou_path: vec![],
            tags: Default::default(),
        },
    ]
}

#[derive(Debug)]
pub struct Harness {
    pub db: TestDb,
    pub soar: Soar,
    pub clock: Arc<ManualClock>,
    pub hub: PgFindingsHub,
    pub dir: tempfile::TempDir,
}

impl Harness {
    pub async fn new() -> Harness {
        Harness::with(Policy::built_in(), PipelineFlags::default()).await
    }

    pub async fn with(policy: Policy, flags: PipelineFlags) -> Harness {
        let db = TestDb::new().await;
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(T0));
        let hub = PgFindingsHub::new(db.pool.clone());
        let sinks = Sinks {
            tickets: Arc::new(LocalTickets::new(dir.path().join("tickets"))),
            chat: Arc::new(JsonlChat::new(dir.path().join("alerts.jsonl"))),
            email: None,
        };
        let redaction = Redaction::defaults(CorrelationKey::new([7; 32]));
        let notifier = Arc::new(Notifier::over_postgres(db.pool.clone(), sinks, redaction, clock.clone()));
        let soar = Soar {
            store: Arc::new(PgStateStore::new(db.pool.clone())),
            hub: Arc::new(hub.clone()),
            accounts: Arc::new(FileDirectory::from_accounts(accounts()).unwrap()),
            controls: None,
            ticketing: notifier.clone(),
            alerts: notifier,
            quarantine: Arc::new(PlanOnlyQuarantine::new(dir.path().join("quarantine-plans.jsonl"))),
            policy: Arc::new(policy),
            clock: clock.clone(),
            flags,
            regions: vec!["us-east-1".into()],
            settings: Settings::default(),
        };
        Harness { db, soar, clock, hub, dir }
    }

    pub fn tickets_dir(&self) -> PathBuf {
        self.dir.path().join("tickets")
    }

    /// Ticket files written (`*.md`).
    pub fn ticket_files(&self) -> usize {
        std::fs::read_dir(self.tickets_dir())
            .map(|d| d.filter_map(Result::ok).filter(|e| e.path().extension().is_some_and(|x| x == "md")).count())
            .unwrap_or(0)
    }

    /// Lines in a JSON-lines file of the temporary folder (0 when it does not exist).
    pub fn lines(&self, name: &str) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join(name))
            .map(|t| t.lines().map(|l| serde_json::from_str(l).unwrap()).collect())
            .unwrap_or_default()
    }
}

/// A real-shaped ASFF finding from the core crate's fixtures.
pub fn fixture(name: &str) -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures/asff").join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// Set a JSON pointer (creating objects on the way) and return the value.
pub fn with(mut v: Value, pointer: &str, new: Value) -> Value {
    let mut at = &mut v;
    for part in pointer.trim_start_matches('/').split('/') {
        if !at.is_object() {
            *at = Value::Object(Default::default());
        }
        at = at.as_object_mut().unwrap().entry(part.to_owned()).or_insert(Value::Null);
    }
    *at = new;
    v
}

/// Remove a top-level key.
pub fn without(mut v: Value, key: &str) -> Value {
    v.as_object_mut().unwrap().remove(key);
    v
}

/// A failed Security Hub control check in `account`.
pub fn failed_control(account: &str) -> Value {
    let f = fixture("securityhub-ec2-19-security-group");
    let f = with(f, "/AwsAccountId", account.into());
    let f = with(f, "/Compliance/Status", "FAILED".into());
    with(f, "/Workflow/Status", "NEW".into())
}

/// A CloudWatch alarm converted to a finding (the alarm-to-finding forwarder's shape).
pub fn cloudwatch_alarm(account: &str, alarm: &str) -> Value {
    serde_json::json!({
        "SchemaVersion": "2018-10-08",
        "Id": format!("arn:aws:cloudwatch:us-east-1:{account}:alarm:{alarm}/2026-03-04T08:59:00Z"),
        "ProductArn": format!("arn:aws:securityhub:us-east-1:{account}:product/{account}/default"),
        "GeneratorId": alarm,
        "AwsAccountId": account,
        "Types": ["Software and Configuration Checks/CloudWatch Alarms/secops-cloudwatch-alarms"],
        "CreatedAt": "2026-03-04T08:59:00Z",
        "UpdatedAt": "2026-03-04T08:59:00Z",
        "Severity": {"Label": "MEDIUM"},
        "Title": format!("CloudWatch alarm {alarm} is in ALARM"),
        "Description": "Threshold Crossed: 1 datapoint [12.0] was greater than the threshold (5.0).",
        "ProductFields": {"AlarmName": alarm, "TicketDestination": "TEAM"},
        "Resources": [{"Type": "AwsAccountId", "Id": format!("AWS::::Account:{account}"), "Region": "us-east-1"}],
        "Workflow": {"Status": "NEW"},
        "RecordState": "ACTIVE"
    })
}
