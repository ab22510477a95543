//! EDR reconciliation on a real PostgreSQL: every rule and every trap the matcher must not fall
//! into, each with the reason it records.

mod support;

use secops_inventory::{collect_from_dir, reconcile::reconcile};
use secops_store::testing::TestDb;
use std::collections::BTreeMap;
use support::*;

const LAUNCHED: &str = "2026-11-01T00:00:00+00:00";
const SEEN_AFTER: &str = "2026-11-20T12:00:00Z";

async fn reconciled(folder: &Folder) -> (TestDb, serde_json::Value) {
    let db = TestDb::new().await;
    let summary = collect_from_dir(&db.pool, folder.path(), 2).await.unwrap();
    assert_eq!(summary.status, "complete", "{summary:?}");
    let result = reconcile(&db.pool, None).await.unwrap();
    (db, result)
}

/// instance id → (status, rule, device, reason)
async fn instances(db: &TestDb) -> BTreeMap<String, (String, Option<String>, Option<String>, String)> {
    let client = db.pool.get().await.unwrap();
    client
        .query("SELECT instance_id, status, rule, device_id, reason FROM edr_instances", &[])
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3), r.get(4))))
        .collect()
}

/// device id → (status, instance, reason)
async fn hosts(db: &TestDb) -> BTreeMap<String, (String, Option<String>, String)> {
    let client = db.pool.get().await.unwrap();
    client
        .query("SELECT device_id, status, instance_id, reason FROM edr_falcon_hosts", &[])
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
        .collect()
}

#[tokio::test]
async fn a_falcon_host_with_the_instance_id_matches_it() {
    let f = Folder::new();
    f.aws(
        ACCOUNT_A,
        REGION,
        "ec2.describe-instances",
        &describe_instances(vec![instance("i-0000000000000001", "running", "10.0.1.10", "vpc-a", LAUNCHED, &[])]),
    );
    f.write(
        "falcon/falcon.devices.json",
        &falcon_page(vec![falcon_host("d1", Some("i-0000000000000001"), Some("10.9.9.9"), None, SEEN_AFTER)]),
    );
    let (db, summary) = reconciled(&f).await;
    let i = &instances(&db).await["i-0000000000000001"];
    assert_eq!((i.0.as_str(), i.1.as_deref(), i.2.as_deref()), ("matched", Some("instance_id"), Some("d1")));
    assert_eq!(hosts(&db).await["d1"].0, "live");
    assert_eq!(summary["edr"]["matched_by_instance_id"], 1);
    assert_eq!(summary["edr_coverage_pct"], 100.0);
}

#[tokio::test]
async fn a_host_without_instance_id_matches_by_private_ip_within_its_account_only() {
    let f = Folder::new();
    f.aws(
        ACCOUNT_A,
        REGION,
        "ec2.describe-instances",
        &describe_instances(vec![instance("i-0000000000000002", "running", "10.0.1.20", "vpc-a", LAUNCHED, &[])]),
    );
    f.aws(
        ACCOUNT_B,
        REGION,
        "ec2.describe-instances",
        &describe_instances(vec![instance("i-00000000000000b2", "running", "10.0.1.21", "vpc-b", LAUNCHED, &[])]),
    );
    f.write(
        "falcon/falcon.devices.json",
        &falcon_page(vec![
            falcon_host("d2", None, Some("10.0.1.20"), Some(ACCOUNT_A), SEEN_AFTER),
            // Same IP as account A's instance, but the sensor says account B: no match.
            falcon_host("d8", None, Some("10.0.1.20"), Some(ACCOUNT_B), SEEN_AFTER),
            // No account at all: an IP proves nothing.
            falcon_host("d9", None, Some("10.0.1.21"), None, SEEN_AFTER),
        ]),
    );
    let (db, summary) = reconciled(&f).await;
    let (inst, host) = (instances(&db).await, hosts(&db).await);
    let i = &inst["i-0000000000000002"];
    assert_eq!((i.0.as_str(), i.1.as_deref(), i.2.as_deref()), ("matched", Some("private_ip"), Some("d2")));
    assert_eq!(host["d2"].0, "live");
    assert_eq!(host["d8"], ("stale".into(), None, "no live instance with this private IP in the account".into()));
    assert_eq!(host["d9"].2, "no instance id and no AWS account to match the private IP in");
    assert_eq!(inst["i-00000000000000b2"].0, "unprotected");
    assert_eq!(summary["edr"]["matched_by_private_ip"], 1);
}

