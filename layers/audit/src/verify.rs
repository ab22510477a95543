//! `verify_audit_chain`: walk a chain once, in the order it is stored, and name every problem
//! with its seq and kind.
//!
//! The walk streams: it keeps a window of the last [`WINDOW`] events' hashes (to check links
//! and to recognise events that moved), the seqs still missing, and the problems found — never
//! the chain itself, so memory does not grow with the chain's length.
//!
//! Each event is checked for, in this order, and reports at most one of the first four:
//! - `payload_modified`: the payload's canonical SHA-256 is not the stored `event_hash`;
//! - `unknown_key`: the event names a key the verifier does not list;
//! - `bad_signature`: the HMAC over `event_id|timestamp|event_type|event_hash|previous_hash|seq`
//!   does not verify — unless it verifies for the seq its link points at, which is `reordered`;
//! - `chain_hash_mismatch`: the stored `chain_hash` is not the one its fields give;
//! - `chain_break`: `previous_hash` is not the chain hash of the event before it (expected vs found);
//! - `seq_gap`, `seq_duplicate`, `reordered`: from the seqs as they come;
//! - `truncated`, `checkpoint_mismatch`, `bad_checkpoint`: against the latest signed checkpoint;
//! - `malformed`: a JSONL line that is not an event.

use crate::checkpoint::Checkpoint;
use crate::event::{canonical_json, chain_hash_bytes, hash_bytes, signed_message, AuditEvent, GENESIS_HASH};
use crate::signer::{MacCheck, Signer};
use crate::AuditError;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// How many recent events' hashes are kept for link checks and for finding moved events.
pub const WINDOW: i64 = 4096;
/// Problems kept in the report; the rest are counted.
pub const MAX_REPORTED_PROBLEMS: usize = 1000;
/// Out-of-place events awaiting the event their link names.
const MAX_PENDING: usize = 1024;
/// Separate runs of missing seqs tracked before further gaps are reported at once.
const MAX_MISSING_RANGES: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    ChainBreak,
    BadSignature,
    PayloadModified,
    SeqGap,
    SeqDuplicate,
    Reordered,
    UnknownKey,
    Truncated,
    CheckpointMismatch,
    BadCheckpoint,
    ChainHashMismatch,
    Malformed,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::ChainBreak => "chain_break",
            ProblemKind::BadSignature => "bad_signature",
            ProblemKind::PayloadModified => "payload_modified",
            ProblemKind::SeqGap => "seq_gap",
            ProblemKind::SeqDuplicate => "seq_duplicate",
            ProblemKind::Reordered => "reordered",
            ProblemKind::UnknownKey => "unknown_key",
            ProblemKind::Truncated => "truncated",
            ProblemKind::CheckpointMismatch => "checkpoint_mismatch",
            ProblemKind::BadCheckpoint => "bad_checkpoint",
            ProblemKind::ChainHashMismatch => "chain_hash_mismatch",
            ProblemKind::Malformed => "malformed",
        }
    }
}

impl std::fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub seq: Option<i64>,
    pub kind: ProblemKind,
    pub expected: Option<String>,
    pub found: Option<String>,
    pub message: String,
    /// The JSONL line, when verifying an export.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckedHead {
    pub seq: i64,
    pub chain_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub ok: bool,
    pub events: u64,
    pub problems: Vec<Problem>,
    /// All problems found; `problems` holds the first [`MAX_REPORTED_PROBLEMS`].
    pub problem_count: u64,
    /// The last event by seq, as stored.
    pub head: Option<CheckedHead>,
    /// The checkpoint the chain was checked against.
    pub checkpoint: Option<CheckedHead>,
    /// One line for a person.
    pub summary: String,
}

/// The payload as the source holds it: the canonical text from an export (hashed as it is,
/// and canonicalized again only when that does not match), or a parsed value from the table.
#[derive(Debug, Clone, Copy)]
pub enum PayloadView<'a> {
    Text(&'a str),
    Value(&'a Value),
}

/// One event, borrowed from wherever it was read.
#[derive(Debug, Clone, Copy)]
pub struct EventView<'a> {
    pub seq: i64,
    pub event_id: &'a str,
    pub timestamp: &'a str,
    pub event_type: &'a str,
    pub actor: &'a str,
    pub key_id: &'a str,
    pub payload: PayloadView<'a>,
    pub event_hash: &'a str,
    pub previous_hash: &'a str,
    pub signature: &'a str,
    pub chain_hash: &'a str,
}

