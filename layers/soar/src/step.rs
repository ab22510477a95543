//! What the state machines send: the `decide` function's actions and the ticket actions of the
//! `notify` function. Each takes `{"action": …, …}` and returns the scratchpad (or a summary).

use secops_core::json::step_input;
use secops_core::scratchpad::Scratchpad;
use secops_core::StepError;
use serde_json::Value;

use crate::decide::{self, DecideInput};
use crate::deps::Soar;
use crate::respond;
use crate::state::TicketKind;
use crate::tickets::lifecycle;

/// The `decide` function's actions.
pub const DECIDE_ACTIONS: &[&str] =
    &["decide", "suppress_finding", "resolve_finding", "classify_incident", "sync_enabled_controls"];

/// The `notify` function's ticket actions, which this crate answers (`secops_notify::step` answers the rest).
pub const TICKET_ACTIONS: &[&str] = &["open_ticket", "close_ticket", "notify_incident", "send_reminders"];

fn scratchpad(input: &Value, action: &str) -> Result<Scratchpad, StepError> {
    let pad = input
        .get("scratchpad")
        .ok_or_else(|| StepError::invalid_input(format!("{action}: input has no 'scratchpad'")))?;
    Scratchpad::from_value(pad).map_err(|e| StepError::invalid_input(format!("{action}: scratchpad.{e}")))
}

fn out(pad: &Scratchpad) -> Result<Value, StepError> {
    serde_json::to_value(pad).map_err(|e| StepError::permanent(format!("cannot serialize the scratchpad: {e}")))
}

fn action(input: &Value) -> &str {
    input.get("action").and_then(Value::as_str).unwrap_or_default()
}

#[derive(Debug, Clone)]
pub struct DecideStep {
    pub soar: Soar,
}

impl DecideStep {
    pub fn new(soar: Soar) -> Self {
        DecideStep { soar }
    }

    pub async fn handle(&self, input: Value) -> Result<Value, StepError> {
        let soar = &self.soar;
        let name = action(&input);
        match name {
            "decide" => {
                let request: DecideInput = step_input(&input, name)?;
                let pad = decide::decide(soar, request).await?;
                tracing::info!(finding_id = %pad.finding.id, decision = ?pad.decision, reason = ?pad.decision_reason, score = ?pad.penalty_score, "decided");
                out(&pad)
            }
            "suppress_finding" => out(&decide::suppress_finding(soar, scratchpad(&input, name)?).await?),
            "resolve_finding" => out(&decide::resolve_finding(soar, scratchpad(&input, name)?).await?),
            "classify_incident" => out(&decide::classify_incident(soar, scratchpad(&input, name)?)?),
            "sync_enabled_controls" => Ok(decide::sync_enabled_controls(soar).await?),
            other => Err(StepError::invalid_input(format!(
                "decide: unknown action '{other}' (known: {})",
                DECIDE_ACTIONS.join(", ")
            ))),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TicketStep {
    pub soar: Soar,
}

impl TicketStep {
    pub fn new(soar: Soar) -> Self {
        TicketStep { soar }
    }

    pub fn handles(action_name: &str) -> bool {
        TICKET_ACTIONS.contains(&action_name)
    }

    pub async fn handle(&self, input: Value) -> Result<Value, StepError> {
        let soar = &self.soar;
        let name = action(&input);
        match name {
            "open_ticket" => {
                let kind = input.get("kind").and_then(Value::as_str).unwrap_or("team");
                match TicketKind::parse(kind) {
                    Some(TicketKind::Failure) => {
                        let inner = input.get("scratchpad").cloned().unwrap_or(Value::Null);
                        Ok(lifecycle::open_failure_ticket(soar, inner).await?)
                    }
                    Some(kind @ (TicketKind::Team | TicketKind::Autofixed)) => {
                        out(&lifecycle::open_ticket(soar, kind, scratchpad(&input, name)?).await?)
                    }
                    _ => Err(StepError::invalid_input(format!(
                        "open_ticket: kind '{kind}' is not one of team, autofixed, failure"
                    ))),
                }
            }
            "close_ticket" => out(&lifecycle::close_ticket(soar, scratchpad(&input, name)?).await?),
            "notify_incident" => out(&respond::notify_incident(soar, scratchpad(&input, name)?).await?),
            "send_reminders" => {
                let owner = input.get("execution_id").and_then(Value::as_str).unwrap_or("send_reminders");
                Ok(lifecycle::send_reminders(soar, owner).await?)
            }
            other => Err(StepError::invalid_input(format!(
                "notify: unknown ticket action '{other}' (known: {})",
                TICKET_ACTIONS.join(", ")
            ))),
        }
    }
}
