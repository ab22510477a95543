//! Every way of tampering with a chain, in an export and in the table, and what verify says.

use secops_audit::jsonl::write_event;
use secops_audit::ops::{checkpoint, export, verify_export, verify_table};
use secops_audit::redact::{CorrelationKey, Destination, Policy, Redactor};
use secops_audit::verify::Report;
use secops_audit::{
    AuditSink, Checkpoint, FileCheckpointStore, Keyring, MemoryAuditLog, NewEvent, PgAuditLog, ProblemKind,
};
use secops_store::testing::TestDb;
use serde_json::{json, Value};

fn redactor() -> Redactor {
    Redactor::new(Policy::default_for(Destination::Audit), CorrelationKey::new([7; 32]))
}

fn keyring() -> Keyring {
    Keyring::generate("test-key-1").unwrap().0
}

fn events(n: usize) -> Vec<NewEvent> {
    (0..n)
        .map(|i| {
            NewEvent::new(
                "findings.remediated",
                "statemachine/findings execution:run-1",
                json!({"finding": format!("arn:aws:securityhub:eu-west-1:123456789012:finding/{i}"), "n": i, "score": 7.5}),
            )
        })
        .collect()
}

/// A chain of `n` events, exported as JSONL lines.
async fn exported(ring: &Keyring, n: usize) -> Vec<String> {
    let log = MemoryAuditLog::new(ring.clone(), redactor());
    log.append(events(n)).await.unwrap();
    log.events()
        .await
        .iter()
        .map(|e| {
            let mut out = Vec::new();
            write_event(&mut out, e).unwrap();
            String::from_utf8(out).unwrap().trim_end().to_owned()
        })
        .collect()
}

async fn verify_lines(ring: &Keyring, lines: &[String], cp: Option<Checkpoint>) -> Report {
    let text = lines.join("\n") + "\n";
    verify_export(&mut text.as_bytes(), "test.jsonl", ring, cp).await.unwrap()
}

fn edit(line: &str, f: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(line).unwrap();
    f(&mut v);
    serde_json::to_string(&v).unwrap()
}

fn kinds(report: &Report) -> Vec<(Option<i64>, ProblemKind)> {
    report.problems.iter().map(|p| (p.seq, p.kind)).collect()
}

#[tokio::test]
async fn an_intact_export_verifies_and_so_do_the_empty_chain_and_a_chain_of_one() {
    let ring = keyring();
    let lines = exported(&ring, 50).await;
    let report = verify_lines(&ring, &lines, None).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.events, 50);
    assert_eq!(report.head.as_ref().unwrap().seq, 49);

    let empty = verify_lines(&ring, &[], None).await;
    assert!(empty.ok && empty.events == 0, "{empty:?}");
    assert_eq!(empty.summary, "the chain is empty: nothing to verify");

    let one = verify_lines(&ring, &lines[..1], None).await;
    assert!(one.ok && one.events == 1, "{one:?}");
}

#[tokio::test]
async fn a_reformatted_export_still_verifies_because_the_payload_hash_is_canonical() {
    let ring = keyring();
    let lines = exported(&ring, 5).await;
    // Reorder the payload's keys and spell 7.5 as 7.50: the canonical form is the same.
    let changed: Vec<String> = lines
        .iter()
        .map(|l| {
            l.replace(",\"score\":7.5}", "}")
                .replace("\"payload\":{\"finding\"", "\"payload\":{\"score\":7.50,\"finding\"")
        })
        .collect();
    assert!(changed.iter().all(|l| l.contains("\"payload\":{\"score\":7.50,\"finding\"")), "{changed:?}");
    assert!(verify_lines(&ring, &changed, None).await.ok);
}

#[tokio::test]
async fn an_edited_payload_is_payload_modified_at_its_seq() {
    let ring = keyring();
    let mut lines = exported(&ring, 10).await;
    lines[4] = edit(&lines[4], |v| v["payload"]["n"] = json!(400));
    let report = verify_lines(&ring, &lines, None).await;
    assert_eq!(kinds(&report), vec![(Some(4), ProblemKind::PayloadModified)], "{report:#?}");
}

