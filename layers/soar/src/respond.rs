//! `notify_incident`: carry out the policy's response to a classified incident — isolate the
//! instance (terminate only on explicit opt-in), open a SOC or team ticket, alert — each once per
//! finding version, and record the incident.

use secops_core::scratchpad::Scratchpad;
use serde_json::{json, Value};

use crate::decide::{classify_incident, owner_of, region_of};
use crate::deps::Soar;
use crate::policy::IncidentResponse;
use crate::quarantine::IsolationRequest;
use crate::state::{ClaimKey, IncidentRecord, TicketKind};
use crate::tickets::text;
use crate::tickets::{Alert, NewTicket};
use crate::{Result, SoarError};

pub async fn notify_incident(soar: &Soar, pad: Scratchpad) -> Result<Scratchpad> {
    let mut pad = if pad.extra.contains_key("incident") { pad } else { classify_incident(soar, pad)? };
    let incident = pad.extra.get("incident").cloned().unwrap_or(Value::Null);
    let response: IncidentResponse = serde_json::from_value(incident["response"].clone())
        .map_err(|e| SoarError::InvalidInput(format!("scratchpad.incident.response: {e}")))?;
    let f = pad.finding.clone();
    let owner = owner_of(&pad);
    let severity = incident["severity"].as_str().unwrap_or("INFORMATIONAL").to_owned();
    let family = incident["family"].as_str().unwrap_or("threat").to_owned();
    let finding_type = incident["finding_type"].as_str().unwrap_or_default().to_owned();
    let mut done = serde_json::Map::new();

    if response.isolate {
        match (incident["instance_id"].as_str(), region_of(&f)) {
            (Some(instance_id), Some(region)) => {
                let request = IsolationRequest {
                    account_id: f.aws_account_id.clone(),
                    region,
                    instance_id: instance_id.to_owned(),
                    finding_id: f.id.clone(),
                    terminate: response.terminate,
                };
                let key = ClaimKey::new(&f.id, "isolate", &f.updated_at);
                let outcome = soar
                    .once(key, &owner, || async {
                        let report = soar.quarantine.isolate(&request).await?;
                        serde_json::to_value(report).map_err(|e| SoarError::InvalidInput(e.to_string()))
                    })
                    .await?;
                done.insert("isolation".into(), outcome.report());
            }
            _ => {
                done.insert(
                    "isolation".into(),
                    json!({"skipped": "the policy asks to isolate, but the finding names no EC2 instance or region"}),
                );
            }
        }
    }

    let mut ticket_id = None;
    if response.soc_ticket || response.team_ticket {
        let key = ClaimKey::new(&f.id, "ticket:incident", &f.updated_at);
        let project = if response.soc_ticket { None } else { pad.account.project_id.clone() };
        let new = NewTicket {
            kind: TicketKind::Incident,
            finding_id: f.id.clone(),
            project,
            summary: text::summary(TicketKind::Incident, &pad),
            body: format!(
                "{}\n**Incident:** {family} `{}`; response: {}\n\n**Done so far:** `{}`\n",
                text::body(TicketKind::Incident, &pad),
                text::inert(&finding_type),
                serde_json::to_string(&response).unwrap_or_default(),
                text::inert(&Value::Object(done.clone()).to_string()),
            ),
            severity: severity.clone(),
            labels: vec!["secops-autopilot".into(), "incident".into(), family.clone()],
            idempotency_key: key.to_string(),
        };
        let outcome =
            soar.once(key, &owner, || async { Ok(json!({"ticket_id": soar.ticketing.open(&new).await?})) }).await?;
        let v = outcome.report();
        ticket_id = v["ticket_id"].as_str().or_else(|| v["already_done"]["ticket_id"].as_str()).map(str::to_owned);
        done.insert("ticket".into(), v);
    }

    if response.notify {
        let key = ClaimKey::new(&f.id, "alert", &f.updated_at);
        let alert = Alert {
            finding_id: f.id.clone(),
            account_id: f.aws_account_id.clone(),
            severity: severity.clone(),
            title: format!("{severity} {family} incident: {}", text::inert(&f.title)),
            text: format!(
                "{finding_type} in account {} ({}). Ticket: {}.",
                f.aws_account_id,
                text::inert(pad.account.name.as_deref().unwrap_or("name unknown")),
                ticket_id.as_deref().unwrap_or("none")
            ),
        };
        let outcome = soar
            .once(key, &owner, || async { Ok(soar.alerts.send(&alert).await.map(|()| json!({"sent": true}))?) })
            .await?;
        done.insert("alert".into(), outcome.report());
    }

    let mut responses = Vec::new();
    for (on, name) in [
        (response.notify, "notify"),
        (response.soc_ticket, "soc_ticket"),
        (response.team_ticket, "team_ticket"),
        (response.isolate, "isolate"),
        (response.terminate, "terminate"),
    ] {
        if on {
            responses.push(name.to_owned());
        }
    }
    let record = IncidentRecord {
        finding_id: f.id.clone(),
        updated_at: f.updated_at.clone(),
        account_id: f.aws_account_id.clone(),
        family,
        finding_type,
        severity,
        title: f.title.clone(),
        penalty_score: pad.penalty_score.unwrap_or(0.0),
        responses,
        ticket_id,
        recorded_at: soar.clock.now(),
    };
    soar.store.insert_incident(&record).await?;
    pad.extra.insert("incident_response".into(), Value::Object(done));
    Ok(pad)
}
