//! Route 53 hosted zones and their record sets (fetched per zone), global.

use crate::collector::{AwsCollector, AwsScope, AwsTarget, RecordSink};
use crate::error::{InventoryError, Result};
use crate::schema::*;
use crate::sources::aws::{each_page, emit};
use aws_sdk_route53::types::RrType;
use secops_aws::AwsError;

pub static COLLECTOR: AwsCollector = AwsCollector {
    name: "route53",
    scope: AwsScope::Global,
    tables: &[&HOSTED_ZONES, &RECORD_SETS],
    actions: &["route53:ListHostedZones", "route53:ListResourceRecordSets"],
    fetch: |target, out| Box::pin(fetch(target, out)),
};

async fn fetch(target: &AwsTarget, out: &mut dyn RecordSink) -> Result<()> {
    let route53 = aws_sdk_route53::Client::new(&target.sdk);
    let mut zones = Vec::new();
    each_page!(route53.list_hosted_zones().into_paginator().send(), "route53:ListHostedZones", |page| {
        zones.extend(page.hosted_zones().iter().map(|z| z.id().to_owned()));
        emit(out, &HOSTED_ZONES, None, &page).await?;
    });
    for zone in &zones {
        record_sets(&route53, zone, out).await?;
    }
    Ok(())
}

/// `ListResourceRecordSets` pages by a (name, type, set identifier) triple, which the SDK has no
/// paginator for.
async fn record_sets(route53: &aws_sdk_route53::Client, zone: &str, out: &mut dyn RecordSink) -> Result<()> {
    let mut next: Option<(String, Option<RrType>, Option<String>)> = None;
    for _ in 0..crate::sources::aws::MAX_PAGES {
        let mut request = route53.list_resource_record_sets().hosted_zone_id(zone);
        if let Some((name, kind, identifier)) = next.clone() {
            request =
                request.start_record_name(name).set_start_record_type(kind).set_start_record_identifier(identifier);
        }
        let page = request.send().await.map_err(|e| AwsError::from_sdk("route53:ListResourceRecordSets", e))?;
        emit(out, &RECORD_SETS, Some(zone), &page).await?;
        if !page.is_truncated() {
            return Ok(());
        }
        let following = match page.next_record_name() {
            Some(name) => {
                (name.to_owned(), page.next_record_type().cloned(), page.next_record_identifier().map(str::to_owned))
            }
            None => {
                return Err(InventoryError::permanent(format!(
                    "route53:ListResourceRecordSets: zone {zone}: truncated page without a next record"
                )))
            }
        };
        if next.as_ref() == Some(&following) {
            return Err(InventoryError::permanent(format!(
                "route53:ListResourceRecordSets: zone {zone}: the next record repeats"
            )));
        }
        next = Some(following);
    }
    Err(InventoryError::permanent(format!(
        "route53:ListResourceRecordSets: zone {zone}: more than {} pages",
        crate::sources::aws::MAX_PAGES
    )))
}

pub static HOSTED_ZONES: Table = Table {
    name: "route53_hosted_zones",
    file: "route53.list-hosted-zones",
    records: "/HostedZones/*",
    parent: None,
    key: &["zone_id"],
    placement: Placement::Target,
    columns: &[
        text("zone_id", "/Id"),
        text("name", "/Name"),
        flag("private_zone", "/Config/PrivateZone"),
        int("record_count", "/ResourceRecordSetCount"),
    ],
};

pub static RECORD_SETS: Table = Table {
    name: "route53_record_sets",
    file: "route53.list-resource-record-sets",
    records: "/ResourceRecordSets/*",
    parent: Some("zone_id"),
    key: &["zone_id", "name", "type", "set_identifier"],
    placement: Placement::Target,
    columns: &[
        parent("zone_id"),
        text("name", "/Name"),
        text("type", "/Type"),
        text("set_identifier", "/SetIdentifier"),
        int("ttl", "/TTL"),
        all("values", "/ResourceRecords/*/Value"),
        text("alias_dns_name", "/AliasTarget/DNSName"),
    ],
};
