//! The audit function's handler, as the state machines call it, on a real database.

use secops_audit::redact::{CorrelationKey, Destination, Policy, Redactor};
use secops_audit::step::AuditStep;
use secops_audit::{AnySigner, FileCheckpointStore, Keyring, PgAuditLog};
use secops_core::ErrorClass;
use secops_store::testing::TestDb;
use serde_json::json;

async fn step(db: &TestDb, dir: &std::path::Path) -> AuditStep<FileCheckpointStore> {
    let (ring, _) = Keyring::generate("k").unwrap();
    let redactor = Redactor::new(Policy::default_for(Destination::Audit), CorrelationKey::new([9; 32]));
    let log = PgAuditLog::new(db.pool.clone(), "main", AnySigner::Keyring(ring), redactor);
    AuditStep::new(log, FileCheckpointStore::new(dir.join("checkpoint.json")))
}

#[tokio::test]
async fn the_machines_record_checkpoint_and_verify_through_the_audit_function() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let step = step(&db, dir.path()).await;
    let exec = "arn:aws:states:us-east-1:123456789012:execution:findings:run-1";

    let out = step
        .handle(json!({"action": "record", "workflow": "findings", "execution_id": exec, "outcome": "suppressed", "details": {"finding": "f-1"}}))
        .await
        .unwrap();
    assert_eq!(out["recorded"][0]["seq"], 0);
    let out = step
        .handle(json!({"action": "record_failure", "workflow": "findings", "execution_id": exec, "stage": "ticketing",
                       "error": {"Error": "Transient", "Cause": "jira: 503"}, "details": {}}))
        .await
        .unwrap();
    assert_eq!(out["recorded"][0]["seq"], 1);
    let out = step
        .handle(json!({"action": "record_batch", "events": [
            {"event_type": "decide.routed", "actor": "decide", "payload": {"route": "ticket"}},
            {"event_type": "notify.ticket_opened", "actor": "notify", "payload": {"key": "SEC-1"}}]}))
        .await
        .unwrap();
    assert_eq!(out["recorded"].as_array().unwrap().len(), 2);

    let rows = db
        .pool
        .get()
        .await
        .unwrap()
        .query("SELECT event_type, actor FROM audit_events ORDER BY seq", &[])
        .await
        .unwrap();
    let types: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(types, ["findings.suppressed", "findings.failure.ticketing", "decide.routed", "notify.ticket_opened"]);
    assert_eq!(rows[0].get::<_, String>(1), format!("statemachine/findings execution {exec}"));

    let out = step.handle(json!({"action": "checkpoint", "execution_id": exec})).await.unwrap();
    assert_eq!(out["checkpoint"]["seq"], 3);
    assert_eq!(out["verified_events"], 4);
    let report = step.handle(json!({"action": "verify"})).await.unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["checkpoint"]["seq"], 3);
}

#[tokio::test]
async fn bad_input_is_invalid_input_with_the_path_and_a_damaged_chain_gets_no_checkpoint() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let step = step(&db, dir.path()).await;

    let err = step.handle(json!({"action": "record", "workflow": "findings"})).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::InvalidInput);
    assert!(err.message.contains("execution_id"), "{}", err.message);
    let err = step.handle(json!({"action": "shred"})).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::InvalidInput);
    let err = step
        .handle(json!({"action": "record_batch", "events": [{"event_type": "x", "actor": "a"}]}))
        .await
        .unwrap_err();
    assert!(err.message.contains("events[0]") && err.message.contains("payload"), "{}", err.message);
    let err = step
        .handle(
            json!({"action": "record", "workflow": "findings", "execution_id": "e", "outcome": "no spaces allowed"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::InvalidInput);

    step.handle(json!({"action": "record_batch", "events": [
        {"event_type": "a", "actor": "t", "payload": 1}, {"event_type": "b", "actor": "t", "payload": 2}]}))
        .await
        .unwrap();
    db.pool
        .get()
        .await
        .unwrap()
        .batch_execute(
            "ALTER TABLE audit_events DISABLE TRIGGER USER; UPDATE audit_events SET payload = '3' WHERE seq = 1",
        )
        .await
        .unwrap();
    let err = step.handle(json!({"action": "checkpoint"})).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(
        err.message.contains("no checkpoint was published") && err.message.contains("seq 1 payload_modified"),
        "{}",
        err.message
    );
    assert!(!dir.path().join("checkpoint.json").exists());
}
