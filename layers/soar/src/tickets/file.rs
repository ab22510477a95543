//! The local ticketing and alert adapters: Markdown tickets in a folder and JSON lines, so the
//! single binary files real, readable tickets without Jira or Slack (the notify issue adds those).
//!
//! Layout of the folder: `<ID>.md` per ticket (the summary, fields, body, then comments and the
//! closing note appended in order) and `tickets.jsonl` with one line per change
//! (`{"at", "ticket_id", "change": "opened|comment|closed", ...}`).

use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde_json::json;
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::port::{Alert, Alerts, NewTicket, Ticketing};
use crate::{Result, SoarError};

#[derive(Debug, Clone)]
pub struct FileTicketing {
    dir: PathBuf,
}

/// Append `bytes` with one write call, so concurrent writers never interleave inside a line.
fn append(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| SoarError::io(parent.display(), e))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| SoarError::io(path.display(), e))?;
    file.write_all(bytes).map_err(|e| SoarError::io(path.display(), e))
}

fn now_text() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default()
}

/// A ticket id is derived from the idempotency key, so opening the same ticket twice (a retry
/// after a lost reply) finds the first one instead of filing a second.
pub fn ticket_id_for(idempotency_key: &str) -> String {
    let digest = Sha256::digest(idempotency_key.as_bytes());
    format!("LOCAL-{}", hex::encode_upper(&digest[..5]))
}

impl FileTicketing {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileTicketing { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn ticket_path(&self, ticket_id: &str) -> Result<PathBuf> {
        // Ids come back from the state store; refuse anything that could leave the folder.
        if ticket_id.is_empty() || !ticket_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(SoarError::InvalidInput(format!("'{ticket_id}' is not a local ticket id")));
        }
        Ok(self.dir.join(format!("{ticket_id}.md")))
    }

    fn log(&self, line: serde_json::Value) -> Result<()> {
        let mut text = line.to_string();
        text.push('\n');
        append(&self.dir.join("tickets.jsonl"), text.as_bytes())
    }
}

#[async_trait]
impl Ticketing for FileTicketing {
    async fn open(&self, t: &NewTicket) -> Result<String> {
        let id = ticket_id_for(&t.idempotency_key);
        let path = self.ticket_path(&id)?;
        std::fs::create_dir_all(&self.dir).map_err(|e| SoarError::io(self.dir.display(), e))?;
        let text = format!(
            "# {id}: {summary}\n\n- Kind: {kind}\n- Severity: {severity}\n- Project: {project}\n- Finding: `{finding}`\n- Labels: {labels}\n- Opened: {at}\n\n{body}\n",
            summary = t.summary,
            kind = t.kind.as_str(),
            severity = t.severity,
            project = t.project.as_deref().unwrap_or("(default)"),
            finding = t.finding_id,
            labels = t.labels.join(", "),
            at = now_text(),
            body = t.body,
        );
        // create_new: the first writer wins; a second open with the same key is the same ticket.
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                file.write_all(text.as_bytes()).map_err(|e| SoarError::io(path.display(), e))?;
                self.log(json!({"at": now_text(), "ticket_id": id, "change": "opened", "kind": t.kind.as_str(),
                    "finding_id": t.finding_id, "severity": t.severity, "summary": t.summary}))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(SoarError::io(path.display(), e)),
        }
        Ok(id)
    }

    async fn comment(&self, ticket_id: &str, text: &str) -> Result<()> {
        let path = self.ticket_path(ticket_id)?;
        if !path.is_file() {
            return Err(SoarError::Permanent(format!("ticket {ticket_id} does not exist in {}", self.dir.display())));
        }
        append(&path, format!("\n## Comment, {}\n\n{text}\n", now_text()).as_bytes())?;
        self.log(json!({"at": now_text(), "ticket_id": ticket_id, "change": "comment", "text": text}))
    }

    async fn close(&self, ticket_id: &str, comment: &str) -> Result<()> {
        let path = self.ticket_path(ticket_id)?;
        if !path.is_file() {
            return Err(SoarError::Permanent(format!("ticket {ticket_id} does not exist in {}", self.dir.display())));
        }
        append(&path, format!("\n## Closed, {}\n\n{comment}\n", now_text()).as_bytes())?;
        self.log(json!({"at": now_text(), "ticket_id": ticket_id, "change": "closed", "text": comment}))
    }
}

/// Incident alerts as JSON lines in one file.
#[derive(Debug, Clone)]
pub struct FileAlerts {
    path: PathBuf,
}

impl FileAlerts {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileAlerts { path: path.into() }
    }
}

#[async_trait]
impl Alerts for FileAlerts {
    async fn send(&self, alert: &Alert) -> Result<()> {
        let mut line = serde_json::to_value(alert).map_err(|e| SoarError::InvalidInput(e.to_string()))?;
        line["at"] = json!(now_text());
        let mut text = line.to_string();
        text.push('\n');
        append(&self.path, text.as_bytes())
    }
}
