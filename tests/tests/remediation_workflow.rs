//! remediation.asl.json end to end on the embedded executor, with the real remediate step over
//! moto (S3.2 on a public bucket), approval requests in PostgreSQL, and decisions sent the way
//! `secops approve|reject` sends them: to the executor's loopback Step Functions endpoint.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use secops_asl::callback_server::CallbackServer;
use secops_asl::local::LocalMachines;
use secops_asl::tasks::function;
use secops_asl::{CallbackHub, ExecutionStatus, Executor, TaskFailure, TaskRegistry};
use secops_aws::testing::{LoopbackRouter, MotoServer};
use secops_aws::{load_sdk_config, AssumeRoleCache, AwsSettings};
use secops_core::asff::parse_finding_value;
use secops_core::scratchpad::{PipelineFlags, Scratchpad};
use secops_core::{RemediationConfig, RemediationMode, StepError};
use secops_remediation::approval::{self, ApprovalBook, Decision, PgApprovals};
use secops_remediation::{Catalogue, RemediateStep, Runner};
use secops_store::testing::TestDb;
use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn failure(e: StepError) -> TaskFailure {
    TaskFailure::new(e.name(), e.message)
}

struct World {
    _moto: MotoServer,
    db: TestDb,
    s3: aws_sdk_s3::Client,
    executor: Executor,
    machines: LocalMachines,
    server: CallbackServer,
    audited: Arc<std::sync::Mutex<Vec<Value>>>,
}

async fn world() -> World {
    let moto = MotoServer::start();
    let db = TestDb::new().await;
    let sdk =
        LoopbackRouter::new().install(&load_sdk_config(&AwsSettings::for_endpoint(&moto.endpoint, "us-east-1")).await);
    let settings = RemediationConfig {
        mode: RemediationMode::Apply,
        verify_attempts: 1,
        verify_delay_ms: 0,
        ..Default::default()
    };
    let runner = Runner::new(
        Arc::new(Catalogue::standard()),
        Some(Arc::new(AssumeRoleCache::new(&sdk, "secops-remediate"))),
        settings,
    );
    let step = RemediateStep::new(runner)
        .with_approvals(Arc::new(PgApprovals::new(db.pool.clone())))
        .with_callback_url(Arc::new(CallbackServer::running_endpoint));

    let mut registry = TaskRegistry::new();
    registry.function(
        "remediate",
        function(move |input| {
            let step = step.clone();
            async move { step.handle(input).await.map_err(failure) }
        }),
    );
    let audited = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = audited.clone();
    registry.function(
        "audit",
        function(move |input| {
            seen.lock().unwrap().push(input);
            async move { Ok(json!({})) }
        }),
    );
    let hub = CallbackHub::new();
    let server = CallbackServer::start(hub.clone()).await.unwrap();
    let executor = Executor::builder().registry(registry).callbacks(hub).build();
    let machines = LocalMachines::load(&root().join("template.yaml"), &executor).unwrap();
    World { _moto: moto, db, s3: aws_sdk_s3::Client::new(&sdk), executor, machines, server, audited }
}

impl World {
    async fn public_bucket(&self, name: &str) {
        self.s3.create_bucket().bucket(name).send().await.unwrap();
    }

    async fn blocked(&self, name: &str) -> bool {
        self.s3.get_public_access_block().bucket(name).send().await.is_ok()
    }

    fn start(&self, bucket: &str, environment: &str) -> tokio::task::JoinHandle<secops_asl::ExecutionResult> {
        let finding = parse_finding_value(&json!({
            "SchemaVersion": "2018-10-08",
            "Id": format!("arn:aws:securityhub:us-east-1:123456789012:security-control/S3.2/finding/{bucket}"),
            "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/securityhub",
            "GeneratorId": "security-control/S3.2",
            "AwsAccountId": "123456789012",
            "Region": "us-east-1",
            "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
            "CreatedAt": "2026-11-01T08:00:00.000Z",
            "UpdatedAt": "2026-11-20T08:00:00.000Z",
            "Severity": {"Label": "HIGH", "Normalized": 70},
            "Title": "S3 general purpose buckets should block public read access",
            "Description": "test",
            "Resources": [{"Type": "AwsS3Bucket", "Id": format!("arn:aws:s3:::{bucket}"), "Region": "us-east-1"}],
            "Compliance": {"Status": "FAILED", "SecurityControlId": "S3.2"},
            "Workflow": {"Status": "NEW"},
            "RecordState": "ACTIVE"
        }))
        .unwrap();
        let mut pad = Scratchpad::new(finding, &PipelineFlags::default());
        pad.account.environment = Some(environment.to_owned());
        let input = serde_json::to_value(&pad).unwrap();
        let local = self.machines.get("remediation").expect("the remediation machine");
        let (machine, name) = (local.machine.clone(), local.name.clone());
        let executor = self.executor.clone();
        tokio::spawn(async move { executor.run(&machine, &name, input).await })
    }

