//! Open, close and remind: the ticket actions the state machines send the notify function.
//! Every external effect (a ticket filed, a comment, a status write) runs once per finding
//! version through a claim, so replays and retries never duplicate one.

use secops_core::asff::{parse_finding_value, SeverityLabel, WorkflowStatus};
use secops_core::scratchpad::{Scratchpad, TicketRef};
use serde_json::{json, Value};

use crate::decide::{owner_of, owner_or_one_off, write_status, EXECUTION_KEY};
use crate::deps::{Once, Soar};
use crate::hub::FindingChange;
use crate::route::{ticket_in_finding, TICKET_ID_FIELD, TICKET_OPEN_FIELD};
use crate::state::{ClaimKey, TicketKind, TicketRecord};
use crate::tickets::text;
use crate::tickets::{Alert, NewTicket};
use crate::{Result, SoarError};

fn ticket_fields(open: bool, id: &str) -> FindingChange {
    let mut change = FindingChange::default();
    change.user_defined_fields.insert(TICKET_OPEN_FIELD.into(), if open { "Yes" } else { "No" }.into());
    change.user_defined_fields.insert(TICKET_ID_FIELD.into(), id.into());
    change
}

fn record_for(kind: TicketKind, pad: &Scratchpad, ticket_id: &str, soar: &Soar) -> TicketRecord {
    let f = &pad.finding;
    TicketRecord {
        finding_id: f.id.clone(),
        ticket_id: ticket_id.to_owned(),
        kind,
        account_id: f.aws_account_id.clone(),
        control_id: crate::route::control_id(f),
        title: f.title.clone(),
        severity: f.severity_label().map(|s| s.as_str()).unwrap_or("INFORMATIONAL").to_owned(),
        environment: pad.extra.get("environment").and_then(Value::as_str).map(str::to_owned),
        team: pad.account.team.clone(),
        penalty_score: pad.penalty_score.unwrap_or(0.0),
        opened_at: soar.clock.now(),
        closed_at: None,
        reminders: vec![],
        expires_at: None,
    }
}

/// `open_ticket` for a team fix or an automatic fix. A team ticket sets the finding NOTIFIED with
/// `TicketOpen`/`TicketId`; an AUTOFIXED ticket documents the change and is closed at once
/// (`resolve_finding` follows and sets RESOLVED).
pub async fn open_ticket(soar: &Soar, kind: TicketKind, mut pad: Scratchpad) -> Result<Scratchpad> {
    if kind == TicketKind::Failure || kind == TicketKind::Incident {
        return Err(SoarError::InvalidInput(format!("open_ticket kind '{}' goes through its own path", kind.as_str())));
    }
    let f = pad.finding.clone();
    let owner = owner_of(&pad);
    let key = ClaimKey::new(&f.id, &format!("ticket:{}", kind.as_str()), &f.updated_at);
    let outcome = soar
        .once(key.clone(), &owner, || async {
            // A finding with an open team ticket keeps it: no second ticket for the same problem.
            let existing = soar.store.ticket(&f.id).await?.filter(|t| t.is_open());
            let ticket_id = match existing {
                Some(t) if kind == TicketKind::Team => t.ticket_id,
                _ => {
                    let new = NewTicket {
                        kind,
                        finding_id: f.id.clone(),
                        project: pad.account.project_id.clone(),
                        summary: text::summary(kind, &pad),
                        body: text::body(kind, &pad),
                        severity: f.severity_label().map(|s| s.as_str()).unwrap_or("INFORMATIONAL").to_owned(),
                        labels: vec!["secops-autopilot".into(), kind.as_str().into()],
                        idempotency_key: key.to_string(),
                    };
                    let id = soar.ticketing.open(&new).await?;
                    let record = record_for(kind, &pad, &id, soar);
                    if kind == TicketKind::Autofixed {
                        soar.ticketing.close(&id, "Fixed automatically; kept as a record of the change.").await?;
                    } else if !soar.store.insert_ticket(&record).await? {
                        tracing::warn!(finding_id = %f.id, ticket_id = %id, "another ticket was recorded open for this finding meanwhile");
                    }
                    id
                }
            };
            Ok(json!({"ticket_id": ticket_id}))
        })
        .await?;
    let ticket_id = match &outcome {
        Once::Ran(v) | Once::Replayed(v) => v["ticket_id"].as_str().unwrap_or_default().to_owned(),
        Once::Busy { owner } => {
            pad.extra.insert("ticketing".into(), json!({"in_progress_elsewhere": owner}));
            return Ok(pad);
        }
    };
    if kind == TicketKind::Team {
        let mut change = ticket_fields(true, &ticket_id);
        change.workflow_status = Some(WorkflowStatus::Notified);
        change.note = Some(format!("Ticket {ticket_id} opened for the team by SecOps Autopilot"));
        let written = write_status(soar, &pad, "status:NOTIFIED", change).await?;
        pad.extra.insert("status_update".into(), written);
    }
    pad.ticket = Some(TicketRef { open: kind == TicketKind::Team, id: ticket_id });
    Ok(pad)
}

