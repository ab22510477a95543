//! IAM, KMS and DynamoDB remediations against moto: each creates a non-compliant user, account
//! setting, key or table, runs plan → apply → verify, reads the real state back, re-runs for
//! idempotency, and checks the exemptions and guards.

mod support;

use aws_sdk_iam::types::StatusType;
use secops_remediation::Outcome;
use support::*;

fn iam(h: &Harness) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&h.sdk)
}

fn kms(h: &Harness) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&h.sdk)
}

fn dynamodb(h: &Harness) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&h.sdk)
}

fn assert_outcome(report: &secops_remediation::Report, outcome: Outcome, reason: &str) {
    assert_eq!(report.outcome, outcome, "{}", report.summary());
    assert!(report.reason.contains(reason), "{:?} does not contain {reason:?}", report.reason);
}

fn user_finding(control: &str, path: &str, name: &str) -> FindingBuilder {
    finding(control, "AwsIamUser", &format!("arn:aws:iam::{ACCOUNT}:user{path}{name}"))
}

/// A user (under `path`) with `keys` access keys; returns the key ids.
async fn user(h: &Harness, path: &str, name: &str, keys: usize) -> Vec<String> {
    iam(h).create_user().user_name(name).path(path).send().await.expect("create user");
    let mut ids = Vec::new();
    for _ in 0..keys {
        let out = iam(h).create_access_key().user_name(name).send().await.expect("create key");
        ids.push(out.access_key().unwrap().access_key_id().to_owned());
    }
    ids
}

async fn key_statuses(h: &Harness, name: &str) -> Vec<(String, StatusType)> {
    let out = iam(h).list_access_keys().user_name(name).send().await.unwrap();
    let mut keys: Vec<(String, StatusType)> = out
        .access_key_metadata()
        .iter()
        .map(|k| (k.access_key_id().unwrap().to_owned(), k.status().unwrap().clone()))
        .collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    keys
}

fn all(ids: &[String], status: StatusType) -> Vec<(String, StatusType)> {
    let mut keys: Vec<(String, StatusType)> = ids.iter().map(|id| (id.clone(), status.clone())).collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    keys
}

// ---- IAM.3 -------------------------------------------------------------------------------------

#[tokio::test]
async fn iam_3_deactivates_keys_older_than_90_days_and_is_idempotent() {
    let h = Harness::start().await.days_later(91);
    let keys = user(&h, "/team/ops/", "deploy-bot", 2).await;
    let report = h.remediates(&user_finding("IAM.3", "/team/ops/", "deploy-bot").build()).await;
    assert_eq!(report.applied.len(), 2);
    assert!(report.applied.iter().all(|c| c.action == "iam:UpdateAccessKey" && c.parameters["Status"] == "Inactive"));
    // Deactivated, never deleted.
    assert_eq!(key_statuses(&h, "deploy-bot").await, all(&keys, StatusType::Inactive));
}

#[tokio::test]
async fn iam_3_young_key_is_untouched() {
    let h = Harness::start().await.days_later(89);
    let keys = user(&h, "/", "fresh", 1).await;
    let report = h.run(&user_finding("IAM.3", "/", "fresh").build()).await;
    assert_outcome(&report, Outcome::AlreadyCompliant, "no active access key older than 90 days (1 active)");
    assert_eq!(key_statuses(&h, "fresh").await, all(&keys, StatusType::Active));
}

#[tokio::test]
async fn iam_3_exemptions() {
    let h = Harness::start().await.days_later(91);
    let keys = user(&h, "/", "legacy", 1).await;
    let tag = aws_sdk_iam::types::Tag::builder().key("secops:exempt").value("IAM.3").build().unwrap();
    iam(&h).tag_user().user_name("legacy").tags(tag).send().await.unwrap();
    // The live tag (read with ListUserTags) exempts the user.
    h.exempt(&user_finding("IAM.3", "/", "legacy").build()).await;
    assert_eq!(key_statuses(&h, "legacy").await, all(&keys, StatusType::Active));
}

