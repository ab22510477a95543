//! Attack paths over a snapshot's reachability graph. The flattening that writes `network_nodes`
//! and `reachability` is not part of this tree yet, so each test inserts those rows directly with
//! SQL: every node, edge and id below is the whole graph the walk sees.

use secops_core::ErrorClass;
use secops_inventory::network::paths::{self, AttackPath, Mode};
use secops_store::testing::TestDb;
use secops_store::Pool;
use serde_json::json;

const ACCOUNT: &str = "111111111111";
const REGION: &str = "us-east-1";

async fn snapshot(pool: &Pool) -> i64 {
    pool.get()
        .await
        .unwrap()
        .query_one(
            "INSERT INTO snapshots (source, origin, status, completed_at) VALUES ('inventory', 'test', 'complete', now()) RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

async fn internet(pool: &Pool, snap: i64) {
    pool.get()
        .await
        .unwrap()
        .execute("INSERT INTO network_nodes (snapshot_id, node_id, kind) VALUES ($1, 'internet', 'internet')", &[&snap])
        .await
        .unwrap();
}

/// An interface node of a resource (`resource_type`: ec2_instance, rds_db_instance, …).
async fn eni(pool: &Pool, snap: i64, node: &str, resource_type: &str, resource_id: &str) {
    pool.get()
        .await
        .unwrap()
        .execute(
            "INSERT INTO network_nodes (snapshot_id, node_id, kind, resource_type, resource_id, account_id, region, vpc_id) \
             VALUES ($1, $2, 'eni', $3, $4, $5, $6, 'vpc-a')",
            &[&snap, &node, &resource_type, &resource_id, &ACCOUNT, &REGION],
        )
        .await
        .unwrap();
}

async fn host(pool: &Pool, snap: i64, node: &str, instance: &str) {
    eni(pool, snap, node, "ec2_instance", instance).await;
}

/// One reachability row over TCP to one port; the evidence names the row so a test can tell
/// which row a hop cites.
async fn edge(pool: &Pool, snap: i64, id: i32, from: &str, to: &str, port: i32, mechanism: &str) {
    pool.get()
        .await
        .unwrap()
        .execute(
            "INSERT INTO reachability (snapshot_id, id, source_id, destination_id, protocol, from_port, to_port, \
                 address_family, mechanism, evidence) \
             VALUES ($1, $2, $3, $4, 'tcp', $5, $5, 'ipv4', $6, $7)",
            &[&snap, &id, &from, &to, &port, &mechanism, &json!({"row": id})],
        )
        .await
        .unwrap();
}

async fn edr(pool: &Pool, snap: i64, instance: &str, protected: bool) {
    let (status, rule, device) = if protected {
        ("matched", Some("instance_id"), Some(format!("dev-{instance}")))
    } else {
        ("unprotected", None, None)
    };
    pool.get()
        .await
        .unwrap()
        .execute(
            "INSERT INTO edr_instances (snapshot_id, account_id, region, instance_id, status, rule, device_id, reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'test')",
            &[&snap, &ACCOUNT, &REGION, &instance, &status, &rule, &device],
        )
        .await
        .unwrap();
}

async fn inspector(pool: &Pool, snap: i64, instance: &str, severity: &str, status: &str) {
    pool.get()
        .await
        .unwrap()
        .execute(
            "INSERT INTO inspector_findings (snapshot_id, source_run, account_id, region, finding_arn, severity, status, resource_type, resource_id, raw) \
             VALUES ($1, 0, $2, $3, $4 || '/' || $5 || '/' || $6, $5, $6, 'AWS_EC2_INSTANCE', $4, '{}')",
            &[&snap, &ACCOUNT, &REGION, &instance, &severity, &status],
        )
        .await
        .unwrap();
}

async fn guardduty(pool: &Pool, snap: i64, instance: &str, archived: bool) {
    pool.get()
        .await
        .unwrap()
        .execute(
            "INSERT INTO guardduty_findings (snapshot_id, source_run, account_id, region, finding_id, type, severity, instance_id, archived, raw) \
             VALUES ($1, 0, $2, $3, 'gd-' || $4, 'Backdoor:EC2/C&CActivity.B', 8, $4, $5, '{}')",
            &[&snap, &ACCOUNT, &REGION, &instance, &archived],
        )
        .await
        .unwrap();
}

/// A Falcon alert on the live Falcon host matched to `instance`.
async fn falcon_alert(pool: &Pool, snap: i64, instance: &str, status: &str) {
    let client = pool.get().await.unwrap();
    let device = format!("dev-{instance}");
    client
        .execute(
            "INSERT INTO edr_falcon_hosts (snapshot_id, device_id, status, instance_id, rule, reason) \
             VALUES ($1, $2, 'live', $3, 'instance_id', 'test')",
            &[&snap, &device, &instance],
        )
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO falcon_alerts (snapshot_id, source_run, composite_id, device_id, severity, status, name, raw) \
             VALUES ($1, 0, 'alert-' || $2, $2, 80, $3, 'Credential theft', '{}')",
            &[&snap, &device, &status],
        )
        .await
        .unwrap();
}

/// Stored paths of a mode: (start, target, traits, nodes, reachability ids), in key order.
type StoredPath = (String, String, Vec<String>, Vec<String>, Vec<i32>);

async fn stored_paths(pool: &Pool, snap: i64, mode: &str) -> Vec<StoredPath> {
    pool.get()
        .await
        .unwrap()
        .query(
            "SELECT start_id, target_id, target_traits, nodes, reachability_ids FROM attack_paths \
             WHERE snapshot_id = $1 AND mode = $2 ORDER BY start_id, target_id",
            &[&snap, &mode],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect()
}

/// Stored starts of a mode in rank order: (rank, start, score, reached, databases, unprotected,
/// vulnerable, max_hops).
type StoredStart = (i32, String, i32, i32, i32, i32, i32, i32);

async fn stored_starts(pool: &Pool, snap: i64, mode: &str) -> Vec<StoredStart> {
    pool.get()
        .await
        .unwrap()
        .query(
            "SELECT rank, start_id, score, reached, reached_databases, reached_unprotected, reached_vulnerable, max_hops \
             FROM attack_path_starts WHERE snapshot_id = $1 AND mode = $2 ORDER BY rank",
            &[&snap, &mode],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6), r.get(7)))
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// (start, target, reachability ids of the hops) of each path.
fn shape(paths: &[AttackPath]) -> Vec<(String, String, Vec<i32>)> {
    paths
        .iter()
        .map(|p| (p.start.clone(), p.target.clone(), p.hops.iter().map(|h| h.reachability_id).collect()))
        .collect()
}

/// internet → web → app → db, where web → app has two rows (22 and 8080): the hop cites the lower id.
async fn three_tier(pool: &Pool, snap: i64) {
    internet(pool, snap).await;
    host(pool, snap, "eni-web", "i-web").await;
    host(pool, snap, "eni-app", "i-app").await;
    eni(pool, snap, "eni-db", "rds_db_instance", "orders").await;
    edge(pool, snap, 1, "internet", "eni-web", 443, "internet").await;
    edge(pool, snap, 2, "eni-web", "eni-app", 8080, "vpc").await;
    edge(pool, snap, 3, "eni-web", "eni-app", 22, "vpc").await;
    edge(pool, snap, 4, "eni-app", "eni-db", 5432, "vpc").await;
}

#[tokio::test]
async fn a_three_hop_lateral_path_is_stored_with_its_nodes_and_rows() {
    let db = TestDb::new().await;
    let snap = snapshot(&db.pool).await;
    three_tier(&db.pool, snap).await;

    let summary = paths::store_paths(&db.pool, snap, 6).await.unwrap();
    assert_eq!(
        (summary.nodes, summary.edges, summary.reachability_rows, summary.internet_starts, summary.internet_paths),
        (4, 3, 4, 1, 1)
    );
    assert_eq!((summary.east_west_starts, summary.east_west_paths), (0, 0));
    assert_eq!(
        stored_paths(&db.pool, snap, "internet").await,
        vec![(
            "eni-web".to_owned(),
            "eni-db".to_owned(),
            strings(&["database"]),
            strings(&["internet", "eni-web", "eni-app", "eni-db"]),
            vec![1, 2, 4]
        )]
    );
    // Reached: the app host and the database; score 10 × 1 + 2.
    assert_eq!(stored_starts(&db.pool, snap, "internet").await, vec![(1, "eni-web".to_owned(), 12, 2, 1, 0, 0, 6)]);

    let top = paths::top_paths(&db.pool, snap, Mode::Internet, 10).await.unwrap();
    assert_eq!(top.len(), 1);
    assert_eq!((top[0].start_resource_id.as_deref(), top[0].rank, top[0].score), (Some("i-web"), 1, 12));
    let path = &top[0].paths[0];
    assert_eq!(
        (path.target_resource_type.as_deref(), path.target_resource_id.as_deref(), path.target_traits.clone()),
        (Some("rds_db_instance"), Some("orders"), strings(&["database"]))
    );
    let hops: Vec<(&str, &str, i32, Option<i32>, &str)> = path
        .hops
        .iter()
        .map(|h| (h.from.as_str(), h.to.as_str(), h.reachability_id, h.from_port, h.mechanism.as_str()))
        .collect();
    assert_eq!(
        hops,
        vec![
            ("internet", "eni-web", 1, Some(443), "internet"),
            ("eni-web", "eni-app", 2, Some(8080), "vpc"),
            ("eni-app", "eni-db", 4, Some(5432), "vpc"),
        ]
    );
    assert_eq!(path.hops[2].evidence, json!({"row": 4}));
}

#[tokio::test]
async fn the_hop_limit_cuts_a_longer_chain() {
    let db = TestDb::new().await;
    let snap = snapshot(&db.pool).await;
    internet(&db.pool, snap).await;
    for n in 1..=4 {
        host(&db.pool, snap, &format!("eni-{n}"), &format!("i-{n}")).await;
    }
    eni(&db.pool, snap, "eni-db", "rds_db_instance", "orders").await;
    // internet → 1 → 2 → 3 → 4 → db: the database is five hops away.
    let chain = ["internet", "eni-1", "eni-2", "eni-3", "eni-4", "eni-db"];
    for (i, pair) in chain.windows(2).enumerate() {
        edge(&db.pool, snap, i as i32 + 1, pair[0], pair[1], 22, "vpc").await;
    }

    paths::store_paths(&db.pool, snap, 4).await.unwrap();
    assert_eq!(stored_starts(&db.pool, snap, "internet").await, vec![(1, "eni-1".to_owned(), 3, 3, 0, 0, 0, 4)]);
    assert_eq!(stored_paths(&db.pool, snap, "internet").await, vec![]);

    paths::store_paths(&db.pool, snap, 5).await.unwrap();
    assert_eq!(stored_starts(&db.pool, snap, "internet").await, vec![(1, "eni-1".to_owned(), 14, 4, 1, 0, 0, 5)]);
    assert_eq!(
        stored_paths(&db.pool, snap, "internet").await,
        vec![("eni-1".to_owned(), "eni-db".to_owned(), strings(&["database"]), strings(&chain), vec![1, 2, 3, 4, 5])]
    );

    // On demand, from the first host: four hops reach 2, 3, 4 and the database, three stop at 4.
    let four = paths::paths_from(&db.pool, snap, "i-1", 4).await.unwrap();
    assert_eq!(four.iter().map(|p| p.target.as_str()).collect::<Vec<_>>(), ["eni-2", "eni-3", "eni-4", "eni-db"]);
    let three = paths::paths_from(&db.pool, snap, "i-1", 3).await.unwrap();
    assert_eq!(three.iter().map(|p| p.target.as_str()).collect::<Vec<_>>(), ["eni-2", "eni-3", "eni-4"]);
}

#[tokio::test]
async fn a_cycle_ends_and_the_walk_never_returns_to_the_internet() {
    let db = TestDb::new().await;
    let snap = snapshot(&db.pool).await;
    internet(&db.pool, snap).await;
    for n in ["a", "b", "c"] {
        host(&db.pool, snap, &format!("eni-{n}"), &format!("i-{n}")).await;
    }
    eni(&db.pool, snap, "eni-db", "rds_db_instance", "orders").await;
    edge(&db.pool, snap, 1, "internet", "eni-a", 443, "internet").await;
    edge(&db.pool, snap, 2, "eni-a", "eni-b", 22, "vpc").await;
    edge(&db.pool, snap, 3, "eni-b", "eni-c", 22, "vpc").await;
    edge(&db.pool, snap, 4, "eni-c", "eni-a", 22, "vpc").await;
    edge(&db.pool, snap, 5, "eni-c", "eni-db", 5432, "vpc").await;
    // A host that can reach out to the internet: not a way back in for the walk.
    edge(&db.pool, snap, 6, "eni-b", "internet", 443, "internet").await;

    paths::store_paths(&db.pool, snap, 32).await.unwrap();
    assert_eq!(stored_starts(&db.pool, snap, "internet").await, vec![(1, "eni-a".to_owned(), 13, 3, 1, 0, 0, 32)]);
    assert_eq!(
        stored_paths(&db.pool, snap, "internet").await,
        vec![(
            "eni-a".to_owned(),
            "eni-db".to_owned(),
            strings(&["database"]),
            strings(&["internet", "eni-a", "eni-b", "eni-c", "eni-db"]),
            vec![1, 2, 3, 5]
        )]
    );
    let from_b = paths::paths_from(&db.pool, snap, "eni-b", 32).await.unwrap();
    assert_eq!(
        shape(&from_b),
        vec![
            ("eni-b".to_owned(), "eni-c".to_owned(), vec![3]),
            ("eni-b".to_owned(), "eni-a".to_owned(), vec![3, 4]),
            ("eni-b".to_owned(), "eni-db".to_owned(), vec![3, 5]),
        ]
    );
}

#[tokio::test]
async fn a_node_reachable_two_ways_gets_the_shorter_path() {
    let db = TestDb::new().await;
    let snap = snapshot(&db.pool).await;
    internet(&db.pool, snap).await;
    for n in ["s", "a", "b", "z"] {
        host(&db.pool, snap, &format!("eni-{n}"), &format!("i-{n}")).await;
    }
    eni(&db.pool, snap, "eni-db", "rds_db_instance", "orders").await;
    edge(&db.pool, snap, 1, "internet", "eni-s", 443, "internet").await;
    // The long way (lower ids, met first): s → a → b → db; the short way: s → z → db.
    edge(&db.pool, snap, 2, "eni-s", "eni-a", 22, "vpc").await;
    edge(&db.pool, snap, 3, "eni-a", "eni-b", 22, "vpc").await;
    edge(&db.pool, snap, 4, "eni-b", "eni-db", 5432, "vpc").await;
    edge(&db.pool, snap, 5, "eni-s", "eni-z", 22, "vpc").await;
    edge(&db.pool, snap, 6, "eni-z", "eni-db", 5432, "vpc").await;

    paths::store_paths(&db.pool, snap, 6).await.unwrap();
    assert_eq!(
        stored_paths(&db.pool, snap, "internet").await,
        vec![(
            "eni-s".to_owned(),
            "eni-db".to_owned(),
            strings(&["database"]),
            strings(&["internet", "eni-s", "eni-z", "eni-db"]),
            vec![1, 5, 6]
        )]
    );
}

#[tokio::test]
async fn ranking_follows_the_score_then_reach_then_start_id() {
    let db = TestDb::new().await;
    let snap = snapshot(&db.pool).await;
    internet(&db.pool, snap).await;
    let mut id = 0;
    let mut next = || {
        id += 1;
        id
    };
    for n in 1..=7 {
        host(&db.pool, snap, &format!("eni-h{n}"), &format!("i-h{n}")).await;
    }
    host(&db.pool, snap, "eni-u", "i-u").await;
    edr(&db.pool, snap, "i-u", false).await;
    host(&db.pool, snap, "eni-v", "i-v").await;
    inspector(&db.pool, snap, "i-v", "CRITICAL", "ACTIVE").await;
    // Neither counts as vulnerable: a high finding, and a critical one that is closed.
    host(&db.pool, snap, "eni-w", "i-w").await;
    inspector(&db.pool, snap, "i-w", "HIGH", "ACTIVE").await;
    inspector(&db.pool, snap, "i-w", "CRITICAL", "CLOSED").await;
    edr(&db.pool, snap, "i-w", true).await;

    // start → the hosts it reaches (one hop each).
    let starts: [(&str, &[&str]); 6] = [
        ("eni-a", &["eni-u"]),                                                              // 5 + 1 = 6
        ("eni-b", &["eni-h1", "eni-h2", "eni-h3", "eni-h4", "eni-h5"]),                     // 5
        ("eni-c", &["eni-h1", "eni-h2", "eni-h3", "eni-h4", "eni-h5", "eni-h6", "eni-h7"]), // 7
        ("eni-f", &["eni-h1", "eni-h2", "eni-h3", "eni-h4", "eni-h5", "eni-h6"]),           // 6
        ("eni-g", &["eni-h1", "eni-h2", "eni-h3", "eni-h4", "eni-h5"]),                     // 5
        ("eni-x", &["eni-v", "eni-w"]),                                                     // 5 + 2 = 7
    ];
    for (start, reached) in starts {
        host(&db.pool, snap, start, &start.replace("eni-", "i-")).await;
        edge(&db.pool, snap, next(), "internet", start, 443, "internet").await;
        for target in reached {
            edge(&db.pool, snap, next(), start, target, 22, "vpc").await;
        }
    }

    paths::store_paths(&db.pool, snap, 6).await.unwrap();
    let ranking: Vec<(i32, String, i32, i32, i32, i32)> = stored_starts(&db.pool, snap, "internet")
        .await
        .into_iter()
        .map(|(rank, start, score, reached, _, unprotected, vulnerable, _)| {
            (rank, start, score, reached, unprotected, vulnerable)
        })
        .collect();
    assert_eq!(
        ranking,
        vec![
            (1, "eni-c".to_owned(), 7, 7, 0, 0),
            (2, "eni-x".to_owned(), 7, 2, 0, 1),
            (3, "eni-f".to_owned(), 6, 6, 0, 0),
            (4, "eni-a".to_owned(), 6, 1, 1, 0),
            (5, "eni-b".to_owned(), 5, 5, 0, 0),
            (6, "eni-g".to_owned(), 5, 5, 0, 0),
        ]
    );
    let stored: Vec<(String, String, Vec<String>)> =
        stored_paths(&db.pool, snap, "internet").await.into_iter().map(|(s, t, traits, _, _)| (s, t, traits)).collect();
    assert_eq!(
        stored,
        vec![
            ("eni-a".to_owned(), "eni-u".to_owned(), strings(&["unprotected"])),
            ("eni-x".to_owned(), "eni-v".to_owned(), strings(&["vulnerable"])),
        ]
    );
    let top_two: Vec<String> =
        paths::top_paths(&db.pool, snap, Mode::Internet, 2).await.unwrap().into_iter().map(|s| s.start_id).collect();
    assert_eq!(top_two, ["eni-c", "eni-x"]);
}

#[tokio::test]
async fn east_west_starts_at_hosts_with_an_active_threat() {
    let db = TestDb::new().await;
    let snap = snapshot(&db.pool).await;
    three_tier(&db.pool, snap).await;
    host(&db.pool, snap, "eni-bad", "i-bad").await;
    edr(&db.pool, snap, "i-bad", true).await;
    guardduty(&db.pool, snap, "i-bad", false).await;
    // Threats that do not count: an archived finding, and a closed Falcon alert.
    host(&db.pool, snap, "eni-old", "i-old").await;
    edr(&db.pool, snap, "i-old", true).await;
    guardduty(&db.pool, snap, "i-old", true).await;
    host(&db.pool, snap, "eni-closed", "i-closed").await;
    falcon_alert(&db.pool, snap, "i-closed", "closed").await;
    // An open Falcon alert on the app host makes it a start too.
    falcon_alert(&db.pool, snap, "i-app", "new").await;
    edge(&db.pool, snap, 10, "eni-bad", "eni-app", 22, "vpc").await;
    edge(&db.pool, snap, 11, "eni-old", "eni-db", 5432, "vpc").await;
    edge(&db.pool, snap, 12, "eni-closed", "eni-db", 5432, "vpc").await;

    let summary = paths::store_paths(&db.pool, snap, 6).await.unwrap();
    assert_eq!((summary.east_west_starts, summary.east_west_paths), (2, 2));
    assert_eq!(
        stored_starts(&db.pool, snap, "east_west").await,
        vec![(1, "eni-bad".to_owned(), 12, 2, 1, 0, 0, 6), (2, "eni-app".to_owned(), 11, 1, 1, 0, 0, 6)]
    );
    assert_eq!(
        stored_paths(&db.pool, snap, "east_west").await,
        vec![
            (
                "eni-app".to_owned(),
                "eni-db".to_owned(),
                strings(&["database"]),
                strings(&["eni-app", "eni-db"]),
                vec![4]
            ),
            (
                "eni-bad".to_owned(),
                "eni-db".to_owned(),
                strings(&["database"]),
                strings(&["eni-bad", "eni-app", "eni-db"]),
                vec![10, 4]
            ),
        ]
    );
}

#[tokio::test]
async fn paths_from_an_instance_start_at_each_of_its_interfaces() {
    let db = TestDb::new().await;
    let snap = snapshot(&db.pool).await;
    host(&db.pool, snap, "eni-m1", "i-multi").await;
    host(&db.pool, snap, "eni-m2", "i-multi").await;
    host(&db.pool, snap, "eni-x", "i-x").await;
    host(&db.pool, snap, "eni-y", "i-y").await;
    // A second interface of a reached host is the same resource: reached once.
    host(&db.pool, snap, "eni-y2", "i-y").await;
    edr(&db.pool, snap, "i-y", false).await;
    edge(&db.pool, snap, 1, "eni-m1", "eni-x", 22, "vpc").await;
    edge(&db.pool, snap, 2, "eni-m2", "eni-y", 22, "vpc").await;
    edge(&db.pool, snap, 3, "eni-m1", "eni-m2", 22, "vpc").await;
    edge(&db.pool, snap, 4, "eni-x", "eni-y2", 22, "vpc").await;

    let found = paths::paths_from(&db.pool, snap, "i-multi", 6).await.unwrap();
    assert_eq!(
        shape(&found),
        vec![("eni-m1".to_owned(), "eni-x".to_owned(), vec![1]), ("eni-m2".to_owned(), "eni-y".to_owned(), vec![2])]
    );
    assert_eq!(found[1].target_traits, strings(&["unprotected"]));
    assert_eq!(found[1].target_resource_id.as_deref(), Some("i-y"));

    // From one interface only, the other is a place on the way (its own resource aside).
    let from_m1 = paths::paths_from(&db.pool, snap, "eni-m1", 6).await.unwrap();
    assert_eq!(
        shape(&from_m1),
        vec![("eni-m1".to_owned(), "eni-x".to_owned(), vec![1]), ("eni-m1".to_owned(), "eni-y".to_owned(), vec![3, 2])]
    );
}

#[tokio::test]
async fn an_unknown_host_is_invalid_input_naming_it() {
    let db = TestDb::new().await;
    let snap = snapshot(&db.pool).await;
    three_tier(&db.pool, snap).await;
    let error = paths::paths_from(&db.pool, snap, "i-nowhere", 6).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::InvalidInput, "{error}");
    assert!(error.message.contains("\"i-nowhere\""), "{error}");
    let error = paths::paths_from(&db.pool, snap, "i-web", 0).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::InvalidInput, "{error}");
    let error = paths::store_paths(&db.pool, snap + 1, 6).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::InvalidInput, "{error}");
}

