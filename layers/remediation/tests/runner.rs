//! The contract the runner holds for every remediation, against moto and wiremock: the session
//! policy sent to AssumeRole, a failed verification, the approval gate, access denied,
//! throttling, exemptions by configuration, plan-only mode and bad input.

mod support;

use async_trait::async_trait;
use secops_aws::testing::LoopbackRouter;
use secops_aws::{AssumeRoleCache, AwsError};
use secops_core::{ErrorClass, RemediationExemption, RemediationMode};
use secops_remediation::plan::unplanned;
use secops_remediation::{
    Assessment, Catalogue, Change, Check, Ctx, Outcome, Remediation, Request, Runner, Spec, TestedWith,
};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use support::*;
use wiremock::matchers::{body_string_contains, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn bucket_finding(name: &str) -> FindingBuilder {
    finding("S3.2", "AwsS3Bucket", &format!("arn:aws:s3:::{name}"))
}

async fn bucket(h: &Harness, name: &str) -> aws_sdk_s3::Client {
    let s3 = aws_sdk_s3::Client::new(&h.sdk);
    s3.create_bucket().bucket(name).send().await.expect("create bucket");
    s3
}

async fn has_block(s3: &aws_sdk_s3::Client, name: &str) -> bool {
    s3.get_public_access_block().bucket(name).send().await.is_ok()
}

const ASSUME_ROLE_REPLY: &str = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>ASIASECOPSTEST</AccessKeyId>
      <SecretAccessKey>secret</SecretAccessKey>
      <SessionToken>token</SessionToken>
      <Expiration>2099-01-01T00:00:00Z</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <AssumedRoleId>AROASECOPS:secops-remediate-test</AssumedRoleId>
      <Arn>arn:aws:sts::123456789012:assumed-role/SecOpsRemediation/secops-remediate-test</Arn>
    </AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>
</AssumeRoleResponse>"#;

/// The form fields of a recorded STS request.
fn form(body: &[u8]) -> Vec<(String, String)> {
    let query = format!("http://sts.invalid/?{}", String::from_utf8_lossy(body));
    reqwest::Url::parse(&query).unwrap().query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn field<'a>(fields: &'a [(String, String)], key: &str) -> &'a str {
    fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("no {key} in {fields:?}"))
}

#[tokio::test]
async fn the_session_policy_passed_to_assume_role_holds_only_the_declared_actions() {
    let sts = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("Action=AssumeRole"))
        .respond_with(ResponseTemplate::new(200).set_body_string(ASSUME_ROLE_REPLY))
        .expect(2)
        .mount(&sts)
        .await;
    let h = Harness::start_routed(LoopbackRouter::new().redirect("sts", sts.uri()), |_| {}).await;
    let s3 = bucket(&h, "policy-check").await;
    let f = bucket_finding("policy-check").build();

    let planned = h
        .run_with(
            &f,
            Request { mode: Some(RemediationMode::Plan), environment: Some("DEV".into()), ..Request::default() },
        )
        .await
        .unwrap();
    assert_eq!(planned.outcome, Outcome::Planned, "{}", planned.summary());
    let report = h.run(&f).await;
    assert_eq!(report.outcome, Outcome::Remediated, "{}", report.summary());
    assert!(has_block(&s3, "policy-check").await);

    let requests = sts.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    let spec = Catalogue::standard().get("S3.2").unwrap().spec();
    let declared: BTreeSet<String> = spec.actions.iter().map(|a| a.to_string()).collect();
    let reads: BTreeSet<String> = spec.read_actions().map(str::to_owned).collect();
    for (request, expected) in requests.iter().zip([&reads, &declared]) {
        let fields = form(&request.body);
        assert_eq!(field(&fields, "RoleArn"), "arn:aws:iam::123456789012:role/SecOpsRemediation");
        assert_eq!(field(&fields, "RoleSessionName"), "secops-remediate-test");
        let policy: Value = serde_json::from_str(field(&fields, "Policy")).unwrap();
        let statements = policy["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 1);
        assert_eq!(statements[0]["Effect"], "Allow");
        assert_eq!(statements[0]["Resource"], "*");
        assert_eq!(&secops_remediation::policy::allowed_actions(&policy), expected);
    }
    // Planning is read-only: the write is only in the apply session.
    assert!(!reads.contains("s3:PutBucketPublicAccessBlock"));
    assert!(declared.contains("s3:PutBucketPublicAccessBlock"));
    assert_eq!(report.session_actions, declared.into_iter().collect::<Vec<_>>());
}

/// A remediation whose call "succeeds" but does not make the control hold (it blocks public
/// ACLs only; the control needs all four settings): exactly the complaint about fixes that
/// succeed while the control still fails.
struct HalfFix;

static HALF_FIX: Spec = Spec {
    control: "TEST.1",
    title: "a test control",
    change: "turns on one of the four Block Public Access settings",
    resource_types: &["AwsS3Bucket"],
    actions: &["s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock"],
    disruptive: false,
    verification: "all four settings true",
    exemption_tags: &[],
    tested_with: TestedWith::Moto,
};