    /// The pending request, once the workflow has recorded it (bounded wait).
    async fn pending(&self) -> approval::Approval {
        let book = PgApprovals::new(self.db.pool.clone());
        for _ in 0..200 {
            if let Some(a) = book.pending().await.unwrap().into_iter().next() {
                return a;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no approval request was recorded within 10 s");
    }

    /// What `secops approve|reject` does: record the decision once, then resume the workflow.
    async fn decide(&self, id: &str, decision: Decision, by: &str, reason: Option<&str>) {
        let book = PgApprovals::new(self.db.pool.clone());
        let approval = book.decide(id, decision, by, reason).await.unwrap();
        approval::resume(&approval, decision, by, reason, None).await.unwrap();
    }
}

#[tokio::test]
async fn a_dev_account_is_remediated_without_approval() {
    let w = world().await;
    w.public_bucket("dev-bucket").await;
    let result = w.start("dev-bucket", "DEV").await.unwrap();
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{:?}", result.summary());
    let out = result.output.unwrap();
    assert_eq!(out["remediation"]["outcome"], "remediated");
    assert_eq!(out["actions"]["autoremediation_not_done"], false);
    assert!(w.blocked("dev-bucket").await);
    assert!(PgApprovals::new(w.db.pool.clone()).pending().await.unwrap().is_empty());
    w.server.stop().await;
}

#[tokio::test]
async fn prod_waits_for_approval_then_applies_the_approved_plan() {
    let w = world().await;
    w.public_bucket("prod-bucket").await;
    let running = w.start("prod-bucket", "PROD");
    let request = w.pending().await;
    assert!(request.id.starts_with("apr-"));
    assert_eq!((request.control.as_str(), request.environment.as_deref()), ("S3.2", Some("PROD")));
    assert_eq!(request.plan["changes"][0]["action"], "s3:PutBucketPublicAccessBlock");
    assert_eq!(request.callback_url.as_deref(), Some(w.server.endpoint_url().as_str()));
    assert!(!w.blocked("prod-bucket").await, "nothing changes while the request waits");

    w.decide(&request.id, Decision::Approved, "alice", None).await;
    let result = running.await.unwrap();
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{:?}", result.summary());
    let out = result.output.unwrap();
    assert_eq!(out["approval"]["decided_by"], "alice");
    assert_eq!(out["remediation"]["outcome"], "remediated", "{out}");
    assert_eq!(out["actions"]["autoremediation_not_done"], false);
    assert!(w.blocked("prod-bucket").await);
    // A second decision on the same request is refused.
    let again = PgApprovals::new(w.db.pool.clone()).decide(&request.id, Decision::Rejected, "bob", None).await;
    assert_eq!(again.unwrap_err().class, secops_core::ErrorClass::Conflict);
    assert!(w.audited.lock().unwrap().is_empty(), "the workflow did not fail");
    w.server.stop().await;
}

#[tokio::test]
async fn a_rejected_plan_is_handed_to_the_team_with_the_reason() {
    let w = world().await;
    w.public_bucket("rejected-bucket").await;
    let running = w.start("rejected-bucket", "PROD");
    let request = w.pending().await;
    w.decide(&request.id, Decision::Rejected, "bob", Some("the marketing site still reads it")).await;
    let result = running.await.unwrap();
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{:?}", result.summary());
    let out = result.output.unwrap();
    assert_eq!(out["actions"]["autoremediation_not_done"], true);
    let required = out["messages"]["actions_required"].as_str().unwrap();
    assert!(required.contains("rejected by bob: the marketing site still reads it"), "{required}");
    assert!(required.contains("s3:PutBucketPublicAccessBlock"), "{required}");
    assert!(!w.blocked("rejected-bucket").await);
    let stored = PgApprovals::new(w.db.pool.clone()).find(&request.id).await.unwrap().unwrap();
    assert_eq!(stored.decision, Some(Decision::Rejected));
    w.server.stop().await;
}
