//! The store against a real PostgreSQL: the harness, migrations and the private cluster.

use secops_store::cluster::{Durability, LocalCluster};
use secops_store::db;
use secops_store::testing::TestDb;

#[tokio::test]
async fn each_test_gets_its_own_migrated_database() {
    let a = TestDb::new().await;
    let b = TestDb::new().await;
    assert_ne!(a.name, b.name);

    let ca = a.pool.get().await.unwrap();
    ca.execute(
        "INSERT INTO snapshots (source, account_id, region) VALUES ('aws.ec2.instances', '111122223333', 'us-east-1')",
        &[],
    )
    .await
    .unwrap();
    let in_a: i64 = ca.query_one("SELECT count(*) FROM snapshots", &[]).await.unwrap().get(0);
    let in_b: i64 = b.pool.get().await.unwrap().query_one("SELECT count(*) FROM snapshots", &[]).await.unwrap().get(0);
    assert_eq!((in_a, in_b), (1, 0), "test databases must not share rows");

    let status = db::status(&a.url).await.unwrap();
    assert!(!status.is_empty());
    assert!(status.iter().all(|m| m.applied_on.is_some()), "{status:?}");
    // Migrating again is a no-op.
    assert!(db::migrate(&a.url).await.unwrap().is_empty());
}

#[tokio::test]
async fn schema_rejects_bad_rows_with_named_constraints() {
    let t = TestDb::new().await;
    let c = t.pool.get().await.unwrap();
    let e = c
        .execute("INSERT INTO snapshots (source, account_id) VALUES ('aws.ec2.instances', '12345')", &[])
        .await
        .unwrap_err();
    assert!(e.as_db_error().unwrap().constraint().unwrap().contains("account_id"), "{e:?}");
    let e = c.execute("INSERT INTO snapshots (source, status) VALUES ('x', 'complete')", &[]).await.unwrap_err();
    assert_eq!(e.as_db_error().unwrap().code().code(), "23514", "complete without completed_at must fail");

    // Audit sequence numbers are unique per chain.
    let insert = "INSERT INTO audit_events (seq, event_id, \"timestamp\", event_type, actor, key_id, payload, event_hash, previous_hash, signature, chain_hash) \
                  VALUES (0, gen_random_uuid(), '2026-11-21T00:00:00Z', 't', 'a', 'k', '{}', 'h', 'p', 's', 'c')";
    c.execute(insert, &[]).await.unwrap();
    let dup = c.execute(insert, &[]).await.unwrap_err();
    assert_eq!(dup.as_db_error().unwrap().code().code(), "23505");
    let class = secops_store::StoreError::Query { what: "append", error: dup }.class();
    assert_eq!(class, secops_core::ErrorClass::Conflict);
}

#[tokio::test]
async fn private_cluster_starts_reuses_and_stops() {
    let dir =
        secops_store::cluster::placement(&std::env::temp_dir().join(format!("secops-cluster-{}", std::process::id())));
    let cluster = LocalCluster::new(&dir, Durability::Durable).unwrap();
    assert!(cluster.ensure_running().unwrap(), "first call initializes and starts");
    assert!(!cluster.ensure_running().unwrap(), "second call reuses the running server");
    let url = cluster.url("postgres").unwrap();
    assert!(url.starts_with("postgresql://secops:") && url.contains("@127.0.0.1:"), "loopback only");
    let applied = db::migrate(&url).await.unwrap();
    assert!(!applied.is_empty());
    let password = std::fs::metadata(dir.join("password")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(password.permissions().mode() & 0o777, 0o600);

    // A wrong password is refused: the server does not trust loopback blindly.
    let port = cluster.running_port().unwrap();
    let refused = db::connect(&format!("postgresql://secops:wrong@127.0.0.1:{port}/postgres")).await;
    assert!(refused.is_err());

    cluster.stop().unwrap();
    assert!(cluster.running_port().is_none());
    // Restart keeps the data.
    assert!(cluster.ensure_running().unwrap());
    let status = db::status(&cluster.url("postgres").unwrap()).await.unwrap();
    assert!(status.iter().all(|m| m.applied_on.is_some()));
    cluster.stop().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
