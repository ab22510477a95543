//! Security Hub ingestion: poll `GetFindings` per region with `UpdatedAt` from the cursor, page
//! through, and hand the new findings to findings.asl.json in EventBridge-shaped batches. The
//! cursor advances only after a batch's execution finished, in the same transaction that records
//! what was delivered, so a crash or a SIGTERM re-delivers (decide is idempotent) and never loses.

use anyhow::Result;
use aws_sdk_securityhub::types::{AwsSecurityFindingFilters, DateFilter, SortCriterion, SortOrder};
use secops_inventory::sources::aws::cli_json::ToCliJson;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::cursor::{self, Cursor, Pending};

/// The most pages one pass reads per region (100 findings each); the rest waits for the next pass.
pub const MAX_PAGES: usize = 100;

/// Every finding Security Hub returns for `UpdatedAt` in [since, now], in the order it returns
/// them. moto ignores the filter (the caller applies the cursor anyway).
pub async fn fetch(
    sdk: &aws_config::SdkConfig,
    region: &str,
    since: Option<OffsetDateTime>,
    page_size: i32,
) -> Result<Vec<Value>> {
    let hub = aws_sdk_securityhub::Client::new(&secops_aws::config::in_region(sdk, region));
    let mut request = hub
        .get_findings()
        .max_results(page_size)
        .sort_criteria(SortCriterion::builder().field("UpdatedAt").sort_order(SortOrder::Ascending).build());
    if let Some(since) = since {
        let end = OffsetDateTime::now_utc() + time::Duration::minutes(5);
        let window = DateFilter::builder().start(rfc3339(since)).end(rfc3339(end)).build();
        request = request.filters(AwsSecurityFindingFilters::builder().updated_at(window).build());
    }
    let mut pages = request.into_paginator().send();
    let mut findings = Vec::new();
    let mut read = 0;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            let e = secops_aws::AwsError::from_sdk("securityhub:GetFindings", e);
            anyhow::anyhow!("{e}")
        })?;
        findings.extend(page.findings().iter().map(ToCliJson::to_cli_json));
        read += 1;
        if read >= MAX_PAGES {
            tracing::warn!(region, pages = read, "ingestion: page limit reached; the rest comes in the next pass");
            break;
        }
    }
    Ok(findings)
}

/// What to deliver from `findings` after `cursor`, in batches of at most `batch_size`.
pub fn batches(cursor: Option<&Cursor>, findings: Vec<Value>, batch_size: usize) -> Vec<Vec<Pending>> {
    let (pending, unusable) = cursor::after(cursor, findings);
    if unusable > 0 {
        tracing::warn!(unusable, "ingestion: findings without an Id or an RFC 3339 UpdatedAt were skipped");
    }
    pending.chunks(batch_size.max(1)).map(<[Pending]>::to_vec).collect()
}

/// The batch as EventBridge delivers Security Hub's "Findings - Imported" (what `secops decide
/// --event` accepts).
pub fn event(region: &str, batch: &[Pending]) -> Value {
    let account = batch.first().and_then(|p| p.finding.get("AwsAccountId")).cloned().unwrap_or(Value::Null);
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Security Hub Findings - Imported",
        "source": "aws.securityhub",
        "account": account,
        "time": rfc3339(OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|_| OffsetDateTime::now_utc())),
        "region": region,
        "resources": batch.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
        "detail": {"findings": batch.iter().map(|p| p.finding.clone()).collect::<Vec<_>>()},
    })
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// The regions to poll: the table's, else the configured ones.
pub fn regions(configured: Option<&Vec<String>>, config: &secops_core::Config) -> Vec<String> {
    configured.cloned().unwrap_or_else(|| config.regions.clone())
}

/// Decide's answer per finding id (the decision, or the error class), from the decisions collected.
pub fn decisions_by_id(decided: &[Value]) -> std::collections::BTreeMap<String, String> {
    decided
        .iter()
        .filter_map(|d| {
            let id = d.pointer("/finding/Id")?.as_str()?.to_owned();
            let what = d
                .get("decision")
                .and_then(Value::as_str)
                .or_else(|| d.get("class").and_then(Value::as_str))
                .unwrap_or("unknown");
            Some((id, what.to_owned()))
        })
        .collect()
}
