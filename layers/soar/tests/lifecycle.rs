//! The ticket lifecycle and incident responses over real components: open (once, however often
//! it is replayed), close with time-to-close, overdue reminders under a moved clock, isolation,
//! and failure tickets for findings that could not even be read.

mod common;

use common::harness::*;
use secops_core::scratchpad::{Decision, Scratchpad};
use secops_soar::decide::{classify_incident, decide, DecideInput, EventRef};
use secops_soar::respond::notify_incident;
use secops_soar::state::{TicketKind, TicketRecord};
use secops_soar::tickets::lifecycle::{close_ticket, open_failure_ticket, open_ticket, send_reminders};
use serde_json::{json, Value};
use time::Duration;

async fn decided(h: &Harness, finding: Value, execution: &str) -> Scratchpad {
    let input = DecideInput {
        finding,
        event: EventRef { id: "evt".into(), time: String::new() },
        index: Some(0),
        execution_id: Some(execution.into()),
    };
    decide(&h.soar, input).await.unwrap()
}

#[tokio::test]
async fn a_team_ticket_is_opened_once_and_the_finding_says_so() {
    let h = Harness::new().await;
    let pad = decided(&h, failed_control(PROD), "exec-1").await;
    assert_eq!(pad.decision, Some(Decision::FailedControl));
    let opened = open_ticket(&h.soar, TicketKind::Team, pad.clone()).await.unwrap();
    let ticket = opened.ticket.clone().unwrap();
    assert!(ticket.open && ticket.id.starts_with("LOCAL-"), "{ticket:?}");
    let text = std::fs::read_to_string(h.tickets_dir().join(format!("{}.md", ticket.id))).unwrap();
    assert!(text.contains("TEAM FIX: Security groups should not allow unrestricted access"), "{text}");
    assert!(text.contains("| Penalty score | `22.5` |"), "{text}");

    // The same step replayed by this execution and by another: the same ticket, nothing new.
    let again = open_ticket(&h.soar, TicketKind::Team, pad.clone()).await.unwrap();
    assert_eq!(again.ticket, opened.ticket);
    let mut other = pad.clone();
    other.extra.insert("execution_id".into(), json!("exec-2"));
    let replayed = open_ticket(&h.soar, TicketKind::Team, other).await.unwrap();
    assert_eq!(replayed.ticket, opened.ticket);
    assert_eq!(h.ticket_files(), 1);

    let updates = h.hub.updates_for(&pad.finding.id).await.unwrap();
    assert_eq!(updates.len(), 1, "exactly one status write: {updates:?}");
    assert_eq!(updates[0].workflow_status.as_deref(), Some("NOTIFIED"));
    assert_eq!(updates[0].user_defined_fields, json!({"TicketOpen": "Yes", "TicketId": ticket.id}));
    let stored = h.soar.store.ticket(&pad.finding.id).await.unwrap().unwrap();
    assert_eq!((stored.kind, stored.severity.as_str(), stored.penalty_score), (TicketKind::Team, "CRITICAL", 22.5));
}