/// `open_ticket` with kind `failure`: the input is whatever the failed path had (a scratchpad,
/// or the Map item with a finding that may not even parse) plus `error`.
pub async fn open_failure_ticket(soar: &Soar, mut input: Value) -> Result<Value> {
    let raw_finding = input.get("finding").cloned().unwrap_or(Value::Null);
    let parsed = parse_finding_value(&raw_finding).ok();
    let error = input.get("error").cloned().unwrap_or(Value::Null);
    let event_id = input.pointer("/event/id").and_then(Value::as_str).unwrap_or("unknown event").to_owned();
    let index = input.get("index").and_then(Value::as_u64);
    let (finding_id, version) = match &parsed {
        Some(f) => (f.id.clone(), f.updated_at.clone()),
        None => (
            raw_finding
                .get("Id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{event_id}#{}", index.map(|i| i.to_string()).unwrap_or_default())),
            event_id.clone(),
        ),
    };
    let owner = owner_or_one_off(input.get(EXECUTION_KEY).and_then(Value::as_str));
    let key = ClaimKey::new(&finding_id, "ticket:failure", &version);
    let outcome = soar
        .once(key.clone(), &owner, || async {
            let title = parsed.as_ref().map(|f| f.title.clone()).unwrap_or_else(|| format!("finding {finding_id}"));
            let mut body = match &parsed {
                Some(f) => {
                    let mut pad = Scratchpad::new(f.clone(), &soar.flags);
                    pad.decision_reason = Some("the pipeline failed on this finding".into());
                    text::body(TicketKind::Failure, &pad)
                }
                None => format!(
                    "Finding {index} of event {event_id} could not be read, so it could not be processed. \
                     It is kept as a dead letter with the raw input.\n",
                    index = index.map(|i| format!("#{i}")).unwrap_or_default()
                ),
            };
            body.push_str(&format!(
                "\n**Error:**\n\n{}\n",
                text::quoted(&serde_json::to_string_pretty(&error).unwrap_or_default())
            ));
            let new = NewTicket {
                kind: TicketKind::Failure,
                finding_id: finding_id.clone(),
                project: None,
                summary: format!("NEEDS A PERSON: {}", text::inert(&title)),
                body,
                severity: parsed
                    .as_ref()
                    .and_then(|f| f.severity_label())
                    .map(|s| s.as_str())
                    .unwrap_or("HIGH")
                    .to_owned(),
                labels: vec!["secops-autopilot".into(), "pipeline-failure".into()],
                idempotency_key: key.to_string(),
            };
            let id = soar.ticketing.open(&new).await?;
            if let Some(f) = &parsed {
                let pad = Scratchpad::new(f.clone(), &soar.flags);
                let record = record_for(TicketKind::Failure, &pad, &id, soar);
                soar.store.insert_ticket(&record).await?;
            }
            Ok(json!({"ticket_id": id}))
        })
        .await?;
    let ticket = match outcome {
        Once::Ran(v) | Once::Replayed(v) => json!({"open": true, "id": v["ticket_id"]}),
        Once::Busy { owner } => json!({"in_progress_elsewhere": owner}),
    };
    if let (Some(f), Some(id)) = (&parsed, ticket["id"].as_str()) {
        // Best effort: the ticket exists, and the finding says so when Security Hub takes the write.
        let mut pad = Scratchpad::new(f.clone(), &soar.flags);
        pad.extra.insert(EXECUTION_KEY.into(), json!(owner));
        let mut change = ticket_fields(true, id);
        change.workflow_status = Some(WorkflowStatus::Notified);
        change.note =
            Some(format!("Ticket {id} opened by SecOps Autopilot: the pipeline could not finish this finding"));
        if let Err(e) = write_status(soar, &pad, "status:NOTIFIED", change).await {
            tracing::warn!(finding_id = %f.id, error = %e, "failure ticket opened but the finding could not be marked NOTIFIED");
        }
    }
    if let Some(obj) = input.as_object_mut() {
        obj.insert("ticket".into(), ticket);
    }
    Ok(input)
}

