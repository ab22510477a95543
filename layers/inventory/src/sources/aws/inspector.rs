//! Inspector V2 findings for EC2, ECR and Lambda (`inspector2:ListFindings`), per region.

use crate::collector::{AwsCollector, AwsScope, AwsTarget, RecordSink};
use crate::error::{InventoryError, Result};
use crate::schema::*;
use crate::sources::aws::{each_page, emit};
use aws_sdk_inspector2::types::{FilterCriteria, StringComparison, StringFilter};

pub static COLLECTOR: AwsCollector = AwsCollector {
    name: "inspector2",
    scope: AwsScope::Regional,
    tables: &[&FINDINGS],
    actions: &["inspector2:ListFindings"],
    fetch: |target, out| Box::pin(fetch(target, out)),
};

async fn fetch(target: &AwsTarget, out: &mut dyn RecordSink) -> Result<()> {
    let inspector = aws_sdk_inspector2::Client::new(&target.sdk);
    let active = StringFilter::builder()
        .comparison(StringComparison::Equals)
        .value("ACTIVE")
        .build()
        .map_err(|e| InventoryError::permanent(format!("inspector2:ListFindings: filter: {e}")))?;
    let criteria = FilterCriteria::builder().finding_status(active).build();
    let findings = inspector.list_findings().filter_criteria(criteria).into_paginator().send();
    each_page!(findings, "inspector2:ListFindings", |page| {
        emit(out, &FINDINGS, None, &page).await?;
    });
    Ok(())
}

pub static FINDINGS: Table = Table {
    name: "inspector_findings",
    file: "inspector2.list-findings",
    records: "/findings/*",
    parent: None,
    key: &["finding_arn"],
    placement: Placement::Target,
    columns: &[
        text("finding_arn", "/findingArn"),
        text("type", "/type"),
        text("severity", "/severity"),
        text("status", "/status"),
        text("title", "/title"),
        number("inspector_score", "/inspectorScore"),
        text("resource_type", "/resources/0/type"),
        text("resource_id", "/resources/0/id"),
        text("vulnerability_id", "/packageVulnerabilityDetails/vulnerabilityId"),
        text("fix_available", "/fixAvailable"),
        text("exploit_available", "/exploitAvailable"),
        timestamp("first_observed_at", "/firstObservedAt"),
        timestamp("last_observed_at", "/lastObservedAt"),
    ],
};
