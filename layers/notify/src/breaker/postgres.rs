//! Breakers in PostgreSQL (`notify_breakers`, `notify_breaker_log`, migration V004).

use async_trait::async_trait;
use secops_store::{Pool, StoreError};
use tokio_postgres::Row;

use super::{BreakerRow, BreakerState, BreakerStore, Transition};
use crate::message::Destination;
use crate::{NotifyError, Result};

#[derive(Debug, Clone)]
pub struct PgBreakerStore {
    pool: Pool,
}

impl PgBreakerStore {
    pub fn new(pool: Pool) -> Self {
        PgBreakerStore { pool }
    }
}

fn bad_row(what: &str, value: &str) -> NotifyError {
    NotifyError::Store {
        class: secops_core::ErrorClass::Permanent,
        message: format!("notify_breakers holds an unknown {what} '{value}'"),
    }
}

fn row_to_breaker(row: &Row) -> Result<BreakerRow> {
    let destination: String = row.get("destination");
    let state: String = row.get("state");
    let failures: i32 = row.get("consecutive_failures");
    Ok(BreakerRow {
        destination: Destination::parse(&destination).ok_or_else(|| bad_row("destination", &destination))?,
        state: BreakerState::parse(&state).ok_or_else(|| bad_row("state", &state))?,
        consecutive_failures: u32::try_from(failures).unwrap_or(0),
        open_until: row.get("open_until"),
        probe_until: row.get("probe_until"),
        last_error: row.get("last_error"),
        changed_at: row.get("changed_at"),
        version: row.get("version"),
    })
}

#[async_trait]
impl BreakerStore for PgBreakerStore {
    async fn load(&self, destination: Destination) -> Result<Option<BreakerRow>> {
        let client = secops_store::db::client(&self.pool).await?;
        let row = client
            .query_opt("SELECT * FROM notify_breakers WHERE destination = $1", &[&destination.name()])
            .await
            .map_err(StoreError::query("read breaker"))?;
        row.as_ref().map(row_to_breaker).transpose()
    }

    async fn swap(&self, expected: Option<i64>, b: &BreakerRow, transition: Option<&Transition>) -> Result<bool> {
        let mut client = secops_store::db::client(&self.pool).await?;
        let tx = client.transaction().await.map_err(StoreError::query("begin breaker write"))?;
        let failures = i32::try_from(b.consecutive_failures).unwrap_or(i32::MAX);
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 8] = [
            &b.destination.name(),
            &b.state.as_str(),
            &failures,
            &b.open_until,
            &b.probe_until,
            &b.last_error,
            &b.changed_at,
            &b.version,
        ];
        let written = match expected {
            None => tx
                .execute(
                    "INSERT INTO notify_breakers (destination, state, consecutive_failures, open_until, probe_until, \
                     last_error, changed_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (destination) DO NOTHING",
                    &params,
                )
                .await
                .map_err(StoreError::query("insert breaker"))?,
            Some(version) => {
                let mut with_expected = params.to_vec();
                with_expected.push(&version);
                tx.execute(
                    "UPDATE notify_breakers SET state = $2, consecutive_failures = $3, open_until = $4, \
                     probe_until = $5, last_error = $6, changed_at = $7, version = $8 \
                     WHERE destination = $1 AND version = $9",
                    &with_expected,
                )
                .await
                .map_err(StoreError::query("update breaker"))?
            }
        };
        if written == 0 {
            return Ok(false);
        }
        if let Some(t) = transition {
            tx.execute(
                "INSERT INTO notify_breaker_log (destination, at, from_state, to_state, reason) VALUES ($1, $2, $3, $4, $5)",
                &[&t.destination.name(), &t.at, &t.from.as_str(), &t.to.as_str(), &t.reason],
            )
            .await
            .map_err(StoreError::query("log breaker transition"))?;
        }
        tx.commit().await.map_err(StoreError::query("commit breaker write"))?;
        Ok(true)
    }

    async fn transitions(&self, destination: Destination, limit: usize) -> Result<Vec<Transition>> {
        let client = secops_store::db::client(&self.pool).await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(
                "SELECT * FROM (SELECT * FROM notify_breaker_log WHERE destination = $1 ORDER BY id DESC LIMIT $2) recent \
                 ORDER BY id",
                &[&destination.name(), &limit],
            )
            .await
            .map_err(StoreError::query("read breaker log"))?;
        rows.iter()
            .map(|r| {
                let from: String = r.get("from_state");
                let to: String = r.get("to_state");
                Ok(Transition {
                    destination,
                    at: r.get("at"),
                    from: BreakerState::parse(&from).ok_or_else(|| bad_row("state", &from))?,
                    to: BreakerState::parse(&to).ok_or_else(|| bad_row("state", &to))?,
                    reason: r.get("reason"),
                })
            })
            .collect()
    }
}
