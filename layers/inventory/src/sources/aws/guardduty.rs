//! GuardDuty findings (`guardduty:ListFindings` + `GetFindings` per detector), per region.

use crate::collector::{AwsCollector, AwsScope, AwsTarget, RecordSink};
use crate::error::Result;
use crate::schema::*;
use crate::sources::aws::{each_page, emit};
use aws_sdk_guardduty::types::{Condition, FindingCriteria};
use secops_aws::AwsError;

pub static COLLECTOR: AwsCollector = AwsCollector {
    name: "guardduty",
    scope: AwsScope::Regional,
    tables: &[&FINDINGS],
    actions: &["guardduty:ListDetectors", "guardduty:ListFindings", "guardduty:GetFindings"],
    fetch: |target, out| Box::pin(fetch(target, out)),
};

/// `guardduty:GetFindings` takes at most this many ids per call.
const GET_FINDINGS_BATCH: usize = 50;

async fn fetch(target: &AwsTarget, out: &mut dyn RecordSink) -> Result<()> {
    let guardduty = aws_sdk_guardduty::Client::new(&target.sdk);
    let mut detectors = Vec::new();
    each_page!(guardduty.list_detectors().into_paginator().send(), "guardduty:ListDetectors", |page| {
        detectors.extend(page.detector_ids().iter().cloned());
    });
    let not_archived = Condition::builder().equals("false").build();
    let criteria = FindingCriteria::builder().criterion("service.archived", not_archived).build();
    for detector in &detectors {
        let mut ids = Vec::new();
        let list = guardduty
            .list_findings()
            .detector_id(detector)
            .finding_criteria(criteria.clone())
            .max_results(GET_FINDINGS_BATCH as i32)
            .into_paginator()
            .send();
        each_page!(list, "guardduty:ListFindings", |page| {
            ids.extend(page.finding_ids().iter().cloned());
        });
        for batch in ids.chunks(GET_FINDINGS_BATCH) {
            let page = guardduty
                .get_findings()
                .detector_id(detector)
                .set_finding_ids(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("guardduty:GetFindings", e))?;
            emit(out, &FINDINGS, None, &page).await?;
        }
    }
    Ok(())
}

pub static FINDINGS: Table = Table {
    name: "guardduty_findings",
    file: "guardduty.get-findings",
    records: "/Findings/*",
    parent: None,
    key: &["finding_id"],
    placement: Placement::Target,
    columns: &[
        text("finding_id", "/Id"),
        text("type", "/Type"),
        text("title", "/Title"),
        number("severity", "/Severity"),
        text("resource_type", "/Resource/ResourceType"),
        text("instance_id", "/Resource/InstanceDetails/InstanceId"),
        flag("archived", "/Service/Archived"),
        int("count", "/Service/Count"),
        timestamp("created_at", "/CreatedAt"),
        timestamp("updated_at", "/UpdatedAt"),
    ],
};
