//! CloudFront distributions (`cloudfront:ListDistributions`, global).

use crate::collector::{AwsCollector, AwsScope, AwsTarget, RecordSink};
use crate::error::Result;
use crate::schema::*;
use crate::sources::aws::{each_page, emit};

pub static COLLECTOR: AwsCollector = AwsCollector {
    name: "cloudfront",
    scope: AwsScope::Global,
    tables: &[&DISTRIBUTIONS],
    actions: &["cloudfront:ListDistributions"],
    fetch: |target, out| Box::pin(fetch(target, out)),
};

async fn fetch(target: &AwsTarget, out: &mut dyn RecordSink) -> Result<()> {
    let cloudfront = aws_sdk_cloudfront::Client::new(&target.sdk);
    each_page!(cloudfront.list_distributions().into_paginator().send(), "cloudfront:ListDistributions", |page| {
        emit(out, &DISTRIBUTIONS, None, &page).await?;
    });
    Ok(())
}

pub static DISTRIBUTIONS: Table = Table {
    name: "cloudfront_distributions",
    file: "cloudfront.list-distributions",
    records: "/DistributionList/Items/*",
    parent: None,
    key: &["distribution_id"],
    placement: Placement::Target,
    columns: &[
        text("distribution_id", "/Id"),
        text("arn", "/ARN"),
        text("domain_name", "/DomainName"),
        all("aliases", "/Aliases/Items/*"),
        all("origin_domains", "/Origins/Items/*/DomainName"),
        flag("enabled", "/Enabled"),
        text("web_acl_id", "/WebACLId"),
        text("viewer_protocol_policy", "/DefaultCacheBehavior/ViewerProtocolPolicy"),
        text("minimum_protocol_version", "/ViewerCertificate/MinimumProtocolVersion"),
    ],
};
