//! Snapshots on a real PostgreSQL: the schema matches the declarations, runs land whole or fail
//! on the record, finished snapshots never change, shapes and drift are noticed, retention works.

mod support;

use secops_inventory::query::{self, DriftWindow};
use secops_inventory::{collect_from_dir, snapshot, sources, ColumnType};
use secops_store::testing::TestDb;
use serde_json::json;
use support::*;

fn information_schema_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::TextArray => "ARRAY",
        other => other.sql(),
    }
}

#[tokio::test]
async fn every_declared_table_exists_with_exactly_the_declared_columns() {
    let db = TestDb::new().await;
    let client = db.pool.get().await.unwrap();
    let tables = sources::all_tables();
    assert!(tables.len() >= 35, "{} tables", tables.len());
    for table in &tables {
        let actual: Vec<(String, String)> = client
            .query(
                "SELECT column_name::text, data_type::text FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
                &[&table.name],
            )
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let mut expected: Vec<(String, String)> = vec![
            ("snapshot_id".into(), "bigint".into()),
            ("source_run".into(), "bigint".into()),
            ("account_id".into(), "text".into()),
            ("region".into(), "text".into()),
        ];
        expected.extend(table.columns.iter().map(|c| (c.name.to_owned(), information_schema_type(c.ty).to_owned())));
        expected.push(("raw".into(), "jsonb".into()));
        assert_eq!(actual, expected, "table {} differs from its declaration", table.name);
        assert!(
            !table.key.is_empty()
                && table.key.iter().all(|k| *k == "account_id" || table.columns.iter().any(|c| c.name == *k)),
            "{}: key",
            table.name
        );
    }
    // And the other way round: no inventory table in the schema without a declaration.
    let undeclared: Vec<String> = client
        .query("SELECT table_name::text FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'source_run'", &[])
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.get::<_, String>(0))
        .filter(|t| !tables.iter().any(|d| d.name == t))
        .collect();
    assert!(undeclared.is_empty(), "undeclared inventory tables: {undeclared:?}");
}

#[tokio::test]
async fn a_broken_source_fails_alone_and_the_snapshot_is_partial_and_immutable() {
    let f = Folder::new();
    f.aws(
        ACCOUNT_A,
        REGION,
        "ec2.describe-instances",
        &describe_instances(vec![instance(
            "i-0000000000000001",
            "running",
            "10.0.0.1",
            "vpc-a",
            "2026-11-01T00:00:00Z",
            &[],
        )]),
    );
    // A Falcon export whose second page is cut off: its first page must not land either.
    let good = serde_json::to_string(&falcon_page(vec![falcon_host(
        "d1",
        Some("i-0000000000000001"),
        None,
        None,
        "2026-11-20T00:00:00Z",
    )]))
    .unwrap();
    let path = f.path().join("falcon/falcon.devices.jsonl");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, format!("{good}\n{{\"resources\": [\n")).unwrap();
    let db = TestDb::new().await;
    let summary = collect_from_dir(&db.pool, f.path(), 2).await.unwrap();
    assert_eq!(summary.status, "partial");
    assert_eq!(summary.runs, 2);
    assert_eq!(summary.failed_runs.len(), 1);
    let failed = &summary.failed_runs[0];
    assert_eq!((failed.collector.as_str(), failed.class.as_str()), ("falcon", "InvalidInput"));
    assert!(failed.error.contains("falcon.devices.jsonl") && failed.error.contains("line 2"), "{}", failed.error);
    let client = db.pool.get().await.unwrap();
    let count = |sql: &'static str| {
        let client = &client;
        async move { client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    assert_eq!(count("SELECT count(*) FROM ec2_instances").await, 1, "the AWS data landed");
    assert_eq!(count("SELECT count(*) FROM falcon_hosts").await, 0, "the failed run left no rows");
    let err = client
        .execute("UPDATE snapshots SET status = 'complete' WHERE id = $1", &[&summary.snapshot_id])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot change") || format!("{err:?}").contains("cannot change"), "{err:?}");
}

#[tokio::test]
async fn a_folder_with_nothing_to_load_or_a_wrong_layout_is_refused_with_the_path() {
    let db = TestDb::new().await;
    let empty = Folder::new();
    let err = collect_from_dir(&db.pool, empty.path(), 2).await.unwrap_err();
    assert!(err.message.contains("no recorded responses"), "{}", err.message);
    let f = Folder::new();
    f.write("aws/not-an-account/us-east-1/ec2.describe-instances.json", &describe_instances(vec![]));
    let err = collect_from_dir(&db.pool, f.path(), 2).await.unwrap_err();
    assert!(err.message.contains("not-an-account") && err.message.contains("12-digit"), "{}", err.message);
}

/// key, change, types before, types after
type ShapeChange = (String, String, Option<Vec<String>>, Option<Vec<String>>);

async fn falcon_snapshot(db: &TestDb, hosts: Vec<serde_json::Value>) -> i64 {
    let f = Folder::new();
    f.write("falcon/falcon.devices.json", &falcon_page(hosts));
    collect_from_dir(&db.pool, f.path(), 1).await.unwrap().snapshot_id
}

