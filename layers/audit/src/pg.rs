//! The audit chain in PostgreSQL: `audit_events` (unique `seq` per chain) and
//! `audit_chain_heads` (one row per chain, locked for the length of one batch).

use crate::chain::{prepare_batch, receipt, seal_batch, AuditSink, ChainHead, Receipt};
use crate::error::AuditError;
use crate::event::{AuditEvent, NewEvent, GENESIS_HASH};
use crate::redact::Redactor;
use crate::signer::Signer;
use secops_store::{db, Pool, StoreError};
use serde_json::Value;
use tokio_postgres::types::Json;

/// How many events one page of a streamed read holds: memory stays flat however long the chain.
const PAGE: i64 = 2000;

#[derive(Debug)]
pub struct PgAuditLog<S: Signer> {
    pool: Pool,
    chain: String,
    signer: S,
    redactor: Redactor,
}

impl<S: Signer> PgAuditLog<S> {
    pub fn new(pool: Pool, chain: impl Into<String>, signer: S, redactor: Redactor) -> Self {
        PgAuditLog { pool, chain: chain.into(), signer, redactor }
    }

    pub fn chain(&self) -> &str {
        &self.chain
    }

    pub fn signer(&self) -> &S {
        &self.signer
    }

    /// The head as the database has it (genesis for a chain with no events).
    pub async fn head(&self) -> Result<ChainHead, AuditError> {
        read_head(&self.pool, &self.chain).await
    }

    /// Events with `seq >= from`, in seq order, one page at a time.
    pub fn events_from(&self, from: i64) -> EventPages<'_> {
        EventPages { pool: &self.pool, chain: &self.chain, next: from, done: false }
    }
}

pub async fn read_head(pool: &Pool, chain: &str) -> Result<ChainHead, AuditError> {
    let client = db::client(pool).await?;
    let row = client
        .query_opt("SELECT next_seq, chain_hash FROM audit_chain_heads WHERE chain = $1", &[&chain])
        .await
        .map_err(StoreError::query("read the audit chain head"))?;
    Ok(row.map(|r| ChainHead { next_seq: r.get(0), chain_hash: r.get(1) }).unwrap_or_else(ChainHead::genesis))
}

impl<S: Signer> AuditSink for PgAuditLog<S> {
    async fn append(&self, events: Vec<NewEvent>) -> Result<Vec<Receipt>, AuditError> {
        // Everything that does not depend on the head happens before the lock is taken.
        let prepared = prepare_batch(events, &self.redactor)?;
        if prepared.is_empty() {
            return Ok(Vec::new());
        }

        let mut client = db::client(&self.pool).await?;
        let tx = client.transaction().await.map_err(StoreError::query("begin an audit append"))?;
        tx.execute(
            "INSERT INTO audit_chain_heads (chain, next_seq, chain_hash) VALUES ($1, 0, $2) ON CONFLICT (chain) DO NOTHING",
            &[&self.chain, &GENESIS_HASH],
        )
        .await
        .map_err(StoreError::query("create the audit chain head"))?;
        // The row lock serializes appenders across every process that shares the database; a
        // waiting appender re-reads the row after the holder commits (READ COMMITTED).
        let row = tx
            .query_one("SELECT next_seq, chain_hash FROM audit_chain_heads WHERE chain = $1 FOR UPDATE", &[&self.chain])
            .await
            .map_err(StoreError::query("lock the audit chain head"))?;
        let mut head = ChainHead { next_seq: row.get(0), chain_hash: row.get(1) };

        let sealed = seal_batch(&self.signer, &mut head, prepared).await?;
        insert_events(&tx, &self.chain, &sealed).await?;
        tx.execute(
            "UPDATE audit_chain_heads SET next_seq = $2, chain_hash = $3, updated_at = now() WHERE chain = $1",
            &[&self.chain, &head.next_seq, &head.chain_hash],
        )
        .await
        .map_err(StoreError::query("move the audit chain head"))?;
        tx.commit().await.map_err(StoreError::query("commit an audit append"))?;
        Ok(sealed.iter().map(receipt).collect())
    }
}

/// One statement per batch: columns as arrays, unnested on the server.
async fn insert_events(
    tx: &tokio_postgres::Transaction<'_>,
    chain: &str,
    events: &[AuditEvent],
) -> Result<(), AuditError> {
    let col = |f: fn(&AuditEvent) -> &str| events.iter().map(f).collect::<Vec<&str>>();
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    let ids: Vec<uuid::Uuid> = events
        .iter()
        .map(|e| uuid::Uuid::parse_str(&e.event_id).map_err(|err| AuditError::InvalidInput(err.to_string())))
        .collect::<Result<_, _>>()?;
    let payloads: Vec<Json<&Value>> = events.iter().map(|e| Json(&e.payload)).collect();
    tx.execute(
        "INSERT INTO audit_events (chain, seq, event_id, \"timestamp\", event_type, actor, key_id, payload, \
                                   event_hash, previous_hash, signature, chain_hash) \
         SELECT $1, * FROM unnest($2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], \
                                  $8::jsonb[], $9::text[], $10::text[], $11::text[], $12::text[])",
        &[
            &chain,
            &seqs,
            &ids,
            &col(|e| &e.timestamp),
            &col(|e| &e.event_type),
            &col(|e| &e.actor),
            &col(|e| &e.key_id),
            &payloads,
            &col(|e| &e.event_hash),
            &col(|e| &e.previous_hash),
            &col(|e| &e.signature),
            &col(|e| &e.chain_hash),
        ],
    )
    .await
    .map_err(StoreError::query("insert audit events"))?;
    Ok(())
}

/// Keyset pages of events in seq order.
#[derive(Debug)]
pub struct EventPages<'a> {
    pool: &'a Pool,
    chain: &'a str,
    next: i64,
    done: bool,
}

impl EventPages<'_> {
    /// The next page; empty when the chain is exhausted.
    pub async fn next_page(&mut self) -> Result<Vec<AuditEvent>, AuditError> {
        if self.done {
            return Ok(Vec::new());
        }
        let client = db::client(self.pool).await?;
        let rows = client
            .query(
                "SELECT seq, event_id, \"timestamp\", event_type, actor, key_id, payload, event_hash, previous_hash, \
                        signature, chain_hash \
                 FROM audit_events WHERE chain = $1 AND seq >= $2 ORDER BY seq LIMIT $3",
                &[&self.chain, &self.next, &PAGE],
            )
            .await
            .map_err(StoreError::query("read audit events"))?;
        if (rows.len() as i64) < PAGE {
            self.done = true;
        }
        let events: Vec<AuditEvent> = rows
            .iter()
            .map(|r| AuditEvent {
                seq: r.get(0),
                event_id: r.get::<_, uuid::Uuid>(1).to_string(),
                timestamp: r.get(2),
                event_type: r.get(3),
                actor: r.get(4),
                key_id: r.get(5),
                payload: r.get::<_, Json<Value>>(6).0,
                event_hash: r.get(7),
                previous_hash: r.get(8),
                signature: r.get(9),
                chain_hash: r.get(10),
            })
            .collect();
        if let Some(last) = events.last() {
            self.next = last.seq + 1;
        }
        Ok(events)
    }
}
