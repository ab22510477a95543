//! The JSONL export: one event per line, the payload in its canonical (RFC 8785) form, so an
//! export verifies offline with only the key — byte for byte, without the database.

use crate::error::AuditError;
use crate::event::{canonical_json, AuditEvent};
use crate::signer::Signer;
use crate::verify::{EventView, PayloadView, Verifier};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::io::{BufRead, Write};

/// Lines longer than this are not events (a payload is at most 256 KiB): refused, not buffered.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// One line of an export, written from an event and read back without copying what need not
/// be copied (strings borrow unless they hold escapes; the payload stays its raw text).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line<'a> {
    seq: i64,
    #[serde(borrow)]
    event_id: Cow<'a, str>,
    #[serde(borrow)]
    timestamp: Cow<'a, str>,
    #[serde(borrow)]
    event_type: Cow<'a, str>,
    #[serde(borrow)]
    actor: Cow<'a, str>,
    #[serde(borrow)]
    key_id: Cow<'a, str>,
    #[serde(borrow)]
    payload: &'a RawValue,
    #[serde(borrow)]
    event_hash: Cow<'a, str>,
    #[serde(borrow)]
    previous_hash: Cow<'a, str>,
    #[serde(borrow)]
    signature: Cow<'a, str>,
    #[serde(borrow)]
    chain_hash: Cow<'a, str>,
}

impl<'a> Line<'a> {
    fn of(e: &'a AuditEvent, payload: &'a RawValue) -> Self {
        Line {
            seq: e.seq,
            event_id: Cow::Borrowed(&e.event_id),
            timestamp: Cow::Borrowed(&e.timestamp),
            event_type: Cow::Borrowed(&e.event_type),
            actor: Cow::Borrowed(&e.actor),
            key_id: Cow::Borrowed(&e.key_id),
            payload,
            event_hash: Cow::Borrowed(&e.event_hash),
            previous_hash: Cow::Borrowed(&e.previous_hash),
            signature: Cow::Borrowed(&e.signature),
            chain_hash: Cow::Borrowed(&e.chain_hash),
        }
    }

    fn view(&self) -> EventView<'_> {
        EventView {
            seq: self.seq,
            event_id: &self.event_id,
            timestamp: &self.timestamp,
            event_type: &self.event_type,
            actor: &self.actor,
            key_id: &self.key_id,
            payload: PayloadView::Text(self.payload.get()),
            event_hash: &self.event_hash,
            previous_hash: &self.previous_hash,
            signature: &self.signature,
            chain_hash: &self.chain_hash,
        }
    }
}

/// Write one event as one line, its payload in canonical form.
pub fn write_event(out: &mut impl Write, e: &AuditEvent) -> Result<(), AuditError> {
    let canonical = canonical_json(&e.payload)?;
    let payload = RawValue::from_string(canonical).map_err(|err| AuditError::InvalidInput(err.to_string()))?;
    serde_json::to_writer(&mut *out, &Line::of(e, &payload))
        .map_err(|err| AuditError::InvalidInput(err.to_string()))?;
    out.write_all(b"\n").map_err(|err| AuditError::io("export", err))
}

/// Feed every line of an export to `verifier`. A line that is not an event is reported as
/// `malformed` with its number, and the walk goes on. Returns the number of lines read.
pub async fn verify_lines<S: Signer>(
    input: &mut impl BufRead,
    source: &str,
    verifier: &mut Verifier<'_, S>,
) -> Result<u64, AuditError> {
    let mut buf = Vec::with_capacity(4096);
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = read_bounded_line(input, &mut buf).map_err(|e| AuditError::io(source, e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if buf.len() > MAX_LINE_BYTES {
            verifier.malformed(line_no, format!("the line is longer than {MAX_LINE_BYTES} bytes"));
            continue;
        }
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => t.trim_end_matches(['\n', '\r']),
            Err(e) => {
                verifier.malformed(line_no, format!("not UTF-8: {e}"));
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Line<'_>>(text) {
            Ok(line) => verifier.push(line.view()).await?,
            Err(e) => verifier.malformed(line_no, format!("not an audit event: {e}")),
        }
    }
    Ok(line_no)
}

/// Read up to and including the next newline, keeping at most MAX_LINE_BYTES + 1 bytes of it
/// (the rest is read and dropped), so one huge line cannot exhaust memory.
fn read_bounded_line(input: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Ok(total);
        }
        let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let room = (MAX_LINE_BYTES + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = chunk.len();
        total += used;
        input.consume(used);
        if done {
            return Ok(total);
        }
    }
}