async fn all_four(ctx: &Ctx) -> Result<bool, AwsError> {
    let out = ctx.s3().get_public_access_block().bucket(&ctx.target.name).send().await;
    Ok(match out {
        Ok(o) => o.public_access_block_configuration().is_some_and(|c| {
            [c.block_public_acls(), c.ignore_public_acls(), c.block_public_policy(), c.restrict_public_buckets()]
                .iter()
                .all(|v| *v == Some(true))
        }),
        Err(_) => false,
    })
}

#[async_trait]
impl Remediation for HalfFix {
    fn spec(&self) -> &'static Spec {
        &HALF_FIX
    }
    async fn plan(&self, ctx: &Ctx) -> Result<Assessment, AwsError> {
        if all_four(ctx).await? {
            return Ok(Assessment::Compliant("blocked".into()));
        }
        Ok(Assessment::Changes(vec![Change::new(
            "s3:PutBucketPublicAccessBlock",
            &ctx.target.name,
            json!({"BlockPublicAcls": true}),
            "half a fix",
        )]))
    }
    async fn execute(&self, ctx: &Ctx, change: &Change) -> Result<(), AwsError> {
        if change.action != "s3:PutBucketPublicAccessBlock" {
            return Err(unplanned(change));
        }
        let config = aws_sdk_s3::types::PublicAccessBlockConfiguration::builder().block_public_acls(true).build();
        ctx.s3()
            .put_public_access_block()
            .bucket(&ctx.target.name)
            .public_access_block_configuration(config)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::from_sdk("s3:PutBucketPublicAccessBlock", e))
    }
    async fn verify(&self, ctx: &Ctx) -> Result<Check, AwsError> {
        Ok(if all_four(ctx).await? { Check::Holds("all four".into()) } else { Check::Fails("only some".into()) })
    }
}

#[tokio::test]
async fn a_remediation_whose_verification_fails_is_a_ticket_not_remediated() {
    let h = Harness::start_with(|s| s.verify_attempts = 2).await;
    let s3 = bucket(&h, "half-fixed").await;
    let runner = Runner::new(
        Arc::new(Catalogue::of(vec![Arc::new(HalfFix)])),
        Some(Arc::new(AssumeRoleCache::new(&h.sdk, "t"))),
        h.runner.settings().clone(),
    );
    let f = finding("TEST.1", "AwsS3Bucket", "arn:aws:s3:::half-fixed").build();
    let report = runner.run(&f, Request { environment: Some("DEV".into()), ..Request::default() }).await.unwrap();
    assert_eq!(report.outcome, Outcome::Ticket, "{}", report.summary());
    assert!(report.reason.contains("still fails when re-read: only some"), "{}", report.reason);
    assert_eq!(report.applied.len(), 1, "the change was applied and is on record");
    assert_eq!(report.verification.as_deref(), Some("only some"));
    // The real state: the one setting the call made, not the control's condition.
    let c = s3.get_public_access_block().bucket("half-fixed").send().await.unwrap();
    let c = c.public_access_block_configuration().unwrap();
    assert_eq!(c.block_public_acls(), Some(true));
    assert_ne!(c.ignore_public_acls(), Some(true));
}

#[tokio::test]
async fn disruptive_plans_wait_for_approval_in_prod_and_apply_only_the_approved_plan() {
    let h = Harness::start().await;
    let s3 = bucket(&h, "prod-bucket").await;
    let f = bucket_finding("prod-bucket").build();
    let prod = || Request { environment: Some("PROD".into()), ..Request::default() };

    let asked = h.run_with(&f, prod()).await.unwrap();
    assert_eq!(asked.outcome, Outcome::ApprovalRequired, "{}", asked.summary());
    assert!(asked.reason.contains("PROD"));
    assert!(asked.applied.is_empty());
    assert!(!has_block(&s3, "prod-bucket").await, "nothing is changed before approval");

    // The approved plan no longer matches: the bucket changed in the meantime.
    let mut stale = asked.plan.clone().unwrap();
    stale.changes[0].parameters["BlockPublicPolicy"] = json!(false);
    let refused = h.run_with(&f, Request { approved_plan: Some(stale), ..prod() }).await.unwrap();
    assert_eq!(refused.outcome, Outcome::Ticket);
    assert!(refused.reason.contains("changed after the plan was approved"), "{}", refused.reason);
    assert!(!has_block(&s3, "prod-bucket").await);

    let applied = h.run_with(&f, Request { approved_plan: asked.plan.clone(), ..prod() }).await.unwrap();
    assert_eq!(applied.outcome, Outcome::Remediated, "{}", applied.summary());
    assert!(has_block(&s3, "prod-bucket").await);
}

