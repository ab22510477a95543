//! The ports the outbox delivers through: one for the ticketing system, one for chat and
//! e-mail. Real adapters: Jira Cloud REST v3, Slack (Web API or webhook), SES. Local adapters:
//! Markdown + ADF files, JSON lines.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::message::{ChatMessage, TicketDraft};
use crate::Result;

/// A ticket the ticketing system created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedTicket {
    /// The issue key (`SEC-123`, `LOCAL-…`).
    pub key: String,
    /// Where a person opens it, when the adapter knows.
    pub url: Option<String>,
}

#[async_trait]
pub trait TicketSink: Send + Sync + std::fmt::Debug {
    /// The adapter's name for logs and records (`jira`, `local`).
    fn name(&self) -> &'static str;
    /// Existing tickets carrying any of `labels`: label → key. Pages through every result.
    async fn find_by_labels(&self, labels: &[String]) -> Result<BTreeMap<String, String>>;
    /// Create the ticket; its key.
    async fn create(&self, draft: &TicketDraft) -> Result<CreatedTicket>;
    /// Add a Markdown comment.
    async fn comment(&self, key: &str, markdown: &str) -> Result<()>;
    /// Add a closing Markdown comment and move the ticket to done.
    async fn close(&self, key: &str, markdown: &str) -> Result<()>;
}

#[async_trait]
pub trait ChatSink: Send + Sync + std::fmt::Debug {
    fn name(&self) -> &'static str;
    /// Post the message; the remote id (Slack `ts`, SES message id, a line number).
    async fn post(&self, message: &ChatMessage) -> Result<String>;
}