#[tokio::test]
async fn a_resolved_finding_closes_its_ticket_and_records_time_to_close() {
    let h = Harness::new().await;
    let pad = decided(&h, failed_control(PROD), "exec-1").await;
    let opened = open_ticket(&h.soar, TicketKind::Team, pad).await.unwrap();
    let ticket_id = opened.ticket.unwrap().id;

    h.clock.advance(Duration::hours(30));
    // Security Hub's newer behaviour: the fixed finding stays NOTIFIED and flips to PASSED.
    let fixed = with(failed_control(PROD), "/Workflow/Status", "NOTIFIED".into());
    let fixed = with(fixed, "/Compliance/Status", "PASSED".into());
    let fixed = with(fixed, "/UpdatedAt", "2026-03-05T15:00:00.000Z".into());
    let fixed = with(fixed, "/UserDefinedFields", json!({"TicketOpen": "Yes", "TicketId": ticket_id}));
    let pad = decided(&h, fixed, "exec-2").await;
    assert_eq!(pad.decision, Some(Decision::CloseTicket));
    let closed = close_ticket(&h.soar, pad.clone()).await.unwrap();
    assert_eq!(closed.extra["ticket_closed"]["time_to_close_seconds"], json!(30 * 3600));
    assert_eq!(closed.ticket.as_ref().map(|t| t.open), Some(false));
    let again = close_ticket(&h.soar, pad.clone()).await.unwrap();
    assert_eq!(again.extra["ticket_closed"], closed.extra["ticket_closed"], "a replay reports the stored result");

    let text = std::fs::read_to_string(h.tickets_dir().join(format!("{ticket_id}.md"))).unwrap();
    assert_eq!(text.matches("## Closed").count(), 1, "{text}");
    let record = h.soar.store.ticket(&pad.finding.id).await.unwrap().unwrap();
    assert_eq!(record.duration_seconds(), Some(30 * 3600));
    assert!(record.expires_at.is_some());
    let updates = h.hub.updates_for(&pad.finding.id).await.unwrap();
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[1].workflow_status, None, "closing changes only the ticket fields");
    assert_eq!(updates[1].user_defined_fields, json!({"TicketOpen": "No", "TicketId": ticket_id}));
}

fn open_ticket_record(finding_id: &str, severity: &str) -> TicketRecord {
    TicketRecord {
        finding_id: finding_id.into(),
        ticket_id: format!("LOCAL-{}", finding_id.to_uppercase()),
        kind: TicketKind::Team,
        account_id: PROD.into(),
        control_id: Some("EC2.19".into()),
        title: format!("{severity} finding"),
        severity: severity.into(),
        environment: Some("PROD".into()),
        team: Some("payments".into()),
        penalty_score: 1.0,
        opened_at: T0,
        closed_at: None,
        reminders: vec![],
        expires_at: None,
    }
}

