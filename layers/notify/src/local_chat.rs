//! The local chat adapter: one JSON line per message in a file, with the Block Kit Slack would
//! have received, so a run without Slack still shows (and tests can read) what it would post.

use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::message::ChatMessage;
use crate::sink::ChatSink;
use crate::slack::blocks;
use crate::{NotifyError, Result};

/// Appends `{"at": RFC 3339, "message": <ChatMessage>, "slack": <blocks(message)>}` lines to a
/// file; the remote id is `offset:<n>`, the byte offset where the line starts.
#[derive(Debug, Clone)]
pub struct JsonlChat {
    path: PathBuf,
}

impl JsonlChat {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        JsonlChat { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait]
impl ChatSink for JsonlChat {
    fn name(&self) -> &'static str {
        "jsonl"
    }

    async fn post(&self, message: &ChatMessage) -> Result<String> {
        let at = OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .map_err(|e| NotifyError::InvalidInput(format!("{}: formatting the time: {e}", self.path.display())))?;
        let record = json!({ "at": at, "message": message, "slack": blocks(message) });
        let mut line = serde_json::to_vec(&record).map_err(|e| {
            NotifyError::InvalidInput(format!("{}: message does not serialise: {e}", self.path.display()))
        })?;
        line.push(b'\n');
        let path = self.path.clone();
        let offset = tokio::task::spawn_blocking(move || append_line(&path, &line))
            .await
            .map_err(|e| NotifyError::io(self.path.display(), std::io::Error::other(e)))?
            .map_err(|e| NotifyError::io(self.path.display(), e))?;
        Ok(format!("offset:{offset}"))
    }
}

/// Appends `line` with a single `write` on a file opened for appending: the kernel places each
/// such write at the end as a whole, so concurrent writers (tasks or processes) never
/// interleave. The offset where the line starts is read from our own file position, which
/// other writers do not move.
pub(crate) fn append_line(path: &Path, line: &[u8]) -> std::io::Result<u64> {
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    // write_all issues one write for a regular file; it writes again only after a short write,
    // which for a regular file means the disk is full, and the next write reports that.
    file.write_all(line)?;
    let end = file.stream_position()?;
    Ok(end - line.len() as u64)
}