#[tokio::test]
async fn access_denied_is_a_ticket_naming_the_missing_permission() {
    let s3 = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403).set_body_string(
            "<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>r</RequestId></Error>",
        ))
        .mount(&s3)
        .await;
    let h = Harness::start_routed(LoopbackRouter::new().redirect("s3", s3.uri()), |_| {}).await;
    let report = h.run(&bucket_finding("locked-down").build()).await;
    assert_eq!(report.outcome, Outcome::Ticket, "{}", report.summary());
    assert!(report.reason.contains("lacks s3:GetBucketTagging"), "{}", report.reason);
    assert!(report.reason.contains("nothing had been changed"), "{}", report.reason);
}

#[tokio::test]
async fn throttling_is_a_throttled_error_the_state_machine_retries() {
    let s3 = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(503).set_body_string(
                "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
            ),
        )
        .mount(&s3)
        .await;
    let h = Harness::start_routed(LoopbackRouter::new().redirect("s3", s3.uri()), |_| {}).await;
    let err = h.run_with(&bucket_finding("busy").build(), Request::default()).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Throttled, "{err}");
    assert!(err.message.contains("S3.2") && err.message.contains("nothing had been changed"), "{err}");
}

#[tokio::test]
async fn configured_exemptions_suppress_before_any_session_is_opened() {
    let h = Harness::start_with(|s| {
        s.exempt_accounts = vec![RemediationExemption { scope: ACCOUNT.into(), control: Some("S3.2".into()) }];
    })
    .await;
    let s3 = bucket(&h, "exempt-account").await;
    let report = h.run(&bucket_finding("exempt-account").build()).await;
    assert_eq!(report.outcome, Outcome::Suppress);
    assert!(report.reason.contains("SECOPS_REMEDIATION_EXEMPT_ACCOUNTS"), "{}", report.reason);
    assert!(report.session_actions.is_empty(), "no session was opened");
    assert!(!has_block(&s3, "exempt-account").await);

    let h =
        Harness::start_with(|s| s.exempt_ous = vec![RemediationExemption { scope: "Sandbox".into(), control: None }])
            .await;
    let s3 = bucket(&h, "exempt-ou").await;
    let request = Request { organizational_unit: Some("sandbox".into()), ..Request::default() };
    let by_ou = h.run_with(&bucket_finding("exempt-ou").build(), request).await.unwrap();
    assert_eq!(by_ou.outcome, Outcome::Suppress, "{}", by_ou.summary());
    assert!(by_ou.reason.contains("SECOPS_REMEDIATION_EXEMPT_OUS"), "{}", by_ou.reason);
    assert!(!has_block(&s3, "exempt-ou").await);
}

#[tokio::test]
async fn plan_mode_changes_nothing_and_says_so() {
    let h = Harness::start_with(|s| s.mode = RemediationMode::Plan).await;
    let s3 = bucket(&h, "plan-only").await;
    let report = h.run(&bucket_finding("plan-only").build()).await;
    assert_eq!(report.outcome, Outcome::Planned);
    assert_eq!(report.plan.as_ref().unwrap().changes[0].action, "s3:PutBucketPublicAccessBlock");
    assert!(report.applied.is_empty());
    assert!(report.session_actions.iter().all(|a| secops_remediation::spec::is_read_action(a)));
    assert!(!has_block(&s3, "plan-only").await);
}

#[tokio::test]
async fn without_aws_the_run_is_a_ticket_that_says_what_it_would_change() {
    let runner = Runner::new(Arc::new(Catalogue::standard()), None, Default::default());
    let report = runner.run(&bucket_finding("anywhere").build(), Request::default()).await.unwrap();
    assert_eq!(report.outcome, Outcome::Ticket);
    assert!(report.reason.contains("no AWS access is configured"), "{}", report.reason);
    assert!(report.reason.contains("Block Public Access"), "{}", report.reason);
}

#[tokio::test]
async fn unknown_controls_and_bad_resources() {
    let runner = Runner::new(Arc::new(Catalogue::standard()), None, Default::default());
    let macie = finding("Macie.1", "AwsAccount", "AWS::::Account:123456789012").build();
    let unknown = runner.run(&macie, Request::default()).await.unwrap();
    assert_eq!(unknown.outcome, Outcome::Ticket);
    assert!(unknown.reason.contains("no auto-remediation for Macie.1"));

    let wrong_type = finding("S3.2", "AwsEc2Instance", "arn:aws:ec2:us-east-1:123456789012:instance/i-1").build();
    let err = runner.run(&wrong_type, Request::default()).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::InvalidInput);
    assert!(err.message.contains("AwsS3Bucket") && err.message.contains("AwsEc2Instance"), "{err}");

    let other_account = finding("S3.2", "AwsS3Bucket", "arn:aws:ec2:us-east-1:999999999999:instance/i-1").build();
    let err = runner.run(&other_account, Request::default()).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::InvalidInput);
    assert!(err.message.contains("999999999999"), "{err}");
}
