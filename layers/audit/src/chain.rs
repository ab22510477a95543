//! Building the chain: sealing new events onto a head, and the `AuditSink` port every step
//! writes through.

use crate::error::AuditError;
use crate::event::{
    canonical_json, chain_hash, check_actor, check_event_type, format_timestamp, sha256_hex, signed_message,
    storable_payload, AuditEvent, NewEvent, GENESIS_HASH,
};
use crate::redact::Redactor;
use crate::signer::Signer;
use serde::{Deserialize, Serialize};
use std::future::Future;

/// Step Functions payloads stop at 256 KiB; an audit payload may not be larger either.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// The most events one append takes (one transaction, one lock hold).
pub const MAX_BATCH: usize = 1000;

/// Where the chain ends: the seq the next event gets and the hash it must link to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub next_seq: i64,
    pub chain_hash: String,
}

impl ChainHead {
    pub fn genesis() -> Self {
        ChainHead { next_seq: 0, chain_hash: GENESIS_HASH.to_owned() }
    }
}

/// What a writer gets back for each appended event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub seq: i64,
    pub event_id: String,
    pub chain_hash: String,
}

/// The port every pipeline step records through. Appends are all-or-nothing per call.
pub trait AuditSink: Send + Sync {
    fn append(&self, events: Vec<NewEvent>) -> impl Future<Output = Result<Vec<Receipt>, AuditError>> + Send;
}

/// Redact, validate and canonicalize one event before any lock is taken: what is left under
/// the lock is numbering, hashing the link and signing.
#[derive(Debug, Clone)]
pub struct PreparedEvent {
    event_type: String,
    actor: String,
    payload: serde_json::Value,
    event_hash: String,
}

fn prepare(event: NewEvent, redactor: &Redactor, index: usize) -> Result<PreparedEvent, AuditError> {
    let at = |e: AuditError| match e {
        AuditError::InvalidInput(m) => AuditError::InvalidInput(format!("events[{index}]: {m}")),
        other => other,
    };
    check_event_type(&event.event_type).map_err(at)?;
    check_actor(&event.actor).map_err(at)?;
    let payload = storable_payload(redactor.redact_json(&event.payload));
    let canonical = canonical_json(&payload).map_err(at)?;
    if canonical.len() > MAX_PAYLOAD_BYTES {
        return Err(AuditError::InvalidInput(format!(
            "events[{index}]: payload is {} bytes of canonical JSON; the limit is {MAX_PAYLOAD_BYTES}",
            canonical.len()
        )));
    }
    Ok(PreparedEvent {
        event_type: event.event_type,
        actor: event.actor,
        event_hash: sha256_hex(canonical.as_bytes()),
        payload,
    })
}

/// Check the batch size and prepare every event; the first bad one refuses the whole batch.
pub fn prepare_batch(events: Vec<NewEvent>, redactor: &Redactor) -> Result<Vec<PreparedEvent>, AuditError> {
    if events.len() > MAX_BATCH {
        return Err(AuditError::InvalidInput(format!(
            "an append takes at most {MAX_BATCH} events; this one has {}: split it",
            events.len()
        )));
    }
    events.into_iter().enumerate().map(|(i, e)| prepare(e, redactor, i)).collect()
}

/// Number, link and sign prepared events onto `head`, moving the head past each.
pub async fn seal_batch<S: Signer>(
    signer: &S,
    head: &mut ChainHead,
    events: Vec<PreparedEvent>,
) -> Result<Vec<AuditEvent>, AuditError> {
    let mut sealed = Vec::with_capacity(events.len());
    for event in events {
        sealed.push(seal(signer, head, event).await?);
    }
    Ok(sealed)
}

async fn seal<S: Signer>(signer: &S, head: &mut ChainHead, event: PreparedEvent) -> Result<AuditEvent, AuditError> {
    let event_id = uuid::Uuid::new_v4().to_string();
    let timestamp = format_timestamp(time::OffsetDateTime::now_utc());
    let seq = head.next_seq;
    let message = signed_message(&event_id, &timestamp, &event.event_type, &event.event_hash, &head.chain_hash, seq);
    let signature = hex::encode(signer.sign(message.as_bytes()).await?);
    let key_id = signer.active_key_id().to_owned();
    let chain_hash = chain_hash(&message, &event.actor, &key_id, &signature);
    let sealed = AuditEvent {
        seq,
        event_id,
        timestamp,
        event_type: event.event_type,
        actor: event.actor,
        key_id,
        payload: event.payload,
        event_hash: event.event_hash,
        previous_hash: std::mem::replace(&mut head.chain_hash, chain_hash.clone()),
        signature,
        chain_hash,
    };
    head.next_seq += 1;
    Ok(sealed)
}

pub fn receipt(event: &AuditEvent) -> Receipt {
    Receipt { seq: event.seq, event_id: event.event_id.clone(), chain_hash: event.chain_hash.clone() }
}

/// An in-process chain for unit tests of the steps that write audit events. It builds events
/// exactly as the PostgreSQL log does, so what it holds verifies the same way.
#[derive(Debug)]
pub struct MemoryAuditLog<S: Signer> {
    signer: S,
    redactor: Redactor,
    state: tokio::sync::Mutex<(ChainHead, Vec<AuditEvent>)>,
}

impl<S: Signer> MemoryAuditLog<S> {
    pub fn new(signer: S, redactor: Redactor) -> Self {
        MemoryAuditLog { signer, redactor, state: tokio::sync::Mutex::new((ChainHead::genesis(), Vec::new())) }
    }

    pub async fn events(&self) -> Vec<AuditEvent> {
        self.state.lock().await.1.clone()
    }
}

impl<S: Signer> AuditSink for MemoryAuditLog<S> {
    async fn append(&self, events: Vec<NewEvent>) -> Result<Vec<Receipt>, AuditError> {
        let prepared = prepare_batch(events, &self.redactor)?;
        let mut state = self.state.lock().await;
        let mut head = state.0.clone();
        let sealed = seal_batch(&self.signer, &mut head, prepared).await?;
        let receipts = sealed.iter().map(receipt).collect();
        state.0 = head;
        state.1.extend(sealed);
        Ok(receipts)
    }
}
