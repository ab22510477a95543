//! What leaves the product: ticket operations and chat messages, as data. The outbox stores
//! them (already redacted for their destination) and the sinks render them.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where a message goes. The breaker, the rate limit and the redaction policy are per
/// destination; the adapter behind one (Jira or the local folder, Slack or a JSONL file) is
/// chosen by configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    /// The ticketing system (Jira; lenient redaction).
    Tickets,
    /// Chat (Slack; strict redaction).
    Chat,
    /// E-mail copies of the chat summaries (SES; strict redaction).
    Email,
}

impl Destination {
    pub const ALL: [Destination; 3] = [Destination::Tickets, Destination::Chat, Destination::Email];

    pub const fn name(self) -> &'static str {
        match self {
            Destination::Tickets => "tickets",
            Destination::Chat => "chat",
            Destination::Email => "email",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A ticket to create. `labels` already holds the finding label and the delivery label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketDraft {
    /// team | autofixed | incident | failure
    pub kind: String,
    pub finding_id: String,
    /// The Jira project key; None = the adapter's default project.
    pub project: Option<String>,
    pub summary: String,
    /// Markdown; the Jira adapter converts it to ADF.
    pub body: String,
    /// CRITICAL | HIGH | MEDIUM | LOW | INFORMATIONAL
    pub severity: String,
    pub labels: Vec<String>,
}

/// The ticket a comment or a close is for: a key the ticketing system gave, or the outbox key
/// of a create that is still queued (resolved to the real key when it is delivered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum TicketTarget {
    Remote(String),
    Pending(String),
}

/// One operation on the ticketing system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum TicketOp {
    Create(TicketDraft),
    Comment { ticket: TicketTarget, body: String },
    Close { ticket: TicketTarget, body: String },
}

/// An incident alert for the people on call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentAlert {
    pub finding_id: String,
    pub account_id: String,
    pub severity: String,
    pub title: String,
    pub text: String,
}

/// The start of a batch (a triage run, a findings batch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchStarted {
    pub run_id: String,
    /// What runs: "triage", "findings", …
    pub workflow: String,
    pub findings: u64,
    /// RFC 3339
    pub started_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketLink {
    pub finding_id: String,
    pub key: String,
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedItem {
    pub finding_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopRisk {
    pub finding_id: String,
    pub title: String,
    pub severity: String,
    /// The penalty score or the analyst's risk score.
    pub score: f64,
}

/// The completion summary of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchSummary {
    pub run_id: String,
    pub workflow: String,
    pub analysed: u64,
    pub succeeded: u64,
    pub duration_ms: u64,
    pub tickets: Vec<TicketLink>,
    pub failures: Vec<FailedItem>,
    pub top_risks: Vec<TopRisk>,
}

impl BatchSummary {
    /// Share of the analysed findings that succeeded, 0.0–1.0 (1.0 for an empty batch).
    pub fn success_rate(&self) -> f64 {
        if self.analysed == 0 {
            1.0
        } else {
            self.succeeded as f64 / self.analysed as f64
        }
    }
}

/// One chat (or e-mail) message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "message")]
pub enum ChatMessage {
    Alert(IncidentAlert),
    Started(BatchStarted),
    Summary(BatchSummary),
}

/// Any outgoing message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "to", content = "payload")]
pub enum Outgoing {
    Ticket(TicketOp),
    Chat(ChatMessage),
}

impl Outgoing {
    pub fn destination(&self, email: bool) -> Destination {
        match self {
            Outgoing::Ticket(_) => Destination::Tickets,
            Outgoing::Chat(_) if email => Destination::Email,
            Outgoing::Chat(_) => Destination::Chat,
        }
    }
}

/// The label every ticket of one finding carries, whatever its kind: lets people (and a JQL
/// search) find all tickets of a finding. Finding ids are ARNs, which Jira labels cannot hold.
pub fn finding_label(finding_id: &str) -> String {
    format!("secops-finding-{}", short_hash(finding_id))
}

/// The label that identifies one delivery: a create that timed out on our side but reached
/// Jira is found by it before the replay creates again.
pub fn delivery_label(outbox_key: &str) -> String {
    format!("secops-delivery-{}", short_hash(outbox_key))
}

fn short_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}