#[tokio::test]
async fn a_payload_edited_together_with_its_hash_is_a_bad_signature() {
    let ring = keyring();
    let mut lines = exported(&ring, 10).await;
    lines[6] = edit(&lines[6], |v| {
        v["payload"]["n"] = json!(600);
        let canonical = serde_json_canonicalizer::to_string(&v["payload"]).unwrap();
        v["event_hash"] = json!(secops_audit::event::sha256_hex(canonical.as_bytes()));
    });
    let report = verify_lines(&ring, &lines, None).await;
    assert_eq!(kinds(&report), vec![(Some(6), ProblemKind::BadSignature)], "{report:#?}");
}

#[tokio::test]
async fn an_edited_signature_is_a_bad_signature_at_its_seq() {
    let ring = keyring();
    let mut lines = exported(&ring, 10).await;
    lines[3] = edit(&lines[3], |v| {
        let sig = v["signature"].as_str().unwrap();
        let flipped = if sig.starts_with('0') { "1" } else { "0" };
        v["signature"] = json!(format!("{flipped}{}", &sig[1..]));
    });
    let report = verify_lines(&ring, &lines, None).await;
    assert_eq!(kinds(&report), vec![(Some(3), ProblemKind::BadSignature)], "{report:#?}");
}

#[tokio::test]
async fn a_deleted_event_is_a_seq_gap_and_a_deleted_first_event_too() {
    let ring = keyring();
    let mut lines = exported(&ring, 10).await;
    lines.remove(5);
    let report = verify_lines(&ring, &lines, None).await;
    assert_eq!(kinds(&report), vec![(Some(5), ProblemKind::SeqGap)], "{report:#?}");
    let p = &report.problems[0];
    assert_eq!((p.expected.as_deref(), p.found.as_deref()), (Some("seq 5"), Some("seq 6")));

    let mut lines = exported(&ring, 10).await;
    lines.remove(0);
    let report = verify_lines(&ring, &lines, None).await;
    assert_eq!(kinds(&report), vec![(Some(0), ProblemKind::SeqGap)], "{report:#?}");
}

#[tokio::test]
async fn an_inserted_event_is_named_by_its_foreign_signature_and_its_duplicate_seq() {
    let ring = keyring();
    let mut lines = exported(&ring, 10).await;
    // A forged copy of seq 5 that links correctly but is signed by an unlisted key…
    let forged = edit(&lines[5], |v| {
        v["key_id"] = json!("attacker-key");
        v["payload"]["n"] = json!("forged");
    });
    lines.insert(5, forged);
    let report = verify_lines(&ring, &lines, None).await;
    let found = kinds(&report);
    assert!(
        found.contains(&(Some(5), ProblemKind::UnknownKey)) || found.contains(&(Some(5), ProblemKind::PayloadModified)),
        "{report:#?}"
    );
    assert!(found.contains(&(Some(5), ProblemKind::SeqDuplicate)), "{report:#?}");
    assert!(found.iter().all(|(seq, _)| *seq == Some(5)), "nothing after the insertion is blamed: {report:#?}");

    // …and an event appended at the tail, signed with a key of the same name but another secret.
    let foreign = Keyring::from_json(
        &serde_json::to_string(&json!({"active": "test-key-1", "keys": [{"id": "test-key-1", "secret": "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=", "created_at": "x"}]}))
            .unwrap(),
        "foreign",
    )
    .unwrap();
    let mut lines = exported(&ring, 4).await;
    let theirs = exported(&foreign, 5).await;
    lines.push(theirs[4].clone());
    let report = verify_lines(&ring, &lines, None).await;
    let found = kinds(&report);
    assert!(found.contains(&(Some(4), ProblemKind::BadSignature)), "{report:#?}");
}

#[tokio::test]
async fn swapped_events_are_reordered() {
    let ring = keyring();
    let mut lines = exported(&ring, 10).await;
    lines.swap(3, 4);
    let report = verify_lines(&ring, &lines, None).await;
    assert_eq!(kinds(&report), vec![(Some(3), ProblemKind::Reordered)], "{report:#?}");
}