#[tokio::test]
async fn iam_3_missing_user_is_suppressed() {
    let h = Harness::start().await;
    let report = h.run(&user_finding("IAM.3", "/", "left-the-company").build()).await;
    assert_outcome(&report, Outcome::Suppress, "IAM user left-the-company no longer exists");
}

// ---- IAM.7 -------------------------------------------------------------------------------------

#[tokio::test]
async fn iam_7_sets_a_strong_password_policy_and_is_idempotent() {
    let h = Harness::start().await;
    h.remediates(&account_finding("IAM.7").build()).await;
    let out = iam(&h).get_account_password_policy().send().await.unwrap();
    let p = out.password_policy().unwrap();
    assert_eq!(p.minimum_password_length(), Some(14));
    assert!(p.require_uppercase_characters() && p.require_lowercase_characters());
    assert!(p.require_numbers() && p.require_symbols() && p.allow_users_to_change_password());
    assert_eq!((p.max_password_age(), p.password_reuse_prevention()), (Some(90), Some(24)));
}

#[tokio::test]
async fn iam_7_keeps_stricter_values() {
    let h = Harness::start().await;
    iam(&h)
        .update_account_password_policy()
        .minimum_password_length(20)
        .max_password_age(30)
        .hard_expiry(true)
        .require_numbers(true)
        .send()
        .await
        .unwrap();
    h.remediates(&account_finding("IAM.7").build()).await;
    let out = iam(&h).get_account_password_policy().send().await.unwrap();
    let p = out.password_policy().unwrap();
    assert_eq!((p.minimum_password_length(), p.max_password_age(), p.hard_expiry()), (Some(20), Some(30), Some(true)));
    assert_eq!(p.password_reuse_prevention(), Some(24));
    assert!(p.require_symbols() && p.require_uppercase_characters() && p.allow_users_to_change_password());
}

#[tokio::test]
async fn iam_7_account_exemption() {
    let h = Harness::start_with(|s| {
        s.exempt_accounts =
            vec![secops_core::RemediationExemption { scope: ACCOUNT.into(), control: Some("IAM.7".into()) }]
    })
    .await;
    h.exempt(&account_finding("IAM.7").build()).await;
    let none = iam(&h).get_account_password_policy().send().await;
    let code = none.as_ref().err().and_then(aws_smithy_types::error::metadata::ProvideErrorMetadata::code);
    assert_eq!(code, Some("NoSuchEntity"), "no policy was created: {none:?}");
}

// ---- IAM.8 -------------------------------------------------------------------------------------

async fn login_profile(h: &Harness, name: &str) -> bool {
    iam(h).get_login_profile().user_name(name).send().await.is_ok()
}

async fn user_with_password(h: &Harness, name: &str) -> Vec<String> {
    let keys = user(h, "/", name, 1).await;
    iam(h).create_login_profile().user_name(name).password("Not-a-real-pa55word!").send().await.unwrap();
    keys
}

#[tokio::test]
async fn iam_8_removes_credentials_unused_for_90_days_and_keeps_the_user() {
    let h = Harness::start().await.days_later(91);
    let keys = user_with_password(&h, "dormant").await;
    let report = h.remediates(&user_finding("IAM.8", "/", "dormant").build()).await;
    let actions: Vec<&str> = report.applied.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(actions, ["iam:UpdateAccessKey", "iam:DeleteLoginProfile"]);
    assert_eq!(key_statuses(&h, "dormant").await, all(&keys, StatusType::Inactive));
    assert!(!login_profile(&h, "dormant").await, "the console password is deleted");
    iam(&h).get_user().user_name("dormant").send().await.expect("the user itself is kept");
}

