//! `secops-notify`: everything that leaves the product goes through here. Markdown becomes
//! Atlassian Document Format for Jira; chat gets Block Kit summaries; every message is redacted
//! for its destination, written to a durable outbox first, and delivered behind a circuit
//! breaker whose state all concurrent workers share, so an outage of Jira or Slack delays
//! output and never loses or duplicates it.
#![forbid(unsafe_code)]

pub mod adf;
pub mod breaker;
pub mod error;
pub mod jira;
pub mod local_chat;
pub mod local_tickets;
pub mod message;
pub mod notifier;
pub mod outbox;
pub mod redact;
pub mod setup;
pub mod sink;
pub mod slack;
pub mod step;

pub use error::{NotifyError, Result};
pub use message::{ChatMessage, Destination, Outgoing, TicketDraft, TicketOp, TicketTarget};
pub use notifier::{Notifier, Sinks};
pub use sink::{ChatSink, CreatedTicket, TicketSink};