#[tokio::test]
async fn a_cut_tail_is_truncated_behind_the_checkpoint_and_a_rewritten_one_is_a_mismatch() {
    let ring = keyring();
    let lines = exported(&ring, 10).await;
    let head: Value = serde_json::from_str(&lines[9]).unwrap();
    let cp = Checkpoint::sign(&ring, "main", 9, head["chain_hash"].as_str().unwrap()).await.unwrap();
    assert!(verify_lines(&ring, &lines, Some(cp.clone())).await.ok);

    let report = verify_lines(&ring, &lines[..7], Some(cp.clone())).await;
    assert_eq!(kinds(&report), vec![(Some(7), ProblemKind::Truncated)], "{report:#?}");
    assert_eq!(report.problems[0].found.as_deref(), Some("last seq 6"));

    let report = verify_lines(&ring, &[], Some(cp.clone())).await;
    assert_eq!(kinds(&report), vec![(Some(0), ProblemKind::Truncated)], "an emptied chain: {report:#?}");

    // Without the checkpoint, the same cut is invisible: that is why checkpoints exist.
    assert!(verify_lines(&ring, &lines[..7], None).await.ok);

    // A checkpoint signed by someone else is not trusted.
    let (other, _) = Keyring::generate("other").unwrap();
    let forged_cp = Checkpoint::sign(&other, "main", 3, &"00".repeat(32)).await.unwrap();
    let report = verify_lines(&ring, &lines, Some(forged_cp)).await;
    assert_eq!(kinds(&report), vec![(Some(3), ProblemKind::BadCheckpoint)], "{report:#?}");

    let moved = Checkpoint::sign(&ring, "main", 5, &"ab".repeat(32)).await.unwrap();
    let report = verify_lines(&ring, &lines, Some(moved)).await;
    assert_eq!(kinds(&report), vec![(Some(5), ProblemKind::CheckpointMismatch)], "{report:#?}");
}

#[tokio::test]
async fn a_foreign_key_is_unknown_and_a_retired_key_still_verifies() {
    let ring = keyring();
    let lines = exported(&ring, 3).await;
    let (stranger, _) = Keyring::generate("someone-else").unwrap();
    let report = verify_lines(&stranger, &lines, None).await;
    assert_eq!(report.problem_count, 3);
    assert!(report.problems.iter().all(|p| p.kind == ProblemKind::UnknownKey), "{report:#?}");
    assert_eq!(report.problems[0].found.as_deref(), Some("test-key-1"));

    // Rotation: a keyring that lists the old key as retired verifies its events.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    let first = secops_audit::signer::load_or_create_key_file(&path).unwrap();
    let before = exported(&first, 3).await;
    secops_audit::signer::rotate_key_file(&path).unwrap();
    let rotated = secops_audit::signer::load_key_file(&path).unwrap();
    assert!(verify_lines(&rotated, &before, None).await.ok);
}

#[tokio::test]
async fn corrupt_lines_are_malformed_with_their_line_number_and_the_walk_goes_on() {
    let ring = keyring();
    let mut lines = exported(&ring, 6).await;
    lines[2] = "{\"seq\": 2, \"event_id\": ".into();
    lines.insert(4, "not json at all".into());
    let report = verify_lines(&ring, &lines, None).await;
    let malformed: Vec<Option<u64>> =
        report.problems.iter().filter(|p| p.kind == ProblemKind::Malformed).map(|p| p.line).collect();
    assert_eq!(malformed, vec![Some(3), Some(5)], "{report:#?}");
    assert!(kinds(&report).contains(&(Some(2), ProblemKind::SeqGap)), "the lost event is a gap: {report:#?}");
    assert!(
        report.problems.iter().any(|p| p.kind == ProblemKind::Malformed && p.message.starts_with("line 3: ")),
        "{report:#?}"
    );
}

// ---------------------------------------------------------------- the table

async fn table_with(n: usize) -> (TestDb, PgAuditLog<Keyring>) {
    let db = TestDb::new().await;
    let log = PgAuditLog::new(db.pool.clone(), "main", keyring(), redactor());
    for chunk in events(n).chunks(7) {
        log.append(chunk.to_vec()).await.unwrap();
    }
    (db, log)
}