#[tokio::test]
async fn iam_8_recent_credentials_are_compliant() {
    let h = Harness::start().await.days_later(0);
    let keys = user_with_password(&h, "active").await;
    let report = h.run(&user_finding("IAM.8", "/", "active").build()).await;
    assert_outcome(&report, Outcome::AlreadyCompliant, "no credential unused for 90 days");
    assert_eq!(key_statuses(&h, "active").await, all(&keys, StatusType::Active));
    assert!(login_profile(&h, "active").await);
}

#[tokio::test]
async fn iam_8_break_glass_user_is_exempt() {
    let h = Harness::start().await.days_later(91);
    let keys = user_with_password(&h, "break-glass").await;
    let tag = aws_sdk_iam::types::Tag::builder().key("secops:iam:break-glass-intended").value("true").build().unwrap();
    iam(&h).tag_user().user_name("break-glass").tags(tag).send().await.unwrap();
    let report = h.exempt(&user_finding("IAM.8", "/", "break-glass").build()).await;
    assert!(report.reason.contains("secops:iam:break-glass-intended"), "{}", report.reason);
    assert_eq!(key_statuses(&h, "break-glass").await, all(&keys, StatusType::Active));
    assert!(login_profile(&h, "break-glass").await);
}

// ---- KMS.4 -------------------------------------------------------------------------------------

fn key_finding(arn: &str) -> FindingBuilder {
    finding("KMS.4", "AwsKmsKey", arn)
}

async fn key(
    h: &Harness,
    build: impl FnOnce(
        aws_sdk_kms::operation::create_key::builders::CreateKeyFluentBuilder,
    ) -> aws_sdk_kms::operation::create_key::builders::CreateKeyFluentBuilder,
) -> (String, String) {
    let out = build(kms(h).create_key()).send().await.expect("create key");
    let meta = out.key_metadata().unwrap();
    (meta.key_id().to_owned(), meta.arn().unwrap().to_owned())
}

async fn rotation(h: &Harness, id: &str) -> bool {
    kms(h).get_key_rotation_status().key_id(id).send().await.unwrap().key_rotation_enabled()
}

#[tokio::test]
async fn kms_4_enables_rotation_and_is_idempotent() {
    let h = Harness::start().await;
    let (id, arn) = key(&h, |b| b).await;
    let report = h.remediates(&key_finding(&arn).build()).await;
    assert_eq!(report.applied[0].action, "kms:EnableKeyRotation");
    assert!(rotation(&h, &id).await);
}

#[tokio::test]
async fn kms_4_exemption() {
    let h = Harness::start().await;
    let (id, arn) = key(&h, |b| {
        b.tags(aws_sdk_kms::types::Tag::builder().tag_key("secops:exempt").tag_value("KMS.4").build().unwrap())
    })
    .await;
    // The live tag (read with ListResourceTags) exempts the key.
    h.exempt(&key_finding(&arn).build()).await;
    assert!(!rotation(&h, &id).await);
}

#[tokio::test]
async fn kms_4_keys_that_cannot_rotate_are_suppressed() {
    use aws_sdk_kms::types::{KeySpec, KeyUsageType, OriginType};
    let h = Harness::start().await;
    let (_, rsa) = key(&h, |b| b.key_spec(KeySpec::Rsa2048).key_usage(KeyUsageType::SignVerify)).await;
    let (_, hmac) = key(&h, |b| b.key_spec(KeySpec::Hmac256).key_usage(KeyUsageType::GenerateVerifyMac)).await;
    let (_, imported) = key(&h, |b| b.origin(OriginType::External)).await;
    for (arn, reason) in [(&rsa, "key spec RSA_2048"), (&hmac, "key spec HMAC_256"), (&imported, "origin EXTERNAL")] {
        let report = h.run(&key_finding(arn).build()).await;
        assert_outcome(&report, Outcome::Suppress, reason);
        assert!(report.reason.contains("not supported"), "{}", report.reason);
    }
}

