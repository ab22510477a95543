//! The daemon's records in PostgreSQL (V011): the runs book, the ingestion cursors, and what each
//! ingestion batch delivered.

use anyhow::{Context, Result};
use secops_store::Pool;
use time::OffsetDateTime;

use super::cursor::Cursor;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    Schedule,
    Ingestion,
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Schedule => "schedule",
            RunKind::Ingestion => "ingestion",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Succeeded,
    Failed,
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

/// A run that did not finish (left running by a crash, or interrupted by SIGTERM).
#[derive(Debug, Clone)]
pub struct Unfinished {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub machine: String,
}

#[derive(Debug, Clone)]
pub struct Book {
    pool: Pool,
}

impl Book {
    pub fn new(pool: Pool) -> Book {
        Book { pool }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.context("connecting to the database for the daemon's runs book")
    }

    /// Record a run as started; returns its id.
    pub async fn start(
        &self,
        kind: RunKind,
        name: &str,
        machine: &str,
        execution_name: &str,
        resumes: Option<i64>,
    ) -> Result<i64> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "INSERT INTO daemon_runs (kind, name, machine, execution_name, resumes) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                &[&kind.as_str(), &name, &machine, &execution_name, &resumes],
            )
            .await
            .context("recording a daemon run as started")?;
        let id: i64 = row.get(0);
        if let Some(old) = resumes {
            client
                .execute("UPDATE daemon_runs SET resumed_by = $2 WHERE id = $1", &[&old, &id])
                .await
                .context("recording which run resumes an unfinished one")?;
        }
        Ok(id)
    }

    pub async fn finish(&self, id: i64, status: RunStatus, error: Option<&str>) -> Result<()> {
        self.client()
            .await?
            .execute(
                "UPDATE daemon_runs SET status = $2, error = $3, finished_at = now() WHERE id = $1",
                &[&id, &status.as_str(), &error],
            )
            .await
            .context("recording a daemon run as finished")?;
        Ok(())
    }

    /// Runs to resume at start: a run still `running` belongs to a daemon that died without
    /// checkpointing, so it is marked interrupted first. Oldest first.
    pub async fn unfinished(&self) -> Result<Vec<Unfinished>> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE daemon_runs SET status = 'interrupted', finished_at = now(), \
                 error = coalesce(error, 'the daemon stopped without finishing it') WHERE status = 'running'",
                &[],
            )
            .await
            .context("marking runs left running as interrupted")?;
        let rows = client
            .query(
                "SELECT id, kind, name, machine FROM daemon_runs \
                 WHERE status = 'interrupted' AND resumed_by IS NULL ORDER BY id",
                &[],
            )
            .await
            .context("reading the runs to resume")?;
        Ok(rows
            .iter()
            .map(|r| Unfinished { id: r.get(0), kind: r.get(1), name: r.get(2), machine: r.get(3) })
            .collect())
    }

    /// An unfinished run that needs no execution of its own (an ingestion batch: its cursor did
    /// not advance, so the next pass delivers it again; or a second one of a schedule being
    /// re-run): marked as taken over, so it is not resumed again.
    pub async fn mark_taken_over(&self, id: i64) -> Result<()> {
        self.client()
            .await?
            .execute("UPDATE daemon_runs SET resumed_by = id WHERE id = $1", &[&id])
            .await
            .context("marking an unfinished run as taken over")?;
        Ok(())
    }

    /// When the schedule last started a run.
    pub async fn last_started(&self, name: &str) -> Result<Option<OffsetDateTime>> {
        let row = self
            .client()
            .await?
            .query_one("SELECT max(started_at) FROM daemon_runs WHERE kind = 'schedule' AND name = $1", &[&name])
            .await
            .context("reading when a schedule last ran")?;
        Ok(row.get(0))
    }

    pub async fn cursor(&self, region: &str) -> Result<Option<Cursor>> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT updated_at, seen_ids FROM daemon_cursors WHERE source = 'securityhub' AND region = $1",
                &[&region],
            )
            .await
            .context("reading the ingestion cursor")?;
        Ok(row.map(|r| Cursor { at: r.get(0), seen: r.get::<_, Vec<String>>(1).into_iter().collect() }))
    }

    /// Store the cursor and the batch's deliveries together, after its execution finished.
    pub async fn advance(
        &self,
        region: &str,
        cursor: &Cursor,
        run_id: i64,
        delivered: &[(String, OffsetDateTime, Option<String>)],
    ) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.context("starting the cursor transaction")?;
        let seen: Vec<&str> = cursor.seen.iter().map(String::as_str).collect();
        tx.execute(
            "INSERT INTO daemon_cursors (source, region, updated_at, seen_ids) VALUES ('securityhub', $1, $2, $3) \
             ON CONFLICT (source, region) DO UPDATE SET updated_at = $2, seen_ids = $3, advanced_at = now()",
            &[&region, &cursor.at, &seen],
        )
        .await
        .context("advancing the ingestion cursor")?;
        for (finding_id, updated_at, decision) in delivered {
            tx.execute(
                "INSERT INTO daemon_deliveries (run_id, region, finding_id, updated_at, decision) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT DO NOTHING",
                &[&run_id, &region, finding_id, updated_at, decision],
            )
            .await
            .context("recording a delivered finding")?;
        }
        tx.commit().await.context("committing the ingestion cursor")?;
        Ok(())
    }
}