#[tokio::test]
async fn a_change_in_a_vendors_record_shape_is_recorded() {
    let db = TestDb::new().await;
    falcon_snapshot(&db, vec![falcon_host("d1", None, Some("10.0.0.1"), None, "2026-11-20T00:00:00Z")]).await;
    let mut host = falcon_host("d1", None, Some("10.0.0.1"), None, "2026-11-21T00:00:00Z");
    host["agent_version"] = json!(7.18); // re-typed
    host["chassis_type"] = json!("Virtual"); // new
    host.as_object_mut().unwrap().remove("os_version"); // missing
    let second = falcon_snapshot(&db, vec![host]).await;
    let client = db.pool.get().await.unwrap();
    let changes: Vec<ShapeChange> = client
        .query("SELECT key, change, before_types, after_types FROM shape_changes WHERE snapshot_id = $1 AND table_name = 'falcon_hosts' ORDER BY key", &[&second])
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        changes,
        vec![
            ("agent_version".into(), "retyped".into(), Some(vec!["string".into()]), Some(vec!["number".into()])),
            ("chassis_type".into(), "new".into(), None, Some(vec!["string".into()])),
            ("os_version".into(), "missing".into(), Some(vec!["string".into()]), None),
        ]
    );
    let rows = query::view(&db.pool, "shape_changes", None).await.unwrap();
    assert_eq!(rows.rows.len(), 3);
}

fn buckets(f: &Folder, names: &[&str]) {
    f.aws(ACCOUNT_A, "global", "s3.list-buckets", &json!({"Buckets": names.iter().map(|n| json!({"Name": n, "CreationDate": "2026-01-01T00:00:00Z", "BucketRegion": REGION})).collect::<Vec<_>>(), "Owner": {"ID": "owner"}}));
}

fn policy_status(f: &Folder, bucket: &str, public: bool) {
    f.write(
        &format!("aws/{ACCOUNT_A}/global/s3.get-bucket-policy-status/{bucket}.json"),
        &json!({"PolicyStatus": {"IsPublic": public}}),
    );
}

#[tokio::test]
async fn drift_names_what_appeared_disappeared_and_changed() {
    let db = TestDb::new().await;
    let first = Folder::new();
    buckets(&first, &["logs", "site", "old"]);
    policy_status(&first, "site", false);
    let a = collect_from_dir(&db.pool, first.path(), 2).await.unwrap().snapshot_id;
    let second = Folder::new();
    buckets(&second, &["logs", "site", "new"]);
    policy_status(&second, "site", true);
    let b = collect_from_dir(&db.pool, second.path(), 2).await.unwrap().snapshot_id;

    let rows = query::drift(&db.pool, "s3_buckets", DriftWindow::Between(a, b), None).await.unwrap();
    let changes: Vec<(String, String)> = rows
        .objects()
        .iter()
        .map(|o| (o["change"].as_str().unwrap().to_owned(), o["resource"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(changes, vec![("appeared".into(), "new".into()), ("disappeared".into(), "old".into())]);

    // "Which buckets became public in the last 30 days?"
    let rows =
        query::drift(&db.pool, "s3_bucket_policy_status", DriftWindow::Days(30), Some("is_public")).await.unwrap();
    let became_public: Vec<_> =
        rows.objects().into_iter().filter(|o| o["after"] == json!(true) && o["before"] == json!(false)).collect();
    assert_eq!(became_public.len(), 1, "{rows:?}");
    assert_eq!(became_public[0]["resource"], "site");

    let err = query::drift(&db.pool, "s3_buckets", DriftWindow::Between(a, b), Some("colour")).await.unwrap_err();
    assert!(err.message.contains("no column \"colour\""), "{}", err.message);
    let err = query::drift(&db.pool, "buckets", DriftWindow::Between(a, b), None).await.unwrap_err();
    assert!(err.message.contains("s3_buckets"), "lists the tables: {}", err.message);
}

#[tokio::test]
async fn pruning_keeps_the_newest_and_cascades_to_every_row() {
    let db = TestDb::new().await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let f = Folder::new();
        f.aws(
            ACCOUNT_A,
            REGION,
            "ec2.describe-instances",
            &describe_instances(vec![instance(
                &format!("i-000000000000000{n}"),
                "running",
                "10.0.0.1",
                "vpc-a",
                "2026-11-01T00:00:00Z",
                &[],
            )]),
        );
        ids.push(collect_from_dir(&db.pool, f.path(), 1).await.unwrap().snapshot_id);
    }
    assert!(snapshot::prune(&db.pool, 1, 1).await.unwrap().is_empty(), "nothing is older than a day");
    let deleted = snapshot::prune(&db.pool, 1, 0).await.unwrap();
    assert_eq!(deleted, ids[..2].to_vec());
    let client = db.pool.get().await.unwrap();
    let left: i64 = client.query_one("SELECT count(*) FROM ec2_instances", &[]).await.unwrap().get(0);
    let runs: i64 = client.query_one("SELECT count(*) FROM snapshot_sources", &[]).await.unwrap().get(0);
    assert_eq!((left, runs), (1, 1));
    assert_eq!(snapshot::latest(&db.pool).await.unwrap(), Some(ids[2]));
    assert_eq!(snapshot::prune(&db.pool, 0, 0).await.unwrap_err().class, secops_core::ErrorClass::InvalidInput);
}
