//! Many writers, one chain: appends from 8 concurrent tasks (each with its own pool, as 8
//! Lambdas would have) stay one linear chain — no fork, no gap, no duplicate seq.

use secops_audit::ops::verify_table;
use secops_audit::redact::{CorrelationKey, Destination, Policy, Redactor};
use secops_audit::{AuditSink, Keyring, NewEvent, PgAuditLog};
use secops_store::testing::TestDb;
use serde_json::json;
use std::collections::BTreeSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_writers_extend_one_linear_chain() {
    let db = TestDb::new().await;
    let (ring, _) = Keyring::generate("k").unwrap();
    const WRITERS: usize = 8;
    const BATCHES: usize = 25;
    const BATCH: usize = 8;
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        // A pool per writer: the lock that keeps the chain linear must be in the database.
        let pool = secops_store::db::connect_pool(&db.url, 2).await.unwrap();
        let redactor = Redactor::new(Policy::default_for(Destination::Audit), CorrelationKey::new([1; 32]));
        let log = PgAuditLog::new(pool, "main", ring.clone(), redactor);
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for batch in 0..BATCHES {
                let events = (0..BATCH)
                    .map(|i| NewEvent::new("test.append", format!("writer-{writer}"), json!({"batch": batch, "i": i})))
                    .collect();
                seqs.extend(log.append(events).await.unwrap().into_iter().map(|r| r.seq));
            }
            seqs
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        let seqs = task.await.unwrap();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "a writer's own events are in order");
        all.extend(seqs);
    }
    let total = WRITERS * BATCHES * BATCH;
    let unique: BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(unique.len(), total, "no seq was handed out twice");
    assert_eq!(unique.iter().copied().collect::<Vec<_>>(), (0..total as i64).collect::<Vec<_>>(), "no gap");

    let log = PgAuditLog::new(
        db.pool.clone(),
        "main",
        ring,
        Redactor::new(Policy::default_for(Destination::Audit), CorrelationKey::new([1; 32])),
    );
    let report = verify_table(&log, None).await.unwrap();
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.events as usize, total);
    let head = log.head().await.unwrap();
    assert_eq!(head.next_seq as usize, total);
    assert_eq!(Some(head.chain_hash), report.head.map(|h| h.chain_hash));
}

#[tokio::test]
async fn chains_are_independent_and_a_bad_event_fails_its_whole_batch() {
    let db = TestDb::new().await;
    let (ring, _) = Keyring::generate("k").unwrap();
    let redactor = Redactor::new(Policy::default_for(Destination::Audit), CorrelationKey::new([1; 32]));
    let a = PgAuditLog::new(db.pool.clone(), "a", ring.clone(), redactor.clone());
    let b = PgAuditLog::new(db.pool.clone(), "b", ring.clone(), redactor);
    a.append(vec![NewEvent::new("x", "t", json!(1)), NewEvent::new("x", "t", json!(2))]).await.unwrap();
    let receipts = b.append(vec![NewEvent::new("x", "t", json!(1))]).await.unwrap();
    assert_eq!(receipts[0].seq, 0, "chain b starts at 0");

    let err = a
        .append(vec![NewEvent::new("fine", "t", json!({})), NewEvent::new("bad|type", "t", json!({}))])
        .await
        .unwrap_err();
    assert_eq!(err.class(), secops_core::ErrorClass::InvalidInput);
    assert!(err.to_string().contains("events[1]"), "{err}");
    assert_eq!(a.head().await.unwrap().next_seq, 2, "nothing of the refused batch was written");

    let too_big = json!({"blob": "x".repeat(300 * 1024)});
    let err = a.append(vec![NewEvent::new("x", "t", too_big)]).await.unwrap_err();
    assert!(err.to_string().contains("limit is 262144"), "{err}");
    assert!(verify_table(&a, None).await.unwrap().ok);
}
