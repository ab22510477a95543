//! Security Hub findings (`securityhub:GetFindings`, ASFF), active ones only, per region.

use crate::collector::{AwsCollector, AwsScope, AwsTarget, RecordSink};
use crate::error::Result;
use crate::schema::*;
use crate::sources::aws::{each_page, emit};
use aws_sdk_securityhub::types::{AwsSecurityFindingFilters, StringFilter, StringFilterComparison};

pub static COLLECTOR: AwsCollector = AwsCollector {
    name: "securityhub",
    scope: AwsScope::Regional,
    tables: &[&FINDINGS],
    actions: &["securityhub:GetFindings"],
    fetch: |target, out| Box::pin(fetch(target, out)),
};

async fn fetch(target: &AwsTarget, out: &mut dyn RecordSink) -> Result<()> {
    let hub = aws_sdk_securityhub::Client::new(&target.sdk);
    let active = StringFilter::builder().comparison(StringFilterComparison::Equals).value("ACTIVE").build();
    let filters = AwsSecurityFindingFilters::builder().record_state(active).build();
    let findings = hub.get_findings().filters(filters).max_results(100).into_paginator().send();
    each_page!(findings, "securityhub:GetFindings", |page| {
        emit(out, &FINDINGS, None, &page).await?;
    });
    Ok(())
}

pub static FINDINGS: Table = Table {
    name: "securityhub_findings",
    file: "securityhub.get-findings",
    records: "/Findings/*",
    parent: None,
    key: &["finding_id"],
    placement: Placement::Target,
    columns: &[
        text("finding_id", "/Id"),
        text("product_arn", "/ProductArn"),
        text("aws_account_id", "/AwsAccountId"),
        text("generator_id", "/GeneratorId"),
        text("title", "/Title"),
        text("severity", "/Severity/Label"),
        text("compliance_status", "/Compliance/Status"),
        text("control_id", "/Compliance/SecurityControlId"),
        text("workflow_status", "/Workflow/Status"),
        text("record_state", "/RecordState"),
        text("resource_type", "/Resources/0/Type"),
        text("resource_id", "/Resources/0/Id"),
        timestamp("created_at", "/CreatedAt"),
        timestamp("updated_at", "/UpdatedAt"),
    ],
};
