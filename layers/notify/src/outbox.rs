//! The durable outbox (PostgreSQL, migration V004): every outgoing message is written here
//! before anything is sent, keyed so a retried step finds its message instead of adding a
//! second, delivered in order per destination, and marked with the remote id once delivered.

use std::collections::BTreeMap;
use std::time::Duration;

use secops_store::{Pool, StoreError};
use serde::Serialize;
use time::OffsetDateTime;
use tokio_postgres::Row;

use crate::message::{Destination, Outgoing};
use crate::{NotifyError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    Queued,
    Delivered,
    /// The destination refused the message itself (a rejected field, a ticket that no longer
    /// exists): kept with the reason, never retried, never silently dropped.
    Rejected,
}

impl EntryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryStatus::Queued => "queued",
            EntryStatus::Delivered => "delivered",
            EntryStatus::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => EntryStatus::Queued,
            "delivered" => EntryStatus::Delivered,
            "rejected" => EntryStatus::Rejected,
            _ => return None,
        })
    }
}

/// A message to write.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    pub key: String,
    pub destination: Destination,
    pub purpose: String,
    pub finding_id: Option<String>,
    pub payload: Outgoing,
}

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxEntry {
    pub seq: i64,
    pub key: String,
    pub destination: Destination,
    pub purpose: String,
    pub finding_id: Option<String>,
    pub payload: Outgoing,
    pub status: EntryStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub remote_id: Option<String>,
    pub remote_url: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub enqueued_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub attempted_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub delivered_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone)]
pub struct PgOutbox {
    pool: Pool,
}

fn corrupt(seq: i64, what: &str) -> NotifyError {
    NotifyError::Store {
        class: secops_core::ErrorClass::Permanent,
        message: format!("outbox entry {seq} has a bad {what}"),
    }
}

fn entry(row: &Row) -> Result<OutboxEntry> {
    let seq: i64 = row.get("seq");
    let destination: String = row.get("destination");
    let status: String = row.get("status");
    let payload: serde_json::Value = row.get("payload");
    Ok(OutboxEntry {
        seq,
        key: row.get("key"),
        destination: Destination::parse(&destination).ok_or_else(|| corrupt(seq, "destination"))?,
        purpose: row.get("purpose"),
        finding_id: row.get("finding_id"),
        payload: serde_json::from_value(payload).map_err(|e| corrupt(seq, &format!("payload ({e})")))?,
        status: EntryStatus::parse(&status).ok_or_else(|| corrupt(seq, "status"))?,
        attempts: row.get("attempts"),
        last_error: row.get("last_error"),
        remote_id: row.get("remote_id"),
        remote_url: row.get("remote_url"),
        enqueued_at: row.get("enqueued_at"),
        attempted_at: row.get("attempted_at"),
        delivered_at: row.get("delivered_at"),
    })
}

fn clip(text: &str) -> String {
    text.chars().take(2000).collect()
}

impl PgOutbox {
    pub fn new(pool: Pool) -> Self {
        PgOutbox { pool }
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        Ok(secops_store::db::client(&self.pool).await?)
    }

    /// Write the message unless its key is already there; the stored entry either way.
    pub async fn enqueue(&self, new: &NewEntry, now: OffsetDateTime) -> Result<OutboxEntry> {
        let payload = serde_json::to_value(&new.payload)
            .map_err(|e| NotifyError::InvalidInput(format!("outbox message {} cannot be stored: {e}", new.key)))?;
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO outbox (key, destination, purpose, finding_id, payload, enqueued_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING",
                &[&new.key, &new.destination.name(), &new.purpose, &new.finding_id, &payload, &now],
            )
            .await
            .map_err(StoreError::query("enqueue outbox message"))?;
        let row = client
            .query_one("SELECT * FROM outbox WHERE key = $1", &[&new.key])
            .await
            .map_err(StoreError::query("read outbox message"))?;
        entry(&row)
    }

    pub async fn get(&self, key: &str) -> Result<Option<OutboxEntry>> {
        let row = self
            .client()
            .await?
            .query_opt("SELECT * FROM outbox WHERE key = $1", &[&key])
            .await
            .map_err(StoreError::query("read outbox message"))?;
        row.as_ref().map(entry).transpose()
    }

    pub async fn by_seq(&self, seq: i64) -> Result<Option<OutboxEntry>> {
        let row = self
            .client()
            .await?
            .query_opt("SELECT * FROM outbox WHERE seq = $1", &[&seq])
            .await
            .map_err(StoreError::query("read outbox message"))?;
        row.as_ref().map(entry).transpose()
    }