/// `close_ticket`: the finding is resolved; close its ticket, record time-to-close, and clear
/// `TicketOpen` on the finding (which also stops its updates re-entering the workflow).
pub async fn close_ticket(soar: &Soar, mut pad: Scratchpad) -> Result<Scratchpad> {
    let f = pad.finding.clone();
    let stored = soar.store.ticket(&f.id).await?.filter(|t| t.is_open());
    let ticket_id = pad
        .ticket
        .as_ref()
        .map(|t| t.id.clone())
        .or_else(|| ticket_in_finding(&f))
        .or_else(|| stored.as_ref().map(|t| t.ticket_id.clone()));
    let Some(ticket_id) = ticket_id else {
        pad.extra.insert(
            "ticket_closed".into(),
            json!({"closed": false, "why": "no open ticket is known for this finding"}),
        );
        return Ok(pad);
    };
    let owner = owner_of(&pad);
    let key = ClaimKey::new(&f.id, "close_ticket", &f.updated_at);
    let why = pad.decision_reason.clone().unwrap_or_else(|| "the finding is resolved".into());
    let outcome = soar
        .once(key, &owner, || async {
            soar.ticketing.close(&ticket_id, &format!("Closed by SecOps Autopilot: {why}.")).await?;
            let now = soar.clock.now();
            let closed = soar.store.close_ticket(&f.id, now, now + soar.policy.keep_closed_tickets_for()).await?;
            Ok(json!({
                "closed": true,
                "ticket_id": ticket_id,
                "time_to_close_seconds": closed.as_ref().and_then(TicketRecord::duration_seconds),
            }))
        })
        .await?;
    let result = match outcome {
        Once::Ran(v) | Once::Replayed(v) => v,
        Once::Busy { owner } => json!({"closed": false, "in_progress_elsewhere": owner}),
    };
    if result["closed"] == json!(true) {
        let mut change = ticket_fields(false, &ticket_id);
        change.note = Some(format!("Ticket {ticket_id} closed by SecOps Autopilot: {why}"));
        let written = write_status(soar, &pad, "ticket_fields:closed", change).await?;
        pad.extra.insert("status_update".into(), written);
        pad.ticket = Some(TicketRef { open: false, id: ticket_id });
    }
    pad.extra.insert("ticket_closed".into(), result);
    Ok(pad)
}

/// One reminder sent by [`send_reminders`].
fn overdue_text(t: &TicketRecord, reminder: &str, overdue_by: time::Duration) -> String {
    format!(
        "{what}: this {severity} ticket has been open since {opened} and is {hours} h past its deadline. \
         Please fix the finding ({title}) or say here why it cannot be fixed yet.",
        what = if reminder == "escalation" { "ESCALATION" } else { "OVERDUE" },
        severity = t.severity,
        opened = t.opened_at,
        hours = overdue_by.whole_hours(),
        title = text::inert(&t.title),
    )
}

/// `send_reminders` (hourly): for every open ticket past its severity's deadline, one reminder
/// (`deadline`); for severities the policy escalates, a second one at twice the deadline
/// (`escalation`, also sent as an alert). Each reminder is sent once, whoever runs the check.
pub async fn send_reminders(soar: &Soar, owner: &str) -> Result<Value> {
    let now = soar.clock.now();
    let open = soar.store.open_tickets().await?;
    let mut sent = Vec::new();
    for t in &open {
        let Ok(severity) = t.severity.parse::<SeverityLabel>() else {
            tracing::warn!(finding_id = %t.finding_id, severity = %t.severity, "ticket with an unknown severity is never overdue");
            continue;
        };
        let Some(deadline) = soar.policy.deadline(severity) else { continue };
        let mut due = vec![("deadline", deadline)];
        if soar.policy.escalates(severity) {
            due.push(("escalation", deadline * 2));
        }
        let age = now - t.opened_at;
        for (reminder, after) in due {
            if age < after || t.reminders.iter().any(|r| r == reminder) {
                continue;
            }
            let key = ClaimKey::new(&t.finding_id, &format!("reminder:{reminder}"), &t.opened_at.to_string());
            let text = overdue_text(t, reminder, age - after);
            let outcome = soar
                .once(key, owner, || async {
                    soar.ticketing.comment(&t.ticket_id, &text).await?;
                    if reminder == "escalation" {
                        let alert = Alert {
                            finding_id: t.finding_id.clone(),
                            account_id: t.account_id.clone(),
                            severity: t.severity.clone(),
                            title: format!("Escalation: ticket {} is overdue", t.ticket_id),
                            text: text.clone(),
                        };
                        soar.alerts.send(&alert).await?;
                    }
                    soar.store.record_reminder(&t.finding_id, reminder).await?;
                    Ok(json!({"ticket_id": t.ticket_id}))
                })
                .await?;
            if let Once::Ran(_) = outcome {
                sent.push(json!({
                    "finding_id": t.finding_id,
                    "ticket_id": t.ticket_id,
                    "reminder": reminder,
                    "severity": t.severity,
                    "overdue_hours": (age - after).whole_hours(),
                }));
            }
        }
    }
    Ok(json!({"checked": open.len(), "sent": sent, "at": now.to_string()}))
}