async fn tamper(db: &TestDb, sql: &str) {
    let client = db.pool.get().await.unwrap();
    client
        .batch_execute(&format!(
            "ALTER TABLE audit_events DISABLE TRIGGER USER; {sql}; ALTER TABLE audit_events ENABLE TRIGGER USER;"
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_table_refuses_updates_and_deletes() {
    let (db, _log) = table_with(3).await;
    let client = db.pool.get().await.unwrap();
    let err = client.execute("UPDATE audit_events SET actor = 'x' WHERE seq = 1", &[]).await.unwrap_err();
    assert!(err.to_string().contains("append-only") || format!("{err:?}").contains("append-only"), "{err:?}");
    assert!(client.execute("DELETE FROM audit_events", &[]).await.is_err());
    assert!(client.batch_execute("TRUNCATE audit_events").await.is_err());
}

#[tokio::test]
async fn tampering_in_the_table_is_named_by_seq_and_kind() {
    let (db, log) = table_with(30).await;
    assert!(verify_table(&log, None).await.unwrap().ok);

    tamper(&db, "UPDATE audit_events SET payload = jsonb_set(payload, '{n}', '999') WHERE seq = 4").await;
    tamper(&db, "UPDATE audit_events SET signature = repeat('0', 64) WHERE seq = 9").await;
    tamper(&db, "DELETE FROM audit_events WHERE seq = 14").await;
    // Swap 20 and 21 the only way a table can reorder: by their seq numbers.
    tamper(&db, "UPDATE audit_events SET seq = 1000000 WHERE seq = 20; UPDATE audit_events SET seq = 20 WHERE seq = 21; UPDATE audit_events SET seq = 21 WHERE seq = 1000000").await;
    tamper(&db, "UPDATE audit_events SET actor = 'someone else' WHERE seq = 25").await;
    let report = verify_table(&log, None).await.unwrap();
    assert_eq!(
        kinds(&report),
        vec![
            (Some(4), ProblemKind::PayloadModified),
            (Some(9), ProblemKind::BadSignature),
            (Some(14), ProblemKind::SeqGap),
            (Some(20), ProblemKind::Reordered),
            (Some(21), ProblemKind::Reordered),
            (Some(25), ProblemKind::ChainHashMismatch),
        ],
        "{report:#?}"
    );
}

#[tokio::test]
async fn an_event_inserted_into_the_table_and_a_cut_tail_are_found() {
    let (db, log) = table_with(12).await;
    let store_dir = tempfile::tempdir().unwrap();
    let store = FileCheckpointStore::new(store_dir.path().join("checkpoint.json"));
    let outcome = checkpoint(&log, &store).await.unwrap();
    assert_eq!(outcome.checkpoint.as_ref().unwrap().seq, 11);

    // An event signed by a key the verifier does not list, at the next seq.
    let (mallory, _) = Keyring::generate("mallory").unwrap();
    let rogue = PgAuditLog::new(db.pool.clone(), "main", mallory, redactor());
    rogue
        .append(vec![NewEvent::new("findings.suppressed", "mallory", json!({"why": "nothing to see"}))])
        .await
        .unwrap();
    let report = verify_table(&log, store_latest(&store).await).await.unwrap();
    assert_eq!(kinds(&report), vec![(Some(12), ProblemKind::UnknownKey)], "{report:#?}");

    // Cut everything after seq 8: the checkpoint of seq 11 shows it.
    tamper(&db, "DELETE FROM audit_events WHERE seq > 8").await;
    let report = verify_table(&log, store_latest(&store).await).await.unwrap();
    assert_eq!(kinds(&report), vec![(Some(9), ProblemKind::Truncated)], "{report:#?}");

    // And no new checkpoint is published over a damaged chain.
    let outcome = checkpoint(&log, &store).await.unwrap();
    assert!(outcome.checkpoint.is_none() && !outcome.report.ok);
    assert_eq!(store_latest(&store).await.unwrap().seq, 11);
}

async fn store_latest(store: &FileCheckpointStore) -> Option<Checkpoint> {
    use secops_audit::CheckpointStore;
    store.latest().await.unwrap()
}

#[tokio::test]
async fn an_export_of_the_table_verifies_offline_and_checkpoints_resume() {
    let (_db, log) = table_with(40).await;
    let mut out = Vec::new();
    assert_eq!(export(&log, &mut out).await.unwrap(), 40);
    let report = verify_export(&mut out.as_slice(), "export", log.signer(), None).await.unwrap();
    assert!(report.ok, "{report:#?}");

    let dir = tempfile::tempdir().unwrap();
    let store = FileCheckpointStore::new(dir.path().join("cp.json"));
    let first = checkpoint(&log, &store).await.unwrap();
    assert_eq!(first.verified_events, 40);
    log.append(events(5)).await.unwrap();
    let second = checkpoint(&log, &store).await.unwrap();
    assert_eq!(second.verified_events, 6, "resumes at the checkpointed event: {second:?}");
    assert_eq!(second.checkpoint.unwrap().seq, 44);
}
