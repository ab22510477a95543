//! triage.asl.json end to end on the embedded executor over a generated estate: the real triage,
//! notify and audit steps over PostgreSQL, and the real `analyst` binary as an isolated subprocess
//! per finding (offline analyst, read-only database role). Three analyses are sabotaged — one
//! process crashes, one hangs past its wall-clock limit, one exits without reporting — and are
//! recorded as failed while the rest succeed; a finding that already has a ticket is skipped; every
//! report is schema-valid and filed once.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use secops_asl::ecs_task::AnalystLimits;
use secops_asl::ExecutionStatus;
use secops_core::outbound::TicketKind;
use secops_inventory::fixtures::{EstateSpec, MIN_INSTANCES};
use secops_soar::state::TicketRecord;
use secops_triage::report::Report;
use serde_json::{json, Value};
use support::world;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_selected_finding_is_analysed_or_recorded_as_failed_and_ticketed_ones_are_skipped() {
    let spec = EstateSpec { accounts: 2, instances: MIN_INSTANCES.max(24), findings: 80, ..Default::default() };
    let mut w = world(&spec).await;
    let candidates = w.candidates().await;
    let sources: std::collections::BTreeSet<&str> = candidates.iter().map(|(s, _)| s.as_str()).collect();
    assert!(candidates.len() >= 20, "the estate has findings to triage: {}", candidates.len());
    assert!(sources.len() >= 3, "several sources among the heaviest findings: {sources:?}");

    // One finding already has an open ticket: it must be skipped.
    let (ticketed_source, ticketed) = candidates[1].clone();
    w.soar
        .store
        .insert_ticket(&TicketRecord {
            finding_id: ticketed.clone(),
            ticket_id: "SEC-1".into(),
            kind: TicketKind::Team,
            account_id: String::new(),
            control_id: None,
            title: "already ticketed".into(),
            severity: "HIGH".into(),
            environment: None,
            team: None,
            penalty_score: 1.0,
            opened_at: time::OffsetDateTime::now_utc(),
            closed_at: None,
            reminders: vec![],
            expires_at: None,
        })
        .await
        .unwrap();

    // Three sabotaged analyses: a crash, a hang, and an exit without a report.
    let (crash, hang, silent) = (candidates[0].1.clone(), candidates[3].1.clone(), candidates[5].1.clone());
    let bad = BTreeMap::from([
        (crash.clone(), w.runner("/bin/sh").with_command(["-c", "echo 'segfault in analyse' >&2; kill -SEGV $$"])),
        (
            hang.clone(),
            w.runner("/bin/sleep")
                .with_command(["600"])
                .with_limits(AnalystLimits { wall_clock: Some(Duration::from_secs(2)), ..AnalystLimits::standard() }),
        ),
        (silent.clone(), w.runner("/bin/sh").with_command(["-c", "echo '{not json'"])),
    ]);
    let real = w.analyst(env!("CARGO_BIN_EXE_analyst"), &[]);
    let result = w.run(json!({"since": "2020-01-01T00:00:00Z", "limit": 12, "concurrency": 4}), real, bad).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{:#}", result.summary());
    let output = result.summary()["output"].clone();

    assert_eq!(output["counts"]["already_ticketed"], 1, "{:#}", output["counts"]);
    assert_eq!(output["counts"]["selected"], 12);
    let totals = &output["batch"]["totals"];
    assert_eq!((totals["analysed"].as_u64(), totals["failed"].as_u64()), (Some(9), Some(3)), "{totals:#}");
    assert_eq!(totals["unfinished"], 0);

    // The failures carry their reasons.
    let failures: BTreeMap<String, String> = totals["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["finding_id"].as_str().unwrap().to_owned(), f["reason"].as_str().unwrap().to_owned()))
        .collect();
    assert!(failures[&crash].contains("SIGSEGV") || failures[&crash].contains("signal 11"), "{}", failures[&crash]);
    assert!(failures[&hang].contains("wall-clock limit"), "{}", failures[&hang]);
    assert!(failures[&silent].contains("without reporting"), "{}", failures[&silent]);

    // Every analysed finding has a schema-valid report, a rendering and one ticket; the ticketed
    // finding was never selected.
    let client = w.db.pool.get().await.unwrap();
    let rows = client
        .query("SELECT source, finding_id, status, report, markdown, ticket_id FROM triage_reports", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 12);
    assert!(!rows.iter().any(|r| r.get::<_, String>(1) == ticketed && r.get::<_, String>(0) == ticketed_source));
    let mut tickets = std::collections::BTreeSet::new();
    for row in rows.iter().filter(|r| r.get::<_, String>(2) == "analysed") {
        let report: Value = row.get(3);
        let parsed = Report::parse(&report).unwrap_or_else(|e| panic!("{e}: {report:#}"));
        assert_eq!(parsed.finding.id, row.get::<_, String>(1));
        assert_eq!(parsed.analyst.provider, "offline");
        assert!(!parsed.analyst.fallback);
        assert!(row.get::<_, String>(4).contains(parsed.assessment.verdict.label()));
        tickets.insert(row.get::<_, Option<String>>(5).expect("a ticket per analysed finding"));
    }
    assert_eq!(tickets.len(), 9, "one distinct ticket per analysed finding");
    let open = w.soar.store.open_tickets().await.unwrap();
    assert_eq!(open.len(), 10, "nine filed by triage and the one that was there");

    // Each failure is in the audit log.
    let audited: i64 = client
        .query_one("SELECT count(*) FROM audit_events WHERE event_type = 'triage.failure.analysis'", &[])
        .await
        .map(|r| r.get(0))
        .unwrap_or(-1);
    assert_eq!(audited, 3);

    // The next run skips everything that is now ticketed and selects the three failures again.
    let again = w
        .step
        .handle(json!({"action": "select_findings", "execution_id": "run-2", "input": {"since": "2020-01-01T00:00:00Z", "limit": 12}}))
        .await
        .unwrap();
    assert_eq!(again["counts"]["already_ticketed"], 10, "{again:#}");
    let again_ids: Vec<&str> =
        again["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    for id in [&crash, &hang, &silent] {
        assert!(again_ids.contains(&id.as_str()), "{id} is selected again");
    }
    w.server.stop().await;
}
