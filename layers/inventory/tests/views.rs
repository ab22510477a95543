//! Posture checks and the canonical views on a real PostgreSQL, each with a resource that must
//! appear and one that must not.

mod support;

use secops_inventory::{collect_from_dir, query, reconcile::reconcile};
use secops_store::testing::TestDb;
use serde_json::{json, Value};
use support::*;

const G: &str = "global";

fn bucket_files(f: &Folder) {
    let listed: Vec<Value> = ["public-policy", "public-acl", "locked-down"]
        .iter()
        .map(|n| json!({"Name": n, "CreationDate": "2026-01-01T00:00:00Z", "BucketRegion": REGION}))
        .collect();
    f.aws(ACCOUNT_A, G, "s3.list-buckets", &json!({ "Buckets": listed }));
    let per =
        |file: &str, bucket: &str, body: Value| f.write(&format!("aws/{ACCOUNT_A}/{G}/{file}/{bucket}.json"), &body);
    per("s3.get-bucket-policy-status", "public-policy", json!({"PolicyStatus": {"IsPublic": true}}));
    per(
        "s3.get-bucket-acl",
        "public-acl",
        json!({"Owner": {"ID": "o"}, "Grants": [
        {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"},
        {"Grantee": {"Type": "CanonicalUser", "ID": "o"}, "Permission": "FULL_CONTROL"}]}),
    );
    let all_on = json!({"PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true}});
    per("s3.get-public-access-block", "locked-down", all_on.clone());
    per(
        "s3.get-bucket-encryption",
        "locked-down",
        json!({"ServerSideEncryptionConfiguration": {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/s3"}, "BucketKeyEnabled": true}]}}),
    );
    per("s3.get-bucket-versioning", "locked-down", json!({"Status": "Enabled"}));
    per("s3.get-bucket-versioning", "public-policy", json!({"Status": "Suspended"}));
    per(
        "s3.get-bucket-logging",
        "locked-down",
        json!({"LoggingEnabled": {"TargetBucket": "logs", "TargetPrefix": "locked-down/"}}),
    );
    // Account B blocks public access account-wide: its public policy is restricted.
    f.aws(ACCOUNT_B, G, "s3.list-buckets", &json!({"Buckets": [{"Name": "account-blocked", "CreationDate": "2026-01-01T00:00:00Z", "BucketRegion": REGION}]}));
    f.aws(ACCOUNT_B, G, "s3control.get-public-access-block", &all_on);
    f.write(
        &format!("aws/{ACCOUNT_B}/{G}/s3.get-bucket-policy-status/account-blocked.json"),
        &json!({"PolicyStatus": {"IsPublic": true}}),
    );
}

fn rds_files(f: &Folder) {
    f.aws(ACCOUNT_A, REGION, "rds.describe-db-instances", &json!({"DBInstances": [
        {"DBInstanceIdentifier": "orders", "Engine": "postgres", "StorageEncrypted": false, "PubliclyAccessible": true, "BackupRetentionPeriod": 0, "MultiAZ": false, "DeletionProtection": false, "DBSubnetGroup": {"VpcId": "vpc-a"}},
        {"DBInstanceIdentifier": "billing", "Engine": "postgres", "StorageEncrypted": true, "PubliclyAccessible": false, "BackupRetentionPeriod": 3, "MultiAZ": true, "DeletionProtection": true},
        {"DBInstanceIdentifier": "ledger", "Engine": "postgres", "StorageEncrypted": true, "PubliclyAccessible": false, "BackupRetentionPeriod": 14, "MultiAZ": true, "DeletionProtection": true}]}));
    f.aws(ACCOUNT_A, REGION, "rds.describe-db-snapshots", &json!({"DBSnapshots": [
        {"DBSnapshotIdentifier": "orders-manual", "DBInstanceIdentifier": "orders", "SnapshotType": "manual", "Encrypted": true}]}));
    f.write(&format!("aws/{ACCOUNT_A}/{REGION}/rds.describe-db-snapshot-attributes/orders-manual.json"), &json!({"DBSnapshotAttributesResult":
        {"DBSnapshotIdentifier": "orders-manual", "DBSnapshotAttributes": [{"AttributeName": "restore", "AttributeValues": ["all"]}]}}));
}

fn network_files(f: &Folder) {
    f.aws(
        ACCOUNT_A,
        REGION,
        "ec2.describe-instances",
        &describe_instances(vec![
            instance(
                "i-00000000000000a1",
                "running",
                "10.0.0.11",
                "vpc-a",
                "2026-11-01T00:00:00Z",
                &[("Environment", "production"), ("Role", "web")],
            ),
            instance(
                "i-00000000000000a2",
                "running",
                "10.0.0.12",
                "vpc-a",
                "2026-11-01T00:00:00Z",
                &[("Environment", "staging"), ("Role", "web")],
            ),
            instance(
                "i-00000000000000a3",
                "terminated",
                "10.0.0.13",
                "vpc-a",
                "2026-11-01T00:00:00Z",
                &[("Environment", "prod")],
            ),
        ]),
    );
    let rule = |id: &str, group: &str, egress: bool, port: i64, cidr: &str| json!({"SecurityGroupRuleId": id, "GroupId": group, "GroupOwnerId": ACCOUNT_A, "IsEgress": egress, "IpProtocol": "tcp", "FromPort": port, "ToPort": port, "CidrIpv4": cidr});
    f.aws(
        ACCOUNT_A,
        REGION,
        "ec2.describe-security-group-rules",
        &json!({"SecurityGroupRules": [
        rule("sgr-1", "sg-i-00000000000000a1", false, 22, "0.0.0.0/0"),
        rule("sgr-2", "sg-i-00000000000000a1", true, 443, "0.0.0.0/0"),
        rule("sgr-3", "sg-i-00000000000000a1", false, 5432, "10.0.0.0/8"),
        rule("sgr-4", "sg-i-00000000000000a2", false, 22, "0.0.0.0/0"),
        rule("sgr-5", "sg-i-00000000000000a3", false, 3389, "0.0.0.0/0")]}),
    );
    f.aws(ACCOUNT_A, REGION, "guardduty.get-findings", &json!({"Findings": [
        {"Id": "gd-live", "Type": "CryptoCurrency:EC2/BitcoinTool.B!DNS", "Title": "Bitcoin", "Severity": 8.0, "Resource": {"ResourceType": "Instance", "InstanceDetails": {"InstanceId": "i-00000000000000a1"}}, "Service": {"Archived": false, "Count": 3}, "UpdatedAt": "2026-11-20T00:00:00Z"},
        {"Id": "gd-archived", "Type": "Recon:EC2/PortProbeUnprotectedPort", "Title": "Probe", "Severity": 2.0, "Resource": {"ResourceType": "Instance", "InstanceDetails": {"InstanceId": "i-00000000000000a1"}}, "Service": {"Archived": true}},
        {"Id": "gd-dead", "Type": "Backdoor:EC2/C&CActivity.B", "Title": "C2", "Severity": 8.0, "Resource": {"ResourceType": "Instance", "InstanceDetails": {"InstanceId": "i-00000000000000a3"}}, "Service": {"Archived": false}}]}));
    f.write(
        "falcon/falcon.devices.json",
        &falcon_page(vec![
            falcon_host(
                "dev-a1",
                Some("i-00000000000000a1"),
                Some("10.0.0.11"),
                Some(ACCOUNT_A),
                "2026-11-20T00:00:00Z",
            ),
            falcon_host(
                "dev-ghost",
                Some("i-0000000000000dea"),
                Some("10.0.0.99"),
                Some(ACCOUNT_A),
                "2026-06-20T00:00:00Z",
            ),
        ]),
    );
    f.write("falcon/falcon.alerts.json", &json!({"resources": [
        {"composite_id": "c:live", "device": {"device_id": "dev-a1"}, "severity": 90, "status": "new", "display_name": "Credential dumping", "tactic": "Credential Access", "technique": "OS Credential Dumping", "created_timestamp": "2026-11-20T01:00:00Z"},
        {"composite_id": "c:ghost", "device": {"device_id": "dev-ghost"}, "severity": 90, "status": "new", "display_name": "Old", "created_timestamp": "2026-06-20T01:00:00Z"},
        {"composite_id": "c:closed", "device": {"device_id": "dev-a1"}, "severity": 50, "status": "closed", "display_name": "Done", "created_timestamp": "2026-11-19T01:00:00Z"}]}));
}

async fn estate() -> TestDb {
    let f = Folder::new();
    bucket_files(&f);
    rds_files(&f);
    network_files(&f);
    let db = TestDb::new().await;
    let summary = collect_from_dir(&db.pool, f.path(), 3).await.unwrap();
    assert_eq!(summary.status, "complete", "{summary:?}");
    reconcile(&db.pool, None).await.unwrap();
    db
}

fn by(rows: &query::Rows, key: &str) -> std::collections::BTreeMap<String, serde_json::Map<String, Value>> {
    rows.objects().into_iter().map(|o| (o[key].as_str().unwrap_or_default().to_owned(), o)).collect()
}

#[tokio::test]
async fn s3_posture_names_each_failed_check_with_its_reason() {
    let db = estate().await;
    let exposure = by(&query::view(&db.pool, "s3_exposure", None).await.unwrap(), "bucket");
    assert_eq!(exposure["public-policy"]["public"], true);
    assert!(exposure["public-policy"]["reasons"].as_str().unwrap().contains("the bucket policy grants public access"));
    assert_eq!(exposure["public-acl"]["public"], true);
    assert!(exposure["public-acl"]["reasons"].as_str().unwrap().contains("the ACL grants READ to everyone"));
    assert!(!exposure.contains_key("locked-down"));
    assert!(!exposure.contains_key("account-blocked"), "the account-level block restricts its public policy");
    let posture = by(&query::view(&db.pool, "s3_posture", None).await.unwrap(), "bucket");
    assert_eq!(posture["locked-down"]["compliant"], true);
    assert_eq!(
        posture["public-policy"]["failed_checks"],
        json!(["block_public_access", "encryption", "logging", "public_access", "versioning"])
    );
    assert!(posture["public-policy"]["reasons"].as_str().unwrap().contains("versioning is Suspended"));
    assert_eq!(posture["account-blocked"]["failed_checks"], json!(["encryption", "logging", "versioning"]));
}

#[tokio::test]
async fn rds_posture_flags_instances_and_public_snapshots() {
    let db = estate().await;
    let rows = by(&query::view(&db.pool, "rds_posture", None).await.unwrap(), "resource_id");
    assert_eq!(
        rows["orders"]["failed_checks"],
        json!(["backups", "deletion_protection", "encryption", "multi_az", "public_access"])
    );
    assert!(rows["orders"]["reasons"].as_str().unwrap().contains("automated backups are off"));
    assert_eq!(rows["billing"]["failed_checks"], json!(["backups"]));
    assert!(rows["billing"]["reasons"].as_str().unwrap().contains("3 days (fewer than 7)"));
    assert!(!rows.contains_key("ledger"));
    assert_eq!(rows["orders-manual"]["failed_checks"], json!(["public_restore"]));
}

#[tokio::test]
async fn open_ingress_on_production_is_inbound_internet_on_live_prod_instances_only() {
    let db = estate().await;
    let rows = query::view(&db.pool, "open_ingress_production", None).await.unwrap();
    let found: Vec<(String, String, String)> = rows
        .objects()
        .iter()
        .map(|o| {
            (
                o["instance_id"].as_str().unwrap().into(),
                o["security_group_rule_id"].as_str().unwrap().into(),
                o["source"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(found, vec![("i-00000000000000a1".into(), "sgr-1".into(), "0.0.0.0/0".into())]);
}

#[tokio::test]
async fn active_threats_are_open_findings_and_alerts_on_live_hosts() {
    let db = estate().await;
    let rows = query::view(&db.pool, "active_threats", None).await.unwrap();
    let mut ids: Vec<String> = rows.objects().iter().map(|o| o["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    assert_eq!(ids, ["c:live", "gd-live"]);
    let threats = by(&rows, "id");
    assert_eq!(threats["gd-live"]["severity"], "HIGH");
    assert_eq!(threats["c:live"]["instance_id"], "i-00000000000000a1");
    assert_eq!(threats["c:live"]["threat"], "Credential Access / OS Credential Dumping");
}

#[tokio::test]
async fn sensor_versions_break_down_by_role_and_by_any_tag_and_every_view_answers() {
    let db = estate().await;
    let by_role = query::view(&db.pool, "sensor_versions_by_role", None).await.unwrap();
    assert_eq!(
        by_role.objects(),
        vec![serde_json::from_value::<serde_json::Map<String, Value>>(
            json!({"role": "web", "agent_version": "7.18.19106.0", "hosts": 1})
        )
        .unwrap()]
    );
    let by_env = query::view(&db.pool, "sensor_versions", Some("Environment")).await.unwrap();
    assert_eq!(by_env.rows, vec![vec![json!("production"), json!("7.18.19106.0"), json!(1)]]);
    let err = query::view(&db.pool, "sensor_versions", None).await.unwrap_err();
    assert!(err.message.contains("--tag"), "{}", err.message);
    for (view, _) in query::VIEWS {
        query::view(&db.pool, view, None).await.unwrap_or_else(|e| panic!("{view}: {e}"));
    }
    let err = query::view(&db.pool, "pg_shadow", None).await.unwrap_err();
    assert!(err.message.contains("unprotected_hosts"), "lists the views: {}", err.message);
}