/// Reminders sent at one clock reading: (finding, reminder) pairs, sorted.
async fn remind_at(h: &Harness, after: Duration) -> Vec<(String, String)> {
    h.clock.set(T0 + after);
    let out = send_reminders(&h.soar, "housekeeping-test").await.unwrap();
    let mut sent: Vec<(String, String)> = out["sent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["finding_id"].as_str().unwrap().to_owned(), s["reminder"].as_str().unwrap().to_owned()))
        .collect();
    sent.sort();
    sent
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[tokio::test]
async fn overdue_reminders_follow_the_severity_deadlines_on_a_virtual_clock() {
    let h = Harness::new().await;
    for (id, severity) in [
        ("crit", "CRITICAL"),
        ("high", "HIGH"),
        ("med", "MEDIUM"),
        ("low", "LOW"),
        ("info", "INFORMATIONAL"),
        ("gone", "CRITICAL"),
    ] {
        let record = open_ticket_record(id, severity);
        h.soar.store.insert_ticket(&record).await.unwrap();
        std::fs::create_dir_all(h.tickets_dir()).unwrap();
        std::fs::write(h.tickets_dir().join(format!("{}.md", record.ticket_id)), "# ticket\n").unwrap();
    }
    h.soar.store.close_ticket("gone", T0 + Duration::hours(1), T0 + Duration::days(365)).await.unwrap();

    assert_eq!(remind_at(&h, Duration::hours(3) + Duration::minutes(59)).await, pairs(&[]));
    assert_eq!(remind_at(&h, Duration::hours(4)).await, pairs(&[("crit", "deadline")]));
    assert_eq!(remind_at(&h, Duration::hours(5)).await, pairs(&[]), "one reminder per deadline");
    assert_eq!(remind_at(&h, Duration::hours(8)).await, pairs(&[("crit", "escalation"), ("high", "deadline")]));
    assert_eq!(remind_at(&h, Duration::hours(16)).await, pairs(&[("high", "escalation")]));
    assert_eq!(remind_at(&h, Duration::days(14) - Duration::seconds(1)).await, pairs(&[]));
    assert_eq!(remind_at(&h, Duration::days(14)).await, pairs(&[("med", "deadline")]));
    assert_eq!(
        remind_at(&h, Duration::days(28)).await,
        pairs(&[("low", "deadline")]),
        "MEDIUM and LOW are not escalated"
    );
    assert_eq!(remind_at(&h, Duration::days(400)).await, pairs(&[]), "INFORMATIONAL is never overdue");

    let crit = h.soar.store.ticket("crit").await.unwrap().unwrap();
    assert_eq!(crit.reminders, vec!["deadline".to_owned(), "escalation".to_owned()]);
    let text = std::fs::read_to_string(h.tickets_dir().join("LOCAL-CRIT.md")).unwrap();
    assert!(text.contains("OVERDUE: this CRITICAL ticket") && text.contains("ESCALATION:"), "{text}");
    let alerts = h.lines("alerts.jsonl");
    assert_eq!(alerts.len(), 2, "escalations alert: {alerts:?}");
    assert!(alerts.iter().all(|a| a["message"]["title"].as_str().unwrap().starts_with("Escalation: ticket LOCAL-")));
}

#[tokio::test]
async fn an_ec2_incident_is_isolated_ticketed_and_alerted_once() {
    let h = Harness::new().await;
    let pad = decided(&h, fixture("guardduty-backdoor-c2-dns"), "exec-1").await;
    assert_eq!(pad.decision, Some(Decision::Incident));
    let pad = classify_incident(&h.soar, pad).unwrap();
    assert_eq!(pad.extra["incident"]["family"], "ec2");
    assert_eq!(pad.extra["incident"]["instance_id"], "i-0123456789abcdef0");
    assert_eq!(pad.extra["incident"]["response"]["isolate"], json!(true), "HIGH EC2 incidents are isolated by default");
    assert_eq!(pad.extra["incident"]["response"]["terminate"], json!(false), "termination is opt-in");

    let handled = notify_incident(&h.soar, pad.clone()).await.unwrap();
    let done = &handled.extra["incident_response"];
    assert_eq!(done["isolation"]["instance_id"], "i-0123456789abcdef0");
    assert_eq!(done["isolation"]["plan_only"], json!(true));
    assert!(done["ticket"]["ticket_id"].as_str().unwrap().starts_with("LOCAL-"));
    let replay = notify_incident(&h.soar, pad).await.unwrap();
    assert!(replay.extra["incident_response"]["isolation"]["already_done"].is_object());

    assert_eq!(h.lines("quarantine-plans.jsonl").len(), 1, "never re-isolated");
    assert_eq!(h.lines("alerts.jsonl").len(), 1);
    assert_eq!(h.ticket_files(), 1);
    // The SOC's incident ticket is not a team ticket: the finding's later SUPPRESSED update does
    // not close it.
    assert_eq!(h.soar.store.ticket(&handled.finding.id).await.unwrap(), None);
}

#[tokio::test]
async fn a_finding_that_cannot_be_read_still_gets_a_ticket() {
    let h = Harness::new().await;
    let item = json!({
        "index": 4,
        "finding": {"Id": "broken-1", "Severity": {"Label": "SEVERE"}},
        "event": {"id": "evt-9", "time": "2026-03-04T09:00:00Z"},
        "error": {"Error": "InvalidInput", "Cause": "finding #4: Severity.Label: unknown severity label 'SEVERE'"}
    });
    let out = open_failure_ticket(&h.soar, item.clone()).await.unwrap();
    let id = out["ticket"]["id"].as_str().unwrap().to_owned();
    let text = std::fs::read_to_string(h.tickets_dir().join(format!("{id}.md"))).unwrap();
    assert!(text.contains("NEEDS A PERSON: finding broken-1") && text.contains("unknown severity label"), "{text}");
    let again = open_failure_ticket(&h.soar, item).await.unwrap();
    assert_eq!(again["ticket"]["id"], json!(id));
    assert_eq!(h.ticket_files(), 1);
}
