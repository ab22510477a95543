//! The ticketing port (the notify issue adds Jira; until then the file adapter is the default)
//! and the incident-alert port (the notify issue adds Slack).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::state::TicketKind;
use crate::Result;

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
    /// Open the ticket; its id.
    async fn open(&self, ticket: &NewTicket) -> Result<String>;
    /// Add a comment (reminders, escalations).
    async fn comment(&self, ticket_id: &str, text: &str) -> Result<()>;
    /// Close it with a final comment.
    async fn close(&self, ticket_id: &str, comment: &str) -> Result<()>;
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
    async fn send(&self, alert: &Alert) -> Result<()>;
}