#[tokio::test]
async fn a_private_ip_reused_across_vpcs_matches_neither_instance() {
    let f = Folder::new();
    f.aws(
        ACCOUNT_A,
        REGION,
        "ec2.describe-instances",
        &describe_instances(vec![
            instance("i-0000000000000003", "running", "10.0.2.30", "vpc-a", LAUNCHED, &[]),
            instance("i-0000000000000004", "running", "10.0.2.30", "vpc-b", LAUNCHED, &[]),
        ]),
    );
    f.write(
        "falcon/falcon.devices.json",
        &falcon_page(vec![falcon_host("d3", None, Some("10.0.2.30"), Some(ACCOUNT_A), SEEN_AFTER)]),
    );
    let (db, _) = reconciled(&f).await;
    let (inst, host) = (instances(&db).await, hosts(&db).await);
    for id in ["i-0000000000000003", "i-0000000000000004"] {
        assert_eq!(inst[id].0, "unprotected", "{id}");
        assert!(inst[id].3.contains("reused across VPCs"), "{}", inst[id].3);
    }
    assert_eq!(host["d3"].0, "stale");
    assert!(host["d3"].2.contains("several live instances"), "{}", host["d3"].2);
}

#[tokio::test]
async fn ghosts_that_share_a_live_instances_ip_stay_stale() {
    let f = Folder::new();
    f.aws(
        ACCOUNT_A,
        REGION,
        "ec2.describe-instances",
        &describe_instances(vec![
            instance("i-0000000000000005", "running", "10.0.3.40", "vpc-a", LAUNCHED, &[]),
            // Terminated instances are in DescribeInstances for a while; they are not live.
            instance("i-00000000000000d7", "terminated", "10.0.3.41", "vpc-a", "2026-09-01T00:00:00+00:00", &[]),
        ]),
    );
    f.write(
        "falcon/falcon.devices.json",
        &falcon_page(vec![
            // An autoscaling ghost: its instance is gone, its IP now belongs to i-…5.
            falcon_host(
                "ghost-with-id",
                Some("i-0000000000000dea"),
                Some("10.0.3.40"),
                Some(ACCOUNT_A),
                "2026-10-01T00:00:00Z",
            ),
            // A ghost without instance id, last seen before i-…5 launched: the IP's previous owner.
            falcon_host("ghost-no-id", None, Some("10.0.3.40"), Some(ACCOUNT_A), "2026-10-15T00:00:00Z"),
            falcon_host("d7", Some("i-00000000000000d7"), Some("10.0.3.41"), Some(ACCOUNT_A), "2026-09-05T00:00:00Z"),
        ]),
    );
    let (db, summary) = reconciled(&f).await;
    let (inst, host) = (instances(&db).await, hosts(&db).await);
    assert_eq!(inst["i-0000000000000005"].0, "unprotected");
    assert!(inst["i-0000000000000005"].3.contains("last seen before launch"), "{}", inst["i-0000000000000005"].3);
    assert!(!inst.contains_key("i-00000000000000d7"), "a terminated instance is not live");
    assert_eq!(
        host["ghost-with-id"],
        ("stale".into(), Some("i-0000000000000dea".into()), "instance is not live in this snapshot".into())
    );
    assert_eq!(host["ghost-no-id"].0, "stale");
    assert!(host["ghost-no-id"].2.contains("previous owner of the IP"), "{}", host["ghost-no-id"].2);
    assert_eq!(host["d7"].2, "instance is not live in this snapshot");
    assert_eq!(summary["edr"]["falcon_stale"], 3);
    assert_eq!(summary["edr"]["live_instances"], 1);
}