impl EventView<'_> {
    /// The event's fields, owned, with a null payload (for events kept past their line).
    fn to_owned_without_payload(self) -> AuditEvent {
        AuditEvent {
            seq: self.seq,
            event_id: self.event_id.to_owned(),
            timestamp: self.timestamp.to_owned(),
            event_type: self.event_type.to_owned(),
            actor: self.actor.to_owned(),
            key_id: self.key_id.to_owned(),
            payload: Value::Null,
            event_hash: self.event_hash.to_owned(),
            previous_hash: self.previous_hash.to_owned(),
            signature: self.signature.to_owned(),
            chain_hash: self.chain_hash.to_owned(),
        }
    }
}

impl AuditEvent {
    pub fn view(&self) -> EventView<'_> {
        EventView {
            seq: self.seq,
            event_id: &self.event_id,
            timestamp: &self.timestamp,
            event_type: &self.event_type,
            actor: &self.actor,
            key_id: &self.key_id,
            payload: PayloadView::Value(&self.payload),
            event_hash: &self.event_hash,
            previous_hash: &self.previous_hash,
            signature: &self.signature,
            chain_hash: &self.chain_hash,
        }
    }
}

/// The hashes an event at some seq goes by: what is stored and what its fields give. A later
/// event links correctly if it names either, so one tampered field is reported once, at its
/// own seq, and not again at every event after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Link {
    stored: Option<[u8; 32]>,
    computed: [u8; 32],
}

impl Link {
    fn matches(&self, previous: Option<[u8; 32]>) -> bool {
        previous.is_some_and(|p| p == self.computed || Some(p) == self.stored)
    }
}

/// An event waiting for its predecessor: (its seq, its previous hash as bytes and as stored).
type WaitingLink = (i64, Option<[u8; 32]>, String);

/// The links seen at one seq: almost always one, more only when a seq is duplicated. Kept
/// inline so the common case allocates nothing.
#[derive(Debug, Clone)]
struct Links {
    first: Link,
    more: Vec<Link>,
}

impl Links {
    fn iter(&self) -> impl Iterator<Item = &Link> {
        std::iter::once(&self.first).chain(self.more.iter())
    }
}

/// An event whose signature did not verify at its stored seq and whose predecessor (by link)
/// has not been seen yet: it may have been moved, which the predecessor will tell. The payload
/// was checked already and is not kept.
#[derive(Debug)]
struct PendingSignature {
    event: AuditEvent,
    signature: Vec<u8>,
}

#[derive(Debug)]
pub struct Verifier<'s, S: Signer> {
    signer: &'s S,
    checkpoint: Option<Checkpoint>,
    /// Chain hashes seen at the checkpoint's seq.
    at_checkpoint: Vec<Link>,
    events: u64,
    last_seq: Option<i64>,
    max_seq: Option<i64>,
    head: Option<CheckedHead>,
    missing: BTreeMap<i64, i64>,
    recent: BTreeMap<i64, Links>,
    /// predecessor seq → (seq, previous hash) of events waiting for it.
    pending_links: BTreeMap<i64, Vec<WaitingLink>>,
    pending_signatures: Vec<PendingSignature>,
    problems: Vec<Problem>,
    problem_count: u64,
    message: String,
    /// When resuming from a checkpoint: its seq, whose backward link was checked before.
    anchor: Option<i64>,
}

/// A signature as stored: hex (32 bytes of HMAC-SHA256, from a keyring or from KMS).
fn decode_signature(hex_text: &str) -> Option<Vec<u8>> {
    hex::decode(hex_text).ok().filter(|s| !s.is_empty())
}

/// The signed message of `e` at `seq`, written into a reused buffer.
fn write_signed_message(buf: &mut String, e: &EventView<'_>, seq: i64) {
    use std::fmt::Write;
    buf.clear();
    let _ = write!(buf, "{}|{}|{}|{}|{}|{seq}", e.event_id, e.timestamp, e.event_type, e.event_hash, e.previous_hash);
}

