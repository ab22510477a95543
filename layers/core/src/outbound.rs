//! The ports through which the capabilities send things to people: tickets and incident alerts.
//! They live here, not in a capability, because several capabilities send (decide opens and
//! closes tickets, triage and remediation report) and one delivers (notify: the outbox, Jira,
//! Slack, the local files). Errors carry the step error classes, so a delivery that is delayed
//! (queued behind an open circuit breaker) or refused reaches the state machines unchanged.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::StepError;

/// Which kind of ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    /// A failed control the team has to fix (TEAMFIX).
    Team,
    /// A record of an automatic fix (AUTOFIXED).
    Autofixed,
    /// An incident ticket for the SOC.
    Incident,
    /// A finding the pipeline failed on, ticketed so a person looks at it.
    Failure,
}

impl TicketKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketKind::Team => "team",
            TicketKind::Autofixed => "autofixed",
            TicketKind::Incident => "incident",
            TicketKind::Failure => "failure",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "team" => TicketKind::Team,
            "autofixed" => TicketKind::Autofixed,
            "incident" => TicketKind::Incident,
            "failure" => TicketKind::Failure,
            _ => return None,
        })
    }
}

/// A ticket to open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTicket {
    pub kind: TicketKind,
    pub finding_id: String,
    /// The project or queue (`SEC`, a team's key); None = the adapter's default.
    pub project: Option<String>,
    pub summary: String,
    /// Markdown.
    pub body: String,
    pub severity: String,
    pub labels: Vec<String>,
    /// Stable per side effect: an adapter that is called twice with the same key must not open
    /// a second ticket.
    pub idempotency_key: String,
}

#[async_trait]
pub trait Ticketing: Send + Sync + std::fmt::Debug {
    /// Open the ticket; its id. An adapter that had to queue the ticket (its destination is
    /// down) returns a reference that its later `comment` and `close` calls resolve.
    async fn open(&self, ticket: &NewTicket) -> Result<String, StepError>;
    /// Add a comment (reminders, escalations).
    async fn comment(&self, ticket_id: &str, text: &str) -> Result<(), StepError>;
    /// Close it with a final comment.
    async fn close(&self, ticket_id: &str, comment: &str) -> Result<(), StepError>;
}

/// An incident alert for the people on call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub finding_id: String,
    pub account_id: String,
    pub severity: String,
    pub title: String,
    pub text: String,
}

#[async_trait]
pub trait Alerts: Send + Sync + std::fmt::Debug {
    async fn send(&self, alert: &Alert) -> Result<(), StepError>;
}