#[tokio::test]
async fn duplicates_keep_the_newest_record_and_mark_the_rest_stale() {
    let f = Folder::new();
    f.aws(
        ACCOUNT_A,
        REGION,
        "ec2.describe-instances",
        &describe_instances(vec![
            instance("i-0000000000000006", "running", "10.0.4.60", "vpc-a", LAUNCHED, &[]),
            instance("i-0000000000000007", "stopped", "10.0.4.70", "vpc-a", LAUNCHED, &[]),
        ]),
    );
    f.write(
        "falcon/falcon.devices.json",
        &falcon_page(vec![
            falcon_host(
                "d6-new",
                Some("i-0000000000000006"),
                Some("10.0.4.60"),
                Some(ACCOUNT_A),
                "2026-11-20T00:00:00Z",
            ),
            falcon_host(
                "d6-old",
                Some("i-0000000000000006"),
                Some("10.0.4.60"),
                Some(ACCOUNT_A),
                "2026-11-10T00:00:00Z",
            ),
            // Two id-less records for the stopped instance, both seen after launch: newest wins.
            falcon_host("d7-old", None, Some("10.0.4.70"), Some(ACCOUNT_A), "2026-11-05T00:00:00Z"),
            falcon_host("d7-new", None, Some("10.0.4.70"), Some(ACCOUNT_A), "2026-11-06T00:00:00Z"),
            // An id-less record with the IP of an instance already matched by id.
            falcon_host("d6-ip", None, Some("10.0.4.60"), Some(ACCOUNT_A), "2026-11-21T00:00:00Z"),
        ]),
    );
    let (db, _) = reconciled(&f).await;
    let (inst, host) = (instances(&db).await, hosts(&db).await);
    assert_eq!(inst["i-0000000000000006"].2.as_deref(), Some("d6-new"));
    assert_eq!(host["d6-new"].0, "live");
    assert_eq!(
        host["d6-old"],
        (
            "stale".into(),
            Some("i-0000000000000006".into()),
            "duplicate: a newer Falcon record exists for this instance".into()
        )
    );
    assert_eq!(
        inst["i-0000000000000007"].2.as_deref(),
        Some("d7-new"),
        "a stopped instance is live and can be matched"
    );
    assert_eq!(host["d7-old"].2, "duplicate: a newer Falcon record exists for this instance");
    assert_eq!(
        host["d6-ip"],
        ("stale".into(), None, "private IP of an instance already matched by instance id".into())
    );
}

#[tokio::test]
async fn hosts_without_instance_id_or_ip_are_stale_and_uncovered_instances_are_unprotected() {
    let f = Folder::new();
    f.aws(
        ACCOUNT_A,
        REGION,
        "ec2.describe-instances",
        &describe_instances(vec![instance("i-0000000000000008", "running", "10.0.5.80", "vpc-a", LAUNCHED, &[])]),
    );
    f.write(
        "falcon/falcon.devices.json",
        &falcon_page(vec![falcon_host("bare", None, None, Some(ACCOUNT_A), SEEN_AFTER)]),
    );
    let (db, summary) = reconciled(&f).await;
    assert_eq!(hosts(&db).await["bare"].2, "no instance id and no private IP");
    assert_eq!(instances(&db).await["i-0000000000000008"].3, "no Falcon sensor record for this instance");
    assert_eq!(summary["edr_coverage_pct"], 0.0);
    let client = db.pool.get().await.unwrap();
    let row = client.query_one("SELECT live_instances, protected, unprotected, coverage_pct::float8 FROM edr_coverage WHERE account_id IS NULL", &[]).await.unwrap();
    assert_eq!(
        (row.get::<_, i64>(0), row.get::<_, i64>(1), row.get::<_, i64>(2), row.get::<_, f64>(3)),
        (1, 0, 1, 0.0)
    );
    let unprotected = client.query("SELECT instance_id, reason FROM unprotected_hosts", &[]).await.unwrap();
    assert_eq!(unprotected.len(), 1);
}