    /// The oldest queued messages of `destination`, in order.
    pub async fn queued(&self, destination: Destination, limit: usize) -> Result<Vec<OutboxEntry>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .client()
            .await?
            .query(
                "SELECT * FROM outbox WHERE destination = $1 AND status = 'queued' ORDER BY seq LIMIT $2",
                &[&destination.name(), &limit],
            )
            .await
            .map_err(StoreError::query("read queued outbox messages"))?;
        rows.iter().map(entry).collect()
    }

    /// Take the sending lease on a queued message; None when it is delivered, rejected, or
    /// another worker holds an unexpired lease. Taking over another owner's lease counts that
    /// owner's attempt, which ended without a record (a crash, a cancelled send): a create is
    /// then looked up before it is sent again.
    pub async fn lease(
        &self,
        key: &str,
        owner: &str,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<OutboxEntry>> {
        let until = now + time::Duration::try_from(lease).unwrap_or(time::Duration::MINUTE);
        let row = self
            .client()
            .await?
            .query_opt(
                "UPDATE outbox SET lease_owner = $2, lease_until = $3, \
                 attempts = attempts + CASE WHEN lease_owner IS NOT NULL AND lease_owner <> $2 THEN 1 ELSE 0 END \
                 WHERE key = $1 AND status = 'queued' \
                 AND (lease_until IS NULL OR lease_until < $4 OR lease_owner = $2) RETURNING *",
                &[&key, &owner, &until, &now],
            )
            .await
            .map_err(StoreError::query("lease outbox message"))?;
        row.as_ref().map(entry).transpose()
    }

    /// Let go of the leases of owners named `owner_prefix…` (a process stopping with sends cut
    /// off), so another worker takes them over at once instead of after the lease period.
    pub async fn release_leases(&self, owner_prefix: &str) -> Result<u64> {
        let pattern = format!("{}%", owner_prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let released = self
            .client()
            .await?
            .execute(
                "UPDATE outbox SET lease_until = NULL WHERE status = 'queued' AND lease_owner LIKE $1",
                &[&pattern],
            )
            .await
            .map_err(StoreError::query("release outbox leases"))?;
        Ok(released)
    }

    pub async fn mark_delivered(
        &self,
        key: &str,
        remote_id: &str,
        remote_url: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<()> {
        self.client()
            .await?
            .execute(
                "UPDATE outbox SET status = 'delivered', remote_id = $2, remote_url = $3, delivered_at = $4, \
                 attempted_at = $4, attempts = attempts + 1, last_error = NULL, lease_owner = NULL, lease_until = NULL \
                 WHERE key = $1 AND status = 'queued'",
                &[&key, &remote_id, &remote_url, &now],
            )
            .await
            .map_err(StoreError::query("mark outbox message delivered"))?;
        Ok(())
    }

    /// A failed attempt: the message stays queued with the error.
    pub async fn mark_failed(&self, key: &str, error: &str, now: OffsetDateTime) -> Result<()> {
        self.client()
            .await?
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2, attempted_at = $3, lease_owner = NULL, \
                 lease_until = NULL WHERE key = $1 AND status = 'queued'",
                &[&key, &clip(error), &now],
            )
            .await
            .map_err(StoreError::query("record outbox failure"))?;
        Ok(())
    }

    pub async fn mark_rejected(&self, key: &str, error: &str, now: OffsetDateTime) -> Result<()> {
        self.client()
            .await?
            .execute(
                "UPDATE outbox SET status = 'rejected', attempts = attempts + 1, last_error = $2, attempted_at = $3, \
                 lease_owner = NULL, lease_until = NULL WHERE key = $1 AND status = 'queued'",
                &[&key, &clip(error), &now],
            )
            .await
            .map_err(StoreError::query("record outbox rejection"))?;
        Ok(())
    }

    /// Entries after `after_seq`, in order (an operator's export pages through with this).
    pub async fn page(&self, after_seq: i64, limit: usize, status: Option<EntryStatus>) -> Result<Vec<OutboxEntry>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let status = status.map(EntryStatus::as_str);
        let rows = self
            .client()
            .await?
            .query(
                "SELECT * FROM outbox WHERE seq > $1 AND ($3::text IS NULL OR status = $3) ORDER BY seq LIMIT $2",
                &[&after_seq, &limit, &status],
            )
            .await
            .map_err(StoreError::query("page through the outbox"))?;
        rows.iter().map(entry).collect()
    }

    /// How many messages per destination and status.
    pub async fn counts(&self) -> Result<BTreeMap<(Destination, EntryStatus), i64>> {
        let rows = self
            .client()
            .await?
            .query("SELECT destination, status, count(*) AS n FROM outbox GROUP BY 1, 2", &[])
            .await
            .map_err(StoreError::query("count outbox messages"))?;
        let mut counts = BTreeMap::new();
        for row in rows {
            let d: String = row.get("destination");
            let s: String = row.get("status");
            let (Some(d), Some(s)) = (Destination::parse(&d), EntryStatus::parse(&s)) else { continue };
            counts.insert((d, s), row.get::<_, i64>("n"));
        }
        Ok(counts)
    }
}
