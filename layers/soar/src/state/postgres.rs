//! The hot state store on PostgreSQL (migration V003): the single binary's default.

use std::time::Duration;

use async_trait::async_trait;
use secops_core::scratchpad::AccountData;
use secops_store::{db, Pool, StoreError};
use serde_json::Value;
use time::OffsetDateTime;
use tokio_postgres::Row;

use super::{
    Claim, ClaimKey, DeadLetter, EnabledControls, IncidentRecord, StateStore, StoredPolicy, TicketKind, TicketRecord,
};
use crate::{Result, SoarError};

#[derive(Debug, Clone)]
pub struct PgStateStore {
    pool: Pool,
}

impl PgStateStore {
    pub fn new(pool: Pool) -> Self {
        PgStateStore { pool }
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> SoarError {
    SoarError::store(secops_core::ErrorClass::Permanent, format!("{what}: {e}"))
}

fn lease_end(now: OffsetDateTime, lease: Duration) -> Result<OffsetDateTime> {
    let lease = time::Duration::try_from(lease).map_err(|e| SoarError::InvalidInput(format!("claim lease: {e}")))?;
    Ok(now + lease)
}

const TICKET_COLUMNS: &str =
    "finding_id, ticket_id, kind, account_id, control_id, title, severity, environment, team, \
     penalty_score, opened_at, closed_at, reminders, expires_at";

fn ticket_of(row: &Row) -> Result<TicketRecord> {
    let kind: String = row.get("kind");
    Ok(TicketRecord {
        finding_id: row.get("finding_id"),
        ticket_id: row.get("ticket_id"),
        kind: TicketKind::parse(&kind).ok_or_else(|| corrupt("tickets.kind", format!("unknown kind '{kind}'")))?,
        account_id: row.get("account_id"),
        control_id: row.get("control_id"),
        title: row.get("title"),
        severity: row.get("severity"),
        environment: row.get("environment"),
        team: row.get("team"),
        penalty_score: row.get("penalty_score"),
        opened_at: row.get("opened_at"),
        closed_at: row.get("closed_at"),
        reminders: row.get("reminders"),
        expires_at: row.get("expires_at"),
    })
}

#[async_trait]
impl StateStore for PgStateStore {
    async fn claim(&self, key: &ClaimKey, owner: &str, now: OffsetDateTime, lease: Duration) -> Result<Claim> {
        let until = lease_end(now, lease)?;
        let client = db::client(&self.pool).await?;
        // One statement: insert, take over an expired lease or renew our own; otherwise report what is there.
        let taken = client
            .query_opt(
                "INSERT INTO decide_claims (key, owner, state, lease_until) VALUES ($1, $2, 'in_progress', $3)
                 ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until
                 WHERE decide_claims.state = 'in_progress'
                   AND (decide_claims.lease_until <= $4 OR decide_claims.owner = EXCLUDED.owner)
                 RETURNING owner",
                &[&key.as_str(), &owner, &until, &now],
            )
            .await
            .map_err(StoreError::query("claim"))?;
        if taken.is_some() {
            return Ok(Claim::Acquired);
        }
        let row = client
            .query_opt("SELECT owner, state, lease_until, result FROM decide_claims WHERE key = $1", &[&key.as_str()])
            .await
            .map_err(StoreError::query("read claim"))?
            .ok_or_else(|| SoarError::Conflict(format!("claim {key} vanished while it was being taken; retry")))?;
        let state: String = row.get("state");
        Ok(if state == "done" {
            Claim::Done { result: row.get::<_, Option<Value>>("result").unwrap_or(Value::Null) }
        } else {
            Claim::InProgress { owner: row.get("owner"), lease_until: row.get("lease_until") }
        })
    }

    async fn complete(&self, key: &ClaimKey, owner: &str, result: &Value, keep_until: OffsetDateTime) -> Result<()> {
        let client = db::client(&self.pool).await?;
        let n = client
            .execute(
                "UPDATE decide_claims SET state = 'done', result = $3, expires_at = $4
                 WHERE key = $1 AND owner = $2 AND state = 'in_progress'",
                &[&key.as_str(), &owner, result, &keep_until],
            )
            .await
            .map_err(StoreError::query("complete claim"))?;
        if n == 0 {
            return Err(SoarError::Conflict(format!(
                "claim {key}: {owner} no longer holds it (its lease expired and another execution took over)"
            )));
        }
        Ok(())
    }

    async fn release(&self, key: &ClaimKey, owner: &str) -> Result<()> {
        let client = db::client(&self.pool).await?;
        client
            .execute(
                "DELETE FROM decide_claims WHERE key = $1 AND owner = $2 AND state = 'in_progress'",
                &[&key.as_str(), &owner],
            )
            .await
            .map_err(StoreError::query("release claim"))?;
        Ok(())
    }

    async fn ticket(&self, finding_id: &str) -> Result<Option<TicketRecord>> {
        let client = db::client(&self.pool).await?;
        // The open ticket if there is one, else the most recently opened.
        let row = client
            .query_opt(
                &format!(
                    "SELECT {TICKET_COLUMNS} FROM tickets WHERE finding_id = $1
                     ORDER BY (closed_at IS NULL) DESC, opened_at DESC LIMIT 1"
                ),
                &[&finding_id],
            )
            .await
            .map_err(StoreError::query("read ticket"))?;
        row.as_ref().map(ticket_of).transpose()
    }

    async fn insert_ticket(&self, t: &TicketRecord) -> Result<bool> {
        if !t.is_open() {
            return Err(SoarError::InvalidInput(format!(
                "ticket {} for {} is already closed",
                t.ticket_id, t.finding_id
            )));
        }
        let client = db::client(&self.pool).await?;
        let n = client
            .execute(
                &format!(
                    "INSERT INTO tickets ({TICKET_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $12, $13)
                     ON CONFLICT DO NOTHING"
                ),
                &[
                    &t.finding_id,
                    &t.ticket_id,
                    &t.kind.as_str(),
                    &t.account_id,
                    &t.control_id,
                    &t.title,
                    &t.severity,
                    &t.environment,
                    &t.team,
                    &t.penalty_score,
                    &t.opened_at,
                    &t.reminders,
                    &t.expires_at,
                ],
            )
            .await
            .map_err(StoreError::query("insert ticket"))?;
        Ok(n == 1)
    }

    async fn close_ticket(
        &self,
        finding_id: &str,
        closed_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<Option<TicketRecord>> {
        let client = db::client(&self.pool).await?;
        let row = client
            .query_opt(
                &format!(
                    "UPDATE tickets SET closed_at = GREATEST($2, opened_at), expires_at = $3
                     WHERE finding_id = $1 AND closed_at IS NULL RETURNING {TICKET_COLUMNS}"
                ),
                &[&finding_id, &closed_at, &expires_at],
            )
            .await
            .map_err(StoreError::query("close ticket"))?;
        row.as_ref().map(ticket_of).transpose()
    }

    async fn open_tickets(&self) -> Result<Vec<TicketRecord>> {
        let client = db::client(&self.pool).await?;
        let rows = client
            .query(
                &format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE closed_at IS NULL ORDER BY opened_at, finding_id"),
                &[],
            )
            .await
            .map_err(StoreError::query("list open tickets"))?;
        rows.iter().map(ticket_of).collect()
    }

    async fn record_reminder(&self, finding_id: &str, reminder: &str) -> Result<bool> {
        let client = db::client(&self.pool).await?;
        let n = client
            .execute(
                "UPDATE tickets SET reminders = array_append(reminders, $2)
                 WHERE finding_id = $1 AND closed_at IS NULL AND NOT ($2 = ANY (reminders))",
                &[&finding_id, &reminder],
            )
            .await
            .map_err(StoreError::query("record reminder"))?;
        Ok(n == 1)
    }

    async fn cached_account(&self, account_id: &str, now: OffsetDateTime) -> Result<Option<AccountData>> {
        let client = db::client(&self.pool).await?;
        let row = client
            .query_opt("SELECT data FROM account_cache WHERE account_id = $1 AND expires_at > $2", &[&account_id, &now])
            .await
            .map_err(StoreError::query("read account cache"))?;
        row.map(|r| {
            serde_json::from_value(r.get("data")).map_err(|e| corrupt(&format!("account_cache[{account_id}]"), e))
        })
        .transpose()
    }

    async fn cache_account(&self, account: &AccountData, expires_at: OffsetDateTime) -> Result<()> {
        let id = account
            .id
            .as_deref()
            .ok_or_else(|| SoarError::InvalidInput("account data without an id cannot be cached".into()))?;
        let data = serde_json::to_value(account).map_err(|e| SoarError::InvalidInput(e.to_string()))?;
        let client = db::client(&self.pool).await?;
        client
            .execute(
                "INSERT INTO account_cache (account_id, data, expires_at) VALUES ($1, $2, $3)
                 ON CONFLICT (account_id) DO UPDATE SET data = EXCLUDED.data, expires_at = EXCLUDED.expires_at",
                &[&id, &data, &expires_at],
            )
            .await
            .map_err(StoreError::query("cache account"))?;
        Ok(())
    }

    async fn enabled_controls(&self, account_id: &str, region: &str) -> Result<Option<EnabledControls>> {
        let client = db::client(&self.pool).await?;
        let row = client
            .query_opt(
                "SELECT controls, synced_at FROM enabled_controls WHERE account_id = $1 AND region = $2",
                &[&account_id, &region],
            )
            .await
            .map_err(StoreError::query("read enabled controls"))?;
        Ok(row.map(|r| EnabledControls {
            account_id: account_id.to_owned(),
            region: region.to_owned(),
            controls: r.get::<_, Vec<String>>("controls").into_iter().collect(),
            synced_at: r.get("synced_at"),
        }))
    }

    async fn put_enabled_controls(&self, c: &EnabledControls) -> Result<()> {
        let controls: Vec<&str> = c.controls.iter().map(String::as_str).collect();
        let client = db::client(&self.pool).await?;
        client
            .execute(
                "INSERT INTO enabled_controls (account_id, region, controls, synced_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (account_id, region) DO UPDATE SET controls = EXCLUDED.controls, synced_at = EXCLUDED.synced_at",
                &[&c.account_id, &c.region, &controls, &c.synced_at],
            )
            .await
            .map_err(StoreError::query("store enabled controls"))?;
        Ok(())
    }

    async fn policy(&self) -> Result<Option<StoredPolicy>> {
        let client = db::client(&self.pool).await?;
        let row = client
            .query_opt("SELECT yaml, sha256, loaded_at, source FROM decide_policy", &[])
            .await
            .map_err(StoreError::query("read policy"))?;
        Ok(row.map(|r| StoredPolicy {
            yaml: r.get("yaml"),
            sha256: r.get("sha256"),
            loaded_at: r.get("loaded_at"),
            source: r.get("source"),
        }))
    }

    async fn put_policy(&self, p: &StoredPolicy) -> Result<()> {
        let client = db::client(&self.pool).await?;
        client
            .execute(
                "INSERT INTO decide_policy (id, yaml, sha256, loaded_at, source) VALUES (true, $1, $2, $3, $4)
                 ON CONFLICT (id) DO UPDATE SET yaml = EXCLUDED.yaml, sha256 = EXCLUDED.sha256,
                     loaded_at = EXCLUDED.loaded_at, source = EXCLUDED.source",
                &[&p.yaml, &p.sha256, &p.loaded_at, &p.source],
            )
            .await
            .map_err(StoreError::query("store policy"))?;
        Ok(())
    }

    async fn put_dead_letter(&self, l: &DeadLetter) -> Result<()> {
        let index = l.index.map(|i| i as i32);
        let client = db::client(&self.pool).await?;
        client
            .execute(
                "INSERT INTO dead_letters (id, event_id, item_index, error, raw, received_at) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (id) DO NOTHING",
                &[&l.id, &l.event_id, &index, &l.error, &l.raw, &l.received_at],
            )
            .await
            .map_err(StoreError::query("store dead letter"))?;
        Ok(())
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = db::client(&self.pool).await?;
        let rows = client
            .query(
                "SELECT id, event_id, item_index, error, raw, received_at FROM dead_letters
                 ORDER BY received_at DESC, id LIMIT $1",
                &[&limit],
            )
            .await
            .map_err(StoreError::query("list dead letters"))?;
        Ok(rows
            .iter()
            .map(|r| DeadLetter {
                id: r.get("id"),
                event_id: r.get("event_id"),
                index: r.get::<_, Option<i32>>("item_index").and_then(|i| u32::try_from(i).ok()),
                error: r.get("error"),
                raw: r.get("raw"),
                received_at: r.get("received_at"),
            })
            .collect())
    }

    async fn insert_incident(&self, i: &IncidentRecord) -> Result<bool> {
        let client = db::client(&self.pool).await?;
        let n = client
            .execute(
                "INSERT INTO incidents (finding_id, updated_at, account_id, family, finding_type, severity, title,
                     penalty_score, responses, ticket_id, recorded_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
                &[
                    &i.finding_id,
                    &i.updated_at,
                    &i.account_id,
                    &i.family,
                    &i.finding_type,
                    &i.severity,
                    &i.title,
                    &i.penalty_score,
                    &i.responses,
                    &i.ticket_id,
                    &i.recorded_at,
                ],
            )
            .await
            .map_err(StoreError::query("insert incident"))?;
        Ok(n == 1)
    }
}
