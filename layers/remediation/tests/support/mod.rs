//! The moto harness of the remediation tests: one moto_server per test, the standard catalogue
//! run in apply mode through real AssumeRole sessions (moto accepts the session policy), and
//! findings built the way Security Hub sends them.

#![allow(dead_code)]

use aws_config::SdkConfig;
use secops_aws::testing::{LoopbackRouter, MotoServer};
use secops_aws::{load_sdk_config, AssumeRoleCache, AwsSettings};
use secops_core::asff::{parse_finding_value, AwsSecurityFinding};
use secops_core::{RemediationConfig, RemediationMode, StepError};
use secops_remediation::{Catalogue, Outcome, Report, Request, Runner};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;

/// moto's default account: AssumeRole into it keeps moto in the same account.
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

pub struct Harness {
    pub moto: MotoServer,
    /// The test's own SDK configuration (to create and read resources directly).
    pub sdk: SdkConfig,
    pub runner: Runner,
}

impl Harness {
    /// moto plus a runner in apply mode that verifies once (moto is consistent at once).
    pub async fn start() -> Harness {
        Self::start_with(|_| {}).await
    }

    /// As `start`, after `adjust` changed the settings.
    pub async fn start_with(adjust: impl FnOnce(&mut RemediationConfig)) -> Harness {
        Self::start_routed(LoopbackRouter::new(), adjust).await
    }

    /// As `start_with`, with requests routed by `router` (e.g. one service sent to a wiremock
    /// server with `LoopbackRouter::new().redirect("sns", server.uri())` for what moto cannot do).
    pub async fn start_routed(router: LoopbackRouter, adjust: impl FnOnce(&mut RemediationConfig)) -> Harness {
        let moto = MotoServer::start();
        let sdk = router.install(&load_sdk_config(&AwsSettings::for_endpoint(&moto.endpoint, REGION)).await);
        let mut settings = RemediationConfig {
            mode: RemediationMode::Apply,
            verify_attempts: 1,
            verify_delay_ms: 0,
            ..Default::default()
        };
        adjust(&mut settings);
        let sessions = Arc::new(AssumeRoleCache::new(&sdk, "secops-remediate-test"));
        let runner = Runner::new(Arc::new(Catalogue::standard()), Some(sessions), settings);
        Harness { moto, sdk, runner }
    }

    /// Move the runner's clock `days` ahead (age rules: key age, grace periods).
    pub fn days_later(mut self, days: i64) -> Harness {
        self.runner = self.runner.with_clock(move || OffsetDateTime::now_utc() + time::Duration::days(days));
        self
    }

    /// Run the finding in a DEV account (no approval needed).
    pub async fn run(&self, finding: &AwsSecurityFinding) -> Report {
        self.run_with(finding, Request { environment: Some("DEV".into()), ..Request::default() })
            .await
            .unwrap_or_else(|e| panic!("the run failed: {e}"))
    }

    pub async fn run_with(&self, finding: &AwsSecurityFinding, request: Request) -> Result<Report, StepError> {
        self.runner.run(finding, request).await
    }

    /// The contract in one call: the first run plans, applies and verifies (`remediated`, with
    /// the plan and every change applied); the second run finds nothing to do
    /// (`already_compliant`). Returns the first report.
    pub async fn remediates(&self, finding: &AwsSecurityFinding) -> Report {
        let first = self.run(finding).await;
        assert_eq!(first.outcome, Outcome::Remediated, "first run: {}", first.summary());
        let plan = first.plan.as_ref().expect("a remediated run has a plan");
        assert!(!plan.changes.is_empty());
        assert_eq!(first.applied, plan.changes, "every planned change and nothing else is applied");
        assert!(first.verification.is_some());
        let second = self.run(finding).await;
        assert_eq!(second.outcome, Outcome::AlreadyCompliant, "second run (idempotency): {}", second.summary());
        assert!(second.applied.is_empty());
        first
    }

    /// An exempt resource is suppressed and nothing is planned or changed.
    pub async fn exempt(&self, finding: &AwsSecurityFinding) -> Report {
        let report = self.run(finding).await;
        assert_eq!(report.outcome, Outcome::Suppress, "{}", report.summary());
        assert!(report.plan.is_none() && report.applied.is_empty());
        report
    }
}

/// A failed-control finding as Security Hub sends it (consolidated control ids).
#[derive(Debug, Clone)]
pub struct FindingBuilder {
    value: Value,
}

pub fn finding(control: &str, resource_type: &str, resource_id: &str) -> FindingBuilder {
    let value = json!({
        "SchemaVersion": "2018-10-08",
        "Id": format!("arn:aws:securityhub:{REGION}:{ACCOUNT}:security-control/{control}/finding/{}", uuid_like(resource_id)),
        "ProductArn": format!("arn:aws:securityhub:{REGION}::product/aws/securityhub"),
        "GeneratorId": format!("security-control/{control}"),
        "AwsAccountId": ACCOUNT,
        "Region": REGION,
        "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
        "CreatedAt": "2026-11-01T08:00:00.000Z",
        "UpdatedAt": "2026-11-20T08:00:00.000Z",
        "FirstObservedAt": "2026-11-01T08:00:00.000Z",
        "Severity": {"Label": "HIGH", "Normalized": 70},
        "Title": format!("{control} control failed"),
        "Description": "test finding",
        "Resources": [{"Type": resource_type, "Id": resource_id, "Partition": "aws", "Region": REGION}],
        "Compliance": {"Status": "FAILED", "SecurityControlId": control},
        "Workflow": {"Status": "NEW"},
        "RecordState": "ACTIVE"
    });
    FindingBuilder { value }
}

/// The account-level resource of account controls.
pub fn account_finding(control: &str) -> FindingBuilder {
    finding(control, "AwsAccount", &format!("AWS::::Account:{ACCOUNT}"))
}

impl FindingBuilder {
    pub fn tag(mut self, key: &str, value: &str) -> Self {
        let tags = &mut self.value["Resources"][0]["Tags"];
        if tags.is_null() {
            *tags = json!({});
        }
        tags[key] = json!(value);
        self
    }

    pub fn details(mut self, key: &str, details: Value) -> Self {
        self.value["Resources"][0]["Details"] = json!({ key: details });
        self
    }

    pub fn first_observed(mut self, at: &str) -> Self {
        self.value["FirstObservedAt"] = json!(at);
        self
    }

    pub fn build(&self) -> AwsSecurityFinding {
        parse_finding_value(&self.value).expect("a valid ASFF finding")
    }
}

fn uuid_like(s: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    format!("{:016x}", h.finish())
}

/// Tags as a map (for `Request.tags`).
pub fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}