#[tokio::test]
async fn reconciling_again_replaces_results_and_an_unfinished_snapshot_is_refused() {
    let f = Folder::new();
    f.aws(
        ACCOUNT_A,
        REGION,
        "ec2.describe-instances",
        &describe_instances(vec![instance("i-0000000000000009", "running", "10.0.6.90", "vpc-a", LAUNCHED, &[])]),
    );
    let (db, first) = reconciled(&f).await;
    let again = reconcile(&db.pool, Some(first["snapshot_id"].as_i64().unwrap())).await.unwrap();
    assert_eq!(first["edr"], again["edr"]);
    assert_eq!(instances(&db).await.len(), 1);
    let running = secops_inventory::snapshot::begin(&db.pool, "test").await.unwrap();
    let err = reconcile(&db.pool, Some(running)).await.unwrap_err();
    assert_eq!(err.class, secops_core::ErrorClass::InvalidInput);
    assert!(err.message.contains("running"), "{}", err.message);
    let err = reconcile(&db.pool, Some(999_999)).await.unwrap_err();
    assert!(err.message.contains("does not exist"), "{}", err.message);
}

/// The generated estate's truth is an oracle written independently of the SQL: every instance's
/// status, rule and sensor, every Falcon record's status, the public buckets, the unencrypted
/// databases and the publicly restorable snapshots must come out exactly as planted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciling_the_generated_estate_reproduces_its_truth() {
    use secops_inventory::fixtures::{generate, DeviceStatus, EdrStatus, EstateSpec, MatchedBy};
    let dir = tempfile::tempdir().unwrap();
    let truth = generate(&EstateSpec::default(), dir.path()).unwrap();
    let db = TestDb::new().await;
    assert_eq!(collect_from_dir(&db.pool, dir.path(), 4).await.unwrap().status, "complete");
    let summary = reconcile(&db.pool, None).await.unwrap();

    let got = instances(&db).await;
    assert_eq!(got.len(), truth.instances.len(), "live instances");
    for expected in &truth.instances {
        let (status, rule, device, reason) = &got[&expected.instance_id];
        let want_status = match expected.edr {
            EdrStatus::Matched => "matched",
            EdrStatus::Unprotected => "unprotected",
        };
        let want_rule = expected.matched_by.map(|m| match m {
            MatchedBy::InstanceId => "instance_id",
            MatchedBy::PrivateIp => "private_ip",
        });
        assert_eq!((status.as_str(), rule.as_deref()), (want_status, want_rule), "{} ({reason})", expected.instance_id);
        assert_eq!(device, &expected.device_id, "{}", expected.instance_id);
    }
    let hosts = hosts(&db).await;
    assert_eq!(hosts.len(), truth.falcon_devices.len(), "Falcon records");
    for expected in &truth.falcon_devices {
        let (status, instance, reason) = &hosts[&expected.device_id];
        let want = match expected.status {
            DeviceStatus::Live => "live",
            DeviceStatus::Stale => "stale",
        };
        assert_eq!(status, want, "{} ({:?}: {reason})", expected.device_id, expected.case);
        if expected.status == DeviceStatus::Live {
            assert_eq!(instance, &expected.instance_id, "{}", expected.device_id);
        }
    }
    let matched = truth.instances.iter().filter(|i| i.edr == EdrStatus::Matched).count();
    assert_eq!(summary["edr"]["matched"], matched);

    let client = db.pool.get().await.unwrap();
    let strings = |rows: Vec<tokio_postgres::Row>| {
        let mut v: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        v.sort();
        v
    };
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    let public = client.query("SELECT bucket FROM s3_exposure WHERE public", &[]).await.unwrap();
    assert_eq!(strings(public), sorted(&truth.public_buckets));
    let unencrypted = client
        .query("SELECT resource_id FROM posture_results WHERE resource_type = 'rds_instance' AND check_name = 'encryption' AND NOT passed", &[])
        .await
        .unwrap();
    assert_eq!(strings(unencrypted), sorted(&truth.unencrypted_databases));
    let restorable = client
        .query("SELECT resource_id FROM posture_results WHERE resource_type = 'rds_snapshot' AND check_name = 'public_restore' AND NOT passed", &[])
        .await
        .unwrap();
    assert_eq!(strings(restorable), sorted(&truth.public_db_snapshots));
}