#[tokio::test]
async fn storing_again_replaces_the_snapshots_paths() {
    let db = TestDb::new().await;
    let snap = snapshot(&db.pool).await;
    three_tier(&db.pool, snap).await;
    host(&db.pool, snap, "eni-bad", "i-bad").await;
    edr(&db.pool, snap, "i-bad", true).await;
    guardduty(&db.pool, snap, "i-bad", false).await;
    edge(&db.pool, snap, 10, "eni-bad", "eni-db", 5432, "vpc").await;
    paths::store_paths(&db.pool, snap, 6).await.unwrap();
    assert_eq!(stored_paths(&db.pool, snap, "internet").await.len(), 1);
    assert_eq!(stored_paths(&db.pool, snap, "east_west").await.len(), 1);

    // Another snapshot's results are left alone.
    let other = snapshot(&db.pool).await;
    three_tier(&db.pool, other).await;
    paths::store_paths(&db.pool, other, 6).await.unwrap();

    // Two hops no longer reach the database from the internet; the threat is gone too.
    db.pool
        .get()
        .await
        .unwrap()
        .execute("UPDATE guardduty_findings SET archived = true WHERE snapshot_id = $1", &[&snap])
        .await
        .unwrap();
    let summary = paths::store_paths(&db.pool, snap, 2).await.unwrap();
    assert_eq!((summary.internet_starts, summary.internet_paths, summary.east_west_starts), (1, 0, 0));
    assert_eq!(stored_starts(&db.pool, snap, "internet").await, vec![(1, "eni-web".to_owned(), 1, 1, 0, 0, 0, 2)]);
    assert_eq!(stored_paths(&db.pool, snap, "internet").await, vec![]);
    assert_eq!(stored_starts(&db.pool, snap, "east_west").await, vec![]);
    assert_eq!(stored_paths(&db.pool, snap, "east_west").await, vec![]);
    assert_eq!(stored_starts(&db.pool, other, "internet").await, vec![(1, "eni-web".to_owned(), 12, 2, 1, 0, 0, 6)]);
    assert_eq!(stored_paths(&db.pool, other, "internet").await.len(), 1);
}
