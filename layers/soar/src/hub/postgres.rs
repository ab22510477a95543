//! The findings hub of the single binary: the status writes land in the `finding_updates` table
//! (migration V003), one row per finding and change, so `secops decide` and the tests can show
//! exactly what Security Hub would have been told.

use async_trait::async_trait;
use secops_store::{db, Pool, StoreError};
use serde::Serialize;
use time::OffsetDateTime;

use super::{FindingChange, FindingRef, FindingsHub, Unprocessed, MAX_BATCH};
use crate::{Result, SoarError};

#[derive(Debug, Clone)]
pub struct PgFindingsHub {
    pool: Pool,
}

/// One recorded write.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedUpdate {
    pub seq: i64,
    pub finding_id: String,
    pub product_arn: String,
    pub workflow_status: Option<String>,
    pub note: Option<String>,
    pub user_defined_fields: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl PgFindingsHub {
    pub fn new(pool: Pool) -> Self {
        PgFindingsHub { pool }
    }

    /// Every write for `finding_id`, oldest first.
    pub async fn updates_for(&self, finding_id: &str) -> Result<Vec<RecordedUpdate>> {
        let client = db::client(&self.pool).await?;
        let rows = client
            .query(
                "SELECT seq, finding_id, product_arn, workflow_status, note, user_defined_fields, updated_at
                 FROM finding_updates WHERE finding_id = $1 ORDER BY seq",
                &[&finding_id],
            )
            .await
            .map_err(StoreError::query("read finding updates"))?;
        Ok(rows
            .iter()
            .map(|r| RecordedUpdate {
                seq: r.get("seq"),
                finding_id: r.get("finding_id"),
                product_arn: r.get("product_arn"),
                workflow_status: r.get("workflow_status"),
                note: r.get("note"),
                user_defined_fields: r.get("user_defined_fields"),
                updated_at: r.get("updated_at"),
            })
            .collect())
    }
}

#[async_trait]
impl FindingsHub for PgFindingsHub {
    async fn batch_update(&self, findings: &[FindingRef], change: &FindingChange) -> Result<Vec<Unprocessed>> {
        if findings.len() > MAX_BATCH {
            return Err(SoarError::InvalidInput(format!(
                "a findings update takes at most {MAX_BATCH} findings, got {}",
                findings.len()
            )));
        }
        if findings.is_empty() {
            return Ok(vec![]);
        }
        let ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
        let arns: Vec<&str> = findings.iter().map(|f| f.product_arn.as_str()).collect();
        let status = change.workflow_status.map(|s| s.as_str());
        let fields =
            serde_json::to_value(&change.user_defined_fields).map_err(|e| SoarError::InvalidInput(e.to_string()))?;
        let client = db::client(&self.pool).await?;
        client
            .execute(
                "INSERT INTO finding_updates (finding_id, product_arn, workflow_status, note, user_defined_fields)
                 SELECT id, arn, $3, $4, $5 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS f(id, arn, n) ORDER BY n",
                &[&ids, &arns, &status, &change.note, &fields],
            )
            .await
            .map_err(StoreError::query("record finding updates"))?;
        Ok(vec![])
    }
}
