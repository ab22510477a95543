//! The AWS collectors: one file per service area, each declaring its tables and its fetch.

pub mod cli_json;
pub mod cloudfront;
pub mod ec2_instances;
pub mod ec2_network;
pub mod ecr;
pub mod elb;
pub mod guardduty;
pub mod inspector;
pub mod rds;
pub mod route53;
pub mod s3;
pub mod securityhub;

use crate::collector::{AwsCollector, RecordSink};
use crate::error::Result;
use crate::schema::Table;
use cli_json::ToCliJson;

/// No collector follows more pages than this for one operation; a longer chain is a service (or
/// paginator) fault, not an estate.
pub(crate) const MAX_PAGES: usize = 10_000;

/// Hand one SDK response page to the sink in the AWS CLI's JSON shape.
pub(crate) async fn emit(
    out: &mut dyn RecordSink,
    table: &'static Table,
    parent: Option<&str>,
    page: &impl ToCliJson,
) -> Result<()> {
    out.page(table, parent, page.to_cli_json()).await
}

/// Drain an SDK paginator (`….into_paginator().send()`), binding each page to `$page` for `$body`.
/// The SDK's paginators stop on an empty or repeated token; [`MAX_PAGES`] bounds the rest.
macro_rules! each_page {
    ($stream:expr, $operation:literal, |$page:ident| $body:block) => {{
        let mut stream = $stream;
        let mut pages = 0usize;
        while let Some(result) = stream.next().await {
            pages += 1;
            if pages > $crate::sources::aws::MAX_PAGES {
                return Err($crate::error::InventoryError::permanent(format!(
                    "{}: more than {} pages",
                    $operation,
                    $crate::sources::aws::MAX_PAGES
                )));
            }
            let $page = result.map_err(|e| secops_aws::AwsError::from_sdk($operation, e))?;
            $body
        }
    }};
}
pub(crate) use each_page;

/// Every AWS collector.
pub static COLLECTORS: &[&AwsCollector] = &[
    &ec2_instances::COLLECTOR,
    &ec2_network::COLLECTOR,
    &s3::COLLECTOR,
    &rds::COLLECTOR,
    &elb::COLLECTOR,
    &cloudfront::COLLECTOR,
    &route53::COLLECTOR,
    &securityhub::COLLECTOR,
    &guardduty::COLLECTOR,
    &inspector::COLLECTOR,
    &ecr::COLLECTOR,
];
