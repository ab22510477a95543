//! The local ticketing adapter: one Markdown file and one ADF JSON file per ticket in a folder,
//! so the single binary files real, readable tickets without Jira — and the ADF is exactly what
//! Jira would have received.
//!
//! Folder layout: `<KEY>.md` (summary, fields, body, then comments and the closing note in
//! order), `<KEY>.adf.json` (`{"key", "fields", "description": ADF, "comments": [ADF…],
//! "status"}`), and `tickets.jsonl` with one line per change (`{"at", "key", "change":
//! "created|comment|closed", "labels"…}`), which is also what label look-ups read.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::adf::convert_cached;
use crate::local_chat::append_line;
use crate::message::TicketDraft;
use crate::sink::{CreatedTicket, TicketSink};
use crate::{NotifyError, Result};

#[derive(Debug, Clone)]
pub struct LocalTickets {
    dir: PathBuf,
}

/// Append `bytes` in one write (see [`append_line`]), the error naming the file.
fn append(path: &Path, bytes: &[u8]) -> Result<()> {
    append_line(path, bytes).map(|_offset| ()).map_err(|e| NotifyError::io(path.display(), e))
}

fn now_text() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default()
}

/// The key of a new ticket: from its delivery label when it has one (so a create that is
/// retried finds the first file), else from its content.
fn key_for(draft: &TicketDraft) -> String {
    let seed = draft
        .labels
        .iter()
        .find(|l| l.starts_with("secops-delivery-"))
        .cloned()
        .unwrap_or_else(|| format!("{}\n{}\n{}", draft.finding_id, draft.summary, draft.body));
    format!("LOCAL-{}", hex::encode_upper(&Sha256::digest(seed.as_bytes())[..5]))
}

impl LocalTickets {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LocalTickets { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &str, extension: &str) -> Result<PathBuf> {
        // Keys come back from the outbox and the state store; refuse anything that could leave the folder.
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(NotifyError::InvalidInput(format!("'{key}' is not a local ticket key")));
        }
        Ok(self.dir.join(format!("{key}.{extension}")))
    }

    fn log(&self, line: Value) -> Result<()> {
        let mut text = line.to_string();
        text.push('\n');
        append(&self.dir.join("tickets.jsonl"), text.as_bytes())
    }

    fn existing(&self, key: &str) -> Result<(PathBuf, PathBuf)> {
        let md = self.path(key, "md")?;
        if !md.is_file() {
            return Err(NotifyError::InvalidInput(format!("ticket {key} does not exist in {}", self.dir.display())));
        }
        Ok((md, self.path(key, "adf.json")?))
    }

    /// Add a comment (and the status) to the ADF record. A ticket filed before the ADF record
    /// existed (the Markdown file alone) gets one now.
    fn update_adf(&self, key: &str, path: &Path, comment: Value, status: Option<&str>) -> Result<()> {
        let mut record: Value = match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| NotifyError::InvalidInput(format!("{}: not a ticket record: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => json!({"key": key, "comments": [], "status": "open"}),
            Err(e) => return Err(NotifyError::io(path.display(), e)),
        };
        if let Some(comments) = record.get_mut("comments").and_then(Value::as_array_mut) {
            comments.push(comment);
        }
        if let Some(status) = status {
            record["status"] = json!(status);
        }
        write_json(path, &record)
    }
}

fn write_json(path: &Path, value: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| NotifyError::InvalidInput(format!("{}: cannot be written: {e}", path.display())))?;
    std::fs::write(path, text).map_err(|e| NotifyError::io(path.display(), e))
}

#[async_trait]
impl TicketSink for LocalTickets {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn find_by_labels(&self, labels: &[String]) -> Result<BTreeMap<String, String>> {
        let log = self.dir.join("tickets.jsonl");
        let text = match std::fs::read_to_string(&log) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(NotifyError::io(log.display(), e)),
        };
        let mut found = BTreeMap::new();
        for line in text.lines() {
            let Ok(change) = serde_json::from_str::<Value>(line) else { continue };
            if change["change"] != "created" {
                continue;
            }
            let Some(key) = change["key"].as_str() else { continue };
            for label in change["labels"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                if labels.iter().any(|l| l == label) {
                    found.entry(label.to_owned()).or_insert_with(|| key.to_owned());
                }
            }
        }
        Ok(found)
    }

    async fn create(&self, t: &TicketDraft) -> Result<CreatedTicket> {
        let key = key_for(t);
        let md = self.path(&key, "md")?;
        std::fs::create_dir_all(&self.dir).map_err(|e| NotifyError::io(self.dir.display(), e))?;
        let text = format!(
            "# {key}: {summary}\n\n- Kind: {kind}\n- Severity: {severity}\n- Project: {project}\n- Finding: `{finding}`\n- Labels: {labels}\n- Created: {at}\n\n{body}\n",
            summary = t.summary,
            kind = t.kind,
            severity = t.severity,
            project = t.project.as_deref().unwrap_or("(default)"),
            finding = t.finding_id,
            labels = t.labels.join(", "),
            at = now_text(),
            body = t.body,
        );
        // create_new: the first writer wins; a second create with the same key is the same ticket.
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&md) {
            Ok(mut file) => {
                file.write_all(text.as_bytes()).map_err(|e| NotifyError::io(md.display(), e))?;
                let record = json!({
                    "key": key,
                    "fields": {"summary": t.summary, "kind": t.kind, "severity": t.severity, "project": t.project,
                               "labels": t.labels, "finding_id": t.finding_id},
                    "description": convert_cached(&t.body).as_ref(),
                    "comments": [],
                    "status": "open",
                });
                write_json(&self.path(&key, "adf.json")?, &record)?;
                self.log(json!({"at": now_text(), "key": key, "change": "created", "kind": t.kind,
                    "finding_id": t.finding_id, "severity": t.severity, "summary": t.summary, "labels": t.labels}))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(NotifyError::io(md.display(), e)),
        }
        let url = format!("file://{}", md.display());
        Ok(CreatedTicket { key, url: Some(url) })
    }

    async fn comment(&self, key: &str, markdown: &str) -> Result<()> {
        let (md, adf) = self.existing(key)?;
        append(&md, format!("\n## Comment, {}\n\n{markdown}\n", now_text()).as_bytes())?;
        self.update_adf(key, &adf, convert_cached(markdown).as_ref().clone(), None)?;
        self.log(json!({"at": now_text(), "key": key, "change": "comment", "text": markdown}))
    }

    async fn close(&self, key: &str, markdown: &str) -> Result<()> {
        let (md, adf) = self.existing(key)?;
        append(&md, format!("\n## Closed, {}\n\n{markdown}\n", now_text()).as_bytes())?;
        self.update_adf(key, &adf, convert_cached(markdown).as_ref().clone(), Some("done"))?;
        self.log(json!({"at": now_text(), "key": key, "change": "closed", "text": markdown}))
    }
}
