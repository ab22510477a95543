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

#[derive(Serialize)]
struct LineOut<'a> {
    seq: i64,
    event_id: &'a str,
    timestamp: &'a str,
    event_type: &'a str,
    actor: &'a str,
    key_id: &'a str,
    payload: &'a RawValue,
    event_hash: &'a str,
    previous_hash: &'a str,
    signature: &'a str,
    chain_hash: &'a str,
}

/// Write one event as one line.
pub fn write_event(out: &mut impl Write, e: &AuditEvent) -> Result<(), AuditError> {
    let canonical = canonical_json(&e.payload)?;
    let payload = RawValue::from_string(canonical).map_err(|err| AuditError::InvalidInput(err.to_string()))?;
    let line = LineOut {
        seq: e.seq,
        event_id: &e.event_id,
        timestamp: &e.timestamp,
        event_type: &e.event_type,
        actor: &e.actor,
        key_id: &e.key_id,
        payload: &payload,
        event_hash: &e.event_hash,
        previous_hash: &e.previous_hash,
        signature: &e.signature,
        chain_hash: &e.chain_hash,
    };
    serde_json::to_writer(&mut *out, &line).map_err(|err| AuditError::InvalidInput(err.to_string()))?;
    out.write_all(b"\n").map_err(|err| AuditError::io("export", err))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineIn<'a> {
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
        match serde_json::from_str::<LineIn<'_>>(text) {
            Ok(line) => {
                verifier
                    .push(EventView {
                        seq: line.seq,
                        event_id: &line.event_id,
                        timestamp: &line.timestamp,
                        event_type: &line.event_type,
                        actor: &line.actor,
                        key_id: &line.key_id,
                        payload: PayloadView::Text(line.payload.get()),
                        event_hash: &line.event_hash,
                        previous_hash: &line.previous_hash,
                        signature: &line.signature,
                        chain_hash: &line.chain_hash,
                    })
                    .await?
            }
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
