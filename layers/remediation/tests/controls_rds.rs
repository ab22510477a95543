//! RDS remediations against moto (RDS.6's IAM calls against wiremock): each creates a
//! non-compliant instance, cluster or snapshot, runs plan → apply → verify, reads the real state
//! back, re-runs for idempotency, and checks the exemptions and guards.

mod support;

use aws_sdk_rds::types::Tag;
use secops_remediation::Outcome;
use support::*;
use wiremock::matchers::{body_string_contains, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn rds(h: &Harness) -> aws_sdk_rds::Client {
    aws_sdk_rds::Client::new(&h.sdk)
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// A postgres instance in its least compliant shape: public, no backups, no deletion protection,
/// no minor upgrades, tags not copied, no monitoring, no log exports.
async fn instance(h: &Harness, id: &str, engine: &str, tags: Vec<Tag>) -> aws_sdk_rds::types::DbInstance {
    rds(h)
        .create_db_instance()
        .db_instance_identifier(id)
        .db_instance_class("db.t3.micro")
        .engine(engine)
        .master_username("admin")
        .master_user_password("not-a-real-password")
        .allocated_storage(20)
        .publicly_accessible(true)
        .backup_retention_period(0)
        .auto_minor_version_upgrade(false)
        .copy_tags_to_snapshot(false)
        .deletion_protection(false)
        .set_tags(Some(tags))
        .send()
        .await
        .expect("create instance");
    read_instance(h, id).await
}

async fn read_instance(h: &Harness, id: &str) -> aws_sdk_rds::types::DbInstance {
    let out = rds(h).describe_db_instances().db_instance_identifier(id).send().await.expect("describe instance");
    out.db_instances()[0].clone()
}

async fn cluster(h: &Harness, id: &str) -> aws_sdk_rds::types::DbCluster {
    rds(h)
        .create_db_cluster()
        .db_cluster_identifier(id)
        .engine("aurora-postgresql")
        .master_username("admin")
        .master_user_password("not-a-real-password")
        .deletion_protection(false)
        .send()
        .await
        .expect("create cluster");
    read_cluster(h, id).await
}

async fn read_cluster(h: &Harness, id: &str) -> aws_sdk_rds::types::DbCluster {
    let out = rds(h).describe_db_clusters().db_cluster_identifier(id).send().await.expect("describe cluster");
    out.db_clusters()[0].clone()
}

fn db_finding(control: &str, id: &str) -> FindingBuilder {
    finding(control, "AwsRdsDbInstance", &format!("arn:aws:rds:{REGION}:{ACCOUNT}:db:{id}"))
}

fn cluster_finding(control: &str, id: &str) -> FindingBuilder {
    finding(control, "AwsRdsDbCluster", &format!("arn:aws:rds:{REGION}:{ACCOUNT}:cluster:{id}"))
}

fn snapshot_finding(control: &str, id: &str) -> FindingBuilder {
    finding(control, "AwsRdsDbSnapshot", &format!("arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:{id}"))
}

fn cluster_snapshot_finding(control: &str, id: &str) -> FindingBuilder {
    finding(control, "AwsRdsDbClusterSnapshot", &format!("arn:aws:rds:{REGION}:{ACCOUNT}:cluster-snapshot:{id}"))
}

async fn db_snapshot(h: &Harness, db: &str, id: &str, tags: Vec<Tag>) {
    rds(h)
        .create_db_snapshot()
        .db_instance_identifier(db)
        .db_snapshot_identifier(id)
        .set_tags(Some(tags))
        .send()
        .await
        .expect("create snapshot");
}

async fn cluster_snapshot(h: &Harness, cluster: &str, id: &str, tags: Vec<Tag>) {
    rds(h)
        .create_db_cluster_snapshot()
        .db_cluster_identifier(cluster)
        .db_cluster_snapshot_identifier(id)
        .set_tags(Some(tags))
        .send()
        .await
        .expect("create cluster snapshot");
}

fn actions(report: &secops_remediation::Report) -> Vec<&str> {
    report.applied.iter().map(|c| c.action.as_str()).collect()
}

fn assert_outcome(report: &secops_remediation::Report, outcome: Outcome, reason: &str) {
    assert_eq!(report.outcome, outcome, "{}", report.summary());
    assert!(report.reason.contains(reason), "{:?} does not contain {reason:?}", report.reason);
}

// ---- RDS.1 -------------------------------------------------------------------------------------

async fn db_restore_values(h: &Harness, id: &str) -> Vec<String> {
    let out = rds(h).describe_db_snapshot_attributes().db_snapshot_identifier(id).send().await.unwrap();
    let attrs = out.db_snapshot_attributes_result().unwrap().db_snapshot_attributes();
    attrs.iter().find(|a| a.attribute_name() == Some("restore")).unwrap().attribute_values().to_vec()
}

#[tokio::test]
async fn rds_1_removes_the_public_share_and_keeps_named_accounts() {
    let h = Harness::start().await;
    instance(&h, "orders", "postgres", vec![]).await;
    db_snapshot(&h, "orders", "orders-snap", vec![]).await;
    rds(&h)
        .modify_db_snapshot_attribute()
        .db_snapshot_identifier("orders-snap")
        .attribute_name("restore")
        .values_to_add("all")
        .values_to_add("111122223333")
        .send()
        .await
        .unwrap();
    let report = h.remediates(&snapshot_finding("RDS.1", "orders-snap").build()).await;
    assert_eq!(actions(&report), ["rds:ModifyDBSnapshotAttribute"]);
    assert!(report.applied[0].why.contains("111122223333"), "{}", report.applied[0].why);
    assert_eq!(db_restore_values(&h, "orders-snap").await, ["111122223333"]);
}

#[tokio::test]
async fn rds_1_makes_a_public_cluster_snapshot_private() {
    let h = Harness::start().await;
    cluster(&h, "ledger").await;
    cluster_snapshot(&h, "ledger", "ledger-snap", vec![]).await;
    rds(&h)
        .modify_db_cluster_snapshot_attribute()
        .db_cluster_snapshot_identifier("ledger-snap")
        .attribute_name("restore")
        .values_to_add("all")
        .send()
        .await
        .unwrap();
    let report = h.remediates(&cluster_snapshot_finding("RDS.1", "ledger-snap").build()).await;
    assert_eq!(actions(&report), ["rds:ModifyDBClusterSnapshotAttribute"]);
    let out = rds(&h).describe_db_cluster_snapshot_attributes().db_cluster_snapshot_identifier("ledger-snap").send();
    let out = out.await.unwrap();
    let attrs = out.db_cluster_snapshot_attributes_result().unwrap().db_cluster_snapshot_attributes();
    let restore = attrs.iter().find(|a| a.attribute_name() == Some("restore")).unwrap();
    assert!(restore.attribute_values().is_empty(), "{:?}", restore.attribute_values());
}

#[tokio::test]
async fn rds_1_exemptions() {
    let h = Harness::start().await;
    instance(&h, "orders", "postgres", vec![]).await;
    // A live tag on the snapshot (read with DescribeDBSnapshots) exempts it.
    db_snapshot(&h, "orders", "public-demo", vec![tag("secops:rds:public-snapshot-intended", "true")]).await;
    db_snapshot(&h, "orders", "exempt-by-finding", vec![]).await;
    for id in ["public-demo", "exempt-by-finding"] {
        let add = rds(&h).modify_db_snapshot_attribute().db_snapshot_identifier(id).attribute_name("restore");
        add.values_to_add("all").send().await.unwrap();
    }
    let report = h.exempt(&snapshot_finding("RDS.1", "public-demo").build()).await;
    assert!(report.reason.contains("secops:rds:public-snapshot-intended"), "{}", report.reason);
    h.exempt(&snapshot_finding("RDS.1", "exempt-by-finding").tag("secops:exempt", "RDS.1").build()).await;
    assert_eq!(db_restore_values(&h, "public-demo").await, ["all"]);
    assert_eq!(db_restore_values(&h, "exempt-by-finding").await, ["all"]);
}

#[tokio::test]
async fn rds_1_missing_snapshot_is_suppressed() {
    let h = Harness::start().await;
    let report = h.run(&snapshot_finding("RDS.1", "deleted-snap").build()).await;
    assert_outcome(&report, Outcome::Suppress, "DB snapshot deleted-snap no longer exists");
}

// ---- RDS.2 -------------------------------------------------------------------------------------

#[tokio::test]
async fn rds_2_makes_the_instance_private_and_is_idempotent() {
    let h = Harness::start().await;
    assert_eq!(instance(&h, "orders", "postgres", vec![]).await.publicly_accessible(), Some(true));
    let report = h.remediates(&db_finding("RDS.2", "orders").build()).await;
    assert_eq!(actions(&report), ["rds:ModifyDBInstance"]);
    assert_eq!(report.applied[0].parameters["PubliclyAccessible"], false);
    assert_eq!(read_instance(&h, "orders").await.publicly_accessible(), Some(false));
}

#[tokio::test]
async fn rds_2_exemptions() {
    let h = Harness::start().await;
    instance(&h, "public-on-purpose", "postgres", vec![tag("secops:rds:public-access-intended", "true")]).await;
    let report = h.exempt(&db_finding("RDS.2", "public-on-purpose").build()).await;
    assert!(report.reason.contains("secops:rds:public-access-intended"), "{}", report.reason);
    instance(&h, "exempt-by-finding", "postgres", vec![]).await;
    h.exempt(&db_finding("RDS.2", "exempt-by-finding").tag("secops:exempt", "RDS.2").build()).await;
    assert_eq!(read_instance(&h, "public-on-purpose").await.publicly_accessible(), Some(true));
    assert_eq!(read_instance(&h, "exempt-by-finding").await.publicly_accessible(), Some(true));
}

#[tokio::test]
async fn rds_2_stopped_instance_is_reconsidered_later() {
    let h = Harness::start().await;
    instance(&h, "stopped-db", "postgres", vec![]).await;
    rds(&h).stop_db_instance().db_instance_identifier("stopped-db").send().await.unwrap();
    let report = h.run(&db_finding("RDS.2", "stopped-db").build()).await;
    assert_outcome(&report, Outcome::ReconsiderLater, "DB instance stopped-db is stopped, not available");
    assert_eq!(read_instance(&h, "stopped-db").await.publicly_accessible(), Some(true));
}

#[tokio::test]
async fn rds_2_missing_instance_is_suppressed() {
    let h = Harness::start().await;
    let report = h.run(&db_finding("RDS.2", "no-such-db").build()).await;
    assert_outcome(&report, Outcome::Suppress, "DB instance no-such-db no longer exists");
}

// ---- RDS.4 -------------------------------------------------------------------------------------

async fn read_snapshot(h: &Harness, id: &str) -> Option<aws_sdk_rds::types::DbSnapshot> {
    match rds(h).describe_db_snapshots().db_snapshot_identifier(id).send().await {
        Ok(out) => out.db_snapshots().first().cloned(),
        Err(e) => {
            assert_eq!(aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&e), Some("DBSnapshotNotFound"));
            None
        }
    }
}

#[tokio::test]
async fn rds_4_replaces_an_unencrypted_snapshot_with_an_encrypted_copy() {
    let h = Harness::start().await;
    instance(&h, "orders", "postgres", vec![]).await;
    db_snapshot(&h, "orders", "orders-snap", vec![tag("owner", "payments")]).await;
    let report = h.remediates(&snapshot_finding("RDS.4", "orders-snap").build()).await;
    assert_eq!(actions(&report), ["rds:CopyDBSnapshot", "rds:DeleteDBSnapshot"]);
    assert_eq!(report.applied[0].parameters["KmsKeyId"], "alias/aws/rds");
    assert!(read_snapshot(&h, "orders-snap").await.is_none(), "the unencrypted original is deleted");
    let copy = read_snapshot(&h, "orders-snap-encrypted").await.expect("the encrypted copy");
    assert_eq!((copy.encrypted(), copy.status()), (Some(true), Some("available")));
    assert_eq!(copy.tag_list(), [tag("owner", "payments")]);
}

#[tokio::test]
async fn rds_4_replaces_an_unencrypted_cluster_snapshot() {
    let h = Harness::start().await;
    cluster(&h, "ledger").await;
    cluster_snapshot(&h, "ledger", "ledger-snap", vec![tag("owner", "finance")]).await;
    let report = h.remediates(&cluster_snapshot_finding("RDS.4", "ledger-snap").build()).await;
    assert_eq!(actions(&report), ["rds:CopyDBClusterSnapshot", "rds:DeleteDBClusterSnapshot"]);
    let gone = rds(&h).describe_db_cluster_snapshots().db_cluster_snapshot_identifier("ledger-snap").send().await;
    let code = gone.as_ref().err().and_then(aws_smithy_types::error::metadata::ProvideErrorMetadata::code);
    assert_eq!(code, Some("DBClusterSnapshotNotFoundFault"), "{gone:?}");
    let out = rds(&h).describe_db_cluster_snapshots().db_cluster_snapshot_identifier("ledger-snap-encrypted");
    let out = out.send().await.unwrap();
    let copy = &out.db_cluster_snapshots()[0];
    assert_eq!(copy.storage_encrypted(), Some(true));
    assert_eq!(copy.tag_list(), [tag("owner", "finance")]);
}

#[tokio::test]
async fn rds_4_only_deletes_when_an_earlier_run_made_the_copy() {
    let h = Harness::start().await;
    instance(&h, "orders", "postgres", vec![]).await;
    db_snapshot(&h, "orders", "orders-snap", vec![]).await;
    rds(&h)
        .copy_db_snapshot()
        .source_db_snapshot_identifier("orders-snap")
        .target_db_snapshot_identifier("orders-snap-encrypted")
        .kms_key_id("alias/aws/rds")
        .send()
        .await
        .unwrap();
    let report = h.remediates(&snapshot_finding("RDS.4", "orders-snap").build()).await;
    assert_eq!(actions(&report), ["rds:DeleteDBSnapshot"]);
    assert!(read_snapshot(&h, "orders-snap").await.is_none());
    assert_eq!(read_snapshot(&h, "orders-snap-encrypted").await.unwrap().encrypted(), Some(true));
}

#[tokio::test]
async fn rds_4_unencrypted_snapshot_holding_the_copy_name_is_a_ticket() {
    let h = Harness::start().await;
    instance(&h, "orders", "postgres", vec![]).await;
    db_snapshot(&h, "orders", "orders-snap", vec![]).await;
    db_snapshot(&h, "orders", "orders-snap-encrypted", vec![]).await;
    let report = h.run(&snapshot_finding("RDS.4", "orders-snap").build()).await;
    assert_outcome(&report, Outcome::Ticket, "orders-snap-encrypted already exists and is not encrypted");
    assert_eq!(read_snapshot(&h, "orders-snap").await.unwrap().encrypted(), Some(false));
}

#[tokio::test]
async fn rds_4_automated_snapshot_is_a_ticket() {
    let h = Harness::start().await;
    // moto takes an automated snapshot of an instance that keeps backups.
    rds(&h)
        .create_db_instance()
        .db_instance_identifier("backed-up")
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        .master_username("admin")
        .master_user_password("not-a-real-password")
        .backup_retention_period(7)
        .send()
        .await
        .unwrap();
    let out = rds(&h).describe_db_snapshots().db_instance_identifier("backed-up").send().await.unwrap();
    let automated = out.db_snapshots().iter().find(|s| s.snapshot_type() == Some("automated")).expect("automated");
    let id = automated.db_snapshot_identifier().unwrap().to_owned();
    assert!(id.starts_with("rds:"), "{id}");
    let report = h.run(&snapshot_finding("RDS.4", &id).build()).await;
    assert_outcome(&report, Outcome::Ticket, "is an automated snapshot");
    assert!(read_snapshot(&h, &id).await.is_some());
}

#[tokio::test]
async fn rds_4_exemption() {
    let h = Harness::start().await;
    instance(&h, "orders", "postgres", vec![]).await;
    db_snapshot(&h, "orders", "orders-snap", vec![tag("secops:exempt", "RDS.4")]).await;
    h.exempt(&snapshot_finding("RDS.4", "orders-snap").build()).await;
    assert_eq!(read_snapshot(&h, "orders-snap").await.unwrap().encrypted(), Some(false));
    assert!(read_snapshot(&h, "orders-snap-encrypted").await.is_none());
}

// ---- RDS.6 (IAM through wiremock: moto has no AmazonRDSEnhancedMonitoringRole) ---------------------

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/rds-monitoring-role";
const POLICY: &str = "AmazonRDSEnhancedMonitoringRole";

fn iam_xml(action: &str, result: &str) -> ResponseTemplate {
    let body = format!(
        r#"<{action}Response xmlns="https://iam.amazonaws.com/doc/2010-05-08/">{result}<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></{action}Response>"#
    );
    ResponseTemplate::new(200).set_body_raw(body, "text/xml")
}

fn role_xml(trusted: &str) -> String {
    let trust = format!(
        "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22{trusted}%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D"
    );
    format!(
        "<Role><Path>/</Path><RoleName>rds-monitoring-role</RoleName><RoleId>AROAEXAMPLE</RoleId><Arn>{ROLE_ARN}</Arn>\
         <CreateDate>2026-01-01T00:00:00Z</CreateDate><AssumeRolePolicyDocument>{trust}</AssumeRolePolicyDocument></Role>"
    )
}

fn iam_call(action: &str) -> wiremock::MockBuilder {
    Mock::given(method("POST")).and(body_string_contains(format!("Action={action}&")))
}

async fn rds_6_harness(iam: &MockServer) -> Harness {
    Harness::start_routed(secops_aws::testing::LoopbackRouter::new().redirect("iam", iam.uri()), |_| {}).await
}

#[tokio::test]
async fn rds_6_creates_the_monitoring_role_and_turns_monitoring_on() {
    let iam = MockServer::start().await;
    let not_found = r#"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The role with name rds-monitoring-role cannot be found.</Message></Error><RequestId>req-1</RequestId></ErrorResponse>"#;
    iam_call("GetRole")
        .and(body_string_contains("RoleName=rds-monitoring-role"))
        .respond_with(ResponseTemplate::new(404).set_body_raw(not_found, "text/xml"))
        .expect(1)
        .mount(&iam)
        .await;
    iam_call("CreateRole")
        .and(body_string_contains("RoleName=rds-monitoring-role"))
        .and(body_string_contains("monitoring.rds.amazonaws.com"))
        .and(body_string_contains("sts%3AAssumeRole"))
        .respond_with(iam_xml(
            "CreateRole",
            &format!("<CreateRoleResult>{}</CreateRoleResult>", role_xml("monitoring.rds.amazonaws.com")),
        ))
        .expect(1)
        .mount(&iam)
        .await;
    iam_call("AttachRolePolicy")
        .and(body_string_contains("RoleName=rds-monitoring-role"))
        .and(body_string_contains(format!("PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2Fservice-role%2F{POLICY}")))
        .respond_with(iam_xml("AttachRolePolicy", ""))
        .expect(1)
        .mount(&iam)
        .await;
    let h = rds_6_harness(&iam).await;
    instance(&h, "orders", "postgres", vec![]).await;
    let report = h.remediates(&db_finding("RDS.6", "orders").build()).await;
    assert_eq!(actions(&report), ["iam:CreateRole", "iam:AttachRolePolicy", "rds:ModifyDBInstance"]);
    let db = read_instance(&h, "orders").await;
    assert_eq!((db.monitoring_interval(), db.monitoring_role_arn()), (Some(60), Some(ROLE_ARN)));
}

#[tokio::test]
async fn rds_6_reuses_the_existing_role() {
    let iam = MockServer::start().await;
    iam_call("GetRole")
        .respond_with(iam_xml(
            "GetRole",
            &format!("<GetRoleResult>{}</GetRoleResult>", role_xml("monitoring.rds.amazonaws.com")),
        ))
        .expect(1)
        .mount(&iam)
        .await;
    let attached = format!(
        "<ListAttachedRolePoliciesResult><AttachedPolicies><member><PolicyName>{POLICY}</PolicyName>\
         <PolicyArn>arn:aws:iam::aws:policy/service-role/{POLICY}</PolicyArn></member></AttachedPolicies>\
         <IsTruncated>false</IsTruncated></ListAttachedRolePoliciesResult>"
    );
    iam_call("ListAttachedRolePolicies")
        .and(body_string_contains("RoleName=rds-monitoring-role"))
        .respond_with(iam_xml("ListAttachedRolePolicies", &attached))
        .expect(1)
        .mount(&iam)
        .await;
    iam_call("CreateRole").respond_with(ResponseTemplate::new(500)).expect(0).mount(&iam).await;
    iam_call("AttachRolePolicy").respond_with(ResponseTemplate::new(500)).expect(0).mount(&iam).await;
    let h = rds_6_harness(&iam).await;
    instance(&h, "orders", "postgres", vec![]).await;
    let report = h.remediates(&db_finding("RDS.6", "orders").build()).await;
    assert_eq!(actions(&report), ["rds:ModifyDBInstance"]);
    let db = read_instance(&h, "orders").await;
    assert_eq!((db.monitoring_interval(), db.monitoring_role_arn()), (Some(60), Some(ROLE_ARN)));
}

#[tokio::test]
async fn rds_6_role_trusting_another_service_is_a_ticket() {
    let iam = MockServer::start().await;
    iam_call("GetRole")
        .respond_with(iam_xml("GetRole", &format!("<GetRoleResult>{}</GetRoleResult>", role_xml("ec2.amazonaws.com"))))
        .expect(1)
        .mount(&iam)
        .await;
    let h = rds_6_harness(&iam).await;
    instance(&h, "orders", "postgres", vec![]).await;
    let report = h.run(&db_finding("RDS.6", "orders").build()).await;
    assert_outcome(&report, Outcome::Ticket, "does not trust monitoring.rds.amazonaws.com");
    assert_eq!(read_instance(&h, "orders").await.monitoring_interval(), Some(0));
}

#[tokio::test]
async fn rds_6_exemption() {
    let iam = MockServer::start().await;
    iam_call("GetRole").respond_with(ResponseTemplate::new(500)).expect(0).mount(&iam).await;
    let h = rds_6_harness(&iam).await;
    instance(&h, "orders", "postgres", vec![tag("secops:exempt", "RDS.6")]).await;
    h.exempt(&db_finding("RDS.6", "orders").build()).await;
    assert_eq!(read_instance(&h, "orders").await.monitoring_interval(), Some(0));
}

// ---- RDS.7 -------------------------------------------------------------------------------------

#[tokio::test]
async fn rds_7_turns_on_cluster_deletion_protection_and_is_idempotent() {
    let h = Harness::start().await;
    assert_eq!(cluster(&h, "ledger").await.deletion_protection(), Some(false));
    let report = h.remediates(&cluster_finding("RDS.7", "ledger").build()).await;
    assert_eq!(actions(&report), ["rds:ModifyDBCluster"]);
    assert_eq!(read_cluster(&h, "ledger").await.deletion_protection(), Some(true));
}

#[tokio::test]
async fn rds_7_exemption_and_missing_cluster() {
    let h = Harness::start().await;
    cluster(&h, "ledger").await;
    h.exempt(&cluster_finding("RDS.7", "ledger").tag("secops:exempt", "RDS.7").build()).await;
    assert_eq!(read_cluster(&h, "ledger").await.deletion_protection(), Some(false));
    let report = h.run(&cluster_finding("RDS.7", "no-such-cluster").build()).await;
    assert_outcome(&report, Outcome::Suppress, "DB cluster no-such-cluster no longer exists");
}

// ---- RDS.8 -------------------------------------------------------------------------------------

#[tokio::test]
async fn rds_8_turns_on_deletion_protection_and_is_idempotent() {
    let h = Harness::start().await;
    instance(&h, "orders", "postgres", vec![]).await;
    h.remediates(&db_finding("RDS.8", "orders").build()).await;
    assert_eq!(read_instance(&h, "orders").await.deletion_protection(), Some(true));
}

#[tokio::test]
async fn rds_8_exemption() {
    let h = Harness::start().await;
    instance(&h, "orders", "postgres", vec![]).await;
    h.exempt(&db_finding("RDS.8", "orders").tag("secops:exempt", "all").build()).await;
    assert_eq!(read_instance(&h, "orders").await.deletion_protection(), Some(false));
}

#[tokio::test]
async fn rds_8_aurora_member_is_a_ticket_for_the_cluster() {
    let h = Harness::start().await;
    cluster(&h, "ledger").await;
    rds(&h)
        .create_db_instance()
        .db_instance_identifier("ledger-1")
        .db_instance_class("db.r5.large")
        .engine("aurora-postgresql")
        .db_cluster_identifier("ledger")
        .send()
        .await
        .unwrap();
    let report = h.run(&db_finding("RDS.8", "ledger-1").build()).await;
    assert_outcome(&report, Outcome::Ticket, "belongs to DB cluster ledger");
}

// ---- RDS.9 -------------------------------------------------------------------------------------

#[tokio::test]
async fn rds_9_enables_the_missing_log_types_and_keeps_the_others() {
    let h = Harness::start().await;
    instance(&h, "shop", "mysql", vec![]).await;
    let logs = aws_sdk_rds::types::CloudwatchLogsExportConfiguration::builder().enable_log_types("error").build();
    let modify = rds(&h).modify_db_instance().db_instance_identifier("shop").apply_immediately(true);
    modify.cloudwatch_logs_export_configuration(logs).send().await.unwrap();
    let report = h.remediates(&db_finding("RDS.9", "shop").build()).await;
    assert_eq!(
        report.applied[0].parameters["CloudwatchLogsExportConfiguration"]["EnableLogTypes"],
        serde_json::json!(["audit", "general", "slowquery"])
    );
    let mut enabled = read_instance(&h, "shop").await.enabled_cloudwatch_logs_exports().to_vec();
    enabled.sort();
    assert_eq!(enabled, ["audit", "error", "general", "slowquery"]);
}

#[tokio::test]
async fn rds_9_postgres_publishes_its_two_log_types() {
    let h = Harness::start().await;
    instance(&h, "orders", "postgres", vec![]).await;
    h.remediates(&db_finding("RDS.9", "orders").build()).await;
    assert_eq!(read_instance(&h, "orders").await.enabled_cloudwatch_logs_exports(), ["postgresql", "upgrade"]);
}

#[tokio::test]
async fn rds_9_engine_without_log_types_is_a_ticket() {
    let h = Harness::start().await;
    cluster(&h, "ledger").await;
    rds(&h)
        .create_db_instance()
        .db_instance_identifier("ledger-1")
        .db_instance_class("db.r5.large")
        .engine("aurora-postgresql")
        .db_cluster_identifier("ledger")
        .send()
        .await
        .unwrap();
    let report = h.run(&db_finding("RDS.9", "ledger-1").build()).await;
    assert_outcome(
        &report,
        Outcome::Ticket,
        "engine \"aurora-postgresql\", for which the catalogue knows no log types",
    );
}

#[tokio::test]
async fn rds_9_exemption() {
    let h = Harness::start().await;
    instance(&h, "orders", "postgres", vec![]).await;
    h.exempt(&db_finding("RDS.9", "orders").tag("secops:exempt", "RDS.9").build()).await;
    assert!(read_instance(&h, "orders").await.enabled_cloudwatch_logs_exports().is_empty());
}

// ---- RDS.11 ------------------------------------------------------------------------------------

#[tokio::test]
async fn rds_11_keeps_backups_for_seven_days_and_is_idempotent() {
    let h = Harness::start().await;
    instance(&h, "orders", "postgres", vec![]).await;
    h.remediates(&db_finding("RDS.11", "orders").build()).await;
    assert_eq!(read_instance(&h, "orders").await.backup_retention_period(), Some(7));
}

#[tokio::test]
async fn rds_11_keeps_a_longer_retention() {
    let h = Harness::start().await;
    instance(&h, "orders", "postgres", vec![]).await;
    let modify = rds(&h).modify_db_instance().db_instance_identifier("orders").apply_immediately(true);
    modify.backup_retention_period(14).send().await.unwrap();
    let report = h.run(&db_finding("RDS.11", "orders").build()).await;
    assert_outcome(&report, Outcome::AlreadyCompliant, "keeps automated backups for 14 days");
    assert_eq!(read_instance(&h, "orders").await.backup_retention_period(), Some(14));
}

#[tokio::test]
async fn rds_11_exemption() {
    let h = Harness::start().await;
    instance(&h, "orders", "postgres", vec![tag("secops:exempt", "RDS.11")]).await;
    h.exempt(&db_finding("RDS.11", "orders").build()).await;
    assert_eq!(read_instance(&h, "orders").await.backup_retention_period(), Some(0));
}

// ---- RDS.13 ------------------------------------------------------------------------------------

#[tokio::test]
async fn rds_13_turns_on_minor_version_upgrades_and_is_idempotent() {
    let h = Harness::start().await;
    instance(&h, "orders", "postgres", vec![]).await;
    h.remediates(&db_finding("RDS.13", "orders").build()).await;
    assert_eq!(read_instance(&h, "orders").await.auto_minor_version_upgrade(), Some(true));
}

#[tokio::test]
async fn rds_13_exemption() {
    let h = Harness::start().await;
    instance(&h, "orders", "postgres", vec![]).await;
    h.exempt(&db_finding("RDS.13", "orders").tag("secops:exempt", "RDS.13").build()).await;
    assert_eq!(read_instance(&h, "orders").await.auto_minor_version_upgrade(), Some(false));
}

// ---- RDS.17 ------------------------------------------------------------------------------------

#[tokio::test]
async fn rds_17_copies_tags_to_snapshots_and_is_idempotent() {
    let h = Harness::start().await;
    instance(&h, "orders", "postgres", vec![]).await;
    h.remediates(&db_finding("RDS.17", "orders").build()).await;
    assert_eq!(read_instance(&h, "orders").await.copy_tags_to_snapshot(), Some(true));
}

#[tokio::test]
async fn rds_17_exemption() {
    let h = Harness::start().await;
    instance(&h, "orders", "postgres", vec![tag("secops:exempt", "RDS.17")]).await;
    h.exempt(&db_finding("RDS.17", "orders").build()).await;
    assert_eq!(read_instance(&h, "orders").await.copy_tags_to_snapshot(), Some(false));
}
