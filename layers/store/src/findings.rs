//! The `findings` table: every finding of every source, newest version only, with its raw ASFF.

use crate::{Pool, StoreError};
use secops_core::asff::AwsSecurityFinding;
use time::OffsetDateTime;

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Inserted,
    Updated,
    /// The stored version is newer or the same (`UpdatedAt`), so nothing changed: replays and
    /// out-of-order EventBridge deliveries never roll a finding back.
    Unchanged,
}

/// The normalized columns of one finding.
#[derive(Debug, Clone)]
struct Row {
    region: Option<String>,
    product: String,
    severity_label: String,
    severity_normalized: Option<i16>,
    workflow_status: Option<String>,
    record_state: Option<String>,
    compliance_status: Option<String>,
    security_control_id: Option<String>,
    resource_type: Option<String>,
    resource_id: Option<String>,
    first_observed_at: Option<OffsetDateTime>,
    last_observed_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

fn invalid(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(e.to_string())
}

fn row_of(f: &AwsSecurityFinding) -> Result<Row, StoreError> {
    let label = f
        .severity
        .effective_label()
        .ok_or_else(|| invalid(format!("finding {}: Severity has neither a valid Label nor Normalized", f.id)))?;
    let resource = f.first_resource();
    Ok(Row {
        region: f.region.clone().or_else(|| resource.and_then(|r| r.region.clone())),
        product: f.product().name().to_owned(),
        severity_label: label.to_string(),
        severity_normalized: f.severity.normalized_value().and_then(|n| i16::try_from(n).ok()),
        workflow_status: f.workflow_status().map(|s| s.to_string()),
        record_state: f.record_state().map(|s| s.to_string()),
        compliance_status: f.compliance_status().map(|s| s.to_string()),
        security_control_id: f.security_control_id().map(str::to_owned),
        resource_type: resource.map(|r| r.resource_type.to_string()),
        resource_id: resource.map(|r| r.id.clone()),
        first_observed_at: f.first_observed_at_time().map_err(invalid)?,
        last_observed_at: f.last_observed_at_time().map_err(invalid)?,
        created_at: f.created_at_time().map_err(invalid)?,
        updated_at: f.updated_at_time().map_err(invalid)?,
    })
}

/// Store a finding unless a newer version of it is already stored.
pub async fn upsert(pool: &Pool, finding: &AwsSecurityFinding) -> Result<Upserted, StoreError> {
    let row = row_of(finding)?;
    let raw = serde_json::to_value(finding).map_err(invalid)?;
    let client = crate::db::client(pool).await?;
    // xmax = 0 tells an inserted row from an updated one; no row back means the WHERE refused
    // an older version.
    let result = client
        .query_opt(
            "INSERT INTO findings (product_arn, id, aws_account_id, region, product, generator_id, title,
                 severity_label, severity_normalized, workflow_status, record_state, compliance_status,
                 security_control_id, resource_type, resource_id, first_observed_at, last_observed_at,
                 created_at, updated_at, raw)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
             ON CONFLICT (product_arn, id) DO UPDATE SET
                 aws_account_id = EXCLUDED.aws_account_id, region = EXCLUDED.region, product = EXCLUDED.product,
                 generator_id = EXCLUDED.generator_id, title = EXCLUDED.title,
                 severity_label = EXCLUDED.severity_label, severity_normalized = EXCLUDED.severity_normalized,
                 workflow_status = EXCLUDED.workflow_status, record_state = EXCLUDED.record_state,
                 compliance_status = EXCLUDED.compliance_status, security_control_id = EXCLUDED.security_control_id,
                 resource_type = EXCLUDED.resource_type, resource_id = EXCLUDED.resource_id,
                 first_observed_at = EXCLUDED.first_observed_at, last_observed_at = EXCLUDED.last_observed_at,
                 created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, raw = EXCLUDED.raw,
                 ingested_at = now()
             WHERE findings.updated_at < EXCLUDED.updated_at
             RETURNING (xmax = 0) AS inserted",
            &[
                &finding.product_arn,
                &finding.id,
                &finding.aws_account_id,
                &row.region,
                &row.product,
                &finding.generator_id,
                &finding.title,
                &row.severity_label,
                &row.severity_normalized,
                &row.workflow_status,
                &row.record_state,
                &row.compliance_status,
                &row.security_control_id,
                &row.resource_type,
                &row.resource_id,
                &row.first_observed_at,
                &row.last_observed_at,
                &row.created_at,
                &row.updated_at,
                &raw,
            ],
        )
        .await
        .map_err(StoreError::query("upsert a finding"))?;
    Ok(match result {
        Some(r) if r.get::<_, bool>(0) => Upserted::Inserted,
        Some(_) => Upserted::Updated,
        None => Upserted::Unchanged,
    })
}

/// The stored finding, exactly as it was received.
pub async fn get(pool: &Pool, product_arn: &str, id: &str) -> Result<Option<AwsSecurityFinding>, StoreError> {
    let client = crate::db::client(pool).await?;
    let row = client
        .query_opt("SELECT raw FROM findings WHERE product_arn = $1 AND id = $2", &[&product_arn, &id])
        .await
        .map_err(StoreError::query("read a finding"))?;
    row.map(|r| serde_json::from_value(r.get::<_, serde_json::Value>(0)).map_err(invalid)).transpose()
}

/// Stored findings per product, for summaries.
pub async fn count_by_product(pool: &Pool) -> Result<Vec<(String, i64)>, StoreError> {
    let client = crate::db::client(pool).await?;
    let rows = client
        .query("SELECT product, count(*) FROM findings GROUP BY product ORDER BY product", &[])
        .await
        .map_err(StoreError::query("count findings"))?;
    Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
}