#[tokio::test]
async fn kms_4_disabled_and_deleted_keys_are_suppressed() {
    let h = Harness::start().await;
    let (disabled, disabled_arn) = key(&h, |b| b).await;
    kms(&h).disable_key().key_id(&disabled).send().await.unwrap();
    let (pending, pending_arn) = key(&h, |b| b).await;
    kms(&h).schedule_key_deletion().key_id(&pending).pending_window_in_days(7).send().await.unwrap();
    let report = h.run(&key_finding(&disabled_arn).build()).await;
    assert_outcome(&report, Outcome::Suppress, "is Disabled");
    let report = h.run(&key_finding(&pending_arn).build()).await;
    assert_outcome(&report, Outcome::Suppress, "is PendingDeletion");
    assert!(!rotation(&h, &disabled).await);
}

// ---- DynamoDB.2 --------------------------------------------------------------------------------

async fn table(h: &Harness, name: &str, tags: Vec<aws_sdk_dynamodb::types::Tag>) -> String {
    use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
    let out = dynamodb(h)
        .create_table()
        .table_name(name)
        .key_schema(KeySchemaElement::builder().attribute_name("pk").key_type(KeyType::Hash).build().unwrap())
        .attribute_definitions(
            AttributeDefinition::builder().attribute_name("pk").attribute_type(ScalarAttributeType::S).build().unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .set_tags(Some(tags))
        .send()
        .await
        .expect("create table");
    out.table_description().unwrap().table_arn().unwrap().to_owned()
}

async fn pitr(h: &Harness, name: &str) -> aws_sdk_dynamodb::types::PointInTimeRecoveryStatus {
    let out = dynamodb(h).describe_continuous_backups().table_name(name).send().await.unwrap();
    let d = out.continuous_backups_description().unwrap().point_in_time_recovery_description().unwrap();
    d.point_in_time_recovery_status().unwrap().clone()
}

#[tokio::test]
async fn dynamodb_2_enables_point_in_time_recovery_and_is_idempotent() {
    use aws_sdk_dynamodb::types::PointInTimeRecoveryStatus;
    let h = Harness::start().await;
    let arn = table(&h, "orders", vec![]).await;
    assert_eq!(pitr(&h, "orders").await, PointInTimeRecoveryStatus::Disabled);
    let report = h.remediates(&finding("DynamoDB.2", "AwsDynamoDbTable", &arn).build()).await;
    assert_eq!(report.applied[0].action, "dynamodb:UpdateContinuousBackups");
    assert_eq!(pitr(&h, "orders").await, PointInTimeRecoveryStatus::Enabled);
}

#[tokio::test]
async fn dynamodb_2_exemptions() {
    use aws_sdk_dynamodb::types::{PointInTimeRecoveryStatus, Tag};
    let h = Harness::start().await;
    let tag = Tag::builder().key("secops:dynamodb:no-pitr-intended").value("scratch data").build().unwrap();
    let arn = table(&h, "scratch", vec![tag]).await;
    let report = h.exempt(&finding("DynamoDB.2", "AwsDynamoDbTable", &arn).build()).await;
    assert!(report.reason.contains("secops:dynamodb:no-pitr-intended"), "{}", report.reason);
    let arn = table(&h, "exempt-by-finding", vec![]).await;
    h.exempt(&finding("DynamoDB.2", "AwsDynamoDbTable", &arn).tag("secops:exempt", "DynamoDB.2").build()).await;
    assert_eq!(pitr(&h, "scratch").await, PointInTimeRecoveryStatus::Disabled);
    assert_eq!(pitr(&h, "exempt-by-finding").await, PointInTimeRecoveryStatus::Disabled);
}

#[tokio::test]
async fn dynamodb_2_missing_table_is_suppressed() {
    let h = Harness::start().await;
    let arn = format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/dropped");
    let report = h.run(&finding("DynamoDB.2", "AwsDynamoDbTable", &arn).build()).await;
    assert_outcome(&report, Outcome::Suppress, "DynamoDB table dropped no longer exists");
}