impl<'s, S: Signer> Verifier<'s, S> {
    /// A verifier that checks events with `signer`'s keys. When a checkpoint is given, it is
    /// checked first: a checkpoint signed by nobody we know is a problem in itself.
    pub async fn new(signer: &'s S, checkpoint: Option<Checkpoint>) -> Result<Verifier<'s, S>, AuditError> {
        let mut v = Verifier {
            signer,
            checkpoint: None,
            at_checkpoint: Vec::new(),
            events: 0,
            last_seq: None,
            max_seq: None,
            head: None,
            missing: BTreeMap::new(),
            recent: BTreeMap::new(),
            pending_links: BTreeMap::new(),
            pending_signatures: Vec::new(),
            problems: Vec::new(),
            problem_count: 0,
            message: String::with_capacity(256),
            anchor: None,
        };
        if let Some(cp) = checkpoint {
            match cp.check(signer).await? {
                MacCheck::Valid => v.checkpoint = Some(cp),
                check => v.problem(Problem {
                    seq: Some(cp.seq),
                    kind: ProblemKind::BadCheckpoint,
                    expected: Some("a checkpoint signed by a listed key".into()),
                    found: Some(format!("key {} ({})", cp.key_id, if check == MacCheck::UnknownKey { "not listed" } else { "signature does not verify" })),
                    message: format!(
                        "the checkpoint of seq {} is not signed by a listed key, so the chain was not checked against it",
                        cp.seq
                    ),
                    line: None,
                }),
            }
        }
        Ok(v)
    }

    /// Verify only the events from the checkpoint's seq on (the checkpoint itself must be
    /// valid): the event at that seq must still carry the checkpointed chain hash, and what
    /// follows must link to it. Events before it were verified when the checkpoint was made.
    pub fn resume_from_checkpoint(&mut self) -> Option<i64> {
        let seq = self.checkpoint.as_ref()?.seq;
        self.anchor = Some(seq);
        self.max_seq = Some(seq - 1);
        self.last_seq = Some(seq - 1);
        Some(seq)
    }

    fn problem(&mut self, problem: Problem) {
        self.problem_count += 1;
        if self.problems.len() < MAX_REPORTED_PROBLEMS {
            self.problems.push(problem);
        }
    }

    fn at(&mut self, seq: i64, kind: ProblemKind, expected: String, found: String, message: String) {
        self.problem(Problem {
            seq: Some(seq),
            kind,
            expected: Some(expected),
            found: Some(found),
            message,
            line: None,
        });
    }

    /// A line of an export that is not an event.
    pub fn malformed(&mut self, line: u64, message: String) {
        self.problem(Problem {
            seq: None,
            kind: ProblemKind::Malformed,
            expected: Some("one audit event as JSON".into()),
            found: None,
            message: format!("line {line}: {message}"),
            line: Some(line),
        });
    }

    /// Check one event, in stored order.
    pub async fn push(&mut self, e: EventView<'_>) -> Result<(), AuditError> {
        self.events += 1;
        if e.seq < 0 {
            self.at(
                e.seq,
                ProblemKind::Malformed,
                "seq >= 0".into(),
                e.seq.to_string(),
                format!("event {} has a negative seq", e.event_id),
            );
            return Ok(());
        }
        self.track_order(&e);

        // Content: one problem at most, the first that fails.
        let mut content_ok = self.check_payload(&e);
        let signature = decode_signature(e.signature);
        write_signed_message(&mut self.message, &e, e.seq);
        let check = match &signature {
            Some(sig) => self.signer.verify(e.key_id, self.message.as_bytes(), sig).await?,
            None => MacCheck::Invalid,
        };
        let mut effective_seq = e.seq;
        let previous = hash_bytes(e.previous_hash);
        let stored_chain = hash_bytes(e.chain_hash);
        match check {
            MacCheck::Valid => {}
            MacCheck::UnknownKey => {
                if content_ok {
                    self.at(
                        e.seq,
                        ProblemKind::UnknownKey,
                        "a listed key".into(),
                        e.key_id.to_owned(),
                        format!("event {} is signed with key {}, which is not listed", e.event_id, e.key_id),
                    );
                }
                content_ok = false;
            }
            MacCheck::Invalid => {
                let moved_to = match &signature {
                    Some(sig) => self.moved_seq(&e, sig).await?,
                    None => None,
                };
                match moved_to {
                    Some(true_seq) => {
                        effective_seq = true_seq;
                        self.reordered(true_seq, e.seq, e.event_id);
                        write_signed_message(&mut self.message, &e, true_seq);
                    }
                    None if signature.is_some()
                        && self.pending_signatures.len() < MAX_PENDING
                        && !self.link_known(previous) =>
                    {
                        // Its predecessor may still come (a moved event); decide then.
                        self.pending_signatures.push(PendingSignature {
                            event: e.to_owned_without_payload(),
                            signature: signature.clone().unwrap_or_default(),
                        });
                        let computed = chain_hash_bytes(&self.message, e.actor, e.key_id, e.signature);
                        self.record(e.seq, Link { stored: stored_chain, computed }, e.chain_hash);
                        return Ok(());
                    }
                    None => {
                        if content_ok {
                            self.bad_signature(e.seq, e.event_id, e.key_id);
                        }
                        content_ok = false;
                    }
                }
            }
        }

        let computed = chain_hash_bytes(&self.message, e.actor, e.key_id, e.signature);
        if content_ok && stored_chain != Some(computed) {
            self.at(
                effective_seq,
                ProblemKind::ChainHashMismatch,
                hex::encode(computed),
                e.chain_hash.to_owned(),
                format!("event {}: the stored chain_hash is not the one its fields give", e.event_id),
            );
        }
        self.check_link(effective_seq, previous, e.previous_hash);
        self.record(effective_seq, Link { stored: stored_chain, computed }, e.chain_hash);
        if !self.pending_signatures.is_empty() {
            self.resolve_pending(false).await?;
        }
        Ok(())
    }

    fn bad_signature(&mut self, seq: i64, event_id: &str, key_id: &str) {
        self.at(
            seq,
            ProblemKind::BadSignature,
            format!("an HMAC-SHA256 by key {key_id}"),
            "a signature that does not verify".into(),
            format!("event {event_id}: the signature does not verify with key {key_id}"),
        );
    }

    fn track_order(&mut self, e: &EventView<'_>) {
        let seq = e.seq;
        match self.max_seq {
            None if seq > 0 => self.add_missing(0, seq - 1),
            None => {}
            Some(max) if seq == max + 1 => {}
            Some(max) if seq > max + 1 => self.add_missing(max + 1, seq - 1),
            Some(_) => {
                let after = self.last_seq.unwrap_or(-1);
                if self.take_missing(seq) {
                    self.at(
                        seq,
                        ProblemKind::Reordered,
                        format!("after seq {}", seq - 1),
                        format!("after seq {after}"),
                        format!("event {} (seq {seq}) comes after seq {after}, out of order", e.event_id),
                    );
                } else {
                    self.at(
                        seq,
                        ProblemKind::SeqDuplicate,
                        format!("one event with seq {seq}"),
                        format!("another: event {}", e.event_id),
                        format!("seq {seq} appears more than once (again as event {})", e.event_id),
                    );
                }
            }
        }
        self.last_seq = Some(seq);
        if self.max_seq.is_none_or(|m| seq > m) {
            self.max_seq = Some(seq);
            // Reuse the head's string: one allocation per walk, not per event.
            let head = self.head.get_or_insert_with(|| CheckedHead { seq, chain_hash: String::with_capacity(64) });
            head.seq = seq;
            head.chain_hash.clear();
            head.chain_hash.push_str(e.chain_hash);
        }
    }

    fn add_missing(&mut self, start: i64, end: i64) {
        if self.missing.len() >= MAX_MISSING_RANGES {
            self.report_gap(start, end);
        } else {
            self.missing.insert(start, end);
        }
    }

    fn report_gap(&mut self, start: i64, end: i64) {
        let what =
            if start == end { format!("seq {start} is missing") } else { format!("seqs {start} to {end} are missing") };
        self.at(start, ProblemKind::SeqGap, format!("seq {start}"), format!("seq {}", end + 1), what);
    }

    /// Remove `seq` from the missing runs; true when it was missing (it came late).
    fn take_missing(&mut self, seq: i64) -> bool {
        let Some((&start, &end)) = self.missing.range(..=seq).next_back() else { return false };
        if seq > end {
            return false;
        }
        self.missing.remove(&start);
        if start < seq {
            self.missing.insert(start, seq - 1);
        }
        if seq < end {
            self.missing.insert(seq + 1, end);
        }
        true
    }

    fn check_payload(&mut self, e: &EventView<'_>) -> bool {
        let stored = hash_bytes(e.event_hash);
        let fast = match e.payload {
            PayloadView::Text(text) => Some(<[u8; 32]>::from(Sha256::digest(text.as_bytes()))),
            PayloadView::Value(_) => None,
        };
        if fast.is_some() && fast == stored {
            return true;
        }
        // Not byte-for-byte canonical (a tool may have reformatted the line): canonicalize.
        let canonical = match e.payload {
            PayloadView::Text(text) => serde_json::from_str::<Value>(text).ok().and_then(|v| canonical_json(&v).ok()),
            PayloadView::Value(v) => canonical_json(v).ok(),
        };
        let computed = canonical.map(|c| <[u8; 32]>::from(Sha256::digest(c.as_bytes())));
        if computed.is_some() && computed == stored {
            return true;
        }
        self.at(
            e.seq,
            ProblemKind::PayloadModified,
            e.event_hash.to_owned(),
            computed.map(hex::encode).unwrap_or_else(|| "a payload that is not JSON".into()),
            format!("event {}: the payload's SHA-256 is not the signed event_hash", e.event_id),
        );
        false
    }

    /// The seq of the recent event whose chain hash is `previous` (-1 for the genesis hash).
    fn predecessor_of(&self, previous: Option<[u8; 32]>) -> Option<i64> {
        if previous.is_some() && previous == hash_bytes(GENESIS_HASH) {
            return Some(-1);
        }
        self.recent.iter().rev().find(|(_, links)| links.iter().any(|l| l.matches(previous))).map(|(s, _)| *s)
    }

    /// Whether some recent event goes by this hash (so a bad signature is not a moved event
    /// waiting for its predecessor).
    fn link_known(&self, previous: Option<[u8; 32]>) -> bool {
        previous.is_none() || self.predecessor_of(previous).is_some()
    }

    /// A signature that fails at the stored seq: does it hold at the seq after the event its
    /// link names? Then the event is authentic and was moved.
    async fn moved_seq(&self, e: &EventView<'_>, sig: &[u8]) -> Result<Option<i64>, AuditError> {
        let predecessor = self.predecessor_of(hash_bytes(e.previous_hash));
        let Some(candidate) = predecessor.map(|p| p + 1).filter(|c| *c != e.seq) else { return Ok(None) };
        let message = signed_message(e.event_id, e.timestamp, e.event_type, e.event_hash, e.previous_hash, candidate);
        Ok((self.signer.verify(e.key_id, message.as_bytes(), sig).await? == MacCheck::Valid).then_some(candidate))
    }

    fn reordered(&mut self, true_seq: i64, stored_seq: i64, event_id: &str) {
        self.at(
            true_seq,
            ProblemKind::Reordered,
            format!("seq {true_seq}"),
            format!("stored as seq {stored_seq}"),
            format!("event {event_id} was signed as seq {true_seq} but is stored as seq {stored_seq}"),
        );
    }

    fn check_link(&mut self, seq: i64, previous: Option<[u8; 32]>, previous_hex: &str) {
        if self.anchor == Some(seq) {
            return;
        }
        if seq == 0 {
            if previous_hex != GENESIS_HASH {
                self.at(
                    0,
                    ProblemKind::ChainBreak,
                    GENESIS_HASH.into(),
                    previous_hex.into(),
                    "seq 0 does not start from the genesis hash".into(),
                );
            }
            return;
        }
        match self.recent.get(&(seq - 1)) {
            Some(links) => {
                if !links.iter().any(|l| l.matches(previous)) {
                    let expected = hex::encode(links.first.stored.unwrap_or(links.first.computed));
                    self.at(
                        seq,
                        ProblemKind::ChainBreak,
                        expected,
                        previous_hex.to_owned(),
                        format!("seq {seq} does not link to seq {}: previous_hash is not its chain hash", seq - 1),
                    );
                }
            }
            None => {
                // The predecessor has not come (yet): check when it does; if it never does, the
                // gap is reported instead.
                let oldest_kept = self.max_seq.unwrap_or(0) - WINDOW;
                if seq > oldest_kept {
                    self.pending_links.entry(seq - 1).or_default().push((seq, previous, previous_hex.to_owned()));
                }
            }
        }
    }

    fn record(&mut self, seq: i64, link: Link, chain_hash_hex: &str) {
        match self.recent.entry(seq) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(Links { first: link, more: Vec::new() });
            }
            std::collections::btree_map::Entry::Occupied(mut o) => o.get_mut().more.push(link),
        }
        if let Some(cp) = &self.checkpoint {
            if cp.seq == seq {
                self.at_checkpoint.push(link);
            }
        }
        if let Some(waiting) = self.pending_links.remove(&seq) {
            for (successor, previous, previous_hex) in waiting {
                if !link.matches(previous) {
                    self.at(
                        successor,
                        ProblemKind::ChainBreak,
                        chain_hash_hex.to_owned(),
                        previous_hex,
                        format!("seq {successor} does not link to seq {seq}: previous_hash is not its chain hash"),
                    );
                }
            }
        }
        self.evict();
    }

    fn evict(&mut self) {
        let oldest_kept = self.max_seq.unwrap_or(0) - WINDOW;
        while self.recent.first_key_value().is_some_and(|(s, _)| *s < oldest_kept) {
            self.recent.pop_first();
        }
        while self.pending_links.first_key_value().is_some_and(|(s, _)| *s < oldest_kept) {
            self.pending_links.pop_first();
        }
    }

    /// Moved events whose predecessor has now arrived.
    async fn resolve_pending(&mut self, final_pass: bool) -> Result<(), AuditError> {
        let mut still = Vec::new();
        for p in std::mem::take(&mut self.pending_signatures) {
            let e = p.event.view();
            match self.moved_seq(&e, &p.signature).await? {
                Some(true_seq) => {
                    self.reordered(true_seq, e.seq, e.event_id);
                    let mut message = String::new();
                    write_signed_message(&mut message, &e, true_seq);
                    let computed = chain_hash_bytes(&message, e.actor, e.key_id, e.signature);
                    self.record(true_seq, Link { stored: hash_bytes(e.chain_hash), computed }, e.chain_hash);
                }
                None if final_pass || self.link_known(hash_bytes(e.previous_hash)) => {
                    self.bad_signature(e.seq, e.event_id, e.key_id)
                }
                None => still.push(p),
            }
        }
        self.pending_signatures = still;
        Ok(())
    }

    /// Finish the walk: what is still missing is a gap, and the chain must reach the checkpoint.
    pub async fn finish(mut self) -> Result<Report, AuditError> {
        self.resolve_pending(true).await?;
        for (start, end) in std::mem::take(&mut self.missing) {
            self.report_gap(start, end);
        }
        let mut checked_checkpoint = None;
        if let Some(cp) = self.checkpoint.take() {
            checked_checkpoint = Some(CheckedHead { seq: cp.seq, chain_hash: cp.chain_hash.clone() });
            let reached = self.max_seq.is_some_and(|m| m >= cp.seq);
            if !reached {
                let last = self.max_seq.map(|m| format!("last seq {m}")).unwrap_or_else(|| "no events".into());
                self.at(
                    self.max_seq.map_or(0, |m| m + 1),
                    ProblemKind::Truncated,
                    format!("seq {} with chain hash {}", cp.seq, cp.chain_hash),
                    last.clone(),
                    format!(
                        "the checkpoint of {} vouches for seq {}, but the chain ends at {last}",
                        cp.created_at, cp.seq
                    ),
                );
            } else if !self.at_checkpoint.is_empty()
                && !self.at_checkpoint.iter().any(|l| l.matches(hash_bytes(&cp.chain_hash)))
            {
                let found =
                    self.at_checkpoint.first().map(|l| hex::encode(l.stored.unwrap_or(l.computed))).unwrap_or_default();
                self.at(
                    cp.seq,
                    ProblemKind::CheckpointMismatch,
                    cp.chain_hash.clone(),
                    found,
                    format!("seq {} is not the event the checkpoint of {} vouches for", cp.seq, cp.created_at),
                );
            }
        }
        self.problems.sort_by_key(|p| (p.seq.is_none(), p.seq.unwrap_or(i64::MAX), p.line));
        let ok = self.problem_count == 0;
        let summary = match (ok, self.events) {
            (true, 0) => "the chain is empty: nothing to verify".to_owned(),
            (true, 1) => "1 event, intact".to_owned(),
            (true, n) => format!("{n} events, intact: every payload, signature and link verifies"),
            (false, n) => format!(
                "{n} event{}, {} problem{} found",
                if n == 1 { "" } else { "s" },
                self.problem_count,
                if self.problem_count == 1 { "" } else { "s" }
            ),
        };
        Ok(Report {
            ok,
            events: self.events,
            problems: self.problems,
            problem_count: self.problem_count,
            head: self.head,
            checkpoint: checked_checkpoint,
            summary,
        })
    }
}
