//! `secops-notify`: everything that leaves the product goes through here. Markdown becomes
//! Atlassian Document Format for Jira; chat gets Block Kit summaries; every message is redacted
//! for its destination, written to a durable outbox first, and delivered behind a circuit
//! breaker whose state all concurrent workers share, so an outage of Jira or Slack delays
//! output and never loses or duplicates it.
#![forbid(unsafe_code)]

pub mod adf;
pub mod error;
pub mod jira;
pub mod message;
pub mod sink;
pub mod slack;

pub use error::{NotifyError, Result};
pub use message::{ChatMessage, Destination, Outgoing, TicketDraft, TicketOp, TicketTarget};
pub use sink::{ChatSink, CreatedTicket, TicketSink};
